// Package testenv starts the real components that tests run against:
// Azurite (the Azure Storage emulator, from the project's npm packages).
// When a component is missing, tests skip with a message saying how to
// install it, except under CI (CI=true), where they fail instead.
package testenv

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// startDir is the working directory the test binary started in (go test
// starts it in the package's directory), taken before any test can move it
// with t.Chdir.
var startDir, startErr = os.Getwd()

// RepoRoot returns the directory that holds go.mod, walking up from the
// directory the test binary started in (not the current one, which a test
// may have changed with t.Chdir).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := startDir, startErr
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Missing skips the test (or fails it under CI) because a component is absent.
func Missing(t testing.TB, what, howToInstall string) {
	t.Helper()
	msg := fmt.Sprintf("%s is not available: %s", what, howToInstall)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set, so this fails instead of skipping)", msg)
	}
	t.Skip(msg)
}

// SharedDir returns ../shared beside the repository, or skips the test with a
// message when it is absent (as on a user's machine). It never fails under CI:
// the shared material is optional test data.
func SharedDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(RepoRoot(t), "..", "shared")
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
		t.Skipf("../shared is absent (%s): the public samples and corpus are not here", d)
	}
	return d
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
