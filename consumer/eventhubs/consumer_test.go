package eventhubs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/streamhunt/streamhunt/checkpoint"
	"github.com/streamhunt/streamhunt/checkpoint/blob"
	"github.com/streamhunt/streamhunt/checkpoint/file"
	"github.com/streamhunt/streamhunt/consumer/eventhubs"
	"github.com/streamhunt/streamhunt/internal/ehtest"
	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/ops"
	"github.com/streamhunt/streamhunt/internal/testenv"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/sinktest"
)

var fastRetry = azeventhubs.RetryOptions{MaxRetries: 3, RetryDelay: 50 * time.Millisecond, MaxRetryDelay: 200 * time.Millisecond}

// testProcessor is a small real processor for these tests: each body is one
// record whose id is the body; its finding id is derived as the pipeline
// derives it (rule, table, record id), so a redelivered body yields the same
// id. A body that starts with POISON cannot be decoded and is dead-lettered.
type testProcessor struct{ calls atomic.Int64 }

func (p *testProcessor) Process(body []byte, src pipeline.Source) eventhubs.Result {
	p.calls.Add(1)
	if bytes.HasPrefix(body, []byte("POISON")) {
		return eventhubs.Result{DeadLetters: []pipeline.DeadLetter{{
			Time: time.Now(), Reason: "invalid-json", Error: "body is not JSON", Source: src, Raw: append([]byte(nil), body...),
		}}}
	}
	id := string(body)
	return eventhubs.Result{Records: 1, Findings: []pipeline.Finding{{
		SchemaVersion: pipeline.SchemaVersion, FindingID: expectedID(id), RuleID: "test-rule", Table: "SigninLogs", RecordID: id, Source: src,
	}}}
}

func expectedID(record string) string {
	return pipeline.FindingID("test-rule", "SigninLogs", record, 0)
}

// fixture is one Event Hubs test server and one checkpoint container.
type fixture struct {
	t         testing.TB
	srv       *ehtest.Server
	hub       string
	container *azblob.Client
	cname     string
	sink      *sinktest.Recorder
	dead      *sinktest.Store
	proc      *testProcessor
}

var fixtureSeq atomic.Int64

func newFixture(t *testing.T, partitions int) *fixture {
	t.Helper()
	return newFixtureWith(t, partitions, ehtest.Options{})
}

// newFixtureWith is newFixture with a server configured by so.
func newFixtureWith(t *testing.T, partitions int, so ehtest.Options) *fixture {
	t.Helper()
	cs := testenv.Azurite(t)
	srv, err := ehtest.NewServer(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hub := "insights-logs-signinlogs"
	if err := srv.CreateHub(hub, partitions); err != nil {
		t.Fatal(err)
	}
	bc, err := azblob.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, srv: srv, hub: hub, container: bc, cname: fmt.Sprintf("eh%d-%d", time.Now().UnixNano()%1e9, fixtureSeq.Add(1)),
		sink: &sinktest.Recorder{}, dead: &sinktest.Store{}, proc: &testProcessor{}}
}

func (f *fixture) store() *blob.Store {
	f.t.Helper()
	s, err := blob.New(context.Background(), f.container.ServiceClient().NewContainerClient(f.cname), blob.Options{OwnershipExpiry: 2 * time.Second})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// options are short time constants so each test runs in seconds.
func (f *fixture) options(store checkpoint.Store) eventhubs.Options {
	return eventhubs.Options{
		ConnectionString:   f.srv.ConnectionString(""),
		ClientOptions:      azeventhubs.ConsumerClientOptions{RetryOptions: fastRetry},
		Hubs:               []string{f.hub},
		Start:              eventhubs.StartPosition{Earliest: true},
		UpdateInterval:     150 * time.Millisecond,
		OwnershipExpiry:    2 * time.Second,
		ReceiveWait:        100 * time.Millisecond,
		PartitionRefresh:   200 * time.Millisecond,
		CheckpointEvery:    1,
		CheckpointInterval: 100 * time.Millisecond,
		StuckAfter:         time.Minute,
		ShutdownTimeout:    5 * time.Second,
		RetryBackoff:       20 * time.Millisecond,
		MaxRetryBackoff:    100 * time.Millisecond,
		Store:              store,
		Processor:          f.proc,
		Sink:               f.sink,
		DeadLetters:        f.dead,
		Logger:             zaptest.NewLogger(f.t),
	}
}

// running is a consumer running in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, opts eventhubs.Options) *running {
	t.Helper()
	c, err := eventhubs.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop is SIGTERM: it returns Run's error.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60s of cancel")
	}
	return nil
}

