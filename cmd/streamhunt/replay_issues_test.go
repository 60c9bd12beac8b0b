package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/streamhunt/streamhunt/internal/testenv"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/rules"
)

// webhookRecorder is a local webhook endpoint that records the findings it
// receives (json format, one finding per request), answering status.
type webhookRecorder struct {
	mu     sync.Mutex
	got    map[string][]string // rule id -> record ids
	status int
}

func newWebhookRecorder(t *testing.T, status int) (*webhookRecorder, string) {
	t.Helper()
	w := &webhookRecorder{got: map[string][]string{}, status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var f struct {
			RuleID   string `json:"ruleId"`
			RecordID string `json:"recordId"`
		}
		if err := json.Unmarshal(b, &f); err != nil || f.RuleID == "" {
			t.Errorf("webhook body is not a finding: %v\n%s", err, b)
		}
		w.mu.Lock()
		if w.status < 300 {
			w.got[f.RuleID] = append(w.got[f.RuleID], f.RecordID)
		}
		w.mu.Unlock()
		rw.WriteHeader(w.status)
	}))
	t.Cleanup(srv.Close)
	return w, srv.URL
}

func (w *webhookRecorder) findings() map[string][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][]string{}
	for k, v := range w.got {
		s := append([]string(nil), v...)
		sort.Strings(s)
		out[k] = s
	}
	return out
}

func expectedExample(t *testing.T) (string, map[string][]string) {
	t.Helper()
	ex := filepath.Join(testenv.RepoRoot(t), "examples", "device-code-phishing")
	b, err := os.ReadFile(filepath.Join(ex, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for k := range want {
		sort.Strings(want[k])
	}
	return filepath.Join(ex, "eventhubs"), want
}

// replayConfig is a run configuration whose source section could not even
// be loaded here (its variable is unset): replay must not need it.
func replayConfig(url, deadLetterDir string, extra string) string {
	return `source:
  connectionString: ${STREAMHUNT_TEST_UNSET_EVENTHUB}
  hubs: [insights-logs-signinlogs]
checkpoints:
  connectionString: ${STREAMHUNT_TEST_UNSET_STORAGE}
rules:
  builtin: true
sinks:
  - name: soc
    webhook:
      url: ` + url + `
      insecure: true
      retry: {initialBackoff: 1ms, maxBackoff: 2ms, giveUpAfterAttempts: 2}
deadLetter:
  dir: ` + deadLetterDir + `
` + extra
}

func TestReplayWithConfigDeliversTheExampleToTheConfiguredWebhook(t *testing.T) {
	input, want := expectedExample(t)
	hook, url := newWebhookRecorder(t, http.StatusOK)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "streamhunt.yaml"), replayConfig(url, filepath.Join(dir, "dl"), ""))
	code, stdout, stderr := runCLI(t, dir, "replay", "--config", cfg, input)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if strings.TrimSpace(stdout) != "" {
		t.Errorf("with --config, findings go to the configured sinks, not stdout:\n%s", stdout)
	}
	if got := hook.findings(); !reflect.DeepEqual(got, want) {
		t.Errorf("webhook received:\n got %v\nwant %v", got, want)
	}
	if !strings.Contains(stderr, "sinks: soc") {
		t.Errorf("summary does not name the sinks:\n%s", stderr)
	}
}

func TestReplayWithConfigUsesItsRulesSection(t *testing.T) {
	input, _ := expectedExample(t)
	hook, url := newWebhookRecorder(t, http.StatusOK)
	dir := t.TempDir()
	rule := writeFile(t, filepath.Join(dir, "rules", "devicecode.kql"), "SigninLogs | where AuthenticationProtocol == \"deviceCode\"\n")
	cfg := strings.Replace(replayConfig(url, filepath.Join(dir, "dl"), ""), "builtin: true", "builtin: false\n  paths: ["+rule+"]", 1)
	code, _, stderr := runCLI(t, dir, "replay", "--config", writeFile(t, filepath.Join(dir, "c.yaml"), cfg), input)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	got := hook.findings()
	if len(got) != 1 || len(got["devicecode"]) == 0 {
		t.Errorf("want findings of the configured rule only, got %v", got)
	}
}

