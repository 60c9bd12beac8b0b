package kql

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/internal/testenv"
)

// The oracle is Microsoft's own KQL parser (npm @kusto/language-service-next)
// run on Node by testdata/oracle.js. These tests check that Parse accepts
// and rejects what it does.

type oracleVerdict struct {
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Error  string `json:"error"`
	Offset int    `json:"offset"`
	// Columns are the result's columns as Name:type, comma-separated,
	// when the query was analyzed.
	Columns string `json:"columns"`
}

// runOracle asks Microsoft's parser about each query, keyed by id.
func runOracle(t *testing.T, queries map[string]string) map[string]oracleVerdict {
	t.Helper()
	return runOracleWith(t, queries, nil)
}

// runOracleWith also analyzes the queries against the given tables, as
// Kusto.Language's semantic checks do, when tables is not nil.
func runOracleWith(t *testing.T, queries map[string]string, tables []*table.Table) map[string]oracleVerdict {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node", "install Node.js 20 to run Microsoft's KQL parser as the test oracle")
	}
	root := testenv.RepoRoot(t)
	modules := filepath.Join(root, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@kusto", "language-service-next", "Kusto.Language.Bridge.js")); err != nil {
		testenv.Missing(t, "@kusto/language-service-next", "run npm ci in the repository root")
	}
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for id, text := range queries {
		if err := enc.Encode(map[string]any{"id": id, "text": text, "analyze": tables != nil}); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{filepath.Join("testdata", "oracle.js"), modules}
	if tables != nil {
		schemas := map[string]string{}
		for _, tb := range tables {
			cols := make([]string, len(tb.Columns))
			for i, c := range tb.Columns {
				cols[i] = c.Name + ":" + c.Type.String()
			}
			schemas[tb.Name] = "(" + strings.Join(cols, ", ") + ")"
		}
		b, err := json.Marshal(schemas)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "tables.json")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, file)
	}
	cmd := exec.Command(node, args...)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle.js failed: %v\n%s", err, stderr.String())
	}
	verdicts := map[string]oracleVerdict{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var v oracleVerdict
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("oracle output %q: %v", sc.Text(), err)
		}
		verdicts[v.ID] = v
	}
	if len(verdicts) != len(queries) {
		t.Fatalf("oracle answered %d of %d queries", len(verdicts), len(queries))
	}
	return verdicts
}

