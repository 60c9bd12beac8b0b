package ops

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/streamhunt/streamhunt/internal/metrics"
)

// Component names the run command reports under; /readyz lists them.
const (
	ComponentEventHubs       = "eventhubs"
	ComponentCheckpointStore = "checkpoint-store"
)

// HealthOptions configures a Health.
type HealthOptions struct {
	// FailAfter is how many consecutive failed reports make a component
	// unhealthy (default 3).
	FailAfter int
	// FailWindow is how long a component may keep failing with no success in
	// between before it is unhealthy, whatever the count (default 1 minute).
	FailWindow time.Duration
	// Require names components that must have reported one success before
	// the process is ready (for example ComponentEventHubs and
	// ComponentCheckpointStore): a replica is not ready until it has reached them.
	Require []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// HealthOptionsFrom returns the options that cfg's failAfter and failWindow
// give, requiring the Event Hubs and checkpoint-store components.
func HealthOptionsFrom(cfg Config) HealthOptions {
	cfg = cfg.withDefaults()
	return HealthOptions{
		FailAfter:  cfg.FailAfter,
		FailWindow: cfg.FailWindow,
		Require:    []string{ComponentEventHubs, ComponentCheckpointStore},
	}
}

// Health tracks whether the process is ready: every component it depends on
// is reachable, and no owned partition is stuck. A component becomes
// unhealthy only when its failures persist (FailAfter consecutive failed
// reports, or failures for FailWindow with no success), never on a single
// transient error. It is safe for concurrent use.
type Health struct {
	opts       HealthOptions
	mu         sync.Mutex
	components map[string]*componentState
	stuck      map[partitionKey]time.Time
}

type componentState struct {
	everOK       bool
	failures     int       // consecutive failed reports
	failingSince time.Time // first failure of the current streak
	lastErr      string
}

type partitionKey struct{ hub, partition string }

// NewHealth returns a Health with the defaults filled in.
func NewHealth(opts HealthOptions) *Health {
	if opts.FailAfter <= 0 {
		opts.FailAfter = DefaultFailAfter
	}
	if opts.FailWindow <= 0 {
		opts.FailWindow = DefaultFailWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Health{opts: opts, components: map[string]*componentState{}, stuck: map[partitionKey]time.Time{}}
	for _, c := range opts.Require {
		h.components[c] = &componentState{}
	}
	return h
}

// Report records the outcome of one call to a component (nil for success).
// Components should report successes too, so a failure streak ends.
func (h *Health) Report(component string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.components[component]
	if c == nil {
		c = &componentState{}
		h.components[component] = c
	}
	if err == nil {
		c.everOK = true
		c.failures = 0
		c.failingSince = time.Time{}
		c.lastErr = ""
		return
	}
	if c.failures == 0 {
		c.failingSince = h.opts.Now()
	}
	c.failures++
	c.lastErr = err.Error()
}

// SetStuck marks an owned partition as stuck (it has lag but received
// nothing for longer than the stuck threshold) or no longer stuck (it moved,
// or this replica gave it up). It also sets metrics.StuckPartitions.
func (h *Health) SetStuck(hub, partition string, stuck bool) {
	k := partitionKey{hub, partition}
	h.mu.Lock()
	if stuck {
		if _, ok := h.stuck[k]; !ok {
			h.stuck[k] = h.opts.Now()
		}
	} else {
		delete(h.stuck, k)
	}
	h.mu.Unlock()
	v := 0.0
	if stuck {
		v = 1
	}
	metrics.StuckPartitions.WithLabelValues(hub, partition).Set(v)
}

// ComponentStatus is one component's state in a Readiness.
type ComponentStatus struct {
	Name     string `json:"name"`
	Healthy  bool   `json:"healthy"`
	Failures int    `json:"consecutiveFailures,omitempty"`
	// FailingFor is how long the current failure streak has lasted.
	FailingFor string `json:"failingFor,omitempty"`
	// LastError is the last error reported (already free of secrets if the
	// caller's errors are; /readyz redacts it again).
	LastError string `json:"lastError,omitempty"`
	// Waiting is true for a required component that has not yet succeeded once.
	Waiting bool `json:"waiting,omitempty"`
}

// StuckPartition is one stuck partition in a Readiness.
type StuckPartition struct {
	Hub       string `json:"hub"`
	Partition string `json:"partition"`
	StuckFor  string `json:"stuckFor"`
}

// Readiness is the state /readyz reports.
type Readiness struct {
	Ready      bool              `json:"ready"`
	Components []ComponentStatus `json:"components"`
	Stuck      []StuckPartition  `json:"stuckPartitions,omitempty"`
}

// Readiness evaluates the current state.
func (h *Health) Readiness() Readiness {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.opts.Now()
	r := Readiness{Ready: true, Components: []ComponentStatus{}}
	names := make([]string, 0, len(h.components))
	for n := range h.components {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := h.components[n]
		s := ComponentStatus{Name: n, Failures: c.failures, LastError: c.lastErr}
		persistent := false
		if c.failures > 0 {
			failingFor := now.Sub(c.failingSince)
			s.FailingFor = failingFor.Round(time.Millisecond).String()
			persistent = c.failures >= h.opts.FailAfter || failingFor >= h.opts.FailWindow
		}
		// A required component never reached makes the replica unready at
		// once: it is starting, or cannot start.
		neverReached := !c.everOK && slices.Contains(h.opts.Require, n)
		s.Healthy = !persistent && !neverReached
		s.Waiting = neverReached && c.failures == 0
		if !s.Healthy {
			r.Ready = false
		}
		r.Components = append(r.Components, s)
	}
	for k, since := range h.stuck {
		r.Ready = false
		r.Stuck = append(r.Stuck, StuckPartition{Hub: k.hub, Partition: k.partition, StuckFor: now.Sub(since).Round(time.Millisecond).String()})
	}
	sort.Slice(r.Stuck, func(i, j int) bool {
		if r.Stuck[i].Hub != r.Stuck[j].Hub {
			return r.Stuck[i].Hub < r.Stuck[j].Hub
		}
		return r.Stuck[i].Partition < r.Stuck[j].Partition
	})
	return r
}
