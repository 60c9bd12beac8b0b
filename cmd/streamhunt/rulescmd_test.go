package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRulesCheckChecksExactlyThePathsItIsGiven(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.kql"), "SigninLogs\n| where ResultType == 0\n")
	code, out, errs := runCLI(t, dir, "rules", "check", good)
	if code != 0 || strings.TrimSpace(out) != "1 rule compiles" {
		t.Errorf("rules check good.kql = %d, stdout %q, stderr %q; want 0 and \"1 rule compiles\"", code, out, errs)
	}
	bad := writeFile(t, filepath.Join(dir, "bad.kql"), "SigninLogs\n| where ResultTyp == 0\n")
	code, out, errs = runCLI(t, dir, "rules", "check", good, bad)
	if code != 2 || !strings.Contains(errs, bad+":2:9: rule bad:") || strings.Contains(out, "compile") {
		t.Errorf("rules check good bad = %d, stdout %q, stderr %q; want exit 2 naming %s:2:9", code, out, errs, bad)
	}
	if !strings.Contains(errs, "1 of 2 rules does not compile") {
		t.Errorf("stderr %q lacks the count", errs)
	}
	// Without a PATH, the built-in pack (and --rules) as before.
	code, out, _ = runCLI(t, dir, "rules", "check", "--rules", good)
	if code != 0 || strings.TrimSpace(out) != "5 rules compile" {
		t.Errorf("rules check --rules good.kql = %d, %q", code, out)
	}
}

func TestRulesCheckReportsTheFileColumnInsideAYAMLBlock(t *testing.T) {
	dir := t.TempDir()
	text := "name: x\nquery: |\n    SigninLogs\n    | where ResultType == 0 and > 1\n"
	f := writeFile(t, filepath.Join(dir, "x.yaml"), text)
	code, _, errs := runCLI(t, dir, "rules", "check", f)
	col := strings.Index(strings.Split(text, "\n")[3], ">") + 1
	want := f + ":4:" + strconv.Itoa(col) + ":"
	if code != 2 || !strings.Contains(errs, want) {
		t.Errorf("rules check = %d, stderr %q; want %s", code, errs, want)
	}
}

func TestRulesListAddsThePathsToTheBuiltInPack(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, filepath.Join(dir, "mine.kql"), "SigninLogs\n")
	code, out, errs := runCLI(t, dir, "rules", "list", f)
	if code != 0 || !strings.Contains(out, "mine ") || !strings.Contains(out, "entra-device-code-unmanaged ") {
		t.Errorf("rules list mine.kql = %d\n%s%s", code, out, errs)
	}
}

func TestAnEmptyRuleDirectoryIsAWarning(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	code, out, errs := runCLI(t, dir, "rules", "list", "--rules", empty)
	if code != 0 || !strings.Contains(out, "entra-device-code-unmanaged") || !strings.Contains(errs, "warning") || !strings.Contains(errs, empty) {
		t.Errorf("rules list --rules EMPTY = %d, stdout %q, stderr %q", code, out, errs)
	}
	code, _, errs = runCLI(t, dir, "rules", "check", empty)
	if code != 2 || !strings.Contains(errs, "no rules to check") {
		t.Errorf("rules check EMPTY = %d, stderr %q; want exit 2: checking nothing is not a pass", code, errs)
	}
	code, _, errs = runCLI(t, dir, "rules", "list", "--rules", filepath.Join(dir, "*.kql"))
	if code != 2 || !strings.Contains(errs, "matches no file") {
		t.Errorf("a glob that matches nothing = %d, %q; want exit 2", code, errs)
	}
	code, _, errs = runCLI(t, dir, "rules", "list", "--rules", filepath.Join(dir, "missing"))
	if code != 2 || !strings.Contains(errs, "no such file") {
		t.Errorf("a missing path = %d, %q; want exit 2", code, errs)
	}
}

func TestRulesSubcommandHelpIsItsOwnUsageOnStdout(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		sub       string
		want, not []string
	}{
		{"list", []string{"Usage: streamhunt rules list", "-rules PATH", "-only-rules PATH"}, []string{"-now", "-dead-letter"}},
		{"check", []string{"Usage: streamhunt rules check", "-rules PATH"}, []string{"-now", "-dead-letter"}},
		{"test", []string{"Usage: streamhunt rules test", "-now TIME", "-dead-letter FILE", "written nowhere unless"}, nil},
	} {
		for _, h := range []string{"--help", "-h"} {
			code, out, errs := runCLI(t, dir, "rules", tc.sub, h)
			if code != 0 || errs != "" || strings.Contains(out, "Usage of") {
				t.Errorf("rules %s %s = %d, stdout %q, stderr %q", tc.sub, h, code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("rules %s %s: no %q in\n%s", tc.sub, h, w, out)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("rules %s %s offers %q, which it does not use", tc.sub, h, w)
				}
			}
		}
	}
	code, out, errs := runCLI(t, dir, "rules", "--help")
	if code != 0 || errs != "" || !strings.Contains(out, "streamhunt rules check") {
		t.Errorf("rules --help = %d, %q, %q", code, out, errs)
	}
}

