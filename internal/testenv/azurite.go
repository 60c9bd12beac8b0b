package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// AzuriteAccountKey is the well-known public key of Azurite's dev account.
const AzuriteAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

var (
	azuriteOnce sync.Once
	azuriteConn string
	azuriteErr  error
	azuriteLog  lockedBuffer
)

// lockedBuffer collects Azurite's output; exec's copying goroutine writes
// while a failing test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Azurite returns the connection string of an Azurite blob service started
// for this test process (in memory, on a free port; it dies with the
// process). Use a container name of the test's own to stay independent.
//
// STREAMHUNT_AZURITE_CONNECTION_STRING, when set, names one already running.
func Azurite(t testing.TB) string {
	t.Helper()
	if cs := os.Getenv("STREAMHUNT_AZURITE_CONNECTION_STRING"); cs != "" {
		return cs
	}
	bin := filepath.Join(RepoRoot(t), "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(bin); err != nil {
		Missing(t, "Azurite", "run `npm ci` in the repository root (Node 20 and npm needed)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		Missing(t, "node", "install Node.js 20")
	}
	azuriteOnce.Do(func() { azuriteConn, azuriteErr = startAzurite(t, bin) })
	if azuriteErr != nil {
		t.Fatalf("azurite: %v\n%s", azuriteErr, azuriteLog.String())
	}
	return azuriteConn
}

func startAzurite(t testing.TB, bin string) (string, error) {
	port := FreePort(t)
	dir, err := os.MkdirTemp("", "streamhunt-azurite-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--inMemoryPersistence", "--silent", "--disableTelemetry", "--skipApiVersionCheck")
	// Azurite refuses --location with --inMemoryPersistence; run it in a
	// scratch directory so nothing it writes lands in the package.
	cmd.Dir = dir
	cmd.Stdout = &azuriteLog
	cmd.Stderr = &azuriteLog
	// Azurite must not outlive the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return "", fmt.Errorf("azurite did not listen on %s within 30s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;BlobEndpoint=http://%s/devstoreaccount1;",
		AzuriteAccountKey, addr), nil
}
