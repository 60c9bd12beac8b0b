// Package checkpoint records how far a consumer got in each partition and
// who owns which partition. The backends (checkpoint/blob for Azure Blob
// Storage, checkpoint/file for a local directory) implement Store; both keep
// the azeventhubs layout with lower-cased names, so that KEDA's blobMetadata
// strategy and the other Event Hubs SDKs read the same checkpoints.
//
// Checkpoints only move forward: SetCheckpoint never writes a position at or
// below the stored one, whichever replica wrote that, and a store that has
// lost a partition's ownership refuses to write its checkpoint. Operators move
// checkpoints backwards explicitly with ResetCheckpoint.
package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// ErrNotOwner is returned by SetCheckpoint when this store no longer owns the
// partition (its claim failed, was relinquished, or was not renewed within
// the ownership expiry). The write is dropped: the new owner's position wins.
var ErrNotOwner = errors.New("partition is no longer owned by this replica")

// Store is an azeventhubs.CheckpointStore (so the SDK Processor uses it)
// with the operations the consumer and the `checkpoints` command need.
type Store interface {
	azeventhubs.CheckpointStore
	// CreateCheckpoint writes cp only if the partition has no checkpoint yet;
	// it reports whether it did.
	CreateCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint) (bool, error)
	// ResetCheckpoint writes cp unconditionally, even backwards: for operators.
	ResetCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint) error
	// Where names the store for logs (account/container or directory).
	Where() string
}

// Names returns the namespace, hub and consumer group as they appear in
// checkpoint and ownership names: lower case, as the .NET, Java, JavaScript
// and Python SDKs write them and KEDA reads them.
func Names(namespace, hub, consumerGroup string) (string, string, string) {
	return strings.ToLower(namespace), strings.ToLower(hub), strings.ToLower(consumerGroup)
}

// CheckpointName is the blob (or file) name of a partition's checkpoint:
// <namespace>/<hub>/<consumer group>/checkpoint/<partition>, lower case.
func CheckpointName(namespace, hub, consumerGroup, partition string) string {
	ns, h, cg := Names(namespace, hub, consumerGroup)
	return ns + "/" + h + "/" + cg + "/checkpoint/" + partition
}

// OwnershipName is the blob (or file) name of a partition's ownership record.
func OwnershipName(namespace, hub, consumerGroup, partition string) string {
	ns, h, cg := Names(namespace, hub, consumerGroup)
	return ns + "/" + h + "/" + cg + "/ownership/" + partition
}

// Validate reports a checkpoint that cannot be stored: a missing name or a
// missing sequence number.
func Validate(cp azeventhubs.Checkpoint) error {
	if cp.FullyQualifiedNamespace == "" || cp.EventHubName == "" || cp.ConsumerGroup == "" || cp.PartitionID == "" {
		return fmt.Errorf("checkpoint needs namespace, hub, consumer group and partition (got %q/%q/%q/%q)",
			cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup, cp.PartitionID)
	}
	if cp.SequenceNumber == nil {
		return fmt.Errorf("checkpoint of partition %s of %s has no sequence number", cp.PartitionID, cp.EventHubName)
	}
	return nil
}

// Fence tracks which partitions this replica owns, from the results of its
// own ClaimOwnership calls, so that a store can refuse checkpoint writes for
// partitions it lost (field report: a late write from the old owner must not
// overwrite the new owner's newer checkpoint). The zero value tracks nothing
// and allows every write; Expiry, when set, also refuses writes for claims
// not renewed within it (a replica whose renewals stall fences itself).
type Fence struct {
	// Expiry is the ownership expiry; zero disables the time check.
	Expiry time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	owned map[string]time.Time // ownership name -> last successful claim
	seen  map[string]bool      // ownership names this store ever tried to claim
}

func (f *Fence) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Claimed records the outcome of a ClaimOwnership call: the partitions in
// won are owned (or released, when their OwnerID is empty); those asked for
// but not won are lost.
func (f *Fence) Claimed(asked, won []azeventhubs.Ownership) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.owned == nil {
		f.owned = map[string]time.Time{}
		f.seen = map[string]bool{}
	}
	now := f.now()
	wonSet := map[string]bool{}
	for _, o := range won {
		k := OwnershipName(o.FullyQualifiedNamespace, o.EventHubName, o.ConsumerGroup, o.PartitionID)
		wonSet[k] = true
		f.seen[k] = true
		if o.OwnerID == "" {
			delete(f.owned, k)
		} else {
			f.owned[k] = now
		}
	}
	for _, o := range asked {
		k := OwnershipName(o.FullyQualifiedNamespace, o.EventHubName, o.ConsumerGroup, o.PartitionID)
		f.seen[k] = true
		if !wonSet[k] {
			delete(f.owned, k)
		}
	}
}

// Check returns ErrNotOwner when this store claimed the checkpoint's
// partition before but does not own it now. Partitions it never claimed
// (the `checkpoints` command, a single replay) are not fenced.
func (f *Fence) Check(cp azeventhubs.Checkpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := OwnershipName(cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup, cp.PartitionID)
	if !f.seen[k] {
		return nil
	}
	at, ok := f.owned[k]
	if !ok {
		return fmt.Errorf("checkpoint of partition %s of %s dropped: %w", cp.PartitionID, cp.EventHubName, ErrNotOwner)
	}
	if f.Expiry > 0 && f.now().Sub(at) > f.Expiry {
		return fmt.Errorf("checkpoint of partition %s of %s dropped: ownership not renewed for %s (expiry %s): %w",
			cp.PartitionID, cp.EventHubName, f.now().Sub(at).Round(time.Millisecond), f.Expiry, ErrNotOwner)
	}
	return nil
}
