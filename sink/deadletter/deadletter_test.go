package deadletter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/testenv"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink/blob"
)

// containerSeq tells apart the containers made by one test process.
var containerSeq atomic.Int64

type line struct {
	Time        string          `json:"time"`
	Reason      string          `json:"reason"`
	Error       string          `json:"error"`
	Source      json.RawMessage `json:"source"`
	Raw         string          `json:"raw"`
	RawEncoding string          `json:"rawEncoding"`
}

func readLines(t *testing.T, data []byte) []line {
	t.Helper()
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("dead letter line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func samples() []pipeline.DeadLetter {
	seq := int64(42)
	at := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	return []pipeline.DeadLetter{
		{Time: at, Reason: "invalid-json", Error: "line 1: unexpected end of JSON input", Source: pipeline.Source{EventHub: "insights-logs-signinlogs", Partition: "0", SequenceNumber: &seq}, Raw: []byte(`{"records":[`)},
		{Time: at, Reason: "invalid-json", Error: "not UTF-8", Source: pipeline.Source{File: "in.json", Line: 3}, Raw: []byte{0xff, 0xfe, 'x'}},
	}
}

func TestFileIsCreatedOnlyWhenTheFirstDeadLetterArrives(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", DefaultFile)
	w := NewFile(p)
	if err := w.WriteDeadLetters(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("dead letter file exists after no dead letters (stat: %v)", err)
	}
	counted := metrics.DeadLetters.WithLabelValues("invalid-json")
	before := testutil.ToFloat64(counted)
	w = NewFile(p)
	if err := w.WriteDeadLetters(context.Background(), samples()); err != nil {
		t.Fatal(err)
	}
	w.Close(context.Background())
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	got := readLines(t, data)
	if len(got) != 2 || w.Count() != 2 {
		t.Fatalf("file holds %d lines, Count() = %d, want 2 and 2", len(got), w.Count())
	}
	if d := testutil.ToFloat64(counted) - before; d != 2 {
		t.Fatalf("streamhunt_dead_letters_total{reason=invalid-json} rose by %v, want 2", d)
	}
}

func TestDeadLetterLinesFollowTheContract(t *testing.T) {
	p := filepath.Join(t.TempDir(), "dl.jsonl")
	w := NewFile(p)
	if err := w.WriteDeadLetters(context.Background(), samples()); err != nil {
		t.Fatal(err)
	}
	w.Close(context.Background())
	data, _ := os.ReadFile(p)
	got := readLines(t, data)
	tests := []struct {
		name  string
		check func() bool
	}{
		{"the time is Kusto's datetime form", func() bool { return got[0].Time == "2026-12-03T20:00:00.0000000Z" }},
		{"the reason is the short code", func() bool { return got[0].Reason == "invalid-json" }},
		{"text raw content stays text", func() bool { return got[0].Raw == `{"records":[` && got[0].RawEncoding == "" }},
		{"an Event Hubs source names hub, partition and sequence number", func() bool {
			return strings.Contains(string(got[0].Source), `"eventHub":"insights-logs-signinlogs","partition":"0","sequenceNumber":42`)
		}},
		{"bytes that are not UTF-8 are base64", func() bool {
			raw, err := base64.StdEncoding.DecodeString(got[1].Raw)
			return err == nil && got[1].RawEncoding == "base64" && bytes.Equal(raw, []byte{0xff, 0xfe, 'x'})
		}},
		{"a file source names file and line", func() bool { return string(got[1].Source) == `{"file":"in.json","line":3}` }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.check() {
				t.Fatalf("lines: %s", data)
			}
		})
	}
}

func TestDirWritesOneFilePerHourAndProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dl")
	w := NewDir(dir)
	now := time.Date(2026, 12, 3, 20, 59, 0, 0, time.UTC)
	w.now = func() time.Time { return now }
	ctx := context.Background()
	if err := w.WriteDeadLetters(ctx, samples()); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDeadLetters(ctx, samples()[:1]); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if err := w.WriteDeadLetters(ctx, samples()[:1]); err != nil {
		t.Fatal(err)
	}
	w.Close(ctx)
	names, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	want := []string{
		filepath.Join(dir, "deadletter-20261203T20-"+Instance()+".jsonl"),
		filepath.Join(dir, "deadletter-20261203T21-"+Instance()+".jsonl"),
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("files = %v, want %v", names, want)
	}
	first, _ := os.ReadFile(want[0])
	if n := len(readLines(t, first)); n != 3 {
		t.Fatalf("the 20h file holds %d dead letters, want 3", n)
	}
}

func TestConfigChoosesOnePlace(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		where   string
		wantErr string
	}{
		{"an empty config is replay's default file", Config{}, DefaultFile, ""},
		{"a directory", Config{Dir: "/var/lib/streamhunt/dl"}, "/var/lib/streamhunt/dl", ""},
		{"two places are refused", Config{File: "a", Dir: "b"}, "", "choose one place"},
		{"a blob container needs a name and an account", Config{Blob: &BlobConfig{}}, "", "blob.container: must name"},
		{"a blob account needs a connection string or URL", Config{Blob: &BlobConfig{Container: "dl"}}, "", "blob.connectionString, accountUrl: set one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Build(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.Where() != tt.where {
				t.Fatalf("Where() = %q, want %q", w.Where(), tt.where)
			}
		})
	}
}

func TestBlobStoresDeadLettersInAzurite(t *testing.T) {
	cs := testenv.Azurite(t)
	// A container of this run's own: Azurite lives as long as the test
	// process, so a fixed name would still hold the blobs of an earlier
	// -count run.
	cname := fmt.Sprintf("dl%d-%d", time.Now().UnixNano()%1e9, containerSeq.Add(1))
	w, err := NewBlob(BlobConfig{Account: blob.Account{ConnectionString: cs}, Container: cname, Prefix: "dead"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The day in the blob's path is taken while writing; around midnight UTC
	// it may be the day before the one at the assertion.
	start := time.Now().UTC()
	if err := w.WriteDeadLetters(ctx, samples()); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDeadLetters(ctx, samples()[:1]); err != nil {
		t.Fatal(err)
	}
	c, _ := azblob.NewClientFromConnectionString(cs, nil)
	pager := c.NewListBlobsFlatPager(cname, nil)
	var names []string
	total := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			names = append(names, *it.Name)
			resp, err := c.DownloadStream(ctx, cname, *it.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
			total += len(readLines(t, buf.Bytes()))
		}
	}
	if len(names) != 2 || total != 3 {
		t.Fatalf("blobs = %v holding %d dead letters, want 2 blobs holding 3", names, total)
	}
	days := []string{"dead/" + start.Format("2006/01/02/"), "dead/" + time.Now().UTC().Format("2006/01/02/")}
	for _, n := range names {
		if !(strings.HasPrefix(n, days[0]) || strings.HasPrefix(n, days[1])) || !strings.HasSuffix(n, ".jsonl") {
			t.Fatalf("blob name %q is not dead/yyyy/mm/dd/hh/....jsonl", n)
		}
	}
	if w.Count() != 3 {
		t.Fatalf("Count() = %d, want 3", w.Count())
	}
}
