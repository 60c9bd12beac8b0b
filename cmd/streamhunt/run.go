package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/checkpoint"
	cpblob "github.com/streamhunt/streamhunt/checkpoint/blob"
	cpfile "github.com/streamhunt/streamhunt/checkpoint/file"
	"github.com/streamhunt/streamhunt/consumer/eventhubs"
	"github.com/streamhunt/streamhunt/internal/config"
	"github.com/streamhunt/streamhunt/internal/ops"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/deadletter"
	"github.com/streamhunt/streamhunt/sink/fanout"
)

func init() {
	register(command{name: "run", summary: "consume the sign-in hubs from Event Hubs and deliver findings (the service)", run: runService})
}

func runService(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "the YAML configuration `FILE` (required; see docs/configuration.md)")
	check := fs.Bool("check", false, "validate the configuration and compile the rules, then exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: streamhunt run --config FILE [--check]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *path == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "streamhunt run: --config FILE is required and nothing else may follow the flags")
		fs.Usage()
		return exitUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "streamhunt run: %v\n", err)
		return exitUsage
	}
	rs, err := loadRuleSet("run", *cfg.Rules.Builtin, cfg.Rules.Paths, nil, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "streamhunt run: rules: %v\n", err)
		return exitUsage
	}
	if len(rs) == 0 {
		fmt.Fprintln(stderr, "streamhunt run: rules: no rules to run: rules.builtin is false and rules.paths holds no rule file; set rules.builtin: true or add .kql/.yaml/.md files")
		return exitUsage
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	if err := config.CheckRuleGlobs(cfg, ids); err != nil {
		fmt.Fprintf(stderr, "streamhunt run: configuration %s:\n%v\n", *path, err)
		return exitUsage
	}
	p, err := pipeline.New(rs, pipeline.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "streamhunt run: rules do not compile:\n%v\n", err)
		return exitUsage
	}
	printRuleWarnings(stderr, p)
	if *check {
		fmt.Fprintf(stdout, "configuration OK: %s, %s, %s\n", plural(len(cfg.Source.Hubs), "event hub"), plural(len(rs), "rule"), plural(len(cfg.Sinks.Sinks), "sink"))
		return exitOK
	}
	if err := serve(ctx, cfg, p, stderr); err != nil {
		fmt.Fprintf(stderr, "streamhunt run: %v\n", err)
		return exitIO
	}
	return exitOK
}

// serve runs the service until ctx ends (SIGTERM), then shuts down in order.
func serve(ctx context.Context, cfg *config.Config, p *pipeline.Pipeline, stderr io.Writer) error {
	logger, err := ops.NewLogger(cfg.Ops, ops.WithSecrets(cfg.Secrets()...), ops.WithOutput(stderr))
	if err != nil {
		return err
	}
	defer logger.Sync() //nolint:errcheck // nothing to do about it at exit
	health := ops.NewHealth(ops.HealthOptionsFrom(cfg.Ops))

	opsCtx, stopOps := context.WithCancel(context.Background())
	opsDone := make(chan error, 1)
	go func() { opsDone <- ops.Serve(opsCtx, cfg.Ops, health, logger) }()
	defer func() { stopOps(); <-opsDone }()

	sk, dlw, err := buildSinks(cfg, logger, nil)
	if err != nil {
		return err
	}
	defer closeWithTimeout(logger, "dead letters", dlw.Close)
	defer closeWithTimeout(logger, "sinks", sk.Close) // before the dead letters: a closing sink may still dead-letter

	store, err := openCheckpointStore(ctx, cfg.Checkpoints, cfg.Source.OwnershipExpiry, logger)
	if err != nil {
		health.Report(ops.ComponentCheckpointStore, err)
		return err
	}
	health.Report(ops.ComponentCheckpointStore, nil)

	opts := consumerOptions(cfg)
	if opts.Namespace != "" {
		if opts.Credential, err = credential(); err != nil {
			return fmt.Errorf("source.namespace: %w", err)
		}
	}
	opts.Store, opts.Sink, opts.DeadLetters, opts.Logger, opts.Health = store, sk, dlw, logger, health
	opts.Processor = eventhubs.ProcessorFunc(func(body []byte, src pipeline.Source) eventhubs.Result {
		r := p.Process(pipeline.Event{Body: body, Source: src})
		return eventhubs.Result{Findings: r.Findings, DeadLetters: r.DeadLetters, Records: r.Records}
	})
	c, err := eventhubs.New(opts)
	if err != nil {
		return err
	}

	// A sign-in category that stops flowing is itself a finding (T1562.008).
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watch := ops.NewSilenceWatch(ops.SilenceOptions{After: cfg.Ops.SilenceAfter, Logger: logger, OnSilence: func(f pipeline.Finding) {
		wctx, cancel := context.WithTimeout(watchCtx, time.Minute)
		defer cancel()
		if err := sk.Write(wctx, sink.Batch{Range: sink.Range{EventHub: f.Source.EventHub}, Findings: []pipeline.Finding{f}}); err != nil {
			logger.Warn("cannot deliver the silence finding", zap.Error(err))
		}
	}})
	go watch.Run(watchCtx) //nolint:errcheck // returns nil when ctx ends

	logger.Info("streamhunt run starting", zap.Strings("hubs", cfg.Source.Hubs), zap.String("namespace", cfg.Source.FullyQualifiedNamespace),
		zap.String("consumerGroup", cfg.Source.ConsumerGroup), zap.String("checkpoints", store.Where()), zap.Int("rules", len(p.Rules())))
	select {
	case err := <-opsDone:
		opsDone <- err
		if err != nil {
			return err
		}
	default:
	}
	if err := c.Run(ctx); err != nil {
		return err
	}
	logger.Info("streamhunt run stopped: in-flight findings delivered, checkpoints written, ownership released")
	return nil
}

