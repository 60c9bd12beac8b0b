package ehtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/streamhunt/streamhunt/internal/ehtest"
)

func TestTenThousandEventsOverFourPartitionsArriveInOrderPerPartition(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 4); err != nil {
		t.Fatal(err)
	}
	prod := newProducer(t, srv, "hub")
	const perPartition = 2500
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies := make([][]byte, perPartition)
			for i := range bodies {
				bodies[i] = fmt.Appendf(nil, "p%d-%05d", p, i)
			}
			pid := strconv.Itoa(p)
			sendBatch(t, prod, &azeventhubs.EventDataBatchOptions{PartitionID: &pid}, bodies...)
		}()
	}
	wg.Wait()

	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc, err := cons.NewPartitionClient(strconv.Itoa(p), &azeventhubs.PartitionClientOptions{
				StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
			if err != nil {
				t.Error(err)
				return
			}
			defer pc.Close(context.Background())
			evs := receiveN(t, pc, perPartition)
			for i, ev := range evs {
				want := fmt.Sprintf("p%d-%05d", p, i)
				if string(ev.Body) != want || ev.SequenceNumber != int64(i) || ev.PartitionKey != nil {
					t.Errorf("partition %d event %d = %q (seq %d), want %q (seq %d)", p, i, ev.Body, ev.SequenceNumber, want, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	for p := 0; p < 4; p++ {
		st, err := srv.PartitionState("hub", strconv.Itoa(p))
		if err != nil {
			t.Fatal(err)
		}
		if st.LastSequenceNumber != perPartition-1 {
			t.Errorf("partition %d last sequence number %d, want %d", p, st.LastSequenceNumber, perPartition-1)
		}
	}
}

// fakeClock is a settable clock for enqueued times.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Field report 8 (open-telemetry/opentelemetry-collector-contrib#38487): the zero start position is latest, and every start position starts where the service would.
func TestEveryStartPositionStartsWhereTheServiceWould(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	srv := newServer(t, ehtest.Options{Now: clock.Now})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	// Ten events, one second apart: e0 at 10:00:00 ... e9 at 10:00:09.
	for i := 0; i < 10; i++ {
		clock.Set(time.Date(2026, 12, 3, 10, 0, i, 0, time.UTC))
		if err := srv.Publish("hub", "0", fmt.Appendf(nil, "e%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	// Offsets are the server's; read them from the events themselves.
	all := func() []*azeventhubs.ReceivedEventData {
		pc, err := cons.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close(context.Background())
		return receiveN(t, pc, 10)
	}()
	off3 := all[3].Offset
	t3 := time.Date(2026, 12, 3, 10, 0, 3, 0, time.UTC)
	if !all[3].EnqueuedTime.Equal(t3) {
		t.Fatalf("event 3 enqueued at %v, want %v", all[3].EnqueuedTime, t3)
	}
	tests := []struct {
		name  string
		start azeventhubs.StartPosition
		first string // "" when nothing old is delivered
	}{
		{"earliest starts at the first event", azeventhubs.StartPosition{Earliest: to(true)}, "e0"},
		{"earliest inclusive starts at the first event", azeventhubs.StartPosition{Earliest: to(true), Inclusive: true}, "e0"},
		{"latest delivers only new events", azeventhubs.StartPosition{Latest: to(true)}, ""},
		{"the zero start position is latest", azeventhubs.StartPosition{}, ""},
		{"an exclusive offset starts after that event", azeventhubs.StartPosition{Offset: &off3}, "e4"},
		{"an inclusive offset starts at that event", azeventhubs.StartPosition{Offset: &off3, Inclusive: true}, "e3"},
		{"an exclusive sequence number starts after it", azeventhubs.StartPosition{SequenceNumber: to(int64(3))}, "e4"},
		{"an inclusive sequence number starts at it", azeventhubs.StartPosition{SequenceNumber: to(int64(3)), Inclusive: true}, "e3"},
		{"an exclusive enqueued time starts after it", azeventhubs.StartPosition{EnqueuedTime: &t3}, "e4"},
		{"an inclusive enqueued time starts at it", azeventhubs.StartPosition{EnqueuedTime: &t3, Inclusive: true}, "e3"},
		{"a sequence number past the end waits for new events", azeventhubs.StartPosition{SequenceNumber: to(int64(1000))}, ""},
	}
	next := 10
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := cons.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: tt.start})
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close(context.Background())
			want := tt.first
			got := make(chan []*azeventhubs.ReceivedEventData, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				evs, _ := pc.ReceiveEvents(ctx, 1, nil)
				got <- evs
			}()
			if want == "" {
				// Once the link is attached, publish a new event: it must be the first one read.
				eventually(t, 30*time.Second, "the receiver attaches", func() bool {
					st, _ := srv.PartitionState("hub", "0")
					return len(st.Receivers) == 1
				})
				want = fmt.Sprintf("e%d", next)
				if err := srv.Publish("hub", "0", []byte(want)); err != nil {
					t.Fatal(err)
				}
				next++
			}
			evs := <-got
			if len(evs) == 0 {
				t.Fatalf("read nothing, want %q", want)
			}
			if string(evs[0].Body) != want {
				t.Errorf("first event %q, want %q", evs[0].Body, want)
			}
		})
	}
}

// Field report 10 (Azure/azure-sdk-for-go#22666): the service side of a steal: the old receiver gets ErrorCodeOwnershipLost and cannot read on.
func TestAnEqualEpochStealsThePartitionAndTheOldReceiverSeesOwnershipLost(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1, "streamhunt"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	first := newConsumer(t, srv, "hub", "streamhunt")
	second := newConsumer(t, srv, "hub", "streamhunt")
	start := azeventhubs.StartPosition{Earliest: to(true)}
	old, err := first.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: start, OwnerLevel: to(int64(0))})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close(context.Background())
	receiveN(t, old, 1)

	thief, err := second.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: start, OwnerLevel: to(int64(0))})
	if err != nil {
		t.Fatal(err)
	}
	defer thief.Close(context.Background())
	if evs := receiveN(t, thief, 1); string(evs[0].Body) != "x" {
		t.Fatalf("thief read %q, want x", evs[0].Body)
	}
	_, err = old.ReceiveEvents(ctxFor(t, 10*time.Second), 1, nil)
	var ehErr *azeventhubs.Error
	if !errors.As(err, &ehErr) || ehErr.Code != azeventhubs.ErrorCodeOwnershipLost {
		t.Fatalf("old receiver got %v, want ErrorCodeOwnershipLost", err)
	}
	st, err := srv.PartitionState("hub", "0")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Receivers) != 1 || st.Receivers[0].ConsumerGroup != "streamhunt" || st.Receivers[0].Epoch == nil || *st.Receivers[0].Epoch != 0 {
		t.Errorf("receivers after the steal = %+v, want one with epoch 0 in streamhunt", st.Receivers)
	}
}

