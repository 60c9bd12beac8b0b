package blob_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/checkpoints"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/streamhunt/streamhunt/checkpoint"
	"github.com/streamhunt/streamhunt/checkpoint/blob"
	"github.com/streamhunt/streamhunt/internal/testenv"
)

var containerSeq atomic.Int64

// newContainer returns a client for a container of the test's own (not yet created).
func newContainer(t *testing.T) *container.Client {
	t.Helper()
	cs := testenv.Azurite(t)
	svc, err := azblob.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("cp%d-%d", time.Now().UnixNano()%1e9, containerSeq.Add(1))
	return svc.ServiceClient().NewContainerClient(name)
}

func newStore(t *testing.T, cc *container.Client, opts blob.Options) *blob.Store {
	t.Helper()
	s, err := blob.New(context.Background(), cc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cp(part string, seq int64, off string) azeventhubs.Checkpoint {
	c := azeventhubs.Checkpoint{
		FullyQualifiedNamespace: "MyNs.ServiceBus.Windows.Net", EventHubName: "Insights-Logs-SignInLogs",
		ConsumerGroup: "$Default", PartitionID: part, SequenceNumber: to.Ptr(seq),
	}
	if off != "" {
		c.Offset = to.Ptr(off)
	}
	return c
}

func storedSeq(t *testing.T, s checkpoint.Store, part string) int64 {
	t.Helper()
	c := cp(part, 0, "")
	cps, err := s.ListCheckpoints(context.Background(), c.FullyQualifiedNamespace, c.EventHubName, c.ConsumerGroup, nil)
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

// kedaBlobMetadataPath computes where KEDA's azure-eventhub scaler with
// checkpointStrategy blobMetadata looks for a partition's checkpoint:
// /<container>/<namespace host from the connection string>/<hub>/<lower(consumer group)>/checkpoint/<partition>.
func kedaBlobMetadataPath(containerName, eventHubConnection, consumerGroup, partition string) string {
	var ns, hub string
	for _, part := range strings.Split(eventHubConnection, ";") {
		if v, ok := strings.CutPrefix(part, "Endpoint="); ok {
			ns = strings.TrimSuffix(strings.TrimPrefix(v, "sb://"), "/")
		}
		if v, ok := strings.CutPrefix(part, "EntityPath="); ok {
			hub = v
		}
	}
	return fmt.Sprintf("/%s/%s/%s/%s/checkpoint/%s", containerName, ns, hub, strings.ToLower(consumerGroup), partition)
}

func TestKEDABlobMetadataStrategyFindsTheCheckpoint(t *testing.T) {
	cc := newContainer(t)
	s := newStore(t, cc, blob.Options{})
	ctx := context.Background()
	// The processor spells the names as the user configured them.
	if err := s.SetCheckpoint(ctx, cp("3", 42, "4294967400"), nil); err != nil {
		t.Fatal(err)
	}
	conn := "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=x;EntityPath=insights-logs-signinlogs"
	u, _ := url.Parse(cc.URL())
	containerName := u.Path[strings.LastIndexByte(u.Path, '/')+1:]
	path := kedaBlobMetadataPath(containerName, conn, "$Default", "3")
	blobName := strings.TrimPrefix(path, "/"+containerName+"/")
	props, err := cc.NewBlobClient(blobName).GetProperties(ctx, nil)
	if err != nil {
		t.Fatalf("KEDA would not find %s: %v", path, err)
	}
	got := map[string]string{}
	for k, v := range props.Metadata {
		got[strings.ToLower(k)] = *v
	}
	if got["sequencenumber"] != "42" || got["offset"] != "4294967400" {
		t.Fatalf("KEDA reads metadata %v, want sequencenumber 42 and offset 4294967400", got)
	}
}

func TestEveryBlobNameIsLowerCase(t *testing.T) {
	cc := newContainer(t)
	s := newStore(t, cc, blob.Options{})
	ctx := context.Background()
	c := cp("0", 1, "10")
	if _, err := s.ClaimOwnership(ctx, []azeventhubs.Ownership{{FullyQualifiedNamespace: c.FullyQualifiedNamespace, EventHubName: c.EventHubName, ConsumerGroup: c.ConsumerGroup, PartitionID: "0", OwnerID: "a"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	var names []string
	pager := cc.NewListBlobsFlatPager(nil)
	for pager.More() {
		p, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range p.Segment.BlobItems {
			names = append(names, *b.Name)
		}
	}
	want := []string{
		"myns.servicebus.windows.net/insights-logs-signinlogs/$default/checkpoint/0",
		"myns.servicebus.windows.net/insights-logs-signinlogs/$default/ownership/0",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Fatalf("blobs:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}

func TestTheSDKsOwnBlobStoreReadsOurCheckpoints(t *testing.T) {
	cc := newContainer(t)
	s := newStore(t, cc, blob.Options{})
	ctx := context.Background()
	if err := s.SetCheckpoint(ctx, cp("1", 7, "700"), nil); err != nil {
		t.Fatal(err)
	}
	sdk, err := checkpoints.NewBlobStore(cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sdk.ListCheckpoints(ctx, "myns.servicebus.windows.net", "insights-logs-signinlogs", "$default", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || *got[0].SequenceNumber != 7 || *got[0].Offset != "700" || got[0].PartitionID != "1" {
		t.Fatalf("SDK read %+v, want partition 1 at sequence number 7, offset 700", got)
	}
}

func TestSetCheckpoint(t *testing.T) {
	tests := []struct {
		name   string
		writes []int64
		want   int64
	}{
		{"moves forward", []int64{5, 9, 12}, 12},
		{"never moves backwards", []int64{10, 4}, 10},
		{"keeps the position when the same one is written again", []int64{8, 8}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, newContainer(t), blob.Options{})
			for _, w := range tt.writes {
				if err := s.SetCheckpoint(context.Background(), cp("0", w, fmt.Sprint(w*100)), nil); err != nil {
					t.Fatal(err)
				}
			}
			if got := storedSeq(t, s, "0"); got != tt.want {
				t.Fatalf("stored sequence number %d, want %d", got, tt.want)
			}
		})
	}
}

func TestALateWriteFromAnotherReplicaNeverMovesTheCheckpointBackwards(t *testing.T) {
	cc := newContainer(t)
	ctx := context.Background()
	a := newStore(t, cc, blob.Options{})
	b := newStore(t, cc, blob.Options{})
	// B has seen the blob at 5 (its cache holds that ETag), then A moves it to 20.
	if err := b.SetCheckpoint(ctx, cp("0", 5, "500"), nil); err != nil {
		t.Fatal(err)
	}
	if err := a.SetCheckpoint(ctx, cp("0", 20, "2000"), nil); err != nil {
		t.Fatal(err)
	}
	// B's late write of 12 fails its ETag condition, rereads, and keeps 20.
	if err := b.SetCheckpoint(ctx, cp("0", 12, "1200"), nil); err != nil {
		t.Fatal(err)
	}
	if got := storedSeq(t, a, "0"); got != 20 {
		t.Fatalf("stored sequence number %d after a late lower write, want 20", got)
	}
	// A higher write from B still goes through.
	if err := b.SetCheckpoint(ctx, cp("0", 25, "2500"), nil); err != nil {
		t.Fatal(err)
	}
	if got := storedSeq(t, a, "0"); got != 25 {
		t.Fatalf("stored sequence number %d, want 25", got)
	}
}

func TestConcurrentWritersKeepTheHighestPosition(t *testing.T) {
	cc := newContainer(t)
	stores := []*blob.Store{newStore(t, cc, blob.Options{MaxAttempts: 50}), newStore(t, cc, blob.Options{MaxAttempts: 50}), newStore(t, cc, blob.Options{MaxAttempts: 50})}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := int64(i); seq < 30; seq += 3 {
				if err := s.SetCheckpoint(context.Background(), cp("0", seq, fmt.Sprint(seq)), nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := storedSeq(t, stores[0], "0"); got != 29 {
		t.Fatalf("stored sequence number %d, want the highest written, 29", got)
	}
}

func ownership(part, owner string) azeventhubs.Ownership {
	c := cp(part, 0, "")
	return azeventhubs.Ownership{FullyQualifiedNamespace: c.FullyQualifiedNamespace, EventHubName: c.EventHubName, ConsumerGroup: c.ConsumerGroup, PartitionID: part, OwnerID: owner}
}

func TestAReplicaThatLostAPartitionCannotWriteItsCheckpoint(t *testing.T) {
	cc := newContainer(t)
	ctx := context.Background()
	a := newStore(t, cc, blob.Options{})
	b := newStore(t, cc, blob.Options{})
	won, err := a.ClaimOwnership(ctx, []azeventhubs.Ownership{ownership("0", "a")}, nil)
	if err != nil || len(won) != 1 {
		t.Fatalf("a claims: %v %v", won, err)
	}
	if err := a.SetCheckpoint(ctx, cp("0", 10, "1000"), nil); err != nil {
		t.Fatal(err)
	}
	// B steals the partition with the current ETag.
	os, err := b.ListOwnership(ctx, "MyNs.ServiceBus.Windows.Net", "Insights-Logs-SignInLogs", "$Default", nil)
	if err != nil || len(os) != 1 {
		t.Fatalf("list: %v %v", os, err)
	}
	os[0].OwnerID = "b"
	if won, err := b.ClaimOwnership(ctx, os, nil); err != nil || len(won) != 1 {
		t.Fatalf("b steals: %v %v", won, err)
	}
	// A renews with its old ETag: the claim fails, so A learns it lost it.
	if won, err := a.ClaimOwnership(ctx, won, nil); err != nil || len(won) != 0 {
		t.Fatalf("a renews: %v %v", won, err)
	}
	err = a.SetCheckpoint(ctx, cp("0", 15, "1500"), nil)
	if !errors.Is(err, checkpoint.ErrNotOwner) {
		t.Fatalf("a's write after losing the partition: %v, want ErrNotOwner", err)
	}
	if got := storedSeq(t, b, "0"); got != 10 {
		t.Fatalf("stored sequence number %d, want 10", got)
	}
}

func TestAReplicaThatReleasedAPartitionCannotWriteItsCheckpoint(t *testing.T) {
	s := newStore(t, newContainer(t), blob.Options{})
	ctx := context.Background()
	won, err := s.ClaimOwnership(ctx, []azeventhubs.Ownership{ownership("2", "a")}, nil)
	if err != nil || len(won) != 1 {
		t.Fatal(won, err)
	}
	won[0].OwnerID = ""
	if _, err := s.ClaimOwnership(ctx, won, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint(ctx, cp("2", 3, "3"), nil); !errors.Is(err, checkpoint.ErrNotOwner) {
		t.Fatalf("write after release: %v, want ErrNotOwner", err)
	}
}

func TestAReplicaWhoseClaimExpiredCannotWriteItsCheckpoint(t *testing.T) {
	s := newStore(t, newContainer(t), blob.Options{OwnershipExpiry: 50 * time.Millisecond})
	ctx := context.Background()
	if won, err := s.ClaimOwnership(ctx, []azeventhubs.Ownership{ownership("0", "a")}, nil); err != nil || len(won) != 1 {
		t.Fatal(won, err)
	}
	if err := s.SetCheckpoint(ctx, cp("0", 1, "1"), nil); err != nil {
		t.Fatalf("write while owned: %v", err)
	}
	// Functional check of the expiry: the claim is not renewed for longer than it.
	time.Sleep(120 * time.Millisecond)
	if err := s.SetCheckpoint(ctx, cp("0", 2, "2"), nil); !errors.Is(err, checkpoint.ErrNotOwner) {
		t.Fatalf("write after the claim expired: %v, want ErrNotOwner", err)
	}
}

func TestContainerIsCreatedOnceWhenReplicasStartTogether(t *testing.T) {
	cc := newContainer(t)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = blob.New(context.Background(), cc, blob.Options{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	if _, err := cc.GetProperties(context.Background(), nil); err != nil {
		t.Fatalf("container missing: %v", err)
	}
}

func TestCreateCheckpointNeverOverwrites(t *testing.T) {
	s := newStore(t, newContainer(t), blob.Options{})
	ctx := context.Background()
	created, err := s.CreateCheckpoint(ctx, cp("0", 30, "300"))
	if err != nil || !created {
		t.Fatalf("first create: %v %v", created, err)
	}
	created, err = s.CreateCheckpoint(ctx, cp("0", 2, "20"))
	if err != nil || created {
		t.Fatalf("second create: created=%v err=%v, want false, nil", created, err)
	}
	if got := storedSeq(t, s, "0"); got != 30 {
		t.Fatalf("stored %d, want 30", got)
	}
}

func TestResetCheckpointMovesBackwardsAndASequenceOnlyCheckpointHasNoOffset(t *testing.T) {
	s := newStore(t, newContainer(t), blob.Options{})
	ctx := context.Background()
	if err := s.SetCheckpoint(ctx, cp("0", 50, "5000"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetCheckpoint(ctx, cp("0", -1, "")); err != nil {
		t.Fatal(err)
	}
	cps, err := s.ListCheckpoints(ctx, "MyNs.ServiceBus.Windows.Net", "Insights-Logs-SignInLogs", "$Default", nil)
	if err != nil || len(cps) != 1 {
		t.Fatal(cps, err)
	}
	if *cps[0].SequenceNumber != -1 || cps[0].Offset != nil {
		t.Fatalf("after reset: sequence %d offset %v, want -1 and no offset", *cps[0].SequenceNumber, cps[0].Offset)
	}
	// A later normal write moves forward from the reset position.
	if err := s.SetCheckpoint(ctx, cp("0", 3, "300"), nil); err != nil {
		t.Fatal(err)
	}
	if got := storedSeq(t, s, "0"); got != 3 {
		t.Fatalf("stored %d, want 3", got)
	}
}
