package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/consumer/file"
	"github.com/streamhunt/streamhunt/internal/testenv"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/rules"
)

func builtinPipeline(t testing.TB) *pipeline.Pipeline {
	t.Helper()
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(rs, pipeline.Options{})
	if err != nil {
		t.Fatalf("built-in rules do not compile: %v", err)
	}
	return p
}

// flagged replays files and returns, per rule, the sorted record ids it flagged,
// and the dead letters seen.
func flagged(t *testing.T, p *pipeline.Pipeline, files []string) (map[string][]string, []pipeline.DeadLetter) {
	t.Helper()
	out := map[string][]string{}
	var dls []pipeline.DeadLetter
	r := &file.Reader{Valid: pipeline.ValidOrRepairable}
	err := r.Read(context.Background(), files, func(b file.Body) error {
		res := p.Process(pipeline.Event{Body: b.Data, Source: pipeline.Source{File: b.File, Line: b.Line}})
		dls = append(dls, res.DeadLetters...)
		for _, f := range res.Findings {
			out[f.RuleID] = append(out[f.RuleID], f.RecordID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out, dls
}

func sharedRecordFiles(t *testing.T) []string {
	dir := filepath.Join(testenv.SharedDir(t), "samples")
	b, err := os.ReadFile(filepath.Join(dir, "RECORDS.txt"))
	if err != nil {
		t.Fatalf("RECORDS.txt: %v", err)
	}
	var files []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		files = append(files, filepath.Join(dir, l))
	}
	if len(files) == 0 {
		t.Fatal("RECORDS.txt lists no file")
	}
	return files
}

func projectFiles(t *testing.T, dirs ...string) []string {
	root := testenv.RepoRoot(t)
	var paths []string
	for _, d := range dirs {
		paths = append(paths, filepath.Join(root, d))
	}
	files, err := file.Expand(paths)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.Contains(f, string(filepath.Separator)+"fuzz"+string(filepath.Separator)) || strings.HasSuffix(f, ".md") || strings.HasSuffix(f, "expected.json") {
			continue
		}
		out = append(out, f)
	}
	return out
}

func TestSeedFormsFlagExactlyTheSameSignInsOnTheProjectsFixtures(t *testing.T) {
	p := builtinPipeline(t)
	got, dls := flagged(t, p, projectFiles(t, "pipeline/testdata", "examples/device-code-phishing/eventhubs"))
	_ = dls // the decoder's fixtures include bodies that are meant to be dead-lettered
	s, x := strings.Join(got["entra-device-code-unmanaged"], ","), strings.Join(got["entra-device-code-unmanaged-xdr"], ",")
	if s != x {
		t.Fatalf("Sentinel form flagged [%s]\nDefender form flagged [%s]", s, x)
	}
	if s == "" {
		t.Fatal("the fixtures hold no device-code sign-in from an unmanaged device, so the comparison proves nothing")
	}
}

func TestSeedFormsFlagExactlyTheSameSignInsOnThePublicSamples(t *testing.T) {
	p := builtinPipeline(t)
	got, dls := flagged(t, p, sharedRecordFiles(t))
	if len(dls) > 0 {
		t.Errorf("public samples produced %d dead letters, first: %s: %s", len(dls), dls[0].Reason, dls[0].Error)
	}
	s, x := strings.Join(got["entra-device-code-unmanaged"], ","), strings.Join(got["entra-device-code-unmanaged-xdr"], ",")
	if s != x {
		t.Fatalf("Sentinel form flagged [%s]\nDefender form flagged [%s]", s, x)
	}
	if s != "" {
		return
	}
	// Both forms flag nothing: the public samples' device-code sign-ins are
	// from joined devices. That agreement proves something only if there are
	// such sign-ins and both forms flag them, alike, once the device is
	// unknown (the sibling test's guard, on the public records).
	var candidates int
	unknown := map[string][]string{}
	r := &file.Reader{Valid: pipeline.ValidOrRepairable}
	err := r.Read(context.Background(), sharedRecordFiles(t), func(b file.Body) error {
		if !bytes.Contains(b.Data, []byte(`"authenticationProtocol":"deviceCode"`)) {
			return nil
		}
		candidates++
		body := deviceID.ReplaceAll(b.Data, []byte(`"deviceId":""`))
		for _, f := range p.Process(pipeline.Event{Body: body}).Findings {
			unknown[f.RuleID] = append(unknown[f.RuleID], f.RecordID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if candidates == 0 {
		t.Fatal("the public samples hold no device-code sign-in, so the comparison proves nothing")
	}
	s, x = strings.Join(unknown["entra-device-code-unmanaged"], ","), strings.Join(unknown["entra-device-code-unmanaged-xdr"], ",")
	if s == "" || s != x {
		t.Fatalf("with the device id removed from the public device-code sign-ins (%d bodies)\nSentinel form flagged [%s]\nDefender form flagged [%s]\nwant both alike and not empty", candidates, s, x)
	}
}

// deviceID matches a sign-in's deviceDetail.deviceId.
var deviceID = regexp.MustCompile(`"deviceId":"[^"]*"`)

func TestTheBenignBrokerDeviceCodeSignInOnAJoinedDeviceYieldsNoFinding(t *testing.T) {
	p := builtinPipeline(t)
	f := filepath.Join(testenv.SharedDir(t), "samples", "sekoia-intake-formats-azure-ad", "DERIVED_raw_messages_from_azure-ad_tests.ndjson")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, line := range bytes.Split(b, []byte("\n")) {
		if !bytes.Contains(line, []byte(`"deviceCode"`)) || !bytes.Contains(line, []byte(`"appDisplayName":"Microsoft Authentication Broker"`)) {
			continue
		}
		found = true
		res := p.Process(pipeline.Event{Body: line})
		if res.Records != 1 || len(res.DeadLetters) > 0 {
			t.Fatalf("records %d, dead letters %v", res.Records, res.DeadLetters)
		}
		for _, fd := range res.Findings {
			t.Errorf("rule %s flagged the benign broker sign-in %s", fd.RuleID, fd.RecordID)
		}
	}
	if !found {
		t.Fatal("the SEKOIA broker device-code record is not in the samples any more")
	}
}
