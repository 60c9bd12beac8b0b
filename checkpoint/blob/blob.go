// Package blob stores Event Hubs checkpoints and partition ownership in an
// Azure Blob Storage container, in the azeventhubs layout with lower-case
// namespace, hub and consumer group, so KEDA's `blobMetadata` strategy finds
// them at <container>/<namespace>/<hub>/<consumer group>/checkpoint/<partition>.
//
// It wraps the SDK's checkpoints.BlobStore for ownership, and writes
// checkpoints itself: conditionally (ETag), never backwards, and only while
// this replica owns the partition.
package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/checkpoints"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/streamhunt/streamhunt/checkpoint"
	"github.com/streamhunt/streamhunt/internal/metrics"
)

var _ checkpoint.Store = (*Store)(nil)

// Options are the optional settings of a Store.
type Options struct {
	// OwnershipExpiry is the Processor's partition expiration: a claim not
	// renewed within it no longer allows checkpoint writes. Zero disables
	// the time check (claims lost to another replica are still fenced).
	OwnershipExpiry time.Duration
	// MaxAttempts bounds the read-compare-write rounds of one SetCheckpoint
	// when other writers keep changing the blob; zero means 5.
	MaxAttempts int
}

// Store is a checkpoint.Store on one blob container.
type Store struct {
	cc    *container.Client
	inner *checkpoints.BlobStore
	fence checkpoint.Fence
	opts  Options

	mu    sync.Mutex
	known map[string]state // checkpoint blob name -> last seen state
}

// state is what this store last saw of a checkpoint blob.
type state struct {
	etag azcore.ETag
	seq  int64
}

// New returns a Store on the container, creating the container when it is
// missing. A container created at the same moment by another replica (409)
// is fine.
func New(ctx context.Context, cc *container.Client, opts Options) (*Store, error) {
	if err := ensureContainer(ctx, cc); err != nil {
		return nil, err
	}
	inner, err := checkpoints.NewBlobStore(cc, nil)
	if err != nil {
		return nil, fmt.Errorf("checkpoint store on %s: %w", cc.URL(), err)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	return &Store{cc: cc, inner: inner, opts: opts, fence: checkpoint.Fence{Expiry: opts.OwnershipExpiry}, known: map[string]state{}}, nil
}

func ensureContainer(ctx context.Context, cc *container.Client) error {
	defer observe("create-container", time.Now())
	_, err := cc.Create(ctx, nil)
	if err == nil || bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return nil
	}
	// Without the right to create containers, an existing one is enough.
	if _, perr := cc.GetProperties(ctx, nil); perr == nil {
		return nil
	}
	return fmt.Errorf("cannot create or open checkpoint container %s: %w (check the storage account, container name and that the identity has the Storage Blob Data Contributor role)", cc.URL(), err)
}

