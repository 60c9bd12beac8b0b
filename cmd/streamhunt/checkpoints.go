package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/streamhunt/streamhunt/checkpoint"
	"github.com/streamhunt/streamhunt/internal/config"
)

func init() {
	register(command{name: "checkpoints", summary: "list the consumer's checkpoints, or move them (reset --to earliest|latest|TIME)", run: runCheckpoints})
}

const checkpointsUsage = `Usage:
  streamhunt checkpoints list  --config FILE [--hub HUB] [--timeout DURATION]
  streamhunt checkpoints reset --config FILE --to earliest|latest|TIME [--hub HUB] [--partition N] [--force] [--timeout DURATION]

list shows, per partition, the checkpoint, the last enqueued event, the lag
and the owner. reset moves checkpoints (also backwards): earliest re-reads
everything retained, latest skips to the end, TIME (RFC 3339) starts at the
first event enqueued at or after it. Stop the consumers first: reset refuses
partitions with a live owner unless --force. Either gives up after --timeout
(default 1m) when Event Hubs or the checkpoint store cannot be reached.
`

func runCheckpoints(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "reset") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, checkpointsUsage)
			return exitOK
		}
		fmt.Fprint(stderr, "streamhunt checkpoints: name a subcommand, list or reset\n\n"+checkpointsUsage)
		return exitUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("checkpoints "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, checkpointsUsage) }
	path := fs.String("config", "", "the run configuration `FILE`")
	hub := fs.String("hub", "", "only this event `HUB` (default: every configured hub)")
	to := fs.String("to", "", "reset: earliest, latest or an RFC 3339 `TIME`")
	part := fs.String("partition", "", "reset: only this `PARTITION` id")
	force := fs.Bool("force", false, "reset: also partitions that a running consumer owns")
	timeout := fs.Duration("timeout", time.Minute, "give up reaching Event Hubs and the checkpoint store after `DURATION`")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	err := func() error {
		if *path == "" || fs.NArg() > 0 {
			return usagef("--config FILE is required and nothing else may follow the flags")
		}
		if sub == "list" && (*to != "" || *part != "" || *force) {
			return usagef("--to, --partition and --force are for reset")
		}
		var target resetTarget
		if sub == "reset" {
			var err error
			if target, err = parseResetTarget(*to); err != nil {
				return err
			}
		}
		cfg, err := config.Load(*path)
		if err != nil {
			return usageError{err}
		}
		hubs := cfg.Source.Hubs
		if *hub != "" {
			if !containsFold(hubs, *hub) {
				return usagef("--hub %q is not one of the configured hubs %v", *hub, hubs)
			}
			hubs = []string{*hub}
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		store, err := openCheckpointStore(ctx, cfg.Checkpoints, cfg.Source.OwnershipExpiry, nil)
		if err != nil {
			return unreachable(ctx, "the checkpoint store", *timeout, err)
		}
		for _, h := range hubs {
			fmt.Fprintf(stderr, "streamhunt checkpoints %s: reading event hub %s (partitions, checkpoints, owners)...\n", sub, h)
			hv, err := openHubView(ctx, cfg, store, h)
			if err != nil {
				return unreachable(ctx, "event hub "+h, *timeout, err)
			}
			if sub == "list" {
				err = hv.list(stdout)
			} else {
				err = hv.reset(ctx, target, *part, *force, stdout)
			}
			hv.close()
			if err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintf(stderr, "streamhunt checkpoints %s: %v\n", sub, err)
		return exitCode(err)
	}
	return exitOK
}

// unreachable explains an error that came from running out of time: the
// SDKs retry a namespace or account they cannot reach until the deadline.
func unreachable(ctx context.Context, what string, timeout time.Duration, err error) error {
	if ctx.Err() == nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("could not reach %s within %s (--timeout): check source.namespace or source.connectionString, "+
		"checkpoints.accountUrl or its connection string, the credential, and that this machine can reach Azure "+
		"(Event Hubs on port 5671 or 443, Blob Storage on 443): %w", what, timeout, err)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// resetTarget is where reset moves checkpoints.
type resetTarget struct {
	earliest, latest bool
	time             time.Time
}

func parseResetTarget(s string) (resetTarget, error) {
	switch strings.ToLower(s) {
	case "":
		return resetTarget{}, usagef("reset needs --to earliest, latest or an RFC 3339 time")
	case "earliest":
		return resetTarget{earliest: true}, nil
	case "latest":
		return resetTarget{latest: true}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return resetTarget{}, usagef("--to %q is not earliest, latest or an RFC 3339 time such as 2026-01-02T15:04:05Z", s)
	}
	return resetTarget{time: t}, nil
}

// hubView is one hub's partitions, checkpoints and owners.
type hubView struct {
	cfg    *config.Config
	store  checkpoint.Store
	client *azeventhubs.ConsumerClient
	ns     string // as the consumer names it in the store
	hub    string
	parts  []string
	cps    map[string]azeventhubs.Checkpoint
	owners map[string]azeventhubs.Ownership
}

func openHubView(ctx context.Context, cfg *config.Config, store checkpoint.Store, hub string) (*hubView, error) {
	opts := consumerOptions(cfg)
	var cl *azeventhubs.ConsumerClient
	var err error
	if opts.ConnectionString != "" {
		name := hub
		if cfg.Source.EntityPath != "" {
			name = ""
		}
		cl, err = azeventhubs.NewConsumerClientFromConnectionString(opts.ConnectionString, name, cfg.Source.ConsumerGroup, &opts.ClientOptions)
	} else {
		cred, cerr := credential()
		if cerr != nil {
			return nil, cerr
		}
		cl, err = azeventhubs.NewConsumerClient(opts.Namespace, hub, cfg.Source.ConsumerGroup, cred, &opts.ClientOptions)
	}
	if err != nil {
		return nil, fmt.Errorf("event hub %s: %w", hub, err)
	}
	hv := &hubView{cfg: cfg, store: store, client: cl, ns: cfg.Source.FullyQualifiedNamespace, hub: hub}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	props, err := cl.GetEventHubProperties(pctx, nil)
	if err != nil {
		hv.close()
		return nil, fmt.Errorf("cannot read event hub %s (check the namespace, name and the Listen right): %w", hub, err)
	}
	hv.parts = props.PartitionIDs
	sort.Slice(hv.parts, func(i, j int) bool { return partLess(hv.parts[i], hv.parts[j]) })
	if err := hv.load(pctx); err != nil {
		hv.close()
		return nil, err
	}
	return hv, nil
}

func partLess(a, b string) bool {
	ai, ea := strconv.Atoi(a)
	bi, eb := strconv.Atoi(b)
	if ea == nil && eb == nil {
		return ai < bi
	}
	return a < b
}

func (hv *hubView) load(ctx context.Context) error {
	cg := hv.cfg.Source.ConsumerGroup
	cps, err := hv.store.ListCheckpoints(ctx, hv.ns, hv.hub, cg, nil)
	if err != nil {
		return err
	}
	os, err := hv.store.ListOwnership(ctx, hv.ns, hv.hub, cg, nil)
	if err != nil {
		return err
	}
	hv.cps, hv.owners = map[string]azeventhubs.Checkpoint{}, map[string]azeventhubs.Ownership{}
	for _, c := range cps {
		hv.cps[c.PartitionID] = c
	}
	for _, o := range os {
		hv.owners[o.PartitionID] = o
	}
	return nil
}

func (hv *hubView) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = hv.client.Close(ctx)
}

// liveOwner returns the partition's owner when its claim has not expired.
func (hv *hubView) liveOwner(p string) (string, bool) {
	o, ok := hv.owners[p]
	if !ok || o.OwnerID == "" || time.Since(o.LastModifiedTime) > hv.cfg.Source.OwnershipExpiry {
		return "", false
	}
	return o.OwnerID, true
}

func (hv *hubView) list(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HUB\tPARTITION\tCHECKPOINT\tOFFSET\tLAST ENQUEUED\tLAG\tOWNER")
	for _, p := range hv.parts {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		props, err := hv.client.GetPartitionProperties(ctx, p, nil)
		cancel()
		if err != nil {
			return fmt.Errorf("partition %s of %s: %w", p, hv.hub, err)
		}
		seq, off, lag := "-", "-", "-"
		if c, ok := hv.cps[p]; ok {
			seq = strconv.FormatInt(*c.SequenceNumber, 10)
			if c.Offset != nil {
				off = *c.Offset
			}
			l := props.LastEnqueuedSequenceNumber - *c.SequenceNumber
			lag = strconv.FormatInt(l, 10)
			if l < 0 {
				lag += " (beyond the end: reset it)"
			}
		} else if !props.IsEmpty {
			lag = strconv.FormatInt(props.LastEnqueuedSequenceNumber-props.BeginningSequenceNumber+1, 10) + " (no checkpoint)"
		}
		owner := "-"
		if o, ok := hv.liveOwner(p); ok {
			owner = o
		}
		last := "-"
		if !props.IsEmpty {
			last = strconv.FormatInt(props.LastEnqueuedSequenceNumber, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", hv.hub, p, seq, off, last, lag, owner)
	}
	return tw.Flush()
}

func (hv *hubView) reset(ctx context.Context, target resetTarget, only string, force bool, w io.Writer) error {
	parts := hv.parts
	if only != "" {
		found := false
		for _, p := range hv.parts {
			found = found || p == only
		}
		if !found {
			return usagef("--partition %q: hub %s has partitions %s", only, hv.hub, strings.Join(hv.parts, ", "))
		}
		parts = []string{only}
	}
	var busy []string
	for _, p := range parts {
		if o, ok := hv.liveOwner(p); ok {
			busy = append(busy, p+" ("+o+")")
		}
	}
	if len(busy) > 0 && !force {
		return fmt.Errorf("partitions of %s are owned by running consumers: %s; stop them first (a running owner keeps moving its checkpoint forward), or pass --force",
			hv.hub, strings.Join(busy, ", "))
	}
	for _, p := range parts {
		cp, err := hv.position(ctx, p, target)
		if err != nil {
			return err
		}
		if err := hv.store.ResetCheckpoint(ctx, cp); err != nil {
			return err
		}
		was := "none"
		if c, ok := hv.cps[p]; ok {
			was = strconv.FormatInt(*c.SequenceNumber, 10)
		}
		fmt.Fprintf(w, "%s partition %s: checkpoint %s -> %d (the next event read is %d)\n", hv.hub, p, was, *cp.SequenceNumber, *cp.SequenceNumber+1)
	}
	return nil
}

// position computes the checkpoint meaning "start at target": the last
// event before it (sequence number only when its offset is unknown).
func (hv *hubView) position(ctx context.Context, p string, target resetTarget) (azeventhubs.Checkpoint, error) {
	cp := azeventhubs.Checkpoint{FullyQualifiedNamespace: hv.ns, EventHubName: hv.hub, ConsumerGroup: hv.cfg.Source.ConsumerGroup, PartitionID: p}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	props, err := hv.client.GetPartitionProperties(pctx, p, nil)
	if err != nil {
		return cp, fmt.Errorf("partition %s of %s: %w", p, hv.hub, err)
	}
	latest := func() azeventhubs.Checkpoint {
		cp.SequenceNumber = to.Ptr(props.LastEnqueuedSequenceNumber)
		if !props.IsEmpty {
			cp.Offset = to.Ptr(props.LastEnqueuedOffset)
		}
		return cp
	}
	switch {
	case target.earliest:
		cp.SequenceNumber = to.Ptr(props.BeginningSequenceNumber - 1)
		return cp, nil
	case target.latest, props.IsEmpty, props.LastEnqueuedOn.Before(target.time):
		return latest(), nil
	}
	// The first event at or after the time.
	pc, err := hv.client.NewPartitionClient(p, &azeventhubs.PartitionClientOptions{
		StartPosition: azeventhubs.StartPosition{EnqueuedTime: to.Ptr(target.time), Inclusive: true}, Prefetch: -1,
	})
	if err != nil {
		return cp, err
	}
	defer pc.Close(context.Background()) //nolint:errcheck // read-only link
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	defer rcancel()
	evs, err := pc.ReceiveEvents(rctx, 1, nil)
	if len(evs) == 0 {
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			return latest(), nil
		}
		return cp, fmt.Errorf("partition %s of %s: finding the first event at %s: %w", p, hv.hub, target.time.Format(time.RFC3339), err)
	}
	cp.SequenceNumber = to.Ptr(evs[0].SequenceNumber - 1)
	return cp, nil
}
