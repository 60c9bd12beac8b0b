package ops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/pipeline"
)

// Silence finding identity: a category that was flowing stopped, which is
// what disabling or editing the tenant's diagnostic setting looks like.
const (
	SilenceRuleID   = "streamhunt-silence"
	SilenceRuleName = "Sign-in log category stopped flowing"
	silenceRuleText = SilenceRuleID + ": a sign-in category that was flowing sent nothing for longer than ops.silenceAfter " +
		"(T1562.008 Impair Defenses: Disable or Modify Cloud Logs)"
)

// SilenceOptions configures a SilenceWatch.
type SilenceOptions struct {
	// After is how long a category that was flowing may be silent before it
	// is reported (ops.silenceAfter). Zero or negative disables reporting.
	After time.Duration
	// OnSilence, when set, receives one finding per silence: once when a
	// category has been silent for After, and again only after records flowed
	// and stopped anew.
	OnSilence func(pipeline.Finding)
	// Logger logs each silence and each resumption; nil logs nothing.
	Logger *zap.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Records lists the last record time per hub and category. Nil means
	// metrics.LastRecords, which the watch itself feeds at every Check from
	// metrics.RecordsReceived: a hub whose count rose since the last Check
	// gets the current time, under the category the diagnostic setting
	// writes to that hub (insights-logs-signinlogs is SignInLogs, ...; a hub
	// of another name counts as category "all").
	Records func() []metrics.LastRecord
	// Owns reports whether this replica reads any partition of a hub now; a
	// hub it does not read is not expected to send it anything (its
	// partitions moved to another replica). Nil means metrics.PartitionsOwned > 0.
	Owns func(hub string) bool
}

// SilenceWatch reports hubs and categories that stopped sending records.
// The seconds since the last record are always exported
// (streamhunt_last_record_age_seconds); the watch adds a log line and,
// optionally, a finding. Call Check periodically, or Run.
type SilenceWatch struct {
	opts SilenceOptions
	feed bool // feed metrics.LastRecordTime from metrics.RecordsReceived
	mu   sync.Mutex
	// received is each hub's records-received count at the last Check.
	received map[string]float64
	// reported holds, per silent (hub, category), the last record time that
	// its silence was reported after.
	reported map[silenceKey]time.Time
}

type silenceKey struct{ hub, category string }

// NewSilenceWatch returns a SilenceWatch with the defaults filled in.
func NewSilenceWatch(opts SilenceOptions) *SilenceWatch {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	feed := opts.Records == nil
	if feed {
		opts.Records = metrics.LastRecords
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Owns == nil {
		opts.Owns = ownsPartitions
	}
	return &SilenceWatch{opts: opts, feed: feed, received: map[string]float64{}, reported: map[silenceKey]time.Time{}}
}

// Check evaluates every hub and category once. It returns the findings for
// silences that started being reportable since the last Check (each is also
// passed to OnSilence).
func (w *SilenceWatch) Check() []pipeline.Finding {
	now := w.opts.Now()
	w.mu.Lock()
	if w.feed {
		w.observeReceived(now)
	}
	if w.opts.After <= 0 {
		w.mu.Unlock()
		return nil
	}
	var out []pipeline.Finding
	for _, r := range w.opts.Records() {
		if !w.opts.Owns(r.Hub) {
			continue
		}
		k := silenceKey{r.Hub, r.Category}
		silent := now.Sub(r.Time)
		prev, wasReported := w.reported[k]
		switch {
		case silent >= w.opts.After && (!wasReported || !prev.Equal(r.Time)):
			w.reported[k] = r.Time
			w.opts.Logger.Warn("a sign-in category stopped flowing: was the diagnostic setting changed or disabled?",
				zap.String("hub", r.Hub), zap.String("category", r.Category),
				zap.Time("lastRecord", r.Time), zap.Duration("silentFor", silent))
			out = append(out, silenceFinding(r, silent, w.opts.After, now))
		case wasReported && !prev.Equal(r.Time):
			delete(w.reported, k)
			w.opts.Logger.Info("a silent sign-in category is flowing again",
				zap.String("hub", r.Hub), zap.String("category", r.Category), zap.Time("lastRecord", r.Time))
		}
	}
	w.mu.Unlock()
	if w.opts.OnSilence != nil {
		for _, f := range out {
			w.opts.OnSilence(f)
		}
	}
	return out
}

// Run calls Check every interval (a tenth of After, between one second and
// one minute; one minute when reporting is disabled, to keep the
// last-record metrics fresh) until ctx ends; it returns nil then.
func (w *SilenceWatch) Run(ctx context.Context) error {
	every := time.Minute
	if w.opts.After > 0 {
		every = min(max(w.opts.After/10, time.Second), time.Minute)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.Check()
		}
	}
}

