package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamhunt/streamhunt/internal/metrics"
)

func TestEndpointsAnswerWhatProbesAndScrapersExpect(t *testing.T) {
	h := NewHealth(HealthOptions{Require: []string{ComponentEventHubs, ComponentCheckpointStore}})
	// The registry is shared by the process (and kept across -count runs):
	// the scrape must show the series risen by what this test added.
	const series = `streamhunt_events_received_total{hub="insights-logs-signinlogs",partition="0"}`
	before := testutil.ToFloat64(metrics.EventsReceived.WithLabelValues("insights-logs-signinlogs", "0"))
	metrics.EventsReceived.WithLabelValues("insights-logs-signinlogs", "0").Add(3)
	srv := httptest.NewServer(Handler(h, nil))
	defer srv.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := get(PathHealthz); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	code, body := get(PathReadyz)
	if code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before reaching anything = %d, want 503", code)
	}
	var r Readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Ready || len(r.Components) != 2 {
		t.Errorf("/readyz body = %s (%v)", body, err)
	}
	h.Report(ComponentEventHubs, nil)
	h.Report(ComponentCheckpointStore, nil)
	if code, body := get(PathReadyz); code != 200 || !strings.Contains(body, `"ready":true`) {
		t.Errorf("/readyz once both answered = %d %s, want 200 ready", code, body)
	}
	code, body = get(PathMetrics)
	for _, want := range []string{series + " ", "go_goroutines", "process_cpu_seconds_total"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %q", code, want)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		v, ok := strings.CutPrefix(line, series+" ")
		if !ok {
			continue
		}
		got, err := strconv.ParseFloat(v, 64)
		if err != nil || got-before != 3 {
			t.Errorf("/metrics shows %q after %v before the test added 3", line, before)
		}
	}
}

func TestReadyzRedactsSecretsInTheLastError(t *testing.T) {
	h := NewHealth(HealthOptions{FailAfter: 1})
	h.Report(ComponentCheckpointStore, fmt.Errorf("GET https://acct.blob.core.windows.net/c?sv=1&sig=%s: 403", sasSig))
	rec := httptest.NewRecorder()
	Handler(h, nil).ServeHTTP(rec, httptest.NewRequest("GET", PathReadyz, nil))
	if rec.Code != 503 || strings.Contains(rec.Body.String(), sasSig) || !strings.Contains(rec.Body.String(), "sig=REDACTED") {
		t.Errorf("/readyz = %d %s", rec.Code, rec.Body.String())
	}
}

func TestServeStopsWhenItsContextEnds(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, l, NewHealth(HealthOptions{}), nil) }()

	resp, err := http.Get("http://" + l.Addr().String() + PathHealthz)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel = %v, want nil", err)
	}
	if _, err := http.Get("http://" + l.Addr().String() + PathHealthz); err == nil {
		t.Error("the server still answers after its context ended")
	}
}

func TestServeSaysWhenTheAddressIsTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = Serve(context.Background(), Config{Listen: l.Addr().String()}, NewHealth(HealthOptions{}), nil)
	if err == nil || !strings.Contains(err.Error(), "ops.listen") {
		t.Fatalf("err = %v, want one naming ops.listen", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("the listen error is not wrapped: %v", err)
	}
}