func (f *fixture) publish(partition string, bodies ...string) {
	f.t.Helper()
	bs := make([][]byte, len(bodies))
	for i, b := range bodies {
		bs[i] = []byte(b)
	}
	if err := f.srv.Publish(f.hub, partition, bs...); err != nil {
		f.t.Fatal(err)
	}
}

func records(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

// eventually polls cond until it holds or the (generous) deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkpoints returns partition -> stored sequence number.
func (f *fixture) checkpoints(s checkpoint.Store) map[string]int64 {
	f.t.Helper()
	cps, err := s.ListCheckpoints(context.Background(), f.srv.Namespace(), f.hub, azeventhubs.DefaultConsumerGroup, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range cps {
		out[c.PartitionID] = *c.SequenceNumber
	}
	return out
}

// ownerships returns every ownership the store lists, released and expired
// ones included.
func (f *fixture) ownerships(s checkpoint.Store) []azeventhubs.Ownership {
	f.t.Helper()
	os, err := s.ListOwnership(context.Background(), f.srv.Namespace(), f.hub, azeventhubs.DefaultConsumerGroup, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return os
}

// owners returns partition -> owner id (only live, unexpired ones).
func (f *fixture) owners(s checkpoint.Store) map[string]string {
	f.t.Helper()
	out := map[string]string{}
	for _, o := range f.ownerships(s) {
		if o.OwnerID != "" && time.Since(o.LastModifiedTime) < 2*time.Second {
			out[o.PartitionID] = o.OwnerID
		}
	}
	return out
}

func uniqueIDs(ids []string) map[string]int {
	m := map[string]int{}
	for _, id := range ids {
		m[id]++
	}
	return m
}

// hasAll reports whether every record produced its finding at the sink.
func hasAll(got map[string]int, recs []string) bool {
	for _, r := range recs {
		if got[expectedID(r)] == 0 {
			return false
		}
	}
	return true
}

// Field report 8 (open-telemetry/opentelemetry-collector-contrib#37157): after a restart the stored checkpoint wins over the configured start (earliest); nothing is redelivered.
func TestRestartResumesAfterTheLastCheckpointWithoutRedelivery(t *testing.T) {
	f := newFixture(t, 2)
	store := f.store()
	first := append(records("p0-a", 10), records("p1-a", 10)...)
	f.publish("0", first[:10]...)
	f.publish("1", first[10:]...)

	r := start(t, f.options(store))
	eventually(t, "20 findings", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), first) })
	if err := r.stop(t); err != nil {
		t.Fatalf("Run after SIGTERM: %v", err)
	}
	if got := f.checkpoints(store); got["0"] != 9 || got["1"] != 9 {
		t.Fatalf("checkpoints after shutdown %v, want both at sequence number 9", got)
	}
	// Released, not merely expired: however long the shutdown took, every
	// claim the replica held is listed with an empty owner.
	os := f.ownerships(store)
	if len(os) != 2 {
		t.Fatalf("%d ownerships listed after shutdown, want the 2 partitions the replica claimed", len(os))
	}
	for _, o := range os {
		if o.OwnerID != "" {
			t.Errorf("partition %s still owned by %q after shutdown: its claim was not released", o.PartitionID, o.OwnerID)
		}
	}

	second := append(records("p0-b", 5), records("p1-b", 5)...)
	f.publish("0", second[:5]...)
	f.publish("1", second[5:]...)
	start(t, f.options(f.store()))
	eventually(t, "the 10 new findings", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), second) })
	ids := f.sink.FindingIDs()
	if len(ids) != 30 {
		t.Fatalf("%d findings recorded for 30 records: a restart redelivered what was checkpointed", len(ids))
	}
}