// TestParseAgreesWithMicrosoftsParserOnHandPickedQueries checks valid and
// invalid queries in both parsers.
func TestParseAgreesWithMicrosoftsParserOnHandPickedQueries(t *testing.T) {
	t.Parallel()
	valid := []string{
		seedSentinel,
		seedDefender,
		"SigninLogs | where ResultType == 0",
		"SigninLogs | where ResultType in (0, 50125) and AppDisplayName in~ ('a', 'b')",
		"SigninLogs | where TimeGenerated between (ago(7d) .. ago(1d))",
		"SigninLogs | where TimeGenerated !between (datetime(2024-01-01) .. 1d)",
		"let x = 5m;\nlet apps = dynamic(['a', \"b\"]);\nSigninLogs | where TimeGenerated > ago(x) and AppDisplayName in (apps)",
		"SigninLogs | extend a = DeviceDetail.deviceId, b = DeviceDetail['os'], c = DeviceDetail[\"x\"], d = Status.[0], e = Status[0].x",
		"SigninLogs | project ['User Name'] = UserPrincipalName, ['Result'] = ResultType | project-rename Upn = ['User Name']",
		"SigninLogs | where UserAgent has_any ('a', 'b') and UserAgent !has 'c' and UserAgent has_all ('d')",
		"SigninLogs | where Location matches regex @'^N[LO]$'",
		"SigninLogs | where x !contains 'a' and y !startswith 'b' and z !endswith 'c' and w contains_cs 'd' and v !in~ ('e')",
		"SigninLogs | where a !has_cs 'a' and b !hasprefix 'b' and c !hassuffix_cs 'c' and d !startswith_cs 'd' and e !endswith_cs 'e' and f !contains_cs 'f' and g !in ('g') and h !~ 'h' and i !between (1 .. 2)",
		"SigninLogs | where isempty(DeviceDetail.deviceId) | project-reorder TimeGenerated, User* | project-away Device*",
		"SigninLogs | where h'secret' == x and @\"C:\\path\" == y",
		"SigninLogs | where t > datetime(\"2024-01-01T00:00:00Z\") and s < time(1.5h) and q == timespan(00:10:00)",
		"SigninLogs | take 10 | sort by TimeGenerated desc nulls last | render timechart",
		"SigninLogs | summarize count() by bin(TimeGenerated, 1h), UserPrincipalName",
		"SigninLogs | join kind=inner (AADNonInteractiveUserSignInLogs | where ResultType == 0) on $left.UserPrincipalName == $right.UserPrincipalName",
		"union isfuzzy=true SigninLogs, AADNonInteractiveUserSignInLogs | where ResultType == 0",
		"SigninLogs | mv-expand with_itemindex=i d = todynamic(AuthenticationDetails) to typeof(dynamic) | extend m = d.authenticationMethod",
		"let f = (t:string, n:long = 5) { table(t) | where ResultType == 0 | take n };\nf('SigninLogs')",
		"SigninLogs\n// comment\n| where a == 1 // trailing\n// another\n| project a",
		"SigninLogs | where case(a == 1, 'x', a == 2, 'y', 'z') == 'x' and iff(b, 1, 2) == 1 and not(c)",
		"SigninLogs | where -1 < 2 and 1.5e3 > 0.5 and 0x1F == 31 and 10tick < 1ms",
		"SigninLogs | where dynamic({\"a\": [1, 2.5, 'x', true, null]}).a[0] == 1",
	}
	invalid := []string{
		"SigninLogs | whre x == 1",
		"SigninLogs | where",
		"SigninLogs | where (a == 1",
		"SigninLogs | where a == 'unclosed",
		"SigninLogs where a == 1",
		"SigninLogs | project a,, b",
		"SigninLogs | where a in 1, 2",
		"SigninLogs | where a between (1, 2)",
		"SigninLogs | sort TimeGenerated",
		"let x = ;\nSigninLogs",
		"SigninLogs | where a == 1 |",
		"SigninLogs | extend = 5",
		"SigninLogs | where Location !matches regex 'x'",
		"SigninLogs | where UserAgent !has_any ('a', 'b')",
		"SigninLogs | where UserAgent !has_all ('a', 'b')",
	}
	queries := map[string]string{}
	for i, q := range valid {
		queries["v"+strconv.Itoa(i)] = q
	}
	for i, q := range invalid {
		queries["i"+strconv.Itoa(i)] = q
	}
	verdicts := runOracle(t, queries)
	for id, q := range queries {
		v := verdicts[id]
		_, err := Parse(q)
		wantOK := id[0] == 'v'
		if v.OK != wantOK {
			t.Errorf("Microsoft's parser says ok=%v (%s) for %q; the test list says %v", v.OK, v.Error, q, wantOK)
		}
		if (err == nil) != v.OK {
			t.Errorf("Parse(%q) = %v, but Microsoft's parser says ok=%v (%s)", q, err, v.OK, v.Error)
		}
	}
}

type corpusQuery struct {
	ID    string `json:"id"`
	Text  string `json:"text"`
	Class string `json:"class"`
	Dup   string `json:"dup_of"`
	MSOK  bool   `json:"kusto_language_ok"`
}

func isUnsupported(err error) bool {
	e, ok := err.(*Error)
	return ok && strings.HasPrefix(e.Msg, "unsupported")
}