func TestReplayWithConfigExitsOneWhenASinkCannotDeliver(t *testing.T) {
	input, _ := expectedExample(t)
	_, url := newWebhookRecorder(t, http.StatusBadRequest) // permanent: dead letter
	dir := t.TempDir()
	dl := filepath.Join(dir, "dl")
	cfg := writeFile(t, filepath.Join(dir, "c.yaml"), replayConfig(url, dl, ""))
	code, _, stderr := runCLI(t, dir, "replay", "--config", cfg, input)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "not delivered") || !strings.Contains(stderr, "sink-rejected") {
		t.Errorf("stderr does not say the findings were not delivered:\n%s", stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dl, "*.jsonl"))
	if len(files) == 0 {
		t.Fatalf("no dead letter file in %s", dl)
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), `"reason":"sink-rejected"`) {
		t.Errorf("dead letters:\n%s", b)
	}
}

func TestReplayConfigFlagMistakes(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.json"), `{"records":[]}`)
	cfg := writeFile(t, filepath.Join(dir, "c.yaml"), replayConfig("http://127.0.0.1:1/hook", filepath.Join(dir, "dl"), ""))
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), replayConfig("ftp://x", filepath.Join(dir, "dl"), ""))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"--output and --config together", []string{"replay", "--config", cfg, "--output", filepath.Join(dir, "f.jsonl"), good}, "--output"},
		{"a missing configuration file", []string{"replay", "--config", filepath.Join(dir, "nope.yaml"), good}, "nope.yaml"},
		{"an invalid sink", []string{"replay", "--config", bad, good}, "sinks.soc.webhook.url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, dir, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d (want 2), stderr:\n%s\nwant it to contain %q", code, stderr, tc.want)
			}
		})
	}
}

func TestReplayConfigKeepsLineNumbersAndAcceptsAConfigWithoutSourceOrDeadLetter(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.json"), `{"records":[]}`)
	// Line 13 references an unset variable: the error must name line 13
	// even though the source section above it is not used.
	cfg := writeFile(t, filepath.Join(dir, "c.yaml"), replayConfig("http://127.0.0.1:1/hook", filepath.Join(dir, "dl"), "")+
		"ops: {logLevel: warn}\n")
	lines := strings.Split(mustRead(t, cfg), "\n")
	lines[12] = "      secret: ${STREAMHUNT_TEST_UNSET_SECRET}"
	os.WriteFile(cfg, []byte(strings.Join(lines, "\n")), 0o644)
	code, _, stderr := runCLI(t, dir, "replay", "--config", cfg, good)
	if code != 2 || !strings.Contains(stderr, "line 13: environment variable STREAMHUNT_TEST_UNSET_SECRET") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	// Only sinks: no source, checkpoints or deadLetter at all.
	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	minimal := writeFile(t, filepath.Join(dir, "m.yaml"), "sinks:\n  - name: local\n    file: {path: "+filepath.Join(dir, "out", "f.jsonl")+"}\n")
	p := writeFile(t, filepath.Join(dir, "in.json"), `{"records":[`+signin("hit", "deviceCode", "", "0", office)+`]}`)
	code, _, stderr = runCLI(t, dir, "replay", "--config", minimal, p)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if b := mustRead(t, filepath.Join(dir, "out", "f.jsonl")); !strings.Contains(b, `"recordId":"hit"`) {
		t.Errorf("file sink holds:\n%s", b)
	}
	// A flow-style configuration works too.
	flow := writeFile(t, filepath.Join(dir, "flow.yaml"), `{source: {namespace: x}, sinks: [{name: local, file: {path: `+filepath.Join(dir, "out", "g.jsonl")+`}}], deadLetter: {file: `+filepath.Join(dir, "dl.jsonl")+`}}`)
	if code, _, stderr = runCLI(t, dir, "replay", "--config", flow, p); code != 0 {
		t.Fatalf("flow style: exit %d:\n%s", code, stderr)
	}
	if b := mustRead(t, filepath.Join(dir, "out", "g.jsonl")); !strings.Contains(b, `"recordId":"hit"`) {
		t.Errorf("file sink holds:\n%s", b)
	}
}

