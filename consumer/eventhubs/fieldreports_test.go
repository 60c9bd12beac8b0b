package eventhubs_test

// Tests that reproduce failures reported against peer Event Hubs consumers
// (docs/field-reports.md) which no other test of this package reproduced.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamhunt/streamhunt/checkpoint"
	"github.com/streamhunt/streamhunt/consumer/eventhubs"
	"github.com/streamhunt/streamhunt/internal/ehtest"
	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/ops"
	"github.com/streamhunt/streamhunt/pipeline"
)

// onePartitionReader reports whether every partition of the hub is read by
// exactly one link and owned by one of the given owners.
func (f *fixture) onePartitionReader(watch checkpoint.Store, partitions int, owners ...string) bool {
	o := f.owners(watch)
	if len(o) != partitions {
		return false
	}
	for p := 0; p < partitions; p++ {
		st, err := f.srv.PartitionState(f.hub, strconv.Itoa(p))
		if err != nil || len(st.Receivers) != 1 {
			return false
		}
		ok := false
		for _, w := range owners {
			ok = ok || o[strconv.Itoa(p)] == w
		}
		if !ok {
			return false
		}
	}
	return true
}

// publishRound publishes n records to every partition and returns them.
func (f *fixture) publishRound(round string, partitions, n int) []string {
	var all []string
	for p := 0; p < partitions; p++ {
		recs := records(fmt.Sprintf("%s-p%d", round, p), n)
		f.publish(strconv.Itoa(p), recs...)
		all = append(all, recs...)
	}
	return all
}

// deliveredOnce fails the test when a record's finding reached the sink more
// than once.
func deliveredOnce(t *testing.T, got map[string]int, recs []string) {
	t.Helper()
	for _, r := range recs {
		if n := got[expectedID(r)]; n != 1 {
			t.Errorf("record %s delivered %d times, want once", r, n)
		}
	}
}

// Field report 7 (elastic/beats#16215): a sink fails while events flow, the consumer restarts; what the sink never acknowledged is read and delivered again.
func TestFindingsNoSinkAcknowledgedAreReadAgainAfterARestart(t *testing.T) {
	f := newFixture(t, 1)
	store := f.store()
	opts := f.options(store)
	opts.ShutdownTimeout = 300 * time.Millisecond
	delivered := records("ok", 3)
	f.publish("0", delivered...)
	r := start(t, opts)
	eventually(t, "the first findings and their checkpoint", func() bool {
		return hasAll(uniqueIDs(f.sink.FindingIDs()), delivered) && f.checkpoints(store)["0"] == 2
	})

	f.sink.SetFail(errors.New("Log Analytics answered 503"))
	held := records("held", 5)
	f.publish("0", held...)
	eventually(t, "the held bodies processed", func() bool { return f.proc.calls.Load() >= int64(len(delivered)+len(held)) })
	if err := r.stop(t); err != nil {
		t.Fatalf("Run after SIGTERM: %v", err)
	}
	if got := f.checkpoints(store)["0"]; got != 2 {
		t.Fatalf("checkpoint at %d after a shutdown with nothing acknowledged past sequence number 2", got)
	}

	f.sink.SetFail(nil)
	start(t, f.options(f.store()))
	eventually(t, "the held findings after the restart", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), held) })
	eventually(t, "the checkpoint at the last event", func() bool { return f.checkpoints(store)["0"] == 7 })
	deliveredOnce(t, uniqueIDs(f.sink.FindingIDs()), append(delivered, held...))
}

