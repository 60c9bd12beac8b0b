package main

import (
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
