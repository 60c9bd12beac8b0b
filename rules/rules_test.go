package rules

import (
	"fmt"
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

// configMapDir builds the layout Kubernetes mounts a ConfigMap as: the real
// files in a hidden timestamped directory, `..data` pointing at it, and one
// symlink per key through `..data`.
func configMapDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	ts := "..2026_12_04_08_00_00.123456789"
	if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, ts, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ts, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadReadsAKubernetesConfigMapMountOnceThroughItsSymlinks(t *testing.T) {
	dir := configMapDir(t, map[string]string{
		"x.kql":  "SigninLogs\n| where ResultType == \"50126\"\n",
		"y.yaml": "name: Y\nquery: |\n  SigninLogs\n  | take 1\n",
	})
	rs, err := Load(dir)
	if err != nil {
		t.Fatalf("Load(ConfigMap mount) = %v", err)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
		if dir := filepath.Base(filepath.Dir(r.File)); strings.HasPrefix(dir, ".") {
			t.Errorf("rule %s read through the hidden entry %s", r.ID, r.File)
		}
	}
	if strings.Join(ids, ",") != "x,y" {
		t.Errorf("ids = %v, want [x y]", ids)
	}
	if _, err := Merge(rs); err != nil {
		t.Errorf("Merge: %v", err)
	}
}

func TestLoadSkipsHiddenFilesAndDirectoriesButNotAHiddenRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), ".rules")
	os.MkdirAll(filepath.Join(root, ".git"), 0o755)
	os.MkdirAll(filepath.Join(root, "sub"), 0o755)
	os.WriteFile(filepath.Join(root, ".git", "HEAD.md"), []byte("no kql here\n"), 0o644)
	os.WriteFile(filepath.Join(root, ".draft.kql"), []byte("not a query (\n"), 0o644)
	os.WriteFile(filepath.Join(root, "sub", "a.kql"), []byte("SigninLogs\n"), 0o644)
	rs, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].ID != "a" {
		t.Errorf("Load = %+v, want only sub/a.kql", rs)
	}
}

func TestLoadFollowsASymlinkedRuleDirectory(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	os.MkdirAll(filepath.Join(real, "inner"), 0o755)
	os.WriteFile(filepath.Join(real, "inner", "a.kql"), []byte("SigninLogs\n"), 0o644)
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(base, "top")
	os.MkdirAll(top, 0o755)
	if err := os.Symlink(filepath.Join(real, "inner"), filepath.Join(top, "shared")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, top} {
		rs, err := Load(p)
		if err != nil || len(rs) != 1 || rs[0].ID != "a" {
			t.Errorf("Load(%s) = %+v, %v; want rule a", p, rs, err)
		}
	}
}

func TestAnEmptyRuleDirectoryIsAWarningNotAnError(t *testing.T) {
	dir := configMapDir(t, nil) // a ConfigMap with no keys
	rs, warnings, err := LoadWithWarnings(dir)
	if err != nil || len(rs) != 0 {
		t.Fatalf("LoadWithWarnings(empty) = %v, %v", rs, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], dir) || !strings.Contains(warnings[0], "no rule file") {
		t.Errorf("warnings = %q, want one naming %s", warnings, dir)
	}
	if _, err := Load(dir); err != nil {
		t.Errorf("Load(empty) = %v", err)
	}
}

func TestASentinelYAMLRuleIsNamedByItsFileAndKeepsItsGUID(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "legacy-auth.yaml")
	os.WriteFile(f, []byte("id: 9a1b2c3d-0000-4000-8000-000000000001\nname: Legacy auth\nquery: |\n  SigninLogs\n"), 0o644)
	rs, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].ID != "legacy-auth" || rs[0].SentinelID != "9a1b2c3d-0000-4000-8000-000000000001" {
		t.Errorf("Load = %+v, want id legacy-auth and the GUID as SentinelID", rs)
	}
}

