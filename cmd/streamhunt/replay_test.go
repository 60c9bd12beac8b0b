package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// signin builds one SignInLogs record in Azure's shape.
func signin(id, protocol, deviceID, result, app string) string {
	return `{ "time": "2025-02-14T09:02:10.1234567Z", "resourceId": "/tenants/11111111-2222-3333-4444-555555555555/providers/Microsoft.aadiam", "operationName": "Sign-in activity", "operationVersion": "1.0", "category": "SignInLogs", "tenantId": "11111111-2222-3333-4444-555555555555", "resultType": "` + result + `", "resultSignature": "SUCCESS", "durationMs": 0, "callerIpAddress": "203.0.113.7", "correlationId": "c-` + id + `", "identity": "Adele Vance", "Level": 4, "location": "NL", "properties": {"id":"` + id + `","createdDateTime":"2025-02-14T09:00:05.5+00:00","userDisplayName":"Adele Vance","userPrincipalName":"adele@contoso.example","userId":"u1","appId":"` + app + `","appDisplayName":"Microsoft Office","ipAddress":"203.0.113.7","status":{"errorCode":` + result + `},"deviceDetail":{"deviceId":"` + deviceID + `","operatingSystem":"Windows10","browser":"Edge"},"location":{"city":"Amsterdam","state":"Noord-Holland","countryOrRegion":"NL"},"authenticationProtocol":"` + protocol + `","riskLevelDuringSignIn":"none","isInteractive":true}}`
}

const office = "d3590ed6-52b3-4102-aeff-aad2292ab01c"

// runCLI runs the command line in dir. The working directory is the
// process's: t.Chdir keeps it there until the test ends (so a run's
// goroutine started by the test never sees it move back mid-test) and
// refuses a parallel test, so no test here may call t.Parallel.
func runCLI(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	t.Chdir(dir)
	code = dispatch(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func findings(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %v\n%s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

func TestReplayFlagsTheDeviceCodeSignInFromAnUnmanagedDevice(t *testing.T) {
	dir := t.TempDir()
	body := `{"records":[` + signin("hit", "deviceCode", "", "0", office) + `,` + signin("managed", "deviceCode", "dev-1", "0", office) + `,` + signin("failed", "deviceCode", "", "50199", office) + `]}`
	p := writeFile(t, filepath.Join(dir, "in", "signins.json"), body+"\n")
	code, stdout, stderr := runCLI(t, dir, "replay", p)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := map[string]int{}
	for _, f := range findings(t, stdout) {
		if f["recordId"] != "hit" {
			t.Errorf("rule %v flagged record %v", f["ruleId"], f["recordId"])
		}
		got[f["ruleId"].(string)]++
	}
	for _, id := range []string{"entra-device-code-unmanaged", "entra-device-code-unmanaged-xdr", "entra-device-code-unmanaged-no-broker"} {
		if got[id] != 1 {
			t.Errorf("%s: %d findings, want 1 (all: %v)", id, got[id], got)
		}
	}
	if got["entra-device-code-unmanaged-risky"] != 0 {
		t.Errorf("risky rule fired on a sign-in without risk")
	}
	if !strings.Contains(stderr, "records per table: SigninLogs 3") || !strings.Contains(stderr, "entra-device-code-unmanaged 1") {
		t.Errorf("summary:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "streamhunt-deadletter.jsonl")); !os.IsNotExist(err) {
		t.Errorf("a dead-letter file was created although nothing was dead-lettered")
	}
}

// Field report 24 (elastic/integrations#20287): a finding's eventTime is createdDateTime (09:00:05.5), not the later top-level time (09:02:10).
func TestReplayFindingCarriesTheContractKeysAndTheQueryColumnOrder(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, filepath.Join(dir, "a.json"), `{"records":[`+signin("hit", "deviceCode", "", "0", office)+`]}`)
	code, stdout, stderr := runCLI(t, dir, "replay", "--only-rules", filepath.Join(dir, "rule.kql"), p)
	_ = code
	_ = stdout
	_ = stderr
	// The rule file does not exist yet: a usage error (exit 2) before any input is read.
	if code != 2 || !strings.Contains(stderr, "rule.kql") {
		t.Fatalf("missing rule file: exit %d, stderr %s", code, stderr)
	}
	code, stdout, stderr = runCLI(t, dir, p, "--now", "2025-02-14T10:00:00Z")
	if code != 2 {
		t.Fatalf("a path as command: exit %d", code)
	}
	code, stdout, stderr = runCLI(t, dir, "replay", p, "--now", "2025-02-14T10:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var first string
	for _, l := range lines {
		if strings.Contains(l, `"ruleId":"entra-device-code-unmanaged"`) {
			first = l
		}
	}
	if first == "" {
		t.Fatalf("no finding of entra-device-code-unmanaged in:\n%s", stdout)
	}
	var f map[string]json.RawMessage
	json.Unmarshal([]byte(first), &f)
	for _, k := range []string{"schemaVersion", "findingId", "ruleId", "ruleName", "ruleVersion", "severity", "tactics", "techniques", "table", "recordId", "correlationId", "tenantId", "eventTime", "detectedTime", "columns", "entities", "source"} {
		if _, ok := f[k]; !ok {
			t.Errorf("finding lacks %q", k)
		}
	}
	if string(f["detectedTime"]) != `"2025-02-14T10:00:00.0000000Z"` || string(f["eventTime"]) != `"2025-02-14T09:00:05.5000000Z"` {
		t.Errorf("times: detected %s event %s", f["detectedTime"], f["eventTime"])
	}
	if string(f["source"]) != `{"file":"`+p+`","line":1,"index":0}` {
		t.Errorf("source = %s", f["source"])
	}
	// project-reorder puts the named columns first, in the query's order.
	cols := string(f["columns"])
	order := []string{`"TimeGenerated":"2025-02-14T09:02:10.1234567Z"`, `"UserPrincipalName":"adele@contoso.example"`, `"AuthenticationProtocol":"deviceCode"`, `"ResultType":"0"`, `"RiskLevelDuringSignIn":"none"`, `"AppDisplayName":"Microsoft Office"`, `"AppId":"` + office + `"`, `"Location":"NL"`, `"IPAddress":"203.0.113.7"`}
	last := -1
	for _, o := range order {
		i := strings.Index(cols, o)
		if i < 0 || i < last {
			t.Fatalf("columns lack %s in the query's order:\n%s", o, cols)
		}
		last = i
	}
	if !strings.HasPrefix(cols, `{"TimeGenerated"`) || !strings.Contains(cols, `"operatingSystem":"Windows10"`) || !strings.Contains(cols, `"Type":"SigninLogs"`) {
		t.Errorf("columns: %s", cols)
	}
}

func TestReplayExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.json"), `{"records":[]}`)
	broken := writeFile(t, filepath.Join(dir, "rules", "broken.kql"), "SigninLogs\n| where ResultTyp == 0\n")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"an unknown flag is a usage error", []string{"replay", "--bogus", good}, 2, "bogus"},
		{"no path is a usage error", []string{"replay"}, 2, "at least one PATH"},
		{"a missing path is a usage error", []string{"replay", filepath.Join(dir, "nope.json")}, 2, "no such file"},
		{"a glob that matches nothing is a usage error", []string{"replay", filepath.Join(dir, "*.gz")}, 2, "matches no file"},
		{"a rule that does not compile names file, line and column", []string{"replay", "--rules", broken, good}, 2, broken + ":2:9"},
		{"flags after paths work", []string{"replay", good, "--now", "2025-01-01T00:00:00Z"}, 0, "0 findings"},
		{"input processed with nothing found exits 0", []string{"replay", good}, 0, "findings per rule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, dir, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant it to contain %q", code, tc.code, stderr, tc.want)
			}
		})
	}
}

