package webhook

import (
	"sync"
	"time"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/pipeline"
)

// storm is alert-storm control: per rule and entity, one notification per
// window; the findings held back are counted and the count travels in the
// next notification for the same rule and entity.
//
// A finding redelivered after a crash has the same findingId as the one
// that opened the window, so it is sent again (at-least-once holds).
type storm struct {
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu    sync.Mutex
	keys  map[string]*stormEntry
	calls int
}

type stormEntry struct {
	start      time.Time
	sentID     string // the finding that opened the window
	sentCount  int    // the suppressed count it carried
	suppressed int    // held back since
}

func newStorm(cfg StormConfig, now func() time.Time) *storm {
	return &storm{window: cfg.Window, maxKeys: cfg.MaxKeys, now: now, keys: map[string]*stormEntry{}}
}

// EntityKey names what a finding is about for storm control: the first
// account entity, else the first IP entity, else the UserPrincipalName or
// IPAddress column, else nothing (one window per rule).
func EntityKey(f *pipeline.Finding) string {
	for _, typ := range []string{"account", "ip"} {
		for _, e := range f.Entities {
			if e.Type == typ && e.Identifier != "" {
				return typ + ":" + e.Identifier
			}
		}
	}
	for _, c := range []string{"UserPrincipalName", "IPAddress"} {
		if v, ok := f.Columns.Get(c); ok && v.S != "" {
			return c + ":" + v.S
		}
	}
	return ""
}

// admit says whether to send f, and how many findings were held back
// before it.
func (s *storm) admit(f *pipeline.Finding) (bool, int) {
	key := f.RuleID + "\x00" + EntityKey(f)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls%1024 == 0 {
		s.prune(now)
	}
	e := s.keys[key]
	if e == nil || now.Sub(e.start) >= s.window {
		n := 0
		if e != nil {
			n = e.suppressed
		} else if len(s.keys) >= s.maxKeys {
			return true, 0 // cannot remember more: send rather than lose track
		}
		s.keys[key] = &stormEntry{start: now, sentID: f.FindingID, sentCount: n}
		return true, n
	}
	if e.sentID == f.FindingID {
		return true, e.sentCount
	}
	e.suppressed++
	return false, 0
}

// prune forgets pairs whose window ended long enough ago; a count held
// back with no later notification is dropped with them (and stays in the
// suppressed metric).
func (s *storm) prune(now time.Time) {
	for k, e := range s.keys {
		if now.Sub(e.start) >= 2*s.window || (e.suppressed == 0 && now.Sub(e.start) >= s.window) {
			delete(s.keys, k)
		}
	}
}

func stormSuppressed(sinkName, rule string) {
	metrics.SinkSuppressed.WithLabelValues(sinkName, rule, "storm").Inc()
}