func observe(op string, start time.Time) {
	metrics.CheckpointStoreLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// Where returns the container URL.
func (s *Store) Where() string { return s.cc.URL() }

// lowerOwnership returns o with lower-case names.
func lowerOwnership(o azeventhubs.Ownership) azeventhubs.Ownership {
	o.FullyQualifiedNamespace, o.EventHubName, o.ConsumerGroup = checkpoint.Names(o.FullyQualifiedNamespace, o.EventHubName, o.ConsumerGroup)
	return o
}

// ClaimOwnership claims the partitions under lower-case names and records
// the outcome, so checkpoints of partitions lost are refused.
func (s *Store) ClaimOwnership(ctx context.Context, partitionOwnership []azeventhubs.Ownership, options *azeventhubs.ClaimOwnershipOptions) ([]azeventhubs.Ownership, error) {
	defer observe("claim-ownership", time.Now())
	lowered := make([]azeventhubs.Ownership, len(partitionOwnership))
	asked := map[string]azeventhubs.Ownership{}
	for i, o := range partitionOwnership {
		lowered[i] = lowerOwnership(o)
		asked[checkpoint.OwnershipName(o.FullyQualifiedNamespace, o.EventHubName, o.ConsumerGroup, o.PartitionID)] = o
	}
	won, err := s.inner.ClaimOwnership(ctx, lowered, options)
	if err != nil {
		return nil, fmt.Errorf("claim ownership in %s: %w", s.cc.URL(), err)
	}
	out := make([]azeventhubs.Ownership, 0, len(won))
	for _, w := range won {
		k := checkpoint.OwnershipName(w.FullyQualifiedNamespace, w.EventHubName, w.ConsumerGroup, w.PartitionID)
		if o, ok := asked[k]; ok { // give back the caller's spelling
			w.FullyQualifiedNamespace, w.EventHubName, w.ConsumerGroup = o.FullyQualifiedNamespace, o.EventHubName, o.ConsumerGroup
		}
		out = append(out, w)
	}
	s.fence.Claimed(partitionOwnership, out)
	return out, nil
}

// ListOwnership lists the ownership records of a hub and consumer group.
func (s *Store) ListOwnership(ctx context.Context, fullyQualifiedNamespace string, eventHubName string, consumerGroup string, options *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	defer observe("list-ownership", time.Now())
	ns, hub, cg := checkpoint.Names(fullyQualifiedNamespace, eventHubName, consumerGroup)
	os, err := s.inner.ListOwnership(ctx, ns, hub, cg, options)
	if err != nil {
		return nil, fmt.Errorf("list ownership in %s: %w", s.cc.URL(), err)
	}
	for i := range os {
		os[i].FullyQualifiedNamespace, os[i].EventHubName, os[i].ConsumerGroup = fullyQualifiedNamespace, eventHubName, consumerGroup
	}
	return os, nil
}

// ListCheckpoints lists the checkpoints of a hub and consumer group. A
// checkpoint whose offset is empty (written at a sequence number only, such
// as an initial checkpoint at the earliest event) has a nil Offset, so the
// Processor starts after its sequence number.
func (s *Store) ListCheckpoints(ctx context.Context, fullyQualifiedNamespace string, eventHubName string, consumerGroup string, options *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	defer observe("list-checkpoints", time.Now())
	prefix := checkpoint.CheckpointName(fullyQualifiedNamespace, eventHubName, consumerGroup, "")
	pager := s.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix, Include: container.ListBlobsInclude{Metadata: true}})
	var out []azeventhubs.Checkpoint
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list checkpoints under %s/%s: %w", s.cc.URL(), prefix, err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil {
				continue
			}
			part := (*b.Name)[strings.LastIndexByte(*b.Name, '/')+1:]
			seq, off, err := parseMetadata(b.Metadata)
			if err != nil {
				return nil, fmt.Errorf("checkpoint blob %s: %w (fix or move it with `streamhunt checkpoints reset`)", *b.Name, err)
			}
			cp := azeventhubs.Checkpoint{
				FullyQualifiedNamespace: fullyQualifiedNamespace, EventHubName: eventHubName, ConsumerGroup: consumerGroup,
				PartitionID: part, SequenceNumber: &seq,
			}
			if off != "" {
				cp.Offset = &off
			}
			out = append(out, cp)
		}
	}
	return out, nil
}

// metadata keys are case-insensitive in Azure; azblob returns them as the
// service sends them, which may be capitalised.
func metaGet(md map[string]*string, key string) (string, bool) {
	for k, v := range md {
		if strings.EqualFold(k, key) {
			if v == nil {
				return "", true
			}
			return *v, true
		}
	}
	return "", false
}

func parseMetadata(md map[string]*string) (int64, string, error) {
	s, ok := metaGet(md, "sequencenumber")
	if !ok {
		return 0, "", errors.New("no sequencenumber metadata")
	}
	seq, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("sequencenumber %q is not an integer", s)
	}
	off, _ := metaGet(md, "offset")
	return seq, off, nil
}

func metadataFor(cp azeventhubs.Checkpoint) map[string]*string {
	off := ""
	if cp.Offset != nil {
		off = *cp.Offset
	}
	return map[string]*string{
		"sequencenumber": to.Ptr(strconv.FormatInt(*cp.SequenceNumber, 10)),
		"offset":         to.Ptr(off),
	}
}

// read returns the blob's current state; exists is false on 404.
func (s *Store) read(ctx context.Context, name string) (st state, exists bool, err error) {
	defer observe("get-checkpoint", time.Now())
	props, err := s.cc.NewBlockBlobClient(name).GetProperties(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return state{}, false, nil
	}
	if err != nil {
		return state{}, false, fmt.Errorf("read checkpoint %s: %w", name, err)
	}
	seq, _, err := parseMetadata(props.Metadata)
	if err != nil {
		return state{}, false, fmt.Errorf("checkpoint blob %s: %w", name, err)
	}
	return state{etag: *props.ETag, seq: seq}, true, nil
}