func TestRulesUsageErrorsArePrintedOnceOnStderr(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, dir, "rules", "list", "--bogus")
	if code != 2 || out != "" || strings.Count(errs, "-bogus") != 1 || strings.Count(errs, "Usage:") != 1 {
		t.Errorf("rules list --bogus = %d, stdout %q, stderr %q", code, out, errs)
	}
	code, _, errs = runCLI(t, dir, "rules", "frobnicate")
	if code != 2 || strings.Count(errs, "frobnicate") != 1 || strings.Count(errs, "Usage:") != 1 {
		t.Errorf("rules frobnicate = %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI(t, dir, "rules", "test")
	if code != 2 || strings.Count(errs, "rules test:") != 1 || !strings.HasPrefix(errs, "streamhunt rules test: ") {
		t.Errorf("rules test (no files) = %d, stderr %q", code, errs)
	}
}

func TestRulesTestCountsFindingsAndWritesNoDeadLettersUnlessAsked(t *testing.T) {
	dir := t.TempDir()
	body := `{"records":[` + signin("r1", "deviceCode", "", "0", office) + `]}` + "\n" + "{not json\n"
	in := writeFile(t, filepath.Join(dir, "in.json"), body)
	code, out, errs := runCLI(t, dir, "rules", "test", "--now", "2025-02-14T09:30:00Z", in)
	if code != 0 {
		t.Fatalf("rules test = %d, stderr %q", code, errs)
	}
	if strings.Contains(out+errs, "streamhunt replay") || !strings.Contains(out, "streamhunt rules test: 1 file,") {
		t.Errorf("summary is not labelled rules test or says \"1 files\":\n%s", out)
	}
	if !strings.Contains(out, "entra-device-code-unmanaged 1") {
		t.Errorf("no per-rule count:\n%s", out)
	}
	if !strings.Contains(out, "dead letters: 1, not written") || !strings.Contains(out, "in.json:2") {
		t.Errorf("dead letters not reported with their first error:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "streamhunt-deadletter.jsonl")); err == nil {
		t.Error("rules test wrote streamhunt-deadletter.jsonl into the working directory")
	}
	dl := filepath.Join(dir, "dl.jsonl")
	code, out, _ = runCLI(t, dir, "rules", "test", "--dead-letter", dl, in)
	b, err := os.ReadFile(dl)
	if code != 0 || err != nil || strings.Count(string(b), "\n") != 1 || !strings.Contains(out, "dead letters: 1, written to "+dl) {
		t.Errorf("rules test --dead-letter = %d, %v, %q\n%s", code, err, b, out)
	}
}

func TestRuleWarningsArePrintedAtTheirFilePosition(t *testing.T) {
	dir := t.TempDir()
	text := "name: x\nquery: |\n    SigninLogs\n    | where ResultType == 0\n    | take 10\n"
	f := writeFile(t, filepath.Join(dir, "x.yaml"), text)
	want := f + ":5:7: rule x: warning: take ignored"
	for _, args := range [][]string{{"rules", "check", f}, {"replay", "--only-rules", f, "-"}} {
		code, _, errs := runCLI(t, dir, args...)
		if code != 0 || !strings.Contains(errs, want) {
			t.Errorf("%v = %d, stderr %q; want exit 0 and %q", args, code, errs, want)
		}
	}
}

func TestRulesListNamesEveryTableOfAUnionRule(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, filepath.Join(dir, "u.kql"), "union SigninLogs, AADNonInteractiveUserSignInLogs\n| where AuthenticationProtocol == \"deviceCode\"\n| take 5\n")
	code, out, errs := runCLI(t, dir, "rules", "list", f)
	if code != 0 || !strings.Contains(out, "SigninLogs,AADNonInteractiveUserSignInLogs") || strings.Count(errs, "take ignored") != 1 {
		t.Errorf("rules list = %d, stdout %q, stderr %q; want both tables and one warning", code, out, errs)
	}
}
