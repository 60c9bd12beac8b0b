package pipeline_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/streamhunt/streamhunt/consumer/file"
	"github.com/streamhunt/streamhunt/internal/testenv"
	"github.com/streamhunt/streamhunt/pipeline"
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
