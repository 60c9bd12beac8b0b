package eventhubs

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/internal/metrics"
)

// hubRunner runs one hub's Processor, restarting it when it fails or when
// the hub gains partitions, and owns the partition workers.
type hubRunner struct {
	c               *Consumer
	hub             string
	client          *azeventhubs.ConsumerClient
	totalPartitions int

	mu       sync.Mutex
	stopping bool // no new workers: close handed clients at once
	workers  map[string]*worker
	wg       sync.WaitGroup
}

// run loops over Processor lifetimes until ctx ends.
func (r *hubRunner) run(ctx context.Context) error {
	log := r.c.log.With(zap.String("hub", r.hub))
	store := newHubStore(r.c.opts.Store, r.hub, r.c.opts.Start, r.c.opts.OwnershipExpiry, r.client, log)
	r.workers = map[string]*worker{}
	backoff := r.c.opts.RetryBackoff
	for {
		reason, err := r.runProcessor(ctx, store, log)
		if ctx.Err() != nil {
			return nil
		}
		metrics.ProcessorRestarts.WithLabelValues(r.hub, reason).Inc()
		if err != nil {
			r.c.opts.Health.Report(ComponentCheckpointStore, err)
			log.Error("the event hub processor stopped; restarting it", zap.String("reason", reason), zap.Duration("after", backoff), zap.Error(err))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, r.c.opts.MaxRetryBackoff)
			continue
		}
		backoff = r.c.opts.RetryBackoff
		log.Info("restarting the event hub processor", zap.String("reason", reason))
	}
}

// runProcessor runs one Processor until ctx ends (clean shutdown), it fails,
// or the partition count changes; it returns why it stopped.
func (r *hubRunner) runProcessor(ctx context.Context, store *hubStore, log *zap.Logger) (string, error) {
	// The SDK retries a namespace it cannot reach until the deadline: say
	// what is being waited for, so a wrong name or a firewall shows at once.
	log.Info("connecting to the event hub to read its partitions (up to a minute)")
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	props, err := r.client.GetEventHubProperties(pctx, nil)
	cancel()
	if err != nil {
		r.c.opts.Health.Report(ComponentEventHubs, err)
		return "properties-error", err
	}
	r.c.opts.Health.Report(ComponentEventHubs, nil)
	partitions := len(props.PartitionIDs)
	prefetch, batch := PrefetchFor(r.c.opts.MemoryBudget, r.c.opts.MaxEventBytes, max(r.totalPartitions, partitions))
	log.Info("reading the event hub", zap.Int("partitions", partitions), zap.Int("prefetch", prefetch), zap.String("consumerGroup", r.c.opts.ConsumerGroup))
	proc, err := azeventhubs.NewProcessor(r.client, store, &azeventhubs.ProcessorOptions{
		LoadBalancingStrategy:       r.c.opts.Strategy,
		UpdateInterval:              r.c.opts.UpdateInterval,
		PartitionExpirationDuration: r.c.opts.OwnershipExpiry,
		StartPositions:              azeventhubs.StartPositions{Default: sdkStart(r.c.opts.Start)},
		Prefetch:                    int32(prefetch),
	})
	if err != nil {
		return "config-error", err
	}
	store.keep.Store(false)
	r.mu.Lock()
	r.stopping = false
	r.mu.Unlock()
	// The Processor gets a context of its own: on shutdown it is cancelled
	// only after the workers delivered and checkpointed, because cancelling
	// it closes the links and releases ownership.
	procCtx, stopProc := context.WithCancel(context.Background())
	defer stopProc()
	runErr := make(chan error, 1)
	go func() { runErr <- proc.Run(procCtx) }()

	// dispatch partition clients to workers.
	dispatchDone := make(chan struct{})
	go func() {
		defer close(dispatchDone)
		for {
			pc := proc.NextPartitionClient(procCtx)
			if pc == nil {
				return
			}
			r.startWorker(ctx, pc, store, batch, log)
		}
	}()

	refresh := time.NewTicker(r.c.opts.PartitionRefresh)
	defer refresh.Stop()
	reason := "shutdown"
	var stopErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-runErr:
			runErr <- err // keep it for the wait below
			reason, stopErr = "processor-error", err
			if err == nil {
				stopErr = errors.New("the processor stopped on its own")
			}
			break loop
		case <-refresh.C:
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			p, err := r.client.GetEventHubProperties(rctx, nil)
			cancel()
			if err != nil {
				r.c.opts.Health.Report(ComponentEventHubs, err)
				log.Warn("cannot check the partition count", zap.Error(err))
				continue
			}
			r.c.opts.Health.Report(ComponentEventHubs, nil)
			if len(p.PartitionIDs) != partitions {
				log.Info("the hub's partition count changed", zap.Int("was", partitions), zap.Int("now", len(p.PartitionIDs)))
				r.totalPartitions += len(p.PartitionIDs) - partitions
				reason = "partitions-changed"
				// Keep our claims: the next Processor (same instance id) resumes them at once.
				store.keep.Store(true)
				break loop
			}
		}
	}
	// Drain every worker: deliver in flight, final checkpoints, close links.
	r.stopWorkers()
	stopProc()
	<-dispatchDone
	err = <-runErr
	if stopErr == nil && err != nil && reason == "shutdown" {
		log.Warn("the processor reported an error while stopping", zap.Error(err))
	}
	r.stopWorkers() // any worker started while stopping
	return reason, stopErr
}

// startWorker starts the worker of a newly handed partition client, after
// any previous worker of that partition finished.
func (r *hubRunner) startWorker(ctx context.Context, pc *azeventhubs.ProcessorPartitionClient, store *hubStore, batch int, log *zap.Logger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping || ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = pc.Close(cctx)
		cancel()
		return
	}
	prev := r.workers[pc.PartitionID()]
	w := newWorker(r.c, r.hub, pc, r.client, store, batch, log.With(zap.String("partition", pc.PartitionID())))
	r.workers[pc.PartitionID()] = w
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if prev != nil {
			<-prev.done
		}
		w.run()
		r.mu.Lock()
		if r.workers[pc.PartitionID()] == w {
			delete(r.workers, pc.PartitionID())
		}
		r.mu.Unlock()
	}()
}

// stopWorkers asks every worker to stop gracefully and waits for them.
func (r *hubRunner) stopWorkers() {
	r.mu.Lock()
	r.stopping = true
	for _, w := range r.workers {
		w.stop()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// PrefetchFor splits a memory budget over the partitions one replica may
// own (all of them, when it is alone), for bodies of at most maxEvent bytes:
// half of a partition's share is prefetched, half is the batch in hand.
func PrefetchFor(budget, maxEvent int64, partitions int) (prefetch, batch int) {
	if partitions < 1 {
		partitions = 1
	}
	n := int(budget / int64(partitions) / maxEvent / 2)
	n = max(1, min(n, 1000))
	// A receive waits until its batch is full or ReceiveWait passes: a
	// smaller batch than the prefetch keeps a trickle moving.
	return n, min(n, 100)
}

func sdkStart(s StartPosition) azeventhubs.StartPosition {
	t := true
	switch {
	case s.Earliest:
		return azeventhubs.StartPosition{Earliest: &t}
	case !s.Time.IsZero():
		tm := s.Time
		return azeventhubs.StartPosition{EnqueuedTime: &tm, Inclusive: true}
	}
	return azeventhubs.StartPosition{Latest: &t}
}
