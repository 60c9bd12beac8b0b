// Package checkpointtest is the contract every checkpoint.Store keeps,
// written once as tests that each backend runs against itself.
package checkpointtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/streamhunt/streamhunt/checkpoint"
)

// Names the contract's checkpoints use, in mixed case on purpose.
const (
	Namespace     = "MyNs.ServiceBus.Windows.Net"
	Hub           = "Insights-Logs-SignInLogs"
	ConsumerGroup = "$Default"
)

// Checkpoint returns a checkpoint of the contract's hub.
func Checkpoint(part string, seq int64, off string) azeventhubs.Checkpoint {
	c := azeventhubs.Checkpoint{FullyQualifiedNamespace: Namespace, EventHubName: Hub, ConsumerGroup: ConsumerGroup, PartitionID: part, SequenceNumber: to.Ptr(seq)}
	if off != "" {
		c.Offset = to.Ptr(off)
	}
	return c
}

// Ownership returns an ownership claim of the contract's hub.
func Ownership(part, owner string) azeventhubs.Ownership {
	return azeventhubs.Ownership{FullyQualifiedNamespace: Namespace, EventHubName: Hub, ConsumerGroup: ConsumerGroup, PartitionID: part, OwnerID: owner}
}

// Stored returns the stored sequence number of a partition, failing when none.
func Stored(t *testing.T, s checkpoint.Store, part string) int64 {
	t.Helper()
	cps, err := s.ListCheckpoints(context.Background(), Namespace, Hub, ConsumerGroup, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range cps {
		if x.PartitionID == part {
			return *x.SequenceNumber
		}
	}
	t.Fatalf("no checkpoint for partition %s", part)
	return 0
}

// Run runs the contract. newStore returns a fresh, empty location each time
// it is called with fresh=true, and another store (another replica) on the
// same location as the previous call when fresh=false.
func Run(t *testing.T, newStore func(t *testing.T, fresh bool) checkpoint.Store) {
	ctx := context.Background()
	t.Run("a checkpoint moves forward and never backwards", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			writes []int64
			want   int64
		}{
			{"forward", []int64{5, 9, 12}, 12},
			{"backwards", []int64{10, 4}, 10},
			{"same again", []int64{8, 8}, 8},
		} {
			s := newStore(t, true)
			for _, w := range tt.writes {
				if err := s.SetCheckpoint(ctx, Checkpoint("0", w, fmt.Sprint(w*100)), nil); err != nil {
					t.Fatal(err)
				}
			}
			if got := Stored(t, s, "0"); got != tt.want {
				t.Fatalf("%s: writes %v stored %d, want %d", tt.name, tt.writes, got, tt.want)
			}
		}
	})
	t.Run("a late lower write from another replica keeps the higher position", func(t *testing.T) {
		b := newStore(t, true)
		a := newStore(t, false)
		if err := b.SetCheckpoint(ctx, Checkpoint("0", 5, "500"), nil); err != nil {
			t.Fatal(err)
		}
		if err := a.SetCheckpoint(ctx, Checkpoint("0", 20, "2000"), nil); err != nil {
			t.Fatal(err)
		}
		if err := b.SetCheckpoint(ctx, Checkpoint("0", 12, "1200"), nil); err != nil {
			t.Fatal(err)
		}
		if got := Stored(t, a, "0"); got != 20 {
			t.Fatalf("stored %d after a late lower write, want 20", got)
		}
		if err := b.SetCheckpoint(ctx, Checkpoint("0", 25, "2500"), nil); err != nil {
			t.Fatal(err)
		}
		if got := Stored(t, a, "0"); got != 25 {
			t.Fatalf("stored %d, want 25", got)
		}
	})
	t.Run("concurrent writers keep the highest position", func(t *testing.T) {
		stores := []checkpoint.Store{newStore(t, true), newStore(t, false), newStore(t, false)}
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := int64(i); seq < 30; seq += 3 {
					if err := s.SetCheckpoint(ctx, Checkpoint("0", seq, fmt.Sprint(seq)), nil); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if got := Stored(t, stores[0], "0"); got != 29 {
			t.Fatalf("stored %d, want the highest written, 29", got)
		}
	})
	t.Run("only one of two replicas claiming a new partition wins", func(t *testing.T) {
		a := newStore(t, true)
		b := newStore(t, false)
		wa, err := a.ClaimOwnership(ctx, []azeventhubs.Ownership{Ownership("0", "a")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		wb, err := b.ClaimOwnership(ctx, []azeventhubs.Ownership{Ownership("0", "b")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(wa) != 1 || len(wb) != 0 {
			t.Fatalf("a won %d, b won %d; want exactly a", len(wa), len(wb))
		}
	})
	t.Run("a replica that lost a partition cannot write its checkpoint", func(t *testing.T) {
		a := newStore(t, true)
		b := newStore(t, false)
		won, err := a.ClaimOwnership(ctx, []azeventhubs.Ownership{Ownership("0", "a")}, nil)
		if err != nil || len(won) != 1 {
			t.Fatalf("a claims: %v %v", won, err)
		}
		if err := a.SetCheckpoint(ctx, Checkpoint("0", 10, "1000"), nil); err != nil {
			t.Fatal(err)
		}
		os, err := b.ListOwnership(ctx, Namespace, Hub, ConsumerGroup, nil)
		if err != nil || len(os) != 1 || os[0].OwnerID != "a" {
			t.Fatalf("b lists: %+v %v", os, err)
		}
		os[0].OwnerID = "b"
		if stolen, err := b.ClaimOwnership(ctx, os, nil); err != nil || len(stolen) != 1 {
			t.Fatalf("b steals: %v %v", stolen, err)
		}
		// a renews with its old ETag: it fails, so a learns it lost it.
		if renewed, err := a.ClaimOwnership(ctx, won, nil); err != nil || len(renewed) != 0 {
			t.Fatalf("a renews with a stale ETag: %v %v", renewed, err)
		}
		if err := a.SetCheckpoint(ctx, Checkpoint("0", 15, "1500"), nil); !errors.Is(err, checkpoint.ErrNotOwner) {
			t.Fatalf("a's write after losing the partition: %v, want ErrNotOwner", err)
		}
		if got := Stored(t, b, "0"); got != 10 {
			t.Fatalf("stored %d, want 10", got)
		}
	})
	t.Run("a replica that released a partition cannot write its checkpoint", func(t *testing.T) {
		s := newStore(t, true)
		won, err := s.ClaimOwnership(ctx, []azeventhubs.Ownership{Ownership("2", "a")}, nil)
		if err != nil || len(won) != 1 {
			t.Fatal(won, err)
		}
		won[0].OwnerID = ""
		if _, err := s.ClaimOwnership(ctx, won, nil); err != nil {
			t.Fatal(err)
		}
		os, err := s.ListOwnership(ctx, Namespace, Hub, ConsumerGroup, nil)
		if err != nil || len(os) != 1 || os[0].OwnerID != "" {
			t.Fatalf("after release the owner is %+v (%v), want empty", os, err)
		}
		if err := s.SetCheckpoint(ctx, Checkpoint("2", 3, "3"), nil); !errors.Is(err, checkpoint.ErrNotOwner) {
			t.Fatalf("write after release: %v, want ErrNotOwner", err)
		}
	})
	t.Run("create checkpoint never overwrites", func(t *testing.T) {
		s := newStore(t, true)
		created, err := s.CreateCheckpoint(ctx, Checkpoint("0", 30, "300"))
		if err != nil || !created {
			t.Fatalf("first create: %v %v", created, err)
		}
		created, err = s.CreateCheckpoint(ctx, Checkpoint("0", 2, "20"))
		if err != nil || created {
			t.Fatalf("second create: created=%v err=%v, want false, nil", created, err)
		}
		if got := Stored(t, s, "0"); got != 30 {
			t.Fatalf("stored %d, want 30", got)
		}
	})
	t.Run("reset moves backwards and a sequence-only checkpoint has no offset", func(t *testing.T) {
		s := newStore(t, true)
		if err := s.SetCheckpoint(ctx, Checkpoint("0", 50, "5000"), nil); err != nil {
			t.Fatal(err)
		}
		if err := s.ResetCheckpoint(ctx, Checkpoint("0", -1, "")); err != nil {
			t.Fatal(err)
		}
		cps, err := s.ListCheckpoints(ctx, Namespace, Hub, ConsumerGroup, nil)
		if err != nil || len(cps) != 1 {
			t.Fatal(cps, err)
		}
		if *cps[0].SequenceNumber != -1 || cps[0].Offset != nil {
			t.Fatalf("after reset: sequence %d offset %v, want -1 and no offset", *cps[0].SequenceNumber, cps[0].Offset)
		}
		if err := s.SetCheckpoint(ctx, Checkpoint("0", 3, "300"), nil); err != nil {
			t.Fatal(err)
		}
		if got := Stored(t, s, "0"); got != 3 {
			t.Fatalf("stored %d, want 3", got)
		}
	})
	t.Run("names are case-insensitive: another spelling finds the same checkpoint", func(t *testing.T) {
		s := newStore(t, true)
		if err := s.SetCheckpoint(ctx, Checkpoint("1", 7, "70"), nil); err != nil {
			t.Fatal(err)
		}
		cps, err := s.ListCheckpoints(ctx, "myns.servicebus.windows.net", "insights-logs-signinlogs", "$DEFAULT", nil)
		if err != nil || len(cps) != 1 || *cps[0].SequenceNumber != 7 {
			t.Fatalf("listed %+v (%v), want partition 1 at 7", cps, err)
		}
	})
}
