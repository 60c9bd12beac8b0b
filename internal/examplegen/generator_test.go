package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exampleDir is the committed example, relative to this package.
const exampleDir = "../../examples/device-code-phishing"

// handWritten are files of the example directory that the generator does
// not write.
var handWritten = map[string]bool{"README.md": true}

// TestCommittedExampleIsGenerated regenerates the example into a temporary
// directory and requires the committed files to be the same bytes, so the
// data and its generator cannot drift apart.
func TestCommittedExampleIsGenerated(t *testing.T) {
	dir := t.TempDir()
	if err := writeAll(dir); err != nil {
		t.Fatal(err)
	}
	for _, e := range listFiles(t, dir) {
		want, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(exampleDir, e.Name()))
		if err != nil {
			t.Errorf("%s: %v (run: go run ./internal/examplegen -out examples/device-code-phishing)", e.Name(), err)
			continue
		}
		if bytes.Equal(got, want) {
			continue
		}
		if strings.HasSuffix(e.Name(), ".gz") && bytes.Equal(gunzip(t, got), gunzip(t, want)) {
			// Same content, different deflate stream: only a new Go
			// release's compress/flate can do that. Regenerate to refresh.
			t.Logf("%s: same content, different compressed bytes (compress/flate changed?); regenerate the example", e.Name())
			continue
		}
		t.Errorf("%s differs from what the generator writes; run: go run ./internal/examplegen -out examples/device-code-phishing", e.Name())
	}
	for _, e := range listFiles(t, exampleDir) {
		if _, err := os.Stat(filepath.Join(dir, e.Name())); err != nil && !handWritten[e.Name()] {
			t.Errorf("%s is in the example directory but the generator does not write it", e.Name())
		}
	}
}

// relFile is a file under a directory, named by its slash-separated path.
type relFile string

// Name returns the path relative to the listed directory.
func (f relFile) Name() string { return string(f) }

