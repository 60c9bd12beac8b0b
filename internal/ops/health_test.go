package ops

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamhunt/streamhunt/internal/metrics"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

var errUnreachable = errors.New("dial tcp: connection refused")

// Field report 15 (elastic/integrations#9659): readiness fails after a streak of errors after start, and does not flap on one transient error.
func TestReadinessFollowsComponentReports(t *testing.T) {
	type step struct {
		advance time.Duration
		report  error // reported to "checkpoint-store" after advancing
	}
	tests := []struct {
		name      string
		steps     []step
		wantReady bool
	}{
		{"a replica that reached both components is ready", nil, true},
		{"a single transient error does not make it unready", []step{{0, errUnreachable}}, true},
		{"two errors in a row are still tolerated", []step{{0, errUnreachable}, {time.Second, errUnreachable}}, true},
		{"three errors in a row make it unready", []step{{0, errUnreachable}, {time.Second, errUnreachable}, {time.Second, errUnreachable}}, false},
		{"a success in between ends the failure streak", []step{{0, errUnreachable}, {time.Second, errUnreachable}, {time.Second, nil}, {time.Second, errUnreachable}}, true},
		{"an error answered by a success a window later leaves it ready", []step{{0, errUnreachable}, {time.Minute, nil}}, true},
		{"a failure still unanswered after the window makes it unready", []step{{0, errUnreachable}, {59 * time.Second, errUnreachable}, {time.Second, nil}, {0, errUnreachable}, {time.Minute, errUnreachable}}, false},
		{"recovery after an outage makes it ready again", []step{{0, errUnreachable}, {0, errUnreachable}, {0, errUnreachable}, {time.Second, nil}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			h := NewHealth(HealthOptions{FailAfter: 3, FailWindow: time.Minute, Now: clock.Now,
				Require: []string{ComponentEventHubs, ComponentCheckpointStore}})
			h.Report(ComponentEventHubs, nil)
			h.Report(ComponentCheckpointStore, nil)
			for _, s := range tt.steps {
				clock.Advance(s.advance)
				h.Report(ComponentCheckpointStore, s.report)
			}
			if got := h.Readiness(); got.Ready != tt.wantReady {
				t.Errorf("ready = %v, want %v (%+v)", got.Ready, tt.wantReady, got)
			}
		})
	}
}

// Field report 15 (elastic/integrations#9659): a failure lasting the window with no report after it (a stopped worker) makes the replica unready.
func TestFailureLastingTheWindowWithoutNewReportsMakesItUnready(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	h := NewHealth(HealthOptions{FailWindow: 30 * time.Second, Now: clock.Now})
	h.Report("sink-webhook", nil)
	h.Report("sink-webhook", errUnreachable)
	if !h.Readiness().Ready {
		t.Fatal("unready right after one error")
	}
	clock.Advance(30 * time.Second)
	r := h.Readiness()
	if r.Ready {
		t.Fatal("still ready after the failure lasted the whole window")
	}
	if c := r.Components[0]; c.Name != "sink-webhook" || c.LastError != errUnreachable.Error() || c.FailingFor != "30s" {
		t.Errorf("component status = %+v", c)
	}
}

func TestRequiredComponentsMustSucceedOnceBeforeReady(t *testing.T) {
	h := NewHealth(HealthOptions{Require: []string{ComponentEventHubs, ComponentCheckpointStore}})
	r := h.Readiness()
	if r.Ready || len(r.Components) != 2 || !r.Components[0].Waiting || !r.Components[1].Waiting {
		t.Fatalf("a replica that reached nothing should be waiting and unready: %+v", r)
	}
	h.Report(ComponentEventHubs, nil)
	h.Report(ComponentCheckpointStore, errUnreachable)
	if h.Readiness().Ready {
		t.Fatal("ready although the checkpoint store was never reached")
	}
	h.Report(ComponentCheckpointStore, nil)
	if r := h.Readiness(); !r.Ready {
		t.Fatalf("unready after both components answered: %+v", r)
	}
}

// Field report 14 (Azure/azure-sdk-for-go#23282): a stuck partition fails readiness and sets the stuck gauge until it moves.
func TestAStuckPartitionMakesItUnreadyUntilItMoves(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	h := NewHealth(HealthOptions{Now: clock.Now})
	h.SetStuck("insights-logs-signinlogs", "3", true)
	clock.Advance(90 * time.Second)
	h.SetStuck("insights-logs-signinlogs", "3", true) // repeated: keeps the first time
	r := h.Readiness()
	if r.Ready || len(r.Stuck) != 1 || r.Stuck[0] != (StuckPartition{"insights-logs-signinlogs", "3", "1m30s"}) {
		t.Fatalf("readiness = %+v", r)
	}
	if v := testutil.ToFloat64(metrics.StuckPartitions.WithLabelValues("insights-logs-signinlogs", "3")); v != 1 {
		t.Errorf("streamhunt_partition_stuck = %v, want 1", v)
	}
	h.SetStuck("insights-logs-signinlogs", "3", false)
	if r := h.Readiness(); !r.Ready {
		t.Errorf("still unready after the partition moved: %+v", r)
	}
	if v := testutil.ToFloat64(metrics.StuckPartitions.WithLabelValues("insights-logs-signinlogs", "3")); v != 0 {
		t.Errorf("streamhunt_partition_stuck = %v, want 0", v)
	}
}

func TestHealthOptionsFromConfigRequireTheHubAndTheCheckpointStore(t *testing.T) {
	o := HealthOptionsFrom(Config{FailAfter: 7, FailWindow: 2 * time.Minute})
	if o.FailAfter != 7 || o.FailWindow != 2*time.Minute || len(o.Require) != 2 {
		t.Errorf("options = %+v", o)
	}
}

func TestConcurrentReportsSettleOnTheLastOutcomeOfEachComponent(t *testing.T) {
	h := NewHealth(HealthOptions{FailAfter: 1, Require: []string{ComponentEventHubs}})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				h.Report(ComponentEventHubs, errUnreachable)
				h.SetStuck("insights-logs-signinlogs", strconv.Itoa(g), i%2 == 0)
				_ = h.Readiness()
				h.Report(ComponentEventHubs, nil)
			}
			h.SetStuck("insights-logs-signinlogs", strconv.Itoa(g), false)
		}(g)
	}
	wg.Wait()
	h.Report(ComponentEventHubs, nil)
	if r := h.Readiness(); !r.Ready || len(r.Stuck) != 0 {
		t.Errorf("after every goroutine reported success and unstuck its partition: %+v", r)
	}
}