func TestEpochsArbitratePerConsumerGroup(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1, "other"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	other := newConsumer(t, srv, "hub", "other")
	// read attaches a receiver and returns how many events it read within d.
	read := func(c *azeventhubs.ConsumerClient, epoch int64, d time.Duration) int {
		pc, err := c.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{OwnerLevel: &epoch,
			StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close(context.Background()) })
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		evs, _ := pc.ReceiveEvents(ctx, 1, nil)
		return len(evs)
	}
	if n := read(cons, 5, 30*time.Second); n != 1 {
		t.Fatalf("the epoch 5 receiver read %d events, want 1", n)
	}
	if n := read(other, 1, 30*time.Second); n != 1 {
		t.Fatalf("a lower epoch in another consumer group read %d events, want 1", n)
	}
	if n := read(cons, 4, 500*time.Millisecond); n != 0 {
		t.Fatalf("a lower epoch in the same consumer group read %d events, want its attach refused", n)
	}
	st, _ := srv.PartitionState("hub", "0")
	var epochs []string
	for _, r := range st.Receivers {
		epochs = append(epochs, fmt.Sprintf("%s:%d", r.ConsumerGroup, *r.Epoch))
	}
	if fmt.Sprint(epochs) != "[$default:5 other:1]" {
		t.Errorf("receivers = %v, want [$default:5 other:1]", epochs)
	}
}

