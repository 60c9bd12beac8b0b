package ops

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/pipeline"
)

func TestSilenceIsReportedOncePerSilence(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type step struct {
		at         time.Duration // clock, from t0
		lastRecord time.Duration // last record time, from t0
		wantReport bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a category that keeps flowing is never reported", []step{{10 * time.Minute, 9 * time.Minute, false}, {40 * time.Minute, 39 * time.Minute, false}}},
		{"a category silent for less than the threshold is not reported", []step{{29 * time.Minute, 0, false}}},
		{"a category silent for the threshold is reported", []step{{30 * time.Minute, 0, true}}},
		{"a silence is reported once however long it lasts", []step{{30 * time.Minute, 0, true}, {31 * time.Minute, 0, false}, {5 * time.Hour, 0, false}}},
		{"a category that resumed and stopped again is reported again", []step{{30 * time.Minute, 0, true}, {31 * time.Minute, 31 * time.Minute, false}, {61 * time.Minute, 31 * time.Minute, true}}},
		{"a category that resumed and stopped between two checks is reported again", []step{{30 * time.Minute, 0, true}, {2 * time.Hour, time.Hour, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: t0}
			var last time.Time
			var delivered []pipeline.Finding
			w := NewSilenceWatch(SilenceOptions{
				After: 30 * time.Minute, Now: clock.Now,
				Records: func() []metrics.LastRecord {
					return []metrics.LastRecord{{Hub: "insights-logs-signinlogs", Category: "SignInLogs", Time: last}}
				},
				OnSilence: func(f pipeline.Finding) { delivered = append(delivered, f) },
				Owns:      func(string) bool { return true },
			})
			for i, s := range tt.steps {
				clock.t = t0.Add(s.at)
				last = t0.Add(s.lastRecord)
				got := w.Check()
				if (len(got) == 1) != s.wantReport || len(got) > 1 {
					t.Fatalf("step %d: %d findings, want report=%v", i, len(got), s.wantReport)
				}
			}
			wantN := 0
			for _, s := range tt.steps {
				if s.wantReport {
					wantN++
				}
			}
			if len(delivered) != wantN {
				t.Errorf("OnSilence got %d findings, want %d", len(delivered), wantN)
			}
		})
	}
}

func TestSilenceFindingSaysWhichCategoryStoppedAndSince(t *testing.T) {
	last := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: last.Add(45 * time.Minute)}
	records := []metrics.LastRecord{{Hub: "insights-logs-noninteractiveusersigninlogs", Category: "NonInteractiveUserSignInLogs", Time: last}}
	owns := func(string) bool { return true }
	w := NewSilenceWatch(SilenceOptions{After: 30 * time.Minute, Now: clock.Now, Records: func() []metrics.LastRecord { return records }, Owns: owns})
	got := w.Check()
	if len(got) != 1 {
		t.Fatalf("%d findings, want 1", len(got))
	}
	f := got[0]
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	wantCols := `"columns":{"EventHub":"insights-logs-noninteractiveusersigninlogs","Category":"NonInteractiveUserSignInLogs","LastRecordTime":"2026-03-01T12:00:00.0000000Z","SilentFor":"00:45:00","SilenceAfter":"00:30:00"}`
	if !strings.Contains(string(b), wantCols) {
		t.Errorf("finding JSON lacks %s:\n%s", wantCols, b)
	}
	if m["ruleId"] != SilenceRuleID || m["table"] != "AADNonInteractiveUserSignInLogs" || m["eventTime"] != "2026-03-01T12:00:00.0000000Z" ||
		m["detectedTime"] != "2026-03-01T12:45:00.0000000Z" || m["severity"] != "medium" {
		t.Errorf("finding = %s", b)
	}
	if tech := f.Techniques; len(tech) != 1 || tech[0] != "T1562.008" {
		t.Errorf("techniques = %v, want T1562.008", tech)
	}
	for _, k := range []string{"schemaVersion", "findingId", "ruleName", "ruleVersion", "tactics", "recordId", "correlationId", "tenantId", "entities", "source"} {
		if _, ok := m[k]; !ok {
			t.Errorf("finding lacks the contract key %q", k)
		}
	}

	// Another replica (its last record a little later) or this one after a
	// restart, seeing the same silence, derives the same findingId, so sinks
	// can deduplicate.
	otherReplica := []metrics.LastRecord{{Hub: records[0].Hub, Category: records[0].Category, Time: last.Add(40 * time.Second)}}
	again := NewSilenceWatch(SilenceOptions{After: 30 * time.Minute, Now: func() time.Time { return clock.t.Add(time.Minute) },
		Records: func() []metrics.LastRecord { return otherReplica }, Owns: owns}).Check()
	if len(again) != 1 || again[0].FindingID != f.FindingID {
		t.Errorf("the same silence got findingId %v, want %s", again, f.FindingID)
	}
}