func TestReplayResumeSkipsWhatWasDeliveredAndReadsWhatWasAppended(t *testing.T) {
	dir := t.TempDir()
	progress := filepath.Join(dir, "state", "progress.json")
	in := filepath.Join(dir, "in", "signins.ndjson")
	body := func(id string) string {
		return `{"records":[` + signin(id, "deviceCode", "", "0", office) + `]}` + "\n"
	}
	writeFile(t, in, body("first")+body("second"))
	other := writeFile(t, filepath.Join(dir, "in", "other.json"), body("third"))
	only := writeFile(t, filepath.Join(dir, "r", "dc.kql"), "SigninLogs | where AuthenticationProtocol == \"deviceCode\"\n")
	replayIDs := func(want int) []string {
		t.Helper()
		code, stdout, stderr := runCLI(t, dir, "replay", "--resume", progress, "--only-rules", only, filepath.Join(dir, "in"))
		if code != want {
			t.Fatalf("exit %d, want %d:\n%s", code, want, stderr)
		}
		var ids []string
		for _, f := range findings(t, stdout) {
			ids = append(ids, f["recordId"].(string))
		}
		sort.Strings(ids)
		return ids
	}
	if got := replayIDs(0); strings.Join(got, ",") != "first,second,third" {
		t.Fatalf("first replay: %v", got)
	}
	if got := replayIDs(0); len(got) != 0 {
		t.Fatalf("second replay over the same input: %v, want nothing", got)
	}
	f, err := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(body("appended"))
	f.Close()
	if got := replayIDs(0); strings.Join(got, ",") != "appended" {
		t.Fatalf("after an append: %v, want only the appended body's finding", got)
	}
	// A file that shrank was replaced: it is read again from the start, with a warning.
	writeFile(t, other, body("new"))
	code, stdout, stderr := runCLI(t, dir, "replay", "--resume", progress, "--only-rules", only, filepath.Join(dir, "in"))
	if code != 0 || len(findings(t, stdout)) != 1 || !strings.Contains(stderr, other+" changed since") {
		t.Fatalf("exit %d, stdout %s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "resumed from "+progress) {
		t.Errorf("summary does not say it resumed:\n%s", stderr)
	}
}

func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	zw.Close()
	return buf.Bytes()
}

func TestReplayDeadLettersAnUnreadableFileAndGoesOnWithTheOthers(t *testing.T) {
	dir := t.TempDir()
	only := writeFile(t, filepath.Join(dir, "r", "dc.kql"), "SigninLogs | where AuthenticationProtocol == \"deviceCode\"\n")
	var a strings.Builder
	for i := 0; i < 300; i++ {
		a.WriteString(`{"records":[` + signin(fmt.Sprintf("a%03d", i), "deviceCode", "", "0", office) + `]}` + "\n")
	}
	full := gzipBytes(t, a.String())
	writeFile(t, filepath.Join(dir, "mix", "a.ndjson.gz"), string(full[:len(full)/2]))
	writeFile(t, filepath.Join(dir, "mix", "b.ndjson"), `{"records":[`+signin("b", "deviceCode", "", "0", office)+`]}`+"\n")
	dl := filepath.Join(dir, "dl.jsonl")
	code, stdout, stderr := runCLI(t, dir, "replay", "--only-rules", only, "--dead-letter", dl, filepath.Join(dir, "mix"))
	if code != 0 {
		t.Fatalf("exit %d, want 0 (input was processed):\n%s", code, stderr)
	}
	ids := map[string]bool{}
	for _, f := range findings(t, stdout) {
		ids[f["recordId"].(string)] = true
	}
	if !ids["b"] || !ids["a000"] || len(ids) < 10 || len(ids) >= 301 {
		t.Fatalf("findings for %d records (b %v, a000 %v): want b and the bodies of a before the cut", len(ids), ids["b"], ids["a000"])
	}
	var d struct {
		Reason string
		Error  string
		Source struct {
			File string
			Line int
		}
	}
	if err := json.Unmarshal(bytes.TrimSpace(mustReadBytes(t, dl)), &d); err != nil {
		t.Fatalf("dead letters: %v", err)
	}
	if d.Reason != "read-error" || d.Source.File != filepath.Join(dir, "mix", "a.ndjson.gz") || d.Source.Line != len(ids) || !strings.Contains(d.Error, "unexpected EOF") {
		t.Errorf("dead letter = %+v (%d findings)", d, len(ids))
	}
	if !strings.Contains(stderr, "read errors: 1 file") || !strings.Contains(stderr, "a.ndjson.gz") {
		t.Errorf("summary:\n%s", stderr)
	}
	if i, j := strings.Index(stderr, "a.ndjson.gz"), strings.Index(stderr, "findings per rule"); i < 0 || i > j {
		t.Errorf("the read error is not reported before the summary ends:\n%s", stderr)
	}

	// Nothing readable at all: exit 1.
	bad := writeFile(t, filepath.Join(dir, "bad", "x.gz"), "\x1f\x8bnot gzip")
	code, _, stderr = runCLI(t, dir, "replay", "--only-rules", only, "--dead-letter", dl, bad)
	if code != 1 || !strings.Contains(stderr, "no input could be read") {
		t.Errorf("exit %d, want 1:\n%s", code, stderr)
	}
}

func mustReadBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReplayReadsOnlyLogFilesInDirectoriesAndSaysWhatItSkipped(t *testing.T) {
	dir := t.TempDir()
	hit := `{"records":[` + signin("hit", "deviceCode", "", "0", office) + `]}` + "\n"
	writeFile(t, filepath.Join(dir, "logs", "signins.ndjson"), hit)
	writeFile(t, filepath.Join(dir, "logs", "README.md"), "# what these logs are\n")
	writeFile(t, filepath.Join(dir, "logs", "query.kql"), "SigninLogs | take 1\n")
	writeFile(t, filepath.Join(dir, "logs", ".git", "config.json"), "not json\n")
	notes := writeFile(t, filepath.Join(dir, "logs", "saved-body.txt"), `{"records":[`+signin("named", "deviceCode", "", "0", office)+`]}`)
	code, stdout, stderr := runCLI(t, dir, "replay", "--only-rules", writeFile(t, filepath.Join(dir, "r", "dc.kql"), "SigninLogs | where AuthenticationProtocol == \"deviceCode\"\n"),
		filepath.Join(dir, "logs"), notes)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	ids := map[string]bool{}
	for _, f := range findings(t, stdout) {
		ids[f["recordId"].(string)] = true
	}
	if !ids["hit"] || !ids["named"] || len(ids) != 2 {
		t.Errorf("findings for %v, want hit and the explicitly named file's", ids)
	}
	if !strings.Contains(stderr, "2 files, 2 bodies") || !strings.Contains(stderr, "dead letters: 0") {
		t.Errorf("summary:\n%s", stderr)
	}
	if !strings.Contains(stderr, "skipped 2 files in directories") || !strings.Contains(stderr, "README.md") || !strings.Contains(stderr, "query.kql") {
		t.Errorf("summary does not say what it skipped:\n%s", stderr)
	}
}

func TestReplayOutputCreatesItsDirectory(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, filepath.Join(dir, "in.json"), `{"records":[`+signin("hit", "deviceCode", "", "0", office)+`]}`)
	out := filepath.Join(dir, "results", "2025", "findings.jsonl")
	code, stdout, stderr := runCLI(t, dir, "replay", "--output", out, p)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if stdout != "" || !strings.Contains(mustRead(t, out), `"recordId":"hit"`) {
		t.Errorf("stdout %q; %s holds:\n%s", stdout, out, mustRead(t, out))
	}
}

