package ops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

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
	// Records lists the last record time per hub and category; nil means
	// metrics.LastRecords, fed by whoever sets metrics.LastRecordTime.
	Records func() []metrics.LastRecord
}

// SilenceWatch reports hubs and categories that stopped sending records.
// The seconds since the last record are always exported
// (streamhunt_last_record_age_seconds); the watch adds a log line and,
// optionally, a finding. Call Check periodically, or Run.
type SilenceWatch struct {
	opts SilenceOptions
	mu   sync.Mutex
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
	if opts.Records == nil {
		opts.Records = metrics.LastRecords
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &SilenceWatch{opts: opts, reported: map[silenceKey]time.Time{}}
}

// Check evaluates every hub and category once. It returns the findings for
// silences that started being reportable since the last Check (each is also
// passed to OnSilence).
func (w *SilenceWatch) Check() []pipeline.Finding {
	if w.opts.After <= 0 {
		return nil
	}
	now := w.opts.Now()
	var out []pipeline.Finding
	w.mu.Lock()
	for _, r := range w.opts.Records() {
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
// one minute) until ctx ends; it returns nil then.
func (w *SilenceWatch) Run(ctx context.Context) error {
	if w.opts.After <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(min(max(w.opts.After/10, time.Second), time.Minute))
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

// silenceFinding builds the finding for one silence. Its recordId is derived
// from the hub, category and last record time, so the same silence always
// has the same findingId, across replicas and restarts.
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
	h.Write(strconv.AppendInt(nil, r.Time.UnixNano(), 10))
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
