package deadletter

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/blob"
)

var _ sink.DeadLetterWriter = (*Blob)(nil)

// BlobConfig is a blob container for dead letters.
type BlobConfig struct {
	blob.Account `yaml:",inline"`
	Container    string `yaml:"container"`
	// Prefix goes before the yyyy/mm/dd/hh/ path (default "deadletter").
	Prefix string `yaml:"prefix"`
}

// Validate reports every error at once.
func (c BlobConfig) Validate() error {
	errs := []error{c.Account.Validate()}
	if c.Container == "" {
		errs = append(errs, errors.New("container: must name a blob container"))
	}
	return errors.Join(errs...)
}

// Blob writes each call's dead letters as one block blob,
// PREFIX/yyyy/mm/dd/hh/<unix nanos>-<host>-<pid>-<n>.jsonl. The container
// is created on the first write.
type Blob struct {
	cfg      BlobConfig
	client   *azblob.Client
	instance string
	seq      atomic.Int64
	n        atomic.Int64

	once    sync.Mutex
	created bool
}

// NewBlob returns a writer into the configured container.
func NewBlob(cfg BlobConfig) (*Blob, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "deadletter"
	}
	c, err := cfg.Client()
	if err != nil {
		return nil, err
	}
	return &Blob{cfg: cfg, client: c, instance: Instance()}, nil
}

// Where returns the container URL and prefix.
func (w *Blob) Where() string {
	return strings.TrimSuffix(w.client.URL(), "/") + "/" + w.cfg.Container + "/" + w.cfg.Prefix + "/"
}

// Count returns how many dead letters this writer stored.
func (w *Blob) Count() int { return int(w.n.Load()) }

// WriteDeadLetters uploads the dead letters as one blob.
func (w *Blob) WriteDeadLetters(ctx context.Context, dls []pipeline.DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	buf, err := Encode(nil, dls)
	if err != nil {
		return err
	}
	w.once.Lock()
	if !w.created {
		if err := blob.EnsureContainer(ctx, w.client, w.cfg.Container); err != nil {
			w.once.Unlock()
			return fmt.Errorf("dead letter: %w", err)
		}
		w.created = true
	}
	w.once.Unlock()
	now := time.Now().UTC()
	name := path.Join(w.cfg.Prefix, now.Format("2006/01/02/15"),
		fmt.Sprintf("%d-%s-%d.jsonl", now.UnixNano(), w.instance, w.seq.Add(1)))
	if _, err := w.client.UploadBuffer(ctx, w.cfg.Container, name, buf, nil); err != nil {
		return fmt.Errorf("dead letter: upload %s to container %s: %w", name, w.cfg.Container, err)
	}
	w.n.Add(int64(len(dls)))
	count(dls)
	return nil
}

// Close does nothing: every write was already durable.
func (w *Blob) Close(context.Context) error { return nil }
