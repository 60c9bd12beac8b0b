package ehtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"go.uber.org/zap/zaptest"

	"github.com/streamhunt/streamhunt/internal/ehtest"
)

// fastRetry keeps SDK retries short so a failing test fails in seconds.
var fastRetry = azeventhubs.RetryOptions{MaxRetries: 5, RetryDelay: 50 * time.Millisecond, MaxRetryDelay: 200 * time.Millisecond}

func newServer(t testing.TB, opts ehtest.Options) *ehtest.Server {
	t.Helper()
	srv, err := ehtest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func newProducer(t testing.TB, srv *ehtest.Server, hub string) *azeventhubs.ProducerClient {
	t.Helper()
	p, err := azeventhubs.NewProducerClientFromConnectionString(srv.ConnectionString(hub), "",
		&azeventhubs.ProducerClientOptions{RetryOptions: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func newConsumer(t testing.TB, srv *ehtest.Server, hub, group string) *azeventhubs.ConsumerClient {
	t.Helper()
	c, err := azeventhubs.NewConsumerClientFromConnectionString(srv.ConnectionString(hub), "", group,
		&azeventhubs.ConsumerClientOptions{RetryOptions: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// sendBatch sends bodies to one partition in as few batches as fit.
func sendBatch(t testing.TB, p *azeventhubs.ProducerClient, opts *azeventhubs.EventDataBatchOptions, bodies ...[]byte) {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	batch, err := p.NewEventDataBatch(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bodies {
		err := batch.AddEventData(&azeventhubs.EventData{Body: b}, nil)
		if errors.Is(err, azeventhubs.ErrEventDataTooLarge) {
			if err := p.SendEventDataBatch(ctx, batch, nil); err != nil {
				t.Fatal(err)
			}
			if batch, err = p.NewEventDataBatch(ctx, opts); err != nil {
				t.Fatal(err)
			}
			err = batch.AddEventData(&azeventhubs.EventData{Body: b}, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if batch.NumEvents() > 0 {
		if err := p.SendEventDataBatch(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// receiveN reads n events from a partition client.
func receiveN(t testing.TB, pc *azeventhubs.PartitionClient, n int) []*azeventhubs.ReceivedEventData {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	var out []*azeventhubs.ReceivedEventData
	for len(out) < n {
		evs, err := pc.ReceiveEvents(ctx, n-len(out), nil)
		out = append(out, evs...)
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(out), n, err)
		}
	}
	return out
}

func TestProducerAndConsumerRoundTripEvents(t *testing.T) {
	srv := newServer(t, ehtest.Options{Logger: zaptest.NewLogger(t)})
	if err := srv.CreateHub("hub", 2); err != nil {
		t.Fatal(err)
	}
	prod := newProducer(t, srv, "hub")
	pid := "1"
	sendBatch(t, prod, &azeventhubs.EventDataBatchOptions{PartitionID: &pid}, []byte("a"), []byte("b"), []byte("c"))

	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	props, err := cons.GetEventHubProperties(ctxFor(t, 10*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(props.PartitionIDs) != "[0 1]" || props.Name != "hub" {
		t.Fatalf("hub properties = %+v, want hub with partitions [0 1]", props)
	}
	pp, err := cons.GetPartitionProperties(ctxFor(t, 10*time.Second), "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pp.LastEnqueuedSequenceNumber != 2 || pp.BeginningSequenceNumber != 0 || pp.IsEmpty {
		t.Fatalf("partition properties = %+v, want sequence numbers 0..2", pp)
	}
	pc, err := cons.NewPartitionClient("1", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	evs := receiveN(t, pc, 3)
	for i, ev := range evs {
		if string(ev.Body) != string("abc"[i]) || ev.SequenceNumber != int64(i) {
			t.Errorf("event %d = %q seq %d, want %q seq %d", i, ev.Body, ev.SequenceNumber, "abc"[i:i+1], i)
		}
	}
	if evs[2].Offset != pp.LastEnqueuedOffset {
		t.Errorf("last event offset %q, partition properties say %q", evs[2].Offset, pp.LastEnqueuedOffset)
	}
}

func to[T any](v T) *T { return &v }

var _ = azcore.AccessToken{}
