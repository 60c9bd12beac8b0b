// Package blob is the sink that writes findings as JSON lines into an Azure
// Blob Storage container, one blob per batch, under
// PREFIX/yyyy/mm/dd/hh/ and named from the batch's source range
// (hub-partition-firstSeq-lastSeq.jsonl), so that a redelivered batch with
// the same boundaries overwrites its blob instead of duplicating it.
// Readers dedupe the rest by findingId.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/retry"
	"github.com/streamhunt/streamhunt/sink/stdout"
)

var _ sink.Sink = (*Sink)(nil)

// Defaults, in one place.
const (
	DefaultPrefix       = "findings"
	DefaultMaxBlobBytes = 64 << 20
	DefaultTimeout      = 60 * time.Second
)

// Config configures the blob sink.
type Config struct {
	Account   `yaml:",inline"`
	Container string `yaml:"container"`
	// Prefix goes before yyyy/mm/dd/hh/ (default "findings").
	Prefix string `yaml:"prefix"`
	// MaxBlobBytes splits a batch larger than this into numbered blobs
	// (NAME-p001.jsonl, ...); default 64 MiB.
	MaxBlobBytes int `yaml:"maxBlobBytes"`
	// Timeout bounds one upload (default 60s).
	Timeout time.Duration `yaml:"timeout"`
	// Retry is the backoff and optional give-up.
	Retry retry.Policy `yaml:"retry"`
	// DeadLetter receives findings the storage rejected for good; set by
	// the caller (fanout.Build does).
	DeadLetter sink.DeadLetterWriter `yaml:"-"`
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	c.Prefix = strings.Trim(c.Prefix, "/")
	if c.MaxBlobBytes == 0 {
		c.MaxBlobBytes = DefaultMaxBlobBytes
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

var containerName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)

// Validate reports every error at once, keys relative to the sink.
func (c Config) Validate() error {
	errs := []error{c.Account.Validate()}
	if !containerName.MatchString(c.Container) {
		errs = append(errs, fmt.Errorf("container: %q is not a container name (3-63 lower-case letters, digits and single hyphens)", c.Container))
	}
	if c.MaxBlobBytes < 0 {
		errs = append(errs, errors.New("maxBlobBytes: must not be negative"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("retry.%w", err))
	}
	return errors.Join(errs...)
}

// Sink writes each batch as one block blob (or several when very large).
// Flushing by count, size and age is the caller's batching: the consumer
// hands the sink a batch when its count, size or age limit is reached, and
// the sink makes it durable before Write returns, which is what lets the
// consumer checkpoint. (Buffering inside the sink would make Write wait
// for a later flush anyway, so it would add latency and nothing else.)
type Sink struct {
	name   string
	cfg    Config
	client *azblob.Client
	logger *zap.Logger

	mu      sync.Mutex
	created bool
}

// New returns a blob sink. The container is created on the first write
// when it does not exist.
func New(cfg Config, logger *zap.Logger) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = zap.NewNop()
	}
	c, err := cfg.Client()
	if err != nil {
		return nil, err
	}
	return &Sink{name: "blob", cfg: cfg, client: c, logger: logger}, nil
}

// SetName renames the sink for metrics and logs.
func (s *Sink) SetName(name string) { s.name = name }

// Name returns "blob" or the name given with SetName.
func (s *Sink) Name() string { return s.name }

// Close does nothing: every write was already durable.
func (s *Sink) Close(context.Context) error { return nil }

// BlobName returns the blob name of a batch (without a part suffix):
// PREFIX/yyyy/mm/dd/hh/HUB-PARTITION-FIRST-LAST-rRULES.jsonl for Event
// Hubs, or PREFIX/yyyy/mm/dd/hh/FILE-HASH-FIRSTLINE-LASTLINE-rRULES.jsonl
// for a replayed file (HASH tells apart files of the same name in
// different directories). RULES is a hash of the rules (id and version)
// whose findings the batch holds: a redelivered batch has the same
// findings and overwrites its blob, while the same range run through other
// or changed rules (a replay with a new rule) gets a blob of its own
// instead of replacing the earlier findings. A batch without a range is
// named batch-<hash of its findingIds>. The hour is the first finding's
// enqueued time (its event time for files), so a redelivery lands on the
// same name.
func BlobName(prefix string, b sink.Batch) string {
	var t time.Time
	if len(b.Findings) > 0 {
		t = b.Findings[0].Source.EnqueuedTime
		if t.IsZero() {
			t = b.Findings[0].EventTime
		}
	}
	r := b.Range
	var base string
	switch {
	case r.EventHub != "" || r.Partition != "":
		base = fmt.Sprintf("%s-%s-%d-%d-r%s", clean(r.EventHub), clean(r.Partition), r.FirstSequence, r.LastSequence, rulesTag(b.Findings))
	case r.File != "" && (r.FirstLine != 0 || r.LastLine != 0):
		h := sha256.Sum256([]byte(r.File))
		base = fmt.Sprintf("%s-%s-%d-%d-r%s", clean(filepath.Base(r.File)), hex.EncodeToString(h[:4]), r.FirstLine, r.LastLine, rulesTag(b.Findings))
	default:
		// No boundaries to name it by: name it by its findings, which is
		// still the same on redelivery and never collides with another batch.
		h := sha256.New()
		for i := range b.Findings {
			h.Write([]byte(b.Findings[i].FindingID))
			h.Write([]byte{'\n'})
		}
		base = "batch-" + hex.EncodeToString(h.Sum(nil)[:16])
	}
	return path.Join(prefix, t.UTC().Format("2006/01/02/15"), base+".jsonl")
}