func TestReplayHintsAtNowWhenARuleReadsTheClock(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in.json"), `{"records":[`+signin("hit", "deviceCode", "", "0", office)+`]}`)
	recent := writeFile(t, filepath.Join(dir, "r", "recent.kql"), "// sign-ins of the last day\nSigninLogs\n| where TimeGenerated > ago(1d)\n")
	quoted := writeFile(t, filepath.Join(dir, "q", "quoted.kql"), "// not a clock: now() and ago(1d) in a comment\nSigninLogs\n| where AppDisplayName != \"ago(1d)\" and UserPrincipalName != 'now()'\n")
	const hint = "uses ago()/now(); replay evaluates it against the current clock; pass --now TIME to replay old logs as of their time"
	for _, tc := range []struct {
		name string
		args []string
		hint bool
	}{
		{"a rule with ago()", []string{"--only-rules", recent}, true},
		{"the same with --now", []string{"--only-rules", recent, "--now", "2025-02-14T10:00:00Z"}, false},
		{"ago( and now( in a comment and in strings", []string{"--only-rules", quoted}, false},
		{"the built-in rules", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, dir, append(append([]string{"replay"}, tc.args...), in)...)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			if got := strings.Count(stderr, hint); got != map[bool]int{true: 1, false: 0}[tc.hint] {
				t.Errorf("the hint appears %d times:\n%s", got, stderr)
			}
			if tc.hint && !strings.Contains(stderr, "rule recent "+hint) {
				t.Errorf("the hint does not name the rule:\n%s", stderr)
			}
		})
	}
}

func TestRulesReadingTheClockAreFoundInLetsAndNestedCallsToo(t *testing.T) {
	var rs []rules.Rule
	for id, q := range map[string]string{
		"let-value": "let since = ago(7d);\nSigninLogs | where TimeGenerated > since",
		"nested":    "SigninLogs | where iff(ResultType == 0, TimeGenerated > now(-1h), false)",
		"extend":    "SigninLogs | extend Age = now() - TimeGenerated | where Age < 5m",
		"none":      "SigninLogs | where ResultType == 0 and AppDisplayName has 'now'",
	} {
		rs = append(rs, rules.Rule{ID: id, Query: q, Severity: "medium", File: id + ".kql", Line: 1})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	p, err := pipeline.New(rs, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rulesReadingTheClock(p.Rules()), ","); got != "extend,let-value,nested" {
		t.Errorf("rules reading the clock: %s", got)
	}
}

func TestReplayWarnsThatLogAnalyticsQueryExportsAreNotItsInput(t *testing.T) {
	dir := t.TempDir()
	rows := `[{"TenantId":"t","TimeGenerated":"2025-02-14T09:00:00Z","Category":"SignInLogs","UserPrincipalName":"a@b.example","AuthenticationProtocol":"deviceCode","Type":"SigninLogs"},` +
		`{"TenantId":"t","TimeGenerated":"2025-02-14T09:01:00Z","Category":"SignInLogs","UserPrincipalName":"c@b.example","Type":"SigninLogs"}]`
	p := writeFile(t, filepath.Join(dir, "export.json"), rows)
	code, stdout, stderr := runCLI(t, dir, "replay", p)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"2 records look like rows exported from a Log Analytics query", "diagnostic setting", "PT1H.json"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	// Real diagnostic-settings records get no such warning.
	good := writeFile(t, filepath.Join(dir, "good.json"), `{"records":[`+signin("x", "deviceCode", "", "0", office)+`]}`)
	if _, _, stderr := runCLI(t, dir, "replay", good); strings.Contains(stderr, "Log Analytics query") {
		t.Errorf("warning on diagnostic-settings records:\n%s", stderr)
	}
}

// Field report from the project's own evaluation: a file still being
// written ends in half a line. --resume must neither count it as read nor
// lose the records of that line once it is whole.
func TestReplayResumeLeavesAHalfWrittenLastLineForTheNextReplay(t *testing.T) {
	dir := t.TempDir()
	progress := filepath.Join(dir, "progress.json")
	in := filepath.Join(dir, "in", "signins.ndjson")
	only := writeFile(t, filepath.Join(dir, "r", "dc.kql"), "SigninLogs | where AuthenticationProtocol == \"deviceCode\"\n")
	whole := `{"records":[` + signin("r1", "deviceCode", "", "0", office) + `,` + signin("r2", "deviceCode", "", "0", office) + `]}` + "\n"
	cut := len(whole) / 2
	writeFile(t, in, `{"records":[`+signin("r0", "deviceCode", "", "0", office)+`]}`+"\n"+whole[:cut])
	replay := func() (ids []string, stderr string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, dir, "replay", "--resume", progress, "--only-rules", only, "--dead-letter", filepath.Join(dir, "dl.jsonl"), in)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, stderr)
		}
		for _, f := range findings(t, stdout) {
			ids = append(ids, f["recordId"].(string))
		}
		sort.Strings(ids)
		return ids, stderr
	}
	ids, stderr := replay()
	if strings.Join(ids, ",") != "r0" || !strings.Contains(stderr, in+":2: the last line has no line break") {
		t.Fatalf("while the file is being written: findings %v, want r0 and a note on line 2:\n%s", ids, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "dl.jsonl")); err == nil {
		t.Errorf("the half-written line was dead-lettered; it should be left for the next replay")
	}
	f, err := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(whole[cut:])
	f.Close()
	if ids, stderr := replay(); strings.Join(ids, ",") != "r1,r2" {
		t.Fatalf("once the line is whole: findings %v, want r1,r2:\n%s", ids, stderr)
	}
	if ids, _ := replay(); len(ids) != 0 {
		t.Fatalf("a third replay: %v, want nothing", ids)
	}
}