// Field report 14 (Azure/azure-sdk-for-go#23282): a consumer whose connection dies reconnects on its own, losing and repeating nothing.
func TestConsumersAndProducersReconnectAfterEveryConnectionIsDropped(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("before")); err != nil {
		t.Fatal(err)
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	pc, err := cons.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	receiveN(t, pc, 1)
	prod := newProducer(t, srv, "hub")
	pid := "0"
	sendBatch(t, prod, &azeventhubs.EventDataBatchOptions{PartitionID: &pid}, []byte("sent"))
	if n := srv.Connections(); n != 2 {
		t.Fatalf("%d connections open, want the consumer's and the producer's", n)
	}
	srv.DropConnections()
	if err := srv.Publish("hub", "0", []byte("after")); err != nil {
		t.Fatal(err)
	}
	sendBatch(t, prod, &azeventhubs.EventDataBatchOptions{PartitionID: &pid}, []byte("resent"))
	var got []string
	for _, ev := range receiveN(t, pc, 3) {
		got = append(got, string(ev.Body))
	}
	if strings.Join(got, " ") != "sent after resent" {
		t.Fatalf("after reconnecting read %v, want [sent after resent] (nothing lost or repeated)", got)
	}
}

func TestABadKeyFailsWithAnAuthError(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	cs := fmt.Sprintf("Endpoint=sb://%s;SharedAccessKeyName=%s;SharedAccessKey=%s;EntityPath=hub;UseDevelopmentEmulator=true",
		srv.Namespace(), ehtest.DefaultKeyName, "d3Jvbmcta2V5")
	cons, err := azeventhubs.NewConsumerClientFromConnectionString(cs, "", azeventhubs.DefaultConsumerGroup,
		&azeventhubs.ConsumerClientOptions{RetryOptions: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close(context.Background())
	pc, err := cons.NewPartitionClient("0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	_, err = pc.ReceiveEvents(ctxFor(t, 10*time.Second), 1, nil)
	var ehErr *azeventhubs.Error
	if !errors.As(err, &ehErr) || ehErr.Code != azeventhubs.ErrorCodeUnauthorizedAccess {
		t.Fatalf("receive with a bad key: %v, want ErrorCodeUnauthorizedAccess", err)
	}
	prod, err := azeventhubs.NewProducerClientFromConnectionString(cs, "", &azeventhubs.ProducerClientOptions{RetryOptions: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close(context.Background())
	_, err = prod.NewEventDataBatch(ctxFor(t, 10*time.Second), nil)
	if !errors.As(err, &ehErr) || ehErr.Code != azeventhubs.ErrorCodeUnauthorizedAccess {
		t.Fatalf("send with a bad key: %v, want ErrorCodeUnauthorizedAccess", err)
	}
}

func TestAOneMegabyteEventRoundTrips(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 1_000_000/16)
	prod := newProducer(t, srv, "hub")
	pid := "0"
	sendBatch(t, prod, &azeventhubs.EventDataBatchOptions{PartitionID: &pid}, body)
	// One more, published directly, to cover the server's shared-body path.
	if err := srv.Publish("hub", "0", body); err != nil {
		t.Fatal(err)
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	pc, err := cons.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	for i, ev := range receiveN(t, pc, 2) {
		if !bytes.Equal(ev.Body, body) {
			t.Errorf("event %d: %d bytes came back, want the %d sent", i, len(ev.Body), len(body))
		}
	}
	// A body over the server's max-message-size does not fit a batch.
	batch, err := prod.NewEventDataBatch(ctxFor(t, 10*time.Second), &azeventhubs.EventDataBatchOptions{PartitionID: &pid})
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.AddEventData(&azeventhubs.EventData{Body: make([]byte, 1<<20)}, nil); !errors.Is(err, azeventhubs.ErrEventDataTooLarge) {
		t.Errorf("adding a 1 MiB body: %v, want ErrEventDataTooLarge", err)
	}
}

func TestPartitionKeysRouteEventsToOnePartitionEach(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 8); err != nil {
		t.Fatal(err)
	}
	prod := newProducer(t, srv, "hub")
	for _, key := range []string{"alice", "bob"} {
		for i := 0; i < 3; i++ {
			sendBatch(t, prod, &azeventhubs.EventDataBatchOptions{PartitionKey: to(key)}, []byte(key))
		}
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	got := map[string]map[string]int{} // key -> partition -> count
	for p := 0; p < 8; p++ {
		st, _ := srv.PartitionState("hub", strconv.Itoa(p))
		if st.Empty {
			continue
		}
		pc, err := cons.NewPartitionClient(strconv.Itoa(p), &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range receiveN(t, pc, int(st.LastSequenceNumber+1)) {
			if ev.PartitionKey == nil || *ev.PartitionKey != string(ev.Body) {
				t.Errorf("event %q has partition key %v, want %q", ev.Body, ev.PartitionKey, ev.Body)
				continue
			}
			if got[*ev.PartitionKey] == nil {
				got[*ev.PartitionKey] = map[string]int{}
			}
			got[*ev.PartitionKey][strconv.Itoa(p)]++
		}
		pc.Close(context.Background())
	}
	for _, key := range []string{"alice", "bob"} {
		if len(got[key]) != 1 {
			t.Errorf("key %q spread over partitions %v, want all 3 events in one", key, got[key])
		}
	}
}

func TestAddedPartitionsShowInTheHubProperties(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 2); err != nil {
		t.Fatal(err)
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	if err := srv.AddPartitions("hub", 2); err != nil {
		t.Fatal(err)
	}
	props, err := cons.GetEventHubProperties(ctxFor(t, 10*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(props.PartitionIDs) != "[0 1 2 3]" {
		t.Errorf("partition ids %v, want [0 1 2 3]", props.PartitionIDs)
	}
	if err := srv.Publish("hub", "3", []byte("new")); err != nil {
		t.Fatal(err)
	}
	pc, err := cons.NewPartitionClient("3", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	if evs := receiveN(t, pc, 1); string(evs[0].Body) != "new" {
		t.Errorf("read %q from the added partition, want new", evs[0].Body)
	}
}

func TestUnknownPartitionsAndConsumerGroupsFailWithoutRetrying(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 2); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, group, partition string
	}{
		{"a partition out of range", azeventhubs.DefaultConsumerGroup, "99"},
		{"a consumer group that does not exist", "nope", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cons := newConsumer(t, srv, "hub", tt.group)
			pc, err := cons.NewPartitionClient(tt.partition, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close(context.Background())
			_, err = pc.ReceiveEvents(ctxFor(t, 10*time.Second), 1, nil)
			if err == nil || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("receive: %v, want a fatal error from the service", err)
			}
		})
	}
}

func TestRetentionKeepsTheNewestEventsPerPartition(t *testing.T) {
	srv := newServer(t, ehtest.Options{RetainPerPartition: 5})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := srv.Publish("hub", "0", fmt.Appendf(nil, "e%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := srv.PartitionState("hub", "0")
	if err != nil {
		t.Fatal(err)
	}
	if st.BeginSequenceNumber != 5 || st.LastSequenceNumber != 9 || st.Retained != 5 {
		t.Errorf("state %+v, want sequence numbers 5..9 retained", st)
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	pp, err := cons.GetPartitionProperties(ctxFor(t, 10*time.Second), "0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pp.BeginningSequenceNumber != 5 {
		t.Errorf("SDK sees beginning sequence number %d, want 5", pp.BeginningSequenceNumber)
	}
	// Earliest, and a sequence number that is gone, both start at the oldest kept.
	for _, start := range []azeventhubs.StartPosition{{Earliest: to(true)}, {SequenceNumber: to(int64(1))}} {
		pc, err := cons.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: start})
		if err != nil {
			t.Fatal(err)
		}
		if evs := receiveN(t, pc, 1); string(evs[0].Body) != "e5" {
			t.Errorf("start %+v read %q first, want e5", start, evs[0].Body)
		}
		pc.Close(context.Background())
	}
}

func TestManualCreditDeliversExactlyWhatIsAskedFor(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := srv.Publish("hub", "0", fmt.Appendf(nil, "e%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	pc, err := cons.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{Prefetch: -1,
		StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	for _, want := range []string{"e0 e1 e2", "e3 e4 e5 e6 e7 e8 e9"} {
		n := len(strings.Fields(want))
		evs := receiveN(t, pc, n)
		var got []string
		for _, ev := range evs {
			got = append(got, string(ev.Body))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("asked for %d, read %v, want %s", n, got, want)
		}
		// The server sent no more than the credit the client gave.
		st, _ := srv.PartitionState("hub", "0")
		if len(st.Receivers) != 1 || st.Receivers[0].Delivered != evs[len(evs)-1].SequenceNumber+1 {
			t.Errorf("receivers %+v, want one that was sent exactly %d events", st.Receivers, evs[len(evs)-1].SequenceNumber+1)
		}
	}
}

func TestTheFullestBatchesTheSDKBuildsAreAccepted(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	prod := newProducer(t, srv, "hub")
	pid := "0"
	newBatch := func() *azeventhubs.EventDataBatch {
		b, err := prod.NewEventDataBatch(ctxFor(t, 10*time.Second), &azeventhubs.EventDataBatchOptions{PartitionID: &pid})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The largest single body the batch takes, found by bisection.
	lo, hi := 1, 1<<20
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if newBatch().AddEventData(&azeventhubs.EventData{Body: make([]byte, mid)}, nil) == nil {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	big := newBatch()
	if err := big.AddEventData(&azeventhubs.EventData{Body: make([]byte, lo)}, nil); err != nil {
		t.Fatal(err)
	}
	// And a batch filled with small events to the limit.
	small := newBatch()
	for small.AddEventData(&azeventhubs.EventData{Body: []byte("0123456789")}, nil) == nil {
	}
	for _, b := range []*azeventhubs.EventDataBatch{big, small} {
		if err := prod.SendEventDataBatch(ctxFor(t, 10*time.Second), b, nil); err != nil {
			t.Fatalf("sending a full batch of %d events (%d bytes): %v", b.NumEvents(), b.NumBytes(), err)
		}
	}
	st, _ := srv.PartitionState("hub", "0")
	if want := int64(small.NumEvents()); st.LastSequenceNumber != want {
		t.Errorf("server holds events up to %d, want %d (one big, %d small)", st.LastSequenceNumber, want, want)
	}
}

func TestReceiversWithoutEpochAreLimitedToFiveAndYieldToEpochReceivers(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	open := func(epoch *int64) (*azeventhubs.PartitionClient, error) {
		pc, err := cons.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{OwnerLevel: epoch,
			StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close(context.Background()) })
		_, err = pc.ReceiveEvents(ctxFor(t, 10*time.Second), 1, nil)
		return pc, err
	}
	var plain []*azeventhubs.PartitionClient
	for i := 0; i < 5; i++ {
		pc, err := open(nil)
		if err != nil {
			t.Fatalf("receiver %d without epoch: %v", i+1, err)
		}
		plain = append(plain, pc)
	}
	if _, err := open(nil); err == nil || !strings.Contains(err.Error(), "amqp:resource-limit-exceeded") {
		t.Fatalf("a sixth receiver without epoch: %v, want amqp:resource-limit-exceeded", err)
	}
	if _, err := open(to(int64(0))); err != nil {
		t.Fatalf("an epoch receiver: %v", err)
	}
	// The epoch receiver took the partition from all five.
	for i, pc := range plain {
		_, err := pc.ReceiveEvents(ctxFor(t, 10*time.Second), 1, nil)
		var ehErr *azeventhubs.Error
		if !errors.As(err, &ehErr) || ehErr.Code != azeventhubs.ErrorCodeOwnershipLost {
			t.Errorf("receiver %d without epoch: %v, want ErrorCodeOwnershipLost", i+1, err)
		}
	}
	st, _ := srv.PartitionState("hub", "0")
	if len(st.Receivers) != 1 || st.Receivers[0].Epoch == nil {
		t.Errorf("receivers %+v, want only the epoch receiver", st.Receivers)
	}
}

func TestAConsumerGroupAddedLaterCanRead(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddConsumerGroups("hub", "late"); err != nil {
		t.Fatal(err)
	}
	if evs := receiveN(t, earliest(t, newConsumer(t, srv, "hub", "LATE")), 1); string(evs[0].Body) != "x" {
		t.Errorf("read %q, want x (consumer group names are case-insensitive)", evs[0].Body)
	}
	if err := srv.AddConsumerGroups("nohub", "g"); err == nil || !strings.Contains(err.Error(), "CreateHub") {
		t.Errorf("adding a group to a missing hub: %v, want an error that says to create it", err)
	}
}