// Field report 16 (open-telemetry/opentelemetry-collector-contrib#45898): replay dead-letters the report's unparseable body and reads the ones after it.
func TestReplayDeadLettersTheBadRecordAndKeepsTheOthers(t *testing.T) {
	dir := t.TempDir()
	in := `{"records":[` + signin("hit", "deviceCode", "", "0", office) + `]}` + "\n" +
		`{"records":[{"time":"2024-01-01T00:00:00Z","properties":{]}` + "\n" +
		`{"records":[` + signin("hit2", "deviceCode", "", "0", office) + `]}` + "\n"
	p := writeFile(t, filepath.Join(dir, "mixed.ndjson"), in)
	dl := filepath.Join(dir, "dl.jsonl")
	code, stdout, stderr := runCLI(t, dir, "replay", "--dead-letter", dl, "--only-rules", writeFile(t, filepath.Join(dir, "r", "dc.kql"), "SigninLogs | where AuthenticationProtocol == \"deviceCode\"\n"), p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ids := map[string]bool{}
	for _, f := range findings(t, stdout) {
		ids[f["recordId"].(string)] = true
	}
	if !ids["hit"] || !ids["hit2"] || len(ids) != 2 {
		t.Errorf("findings for %v, want hit and hit2", ids)
	}
	b, err := os.ReadFile(dl)
	if err != nil {
		t.Fatalf("dead letter file: %v", err)
	}
	var d map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(b), &d); err != nil {
		t.Fatalf("dead letter is not one JSON line: %v\n%s", err, b)
	}
	src, _ := d["source"].(map[string]any)
	if src["line"] != float64(2) || d["reason"] == "" || !strings.Contains(d["raw"].(string), `"properties":{]`) {
		t.Errorf("dead letter = %v", d)
	}
	if !strings.Contains(stderr, "dead letters: 1, written to "+dl) {
		t.Errorf("summary does not say where the dead letter went:\n%s", stderr)
	}
}
