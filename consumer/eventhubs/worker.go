package eventhubs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/checkpoint"
	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
)

// worker reads one owned partition in order until it is stopped, loses the
// partition, or fails; then the Processor hands the partition (to this
// replica or another) to a new worker, which starts at the checkpoint.
type worker struct {
	c         *Consumer
	hub, part string
	pc        *azeventhubs.ProcessorPartitionClient
	props     partitionProps
	store     *hubStore
	batch     int
	log       *zap.Logger

	ctx      context.Context // cancelled on stop: ends a receive at once
	cancel   context.CancelFunc
	stopOnce sync.Once
	stopped  chan struct{}
	done     chan struct{}

	lost         atomic.Bool  // ownership lost: drop pending checkpoints
	stuck        atomic.Bool  // stopped because stuck: readiness stays failed until events flow
	idle         atomic.Bool  // waiting in ReceiveEvents
	lastReceived atomic.Int64 // unix nanoseconds
	lastSeq      atomic.Int64 // last sequence number received (or the checkpoint's)
	startSeq     int64        // the checkpoint's sequence number at start
	beyondErr    error        // why the partition is held (checkpoint beyond its end)
}

func newWorker(c *Consumer, hub string, pc *azeventhubs.ProcessorPartitionClient, props partitionProps, store *hubStore, batch int, log *zap.Logger) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{c: c, hub: hub, part: pc.PartitionID(), pc: pc, props: props, store: store, batch: batch, log: log,
		ctx: ctx, cancel: cancel, stopped: make(chan struct{}), done: make(chan struct{})}
	w.lastReceived.Store(time.Now().UnixNano())
	w.lastSeq.Store(-1)
	w.startSeq = -1
	return w
}

// stop asks the worker to stop receiving, deliver what it holds and
// checkpoint; it does not wait.
func (w *worker) stop() {
	w.stopOnce.Do(func() {
		close(w.stopped)
		w.cancel()
	})
}

// delivery is one received batch, processed, waiting for the sink.
type delivery struct {
	rng         sink.Range
	findings    []pipeline.Finding
	deadLetters []pipeline.DeadLetter
	lastSeq     int64
	lastOffset  string
	events      int
	enqueued    []time.Time
}

func isOwnershipLost(err error) bool {
	var e *azeventhubs.Error
	return errors.As(err, &e) && e.Code == azeventhubs.ErrorCodeOwnershipLost
}

func (w *worker) run() {
	defer close(w.done)
	defer w.cancel()
	owned := metrics.PartitionsOwned.WithLabelValues(w.hub)
	owned.Inc()
	defer owned.Dec()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = w.pc.Close(cctx)
		cancel()
	}()
	defer func() {
		if !w.stuck.Load() {
			w.c.opts.Health.SetStuck(w.hub, w.part, false)
		}
		// Another replica may own the partition now: its gauges are not ours.
		metrics.PartitionLag.DeleteLabelValues(w.hub, w.part)
		metrics.CheckpointAge.DeleteLabelValues(w.hub, w.part)
	}()

	start, hasStart := w.store.lastListed(w.part)
	if hasStart {
		w.lastSeq.Store(*start.SequenceNumber)
		w.startSeq = *start.SequenceNumber
		if w.beyondEnd(start) {
			w.holdBeyondEnd()
			return
		}
	}
	w.log.Info("reading partition", zap.Bool("fromCheckpoint", hasStart), zap.Int64("checkpointSequenceNumber", w.lastSeq.Load()))

	deliveries := make(chan delivery, w.c.opts.InFlight)
	dctx, dcancel := context.WithCancel(context.Background())
	defer dcancel()
	deliverDone := make(chan struct{})
	cp := &checkpointer{w: w, lastWrite: time.Now()}
	if hasStart {
		cp.written, cp.hasWritten = *start.SequenceNumber, true
	}
	go w.deliver(dctx, deliveries, deliverDone, cp)
	watchDone := make(chan struct{})
	go w.watch(watchDone)
	defer func() { <-watchDone }()

	w.receive(deliveries)
	close(deliveries)
	if w.lost.Load() {
		dcancel() // the new owner re-reads from its checkpoint; nothing here counts now
	} else {
		select {
		case <-deliverDone:
		case <-time.After(w.c.opts.ShutdownTimeout):
			w.log.Warn("in-flight findings were not delivered within the shutdown timeout; they will be read again from the checkpoint",
				zap.Duration("shutdownTimeout", w.c.opts.ShutdownTimeout))
			dcancel()
		}
	}
	<-deliverDone
}