// buildSinks builds what the configuration's sinks and deadLetter sections
// describe: the dead letter writer, and every sink with its routing,
// minimisation and storm control behind one fan-out that applies the
// allowlists. run and replay --config both use it. wrap, when not nil, wraps
// the dead letter writer (replay counts dead letters by reason) before the
// sinks get it. The caller closes the sinks, then the dead letter writer.
func buildSinks(cfg *config.Config, logger *zap.Logger, wrap func(sink.DeadLetterWriter) sink.DeadLetterWriter) (*fanout.Fanout, sink.DeadLetterWriter, error) {
	dlw, err := deadletter.Build(cfg.DeadLetter)
	if err != nil {
		return nil, nil, fmt.Errorf("deadLetter: %w", err)
	}
	if wrap != nil {
		dlw = wrap(dlw)
	}
	sk, err := fanout.Build(cfg.Sinks, dlw, logger)
	if err != nil {
		_ = dlw.Close(context.Background())
		return nil, nil, err
	}
	return sk, dlw, nil
}

// consumerOptions maps the configuration onto the consumer's options.
func consumerOptions(cfg *config.Config) eventhubs.Options {
	s := cfg.Source
	o := eventhubs.Options{
		ConnectionString:   s.ConnectionString,
		Hubs:               s.Hubs,
		ConsumerGroup:      s.ConsumerGroup,
		Start:              eventhubs.StartPosition{Earliest: s.Start.Earliest, Time: s.Start.Time},
		Strategy:           azeventhubs.ProcessorStrategy(s.LoadBalancing),
		UpdateInterval:     s.UpdateInterval,
		OwnershipExpiry:    s.OwnershipExpiry,
		MemoryBudget:       int64(s.MemoryBudget),
		MaxEventBytes:      int64(s.MaxEventBytes),
		ReceiveWait:        s.ReceiveWait,
		PartitionRefresh:   s.PartitionRefresh,
		CheckpointEvery:    cfg.Checkpoints.Every,
		CheckpointInterval: cfg.Checkpoints.Interval,
		StuckAfter:         cfg.Ops.StuckAfter,
		ShutdownTimeout:    cfg.Processing.ShutdownTimeout,
	}
	if s.ConnectionString == "" {
		o.Namespace = s.FullyQualifiedNamespace
	}
	return o
}

// credential is DefaultAzureCredential: workload identity, managed identity,
// environment, Azure CLI.
func credential() (azcore.TokenCredential, error) {
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("no Entra ID credential (%w): use workload identity or a managed identity, set AZURE_CLIENT_ID/AZURE_TENANT_ID, or use a connection string", err)
	}
	return cred, nil
}

// openCheckpointStore opens the blob container (creating it if missing) or
// the local directory the configuration names.
func openCheckpointStore(ctx context.Context, c config.Checkpoints, expiry time.Duration, logger *zap.Logger) (checkpoint.Store, error) {
	if c.Dir != "" {
		return cpfile.New(c.Dir, cpfile.Options{OwnershipExpiry: expiry})
	}
	var svc *azblob.Client
	var err error
	if c.ConnectionString != "" {
		if svc, err = azblob.NewClientFromConnectionString(c.ConnectionString, nil); err != nil {
			return nil, errors.New("checkpoints.connectionString cannot be parsed as a storage connection string")
		}
	} else {
		cred, err := credential()
		if err != nil {
			return nil, fmt.Errorf("checkpoints.accountUrl: %w", err)
		}
		if svc, err = azblob.NewClient(c.AccountURL, cred, nil); err != nil {
			return nil, fmt.Errorf("checkpoints.accountUrl: %w", err)
		}
	}
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if on, err := cpblob.SoftDeleteEnabled(octx, svc.ServiceClient()); on && err == nil && logger != nil {
		logger.Warn("blob soft delete is on for the checkpoint account: every checkpoint update leaves a deleted version and listing slows down over time; turn it off for this account or use an account of its own")
	}
	return cpblob.New(octx, svc.ServiceClient().NewContainerClient(c.Container), cpblob.Options{OwnershipExpiry: expiry})
}

func closeWithTimeout(logger *zap.Logger, what string, close func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := close(ctx); err != nil {
		logger.Warn("closing "+what+" failed", zap.Error(err))
	}
}