// Field report 2 (kedacore/keda#5249): starting at latest over old events, every claimed partition gets an initial checkpoint at its end, so KEDA sees no false lag.
// Field report 8 (open-telemetry/opentelemetry-collector-contrib#38487): the default start (latest) on a fresh store reads none of the events already in the hub.
func TestAPartitionWithoutCheckpointStartsAtLatestAndGetsAnInitialCheckpoint(t *testing.T) {
	f := newFixture(t, 2)
	store := f.store()
	f.publish("0", records("old0", 5)...)
	f.publish("1", records("old1", 3)...)
	opts := f.options(store)
	opts.Start = eventhubs.StartPosition{}
	start(t, opts)
	// KEDA sees the checkpoints at the ends of the partitions: lag 0.
	eventually(t, "initial checkpoints at the partition ends", func() bool {
		c := f.checkpoints(store)
		return c["0"] == 4 && c["1"] == 2
	})
	eventually(t, "both partitions read", func() bool { return len(f.owners(store)) == 2 })
	fresh := records("new0", 3)
	f.publish("0", fresh...)
	eventually(t, "the new findings", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), fresh) })
	want := map[string]bool{}
	for _, r := range fresh {
		want[expectedID(r)] = true
	}
	for _, id := range f.sink.FindingIDs() {
		if !want[id] {
			t.Fatalf("a record older than the start position was read (finding %s)", id)
		}
	}
}

// Field report 16 (open-telemetry/opentelemetry-collector-contrib#45898): the report's unparseable body is dead-lettered with its position and the partition reads on.
func TestAPoisonBodyIsDeadLetteredAndThePartitionMovesOn(t *testing.T) {
	f := newFixture(t, 1)
	store := f.store()
	bodies := records("rec", 11)
	bodies[5] = `POISON {"records":[{"time":"2024-01-01T00:00:00Z","properties":{]}`
	f.publish("0", bodies...)
	start(t, f.options(store))
	good := append(append([]string(nil), bodies[:5]...), bodies[6:]...)
	eventually(t, "every other record's finding", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), good) })
	eventually(t, "the checkpoint past the poison body", func() bool { return f.checkpoints(store)["0"] == 10 })
	dls := f.dead.DeadLetters()
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want exactly the poison body", len(dls))
	}
	d := dls[0]
	if string(d.Raw) != bodies[5] || d.Source.Partition != "0" || d.Source.SequenceNumber == nil || *d.Source.SequenceNumber != 5 || d.Source.EventHub != f.hub || d.Source.Offset == "" {
		t.Fatalf("dead letter %+v does not hold the raw poison body with hub, partition 0, sequence number 5 and offset", d)
	}
}

