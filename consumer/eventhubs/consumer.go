// Package eventhubs consumes Entra ID sign-in logs from Azure Event Hubs with
// the azeventhubs v2 Processor: replicas share the partitions through blob
// ownership, one worker per owned partition reads in order, every body goes
// through the Processor (decode and detect), findings go to the sink, and a
// partition's checkpoint moves past an event only once the sink has
// acknowledged every finding of it and of every earlier event.
package eventhubs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/checkpoint"
	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
)

// Processor decodes one event body and runs the rules on its records. It
// must be safe for concurrent use by several partition workers.
type Processor interface {
	Process(body []byte, src pipeline.Source) Result
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc func(body []byte, src pipeline.Source) Result

// Process calls f.
func (f ProcessorFunc) Process(body []byte, src pipeline.Source) Result { return f(body, src) }

// Result is what one body produced.
type Result struct {
	Findings    []pipeline.Finding
	DeadLetters []pipeline.DeadLetter
	Records     int
}

// Health receives the consumer's component reports and stuck partitions;
// *ops.Health implements it.
type Health interface {
	Report(component string, err error)
	SetStuck(hub, partition string, stuck bool)
}

// Health components the consumer reports under.
const (
	ComponentEventHubs       = "eventhubs"
	ComponentCheckpointStore = "checkpoint-store"
)

// StartPosition is where a partition without a checkpoint starts: the
// latest event (zero value), the earliest, or the first at or after Time.
type StartPosition struct {
	Earliest bool
	Time     time.Time
}

// Options configure a Consumer. Zero durations and sizes take the defaults
// of internal/config.
type Options struct {
	// ConnectionString authenticates with a shared access key; with
	// EntityPath it names the only hub. Otherwise Namespace (FQDN) and
	// Credential are used.
	ConnectionString string
	Namespace        string
	Credential       azcore.TokenCredential
	// ClientOptions are passed to every ConsumerClient (TLS, retries, InstanceID).
	ClientOptions azeventhubs.ConsumerClientOptions

	Hubs          []string
	ConsumerGroup string
	Start         StartPosition

	Strategy        azeventhubs.ProcessorStrategy
	UpdateInterval  time.Duration
	OwnershipExpiry time.Duration
	// MemoryBudget and MaxEventBytes derive prefetch and batch size.
	MemoryBudget  int64
	MaxEventBytes int64
	// ReceiveWait is how long one receive waits to fill a batch.
	ReceiveWait time.Duration
	// PartitionRefresh is how often partition counts are checked.
	PartitionRefresh time.Duration
	// CheckpointEvery and CheckpointInterval: a checkpoint is written when
	// this many acknowledged events are unwritten, or they have waited this long.
	CheckpointEvery    int
	CheckpointInterval time.Duration
	// StuckAfter: a worker idle this long while its partition has lag is restarted.
	StuckAfter time.Duration
	// ShutdownTimeout bounds delivery of in-flight findings on shutdown.
	ShutdownTimeout time.Duration
	// RetryBackoff is the first wait before redelivering a failed batch
	// (doubling up to MaxRetryBackoff).
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// InFlight is how many processed batches per partition may wait for delivery.
	InFlight int

	Store       checkpoint.Store
	Processor   Processor
	Sink        sink.Sink
	DeadLetters sink.DeadLetterWriter
	Logger      *zap.Logger
	Health      Health
}

func (o *Options) defaults() error {
	var errs []error
	if o.ConnectionString == "" && (o.Namespace == "" || o.Credential == nil) {
		errs = append(errs, errors.New("a connection string, or a namespace and a credential, is needed"))
	}
	if len(o.Hubs) == 0 {
		errs = append(errs, errors.New("no event hub to read"))
	}
	if o.Store == nil || o.Processor == nil || o.Sink == nil || o.DeadLetters == nil {
		errs = append(errs, errors.New("Store, Processor, Sink and DeadLetters are all needed"))
	}
	if o.ConsumerGroup == "" {
		o.ConsumerGroup = azeventhubs.DefaultConsumerGroup
	}
	if o.Strategy == "" {
		o.Strategy = azeventhubs.ProcessorStrategyBalanced
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.UpdateInterval, 10*time.Second)
	def(&o.OwnershipExpiry, time.Minute)
	def(&o.ReceiveWait, time.Second)
	def(&o.PartitionRefresh, time.Minute)
	def(&o.CheckpointInterval, 10*time.Second)
	def(&o.StuckAfter, 5*time.Minute)
	def(&o.ShutdownTimeout, 30*time.Second)
	def(&o.RetryBackoff, time.Second)
	def(&o.MaxRetryBackoff, 30*time.Second)
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 1000
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = 256 << 20
	}
	if o.MaxEventBytes <= 0 {
		o.MaxEventBytes = 1 << 20
	}
	if o.InFlight <= 0 {
		o.InFlight = 4
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Health == nil {
		o.Health = metricsOnlyHealth{}
	}
	return errors.Join(errs...)
}

// metricsOnlyHealth sets the stuck gauge when no Health is given.
type metricsOnlyHealth struct{}

func (metricsOnlyHealth) Report(string, error) {}
func (metricsOnlyHealth) SetStuck(hub, partition string, stuck bool) {
	v := 0.0
	if stuck {
		v = 1
	}
	metrics.StuckPartitions.WithLabelValues(hub, partition).Set(v)
}

// Consumer reads the configured hubs until its context ends.
type Consumer struct {
	opts Options
	log  *zap.Logger
}

// New checks the options and returns a Consumer; nothing connects until Run.
func New(opts Options) (*Consumer, error) {
	if err := opts.defaults(); err != nil {
		return nil, fmt.Errorf("event hubs consumer: %w", err)
	}
	return &Consumer{opts: opts, log: opts.Logger}, nil
}

// newClient opens a ConsumerClient for one hub.
func (c *Consumer) newClient(hub string) (*azeventhubs.ConsumerClient, error) {
	co := c.opts.ClientOptions
	if c.opts.ConnectionString != "" {
		props, err := azeventhubs.ParseConnectionString(c.opts.ConnectionString)
		if err != nil {
			return nil, errors.New("the Event Hubs connection string cannot be parsed")
		}
		name := hub
		if props.EntityPath != nil {
			if *props.EntityPath != hub {
				return nil, fmt.Errorf("the connection string's EntityPath %q differs from hub %q", *props.EntityPath, hub)
			}
			name = "" // the SDK refuses both
		}
		cl, err := azeventhubs.NewConsumerClientFromConnectionString(c.opts.ConnectionString, name, c.opts.ConsumerGroup, &co)
		if err != nil {
			return nil, fmt.Errorf("event hub %s: %w", hub, err)
		}
		return cl, nil
	}
	cl, err := azeventhubs.NewConsumerClient(c.opts.Namespace, hub, c.opts.ConsumerGroup, c.opts.Credential, &co)
	if err != nil {
		return nil, fmt.Errorf("event hub %s in %s: %w", hub, c.opts.Namespace, err)
	}
	return cl, nil
}

// Run consumes until ctx ends, then shuts down in order: stop receiving,
// deliver what is in flight (up to ShutdownTimeout), write final
// checkpoints, release ownership. It returns nil after a clean shutdown,
// or the error that prevented starting.
func (c *Consumer) Run(ctx context.Context) error {
	clients := make([]*azeventhubs.ConsumerClient, len(c.opts.Hubs))
	defer func() {
		for _, cl := range clients {
			if cl != nil {
				cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_ = cl.Close(cctx)
				cancel()
			}
		}
	}()
	total := 0
	for i, h := range c.opts.Hubs {
		cl, err := c.newClient(h)
		if err != nil {
			return err
		}
		clients[i] = cl
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		props, err := cl.GetEventHubProperties(pctx, nil)
		cancel()
		if err != nil {
			c.opts.Health.Report(ComponentEventHubs, err)
			return fmt.Errorf("cannot read event hub %s (check the namespace, hub name, consumer group and the Listen right): %w", h, err)
		}
		c.opts.Health.Report(ComponentEventHubs, nil)
		total += len(props.PartitionIDs)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(clients))
	for i, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &hubRunner{c: c, hub: c.opts.Hubs[i], client: cl, totalPartitions: total}
			errs[i] = r.run(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
