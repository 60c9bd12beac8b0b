package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	cpblob "github.com/streamhunt/streamhunt/checkpoint/blob"
	"github.com/streamhunt/streamhunt/internal/ehtest"
	"github.com/streamhunt/streamhunt/internal/testenv"
)

func TestRunCheck(t *testing.T) {
	root := testenv.RepoRoot(t)
	t.Setenv("EVENTHUB_CONNECTION_STRING", "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=c2VjcmV0")
	t.Setenv("STORAGE_CONNECTION_STRING", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=YWNjb3VudGtleQ==;EndpointSuffix=core.windows.net")
	t.Setenv("WEBHOOK_SECRET", "s3cret-for-signing")
	t.Setenv("SOAR_TOKEN", "t0ken")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
		notWant  []string
	}{
		{"a valid configuration passes and says what it found", []string{"run", "--check", "--config", filepath.Join(root, "testdata/config/run.yaml")}, exitOK,
			[]string{"configuration OK: 2 event hubs", "2 sinks"}, nil},
		{"every configuration error is reported at once", []string{"run", "--check", "--config", filepath.Join(root, "testdata/config/errors.yaml")}, exitUsage,
			[]string{"source.hubs:", "source.startPosition:", "checkpoints.every:", "sinks.soc.webhook.url:", "deadLetter."}, []string{"not-a-connection-string"}},
		{"--config is required", []string{"run", "--check"}, exitUsage, []string{"--config FILE is required"}, nil},
		{"a missing file is named", []string{"run", "--config", filepath.Join(t.TempDir(), "nope.yaml")}, exitUsage, []string{"nope.yaml"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, t.TempDir(), tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out+errOut, w) {
					t.Errorf("output shows %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
}

// serviceFixture is an Event Hubs test server, an Azurite container and a
// run configuration with short time constants.
type serviceFixture struct {
	srv       *ehtest.Server
	hub       string
	dir       string
	config    string
	container string
	storage   string
}

func newServiceFixture(t *testing.T) *serviceFixture {
	t.Helper()
	storage := testenv.Azurite(t)
	srv, err := ehtest.NewServer(ehtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f := &serviceFixture{srv: srv, hub: "insights-logs-signinlogs", dir: t.TempDir(), storage: storage,
		container: fmt.Sprintf("run%d", time.Now().UnixNano()%1e9)}
	if err := srv.CreateHub(f.hub, 2); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_EH_CONNECTION_STRING", srv.ConnectionString(""))
	t.Setenv("TEST_STORAGE_CONNECTION_STRING", storage)
	f.config = writeFile(t, filepath.Join(f.dir, "run.yaml"), `
source:
  connectionString: ${TEST_EH_CONNECTION_STRING}
  hubs: [`+f.hub+`]
  startPosition: earliest
  updateInterval: 200ms
  ownershipExpiry: 2s
  receiveWait: 100ms
checkpoints:
  connectionString: ${TEST_STORAGE_CONNECTION_STRING}
  container: `+f.container+`
  every: 1
  interval: 100ms
processing:
  shutdownTimeout: 5s
sinks:
  - name: archive
    file:
      path: `+filepath.Join(f.dir, "findings.jsonl")+`
deadLetter:
  dir: `+filepath.Join(f.dir, "deadletter")+`
ops:
  listen: 127.0.0.1:0
  logLevel: warn
`)
	return f
}

func (f *serviceFixture) checkpoints(t *testing.T) map[string]int64 {
	t.Helper()
	svc, err := azblob.NewClientFromConnectionString(f.storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cpblob.New(context.Background(), svc.ServiceClient().NewContainerClient(f.container), cpblob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cps, err := s.ListCheckpoints(context.Background(), f.srv.Namespace(), f.hub, azeventhubs.DefaultConsumerGroup, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range cps {
		out[c.PartitionID] = *c.SequenceNumber
	}
	return out
}

// Field report 16 (open-telemetry/opentelemetry-collector-contrib#45898): the report's unparseable body is dead-lettered and the partition read and checkpointed past it.
// Field report H1 (elastic/beats, inferred hazard): the last body raises no finding, yet the checkpoint moves past it on the now idle partition.
func TestRunDeliversTheBuiltInRulesFindingsAndStopsCleanlyOnSIGTERM(t *testing.T) {
	f := newServiceFixture(t)
	if err := f.srv.Publish(f.hub, "0",
		[]byte(`{"records":[`+signin("hit", "deviceCode", "", "0", office)+`,`+signin("managed", "deviceCode", "dev-1", "0", office)+`]}`),
		[]byte(`{"records":[{"time":"2024-01-01T00:00:00Z","properties":{]}`),
		[]byte(`{"records":[`+signin("password", "none", "", "0", office)+`]}`),
	); err != nil {
		t.Fatal(err)
	}
	ctx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	var stderr strings.Builder
	code := make(chan int, 1)
	go func() {
		code <- dispatch(ctx, []string{"run", "--config", f.config}, strings.NewReader(""), &strings.Builder{}, &stderr)
	}()
	findingsFile := filepath.Join(f.dir, "findings.jsonl")
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(findingsFile)
		dl, _ := filepath.Glob(filepath.Join(f.dir, "deadletter", "*"))
		if strings.Contains(string(b), `"recordId":"hit"`) && len(dl) > 0 && f.checkpoints(t)["0"] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finding, dead letter and checkpoint at 2 within 60s; findings: %s\nstderr: %s", b, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	sigterm()
	select {
	case c := <-code:
		if c != exitOK {
			t.Fatalf("exit %d after SIGTERM, want 0\n%s", c, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run did not stop within 60s of SIGTERM")
	}
	got := findings(t, mustRead(t, findingsFile))
	for _, fd := range got {
		if fd["recordId"] != "hit" {
			t.Errorf("finding for record %v, want only the unmanaged device-code sign-in", fd["recordId"])
		}
		src, _ := fd["source"].(map[string]any)
		if src["eventHub"] != f.hub || src["partition"] != "0" || src["sequenceNumber"] != float64(0) {
			t.Errorf("finding source %v, want hub %s partition 0 sequence number 0", src, f.hub)
		}
	}
	if len(got) == 0 {
		t.Fatal("no finding delivered")
	}
	dls, _ := filepath.Glob(filepath.Join(f.dir, "deadletter", "*"))
	var dl strings.Builder
	for _, p := range dls {
		dl.WriteString(mustRead(t, p))
	}
	if !strings.Contains(dl.String(), `"sequenceNumber":1`) || strings.Count(dl.String(), "\n") != 1 {
		t.Fatalf("dead letters hold %q, want exactly the body at sequence number 1", dl.String())
	}
	if strings.Contains(stderr.String(), "SharedAccessKey=") {
		t.Errorf("the log shows a connection string:\n%s", stderr.String())
	}

	// The operator's view and reset.
	code2, out, errOut := runCLI(t, f.dir, "checkpoints", "list", "--config", f.config)
	if code2 != exitOK || !strings.Contains(out, f.hub) {
		t.Fatalf("checkpoints list: exit %d\n%s%s", code2, out, errOut)
	}
	row0 := strings.Fields(lineFor(out, f.hub+" 0"))
	if len(row0) < 6 || row0[2] != "2" || row0[5] != "0" {
		t.Fatalf("checkpoints list row for partition 0 is %q, want checkpoint 2 and lag 0\n%s", row0, out)
	}
	code2, out, errOut = runCLI(t, f.dir, "checkpoints", "reset", "--config", f.config, "--to", "earliest", "--partition", "0")
	if code2 != exitOK || !strings.Contains(out, "checkpoint 2 -> -1") {
		t.Fatalf("checkpoints reset: exit %d\n%s%s", code2, out, errOut)
	}
	if got := f.checkpoints(t)["0"]; got != -1 {
		t.Fatalf("checkpoint after reset --to earliest is %d, want -1 (read again from sequence number 0)", got)
	}
}

func TestCheckpointsResetRefusesAPartitionARunningConsumerOwns(t *testing.T) {
	f := newServiceFixture(t)
	ctx, sigterm := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- dispatch(ctx, []string{"run", "--config", f.config}, strings.NewReader(""), &strings.Builder{}, &strings.Builder{})
	}()
	defer func() { sigterm(); <-code }()
	deadline := time.Now().Add(60 * time.Second)
	for len(f.checkpoints(t)) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the consumer wrote no initial checkpoints within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c, out, errOut := runCLI(t, f.dir, "checkpoints", "reset", "--config", f.config, "--to", "latest")
	if c == exitOK || !strings.Contains(errOut, "owned by running consumers") {
		t.Fatalf("reset while owned: exit %d\n%s%s", c, out, errOut)
	}
}

func TestCheckpointsUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"checkpoints"}, "name a subcommand"},
		{"reset without --to", []string{"checkpoints", "reset", "--config", "x.yaml"}, "reset needs --to"},
		{"an unparsable --to", []string{"checkpoints", "reset", "--config", "x.yaml", "--to", "yesterday"}, `--to "yesterday"`},
		{"list with reset's flags", []string{"checkpoints", "list", "--config", "x.yaml", "--to", "latest"}, "are for reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is a usage error", func(t *testing.T) {
			code, out, errOut := runCLI(t, t.TempDir(), tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, want %d with %q\n%s%s", code, exitUsage, tt.want, out, errOut)
			}
		})
	}
}

func lineFor(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.Join(strings.Fields(l), " "), prefix+" ") {
			return l
		}
	}
	return ""
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunCheckRefusesARouteGlobThatMatchesNoRule(t *testing.T) {
	dir := t.TempDir()
	cfg := func(glob string) string {
		return writeFile(t, filepath.Join(dir, "run.yaml"), "source: {connectionString: \"Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=a2V5\", hubs: [h]}\n"+
			"checkpoints: {dir: "+dir+"}\nsinks: [{name: soc, stdout: {}, route: {rules: [\""+glob+"\"]}}]\ndeadLetter: {dir: "+dir+"}\n")
	}
	code, _, errs := runCLI(t, dir, "run", "--check", "--config", cfg("builtin/*"))
	if code != exitUsage || !strings.Contains(errs, `sinks.soc.route.rules: "builtin/*" matches no loaded rule`) || !strings.Contains(errs, "entra-device-code-unmanaged") {
		t.Errorf("run --check with route builtin/* = %d, stderr %q; want exit 2 naming the key and the rule ids", code, errs)
	}
	if code, out, errs := runCLI(t, dir, "run", "--check", "--config", cfg("entra-device-code-*")); code != exitOK {
		t.Errorf("run --check with a glob that matches = %d, %s%s", code, out, errs)
	}
}

func TestCheckpointsListGivesUpOnAnUnreachableNamespaceAndSaysWhatToCheck(t *testing.T) {
	dir := t.TempDir()
	port := testenv.FreePort(t) // nothing listens there
	cfg := writeFile(t, filepath.Join(dir, "run.yaml"), fmt.Sprintf("source: {connectionString: \"Endpoint=sb://127.0.0.1:%d/;SharedAccessKeyName=k;SharedAccessKey=a2V5;UseDevelopmentEmulator=true\", hubs: [h]}\n"+
		"checkpoints: {dir: %s}\nsinks: [{name: out, stdout: {}}]\ndeadLetter: {dir: %s}\n", port, dir, dir))
	code, _, errs := runCLI(t, dir, "checkpoints", "list", "--config", cfg, "--timeout", "1s")
	if code != exitIO || !strings.Contains(errs, "reading event hub h") || !strings.Contains(errs, "could not reach event hub h within 1s") {
		t.Errorf("checkpoints list against nothing = %d, stderr %q; want progress, then exit 1 saying what could not be reached", code, errs)
	}
}
