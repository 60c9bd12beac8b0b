package blob

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/streamhunt/streamhunt/internal/testenv"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/retry"
	"github.com/streamhunt/streamhunt/sink/sinktest"
)

func newAzuriteSink(t *testing.T, container string, maxBlob int) (*Sink, *azblob.Client, *sinktest.Store) {
	t.Helper()
	cs := testenv.Azurite(t)
	store := &sinktest.Store{}
	s, err := New(Config{Account: Account{ConnectionString: cs}, Container: container, Prefix: "sh", MaxBlobBytes: maxBlob,
		Retry: retry.Policy{InitialBackoff: 10 * time.Millisecond}, DeadLetter: store}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, store
}

// contents lists the container's blobs and the findingIds each holds.
func contents(t *testing.T, c *azblob.Client, container string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	pager := c.NewListBlobsFlatPager(container, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			resp, err := c.DownloadStream(ctx, container, *it.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
			sc := bufio.NewScanner(&buf)
			sc.Buffer(nil, 4<<20)
			ids := []string{}
			for sc.Scan() {
				var f struct {
					FindingID string `json:"findingId"`
				}
				if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
					t.Fatalf("blob %s holds a line that is not a finding: %v", *it.Name, err)
				}
				ids = append(ids, f.FindingID)
			}
			out[*it.Name] = ids
		}
	}
	return out
}

func ids(fs []pipeline.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.FindingID)
	}
	return out
}

func TestABatchBecomesOneBlobNamedFromItsRange(t *testing.T) {
	s, c, _ := newAzuriteSink(t, "blob-one", 0)
	b := sinktest.Batch(0, 5)
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	got := contents(t, c, "blob-one")
	want := "sh/2026/12/03/19/insights-logs-signinlogs-3-1000-1004-r" + rulesTag(b.Findings) + ".jsonl"
	if len(got) != 1 || strings.Join(got[want], ",") != strings.Join(ids(b.Findings), ",") {
		t.Fatalf("blobs = %v, want %s holding the 5 findings in order", got, want)
	}
}

// Field report 13 (Azure/azure-sdk-for-net#17651): a redelivered batch overwrites its blob instead of duplicating its findings.
func TestARedeliveredBatchOverwritesItsBlob(t *testing.T) {
	s, c, _ := newAzuriteSink(t, "blob-redeliver", 0)
	b := sinktest.Batch(0, 5)
	for range 3 {
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Write(context.Background(), sinktest.Batch(5, 5)); err != nil {
		t.Fatal(err)
	}
	got := contents(t, c, "blob-redeliver")
	var names []string
	total := 0
	for n, fs := range got {
		names = append(names, n)
		total += len(fs)
	}
	sort.Strings(names)
	if len(got) != 2 || total != 10 {
		t.Fatalf("blobs = %v holding %d findings; want 2 blobs holding 10 (no duplicates)", names, total)
	}
}

func TestAVeryLargeBatchIsSplitIntoNumberedBlobsThatRepeat(t *testing.T) {
	s, c, _ := newAzuriteSink(t, "blob-split", 4000)
	b := sinktest.Batch(0, 12)
	for range 2 {
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	got := contents(t, c, "blob-split")
	var names, all []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		all = append(all, got[n]...)
		if !strings.HasPrefix(n, "sh/2026/12/03/19/insights-logs-signinlogs-3-1000-1011-r"+rulesTag(b.Findings)+"-p0") {
			t.Fatalf("part name %s", n)
		}
	}
	if len(names) < 3 || strings.Join(all, ",") != strings.Join(ids(b.Findings), ",") {
		t.Fatalf("parts %v hold %d findings; want several parts holding the 12 once, in order", names, len(all))
	}
}

func TestBlobNames(t *testing.T) {
	at := time.Date(2026, 12, 3, 7, 59, 0, 0, time.UTC)
	f := pipeline.Finding{Source: pipeline.Source{EnqueuedTime: at}, EventTime: at.Add(-time.Hour)}
	fileF := pipeline.Finding{EventTime: at}
	tests := []struct {
		name string
		b    sink.Batch
		want string
	}{
		{"an Event Hubs range names hub, partition and sequence numbers under the enqueued hour",
			sink.Batch{Range: sink.Range{EventHub: "insights-logs-signinlogs", Partition: "12", FirstSequence: 7, LastSequence: 99}, Findings: []pipeline.Finding{f}},
			"p/2026/12/03/07/insights-logs-signinlogs-12-7-99-r"},
		{"a replayed file names the file, a hash of its path and the lines under the event hour",
			sink.Batch{Range: sink.Range{File: "/exports/day 1/signins.json", FirstLine: 1, LastLine: 40}, Findings: []pipeline.Finding{fileF}},
			"p/2026/12/03/07/signins.json-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := BlobName("p", tt.b); !strings.HasPrefix(got, tt.want) {
				t.Fatalf("BlobName() = %s, want %s...", got, tt.want)
			}
		})
	}
	noRange1 := BlobName("p", sink.Batch{Findings: []pipeline.Finding{sinktest.Finding(1)}})
	noRange2 := BlobName("p", sink.Batch{Findings: []pipeline.Finding{sinktest.Finding(2)}})
	if noRange1 == noRange2 || noRange1 != BlobName("p", sink.Batch{Findings: []pipeline.Finding{sinktest.Finding(1)}}) {
		t.Fatalf("batches without a range: %s and %s; want names that differ between batches and repeat on redelivery", noRange1, noRange2)
	}
	a := BlobName("p", sink.Batch{Range: sink.Range{File: "/a/x.json", FirstLine: 1, LastLine: 2}, Findings: []pipeline.Finding{fileF}})
	b := BlobName("p", sink.Batch{Range: sink.Range{File: "/b/x.json", FirstLine: 1, LastLine: 2}, Findings: []pipeline.Finding{fileF}})
	if a == b || !strings.Contains(a, "-1-2-r") {
		t.Fatalf("files of one name in two directories share %s", a)
	}
}