// TestParseCoversThePublicSignInCorpus runs the 601 public sign-in queries
// through both parsers: every row-local query Microsoft accepts must parse
// or be refused as an unsupported feature, and coverage must stay high.
func TestParseCoversThePublicSignInCorpus(t *testing.T) {
	t.Parallel()
	shared := testenv.SharedDir(t)
	f, err := os.Open(filepath.Join(shared, "kql-corpus", "queries.jsonl"))
	if err != nil {
		// ../shared is here (SharedDir skips when it is not): a corpus
		// missing from it is a broken checkout, not a reason to pass.
		t.Fatalf("../shared is present but its corpus is not: %v", err)
	}
	defer f.Close()
	var corpus []corpusQuery
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var q corpusQuery
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			t.Fatalf("corpus line: %v", err)
		}
		if q.Dup == "" {
			corpus = append(corpus, q)
		}
	}
	queries := map[string]string{}
	for _, q := range corpus {
		queries[q.ID] = q.Text
	}
	verdicts := runOracle(t, queries)

	type tally struct{ msOK, parsed, unsupported, wrong int }
	byClass := map[string]*tally{}
	acceptedInvalid := 0
	msInvalid := 0
	for _, q := range corpus {
		v := verdicts[q.ID]
		if v.OK != q.MSOK {
			t.Errorf("%s: the oracle says ok=%v now but the corpus recorded %v", q.ID, v.OK, q.MSOK)
		}
		_, err := Parse(q.Text)
		if !v.OK {
			msInvalid++
			if err == nil {
				acceptedInvalid++
				t.Logf("accepted a query Microsoft's parser rejects (%s at %d): %s", v.Error, v.Offset, firstLine(q.Text))
			}
			continue
		}
		c := byClass[q.Class]
		if c == nil {
			c = &tally{}
			byClass[q.Class] = c
		}
		c.msOK++
		switch {
		case err == nil:
			c.parsed++
		case isUnsupported(err):
			c.unsupported++
		default:
			c.wrong++
			if q.Class == "a-rowlocal" {
				t.Errorf("row-local query %s (%s) is valid KQL but Parse says %v", q.ID, q.Class, err)
			} else {
				t.Logf("valid %s query %s: Parse says %v", q.Class, q.ID, err)
			}
		}
	}
	for _, class := range []string{"a-rowlocal", "b-windowed", "c-external"} {
		c := byClass[class]
		if c == nil {
			continue
		}
		t.Logf("%s: %d valid in Microsoft's parser; ours parses %d (%.1f%%), refuses %d as unsupported, disagrees on %d",
			class, c.msOK, c.parsed, 100*float64(c.parsed)/float64(c.msOK), c.unsupported, c.wrong)
	}
	t.Logf("Kusto-invalid queries: %d; ours accepts %d of them", msInvalid, acceptedInvalid)
	if c := byClass["a-rowlocal"]; c == nil || float64(c.parsed) < 0.95*float64(c.msOK) {
		t.Errorf("row-local parse coverage below 95%%: %+v", c)
	}
	total := 0
	wrong := 0
	for _, c := range byClass {
		total += c.msOK
		wrong += c.wrong
	}
	if float64(wrong) > 0.02*float64(total) {
		t.Errorf("Parse disagrees with Microsoft's parser on %d of %d valid queries (more than 2%%)", wrong, total)
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// TestCompileAgreesWithMicrosoftsAnalyzerOnTypes checks Compile's type
// errors against Kusto.Language's semantic analysis over the same schemas.
func TestCompileAgreesWithMicrosoftsAnalyzerOnTypes(t *testing.T) {
	t.Parallel()
	good := []string{
		seedSentinel, seedDefender,
		"SigninLogs | where ResultType == 0 and ResultType != 1 and ResultType in (0, 50125)",
		"SigninLogs | where DeviceDetail.isCompliant == false and Status.errorCode == 0 and LocationDetails.countryOrRegion == 'US'",
		"SigninLogs | where toint(ResultType) > 0 and TimeGenerated > ago(1d)",
		"AADNonInteractiveUserSignInLogs | where todynamic(DeviceDetail).deviceId == ''",
		"SigninLogs | extend os = tostring(DeviceDetail.operatingSystem) | where os has 'windows' | project os, UserPrincipalName",
		"SigninLogs | mv-expand d = todynamic(AuthenticationDetails) | where d.succeeded == true",
		"SigninLogs | where TimeGenerated between (ago(7d) .. ago(1d)) and DurationMs * 2 > 10",
		"SigninLogs | where IsInteractive == true and isnotempty(AppId) and UserAgent has_any ('curl', 'python')",
		`let bad = datatable(ip:string)["203.0.113.66", "198.51.100.7"]; SigninLogs | where IPAddress in (bad) or IPAddress !in~ (bad) or UserAgent has_any (bad)`,
		`let bad = datatable(ip:string, note:string)["203.0.113.66", "tor"]; SigninLogs | where IPAddress in (bad)`,
		`let isAdmin = (u:string) { u startswith "adm-" }; SigninLogs | where isAdmin(UserPrincipalName)`,
		`SigninLogs | where IsInteractive == "true" and TimeGenerated != "2026-11-18" and "true" == IsInteractive`,
		`SigninLogs | where TimeGenerated in ("2026-11-18") and IsInteractive !in ("false") and 1h == "01:00:00"`,
		`SigninLogs | where IsInteractive < true and DeviceDetail.x < 5 and DeviceDetail.x between (1 .. 2) and DeviceDetail.x >= DeviceDetail.y`,
		`let inNet = (ip:string, net:string = "10.0.0.0/8") { ipv4_is_in_range(ip, net) }; SigninLogs | where inNet(IPAddress)`,
	}
	bad := []string{
		"SigninLogs | where ResultType > 0",
		"SigninLogs | where TimeGenerated > '2024-01-01'",
		"AADNonInteractiveUserSignInLogs | where DeviceDetail.deviceId == ''",
		"SigninLogs | where ResultTyp == 0",
		"SigninLogs | where resulttype == 0",
		"SigninLogs | where isempty(Location, 1)",
		"SigninLogs | where Location + 'x' == 'NLx'",
		"SignInLogs | where ResultType == 0",
		"SigninLogs | project UserPrincipalName | where AppId == 'x'",
		"SigninLogs | extend x = AuthenticationDetails[0].authenticationMethod",
		`let bad = datatable(ip:string)["203.0.113.66"]; SigninLogs | where IPAddress == bad`,
		`SigninLogs | where UserPrincipalName < "m"`,
		`SigninLogs | where UserPrincipalName between ("a" .. "m")`,
		`SigninLogs | where IsInteractive between (false .. true)`,
		`SigninLogs | where DeviceDetail < "m"`,
		`SigninLogs | where DeviceDetail.x < TimeGenerated`,
		`SigninLogs | where DeviceDetail.x between ("a" .. "b")`,
		`SigninLogs | where toguid(AppId) < toguid(AppId)`,
		`SigninLogs | where IsInteractive =~ "true"`,
		`let f = (u:string) { u startswith Location }; SigninLogs | where f(UserPrincipalName)`,
	}
	queries := map[string]string{}
	for i, q := range good {
		queries["g"+strconv.Itoa(i)] = q
	}
	for i, q := range bad {
		queries["b"+strconv.Itoa(i)] = q
	}
	verdicts := runOracleWith(t, queries, table.Tables())
	for id, q := range queries {
		v := verdicts[id]
		if v.OK != (id[0] == 'g') {
			t.Errorf("Microsoft's analyzer says ok=%v (%s) for %q; the test list says otherwise", v.OK, v.Error, q)
		}
		pq, err := Parse(q)
		if err == nil {
			_, err = CompileAll(pq, CatalogFunc(table.Lookup), Options{})
		}
		if (err == nil) != v.OK {
			t.Errorf("Compile(%q) = %v, but Microsoft's analyzer says ok=%v (%s)", q, err, v.OK, v.Error)
		}
	}
}

// TestCompileAgreesWithMicrosoftsAnalyzerOnTheRowLocalCorpus compiles the
// row-local public queries in both engines against the project's schemas.
func TestCompileAgreesWithMicrosoftsAnalyzerOnTheRowLocalCorpus(t *testing.T) {
	t.Parallel()
	shared := testenv.SharedDir(t)
	f, err := os.Open(filepath.Join(shared, "kql-corpus", "queries.jsonl"))
	if err != nil {
		// ../shared is here (SharedDir skips when it is not): a corpus
		// missing from it is a broken checkout, not a reason to pass.
		t.Fatalf("../shared is present but its corpus is not: %v", err)
	}
	defer f.Close()
	queries := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var q corpusQuery
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			t.Fatal(err)
		}
		if q.Dup == "" && q.MSOK && q.Class == "a-rowlocal" {
			queries[q.ID] = q.Text
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(queries) == 0 {
		t.Fatal("the corpus holds no row-local query Microsoft accepts, so the agreement proves nothing")
	}
	verdicts := runOracleWith(t, queries, table.Tables())
	var bothOK, bothErr, oursUnsupported, onlyOurs, onlyTheirs int
	for id, q := range queries {
		v := verdicts[id]
		pq, err := Parse(q)
		if err == nil {
			_, err = CompileAll(pq, CatalogFunc(table.Lookup), Options{})
		}
		switch {
		case err == nil && v.OK:
			bothOK++
		case err != nil && !v.OK:
			bothErr++
		case isUnsupported(err):
			oursUnsupported++
		case err != nil && strings.Contains(err.Error(), "the query has no tabular expression"):
			// Only let statements: valid KQL that returns nothing, and no rule.
			oursUnsupported++
		case err != nil:
			onlyOurs++
			t.Errorf("%s: Compile says %v, Microsoft's analyzer accepts it", id, err)
		default:
			onlyTheirs++
			t.Logf("%s: Microsoft's analyzer says %q at %d, Compile accepts it", id, v.Error, v.Offset)
		}
	}
	t.Logf("row-local corpus against the real schemas: both accept %d, both refuse %d, ours refuses %d as unsupported or not a rule, only ours refuses %d, only Microsoft's refuses %d",
		bothOK, bothErr, oursUnsupported, onlyOurs, onlyTheirs)
	if onlyTheirs > 0 {
		t.Errorf("Compile accepts %d row-local queries that Microsoft's analyzer refuses", onlyTheirs)
	}
}
