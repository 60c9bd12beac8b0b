// Package fanout delivers findings to several sinks at once. Each sink gets
// the findings its route selects (rule id globs, minimum severity), after
// its data minimisation; notification sinks skip allowlisted findings. A
// batch is acknowledged (Write returns nil) only once every sink it routes
// to has confirmed it. A sink that is down makes Write wait (backpressure:
// the consumer stops reading, memory stays bounded), never drop.
package fanout

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/blob"
	"github.com/streamhunt/streamhunt/sink/loganalytics"
	"github.com/streamhunt/streamhunt/sink/retry"
	"github.com/streamhunt/streamhunt/sink/stdout"
	"github.com/streamhunt/streamhunt/sink/webhook"
)

var _ sink.Sink = (*Fanout)(nil)

// Target is one sink with what fanout applies before it.
type Target struct {
	Sink     sink.Sink
	Route    Route
	Minimize Minimize
	// Notify marks a notification sink (webhook, Teams, Slack): allowlists
	// apply to it.
	Notify bool
}

// Fanout is a sink that writes to several sinks.
type Fanout struct {
	targets    []target
	allowlists []allowlist
	logger     *zap.Logger
	// retry paces re-writes to a sink whose Write failed before ctx ended
	// (a full disk, a closed pipe): forever, so nothing is dropped.
	retry retry.Policy
}

type target struct {
	Target
	minSeverity int // -1: any
	mini        minimizer
}

// New returns a fan-out over the targets. Configuration must already be
// valid (Build validates); New panics on nothing and checks only what it
// must.
func New(targets []Target, allowlists []Allowlist, logger *zap.Logger) (*Fanout, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	f := &Fanout{logger: logger}
	for i, t := range targets {
		if err := t.Route.validate(); err != nil {
			return nil, fmt.Errorf("target %d (%s): route.%w", i, t.Sink.Name(), err)
		}
		if err := t.Minimize.validate(); err != nil {
			return nil, fmt.Errorf("target %d (%s): minimize.%w", i, t.Sink.Name(), err)
		}
		min := -1
		if t.Route.MinSeverity != "" {
			min = severities[strings.ToLower(t.Route.MinSeverity)]
		}
		f.targets = append(f.targets, target{Target: t, minSeverity: min, mini: newMinimizer(t.Minimize)})
	}
	for i, a := range allowlists {
		if err := a.validate(); err != nil {
			return nil, fmt.Errorf("allowlists[%d].%w", i, err)
		}
		f.allowlists = append(f.allowlists, compileAllowlist(a))
	}
	return f, nil
}

// Build validates cfg and builds every sink it names; each sink sends
// findings it cannot deliver for good to dlw. The caller owns dlw (Close
// does not close it).
func Build(cfg Config, dlw sink.DeadLetterWriter, logger *zap.Logger) (*Fanout, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	if dlw == nil {
		for _, n := range cfg.Sinks {
			if n.Webhook != nil || n.Blob != nil || n.LogAnalytics != nil {
				return nil, fmt.Errorf("sinks.%s: needs a dead letter for findings it rejects for good; configure one (deadletter.Build)", n.Name)
			}
		}
	}
	var targets []Target
	closeAll := func() {
		for _, t := range targets {
			_ = t.Sink.Close(context.Background())
		}
	}
	for _, n := range cfg.Sinks {
		s, err := buildOne(n, dlw, logger.With(zap.String("sink", n.Name)))
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("sinks.%s: %w", n.Name, err)
		}
		targets = append(targets, Target{Sink: s, Route: n.Route, Minimize: n.Minimize, Notify: n.Webhook != nil})
	}
	f, err := New(targets, cfg.Allowlists, logger)
	if err != nil {
		closeAll()
		return nil, err
	}
	return f, nil
}

type namer interface{ SetName(string) }

func buildOne(n Named, dlw sink.DeadLetterWriter, logger *zap.Logger) (sink.Sink, error) {
	var s sink.Sink
	var err error
	switch n.Kind() {
	case "stdout":
		s, err = stdout.New(*n.Stdout, logger)
	case "file":
		s, err = stdout.New(*n.File, logger)
	case "webhook":
		c := *n.Webhook
		c.DeadLetter = dlw
		s, err = webhook.New(c, logger)
	case "blob":
		c := *n.Blob
		c.DeadLetter = dlw
		s, err = blob.New(c, logger)
	case "logAnalytics":
		c := *n.LogAnalytics
		c.DeadLetter = dlw
		s, err = loganalytics.New(c, logger)
	default:
		return nil, errors.New("set exactly one of stdout, file, webhook, blob, logAnalytics")
	}
	if err != nil {
		return nil, err
	}
	if nm, ok := s.(namer); ok {
		nm.SetName(n.Name)
	}
	return s, nil
}

// Name returns "fanout".
func (f *Fanout) Name() string { return "fanout" }

// Sinks returns the names of the sinks, in configuration order.
func (f *Fanout) Sinks() []string {
	var out []string
	for _, t := range f.targets {
		out = append(out, t.Sink.Name())
	}
	return out
}