// rulesTag is 8 hex digits of a hash of the distinct rule ids and versions
// of fs, in sorted order.
func rulesTag(fs []pipeline.Finding) string {
	seen := make(map[string]bool, 4)
	keys := make([]string, 0, 4)
	for i := range fs {
		k := fs[i].RuleID + "\x00" + fs[i].RuleVersion
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)[:4])
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func clean(s string) string {
	if s == "" {
		return "none"
	}
	return unsafe.ReplaceAllString(s, "_")
}

// part is one blob's worth of a batch.
type part struct {
	name     string
	body     []byte
	findings []pipeline.Finding
}

// parts encodes the batch and splits it at finding boundaries so each
// blob is at most MaxBlobBytes (a single larger finding gets its own).
func (s *Sink) parts(b sink.Batch) ([]part, error) {
	name := BlobName(s.cfg.Prefix, b)
	var ps []part
	cur := part{}
	for i := range b.Findings {
		line, err := stdout.Encode(nil, sink.Batch{Findings: b.Findings[i : i+1]})
		if err != nil {
			return nil, err
		}
		if len(cur.findings) > 0 && len(cur.body)+len(line) > s.cfg.MaxBlobBytes {
			ps = append(ps, cur)
			cur = part{}
		}
		cur.body = append(cur.body, line...)
		cur.findings = append(cur.findings, b.Findings[i])
	}
	ps = append(ps, cur)
	if len(ps) == 1 {
		ps[0].name = name
		return ps, nil
	}
	stem := strings.TrimSuffix(name, ".jsonl")
	for i := range ps {
		ps[i].name = fmt.Sprintf("%s-p%03d.jsonl", stem, i+1)
	}
	return ps, nil
}

// Write uploads the batch and returns nil once every blob is stored (or
// its findings were dead-lettered after a permanent rejection).
func (s *Sink) Write(ctx context.Context, b sink.Batch) error {
	if len(b.Findings) == 0 {
		return nil
	}
	ps, err := s.parts(b)
	if err != nil {
		return err
	}
	for _, p := range ps {
		err := s.cfg.Retry.Deliver(ctx, s.name, p.findings, s.cfg.DeadLetter, s.logger, func(ctx context.Context) error {
			return s.upload(ctx, p)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Sink) ensureContainer(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.created {
		return nil
	}
	if err := EnsureContainer(ctx, s.client, s.cfg.Container); err != nil {
		return err
	}
	s.created = true
	return nil
}

func (s *Sink) upload(ctx context.Context, p part) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.ensureContainer(ctx); err != nil {
		return classify(err)
	}
	_, err := s.client.UploadBuffer(ctx, s.cfg.Container, p.name, p.body, &azblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("application/x-ndjson")},
		Metadata:    map[string]*string{"findings": to.Ptr(strconv.Itoa(len(p.findings)))},
	})
	if err != nil {
		return classify(fmt.Errorf("upload %s to container %s: %w", p.name, s.cfg.Container, err))
	}
	return nil
}

// classify: storage answers 408, 429 and 5xx when busy, and 403 while a
// role assignment propagates or a key is rotated; all are retried (the
// consumer waits). 400 and 413 cannot succeed on retry.
func classify(err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		if errors.Is(err, context.DeadlineExceeded) {
			return retry.Transient("timeout", 0, err)
		}
		return retry.Transient("network", 0, err)
	}
	reason := "http-" + strconv.Itoa(re.StatusCode)
	msg := fmt.Errorf("%s (%d %s)", strings.SplitN(err.Error(), "\n", 2)[0], re.StatusCode, re.ErrorCode)
	switch re.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return retry.Permanent(reason, msg)
	}
	return retry.Transient(reason, 0, msg)
}