// Field report 7 (elastic/beats#16215): while the sink fails the checkpoint never passes an unacknowledged event, and nothing is lost after recovery.
// Field report H2 (open-telemetry/opentelemetry-collector-contrib, inferred hazard): the checkpoint waits for the sink's acknowledgement, not for the hand-over of the batch.
func TestASinkOutagePausesConsumptionHoldsTheCheckpointAndLosesNothing(t *testing.T) {
	f := newFixture(t, 1)
	store := f.store()
	opts := f.options(store)
	// A memory budget of 16 events of 1 KiB: prefetch 8, batch 8.
	opts.MaxEventBytes = 1 << 10
	opts.MemoryBudget = 16 << 10
	opts.InFlight = 2
	f.sink.SetFail(errors.New("webhook answered 503"))
	failing := &failCounter{Sink: f.sink}
	opts.Sink = failing
	recs := records("rec", 300)
	f.publish("0", recs...)
	start(t, opts)
	// While the sink fails, the worker reads only what the budget allows:
	// the batch being retried, InFlight batches queued, one batch processed
	// and waiting to queue, and the prefetch held by the link.
	prefetch, batch := eventhubs.PrefetchFor(opts.MemoryBudget, opts.MaxEventBytes, 1)
	bound := int64((opts.InFlight+2)*batch + prefetch)
	eventually(t, "the first batch processed and its delivery failing", func() bool {
		return f.proc.calls.Load() >= 1 && failing.failed.Load() >= 1
	})
	// Let a runaway consumer show itself for ten more failed deliveries: a
	// window counted in the consumer's own retries (each after a backoff of
	// at least RetryBackoff), which a loaded machine slows down as much as
	// it slows the reading.
	retried := failing.failed.Load()
	eventually(t, "ten more failed deliveries", func() bool { return failing.failed.Load() >= retried+10 })
	if n := f.proc.calls.Load(); n > bound {
		t.Fatalf("%d bodies read during the outage, more than the %d that in-flight batches and prefetch allow", n, bound)
	}
	if c, ok := f.checkpoints(store)["0"]; ok && c >= 0 {
		t.Fatalf("checkpoint moved to %d while nothing was delivered", c)
	}
	f.sink.SetFail(nil)
	eventually(t, "every finding after recovery", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), recs) })
	eventually(t, "the checkpoint at the last event", func() bool { return f.checkpoints(store)["0"] == 299 })
}

// failCounter is a sink that counts the writes that failed.
type failCounter struct {
	sink.Sink
	failed atomic.Int64
}

func (c *failCounter) Write(ctx context.Context, b sink.Batch) error {
	err := c.Sink.Write(ctx, b)
	if err != nil {
		c.failed.Add(1)
	}
	return err
}

// killable is a checkpoint store that can be made to fail every call, as
// the store of a replica that was killed: it cannot renew, checkpoint or
// release anything.
type killable struct {
	checkpoint.Store
	dead          atomic.Bool
	noCheckpoints atomic.Bool // checkpoint writes fail; claims still work
}

var errKilled = errors.New("replica killed")

func (k *killable) ClaimOwnership(ctx context.Context, os []azeventhubs.Ownership, o *azeventhubs.ClaimOwnershipOptions) ([]azeventhubs.Ownership, error) {
	if k.dead.Load() {
		return nil, errKilled
	}
	return k.Store.ClaimOwnership(ctx, os, o)
}

func (k *killable) ListOwnership(ctx context.Context, ns, hub, cg string, o *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	if k.dead.Load() {
		return nil, errKilled
	}
	return k.Store.ListOwnership(ctx, ns, hub, cg, o)
}

func (k *killable) SetCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint, o *azeventhubs.SetCheckpointOptions) error {
	if k.dead.Load() || k.noCheckpoints.Load() {
		return errKilled
	}
	return k.Store.SetCheckpoint(ctx, cp, o)
}