// ownsPartitions reports whether metrics.PartitionsOwned is above zero for hub.
func ownsPartitions(hub string) bool {
	return sumByLabel(metrics.PartitionsOwned, "hub")[hub] > 0
}

// sumByLabel sums a collector's counter or gauge values by one label.
func sumByLabel(c prometheus.Collector, label string) map[string]float64 {
	sums := map[string]float64{}
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			continue
		}
		v := d.GetCounter().GetValue() + d.GetGauge().GetValue()
		for _, l := range d.Label {
			if l.GetName() == label {
				sums[l.GetValue()] += v
			}
		}
	}
	return sums
}

// observeReceived sets metrics.LastRecordTime to now for every hub whose
// records-received count rose since the last call. Callers hold w.mu.
func (w *SilenceWatch) observeReceived(now time.Time) {
	for hub, n := range sumByLabel(metrics.RecordsReceived, "hub") {
		if n > w.received[hub] {
			metrics.LastRecordTime.WithLabelValues(hub, CategoryOfHub(hub)).Set(float64(now.UnixNano()) / 1e9)
		}
		w.received[hub] = n
	}
}

// hubCategories are the hubs an Entra ID diagnostic setting writes to when
// it names no hub: one per category.
var hubCategories = map[string]string{
	"insights-logs-signinlogs":                   "SignInLogs",
	"insights-logs-noninteractiveusersigninlogs": "NonInteractiveUserSignInLogs",
	"insights-logs-serviceprincipalsigninlogs":   "ServicePrincipalSignInLogs",
	"insights-logs-managedidentitysigninlogs":    "ManagedIdentitySignInLogs",
	"insights-logs-adfssigninlogs":               "ADFSSignInLogs",
}

// CategoryOfHub returns the sign-in category a diagnostic setting writes to
// hub, or "all" for a hub of another name (one that receives every category).
func CategoryOfHub(hub string) string {
	if c, ok := hubCategories[strings.ToLower(hub)]; ok {
		return c
	}
	return "all"
}

// silenceFinding builds the finding for one silence. Its recordId is derived
// from the hub, category and last record time truncated to the threshold, so
// the same silence has the same findingId across restarts and, nearly
// always, across the replicas that each noticed it (two silences of one
// category are at least a threshold apart, so they never share an id).
func silenceFinding(r metrics.LastRecord, silent, after time.Duration, now time.Time) pipeline.Finding {
	tableName := r.Category
	if t, ok := table.TableForCategory(r.Category); ok {
		tableName = t.Name
	}
	h := sha256.New()
	h.Write([]byte(r.Hub))
	h.Write([]byte{0})
	h.Write([]byte(r.Category))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, r.Time.Truncate(after).UnixNano(), 10))
	recordID := hex.EncodeToString(h.Sum(nil))
	version := sha256.Sum256([]byte(silenceRuleText))
	return pipeline.Finding{
		SchemaVersion: pipeline.SchemaVersion,
		FindingID:     pipeline.FindingID(SilenceRuleID, tableName, recordID, 0),
		RuleID:        SilenceRuleID,
		RuleName:      SilenceRuleName,
		RuleVersion:   hex.EncodeToString(version[:8]),
		Severity:      "medium",
		Tactics:       []string{"DefenseEvasion"},
		Techniques:    []string{"T1562.008"},
		Table:         tableName,
		RecordID:      recordID,
		EventTime:     r.Time,
		DetectedTime:  now,
		Columns: pipeline.Columns{
			{Name: "EventHub", Type: table.TypeString, Value: table.Str(r.Hub)},
			{Name: "Category", Type: table.TypeString, Value: table.Str(r.Category)},
			{Name: "LastRecordTime", Type: table.TypeDateTime, Value: table.DateTimeNanos(r.Time.UnixNano())},
			{Name: "SilentFor", Type: table.TypeTimeSpan, Value: table.TimeSpanNanos(int64(silent))},
			{Name: "SilenceAfter", Type: table.TypeTimeSpan, Value: table.TimeSpanNanos(int64(after))},
		},
		Entities: []pipeline.Entity{},
		Source:   pipeline.Source{EventHub: r.Hub},
	}
}
