package fanout

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.yaml.in/yaml/v3"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/deadletter"
	"github.com/streamhunt/streamhunt/sink/retry"
	"github.com/streamhunt/streamhunt/sink/sinktest"
	"github.com/streamhunt/streamhunt/sink/webhook"
)

var fast = retry.Policy{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

func newFanout(t *testing.T, targets []Target, allow []Allowlist) *Fanout {
	t.Helper()
	f, err := New(targets, allow, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.retry = fast
	return f
}

func finding(i int, rule, severity string) pipeline.Finding {
	f := sinktest.Finding(i)
	f.RuleID, f.Severity = rule, severity
	f.FindingID = pipeline.FindingID(rule, f.Table, f.RecordID, 0)
	return f
}

func ruleIDs(r *sinktest.Recorder) string {
	var out []string
	for _, b := range r.Batches() {
		for _, f := range b.Findings {
			out = append(out, f.RuleID)
		}
	}
	return strings.Join(out, ",")
}

func TestRoutingByRuleAndSeverity(t *testing.T) {
	batch := sink.Batch{Findings: []pipeline.Finding{
		finding(0, "builtin/device-code-unmanaged", "high"),
		finding(1, "builtin/device-code-risky", "medium"),
		finding(2, "custom/legacy-auth", "low"),
		finding(3, "custom/odd", "Critical"), // a severity no route knows
	}}
	tests := []struct {
		name  string
		route Route
		want  string
	}{
		{"no route sends everything", Route{}, "builtin/device-code-unmanaged,builtin/device-code-risky,custom/legacy-auth,custom/odd"},
		{"a rule glob selects rules", Route{Rules: []string{"builtin/*"}}, "builtin/device-code-unmanaged,builtin/device-code-risky"},
		{"excluded rules never arrive", Route{ExcludeRules: []string{"*/device-code-risky"}}, "builtin/device-code-unmanaged,custom/legacy-auth,custom/odd"},
		{"a minimum severity drops lower ones but never an unknown one", Route{MinSeverity: "Medium"}, "builtin/device-code-unmanaged,builtin/device-code-risky,custom/odd"},
		{"rules and severity combine", Route{Rules: []string{"custom/*"}, MinSeverity: "high"}, "custom/odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &sinktest.Recorder{}
			f := newFanout(t, []Target{{Sink: rec, Route: tt.route}}, nil)
			if err := f.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			if got := ruleIDs(rec); got != tt.want {
				t.Fatalf("sink got %s, want %s", got, tt.want)
			}
		})
	}
}

// flaky fails its first n writes, counting every call.
type flaky struct {
	sinktest.Recorder
	mu    sync.Mutex
	n     int
	calls int
}

func (f *flaky) Write(ctx context.Context, b sink.Batch) error {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.n
	f.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return f.Recorder.Write(ctx, b)
}

// Field report 7 (elastic/beats#16215): a batch counts as delivered only once every configured sink confirmed it.
// Field report H2 (open-telemetry/opentelemetry-collector-contrib, inferred hazard): Write succeeds only once the failing sink itself confirmed, not when the batch was handed over.
func TestABatchIsAcknowledgedOnlyWhenEverySinkConfirmed(t *testing.T) {
	good := &sinktest.Recorder{SinkName: "good"}
	bad := &flaky{Recorder: sinktest.Recorder{SinkName: "bad"}, n: 5}
	f := newFanout(t, []Target{{Sink: good}, {Sink: bad}}, nil)
	b := sinktest.Batch(0, 4)
	if err := f.Write(context.Background(), b); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	if bad.calls != 6 || len(bad.FindingIDs()) != 4 || len(good.FindingIDs()) != 4 {
		t.Fatalf("bad sink called %d times and holds %d findings, good holds %d; want 6, 4, 4",
			bad.calls, len(bad.FindingIDs()), len(good.FindingIDs()))
	}
}

// Field report 7 (elastic/beats#16215): a sink that stays down keeps the batch unacknowledged, so it is not checkpointed.
func TestASinkThatStaysDownHoldsTheBatchUntilTheContextEnds(t *testing.T) {
	good := &sinktest.Recorder{SinkName: "good"}
	down := &flaky{Recorder: sinktest.Recorder{SinkName: "down"}, n: 1 << 30}
	f := newFanout(t, []Target{{Sink: good}, {Sink: down}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Write(ctx, sinktest.Batch(0, 2)) }()
	// Wait until the down sink has been tried a few times, then stop.
	for {
		down.mu.Lock()
		c := down.calls
		down.mu.Unlock()
		if c >= 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "sink down did not confirm 2 findings") {
		t.Fatalf("Write() = %v, want an error: the batch is not acknowledged", err)
	}
	if len(down.FindingIDs()) != 0 || len(good.FindingIDs()) != 2 {
		t.Fatalf("down holds %d, good holds %d", len(down.FindingIDs()), len(good.FindingIDs()))
	}
}

func TestAllowlistsKeepBenignFindingsFromNotificationSinksOnly(t *testing.T) {
	f0 := sinktest.Finding(0) // user0@contoso.com, 203.0.113.0, Azure CLI
	f1 := sinktest.Finding(1) // user1@contoso.com, 203.0.113.1
	batch := sink.Batch{Findings: []pipeline.Finding{f0, f1}}
	cli := "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	tests := []struct {
		name  string
		allow Allowlist
		want  int // findings reaching the notification sink
	}{
		{"an app id allowlists every finding of that app", Allowlist{AppIDs: []string{strings.ToUpper(cli)}}, 0},
		{"a user is matched case-insensitively", Allowlist{Users: []string{"USER1@contoso.com"}}, 1},
		{"an IP range covers the addresses in it", Allowlist{IPRanges: []string{"203.0.113.0/31"}}, 0},
		{"a single address is a range of one", Allowlist{IPRanges: []string{"203.0.113.1"}}, 1},
		{"kinds combine: this user with this app", Allowlist{AppIDs: []string{cli}, Users: []string{"user0@contoso.com"}}, 1},
		{"an entry for other rules does not apply", Allowlist{Rules: []string{"custom/*"}, AppIDs: []string{cli}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			notify := &sinktest.Recorder{SinkName: "soc-" + tt.name}
			archive := &sinktest.Recorder{SinkName: "archive"}
			f := newFanout(t, []Target{{Sink: notify, Notify: true}, {Sink: archive}}, []Allowlist{tt.allow})
			// The registry is shared by the process (and kept across -count
			// runs): compare what this write added.
			before := testutil.ToFloat64(metrics.SinkSuppressed.WithLabelValues(notify.Name(), f0.RuleID, "allowlist"))
			if err := f.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			if got := len(notify.FindingIDs()); got != tt.want {
				t.Fatalf("notification sink got %d findings, want %d", got, tt.want)
			}
			counted := testutil.ToFloat64(metrics.SinkSuppressed.WithLabelValues(notify.Name(), f0.RuleID, "allowlist")) - before
			if counted != float64(2-tt.want) {
				t.Fatalf("streamhunt_sink_findings_suppressed_total{reason=allowlist} rose by %v, want %d", counted, 2-tt.want)
			}
			if got := len(archive.FindingIDs()); got != 2 {
				t.Fatalf("archive sink got %d findings, want both", got)
			}
		})
	}
}

func TestMinimisationOmitsOrHashesColumnsEverywhereBeforeTheyLeave(t *testing.T) {
	key := "0123456789abcdef-key"
	src := sinktest.Finding(0)
	src.Columns = append(src.Columns, pipeline.Column{Name: "Details", Type: table.TypeDynamic,
		Value: table.Dynamic(`{"who":"user0@contoso.com","from":"203.0.113.0"}`)})
	batch := sink.Batch{Findings: []pipeline.Finding{src, sinktest.Finding(250)}} // 250: same IP, user0 again
	minimised := &sinktest.Recorder{SinkName: "partner"}
	raw := &sinktest.Recorder{SinkName: "archive"}
	f := newFanout(t, []Target{
		{Sink: minimised, Minimize: Minimize{Omit: []string{"UserPrincipalName"}, Hash: []string{"IPAddress"}, HashKey: key}},
		{Sink: raw},
	}, nil)
	if err := f.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	got := minimised.Batches()[0].Findings
	js, _ := json.Marshal(got[0])
	// Known answers computed outside Go from docs/sinks.md ("hmac:" + the
	// first 32 hex digits of HMAC-SHA256(hashKey, lower-cased value)):
	//   python3 -c 'import hmac,hashlib; print(hmac.new(b"0123456789abcdef-key", b"203.0.113.0", hashlib.sha256).hexdigest()[:32])'
	// and the same for b"user0@contoso.com".
	const wantHash = "hmac:42777f43f669b3548658cb5428121217"
	const wantUserHash = "hmac:953162bf7d9a510c6ea4816601bc8651"
	ip0, _ := got[0].Columns.Get("IPAddress")
	ip1, _ := got[1].Columns.Get("IPAddress")
	tests := []struct {
		name string
		ok   bool
	}{
		{"the user name appears nowhere", !strings.Contains(string(js), "user0@contoso.com")},
		{"the IP address appears nowhere", !strings.Contains(string(js), `203.0.113.0"`)},
		{"the omitted column is gone", func() bool { _, ok := got[0].Columns.Get("UserPrincipalName"); return !ok }()},
		{"the hashed column holds the keyed hash", ip0.S == wantHash},
		{"HashValue gives the documented hash", HashValue([]byte(key), "203.0.113.0") == wantHash},
		{"values are lower-cased before hashing, as documented", HashValue([]byte(key), "USER0@Contoso.COM") == wantUserHash},
		{"equal values hash equally, so findings still correlate", ip1.S == ip0.S},
		{"the ip entity is hashed and the account entity dropped", len(got[0].Entities) == 1 && got[0].Entities[0].Identifier == wantHash},
		{"inside dynamic columns the values are replaced", strings.Contains(string(js), `\"from\":\"`+wantHash) || strings.Contains(string(js), `"from":"`+wantHash)},
		{"another key gives another hash (no dictionary without the key)", HashValue([]byte("another-key-0123456"), "203.0.113.0") != wantHash},
		{"other sinks still get the original", func() bool {
			v, _ := raw.Batches()[0].Findings[0].Columns.Get("UserPrincipalName")
			return v.S == "user0@contoso.com"
		}()},
		{"the caller's finding is not changed", func() bool { v, _ := batch.Findings[0].Columns.Get("IPAddress"); return v.S == "203.0.113.0" }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Fatalf("finding sent: %s", js)
			}
		})
	}
}