func TestSeveralRulesInOneFileUseTheirOwnIDsElseFileHashN(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "hunts.md")
	os.WriteFile(md, []byte("# Hunts\n\n```kql id=legacy-imap\nSigninLogs\n```\n\n```kusto\nSigninLogs | take 1\n```\n"), 0o644)
	yml := filepath.Join(dir, "pack.yaml")
	os.WriteFile(yml, []byte("id: 11111111-2222-3333-4444-555555555555\nname: A\nquery: SigninLogs\n---\nname: B\nseverity: high\nquery: |\n  AADNonInteractiveUserSignInLogs\n"), 0o644)
	rs, err := Load(md, yml)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s@%d", r.ID, r.Line))
	}
	want := "legacy-imap@4,hunts#2@8,11111111-2222-3333-4444-555555555555@3,pack#2@8"
	if strings.Join(got, ",") != want {
		t.Errorf("ids@lines = %s, want %s", strings.Join(got, ","), want)
	}
	if rs[3].Severity != "high" || rs[3].Name != "B" {
		t.Errorf("second YAML document: %+v", rs[3])
	}
}

func TestASingleRuleFileIsNamedByItsFileEvenWithAnID(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "one.md")
	os.WriteFile(md, []byte("```kql id=other\nSigninLogs\n```\n"), 0o644)
	rs, err := Load(md)
	if err != nil || len(rs) != 1 || rs[0].ID != "one" {
		t.Errorf("Load = %+v, %v; want the id one", rs, err)
	}
}

func TestDuplicateIDAdviceNamesAFixThatWorks(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a", "x.kql")
	b := filepath.Join(dir, "b", "x.kql")
	md := filepath.Join(dir, "c", "pack.md")
	for _, f := range []string{a, b} {
		os.MkdirAll(filepath.Dir(f), 0o755)
		os.WriteFile(f, []byte("SigninLogs\n"), 0o644)
	}
	os.MkdirAll(filepath.Dir(md), 0o755)
	os.WriteFile(md, []byte("```kql id=x\nSigninLogs\n```\n```kql\nSigninLogs\n```\n"), 0o644)
	load := func(p ...string) []Rule {
		rs, err := Load(p...)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	_, err := Merge(load(a), load(b))
	if err == nil || !strings.Contains(err.Error(), "rename "+a+" or "+b) || strings.Contains(err.Error(), "own id") {
		t.Errorf("two files: %v", err)
	}
	_, err = Merge(load(a), load(md))
	if err == nil || !strings.Contains(err.Error(), "rename "+a+" or change the id at "+md+":1") {
		t.Errorf("file and Markdown block: %v", err)
	}
	builtin, _ := Builtin()
	mine := filepath.Join(dir, "entra-device-code-unmanaged.kql")
	os.WriteFile(mine, []byte("SigninLogs\n"), 0o644)
	_, err = Merge(builtin, load(mine))
	if err == nil || !strings.Contains(err.Error(), "the built-in pack has this id: rename "+mine) {
		t.Errorf("clash with the built-in pack: %v", err)
	}
}

func TestPositionMapsAQueryColumnToTheFileColumn(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, text string }{
		{"block", "name: x\nquery: |\n    SigninLogs\n    | where A > 1\n"},
		{"indicator", "name: x\nquery: |2\n    SigninLogs\n    | where A > 1\n"},
		{"nested", "name: x\nrule:\n  other: 1\nquery: |-\n\n  SigninLogs\n  | where A > 1\n"},
		{"plain", "name: x\nquery: SigninLogs | where A > 1\n"},
		{"quoted", "name: x\nquery: \"SigninLogs | where A > 1\"\n"},
	} {
		f := filepath.Join(dir, tc.name+".yaml")
		os.WriteFile(f, []byte(tc.text), 0o644)
		rs, err := Load(f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		r := rs[0]
		qlines := strings.Split(r.Query, "\n")
		var ql, qc int
		for i, l := range qlines {
			if c := strings.Index(l, ">"); c >= 0 {
				ql, qc = i+1, c+1
			}
		}
		fl, fc := r.Position(ql, qc)
		flines := strings.Split(tc.text, "\n")
		if fl < 1 || fl > len(flines) || fc < 1 || fc > len(flines[fl-1]) || flines[fl-1][fc-1] != '>' {
			t.Errorf("%s: query %d:%d maps to file %d:%d, which is not the '>'", tc.name, ql, qc, fl, fc)
		}
	}
}
