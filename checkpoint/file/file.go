// Package file keeps Event Hubs checkpoints and partition ownership in a
// local directory, in the same layout and with the same guarantees as
// checkpoint/blob (conditional claims, checkpoints that never move
// backwards, writes refused after ownership is lost): for development and
// for replicas on one machine. `replay --resume` keeps its per-file
// positions in a Progress (progress.go), one JSON file of its own, since a
// replayed file also needs its size and time to tell an append from a
// replacement.
//
// Each record is a small JSON file written atomically (temporary file and
// rename) under an exclusive lock on <dir>/.lock, so several processes on
// one machine may share the directory.
package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/streamhunt/streamhunt/checkpoint"
	"github.com/streamhunt/streamhunt/internal/metrics"
)

var _ checkpoint.Store = (*Store)(nil)

// Store is a checkpoint.Store in a directory.
type Store struct {
	dir   string
	fence checkpoint.Fence
	mu    sync.Mutex // serialises this process; the lock file serialises processes
}

// Options are the optional settings of a Store.
type Options struct {
	// OwnershipExpiry, when set, refuses checkpoint writes for claims not
	// renewed within it.
	OwnershipExpiry time.Duration
}

// New returns a Store in dir, creating it when missing.
func New(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint directory %s: %w", dir, err)
	}
	return &Store{dir: dir, fence: checkpoint.Fence{Expiry: opts.OwnershipExpiry}}, nil
}

// Where returns the directory.
func (s *Store) Where() string { return s.dir }

// record is the JSON content of a checkpoint or ownership file.
type record struct {
	Version        int64  `json:"version"`
	SequenceNumber *int64 `json:"sequenceNumber,omitempty"`
	Offset         string `json:"offset,omitempty"`
	OwnerID        string `json:"ownerId,omitempty"`
}

func (s *Store) path(kind, ns, hub, cg, partition string) string {
	ns, hub, cg = checkpoint.Names(ns, hub, cg)
	parts := []string{s.dir, url.PathEscape(ns), url.PathEscape(hub), url.PathEscape(cg), kind}
	if partition != "" {
		parts = append(parts, url.PathEscape(partition))
	}
	return filepath.Join(parts...)
}

