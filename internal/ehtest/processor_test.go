package ehtest_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/checkpoints"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/streamhunt/streamhunt/internal/ehtest"
	"github.com/streamhunt/streamhunt/internal/testenv"
)

// blobStore returns a checkpoint store in a fresh Azurite container named
// after the test.
func blobStore(t *testing.T) *checkpoints.BlobStore {
	t.Helper()
	name := strings.ToLower(regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), ""))
	if len(name) > 50 {
		name = name[:50]
	}
	name = fmt.Sprintf("%s%d", name, time.Now().UnixNano()%1e6)
	cc, err := container.NewClientFromConnectionString(testenv.Azurite(t), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Create(ctxFor(t, 30*time.Second), nil); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	store, err := checkpoints.NewBlobStore(cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// runningProcessor is a Processor run by a test: it reads every partition it
// is given, checkpoints after each batch, and records what it owns and reads.
type runningProcessor struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	owned  map[string]bool
	bodies []string
	lost   int // partitions taken away (ErrorCodeOwnershipLost)
}

func startProcessor(t *testing.T, srv *ehtest.Server, store azeventhubs.CheckpointStore, name string) *runningProcessor {
	return startProcessorAt(t, srv, store, name, azeventhubs.StartPosition{Earliest: to(true)})
}

// startProcessorAt starts a processor whose partitions without checkpoint
// start at start.
func startProcessorAt(t *testing.T, srv *ehtest.Server, store azeventhubs.CheckpointStore, name string, start azeventhubs.StartPosition) *runningProcessor {
	t.Helper()
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	proc, err := azeventhubs.NewProcessor(cons, store, &azeventhubs.ProcessorOptions{
		LoadBalancingStrategy:       azeventhubs.ProcessorStrategyGreedy,
		UpdateInterval:              100 * time.Millisecond,
		PartitionExpirationDuration: 2 * time.Second,
		StartPositions:              azeventhubs.StartPositions{Default: start},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rp := &runningProcessor{name: name, cancel: cancel, done: make(chan struct{}), owned: map[string]bool{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := proc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("processor %s: %v", name, err)
		}
	}()
	go func() {
		defer close(rp.done)
		defer wg.Wait()
		for {
			pc := proc.NextPartitionClient(ctx)
			if pc == nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				rp.consume(ctx, pc)
			}()
		}
	}()
	t.Cleanup(rp.stop)
	return rp
}

func (rp *runningProcessor) consume(ctx context.Context, pc *azeventhubs.ProcessorPartitionClient) {
	id := pc.PartitionID()
	rp.mu.Lock()
	rp.owned[id] = true
	rp.mu.Unlock()
	defer func() {
		rp.mu.Lock()
		delete(rp.owned, id)
		rp.mu.Unlock()
		pc.Close(context.Background())
	}()
	for {
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		evs, err := pc.ReceiveEvents(rctx, 100, nil)
		cancel()
		if len(evs) > 0 {
			// Checkpoint first, so "read" means "read and checkpointed".
			if err := pc.UpdateCheckpoint(context.Background(), evs[len(evs)-1], nil); err != nil {
				return
			}
			rp.mu.Lock()
			for _, ev := range evs {
				rp.bodies = append(rp.bodies, string(ev.Body))
			}
			rp.mu.Unlock()
		}
		var ehErr *azeventhubs.Error
		if errors.As(err, &ehErr) && ehErr.Code == azeventhubs.ErrorCodeOwnershipLost {
			rp.mu.Lock()
			rp.lost++
			rp.mu.Unlock()
			return
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return // the processor stopped
		}
		if ctx.Err() != nil {
			return
		}
	}
}

func (rp *runningProcessor) stop() {
	rp.cancel()
	<-rp.done
}

func (rp *runningProcessor) read() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]string(nil), rp.bodies...)
}

func (rp *runningProcessor) ownedCount() int {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return len(rp.owned)
}

// eventually polls cond until it holds or the deadline passes; it is a
// functional wait for the protocol to settle, not a timing assertion.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func publishRound(t *testing.T, srv *ehtest.Server, partitions int, round string, n int) []string {
	t.Helper()
	var all []string
	for p := 0; p < partitions; p++ {
		var bodies [][]byte
		for i := 0; i < n; i++ {
			b := fmt.Sprintf("%s-p%d-%d", round, p, i)
			bodies = append(bodies, []byte(b))
			all = append(all, b)
		}
		if err := srv.Publish("hub", strconv.Itoa(p), bodies...); err != nil {
			t.Fatal(err)
		}
	}
	return all
}