// listFiles lists the regular files under dir, recursively.
func listFiles(t *testing.T, dir string) []relFile {
	t.Helper()
	var out []relFile
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, relFile(filepath.ToSlash(rel)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGenerateIsDeterministic runs the generator twice.
func TestGenerateIsDeterministic(t *testing.T) {
	a, b := generate(), generate()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of the generator differ")
	}
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGzipHeader: the compressed hub file has no name and no time in its
// header, which keeps it reproducible.
func TestGzipHeader(t *testing.T) {
	files := generate()
	n := 0
	for name, data := range files {
		if !strings.HasSuffix(name, ".gz") {
			continue
		}
		n++
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if zr.Name != "" || !zr.ModTime.IsZero() || zr.Comment != "" {
			t.Errorf("%s: gzip header has name %q, time %v, comment %q", name, zr.Name, zr.ModTime, zr.Comment)
		}
	}
	if n != 1 {
		t.Errorf("%d gzip files, want 1", n)
	}
}

// parsed is one decoded record with where it was found.
type parsed struct {
	file string
	line int
	raw  []byte
	rec  map[string]any
}

func (p parsed) prop(path ...string) any {
	var v any = p.rec["properties"]
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (p parsed) str(path ...string) string {
	s, _ := p.prop(path...).(string)
	return s
}

// readExample decodes every hub file of the generated example, checking
// the Event Hubs body shape on the way.
func readExample(t *testing.T) []parsed {
	t.Helper()
	var out []parsed
	files := generate()
	for _, h := range hubFiles {
		data := files[h.file]
		if h.gzip {
			data = gunzip(t, data)
		}
		if !bytes.HasSuffix(data, []byte("\n")) {
			t.Errorf("%s: does not end with a newline", h.file)
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			var body struct {
				Records []json.RawMessage `json:"records"`
			}
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil {
				t.Fatalf("%s:%d: not a {\"records\":[...]} body: %v", h.file, i+1, err)
			}
			if len(body.Records) < minBody || len(body.Records) > maxBody {
				t.Errorf("%s:%d: %d records in a body, want %d to %d", h.file, i+1, len(body.Records), minBody, maxBody)
			}
			for _, raw := range body.Records {
				var rec map[string]any
				d := json.NewDecoder(bytes.NewReader(raw))
				d.UseNumber()
				if err := d.Decode(&rec); err != nil {
					t.Fatalf("%s:%d: %v", h.file, i+1, err)
				}
				out = append(out, parsed{h.file, i + 1, raw, rec})
			}
		}
	}
	return out
}

// topKeys returns a record's top-level keys in the order they are written.
func topKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestRecordsHaveAzureShape checks each record against what a diagnostic
// setting emits: key order and spacing, string resultType, int Level and
// durationMs, time 1 to 4 minutes after properties.createdDateTime.
func TestRecordsHaveAzureShape(t *testing.T) {
	full := []string{"time", "resourceId", "operationName", "operationVersion", "category", "tenantId", "resultType", "resultSignature", "durationMs", "callerIpAddress", "correlationId", "identity", "Level", "location", "properties"}
	for _, p := range readExample(t) {
		cat, _ := p.rec["category"].(string)
		if !bytes.HasPrefix(p.raw, []byte(`{ "time": "`)) || !bytes.Contains(p.raw, []byte(`, "properties": {"`)) || !bytes.HasSuffix(p.raw, []byte("}}")) {
			t.Errorf("%s:%d: record not in Azure's layout: %.80s", p.file, p.line, p.raw)
		}
		if cat == catAudit {
			continue
		}
		var want []string
		for _, k := range full {
			switch {
			case k == "resultDescription":
			case cat == catManagedIdentity && (k == "callerIpAddress" || k == "identity" || k == "location"):
			case cat == catServicePrincipal && k == "identity":
			default:
				want = append(want, k)
			}
		}
		var got []string
		for _, k := range topKeys(t, p.raw) {
			if k != "resultDescription" {
				got = append(got, k)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:%d: %s keys %v, want %v", p.file, p.line, cat, got, want)
		}
		if p.rec["resourceId"] != "/tenants/"+tenantID+"/providers/Microsoft.aadiam" || p.rec["tenantId"] != tenantID {
			t.Errorf("%s:%d: wrong tenant", p.file, p.line)
		}
		if _, ok := p.rec["resultType"].(string); !ok {
			t.Errorf("%s:%d: resultType is not a string", p.file, p.line)
		}
		if p.rec["Level"] != json.Number("4") || p.rec["durationMs"] != json.Number("0") {
			t.Errorf("%s:%d: Level %v durationMs %v", p.file, p.line, p.rec["Level"], p.rec["durationMs"])
		}
		logged, err := time.Parse(time.RFC3339Nano, p.rec["time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		created, err := time.Parse(time.RFC3339Nano, p.str("createdDateTime"))
		if err != nil {
			t.Fatal(err)
		}
		if d := logged.Sub(created); d < time.Minute || d > 4*time.Minute {
			t.Errorf("%s:%d: time is %v after createdDateTime", p.file, p.line, d)
		}
		if !strings.HasSuffix(p.str("createdDateTime"), "+00:00") || len(p.rec["time"].(string)) != len("2026-11-18T08:12:35.1234567Z") {
			t.Errorf("%s:%d: time formats %q %q", p.file, p.line, p.rec["time"], p.str("createdDateTime"))
		}
		if _, ok := p.prop("autonomousSystemNumber").(json.Number); !ok && cat != catManagedIdentity && cat != catServicePrincipal {
			t.Errorf("%s:%d: autonomousSystemNumber is not a number", p.file, p.line)
		}
		switch cat {
		case catManagedIdentity:
			if p.prop("userId") != nil || p.str("ipAddress") != "" || p.prop("deviceDetail") != nil {
				t.Errorf("%s:%d: managed identity record has a user, IP or device", p.file, p.line)
			}
		case catServicePrincipal:
			if p.prop("userId") != nil || p.prop("deviceDetail") != nil {
				t.Errorf("%s:%d: service principal record has a user or device", p.file, p.line)
			}
		}
	}
}

// TestScenarioCounts pins how many records of each category each hub file
// holds, and that the AuditLogs record shares a body with sign-ins.
func TestScenarioCounts(t *testing.T) {
	counts := map[string]map[string]int{}
	bodies := map[string]map[string]bool{} // file:line -> categories
	ids := map[string]bool{}
	for _, p := range readExample(t) {
		cat := p.rec["category"].(string)
		if counts[p.file] == nil {
			counts[p.file] = map[string]int{}
		}
		counts[p.file][cat]++
		key := p.file + ":" + strconv.Itoa(p.line)
		if bodies[key] == nil {
			bodies[key] = map[string]bool{}
		}
		bodies[key][cat] = true
		id := p.str("id")
		if ids[id] {
			t.Errorf("duplicate id %s", id)
		}
		ids[id] = true
	}
	want := map[string]map[string]int{
		hubDir + "insights-logs-signinlogs.ndjson":                      {catInteractive: 83, catAudit: 1},
		hubDir + "insights-logs-noninteractiveusersigninlogs.ndjson.gz": {catNonInteractive: 208},
		hubDir + "insights-logs-serviceprincipalsigninlogs.ndjson":      {catServicePrincipal: 33},
		hubDir + "insights-logs-managedidentitysigninlogs.ndjson":       {catManagedIdentity: 38},
	}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("records per file and category:\n got %v\nwant %v", counts, want)
	}
	mixed := 0
	for _, cats := range bodies {
		if cats[catAudit] && cats[catInteractive] {
			mixed++
		}
	}
	if mixed != 1 {
		t.Errorf("%d bodies mix AuditLogs with SignInLogs, want 1", mixed)
	}
}

// The built-in rules' conditions, written out in Go, to check expected.json
// against every record rather than against the generator's own bookkeeping.
func ruleMatches(p parsed) map[string]bool {
	m := map[string]bool{}
	if p.rec["category"] != catInteractive {
		return m
	}
	// SigninLogs: ResultType == 0, AuthenticationProtocol == "deviceCode",
	// isempty(DeviceDetail.deviceId).
	rt, err := strconv.Atoi(p.rec["resultType"].(string))
	base := err == nil && rt == 0 && p.str("authenticationProtocol") == "deviceCode" && p.str("deviceDetail", "deviceId") == ""
	// AADSignInEventsBeta: ErrorCode == 0, EndpointCall == "Cmsi:Cmsi" (the
	// interactive device code sign-in), isempty(AadDeviceId).
	xdr := p.prop("status", "errorCode") == json.Number("0") && p.str("authenticationProtocol") == "deviceCode" && p.str("deviceDetail", "deviceId") == ""
	m["entra-device-code-unmanaged"] = base
	m["entra-device-code-unmanaged-xdr"] = xdr
	m["entra-device-code-unmanaged-no-broker"] = base && p.str("appId") != mabAppID
	m["entra-device-code-unmanaged-risky"] = base && p.str("riskLevelDuringSignIn") != "none"
	return m
}

// TestExpectedFindings checks expected.json: the committed findings equal
// what the rules' conditions select from the records, with the counts the
// README promises.
func TestExpectedFindings(t *testing.T) {
	var expected map[string][]string
	if err := json.Unmarshal(generate()[expectedFile], &expected); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, p := range readExample(t) {
		for rule, ok := range ruleMatches(p) {
			if ok {
				got[rule] = append(got[rule], p.str("id"))
			}
		}
	}
	for rule := range got {
		sort.Strings(got[rule])
	}
	want := map[string][]string{}
	for rule, ids := range expected {
		want[rule] = append([]string(nil), ids...)
		sort.Strings(want[rule])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rule conditions select\n %v\nexpected.json says\n %v", got, want)
	}
	counts := map[string]int{}
	for rule, ids := range expected {
		counts[rule] = len(ids)
	}
	wantCounts := map[string]int{
		"entra-device-code-unmanaged":           5,
		"entra-device-code-unmanaged-xdr":       5,
		"entra-device-code-unmanaged-no-broker": 3,
		"entra-device-code-unmanaged-risky":     2,
	}
	if !reflect.DeepEqual(counts, wantCounts) {
		t.Errorf("findings per rule %v, want %v", counts, wantCounts)
	}
}

// TestPlantedDeviceCodeSignIns checks the story's device code records
// field by field.
func TestPlantedDeviceCodeSignIns(t *testing.T) {
	_, sc := build()
	byRole := map[string]*record{}
	for _, r := range sc.records {
		if r.role != "" {
			byRole[r.role] = r
		}
	}
	all := readExample(t)
	byID := map[string]parsed{}
	for _, p := range all {
		byID[p.str("id")] = p
	}
	attacker := func(ip string) bool {
		return strings.HasPrefix(ip, "198.51.100.") || strings.HasPrefix(ip, "203.0.113.")
	}
	cases := []struct {
		role, app, risk string
		attack          bool
		redemptions     int
	}{
		{roleVictimOffice, appOffice.id, "none", true, 4},
		{roleVictimTeams, appTeams.id, "medium", true, 3},
		{roleVictimBroker, mabAppID, "high", true, 1},
		{roleVictimOffice2, appOffice.id, "none", true, 3},
		{roleOnboarding, mabAppID, "none", false, 1},
	}
	for _, c := range cases {
		r := byRole[c.role]
		if r == nil {
			t.Fatalf("no record for %s", c.role)
		}
		p := byID[r.id]
		intr := byID[byRole[c.role+roleInterrupt].id]
		if p.rec["category"] != catInteractive || p.str("authenticationProtocol") != "deviceCode" || p.rec["resultType"] != "0" ||
			p.prop("status", "errorCode") != json.Number("0") || p.str("deviceDetail", "deviceId") != "" || p.prop("isInteractive") != true {
			t.Errorf("%s: not a successful interactive device code sign-in from an unregistered device", c.role)
		}
		if p.str("appId") != c.app || p.str("riskLevelDuringSignIn") != c.risk {
			t.Errorf("%s: app %s risk %s, want %s %s", c.role, p.str("appId"), p.str("riskLevelDuringSignIn"), c.app, c.risk)
		}
		if attacker(p.str("ipAddress")) != c.attack || p.rec["callerIpAddress"] != p.str("ipAddress") {
			t.Errorf("%s: IP %s", c.role, p.str("ipAddress"))
		}
		// The CMSI interrupt (50199) comes first, in the same flow.
		if intr.rec["resultType"] != "50199" || intr.prop("status", "errorCode") != json.Number("50199") ||
			intr.str("authenticationProtocol") != "deviceCode" || intr.str("correlationId") != p.str("correlationId") ||
			intr.str("sessionId") != p.str("sessionId") || intr.str("createdDateTime") >= p.str("createdDateTime") {
			t.Errorf("%s: no 50199 interrupt before the success in the same flow", c.role)
		}
		// The polling client's token redemptions: non-interactive, same
		// correlation and session, from the same place.
		n := 0
		for _, q := range all {
			if q.rec["category"] == catNonInteractive && q.str("correlationId") == p.str("correlationId") {
				n++
				if q.str("originalTransferMethod") != "deviceCodeFlow" || q.str("authenticationProtocol") != "none" ||
					q.str("sessionId") != p.str("sessionId") || q.str("ipAddress") != p.str("ipAddress") || q.prop("isInteractive") != false {
					t.Errorf("%s: redemption %s has the wrong shape", c.role, q.str("id"))
				}
			}
		}
		if n != c.redemptions {
			t.Errorf("%s: %d redemptions, want %d", c.role, n, c.redemptions)
		}
	}

	// The benign device code sign-ins no rule may flag.
	for _, role := range []string{roleJoinedBroker, roleAdminCLI} {
		p := byID[byRole[role].id]
		if p.str("authenticationProtocol") != "deviceCode" || p.rec["resultType"] != "0" || p.str("deviceDetail", "deviceId") == "" ||
			p.prop("deviceDetail", "isCompliant") != true {
			t.Errorf("%s: want a successful device code sign-in from a compliant registered device", role)
		}
	}
	for _, role := range []string{roleRoomInterrupted + "-0", roleRoomInterrupted + "-1"} {
		p := byID[byRole[role+roleInterrupt].id]
		if p.str("authenticationProtocol") != "deviceCode" || p.rec["resultType"] != "50199" || p.str("deviceDetail", "deviceId") != "" {
			t.Errorf("%s: want an interrupted (50199) device code sign-in from an unregistered device", role)
		}
		if byRole[role] != nil {
			t.Errorf("%s: the room's flow must never complete", role)
		}
	}
	// Nothing else in the morning uses device code.
	planted := map[string]bool{}
	for _, r := range sc.records {
		if r.role != "" {
			planted[r.id] = true
		}
	}
	for _, p := range all {
		if (p.str("authenticationProtocol") == "deviceCode" || p.str("originalTransferMethod") == "deviceCodeFlow") && !planted[p.str("id")] {
			t.Errorf("%s:%d: unplanned device code record %s", p.file, p.line, p.str("id"))
		}
	}
}