// receive reads until stopped, the partition is lost, or the link fails.
func (w *worker) receive(deliveries chan<- delivery) {
	for {
		select {
		case <-w.stopped:
			return
		default:
		}
		rctx, cancel := context.WithTimeout(w.ctx, w.c.opts.ReceiveWait)
		w.idle.Store(true)
		events, err := w.pc.ReceiveEvents(rctx, w.batch, nil)
		w.idle.Store(false)
		cancel()
		if len(events) > 0 {
			if w.lastSeq.Load() == w.startSeq {
				w.c.opts.Health.SetStuck(w.hub, w.part, false) // a stuck restart helped
			}
			w.lastReceived.Store(time.Now().UnixNano())
			w.lastSeq.Store(events[len(events)-1].SequenceNumber)
			d := w.process(events)
			select {
			case deliveries <- d:
			case <-w.stopped:
				return // not delivered, not checkpointed: read again later
			}
		}
		switch {
		case err == nil, errors.Is(err, context.DeadlineExceeded) && w.ctx.Err() == nil:
			continue
		case isOwnershipLost(err):
			w.ownershipLost("another replica opened the partition")
			return
		case w.ctx.Err() != nil:
			return
		default:
			metrics.ProcessorRestarts.WithLabelValues(w.hub, "receive-error").Inc()
			w.c.opts.Health.Report(ComponentEventHubs, err)
			w.log.Warn("receiving failed; the partition will be reopened from its checkpoint", zap.Error(err))
			return
		}
	}
}

func (w *worker) ownershipLost(why string) {
	if w.lost.CompareAndSwap(false, true) {
		metrics.OwnershipLost.WithLabelValues(w.hub, w.part).Inc()
		w.log.Info("ownership lost; stopping the partition at once and dropping its pending checkpoint", zap.String("why", why))
		w.stop()
	}
}

// process runs every event body through the Processor.
func (w *worker) process(events []*azeventhubs.ReceivedEventData) delivery {
	first, last := events[0], events[len(events)-1]
	d := delivery{
		rng:     sink.Range{EventHub: w.hub, Partition: w.part, FirstSequence: first.SequenceNumber, LastSequence: last.SequenceNumber},
		lastSeq: last.SequenceNumber, lastOffset: last.Offset, events: len(events),
		enqueued: make([]time.Time, 0, len(events)),
	}
	evs := metrics.EventsReceived.WithLabelValues(w.hub, w.part)
	bytes := metrics.BytesReceived.WithLabelValues(w.hub, w.part)
	recs := metrics.RecordsReceived.WithLabelValues(w.hub, w.part)
	for _, e := range events {
		seq := e.SequenceNumber
		src := pipeline.Source{EventHub: w.hub, Partition: w.part, SequenceNumber: &seq, Offset: e.Offset}
		if e.EnqueuedTime != nil {
			src.EnqueuedTime = *e.EnqueuedTime
			d.enqueued = append(d.enqueued, *e.EnqueuedTime)
		}
		res := w.processOne(e.Body, src)
		evs.Inc()
		bytes.Add(float64(len(e.Body)))
		recs.Add(float64(res.Records))
		d.findings = append(d.findings, res.Findings...)
		d.deadLetters = append(d.deadLetters, res.DeadLetters...)
	}
	return d
}

// processOne shields the partition from a body that makes the Processor
// panic: the body is dead-lettered and the partition moves on.
func (w *worker) processOne(body []byte, src pipeline.Source) (res Result) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("processing a body panicked; it is dead-lettered", zap.Int64("sequenceNumber", *src.SequenceNumber), zap.Any("panic", r))
			res = Result{DeadLetters: []pipeline.DeadLetter{{
				Time: time.Now().UTC(), Reason: "processor-panic", Error: fmt.Sprintf("processing panicked: %v", r), Source: src, Raw: body,
			}}}
		}
	}()
	return w.c.opts.Processor.Process(body, src)
}