// Write delivers the batch to every sink concurrently and returns nil once
// each has confirmed its share. A sink whose Write fails is written again
// (with backoff) until ctx ends; then Write returns the error and the
// batch must be delivered again later (sinks that confirmed will see it
// twice, with the same findingIds).
func (f *Fanout) Write(ctx context.Context, b sink.Batch) error {
	if len(b.Findings) == 0 {
		return nil
	}
	errs := make([]error, len(f.targets))
	var wg sync.WaitGroup
	for i := range f.targets {
		t := &f.targets[i]
		sub := f.share(t, b)
		if len(sub.Findings) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.writeOne(ctx, t.Sink, sub)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeOne writes to one sink until it confirms or ctx ends. Sinks retry
// their own transient failures, so a failing Write here is one that gave
// up early (a full disk, a closed pipe): try again after a backoff.
func (f *Fanout) writeOne(ctx context.Context, s sink.Sink, b sink.Batch) error {
	for attempt := 1; ; attempt++ {
		err := s.Write(ctx, b)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("sink %s did not confirm %d findings: %w", s.Name(), len(b.Findings), err)
		}
		wait := f.retry.Backoff(attempt)
		f.logger.Warn("sink write failed; holding the batch and trying again", zap.String("sink", s.Name()),
			zap.Int("attempt", attempt), zap.Duration("wait", wait), zap.Error(err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("sink %s did not confirm %d findings: %w", s.Name(), len(b.Findings), err)
		case <-t.C:
		}
	}
}

// share returns the target's share of the batch: routed, allowlisted
// (notification sinks) and minimised.
func (f *Fanout) share(t *target, b sink.Batch) sink.Batch {
	out := sink.Batch{Range: b.Range}
	for i := range b.Findings {
		fd := &b.Findings[i]
		if !t.routes(fd) {
			continue
		}
		if t.Notify {
			if why := f.allowlisted(fd); why != "" {
				metrics.SinkSuppressed.WithLabelValues(t.Sink.Name(), fd.RuleID, "allowlist").Inc()
				continue
			}
		}
		out.Findings = append(out.Findings, t.mini.apply(*fd))
	}
	return out
}

func matchAny(globs []string, s string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}

func (t *target) routes(f *pipeline.Finding) bool {
	if len(t.Route.Rules) > 0 && !matchAny(t.Route.Rules, f.RuleID) {
		return false
	}
	if matchAny(t.Route.ExcludeRules, f.RuleID) {
		return false
	}
	if t.minSeverity >= 0 {
		sev, known := severities[strings.ToLower(f.Severity)]
		// An unknown severity is never filtered out: better a notification
		// too many than a finding lost to a typo.
		if known && sev < t.minSeverity {
			return false
		}
	}
	return true
}

type allowlist struct {
	rules  []string
	apps   map[string]bool
	users  map[string]bool
	ranges []netip.Prefix
	reason string
}

func compileAllowlist(a Allowlist) allowlist {
	c := allowlist{rules: a.Rules, reason: a.Reason, apps: map[string]bool{}, users: map[string]bool{}}
	for _, x := range a.AppIDs {
		c.apps[strings.ToLower(x)] = true
	}
	for _, x := range a.Users {
		c.users[strings.ToLower(x)] = true
	}
	for _, r := range a.IPRanges {
		p, _ := parsePrefix(r)
		c.ranges = append(c.ranges, p)
	}
	return c
}

// allowlisted returns the reason of the first allowlist entry the finding
// matches, or "".
func (f *Fanout) allowlisted(fd *pipeline.Finding) string {
	col := func(name string) string {
		v, _ := fd.Columns.Get(name)
		return v.S
	}
	entities := func(typ string) []string {
		var out []string
		for _, e := range fd.Entities {
			if e.Type == typ {
				out = append(out, e.Identifier)
			}
		}
		return out
	}
	for _, a := range f.allowlists {
		if len(a.rules) > 0 && !matchAny(a.rules, fd.RuleID) {
			continue
		}
		if len(a.apps) > 0 && !a.apps[strings.ToLower(col("AppId"))] {
			continue
		}
		if len(a.users) > 0 {
			hit := false
			for _, u := range append(entities("account"), col("UserPrincipalName")) {
				if u != "" && a.users[strings.ToLower(u)] {
					hit = true
				}
			}
			if !hit {
				continue
			}
		}
		if len(a.ranges) > 0 {
			hit := false
			for _, s := range append(entities("ip"), col("IPAddress")) {
				ip, err := netip.ParseAddr(s)
				if err != nil {
					continue
				}
				for _, p := range a.ranges {
					if p.Contains(ip.Unmap()) {
						hit = true
					}
				}
			}
			if !hit {
				continue
			}
		}
		if a.reason == "" {
			return "allowlisted"
		}
		return a.reason
	}
	return ""
}

// Close closes every sink.
func (f *Fanout) Close(ctx context.Context) error {
	var errs []error
	for _, t := range f.targets {
		if err := t.Sink.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close sink %s: %w", t.Sink.Name(), err))
		}
	}
	return errors.Join(errs...)
}
