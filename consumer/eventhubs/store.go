package eventhubs

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/checkpoint"
)

// partitionProps is the part of the ConsumerClient the store and workers use.
type partitionProps interface {
	GetPartitionProperties(ctx context.Context, partitionID string, options *azeventhubs.GetPartitionPropertiesOptions) (azeventhubs.PartitionProperties, error)
}

// hubStore is the checkpoint store one hub's Processor sees. It adds to the
// project's store:
//   - initial checkpoints: when the Processor lists checkpoints to open a
//     partition it just claimed and that partition has none, one is written
//     at the start position first, so the link opens exactly there and
//     lag-based autoscaling (KEDA) sees the truth from the start;
//   - the checkpoints last listed, for the beyond-the-end check;
//   - keeping ownership across a deliberate Processor restart (partitions
//     added), instead of releasing it for other replicas to grab.
type hubStore struct {
	checkpoint.Store
	hub         string
	start       StartPosition
	callTimeout time.Duration
	props       partitionProps
	log         *zap.Logger

	keep atomic.Bool // drop the Processor's release on close

	mu         sync.Mutex
	ns, hn, cg string // the names the Processor lists under
	claimed    map[string]bool
	listed     map[string]azeventhubs.Checkpoint
}

// newHubStore wraps s for one hub; log already carries the hub.
func newHubStore(s checkpoint.Store, hub string, start StartPosition, expiry time.Duration, props partitionProps, log *zap.Logger) *hubStore {
	return &hubStore{Store: s, hub: hub, start: start, callTimeout: max(expiry/2, time.Second), props: props, log: log, claimed: map[string]bool{}, listed: map[string]azeventhubs.Checkpoint{}}
}

// ClaimOwnership records what was won; a release while keep is set is skipped.
func (s *hubStore) ClaimOwnership(ctx context.Context, os []azeventhubs.Ownership, opts *azeventhubs.ClaimOwnershipOptions) ([]azeventhubs.Ownership, error) {
	// A renewal must finish well within the expiry, or this replica would
	// read on while others see its claims as expired (field report B.9).
	ctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	release := len(os) > 0
	for _, o := range os {
		if o.OwnerID != "" {
			release = false
		}
	}
	if release && s.keep.Load() {
		return nil, nil
	}
	won, err := s.Store.ClaimOwnership(ctx, os, opts)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if !release {
		s.claimed = map[string]bool{}
	}
	for _, o := range won {
		if o.OwnerID != "" {
			s.claimed[o.PartitionID] = true
		} else {
			delete(s.claimed, o.PartitionID)
		}
	}
	s.mu.Unlock()
	return won, nil
}

// ListOwnership lists ownership with the same bounded time as claims.
func (s *hubStore) ListOwnership(ctx context.Context, ns, hub, cg string, opts *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	ctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	return s.Store.ListOwnership(ctx, ns, hub, cg, opts)
}

// ListCheckpoints lists the checkpoints and writes initial ones for claimed
// partitions that have none.
func (s *hubStore) ListCheckpoints(ctx context.Context, ns, hub, cg string, opts *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	cps, err := s.Store.ListCheckpoints(ctx, ns, hub, cg, opts)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, c := range cps {
		have[c.PartitionID] = true
	}
	s.mu.Lock()
	var missing []string
	for p := range s.claimed {
		if !have[p] {
			missing = append(missing, p)
		}
	}
	s.mu.Unlock()
	relist := false
	for _, p := range missing {
		cp, ok, err := s.initial(ctx, ns, hub, cg, p)
		if err != nil {
			// The Processor falls back to the configured start position.
			s.log.Warn("cannot write the initial checkpoint; the partition starts at the configured position without one",
				zap.String("partition", p), zap.Error(err))
			continue
		}
		if !ok {
			continue
		}
		created, err := s.Store.CreateCheckpoint(ctx, cp)
		if err != nil {
			s.log.Warn("cannot write the initial checkpoint", zap.String("partition", p), zap.Error(err))
			continue
		}
		if !created { // another replica wrote one meanwhile: use it
			relist = true
			continue
		}
		s.log.Info("wrote the initial checkpoint at the start position", zap.String("partition", p),
			zap.Int64("sequenceNumber", *cp.SequenceNumber))
		cps = append(cps, cp)
	}
	if relist {
		if cps, err = s.Store.ListCheckpoints(ctx, ns, hub, cg, opts); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.ns, s.hn, s.cg = ns, hub, cg
	s.listed = map[string]azeventhubs.Checkpoint{}
	for _, c := range cps {
		s.listed[c.PartitionID] = c
	}
	s.mu.Unlock()
	return cps, nil
}

// initial computes the checkpoint that means "start at the start position":
// the last event before it. ok is false when that cannot be known without
// reading (a start time inside the retained events).
func (s *hubStore) initial(ctx context.Context, ns, hub, cg, partition string) (azeventhubs.Checkpoint, bool, error) {
	cp := azeventhubs.Checkpoint{FullyQualifiedNamespace: ns, EventHubName: hub, ConsumerGroup: cg, PartitionID: partition}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p, err := s.props.GetPartitionProperties(pctx, partition, nil)
	if err != nil {
		return cp, false, err
	}
	switch {
	case s.start.Earliest:
		cp.SequenceNumber = to.Ptr(p.BeginningSequenceNumber - 1)
	case !s.start.Time.IsZero() && !p.IsEmpty && !p.LastEnqueuedOn.Before(s.start.Time):
		return cp, false, nil
	case p.IsEmpty:
		cp.SequenceNumber = to.Ptr(p.LastEnqueuedSequenceNumber)
	default: // latest, or a time after the last event
		cp.SequenceNumber = to.Ptr(p.LastEnqueuedSequenceNumber)
		cp.Offset = to.Ptr(p.LastEnqueuedOffset)
	}
	return cp, true, nil
}

// lastListed returns the checkpoint the Processor last saw for a partition.
func (s *hubStore) lastListed(partition string) (azeventhubs.Checkpoint, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.listed[partition]
	return c, ok
}

// listCurrent lists the hub's checkpoints as they are in the store now.
func (s *hubStore) listCurrent(ctx context.Context) ([]azeventhubs.Checkpoint, error) {
	s.mu.Lock()
	ns, hn, cg := s.ns, s.hn, s.cg
	s.mu.Unlock()
	return s.Store.ListCheckpoints(ctx, ns, hn, cg, nil)
}