// deliver sends batches in order and checkpoints what was acknowledged.
func (w *worker) deliver(ctx context.Context, in <-chan delivery, done chan<- struct{}, cp *checkpointer) {
	defer close(done)
	tick := time.NewTicker(max(w.c.opts.CheckpointInterval/4, 10*time.Millisecond))
	defer tick.Stop()
	age := metrics.CheckpointAge.WithLabelValues(w.hub, w.part)
	final := func() {
		if w.lost.Load() {
			return
		}
		fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cp.flush(fctx)
		cancel()
	}
	for {
		select {
		case d, ok := <-in:
			if !ok {
				final()
				return
			}
			if !w.send(ctx, d) {
				final() // what was acknowledged before still counts
				return
			}
			cp.ack(d.lastSeq, d.lastOffset, d.events)
			if cp.due(time.Now()) {
				cp.flush(ctx)
			}
		case now := <-tick.C:
			if cp.due(now) {
				cp.flush(ctx)
			}
			age.Set(now.Sub(cp.lastWrite).Seconds())
		}
	}
}

// send delivers one batch (dead letters first, then findings), retrying
// until it succeeds or ctx ends; it reports whether the batch was delivered.
func (w *worker) send(ctx context.Context, d delivery) bool {
	backoff := w.c.opts.RetryBackoff
	dlDone := len(d.deadLetters) == 0
	for {
		var err error
		if !dlDone {
			if err = w.c.opts.DeadLetters.WriteDeadLetters(ctx, d.deadLetters); err == nil {
				dlDone = true
				w.log.Warn("bodies dead-lettered", zap.Int("count", len(d.deadLetters)), zap.String("where", w.c.opts.DeadLetters.Where()))
			} else {
				err = fmt.Errorf("dead letters to %s: %w", w.c.opts.DeadLetters.Where(), err)
			}
		}
		if err == nil && len(d.findings) > 0 {
			if err = w.c.opts.Sink.Write(ctx, sink.Batch{Range: d.rng, Findings: d.findings}); err != nil {
				err = fmt.Errorf("sink %s: %w", w.c.opts.Sink.Name(), err)
			}
		}
		if err == nil {
			now := time.Now()
			e2e := metrics.EndToEndLatency.WithLabelValues(w.hub)
			for _, t := range d.enqueued {
				e2e.Observe(now.Sub(t).Seconds())
			}
			s2d := metrics.SignInToDeliveryLatency.WithLabelValues(w.hub)
			for _, f := range d.findings {
				if !f.EventTime.IsZero() {
					s2d.Observe(now.Sub(f.EventTime).Seconds())
				}
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		w.log.Warn("delivery failed; consumption of the partition pauses and its checkpoint holds until it succeeds",
			zap.Int64("firstSequenceNumber", d.rng.FirstSequence), zap.Int64("lastSequenceNumber", d.rng.LastSequence),
			zap.Duration("retryIn", backoff), zap.Error(err))
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, w.c.opts.MaxRetryBackoff)
	}
}

// checkpointer holds a partition's acknowledged position and writes it in
// batches: every CheckpointEvery events or CheckpointInterval, never for an
// empty batch, never backwards.
type checkpointer struct {
	w          *worker
	acked      bool
	seq        int64
	offset     string
	pending    int
	written    int64
	hasWritten bool
	lastWrite  time.Time
}

func (c *checkpointer) ack(seq int64, offset string, events int) {
	c.acked, c.seq, c.offset = true, seq, offset
	c.pending += events
}

func (c *checkpointer) due(now time.Time) bool {
	if !c.acked || (c.hasWritten && c.seq <= c.written) {
		return false
	}
	return c.pending >= c.w.c.opts.CheckpointEvery || now.Sub(c.lastWrite) >= c.w.c.opts.CheckpointInterval
}

func (c *checkpointer) flush(ctx context.Context) {
	if !c.acked || (c.hasWritten && c.seq <= c.written) || c.w.lost.Load() {
		return
	}
	err := c.w.pc.UpdateCheckpoint(ctx, &azeventhubs.ReceivedEventData{SequenceNumber: c.seq, Offset: c.offset}, nil)
	if errors.Is(err, checkpoint.ErrNotOwner) {
		c.w.ownershipLost("the checkpoint store no longer holds our claim")
		return
	}
	if err != nil {
		c.w.c.opts.Health.Report(ComponentCheckpointStore, err)
		c.w.log.Warn("checkpoint write failed; retrying at the next one", zap.Int64("sequenceNumber", c.seq), zap.Error(err))
		return
	}
	c.w.c.opts.Health.Report(ComponentCheckpointStore, nil)
	c.written, c.hasWritten, c.pending, c.lastWrite = c.seq, true, 0, time.Now()
	metrics.CheckpointAge.WithLabelValues(c.w.hub, c.w.part).Set(0)
}

// watch measures lag and restarts the worker when it is stuck: idle in
// receive for StuckAfter while the partition has events it has not read.
func (w *worker) watch(done chan<- struct{}) {
	defer close(done)
	every := max(min(w.c.opts.UpdateInterval, w.c.opts.StuckAfter/2), 10*time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	lag := metrics.PartitionLag.WithLabelValues(w.hub, w.part)
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-tick.C:
		}
		pctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
		p, err := w.props.GetPartitionProperties(pctx, w.part, nil)
		cancel()
		if err != nil {
			continue
		}
		l := p.LastEnqueuedSequenceNumber - w.lastSeq.Load()
		lag.Set(float64(max(l, 0)))
		silent := time.Since(time.Unix(0, w.lastReceived.Load()))
		if l > 0 && w.idle.Load() && silent > w.c.opts.StuckAfter {
			w.c.opts.Health.SetStuck(w.hub, w.part, true)
			w.stuck.Store(true)
			metrics.ProcessorRestarts.WithLabelValues(w.hub, "stuck").Inc()
			w.log.Warn("partition is stuck: received nothing while it has lag; reopening it",
				zap.Int64("lag", l), zap.Duration("silentFor", silent))
			w.stop()
			return
		}
	}
}

