package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/testenv"
)

func TestBuiltinPackHasTheFourSeedRulesWithTheirMetadata(t *testing.T) {
	rs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"entra-device-code-unmanaged",
		"entra-device-code-unmanaged-no-broker",
		"entra-device-code-unmanaged-risky",
		"entra-device-code-unmanaged-xdr",
	}
	if len(rs) != len(want) {
		t.Fatalf("built-in pack has %d rules, want %d", len(rs), len(want))
	}
	for i, r := range rs {
		if r.ID != want[i] {
			t.Errorf("rule %d id = %q, want %q", i, r.ID, want[i])
		}
		if r.Name == "" || r.Description == "" {
			t.Errorf("%s: name and description must be set", r.ID)
		}
		if r.Severity != "high" && r.Severity != "medium" {
			t.Errorf("%s: severity %q", r.ID, r.Severity)
		}
		if strings.Join(r.Techniques, ",") != "T1566.002" || strings.Join(r.Tactics, ",") != "InitialAccess" {
			t.Errorf("%s: tactics %v techniques %v, want InitialAccess / T1566.002", r.ID, r.Tactics, r.Techniques)
		}
		if !strings.Contains(r.Source, "seed 000_254e43447d4c0607") {
			t.Errorf("%s: source %q does not name the seed", r.ID, r.Source)
		}
		if !r.Builtin || len(r.Entities) == 0 {
			t.Errorf("%s: builtin=%v entities=%v", r.ID, r.Builtin, r.Entities)
		}
	}
}

// seedBlocks returns the two KQL code blocks of the seed document, in order
// (Defender XDR first, then Sentinel).
func seedBlocks(t *testing.T) (xdr, sentinel string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.SharedDir(t), "seed", "000_254e43447d4c0607.txt"))
	if err != nil {
		t.Fatalf("read seed: %v", err)
	}
	m := regexp.MustCompile("(?s)```KQL\n(.*?)\n```").FindAllStringSubmatch(string(b), -1)
	if len(m) != 2 {
		t.Fatalf("seed has %d KQL blocks, want 2", len(m))
	}
	return m[0][1], m[1][1]
}

func byID(t *testing.T) map[string]Rule {
	rs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Rule{}
	for _, r := range rs {
		out[r.ID] = r
	}
	return out
}

func TestBuiltinSeedRulesEmbedTheSeedQueriesVerbatim(t *testing.T) {
	xdr, sentinel := seedBlocks(t)
	rs := byID(t)
	if got := rs["entra-device-code-unmanaged"].Query; got != sentinel {
		t.Errorf("Sentinel rule differs from the seed:\n%s\n--- seed ---\n%s", got, sentinel)
	}
	if got := rs["entra-device-code-unmanaged-xdr"].Query; got != xdr {
		t.Errorf("XDR rule differs from the seed:\n%s\n--- seed ---\n%s", got, xdr)
	}
}

func TestRiskyRuleIsTheSentinelFormWithItsRiskLineEnabled(t *testing.T) {
	_, sentinel := seedBlocks(t)
	want := strings.Replace(sentinel, `//| where RiskLevelDuringSignIn != "none"`, `| where RiskLevelDuringSignIn != "none"`, 1)
	if want == sentinel {
		t.Fatal("the seed no longer has the optional risk line")
	}
	if got := byID(t)["entra-device-code-unmanaged-risky"].Query; got != want {
		t.Errorf("risky rule:\n%s\nwant:\n%s", got, want)
	}
}

func TestNoBrokerRuleIsTheSentinelFormExcludingTheBrokerApp(t *testing.T) {
	_, sentinel := seedBlocks(t)
	got := byID(t)["entra-device-code-unmanaged-no-broker"].Query
	var kept []string
	for _, l := range strings.Split(got, "\n") {
		if strings.Contains(l, "29d9ed98-a469-4536-ade2-f981bc1d605e") || strings.Contains(l, "Microsoft Authentication Broker") {
			continue
		}
		kept = append(kept, l)
	}
	if strings.Join(kept, "\n") != sentinel {
		t.Errorf("no-broker rule minus its exclusion lines is not the seed's Sentinel form:\n%s", got)
	}
	if !strings.Contains(got, `| where AppId != "29d9ed98-a469-4536-ade2-f981bc1d605e"`) {
		t.Error("no-broker rule lacks the AppId exclusion")
	}
}

func TestLoadReadsKQLYAMLAndMarkdownRules(t *testing.T) {
	rs, err := Load("testdata")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Rule{}
	for _, r := range rs {
		got[r.ID] = r
	}
	if r, ok := got["legacy-auth"]; !ok || r.Severity != "medium" || r.Line != 1 || !strings.Contains(r.Query, "ClientAppUsed") {
		t.Errorf("legacy-auth.kql: %+v", r)
	}
	if r := got["two-queries#1"]; !strings.HasPrefix(r.Query, "SigninLogs\n") || r.Line != 6 || r.Name != "Two hunting queries" {
		t.Errorf("two-queries#1: %+v", r)
	}
	if r := got["two-queries#2"]; !strings.HasPrefix(r.Query, "AADNonInteractiveUserSignInLogs") || r.Line != 13 {
		t.Errorf("two-queries#2: %+v", r)
	}
	if len(rs) != 3 {
		t.Errorf("loaded %d rules, want 3 (the powershell block is not a rule)", len(rs))
	}
}

func TestYAMLRuleReportsTheLineItsQueryStartsOn(t *testing.T) {
	rs := byID(t)
	r := rs["entra-device-code-unmanaged"]
	b, _ := builtinFS.ReadFile("builtin/entra-device-code-unmanaged.yaml")
	lines := strings.Split(string(b), "\n")
	if got := strings.TrimSpace(lines[r.Line-1]); got != "SigninLogs" {
		t.Errorf("line %d of the file is %q, want the query's first line", r.Line, got)
	}
}

func TestLoadErrorsSayWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.kql")
	os.WriteFile(empty, []byte("// nothing\n"), 0o644)
	noQuery := filepath.Join(dir, "noquery.yaml")
	os.WriteFile(noQuery, []byte("name: x\n"), 0o644)
	badSev := filepath.Join(dir, "badsev.yaml")
	os.WriteFile(badSev, []byte("severity: urgent\nquery: SigninLogs\n"), 0o644)
	for _, tc := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.kql"), "no such file"},
		{filepath.Join(dir, "*.nothing"), "matches no file"},
		{empty, "holds no query"},
		{noQuery, "no `query:` key"},
		{badSev, `"urgent" is not one of`},
	} {
		_, err := Load(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s) = %v, want an error containing %q", tc.path, err, tc.want)
		}
	}
}

func TestMergeRefusesADuplicateID(t *testing.T) {
	b, _ := Builtin()
	user := []Rule{{ID: "entra-device-code-unmanaged", File: "mine/entra-device-code-unmanaged.kql"}}
	_, err := Merge(b, user)
	if err == nil || !strings.Contains(err.Error(), `"entra-device-code-unmanaged" is defined twice`) {
		t.Fatalf("Merge = %v", err)
	}
}
