package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/testenv"
)

func TestHelpGoesToStdoutWithExitZero(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"replay", "--help"}, {"replay", "-h"}, {"replay", "x.json", "--help"},
		{"run", "--help"}, {"run", "-h"},
		{"checkpoints", "--help"}, {"checkpoints", "list", "--help"},
		{"rules", "-h"}, {"rules", "test", "--help"},
		{"version", "--help"}, {"help", "replay"},
	} {
		code, out, errs := runCLI(t, dir, args...)
		if code != 0 || errs != "" || !strings.Contains(out, "Usage") {
			t.Errorf("%v = %d, stdout %q, stderr %q; want usage on stdout, exit 0", args, code, out, errs)
		}
	}
}

func TestVersionHelpIsUsageNotTheVersion(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := runCLI(t, dir, "version", "--help")
	if code != 0 || !strings.Contains(out, "Usage: streamhunt version") || strings.Contains(out, "streamhunt dev") {
		t.Errorf("version --help = %d, %q", code, out)
	}
	code, out, _ = runCLI(t, dir, "version")
	if code != 0 || !strings.HasPrefix(out, "streamhunt ") {
		t.Errorf("version = %d, %q", code, out)
	}
	code, _, errs := runCLI(t, dir, "version", "extra")
	if code != 2 || !strings.Contains(errs, "Usage") {
		t.Errorf("version extra = %d, %q; want exit 2 with usage", code, errs)
	}
}

func TestUsageMistakesGoToStderrWithExitTwo(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{}, {"frobnicate"}, {"rules"}, {"help", "frobnicate"}} {
		code, out, errs := runCLI(t, dir, args...)
		if code != 2 || out != "" || strings.Count(errs, "Usage") != 1 {
			t.Errorf("%v = %d, stdout %q, stderr %q; want usage once on stderr, exit 2", args, code, out, errs)
		}
	}
}

func TestReplayUsageMistakesArePrintedOnce(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"replay"}, {"replay", "--bogus", "x"}} {
		code, out, errs := runCLI(t, dir, args...)
		if code != 2 || out != "" || strings.Count(errs, "Usage") != 1 || strings.Count(errs, "streamhunt replay:") != 1 || strings.Contains(errs, "replay: replay:") {
			t.Errorf("%v = %d, stdout %q, stderr %q; want the error and the usage once each on stderr, exit 2", args, code, out, errs)
		}
	}
}

func TestReplayAndRunPlaceARuleErrorAtItsFileColumn(t *testing.T) {
	dir := t.TempDir()
	text := "name: x\nquery: |\n    SigninLogs\n    | where ResultType == 0 and > 1\n"
	f := writeFile(t, filepath.Join(dir, "x.yaml"), text)
	want := f + ":4:" + strconv.Itoa(strings.Index(strings.Split(text, "\n")[3], ">")+1) + ":"
	code, _, errs := runCLI(t, dir, "replay", "--only-rules", f, "-")
	if code != 2 || !strings.Contains(errs, want) {
		t.Errorf("replay = %d, stderr %q; want %s", code, errs, want)
	}
	cfg := writeFile(t, filepath.Join(dir, "run.yaml"), "source: {connectionString: \"Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=a2V5\", hubs: [h]}\n"+
		"checkpoints: {dir: "+dir+"}\nsinks: [{name: out, stdout: {}}]\ndeadLetter: {dir: "+dir+"}\nrules: {builtin: false, paths: ["+f+"]}\n")
	code, _, errs = runCLI(t, dir, "run", "--check", "--config", cfg)
	if code != 2 || !strings.Contains(errs, want) {
		t.Errorf("run --check = %d, stderr %q; want %s", code, errs, want)
	}
}

// The configuration README.md shows for a real tenant passes run --check.
func TestTheReadmeConfigurationPassesRunCheck(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "   ```yaml\n")
	block, _, ok2 := strings.Cut(after, "   ```\n")
	if !ok || !ok2 {
		t.Fatal("README.md has no indented yaml block")
	}
	var cfg strings.Builder
	for _, l := range strings.Split(block, "\n") {
		cfg.WriteString(strings.TrimPrefix(l, "   ") + "\n")
	}
	dir := t.TempDir()
	t.Setenv("WEBHOOK_SECRET", "a-webhook-secret-of-32-characters!")
	code, out, errs := runCLI(t, dir, "run", "--check", "--config", writeFile(t, filepath.Join(dir, "streamhunt.yaml"), cfg.String()))
	if code != exitOK || !strings.Contains(out, "configuration OK: 4 event hubs, 4 rules, 1 sink\n") {
		t.Errorf("run --check on README's configuration = %d, stdout %q, stderr %q", code, out, errs)
	}
}