// --only-rules replaces the configuration's rules section, so a section
// that would run nothing by itself is no reason to refuse the replay.
func TestReplayWithConfigAndOnlyRulesIgnoresTheRulesSection(t *testing.T) {
	dir := t.TempDir()
	only := writeFile(t, filepath.Join(dir, "r", "dc.kql"), "SigninLogs | where AuthenticationProtocol == \"deviceCode\"\n")
	out := filepath.Join(dir, "out", "findings.jsonl")
	cfg := writeFile(t, filepath.Join(dir, "c.yaml"), "sinks:\n  - name: local\n    file: {path: "+out+"}\nrules:\n  builtin: false\n")
	input := filepath.Join(testenv.RepoRoot(t), "examples", "device-code-phishing", "eventhubs")
	code, _, stderr := runCLI(t, dir, "replay", "--config", cfg, "--only-rules", only, input)
	if code != 0 || !strings.Contains(stderr, "findings per rule: dc ") {
		t.Fatalf("exit %d, want 0 with rule dc run:\n%s", code, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || len(b) == 0 {
		t.Fatalf("file sink %s: %v, want findings", out, err)
	}
}

// A broken file is dead-lettered once: replaying the unchanged file again
// with --resume neither reads it nor writes the same dead letter again.
func TestReplayResumeDeadLettersAnUnreadableFileOnce(t *testing.T) {
	dir := t.TempDir()
	only := writeFile(t, filepath.Join(dir, "r", "dc.kql"), "SigninLogs | where AuthenticationProtocol == \"deviceCode\"\n")
	var a strings.Builder
	for i := 0; i < 300; i++ {
		a.WriteString(`{"records":[` + signin(fmt.Sprintf("a%03d", i), "deviceCode", "", "0", office) + `]}` + "\n")
	}
	full := gzipBytes(t, a.String())
	writeFile(t, filepath.Join(dir, "in", "a.ndjson.gz"), string(full[:len(full)/2]))
	dl := filepath.Join(dir, "dl.jsonl")
	lines := func() int {
		b, _ := os.ReadFile(dl)
		return strings.Count(string(b), "\n")
	}
	for run := 1; run <= 2; run++ {
		code, stdout, stderr := runCLI(t, dir, "replay", "--resume", filepath.Join(dir, "p.json"), "--only-rules", only, "--dead-letter", dl, filepath.Join(dir, "in"))
		if code != 0 {
			t.Fatalf("run %d: exit %d:\n%s", run, code, stderr)
		}
		if run == 2 && (len(findings(t, stdout)) != 0 || lines() != 1) {
			t.Fatalf("second run: %d findings, %d dead letters; want none new (1 in all)\n%s", len(findings(t, stdout)), lines(), stderr)
		}
	}
}