// locked runs f holding the process and directory locks.
func (s *Store) locked(f func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	lf, err := os.OpenFile(filepath.Join(s.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("checkpoint directory lock: %w", err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("checkpoint directory lock: %w", err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too
	return f()
}

func read(path string) (record, time.Time, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return record{}, time.Time{}, false, nil
	}
	if err != nil {
		return record{}, time.Time{}, false, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return record{}, time.Time{}, false, fmt.Errorf("%s: not a checkpoint record: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return record{}, time.Time{}, false, err
	}
	return r, fi.ModTime(), true, nil
}

func write(path string, r record) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, _ := json.Marshal(r)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func etagOf(v int64) *azcore.ETag {
	e := azcore.ETag(strconv.FormatInt(v, 10))
	return &e
}

// ClaimOwnership claims each partition whose record is unchanged since the
// caller saw it (its ETag), or absent when the caller saw none.
func (s *Store) ClaimOwnership(ctx context.Context, partitionOwnership []azeventhubs.Ownership, options *azeventhubs.ClaimOwnershipOptions) ([]azeventhubs.Ownership, error) {
	var won []azeventhubs.Ownership
	err := s.locked(func() error {
		for _, o := range partitionOwnership {
			p := s.path("ownership", o.FullyQualifiedNamespace, o.EventHubName, o.ConsumerGroup, o.PartitionID)
			cur, _, exists, err := read(p)
			if err != nil {
				return err
			}
			switch {
			case o.ETag == nil && exists, o.ETag != nil && (!exists || string(*o.ETag) != strconv.FormatInt(cur.Version, 10)):
				continue // someone else changed it first
			}
			r := record{Version: cur.Version + 1, OwnerID: o.OwnerID}
			if err := write(p, r); err != nil {
				return fmt.Errorf("claim partition %s: %w", o.PartitionID, err)
			}
			o.ETag = etagOf(r.Version)
			o.LastModifiedTime = time.Now()
			won = append(won, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.fence.Claimed(partitionOwnership, won)
	return won, nil
}

func list(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var names []string
	for _, e := range es {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, err
}

// ListOwnership lists the ownership records of a hub and consumer group.
func (s *Store) ListOwnership(ctx context.Context, fullyQualifiedNamespace string, eventHubName string, consumerGroup string, options *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	dir := s.path("ownership", fullyQualifiedNamespace, eventHubName, consumerGroup, "")
	var out []azeventhubs.Ownership
	err := s.locked(func() error {
		names, err := list(dir)
		if err != nil {
			return err
		}
		for _, n := range names {
			r, mod, ok, err := read(filepath.Join(dir, n))
			if err != nil || !ok {
				return err
			}
			part, _ := url.PathUnescape(n)
			out = append(out, azeventhubs.Ownership{FullyQualifiedNamespace: fullyQualifiedNamespace, EventHubName: eventHubName,
				ConsumerGroup: consumerGroup, PartitionID: part, OwnerID: r.OwnerID, LastModifiedTime: mod, ETag: etagOf(r.Version)})
		}
		return nil
	})
	return out, err
}

// ListCheckpoints lists the checkpoints of a hub and consumer group.
func (s *Store) ListCheckpoints(ctx context.Context, fullyQualifiedNamespace string, eventHubName string, consumerGroup string, options *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	dir := s.path("checkpoint", fullyQualifiedNamespace, eventHubName, consumerGroup, "")
	var out []azeventhubs.Checkpoint
	err := s.locked(func() error {
		names, err := list(dir)
		if err != nil {
			return err
		}
		for _, n := range names {
			r, _, ok, err := read(filepath.Join(dir, n))
			if err != nil || !ok {
				return err
			}
			if r.SequenceNumber == nil {
				return fmt.Errorf("checkpoint %s has no sequence number (fix or move it with `streamhunt checkpoints reset`)", filepath.Join(dir, n))
			}
			part, _ := url.PathUnescape(n)
			cp := azeventhubs.Checkpoint{FullyQualifiedNamespace: fullyQualifiedNamespace, EventHubName: eventHubName,
				ConsumerGroup: consumerGroup, PartitionID: part, SequenceNumber: r.SequenceNumber}
			if r.Offset != "" {
				off := r.Offset
				cp.Offset = &off
			}
			out = append(out, cp)
		}
		return nil
	})
	return out, err
}

// put writes cp when cond(current, exists) allows; it reports whether it wrote.
func (s *Store) put(cp azeventhubs.Checkpoint, cond func(cur record, exists bool) bool) (bool, error) {
	if err := checkpoint.Validate(cp); err != nil {
		return false, err
	}
	p := s.path("checkpoint", cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup, cp.PartitionID)
	wrote := false
	err := s.locked(func() error {
		cur, _, exists, err := read(p)
		if err != nil {
			return err
		}
		if !cond(cur, exists) {
			return nil
		}
		r := record{Version: cur.Version + 1, SequenceNumber: cp.SequenceNumber}
		if cp.Offset != nil {
			r.Offset = *cp.Offset
		}
		if err := write(p, r); err != nil {
			return fmt.Errorf("write checkpoint %s: %w", p, err)
		}
		wrote = true
		return nil
	})
	return wrote, err
}

// SetCheckpoint moves the checkpoint forward to cp; a position at or below
// the stored one is ignored, and a partition this store lost is refused
// with checkpoint.ErrNotOwner.
func (s *Store) SetCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint, options *azeventhubs.SetCheckpointOptions) error {
	if err := s.fence.Check(cp); err != nil {
		metrics.CheckpointWrites.WithLabelValues(cp.EventHubName, cp.PartitionID, "not-owner").Inc()
		return err
	}
	wrote, err := s.put(cp, func(cur record, exists bool) bool {
		return !exists || cur.SequenceNumber == nil || *cur.SequenceNumber < *cp.SequenceNumber
	})
	result := "ok"
	switch {
	case err != nil:
		result = "error"
	case !wrote:
		result = "skipped-behind"
	}
	metrics.CheckpointWrites.WithLabelValues(cp.EventHubName, cp.PartitionID, result).Inc()
	return err
}

// CreateCheckpoint writes cp only when there is no checkpoint yet.
func (s *Store) CreateCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint) (bool, error) {
	return s.put(cp, func(_ record, exists bool) bool { return !exists })
}

// ResetCheckpoint writes cp unconditionally.
func (s *Store) ResetCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint) error {
	_, err := s.put(cp, func(record, bool) bool { return true })
	return err
}
