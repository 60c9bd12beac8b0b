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
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/streamhunt/streamhunt/checkpoint"
	"github.com/streamhunt/streamhunt/checkpoint/blob"
	"github.com/streamhunt/streamhunt/checkpoint/checkpointtest"
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

// Field report 1 (Azure/azure-sdk-for-go#21352): another spelling of namespace, hub or consumer group finds the same checkpoint instead of forking it.
// Field report 6 (Azure/azure-webjobs-sdk#870): a checkpoint never moves backwards, so a stray lower write cannot rewind the partition.
// Field report 12 (MicrosoftDocs/azure-docs#121643): a late lower write, or one from a replica that lost the partition, never overwrites the newer checkpoint.
// Field report 26 (elastic/beats#25742): two replicas claiming a new partition at once: one wins, the other gets no error (no BlobAlreadyExists).
func TestBlobStoreKeepsTheCheckpointContract(t *testing.T) {
	var last *container.Client
	checkpointtest.Run(t, func(t *testing.T, fresh bool) checkpoint.Store {
		if fresh || last == nil {
			last = newContainer(t)
		}
		return newStore(t, last, blob.Options{MaxAttempts: 50})
	})
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

// Field report 1 (Azure/azure-sdk-for-go#21352): KEDA's blobMetadata path (consumer group $Default lower-cased) finds a checkpoint written under mixed-case names.
// Field report 3 (microsoft/azure-container-apps#972): KEDA's blobMetadata strategy reads the sequencenumber and offset metadata streamhunt writes.
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

// Field report 1 (Azure/azure-sdk-for-go#21352): checkpoint and ownership blob names are lower case whatever the configured spelling.
// Field report H3 (open-telemetry/opentelemetry-collector-contrib, inferred hazard): blob names carry the whole namespace FQDN, not its first label.
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

// Field report 1 (Azure/azure-sdk-for-go#21352): the SDK's own BlobStore, as other consumers use it, reads the lower-case checkpoints.
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

func ownership(part, owner string) azeventhubs.Ownership {
	c := cp(part, 0, "")
	return azeventhubs.Ownership{FullyQualifiedNamespace: c.FullyQualifiedNamespace, EventHubName: c.EventHubName, ConsumerGroup: c.ConsumerGroup, PartitionID: part, OwnerID: owner}
}

// Field report 9 (Azure/azure-sdk-for-go#22487): a replica whose claim was not renewed within the expiry can no longer write its checkpoint (self-fencing).
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

// Field report 26 (elastic/beats#25742): five replicas creating the checkpoint container at once all start, without a ContainerAlreadyExists error.
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

// Field report 27 (Azure/azure-sdk-for-js#10132): soft delete on the checkpoint account is detected, so run warns at start.
func TestSoftDeleteOnTheAccountIsDetected(t *testing.T) {
	cs := testenv.Azurite(t)
	svc, err := azblob.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sc := svc.ServiceClient()
	on, off, days := true, false, int32(7)
	if _, err := sc.SetProperties(ctx, &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: &on, Days: &days}}); err != nil {
		t.Fatal(err)
	}
	defer sc.SetProperties(ctx, &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: &off}}) //nolint:errcheck
	got, err := blob.SoftDeleteEnabled(ctx, sc)
	if err != nil || !got {
		t.Fatalf("soft delete enabled on the account: detected %v, %v", got, err)
	}
	if _, err := sc.SetProperties(ctx, &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: &off}}); err != nil {
		t.Fatal(err)
	}
	if got, err := blob.SoftDeleteEnabled(ctx, sc); err != nil || got {
		t.Fatalf("soft delete off: detected %v, %v", got, err)
	}
}

// Field report H3 (open-telemetry/opentelemetry-collector-contrib, inferred hazard): two namespaces sharing their first DNS label keep separate checkpoints.
func TestNamespacesSharingTheirFirstLabelKeepSeparateCheckpoints(t *testing.T) {
	s := newStore(t, newContainer(t), blob.Options{})
	ctx := context.Background()
	public, china := cp("0", 10, "1000"), cp("0", 3, "300")
	public.FullyQualifiedNamespace = "myns.servicebus.windows.net"
	china.FullyQualifiedNamespace = "myns.servicebus.chinacloudapi.cn"
	for _, c := range []azeventhubs.Checkpoint{public, china} {
		if err := s.SetCheckpoint(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []azeventhubs.Checkpoint{public, china} {
		got, err := s.ListCheckpoints(ctx, want.FullyQualifiedNamespace, want.EventHubName, want.ConsumerGroup, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || *got[0].SequenceNumber != *want.SequenceNumber {
			t.Errorf("namespace %s lists %+v, want its own checkpoint at %d", want.FullyQualifiedNamespace, got, *want.SequenceNumber)
		}
	}
}
