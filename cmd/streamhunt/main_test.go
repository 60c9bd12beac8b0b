package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
