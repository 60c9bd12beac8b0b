package stdout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/sinktest"
)

// lines decodes JSON lines into the findingIds they carry, failing on any
// line that is not a JSON object.
func lines(t *testing.T, data []byte) []string {
	t.Helper()
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var f struct {
			FindingID string `json:"findingId"`
		}
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("line %q is not a finding: %v", sc.Text(), err)
		}
		ids = append(ids, f.FindingID)
	}
	return ids
}

func ids(b sink.Batch) []string {
	var out []string
	for _, f := range b.Findings {
		out = append(out, f.FindingID)
	}
	return out
}

func TestWriterGetsOneJSONLinePerFindingInOrder(t *testing.T) {
	var buf bytes.Buffer
	s := NewWriter(&buf, nil)
	b := sinktest.Batch(0, 3)
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(lines(t, buf.Bytes()), ","), strings.Join(ids(b), ","); got != want {
		t.Fatalf("findingIds = %s, want %s", got, want)
	}
	if !strings.Contains(buf.String(), `"eventTime":"2026-12-03T19:30:00.0000000Z"`) {
		t.Fatalf("eventTime not in Kusto's datetime form: %s", buf.String())
	}
}

func TestAnEmptyBatchWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	if err := NewWriter(&buf, nil).Write(context.Background(), sink.Batch{}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Fatalf("wrote %q for an empty batch", buf.String())
	}
}

func TestFileAppendsToWhatIsAlreadyThere(t *testing.T) {
	p := filepath.Join(t.TempDir(), "findings.jsonl")
	for i := 0; i < 2; i++ {
		s, err := New(Config{Path: p}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(context.Background(), sinktest.Batch(i*2, 2)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(p)
	if got := len(lines(t, data)); got != 4 {
		t.Fatalf("file holds %d findings after two runs of 2, want 4", got)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode = %v, want 0600 (findings hold personal data)", fi.Mode().Perm())
	}
}

func TestFileRotatesBySizeKeepsBackupsAndNeverSplitsABatch(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "findings.jsonl")
	one, _ := Encode(nil, sinktest.Batch(0, 2))
	// Room for a bit more than two batches of two per file.
	s, err := New(Config{Path: p, MaxBytes: int64(len(one))*2 + 100, MaxBackups: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for i := 0; i < 10; i++ {
		b := sinktest.Batch(i*2, 2)
		all = append(all, ids(b)...)
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(names) != 3 {
		t.Fatalf("files = %v, want the file and 2 backups", names)
	}
	// Newest last: .2, .1, current hold the last 6 batches (2 batches each).
	var kept []string
	for _, n := range []string{p + ".2", p + ".1", p} {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		got := lines(t, data)
		if len(got) != 4 {
			t.Fatalf("%s holds %d findings, want 4 (two whole batches)", n, len(got))
		}
		kept = append(kept, got...)
	}
	if got, want := strings.Join(kept, ","), strings.Join(all[8:], ","); got != want {
		t.Fatalf("kept findings = %s, want the newest %s", got, want)
	}
}

func TestConcurrentBatchesNeverInterleave(t *testing.T) {
	p := filepath.Join(t.TempDir(), "findings.jsonl")
	s, err := New(Config{Path: p, NoSync: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if err := s.Write(context.Background(), sinktest.Batch(g*1000+i*5, 5)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	s.Close(context.Background())
	data, _ := os.ReadFile(p)
	if got := len(lines(t, data)); got != 8*20*5 {
		t.Fatalf("file holds %d findings, want %d", got, 8*20*5)
	}
}

func TestWriteAfterCloseIsAnError(t *testing.T) {
	s, err := New(Config{Path: filepath.Join(t.TempDir(), "f.jsonl")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(context.Background())
	if err := s.Write(context.Background(), sinktest.Batch(0, 1)); err == nil {
		t.Fatal("write after Close succeeded; it must not acknowledge")
	}
}

func TestConfigErrorsNameTheirKeys(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"a negative size and backup count are both reported", Config{Path: "f", MaxBytes: -5, MaxBackups: -1}, []string{"maxBytes:", "maxBackups:"}},
		{"rotation needs a file", Config{MaxBytes: 10}, []string{"set path"}},
		{"a plain file is valid", Config{Path: "f"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors naming %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, missing %q", err, w)
				}
			}
		})
	}
}

func TestAFileInAMissingDirectoryIsCreatedWithItsDirectory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "f.jsonl")
	s, err := New(Config{Path: p}, nil)
	if err != nil {
		t.Fatalf("New() = %v, want the directory created", err)
	}
	if err := s.Write(context.Background(), sinktest.Batch(0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("file %q, %v; want one finding", b, err)
	}
}

func TestAFileWhereNoDirectoryCanBeCreatedFailsAtStart(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{Path: filepath.Join(blocker, "f.jsonl")}, nil)
	if err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("New() = %v, want an error naming the directory", err)
	}
}

func BenchmarkWrite100Findings(b *testing.B) {
	s := NewWriter(discard{}, nil)
	batch := sinktest.Batch(0, 100)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