// Field report 8 (open-telemetry/opentelemetry-collector-contrib#37157): a start time applies without a checkpoint; after a restart the checkpoint wins over it.
func TestAStartTimeAppliesOnlyToAPartitionWithoutACheckpoint(t *testing.T) {
	// The server's clock stamps the enqueued times: "before" one second
	// before the start time, "after" and "more" one second after it.
	at := time.Now().UTC().Truncate(time.Second)
	clock := &serverClock{t: at.Add(-time.Second)}
	f := newFixtureWith(t, 1, ehtest.Options{Now: clock.Now})
	store := f.store()
	before := records("before", 3)
	f.publish("0", before...)
	clock.Set(at.Add(time.Second))
	after := records("after", 3)
	f.publish("0", after...)

	opts := f.options(store)
	opts.Start = eventhubs.StartPosition{Time: at}
	r := start(t, opts)
	eventually(t, "the records enqueued after the start time", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), after) })
	eventually(t, "the checkpoint at the last event", func() bool { return f.checkpoints(store)["0"] == 5 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	more := records("more", 2)
	f.publish("0", more...)
	// Restarted with the same start time: the checkpoint wins.
	start(t, opts)
	eventually(t, "the records published while stopped", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), more) })
	got := uniqueIDs(f.sink.FindingIDs())
	for _, r := range before {
		if got[expectedID(r)] != 0 {
			t.Errorf("record %s, enqueued before the start time, was read", r)
		}
	}
	deliveredOnce(t, got, append(after, more...))
}

// serverClock is a settable clock for the test server's enqueued times.
type serverClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *serverClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *serverClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// stallable is a checkpoint store whose ownership calls can be made to hang
// until their context ends, as a storage round-trip that stalls for minutes.
type stallable struct {
	checkpoint.Store
	stalled atomic.Bool
	mu      sync.Mutex
	longest time.Duration
	stalls  int
}

func (s *stallable) stall(ctx context.Context) error {
	began := time.Now()
	<-ctx.Done()
	s.mu.Lock()
	s.longest = max(s.longest, time.Since(began))
	s.stalls++
	s.mu.Unlock()
	return ctx.Err()
}

func (s *stallable) ListOwnership(ctx context.Context, ns, hub, cg string, o *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	if s.stalled.Load() {
		return nil, s.stall(ctx)
	}
	return s.Store.ListOwnership(ctx, ns, hub, cg, o)
}

func (s *stallable) ClaimOwnership(ctx context.Context, os []azeventhubs.Ownership, o *azeventhubs.ClaimOwnershipOptions) ([]azeventhubs.Ownership, error) {
	if s.stalled.Load() {
		return nil, s.stall(ctx)
	}
	return s.Store.ClaimOwnership(ctx, os, o)
}

// Field report 9 (Azure/azure-sdk-for-go#22487): ownership calls that stall are cut short within the expiry and the stalled replica stops reading; no event is read twice.
func TestAStalledOwnershipCallIsCutShortAndTheStalledReplicaStopsReading(t *testing.T) {
	f := newFixture(t, 4)
	watch := f.store()
	stalled := &stallable{Store: f.store()}
	a := f.options(stalled)
	a.ClientOptions.InstanceID = "stalled"
	b := f.options(f.store())
	b.ClientOptions.InstanceID = "healthy"
	start(t, a)
	start(t, b)
	eventually(t, "two partitions each", func() bool {
		per := map[string]int{}
		for _, o := range f.owners(watch) {
			per[o]++
		}
		return per["stalled"] == 2 && per["healthy"] == 2
	})
	first := f.publishRound("a", 4, 5)
	eventually(t, "round a delivered", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), first) })

	stalled.stalled.Store(true)
	eventually(t, "the healthy replica owns and alone reads every partition", func() bool {
		return f.onePartitionReader(watch, 4, "healthy")
	})
	second := f.publishRound("b", 4, 10)
	eventually(t, "round b delivered", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), second) })
	deliveredOnce(t, uniqueIDs(f.sink.FindingIDs()), second)
	stalled.mu.Lock()
	longest, stalls := stalled.longest, stalled.stalls
	stalled.mu.Unlock()
	if stalls == 0 || longest >= a.OwnershipExpiry {
		t.Errorf("%d stalled ownership calls, the longest held for %s: a call must give up well within the %s ownership expiry",
			stalls, longest, a.OwnershipExpiry)
	}
}