func TestSilenceWatchDisabledByANonPositiveThreshold(t *testing.T) {
	w := NewSilenceWatch(SilenceOptions{After: -1, Records: func() []metrics.LastRecord {
		return []metrics.LastRecord{{Hub: "h", Category: "SignInLogs", Time: time.Unix(0, 0)}}
	}})
	if got := w.Check(); len(got) != 0 {
		t.Errorf("a disabled watch reported %d findings", len(got))
	}
}

func TestSilenceWatchReadsTheLastRecordGauge(t *testing.T) {
	last := time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	metrics.LastRecordTime.WithLabelValues("silence-test-hub", "ServicePrincipalSignInLogs").Set(float64(last.UnixNano()) / 1e9)
	metrics.PartitionsOwned.WithLabelValues("silence-test-hub").Set(2)
	w := NewSilenceWatch(SilenceOptions{After: time.Hour, Now: func() time.Time { return last.Add(2 * time.Hour) }})
	var found bool
	for _, f := range w.Check() {
		if f.Source.EventHub == "silence-test-hub" {
			found = true
			if f.Table != "AADServicePrincipalSignInLogs" || !f.EventTime.Equal(last) {
				t.Errorf("finding table %s eventTime %s, want AADServicePrincipalSignInLogs %s", f.Table, f.EventTime, last)
			}
		}
	}
	if !found {
		t.Error("no finding for the silent hub set through metrics.LastRecordTime")
	}
}

func TestLastRecordAgeIsExportedPerHubAndCategory(t *testing.T) {
	metrics.LastRecordTime.WithLabelValues("age-test-hub", "SignInLogs").Set(float64(time.Now().Add(-time.Hour).Unix()))
	n, err := testutil.GatherAndCount(metrics.Registry, "streamhunt_last_record_age_seconds")
	if err != nil || n < 1 {
		t.Fatalf("streamhunt_last_record_age_seconds series = %d (%v)", n, err)
	}
	mfs, _ := metrics.Registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "streamhunt_last_record_age_seconds" {
			continue
		}
		for _, m := range mf.Metric {
			if m.Label[0].GetValue() == "SignInLogs" && m.Label[1].GetValue() == "age-test-hub" {
				if v := m.Gauge.GetValue(); v < 3600 || v > 4000 {
					t.Errorf("age = %v s, want about an hour", v)
				}
				return
			}
		}
	}
	t.Error("no series for age-test-hub")
}

func TestTheWatchNoticesAHubThatStopsReceivingRecords(t *testing.T) {
	const hub = "insights-logs-managedidentitysigninlogs-watchtest"
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	w := NewSilenceWatch(SilenceOptions{After: 10 * time.Minute, Now: clock.Now})
	mine := func(fs []pipeline.Finding) []pipeline.Finding {
		var out []pipeline.Finding
		for _, f := range fs {
			if f.Source.EventHub == hub {
				out = append(out, f)
			}
		}
		return out
	}
	received := metrics.RecordsReceived.WithLabelValues(hub, "0")
	owned := metrics.PartitionsOwned.WithLabelValues(hub)
	owned.Set(1)

	received.Add(5)
	if got := mine(w.Check()); len(got) != 0 {
		t.Fatalf("a hub that just received records was reported: %v", got)
	}
	clock.Advance(9 * time.Minute)
	received.Add(1)
	w.Check()
	clock.Advance(9 * time.Minute) // 9 minutes without records
	if got := mine(w.Check()); len(got) != 0 {
		t.Fatalf("reported before the threshold: %v", got)
	}
	clock.Advance(time.Minute)
	got := mine(w.Check())
	if len(got) != 1 {
		t.Fatalf("%d findings after 10 minutes without records, want 1", len(got))
	}
	if c, _ := got[0].Columns.Get("Category"); c.S != "all" {
		t.Errorf("category %q, want all for a hub of no diagnostic-setting name", c.S)
	}
	if want := clock.t.Add(-10 * time.Minute); !got[0].EventTime.Equal(want) {
		t.Errorf("last record at %s, want %s (the check that saw the count rise)", got[0].EventTime, want)
	}

	// The hub's partitions move to another replica: this one stops expecting records.
	owned.Set(0)
	received.Add(1)
	w.Check()
	clock.Advance(time.Hour)
	if got := mine(w.Check()); len(got) != 0 {
		t.Errorf("a hub this replica no longer reads was reported: %v", got)
	}
}

func TestCategoryOfHubNamesTheDiagnosticSettingCategory(t *testing.T) {
	tests := []struct{ hub, want string }{
		{"insights-logs-signinlogs", "SignInLogs"},
		{"Insights-Logs-NonInteractiveUserSignInLogs", "NonInteractiveUserSignInLogs"},
		{"insights-logs-serviceprincipalsigninlogs", "ServicePrincipalSignInLogs"},
		{"insights-logs-managedidentitysigninlogs", "ManagedIdentitySignInLogs"},
		{"entra-signins", "all"},
	}
	for _, tt := range tests {
		if got := CategoryOfHub(tt.hub); got != tt.want {
			t.Errorf("CategoryOfHub(%q) = %q, want %q", tt.hub, got, tt.want)
		}
	}
}