// Field report 13 (Azure/azure-sdk-for-net#17651): a rebalance (close, kill) redelivers at most the uncheckpointed window, each duplicate with its record's findingId.
func TestThreeReplicasShareEightPartitionsAndSurviveACloseAndAKill(t *testing.T) {
	f := newFixture(t, 8)
	watch := f.store()
	var stores []*killable
	var reps []*running
	for i := 0; i < 3; i++ {
		k := &killable{Store: f.store()}
		stores = append(stores, k)
		opts := f.options(k)
		opts.ClientOptions.InstanceID = fmt.Sprintf("replica-%d", i)
		reps = append(reps, start(t, opts))
	}
	var sent []string
	send := func(round string) {
		for p := 0; p < 8; p++ {
			recs := records(fmt.Sprintf("%s-p%d", round, p), 10)
			f.publish(fmt.Sprint(p), recs...)
			sent = append(sent, recs...)
		}
	}
	send("a")
	eventually(t, "every partition owned by one of three balanced replicas, each read by exactly one link", func() bool {
		o := f.owners(watch)
		if len(o) != 8 {
			return false
		}
		per := map[string]int{}
		for _, id := range o {
			per[id]++
		}
		if len(per) != 3 {
			return false
		}
		for _, n := range per {
			if n < 2 || n > 3 {
				return false
			}
		}
		for p := 0; p < 8; p++ {
			st, err := f.srv.PartitionState(f.hub, fmt.Sprint(p))
			if err != nil || len(st.Receivers) != 1 {
				return false
			}
		}
		return true
	})
	eventually(t, "round a delivered", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), sent) })

	// Close replica 0 (SIGTERM): it releases its partitions.
	if err := reps[0].stop(t); err != nil {
		t.Fatal(err)
	}
	send("b")
	eventually(t, "the two survivors own all 8", func() bool {
		o := f.owners(watch)
		for _, id := range o {
			if id == "replica-0" {
				return false
			}
		}
		return len(o) == 8
	})
	eventually(t, "round b delivered", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), sent) })

	// Replica 1 keeps reading and delivering but its checkpoints stop
	// landing; then it is killed: no release, no final checkpoint.
	stores[1].noCheckpoints.Store(true)
	before := len(f.sink.FindingIDs())
	roundC := len(sent)
	send("c")
	roundC = len(sent) - roundC
	eventually(t, "round c delivered", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), sent) })
	stores[1].dead.Store(true)
	// Stopping takes up to ShutdownTimeout, which is no part of the
	// ownership protocol: time the hand-over from when the replica is gone.
	reps[1].stop(t)
	gone := time.Now()
	eventually(t, "replica 2 owns all 8", func() bool {
		o := f.owners(watch)
		for _, id := range o {
			if id != "replica-2" {
				return false
			}
		}
		return len(o) == 8
	})
	// Functional protocol check: the partitions moved once the dead
	// replica's claims expired, within update intervals after.
	opts := f.options(watch)
	if took, budget := time.Since(gone), opts.OwnershipExpiry+40*opts.UpdateInterval; took > budget {
		t.Errorf("partitions of the killed replica moved %s after it was gone, beyond the %s ownership expiry plus 40 update intervals of %s",
			took, opts.OwnershipExpiry, opts.UpdateInterval)
	}
	// Replica 2 reads replica 1's uncheckpointed window again.
	eventually(t, "the uncheckpointed window redelivered", func() bool { return len(f.sink.FindingIDs())-before > roundC })
	if redelivered := len(f.sink.FindingIDs()) - before - roundC; redelivered > roundC {
		t.Errorf("%d findings redelivered, more than the %d records of the uncheckpointed window", redelivered, roundC)
	}

	got := uniqueIDs(f.sink.FindingIDs())
	want := map[string]bool{}
	for _, r := range sent {
		want[expectedID(r)] = true
	}
	dups := 0
	for id, n := range got {
		if !want[id] {
			t.Fatalf("finding %s matches no record sent", id)
		}
		dups += n - 1
	}
	t.Logf("%d records, %d findings delivered, %d duplicates (each with its record's findingId)", len(sent), len(f.sink.FindingIDs()), dups)
}

// partitionStatus returns the readiness of the component that reports on one partition.
func partitionStatus(h *ops.Health, hub, part string) (ops.ComponentStatus, bool) {
	for _, c := range h.Readiness().Components {
		if c.Name == "partition "+hub+"/"+part {
			return c, true
		}
	}
	return ops.ComponentStatus{}, false
}

func stuckOnReadyz(h *ops.Health, part string) bool {
	for _, s := range h.Readiness().Stuck {
		if s.Partition == part {
			return true
		}
	}
	return false
}