// Field report 10 (Azure/azure-sdk-for-go#22666): the first replica stops reading what a later one took, so no event is processed twice.
// Field report 11 (Azure/azure-sdk-for-go#22097): a replica joining while another owns every partition claims its half.
func TestAReplicaJoiningLaterTakesHalfThePartitionsAndNothingIsReadTwice(t *testing.T) {
	f := newFixture(t, 4)
	watch := f.store()
	first := f.options(f.store())
	first.ClientOptions.InstanceID = "first"
	start(t, first)
	eventually(t, "the first replica owns and reads all 4", func() bool { return f.onePartitionReader(watch, 4, "first") })
	early := f.publishRound("early", 4, 5)
	eventually(t, "the early round delivered", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), early) })

	second := f.options(f.store())
	second.ClientOptions.InstanceID = "second"
	start(t, second)
	eventually(t, "two partitions each, each read by one link", func() bool {
		per := map[string]int{}
		for _, o := range f.owners(watch) {
			per[o]++
		}
		return per["first"] == 2 && per["second"] == 2 && f.onePartitionReader(watch, 4, "first", "second")
	})
	late := f.publishRound("late", 4, 25)
	eventually(t, "the late round delivered", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), late) })
	// Every body processed and every partition checkpointed at its last
	// event, each still read by one link: a replica that read a partition
	// twice has processed a body twice by now.
	bodies := int64(len(early) + len(late))
	eventually(t, "every body processed and every partition checkpointed at its end", func() bool {
		c := f.checkpoints(watch)
		return f.proc.calls.Load() >= bodies && c["0"] == 29 && c["1"] == 29 && c["2"] == 29 && c["3"] == 29 &&
			f.onePartitionReader(watch, 4, "first", "second")
	})
	if n := f.proc.calls.Load(); n != bodies {
		t.Errorf("%d bodies processed for %d published: a partition was read twice", n, bodies)
	}
	deliveredOnce(t, uniqueIDs(f.sink.FindingIDs()), append(early, late...))
}

// Field report 14 (Azure/azure-sdk-for-go#23282): after a dropped connection whose reconnect takes 15 receive waits, partitions resume by themselves.
func TestPartitionsResumeAfterAnOutageLongerThanTheReceiveWait(t *testing.T) {
	f := newFixture(t, 2)
	store := f.store()
	opts := f.options(store) // ReceiveWait 100ms; StuckAfter 1m keeps the watchdog out of it
	first := f.publishRound("a", 2, 3)
	start(t, opts)
	eventually(t, "round a delivered", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), first) })

	// The connection dies; every reconnect (attach and token exchange)
	// answers only after 15 receive waits.
	outage := 15 * opts.ReceiveWait
	f.srv.SetResponseDelay(outage)
	dropped := time.Now()
	f.srv.DropConnections()
	during := f.publishRound("b", 2, 3)
	receivers := func() int {
		n := 0
		for p := 0; p < 2; p++ {
			st, err := f.srv.PartitionState(f.hub, strconv.Itoa(p))
			if err != nil {
				t.Fatal(err)
			}
			n += len(st.Receivers)
		}
		return n
	}
	// The failure took: the consumer is connected again, but with its
	// replies held back no receiver is attached to either partition.
	eventually(t, "the consumer reconnecting with no receiver attached", func() bool {
		return f.srv.Connections() > 0 && receivers() == 0
	})
	// The outage lasts 15 receive waits at least: a receiver needs two
	// delayed replies (token, then attach) before the server registers it.
	time.Sleep(outage - time.Since(dropped))
	if n := receivers(); n != 0 {
		t.Fatalf("%d receivers attached within %s of the drop: the injected delay did not take", n, outage)
	}
	if got := uniqueIDs(f.sink.FindingIDs()); got[expectedID(during[0])] != 0 || got[expectedID(during[3])] != 0 {
		t.Fatal("records delivered during the outage: the injected failure did not take")
	}
	f.srv.SetResponseDelay(0)
	eventually(t, "the records published during the outage", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), during) })
	after := f.publishRound("c", 2, 3)
	eventually(t, "the records published after it", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), after) })
	eventually(t, "both checkpoints at the last event", func() bool {
		c := f.checkpoints(store)
		return c["0"] == 8 && c["1"] == 8
	})
}