// SetCheckpoint moves the partition's checkpoint forward to cp. It writes
// only when cp is beyond the stored position (whoever wrote that), with an
// ETag condition so that a concurrent writer's newer position is never
// overwritten, and only while this store owns the partition (ErrNotOwner
// otherwise).
func (s *Store) SetCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint, options *azeventhubs.SetCheckpointOptions) error {
	if err := checkpoint.Validate(cp); err != nil {
		return err
	}
	result := "error"
	defer func() { metrics.CheckpointWrites.WithLabelValues(cp.EventHubName, cp.PartitionID, result).Inc() }()
	if err := s.fence.Check(cp); err != nil {
		result = "not-owner"
		return err
	}
	name := checkpoint.CheckpointName(cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup, cp.PartitionID)
	want := *cp.SequenceNumber
	bc := s.cc.NewBlockBlobClient(name)
	for attempt := 0; attempt < s.opts.MaxAttempts; attempt++ {
		s.mu.Lock()
		st, exists := s.known[name]
		s.mu.Unlock()
		if !exists {
			var err error
			if st, exists, err = s.read(ctx, name); err != nil {
				return err
			}
		}
		if exists && st.seq >= want {
			result = "skipped-behind"
			return nil
		}
		start := time.Now()
		var etag *azcore.ETag
		var err error
		if !exists {
			var r blockblob.UploadResponse
			r, err = bc.Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{
				Metadata:         metadataFor(cp),
				AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
			})
			etag = r.ETag
		} else {
			var r blob.SetMetadataResponse
			r, err = bc.SetMetadata(ctx, metadataFor(cp), &blob.SetMetadataOptions{
				AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &st.etag}},
			})
			etag = r.ETag
		}
		observe("set-checkpoint", start)
		if bloberror.HasCode(err, bloberror.ConditionNotMet, bloberror.BlobAlreadyExists, bloberror.BlobNotFound) {
			// Someone else wrote it (or deleted it) since we looked: look again.
			s.forget(name)
			continue
		}
		if err != nil {
			s.forget(name)
			return fmt.Errorf("write checkpoint %s (sequence number %d): %w", name, want, err)
		}
		s.remember(name, state{etag: *etag, seq: want})
		result = "ok"
		return nil
	}
	result = "conflict"
	return fmt.Errorf("write checkpoint %s (sequence number %d): other writers changed it %d times in a row; is another consumer using the same consumer group and container?", name, want, s.opts.MaxAttempts)
}

func (s *Store) forget(name string) {
	s.mu.Lock()
	delete(s.known, name)
	s.mu.Unlock()
}

func (s *Store) remember(name string, st state) {
	s.mu.Lock()
	s.known[name] = st
	s.mu.Unlock()
}

// CreateCheckpoint writes cp only when the partition has no checkpoint.
func (s *Store) CreateCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint) (bool, error) {
	if err := checkpoint.Validate(cp); err != nil {
		return false, err
	}
	defer observe("create-checkpoint", time.Now())
	name := checkpoint.CheckpointName(cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup, cp.PartitionID)
	r, err := s.cc.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{
		Metadata:         metadataFor(cp),
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
	})
	if bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create initial checkpoint %s: %w", name, err)
	}
	s.remember(name, state{etag: *r.ETag, seq: *cp.SequenceNumber})
	metrics.CheckpointWrites.WithLabelValues(cp.EventHubName, cp.PartitionID, "initial").Inc()
	return true, nil
}

// ResetCheckpoint writes cp whatever the stored position is.
func (s *Store) ResetCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint) error {
	if err := checkpoint.Validate(cp); err != nil {
		return err
	}
	defer observe("reset-checkpoint", time.Now())
	name := checkpoint.CheckpointName(cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup, cp.PartitionID)
	s.forget(name)
	_, err := s.cc.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{Metadata: metadataFor(cp)})
	if err != nil {
		return fmt.Errorf("reset checkpoint %s: %w", name, err)
	}
	metrics.CheckpointWrites.WithLabelValues(cp.EventHubName, cp.PartitionID, "reset").Inc()
	return nil
}

// SoftDeleteEnabled reports whether blob soft delete is on for the account.
// With soft delete (or versioning) every checkpoint update leaves a deleted
// version behind and listing slows down over time (field report E.27), so
// `run` warns at start. It needs the right to read the service properties;
// callers treat an error as "unknown".
func SoftDeleteEnabled(ctx context.Context, svc *service.Client) (bool, error) {
	props, err := svc.GetProperties(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("read blob service properties: %w", err)
	}
	p := props.DeleteRetentionPolicy
	return p != nil && p.Enabled != nil && *p.Enabled, nil
}
