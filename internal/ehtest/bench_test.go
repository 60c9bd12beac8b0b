package ehtest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/streamhunt/streamhunt/internal/ehtest"
)

// BenchmarkSDKConsumer measures the rate at which the real SDK consumer reads
// events the server holds: one PartitionClient, one partition, events of the
// given size published beforehand. MB/s is the event body rate.
func BenchmarkSDKConsumer(b *testing.B) {
	for _, size := range []int{4 << 10, 1<<20 - 4096} {
		for _, prefetch := range []int32{300, 2000} {
			if size > 1<<16 && prefetch > 300 {
				continue
			}
			b.Run(fmt.Sprintf("body=%dKiB/prefetch=%d", size>>10, prefetch), func(b *testing.B) {
				benchConsume(b, size, prefetch)
			})
		}
	}
}

func benchConsume(b *testing.B, size int, prefetch int32) {
	srv := newServer(b, ehtest.Options{RetainPerPartition: b.N + 1})
	if err := srv.CreateHub("hub", 1); err != nil {
		b.Fatal(err)
	}
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i)
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = body // the server shares bodies; the SDK copies them out
	}
	if err := srv.Publish("hub", "0", bodies...); err != nil {
		b.Fatal(err)
	}
	cons := newConsumer(b, srv, "hub", azeventhubs.DefaultConsumerGroup)
	pc, err := cons.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{
		StartPosition: azeventhubs.StartPosition{Earliest: to(true)}, Prefetch: prefetch})
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close(context.Background())
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	ctx := context.Background()
	for n := 0; n < b.N; {
		evs, err := pc.ReceiveEvents(ctx, min(1000, b.N-n), nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(evs[len(evs)-1].Body) != size {
			b.Fatalf("event of %d bytes, want %d", len(evs[len(evs)-1].Body), size)
		}
		n += len(evs)
	}
}

// BenchmarkSDKProducer measures the rate at which the real SDK producer sends
// batches of 4 KiB events that the server accepts and stores.
func BenchmarkSDKProducer(b *testing.B) {
	const size = 4 << 10
	srv := newServer(b, ehtest.Options{RetainPerPartition: 1000})
	if err := srv.CreateHub("hub", 1); err != nil {
		b.Fatal(err)
	}
	prod := newProducer(b, srv, "hub")
	body := make([]byte, size)
	pid := "0"
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		batch, err := prod.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionID: &pid})
		if err != nil {
			b.Fatal(err)
		}
		for ; n < b.N; n++ {
			if err := batch.AddEventData(&azeventhubs.EventData{Body: body}, nil); err != nil {
				break
			}
		}
		if err := prod.SendEventDataBatch(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	st, _ := srv.PartitionState("hub", "0")
	if st.LastSequenceNumber != int64(b.N-1) {
		b.Fatalf("server holds events up to %d, want %d", st.LastSequenceNumber, b.N-1)
	}
}
