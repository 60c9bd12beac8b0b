package eventhubs_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamhunt/streamhunt/consumer/eventhubs"
	"github.com/streamhunt/streamhunt/internal/ehtest"
	"github.com/streamhunt/streamhunt/internal/testenv"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/sinktest"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"go.uber.org/zap"
)

// countingSink acknowledges every batch and counts findings.
type countingSink struct{ n atomic.Int64 }

func (s *countingSink) Name() string { return "count" }
func (s *countingSink) Write(_ context.Context, b sink.Batch) error {
	s.n.Add(int64(len(b.Findings)))
	return nil
}
func (s *countingSink) Close(context.Context) error { return nil }

// BenchmarkConsume measures events per second through the real SDK
// Processor, the AMQP test server, per-partition workers, delivery and blob
// checkpoints (Azurite), with 2 KiB bodies on 4 partitions, for the
// prefetch that 1 MiB (the default) and 4 KiB maximum event sizes give.
func BenchmarkConsume(b *testing.B) {
	for _, maxEvent := range []int64{1 << 20, 4 << 10} {
		b.Run(fmt.Sprintf("maxEventBytes=%d", maxEvent), func(b *testing.B) { benchmarkConsume(b, maxEvent) })
	}
}

func benchmarkConsume(b *testing.B, maxEvent int64) {
	cs := testenv.Azurite(b)
	srv, err := ehtest.NewServer(ehtest.Options{RetainPerPartition: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	const hub, parts = "bench", 4
	if err := srv.CreateHub(hub, parts); err != nil {
		b.Fatal(err)
	}
	bc, err := azblob.NewClientFromConnectionString(cs, nil)
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{srv: srv, hub: hub, container: bc, cname: fmt.Sprintf("bench%d", time.Now().UnixNano()%1e9), proc: &testProcessor{}}
	f.t = b
	store := f.store()
	sk := &countingSink{}
	opts := f.options(store)
	opts.Logger = zap.NewNop()
	opts.Sink, opts.DeadLetters = sk, &sinktest.Store{}
	opts.CheckpointEvery, opts.CheckpointInterval = 1000, time.Second
	// Earliest: a partition is owned before its receiver attaches, and events
	// published in between would be skipped from latest.
	opts.Start = eventhubs.StartPosition{Earliest: true}
	opts.MaxEventBytes = maxEvent // with the default 256 MiB budget: prefetch 32 for 1 MiB, 1000 for 4 KiB
	c, err := eventhubs.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(time.Minute); len(f.owners(store)) < parts; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("partitions not claimed within a minute")
		}
	}
	body := strings.Repeat("x", 2048)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := srv.Publish(hub, fmt.Sprint(i%parts), []byte(fmt.Sprintf("%08d", i)+body[8:])); err != nil {
			b.Fatal(err)
		}
	}
	for deadline := time.Now().Add(2 * time.Minute); sk.n.Load() < int64(b.N); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d events reached the sink within 2 minutes", sk.n.Load(), b.N)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