func TestConfigErrorsNameTheirKeys(t *testing.T) {
	err := Config{Container: "Bad_Name", MaxBlobBytes: -1}.Validate()
	for _, k := range []string{"connectionString, accountUrl: set one", "container:", "maxBlobBytes:"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("Validate() = %v, missing %q", err, k)
		}
	}
	if err := (Config{Account: Account{AccountURL: "https://acct.blob.core.windows.net/"}, Container: "findings"}).Validate(); err != nil {
		t.Fatalf("an Entra ID config: %v", err)
	}
}

func TestAConnectionStringNeverAppearsInErrors(t *testing.T) {
	_, err := Account{ConnectionString: "AccountName=x;AccountKey=c2VjcmV0LWtleQ==;Garbage"}.Client()
	if err == nil || !strings.Contains(err.Error(), "connectionString:") || strings.Contains(err.Error(), "c2VjcmV0LWtleQ") {
		t.Fatalf("Client() = %v, want an error naming the key connectionString without its value", err)
	}
}

// The same range run through other rules (a replay with a new rule set)
// must not overwrite the findings already archived for it; the same rules
// in another order still name the same blob, so redelivery overwrites.
func TestTheSameRangeThroughOtherRulesGetsABlobOfItsOwn(t *testing.T) {
	s, c, _ := newAzuriteSink(t, "blob-rules", 0)
	a := sinktest.Batch(0, 4)
	b := sinktest.Batch(0, 4)
	for i := range b.Findings {
		b.Findings[i].RuleID = "my-rule"
		b.Findings[i].FindingID = pipeline.FindingID("my-rule", "SigninLogs", b.Findings[i].RecordID, 0)
	}
	changed := sinktest.Batch(0, 4)
	for i := range changed.Findings {
		changed.Findings[i].RuleVersion = "fedcba9876543210"
	}
	for _, batch := range []sink.Batch{a, b, changed, a} {
		if err := s.Write(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	got := contents(t, c, "blob-rules")
	total := 0
	for _, fs := range got {
		total += len(fs)
	}
	if len(got) != 3 || total != 12 {
		t.Fatalf("blobs %v; want 3 blobs holding 12 findings: one per rule set, the redelivered one overwritten", got)
	}
	mixed := sinktest.Batch(0, 4)
	mixed.Findings[1], mixed.Findings[3] = b.Findings[1], b.Findings[3]
	swapped := sinktest.Batch(0, 4)
	swapped.Findings[0], swapped.Findings[2] = b.Findings[0], b.Findings[2]
	if BlobName("p", mixed) != BlobName("p", swapped) {
		t.Errorf("the same two rules in another order name different blobs: %s, %s", BlobName("p", mixed), BlobName("p", swapped))
	}
}
