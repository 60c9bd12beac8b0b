package file_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/streamhunt/streamhunt/checkpoint"
	"github.com/streamhunt/streamhunt/checkpoint/checkpointtest"
	"github.com/streamhunt/streamhunt/checkpoint/file"
)

// Field report 1 (Azure/azure-sdk-for-go#21352): another spelling of namespace, hub or consumer group finds the same checkpoint instead of forking it.
// Field report 6 (Azure/azure-webjobs-sdk#870): a checkpoint never moves backwards, so a stray lower write cannot rewind the partition.
// Field report 12 (MicrosoftDocs/azure-docs#121643): a late lower write, or one from a replica that lost the partition, never overwrites the newer checkpoint.
func TestFileStoreKeepsTheCheckpointContract(t *testing.T) {
	var dir string
	checkpointtest.Run(t, func(t *testing.T, fresh bool) checkpoint.Store {
		if fresh || dir == "" {
			dir = t.TempDir()
		}
		s, err := file.New(dir, file.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Field report 1 (Azure/azure-sdk-for-go#21352): the local store keeps the lower-case blob layout too.
func TestCheckpointsLiveAtTheBlobLayoutPathsInLowerCase(t *testing.T) {
	dir := t.TempDir()
	s, err := file.New(dir, file.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint(context.Background(), checkpointtest.Checkpoint("4", 9, "90"), nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "myns.servicebus.windows.net", "insights-logs-signinlogs", "$default", "checkpoint", "4")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no checkpoint file at %s: %v", p, err)
	}
}

// Field report 9 (Azure/azure-sdk-for-go#22487): a replica whose claim was not renewed within the expiry can no longer write its checkpoint (self-fencing).
func TestAClaimNotRenewedWithinTheExpiryFencesCheckpointWrites(t *testing.T) {
	s, err := file.New(t.TempDir(), file.Options{OwnershipExpiry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if won, err := s.ClaimOwnership(ctx, []azeventhubs.Ownership{checkpointtest.Ownership("0", "a")}, nil); err != nil || len(won) != 1 {
		t.Fatal(won, err)
	}
	if err := s.SetCheckpoint(ctx, checkpointtest.Checkpoint("0", 1, "1"), nil); err != nil {
		t.Fatalf("write while owned: %v", err)
	}
	time.Sleep(120 * time.Millisecond) // functional check of the expiry
	if err := s.SetCheckpoint(ctx, checkpointtest.Checkpoint("0", 2, "2"), nil); !errors.Is(err, checkpoint.ErrNotOwner) {
		t.Fatalf("write after the claim expired: %v, want ErrNotOwner", err)
	}
}