// Field report 14 (Azure/azure-sdk-for-go#23282): a partition receiving nothing while it has lag is reported on /readyz and reopened, and its events then read.
func TestAStuckPartitionIsReportedAndReopened(t *testing.T) {
	f := newFixture(t, 1)
	store := f.store()
	opts := f.options(store)
	opts.StuckAfter = 400 * time.Millisecond
	h := ops.NewHealth(ops.HealthOptions{})
	opts.Health = h
	first := records("a", 3)
	f.publish("0", first...)
	start(t, opts)
	eventually(t, "the first findings", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), first) })
	if err := f.srv.StallPartition(f.hub, "0", true); err != nil {
		t.Fatal(err)
	}
	more := records("b", 3)
	f.publish("0", more...)
	eventually(t, "the partition stuck on /readyz", func() bool { return stuckOnReadyz(h, "0") })
	if err := f.srv.StallPartition(f.hub, "0", false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the held records after the partition was reopened", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), more) })
	eventually(t, "/readyz clear once events flow again", func() bool { return !stuckOnReadyz(h, "0") })
}

func TestPartitionsAddedToAHubAreReadWithoutARestart(t *testing.T) {
	f := newFixture(t, 2)
	store := f.store()
	start(t, f.options(store))
	eventually(t, "both partitions owned", func() bool { return len(f.owners(store)) == 2 })
	if err := f.srv.AddPartitions(f.hub, 2); err != nil {
		t.Fatal(err)
	}
	recs := records("p3", 4)
	f.publish("3", recs...)
	eventually(t, "the new partition's findings", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), recs) })
}

func TestACheckpointBeyondTheEndIsReportedAndNeverRewound(t *testing.T) {
	f := newFixture(t, 2)
	store := f.store()
	f.publish("0", records("p0", 3)...)
	p1 := records("p1", 3)
	f.publish("1", p1...)
	// The hub was recreated: the stored checkpoint is past its end.
	cp := azeventhubs.Checkpoint{FullyQualifiedNamespace: f.srv.Namespace(), EventHubName: f.hub, ConsumerGroup: azeventhubs.DefaultConsumerGroup, PartitionID: "0", SequenceNumber: to.Ptr(int64(500)), Offset: to.Ptr("99999")}
	if err := store.ResetCheckpoint(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	opts := f.options(store)
	h := ops.NewHealth(ops.HealthOptions{FailAfter: 2})
	opts.Health = h
	start(t, opts)
	eventually(t, "partition 1 read", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), p1) })
	eventually(t, "/readyz failing with the beyond-the-end error", func() bool {
		c, ok := partitionStatus(h, f.hub, "0")
		return ok && !c.Healthy && strings.Contains(c.LastError, "beyond the partition's last event") && !h.Readiness().Ready
	})
	// Two health reports after the new events: between them the worker
	// looked at the partition again, its end now at the new events, and
	// still held it.
	checked, _ := partitionStatus(h, f.hub, "0")
	f.publish("0", records("later", 2)...)
	eventually(t, "the held partition checked again after new events", func() bool {
		c, _ := partitionStatus(h, f.hub, "0")
		return c.Healthy || c.Failures >= checked.Failures+2
	})
	if got := f.checkpoints(store)["0"]; got != 500 {
		t.Fatalf("checkpoint of partition 0 moved to %d without an operator", got)
	}
	for _, fd := range f.sink.Batches() {
		if fd.Range.Partition == "0" {
			t.Fatalf("partition 0 was read from a checkpoint beyond its end: %+v", fd.Range)
		}
	}
	// The operator resets it; the partition is read from the beginning.
	cp.SequenceNumber, cp.Offset = to.Ptr(int64(-1)), nil
	if err := store.ResetCheckpoint(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	eventually(t, "partition 0 read after the reset", func() bool {
		return hasAll(uniqueIDs(f.sink.FindingIDs()), append(records("p0", 3), records("later", 2)...))
	})
	if c, _ := partitionStatus(h, f.hub, "0"); !c.Healthy {
		t.Errorf("partition 0 still unhealthy after the reset: %+v", c)
	}
}

// countingStore counts checkpoint writes.
type countingStore struct {
	checkpoint.Store
	writes atomic.Int64
}

