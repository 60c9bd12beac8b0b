package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamhunt/streamhunt/internal/ehtest"
	"github.com/streamhunt/streamhunt/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for a writer process and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// checkRunningService runs the release binary as the service against the
// in-process Event Hubs server, as an operator would see it: probes, metrics,
// JSON logs without secrets, the silence finding, and a clean stop on SIGTERM.
// It waits for each state with a deadline; no assertion depends on timing.
func checkRunningService(t *testing.T, bin string) {
	const hub = "insights-logs-signinlogs"
	srv, err := ehtest.NewServer(ehtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.CreateHub(hub, 2, "streamhunt"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	findings := filepath.Join(dir, "findings.jsonl")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(`source:
  connectionString: ${EVENTHUB_CONNECTION_STRING}
  hubs: [`+hub+`]
  consumerGroup: streamhunt
  startPosition: earliest
  updateInterval: 200ms
  ownershipExpiry: 2s
  receiveWait: 100ms
checkpoints:
  dir: `+filepath.Join(dir, "checkpoints")+`
  every: 1
  interval: 100ms
processing:
  shutdownTimeout: 5s
sinks:
  - name: archive
    file:
      path: `+findings+`
deadLetter:
  dir: `+filepath.Join(dir, "deadletter")+`
ops:
  listen: "`+addr+`"
  silenceAfter: 3s
`), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "run", "--config", cfg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "EVENTHUB_CONNECTION_STRING="+srv.ConnectionString(""))
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !ok() {
			select {
			case err := <-exited:
				t.Fatalf("the service exited (%v) while waiting for %s\n%s", err, what, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 60s\nstderr:\n%s", what, stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	waitFor("200 from /readyz", func() bool { code, _ := get("/readyz"); return code == 200 })
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	body := `{"records":[{"time":"2026-03-01T12:00:00Z","category":"SignInLogs","properties":{"id":"r1","createdDateTime":"2026-03-01T12:00:00Z"}}]}`
	if err := srv.Publish(hub, "0", []byte(body)); err != nil {
		t.Fatal(err)
	}
	waitFor("records and partitions in /metrics", func() bool {
		_, m := get("/metrics")
		return strings.Contains(m, `streamhunt_records_received_total{hub="`+hub+`",partition="0"} 1`) &&
			strings.Contains(m, `streamhunt_partitions_owned{hub="`+hub+`"} 2`) &&
			strings.Contains(m, `streamhunt_last_record_age_seconds{category="SignInLogs",hub="`+hub+`"}`)
	})
	waitFor("the silence finding once the category stopped for ops.silenceAfter", func() bool {
		b, _ := os.ReadFile(findings)
		return strings.Contains(string(b), `"ruleId":"streamhunt-silence"`)
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the service did not stop within 60s of SIGTERM\n%s", stderr.String())
	}

	logs := stderr.String()
	if strings.Contains(logs, ehtest.DefaultKey) {
		t.Errorf("the log holds the Event Hubs key:\n%s", logs)
	}
	sc := bufio.NewScanner(strings.NewReader(logs))
	lines := 0
	for sc.Scan() {
		lines++
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line["level"] == nil || line["msg"] == nil || line["time"] == nil {
			t.Errorf("log line %d is not a JSON object with time, level and msg (the log goes to a pipe, as in a container): %s", lines, sc.Text())
		}
	}
	if lines == 0 {
		t.Error("the service logged nothing")
	}
}