// beyondEnd reports a checkpoint past the partition's last event, which
// happens when a hub is deleted and recreated under the same name. Reading
// on would silently skip or rewind; the operator decides instead.
func (w *worker) beyondEnd(cp azeventhubs.Checkpoint) bool {
	pctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
	defer cancel()
	p, err := w.props.GetPartitionProperties(pctx, w.part, nil)
	if err != nil {
		return false
	}
	if *cp.SequenceNumber <= p.LastEnqueuedSequenceNumber {
		return false
	}
	metrics.CheckpointBeyondEnd.WithLabelValues(w.hub, w.part).Inc()
	err = fmt.Errorf("checkpoint of partition %s of %s is at sequence number %d, beyond the partition's last event %d: was the hub recreated? "+
		"Nothing is read from this partition until an operator moves the checkpoint with `streamhunt checkpoints reset --to earliest|latest|TIME --partition %s`",
		w.part, w.hub, *cp.SequenceNumber, p.LastEnqueuedSequenceNumber, w.part)
	w.c.opts.Health.Report(w.component(), err)
	w.beyondErr = err
	w.log.Error("checkpoint beyond the end of its partition", zap.Int64("checkpointSequenceNumber", *cp.SequenceNumber),
		zap.Int64("lastEnqueuedSequenceNumber", p.LastEnqueuedSequenceNumber), zap.Error(err))
	return true
}

// holdBeyondEnd keeps the partition (so no other replica silently reads it
// from the wrong place) without processing anything, until it is stopped,
// lost, or an operator moved the checkpoint back within the partition.
func (w *worker) holdBeyondEnd() {
	check := time.NewTicker(w.c.opts.UpdateInterval)
	defer check.Stop()
	for {
		rctx, cancel := context.WithTimeout(w.ctx, w.c.opts.ReceiveWait)
		_, err := w.pc.ReceiveEvents(rctx, 1, nil) // only to notice a lost link; never processed or checkpointed
		cancel()
		if isOwnershipLost(err) {
			w.ownershipLost("another replica opened the partition")
			return
		}
		select {
		case <-w.stopped:
			return
		case <-check.C:
			w.c.opts.Health.Report(w.component(), w.beyondErr) // persistent: /readyz fails until resolved
			cps, err := w.store.listCurrent(w.ctx)
			if err != nil {
				continue
			}
			for _, c := range cps {
				if c.PartitionID == w.part && !w.beyondEndQuiet(c) {
					w.log.Info("the checkpoint was moved within the partition; reopening it", zap.Int64("sequenceNumber", *c.SequenceNumber))
					w.c.opts.Health.Report(w.component(), nil)
					return
				}
			}
		default:
		}
	}
}

func (w *worker) beyondEndQuiet(cp azeventhubs.Checkpoint) bool {
	pctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
	defer cancel()
	p, err := w.props.GetPartitionProperties(pctx, w.part, nil)
	return err != nil || *cp.SequenceNumber > p.LastEnqueuedSequenceNumber
}

// component names the partition for health reports that concern it alone.
func (w *worker) component() string { return "partition " + w.hub + "/" + w.part }