func (c *countingStore) SetCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint, o *azeventhubs.SetCheckpointOptions) error {
	c.writes.Add(1)
	return c.Store.SetCheckpoint(ctx, cp, o)
}

// Field report 6 (Azure/azure-webjobs-sdk#870): empty receives on an idle partition write no checkpoint, so it cannot be reset to 0.
func TestAnIdlePartitionIsNeverCheckpointedAgain(t *testing.T) {
	f := newFixture(t, 1)
	store := &countingStore{Store: f.store()}
	recs := records("rec", 3)
	f.publish("0", recs...)
	start(t, f.options(store))
	eventually(t, "the checkpoint at the last event", func() bool { return f.checkpoints(store)["0"] == 2 })
	before := store.writes.Load()
	// The checkpointer reports the checkpoint's age each time it considers
	// writing: wait until it has considered it several checkpoint intervals
	// (and many empty receives) after the last write. An empty batch is
	// never written.
	opts := f.options(store)
	quiet := 5 * max(opts.CheckpointInterval, opts.ReceiveWait)
	eventually(t, "the checkpoint considered "+quiet.String()+" after its last write", func() bool {
		age := testutil.ToFloat64(metrics.CheckpointAge.WithLabelValues(f.hub, "0"))
		return store.writes.Load() != before || time.Duration(age*float64(time.Second)) >= quiet
	})
	if after := store.writes.Load(); after != before {
		t.Fatalf("%d checkpoint writes on an idle partition", after-before)
	}
	if got := f.checkpoints(store)["0"]; got != 2 {
		t.Fatalf("checkpoint moved to %d on an idle partition", got)
	}
}

// Field report 25 (elastic/beats#43715): a connection string with EntityPath plus the same configured hub is accepted and read.
func TestAConnectionStringWithEntityPathReadsItsHub(t *testing.T) {
	f := newFixture(t, 1)
	opts := f.options(f.store())
	opts.ConnectionString = f.srv.ConnectionString(f.hub)
	recs := records("ep", 2)
	f.publish("0", recs...)
	start(t, opts)
	eventually(t, "findings through an EntityPath connection string", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), recs) })
}

// Field report 25 (elastic/beats#43715): an EntityPath that differs from the configured hub fails at start naming both.
func TestAConnectionStringForAnotherHubIsAnErrorAtStart(t *testing.T) {
	f := newFixture(t, 1)
	opts := f.options(f.store())
	opts.ConnectionString = f.srv.ConnectionString("insights-logs-auditlogs")
	c, err := eventhubs.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `EntityPath "insights-logs-auditlogs" differs from hub "insights-logs-signinlogs"`) {
		t.Fatalf("Run: %v, want the EntityPath mismatch named", err)
	}
}

func TestTheLocalDirectoryStoreServesTwoReplicas(t *testing.T) {
	f := newFixture(t, 4)
	dir := t.TempDir()
	newStore := func() checkpoint.Store {
		s, err := file.New(dir, file.Options{OwnershipExpiry: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	watch := newStore()
	for i := 0; i < 2; i++ {
		opts := f.options(newStore())
		opts.ClientOptions.InstanceID = fmt.Sprintf("local-%d", i)
		start(t, opts)
	}
	var sent []string
	for p := 0; p < 4; p++ {
		recs := records(fmt.Sprintf("dir-p%d", p), 5)
		f.publish(fmt.Sprint(p), recs...)
		sent = append(sent, recs...)
	}
	eventually(t, "every finding", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), sent) })
	eventually(t, "two replicas with two partitions each", func() bool {
		per := map[string]int{}
		for _, o := range f.owners(watch) {
			per[o]++
		}
		return per["local-0"] == 2 && per["local-1"] == 2
	})
	eventually(t, "every partition checkpointed at its last event", func() bool {
		c := f.checkpoints(watch)
		return c["0"] == 4 && c["1"] == 4 && c["2"] == 4 && c["3"] == 4
	})
}