const yamlConfig = `
sinks:
  - name: findings-file
    file:
      path: FILE
  - name: soc
    webhook:
      url: URL
      insecure: true
      secret: a-secret
      stormControl:
        window: 10m
      retry:
        initialBackoff: 1ms
    route:
      rules: ["builtin/*"]
      minSeverity: high
    minimize:
      hash: [UserPrincipalName]
      hashKey: 0123456789abcdef0123
allowlists:
  - appIds: ["29d9ed98-a469-4536-ade2-f981bc1d605e"]
    reason: Microsoft Authentication Broker
`

func TestBuildFromYAMLDeliversToEverySinkAndDeadLettersARejection(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			body.Write(buf[:n])
			if err != nil {
				break
			}
		}
		mu.Lock()
		bodies = append(bodies, body.String())
		mu.Unlock()
		if strings.Contains(body.String(), "rec-000001") {
			http.Error(w, "no", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "findings.jsonl")
	var cfg Config
	text := strings.NewReplacer("FILE", file, "URL", srv.URL).Replace(yamlConfig)
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Sinks[1].Webhook.StormControl.Window != 10*time.Minute {
		t.Fatalf("stormControl.window = %s, want 10m from YAML", cfg.Sinks[1].Webhook.StormControl.Window)
	}
	dl := deadletter.NewFile(filepath.Join(dir, "dl.jsonl"))
	f, err := Build(cfg, dl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Sinks(), ","); got != "findings-file,soc" {
		t.Fatalf("Sinks() = %s", got)
	}
	if err := f.Write(context.Background(), sinktest.Batch(0, 3)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	if n := strings.Count(string(data), "\n"); n != 3 {
		t.Fatalf("file holds %d findings, want 3", n)
	}
	if len(bodies) != 3 {
		t.Fatalf("webhook got %d requests, want 3", len(bodies))
	}
	for _, b := range bodies {
		if strings.Contains(b, "@contoso.com") {
			t.Fatalf("webhook got an unhashed user name: %s", b)
		}
	}
	if dl.Count() != 1 {
		t.Fatalf("dead letters = %d, want the one finding the webhook refused", dl.Count())
	}
	dlData, _ := os.ReadFile(dl.Where())
	sc := bufio.NewScanner(strings.NewReader(string(dlData)))
	sc.Scan()
	var line struct{ Reason, Error, Raw string }
	json.Unmarshal(sc.Bytes(), &line)
	if line.Reason != "sink-rejected" || !strings.Contains(line.Error, "sink soc") || !strings.Contains(line.Raw, "rec-000001") {
		t.Fatalf("dead letter = %+v", line)
	}
}

func TestConfigErrorsAreAllReportedWithTheirKeys(t *testing.T) {
	text := `
sinks:
  - name: soc
    webhook: {url: "http://soc.example/hook"}
    route: {minSeverity: urgent}
    minimize: {hash: [IPAddress]}
  - name: soc
    blob: {container: findings}
    file: {path: x}
  - webhook: {url: "https://x.example"}
allowlists:
  - ipRanges: ["10.0.0.0/33"]
`
	var cfg Config
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatal(err)
	}
	_, err := Build(cfg, &sinktest.Store{}, nil)
	want := []string{
		"sinks.soc.webhook.url: must be https unless insecure: true",
		"sinks.soc.route.minSeverity:",
		"sinks.soc.minimize.hashKey:",
		"sinks.soc.name: another sink has this name",
		"sinks.soc: set exactly one of",
		"sinks[2].name: every sink needs a name",
		"allowlists[0].ipRanges:",
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Build() error lacks %q:\n%v", w, err)
		}
	}
}

func BenchmarkFanoutToThreeSinksWithMinimisation(b *testing.B) {
	targets := []Target{
		{Sink: &discard{}},
		{Sink: &discard{}, Route: Route{Rules: []string{"builtin/*"}, MinSeverity: "medium"}},
		{Sink: &discard{}, Notify: true, Minimize: Minimize{Hash: []string{"UserPrincipalName", "IPAddress"}, HashKey: "0123456789abcdef0123"}},
	}
	f, _ := New(targets, []Allowlist{{AppIDs: []string{"29d9ed98-a469-4536-ade2-f981bc1d605e"}}}, nil)
	batch := sinktest.Batch(0, 100)
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Name() string                            { return "discard" }
func (discard) Write(context.Context, sink.Batch) error { return nil }
func (discard) Close(context.Context) error             { return nil }

func TestBuildRefusesSinksThatCanRejectWithoutADeadLetter(t *testing.T) {
	cfg := Config{Sinks: []Named{{Name: "soc", Webhook: &webhook.Config{URL: "https://soc.example/hook"}}}}
	if _, err := Build(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "sinks.soc: needs a dead letter") {
		t.Fatalf("Build() = %v, want an error asking for a dead letter", err)
	}
}
