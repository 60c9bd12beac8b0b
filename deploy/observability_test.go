package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/testenv"
)

// ruleFile mirrors Prometheus's rule file format (the fields used here).
type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for,omitempty"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// metricRef finds metric names in PromQL: the project's, and the Go runtime
// and process collectors'.
var metricRef = regexp.MustCompile(`\b(?:streamhunt|go|process)_[a-zA-Z0-9_:]+`)

// quoted and matchers are removed before looking, so that label values and
// label names are not taken for metrics.
var (
	quoted   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	matchers = regexp.MustCompile(`\{[^{}]*\}`)
)

// metricsIn returns the metric families a PromQL expression reads, with
// histogram series (_bucket, _sum, _count) named by their family.
func metricsIn(expr string, exported []string) []string {
	expr = matchers.ReplaceAllString(quoted.ReplaceAllString(expr, `""`), "")
	var out []string
	for _, m := range metricRef.FindAllString(expr, -1) {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base := strings.TrimSuffix(m, suf); base != m && slices.Contains(exported, base) {
				m = base
			}
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func loadAlerts(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := decodeStrict(b, &rf); err != nil {
		t.Fatalf("prometheus/alerts.yaml is not a rule file: %v", err)
	}
	return rf
}

// dashboardExprs returns every PromQL expression in a Grafana dashboard:
// panel targets (nested rows included) and templating queries.
func dashboardExprs(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title      string            `json:"title"`
		UID        string            `json:"uid"`
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s is not JSON: %v", path, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("%s has no uid or title", path)
	}
	out := map[string]string{}
	type panel struct {
		Title   string            `json:"title"`
		Type    string            `json:"type"`
		Panels  []json.RawMessage `json:"panels"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, raw := range ps {
			var p panel
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("%s: panel: %v", path, err)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q queries nothing", p.Title)
			}
			for i, tg := range p.Targets {
				out[p.Title+"#"+string(rune('A'+i))] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Definition != "" {
			out["variable "+v.Name] = v.Definition
		}
	}
	return out
}

func TestEveryMetricTheDashboardAndAlertsUseIsExported(t *testing.T) {
	exported := metrics.Names()
	uses := map[string]string{} // where -> expr
	for _, g := range loadAlerts(t).Groups {
		for _, r := range g.Rules {
			uses["alert "+r.Alert] = r.Expr
		}
	}
	dashboards, _ := filepath.Glob("grafana/*.json")
	if len(dashboards) == 0 {
		t.Fatal("no dashboard in deploy/grafana")
	}
	for _, d := range dashboards {
		for where, expr := range dashboardExprs(t, d) {
			uses[filepath.Base(d)+": "+where] = expr
		}
	}
	used := map[string]bool{}
	for where, expr := range uses {
		ms := metricsIn(expr, exported)
		if len(ms) == 0 {
			t.Errorf("%s reads no streamhunt metric: %s", where, expr)
		}
		for _, m := range ms {
			used[m] = true
			if !slices.Contains(exported, m) {
				t.Errorf("%s uses %s, which the binary does not export", where, m)
			}
		}
	}
	// The list of what an operator must see, each on the dashboard or in an alert.
	for _, m := range []string{
		"streamhunt_events_received_total", "streamhunt_records_received_total", "streamhunt_bytes_received_total",
		"streamhunt_records_decoded_total", "streamhunt_decode_failures_total", "streamhunt_dead_letters_total",
		"streamhunt_findings_total", "streamhunt_sink_attempts_total", "streamhunt_sink_failures_total",
		"streamhunt_sink_request_duration_seconds", "streamhunt_checkpoint_writes_total", "streamhunt_checkpoint_age_seconds",
		"streamhunt_partitions_owned", "streamhunt_partition_lag_events", "streamhunt_end_to_end_latency_seconds",
		"streamhunt_signin_to_delivery_latency_seconds", "streamhunt_processor_restarts_total", "streamhunt_last_record_age_seconds",
	} {
		if !used[m] {
			t.Errorf("%s is neither on the dashboard nor in an alert", m)
		}
	}
}

func TestMetricsInReadsFamiliesNotLabels(t *testing.T) {
	exported := []string{"streamhunt_a_seconds", "streamhunt_b_total"}
	got := metricsIn(`histogram_quantile(0.9, sum by (le) (rate(streamhunt_a_seconds_bucket{go_x="streamhunt_fake"}[5m]))) / streamhunt_b_total`, exported)
	if !slices.Equal(got, []string{"streamhunt_a_seconds", "streamhunt_b_total"}) {
		t.Errorf("metricsIn = %v", got)
	}
}

func TestEveryAlertSaysHowBadItIsAndWhatToDo(t *testing.T) {
	ops, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "operations.md"))
	if err != nil {
		t.Fatalf("docs/operations.md explains the alerts: %v", err)
	}
	anchors := markdownAnchors(string(ops))
	names := map[string]bool{}
	for _, g := range loadAlerts(t).Groups {
		for _, r := range g.Rules {
			t.Run(r.Alert, func(t *testing.T) {
				if names[r.Alert] {
					t.Errorf("alert %s is defined twice", r.Alert)
				}
				names[r.Alert] = true
				if s := r.Labels["severity"]; s != "critical" && s != "warning" {
					t.Errorf("severity %q, want critical or warning", s)
				}
				if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
					t.Error("summary and description are needed to act on the page")
				}
				if r.For != "" {
					if _, err := time.ParseDuration(r.For); err != nil {
						t.Errorf("for: %v", err)
					}
				}
				if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
					t.Errorf("unbalanced parentheses in %s", r.Expr)
				}
				rb := r.Annotations["runbook_url"]
				_, anchor, _ := strings.Cut(rb, "#")
				if !strings.HasPrefix(rb, "docs/operations.md#") || !anchors[anchor] {
					t.Errorf("runbook_url %q does not name a section of docs/operations.md", rb)
				}
			})
		}
	}
	for _, want := range []string{"StreamhuntLagGrowing", "StreamhuntNoPartitionsOwned", "StreamhuntDeadLetters", "StreamhuntSinkFailures",
		"StreamhuntEndToEndLatencyHigh", "StreamhuntSignInCategorySilent"} {
		if !names[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

// markdownAnchors returns the GitHub-style anchors of a document's headings.
func markdownAnchors(doc string) map[string]bool {
	out := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(l, "#")))
		h = strings.ReplaceAll(drop.ReplaceAllString(h, ""), " ", "-")
		out[h] = true
	}
	return out
}