func componentStatus(h *ops.Health, name string) (ops.ComponentStatus, bool) {
	for _, c := range h.Readiness().Components {
		if c.Name == name {
			return c, true
		}
	}
	return ops.ComponentStatus{}, false
}

// Field report 15 (elastic/integrations#9659): the checkpoint store lost after a healthy start fails /readyz and counts restarts; readiness returns with the store.
func TestACheckpointStoreLostAfterStartMakesTheReplicaUnreadyUntilItRecovers(t *testing.T) {
	f := newFixture(t, 2)
	k := &killable{Store: f.store()}
	opts := f.options(k)
	h := ops.NewHealth(ops.HealthOptions{FailAfter: 3, FailWindow: time.Minute,
		Require: []string{ops.ComponentEventHubs, ops.ComponentCheckpointStore}})
	opts.Health = h
	first := f.publishRound("a", 2, 3)
	start(t, opts)
	eventually(t, "round a delivered and the replica ready", func() bool {
		return hasAll(uniqueIDs(f.sink.FindingIDs()), first) && h.Readiness().Ready
	})
	restarts := testutil.ToFloat64(metrics.ProcessorRestarts.WithLabelValues(f.hub, "processor-error"))

	k.dead.Store(true) // the storage SAS is revoked
	eventually(t, "/readyz failing on the checkpoint store", func() bool {
		c, ok := componentStatus(h, ops.ComponentCheckpointStore)
		return ok && !c.Healthy && strings.Contains(c.LastError, errKilled.Error()) && !h.Readiness().Ready
	})
	if got := testutil.ToFloat64(metrics.ProcessorRestarts.WithLabelValues(f.hub, "processor-error")) - restarts; got < 1 {
		t.Errorf("processor_restarts_total{reason=processor-error} rose by %v while the store failed", got)
	}

	k.dead.Store(false)
	second := f.publishRound("b", 2, 3)
	eventually(t, "round b delivered and the replica ready again", func() bool {
		return hasAll(uniqueIDs(f.sink.FindingIDs()), second) && h.Readiness().Ready
	})
}

// kedaUnprocessed computes what KEDA's azure-eventhub scaler with
// checkpointStrategy blobMetadata computes for one partition (kedacore/keda
// pkg/scalers/azure_eventhub_scaler.go, azeventhubs-based, v2.17): 0 for an
// empty partition; without a checkpoint blob every retained event; else the
// last enqueued sequence number minus the checkpoint's. found reports whether
// the checkpoint blob was where KEDA looks.
func (f *fixture) kedaUnprocessed(t *testing.T, cons *azeventhubs.ConsumerClient, partition string) (n int64, found bool) {
	t.Helper()
	ctx := context.Background()
	p, err := cons.GetPartitionProperties(ctx, partition, nil)
	if err != nil {
		t.Fatal(err)
	}
	// KEDA's blob path: <namespace host>/<hub>/<lower(consumer group)>/checkpoint/<partition>.
	name := fmt.Sprintf("%s/%s/%s/checkpoint/%s", f.srv.Namespace(), f.hub, strings.ToLower(azeventhubs.DefaultConsumerGroup), partition)
	props, err := f.container.ServiceClient().NewContainerClient(f.cname).NewBlobClient(name).GetProperties(ctx, nil)
	found = err == nil
	if p.LastEnqueuedSequenceNumber == -1 {
		return 0, found
	}
	if !found {
		return p.LastEnqueuedSequenceNumber - p.BeginningSequenceNumber + 1, false
	}
	var seq int64 = -2
	for k, v := range props.Metadata {
		if strings.EqualFold(k, "sequencenumber") && v != nil {
			seq, _ = strconv.ParseInt(*v, 10, 64)
		}
	}
	if seq == -2 {
		t.Fatalf("checkpoint blob %s has no sequencenumber metadata: %v", name, props.Metadata)
	}
	return p.LastEnqueuedSequenceNumber - seq, true
}

