package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/consumer/file"
	"github.com/streamhunt/streamhunt/internal/testenv"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/rules"
)

// exampleBodies returns the Event Hubs bodies of the shipped example
// (364 records in 17 bodies of all four sign-in categories).
func exampleBodies(b *testing.B) (bodies [][]byte, size int64) {
	b.Helper()
	dir := filepath.Join(testenv.RepoRoot(b), "examples", "device-code-phishing", "eventhubs")
	files, err := file.Expand([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	err = (&file.Reader{}).Read(context.Background(), files, func(body file.Body) error {
		bodies = append(bodies, bytes.Clone(body.Data))
		size += int64(len(body.Data))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return bodies, size
}

// BenchmarkProcessExampleBuiltinRules is the whole per-event hot path: every
// body of the example decoded and run through the four built-in rules,
// findings built for the 15 matches. MB/s is of body bytes.
func BenchmarkProcessExampleBuiltinRules(b *testing.B) {
	p := builtinPipeline(b)
	bodies, size := exampleBodies(b)
	records := 0
	for _, body := range bodies {
		records += p.Process(pipeline.Event{Body: body}).Records
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, body := range bodies {
			p.Process(pipeline.Event{Body: body})
		}
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkProcessParallel runs the same work from GOMAXPROCS goroutines, as
// partition workers share one pipeline.
func BenchmarkProcessParallel(b *testing.B) {
	p := builtinPipeline(b)
	bodies, size := exampleBodies(b)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for _, body := range bodies {
				p.Process(pipeline.Event{Body: body})
			}
		}
	})
}

// handwrittenRecord is what a Go programmer would declare to run the seed's
// Sentinel form by hand: the envelope and the four fields it reads.
type handwrittenRecord struct {
	Category   string          `json:"category"`
	ResultType json.RawMessage `json:"resultType"`
	Properties struct {
		ID                     string `json:"id"`
		AuthenticationProtocol string `json:"authenticationProtocol"`
		DeviceDetail           struct {
			DeviceID string `json:"deviceId"`
		} `json:"deviceDetail"`
	} `json:"properties"`
}

// handwrittenSeed is the hand-written baseline: encoding/json into a struct,
// then the Sentinel seed's three where clauses as Go. It returns the ids of
// the matching records; bodies that encoding/json refuses are skipped.
func handwrittenSeed(body []byte) (ids []string) {
	var env struct {
		Records []handwrittenRecord `json:"records"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil
	}
	for i := range env.Records {
		r := &env.Records[i]
		if r.Category != "SignInLogs" {
			continue
		}
		rt := strings.Trim(string(r.ResultType), `"`)
		if rt == "0" && r.Properties.AuthenticationProtocol == "deviceCode" && r.Properties.DeviceDetail.DeviceID == "" {
			ids = append(ids, r.Properties.ID)
		}
	}
	return ids
}

// BenchmarkProcessBaselines compares, over the example's bodies, the seed's
// Sentinel rule run by the pipeline (decoder that extracts only the columns
// the rule reads, compiled KQL, findings built) with the hand-written
// baseline above. Before timing, both must flag the same records, so the
// comparison is of equal work.
func BenchmarkProcessBaselines(b *testing.B) {
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	var sentinel []rules.Rule
	for _, r := range rs {
		if r.ID == "entra-device-code-unmanaged" {
			sentinel = append(sentinel, r)
		}
	}
	p, err := pipeline.New(sentinel, pipeline.Options{})
	if err != nil {
		b.Fatal(err)
	}
	bodies, size := exampleBodies(b)
	var ours, theirs []string
	for _, body := range bodies {
		for _, f := range p.Process(pipeline.Event{Body: body}).Findings {
			ours = append(ours, f.RecordID)
		}
		theirs = append(theirs, handwrittenSeed(body)...)
	}
	sort.Strings(ours)
	sort.Strings(theirs)
	if len(ours) == 0 || strings.Join(ours, ",") != strings.Join(theirs, ",") {
		b.Fatalf("the baselines disagree: pipeline flagged %v, hand-written %v", ours, theirs)
	}
	b.Run("streamhunt-sentinel-rule", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			for _, body := range bodies {
				p.Process(pipeline.Event{Body: body})
			}
		}
	})
	b.Run("handwritten-encoding-json-struct", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			for _, body := range bodies {
				handwrittenSeed(body)
			}
		}
	})
}