// Field report 8 (open-telemetry/opentelemetry-collector-contrib#37157): the SDK Processor restarted on the test server resumes at its checkpoints, not at earliest.
func TestAProcessorResumesFromItsCheckpointsWithoutRedelivery(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 4); err != nil {
		t.Fatal(err)
	}
	store := blobStore(t)
	first := publishRound(t, srv, 4, "first", 50)
	p1 := startProcessor(t, srv, store, "p1")
	eventually(t, 30*time.Second, "the first processor reads the first 200 events", func() bool { return len(p1.read()) >= len(first) })
	p1.stop()
	if got := p1.read(); len(got) != len(first) {
		t.Fatalf("first processor read %d events, want %d", len(got), len(first))
	}

	second := publishRound(t, srv, 4, "second", 10)
	p2 := startProcessor(t, srv, store, "p2")
	eventually(t, 30*time.Second, "the restarted processor reads the 40 new events", func() bool { return len(p2.read()) >= len(second) })
	p2.stop()
	got := p2.read()
	for _, b := range got {
		if strings.HasPrefix(b, "first-") {
			t.Fatalf("the restarted processor redelivered %q (read %d events)", b, len(got))
		}
	}
	if len(got) != len(second) {
		t.Errorf("restarted processor read %d events, want the %d new ones", len(got), len(second))
	}
}

func TestTwoProcessorsShareEightPartitionsAndAThirdTakesOverWhenOneCloses(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 8); err != nil {
		t.Fatal(err)
	}
	store := blobStore(t)
	p1 := startProcessor(t, srv, store, "p1")
	p2 := startProcessor(t, srv, store, "p2")
	// singleOwners reports whether every partition has exactly one receiver.
	singleOwners := func() bool {
		for p := 0; p < 8; p++ {
			st, err := srv.PartitionState("hub", strconv.Itoa(p))
			if err != nil || len(st.Receivers) != 1 {
				return false
			}
		}
		return true
	}
	eventually(t, 30*time.Second, "p1 and p2 own 4 partitions each", func() bool {
		return p1.ownedCount() == 4 && p2.ownedCount() == 4 && singleOwners()
	})

	p3 := startProcessor(t, srv, store, "p3")
	p1.stop()
	eventually(t, 30*time.Second, "p2 and p3 own all 8 partitions, 4 each", func() bool {
		return p2.ownedCount() == 4 && p3.ownedCount() == 4 && singleOwners()
	})
	// Events published now reach the new owners, once each, even across a
	// network failure.
	srv.DropConnections()
	want := publishRound(t, srv, 8, "later", 5)
	eventually(t, 30*time.Second, "the 40 new events are read", func() bool {
		n := 0
		for _, b := range append(p2.read(), p3.read()...) {
			if strings.HasPrefix(b, "later-") {
				n++
			}
		}
		return n >= len(want)
	})
	seen := map[string]int{}
	for _, b := range append(p2.read(), p3.read()...) {
		seen[b]++
	}
	for _, b := range want {
		if seen[b] != 1 {
			t.Errorf("event %q read %d times, want once", b, seen[b])
		}
	}
}

// Field report 10 (Azure/azure-sdk-for-go#22666): the processor that gave a partition up gets ErrorCodeOwnershipLost there, so its reader stops.
// Field report 11 (Azure/azure-sdk-for-go#22097): a processor joining while another owns all 4 partitions claims 2 of them.
func TestAJoiningProcessorStealsPartitionsAndTheLoserSeesOwnershipLost(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 4); err != nil {
		t.Fatal(err)
	}
	store := blobStore(t)
	p1 := startProcessor(t, srv, store, "p1")
	eventually(t, 30*time.Second, "p1 owns all 4 partitions", func() bool { return p1.ownedCount() == 4 })
	p2 := startProcessor(t, srv, store, "p2")
	eventually(t, 30*time.Second, "p1 and p2 own 2 partitions each", func() bool {
		return p1.ownedCount() == 2 && p2.ownedCount() == 2
	})
	p1.mu.Lock()
	lost := p1.lost
	p1.mu.Unlock()
	if lost != 2 {
		t.Errorf("p1 saw ownership lost %d times, want 2 (once per stolen partition)", lost)
	}
}

func TestAnInvalidOffsetMakesTheProcessorRestartThePartitionFromEarliest(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	old := publishRound(t, srv, 1, "old", 3)
	srv.RefuseNextAttaches(1, "com.microsoft:georeplication:invalid-offset", "injected by the test")
	// Starting at Latest, the processor would read none of the old events;
	// after the refusal the SDK retries from Earliest.
	p := startProcessorAt(t, srv, blobStore(t), "p", azeventhubs.StartPosition{Latest: to(true)})
	eventually(t, 30*time.Second, "the old events are read", func() bool { return len(p.read()) >= len(old) })
	if got := p.read(); strings.Join(got, " ") != strings.Join(old, " ") {
		t.Errorf("read %v, want %v", got, old)
	}
}