// Field report 2 (kedacore/keda#5249): with old events on some partitions and a latest start, KEDA's arithmetic on our blobs counts no backlog.
// Field report 3 (microsoft/azure-container-apps#972): KEDA's blobMetadata count of undelivered events falls to 0 after catch-up.
// Field report 4 (kedacore/keda#797): on a new hub and an empty container every partition gets a blob where KEDA looks, and new events count.
func TestKEDACountsTheTrueBacklogFromAFreshContainerToCatchUp(t *testing.T) {
	f := newFixture(t, 4)
	store := f.store()
	f.publish("1", records("old1", 50)...) // retained before streamhunt starts
	f.publish("2", records("old2", 30)...)
	cons, err := azeventhubs.NewConsumerClientFromConnectionString(f.srv.ConnectionString(f.hub), "", azeventhubs.DefaultConsumerGroup,
		&azeventhubs.ConsumerClientOptions{RetryOptions: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close(context.Background())
	keda := func() (total int64, blobs int) {
		for p := 0; p < 4; p++ {
			n, found := f.kedaUnprocessed(t, cons, strconv.Itoa(p))
			total += n
			if found {
				blobs++
			}
		}
		return total, blobs
	}

	opts := f.options(store)
	opts.Start = eventhubs.StartPosition{} // latest
	f.sink.SetFail(errors.New("webhook answered 503"))
	start(t, opts)
	eventually(t, "a checkpoint blob where KEDA looks for every partition, and no backlog", func() bool {
		total, blobs := keda()
		return blobs == 4 && total == 0
	})
	fresh := records("new0", 100)
	f.publish("0", fresh...)
	eventually(t, "KEDA counting the 100 undelivered events", func() bool { total, _ := keda(); return total == 100 })
	f.sink.SetFail(nil)
	eventually(t, "the new findings delivered", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), fresh) })
	eventually(t, "KEDA counting nothing after catch-up", func() bool { total, _ := keda(); return total == 0 })
}

// Field report H1 (elastic/beats, inferred hazard): bodies that decode to no sign-in record (nothing to acknowledge) still move the checkpoint of an idle partition.
func TestBodiesWithoutSignInRecordsStillMoveTheCheckpoint(t *testing.T) {
	f := newFixture(t, 1)
	store := f.store()
	p, err := pipeline.New(nil, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := f.options(store)
	var records atomic.Int64
	opts.Processor = eventhubs.ProcessorFunc(func(body []byte, src pipeline.Source) eventhubs.Result {
		r := p.Process(pipeline.Event{Body: body, Source: src})
		records.Add(int64(r.Records))
		return eventhubs.Result{Findings: r.Findings, DeadLetters: r.DeadLetters, Records: r.Records}
	})
	f.publish("0",
		`{"records":[]}`,
		`{"records":[{"time":"2026-03-01T12:00:00Z","category":"AuditLogs","operationName":"Add member to group","properties":{"id":"audit-1"}}]}`,
		`{"records":[]}`,
	)
	start(t, opts)
	eventually(t, "the checkpoint at the last body", func() bool { return f.checkpoints(store)["0"] == 2 })
	if n := records.Load(); n != 1 {
		t.Errorf("%d records decoded, want the one audit record (counted, not evaluated)", n)
	}
	if dls := f.dead.DeadLetters(); len(dls) != 0 {
		t.Errorf("dead letters %+v for bodies that are valid", dls)
	}
	if b := f.sink.Batches(); len(b) != 0 {
		t.Errorf("sink got %d batches from bodies without findings", len(b))
	}
}
