package pipeline

// Tests that reproduce failures reported against peer Event Hubs consumers
// (docs/field-reports.md) in the exact shape the reports give.

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/rules"
)

// Field report 19 (elastic/beats#40641): the `[ 227 B blob data ]` record is dead-lettered, counted once, and the next record decoded.
func TestTheBlobDataPlaceholderIsCountedOnceAndSparesTheNextRecord(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: needCols(table.SigninLogs, "Id")}, DecodeOptions{})
	before := testutil.ToFloat64(metrics.DecodeFailures.WithLabelValues(ReasonInvalidJSON))
	dc := decodeWith(t, d, fixture(t, "body-blob-data-19.txt"), Source{EventHub: "h", Partition: "0"})
	if len(dc.rows) != 1 || dc.rows[0].rec.RecordID != "after-blob" {
		t.Fatalf("rows %+v, want the record after the placeholder", dc.rows)
	}
	if len(dc.res.DeadLetters) != 1 {
		t.Fatalf("dead letters %+v, want the placeholder record alone", dc.res.DeadLetters)
	}
	if got := testutil.ToFloat64(metrics.DecodeFailures.WithLabelValues(ReasonInvalidJSON)) - before; got != 1 {
		t.Errorf("decode_failures_total{invalid-json} rose by %v, want 1", got)
	}
}

// Field report 20 (open-telemetry/opentelemetry-collector-contrib#31244): a body with an empty, a US-format and an ISO time gives three records.
func TestRecordsWithAnEmptyOrUSFormatTimeAreAllDecoded(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: needCols(table.SigninLogs, "Id", "TimeGenerated")}, DecodeOptions{})
	body := `{"records":[` +
		`{"time":"","category":"SignInLogs","properties":{"id":"empty","createdDateTime":"2023-10-10T13:25:00Z"}},` +
		`{"time":"10/10/2023 13:26:34","category":"SignInLogs","properties":{"id":"us"}},` +
		`{"time":"2023-10-10T13:27:00.1234567Z","category":"SignInLogs","properties":{"id":"iso"}}]}`
	enq := time.Date(2023, 10, 10, 13, 30, 0, 0, time.UTC)
	dc := decodeWith(t, d, []byte(body), Source{EventHub: "h", Partition: "0", EnqueuedTime: enq})
	if len(dc.res.DeadLetters) != 0 || dc.res.Records != 3 {
		t.Fatalf("records %d, dead letters %+v; want 3 records and none", dc.res.Records, dc.res.DeadLetters)
	}
	for id, want := range map[string]string{"empty": "2023-10-10T13:25:00Z", "us": "2023-10-10T13:26:34Z", "iso": "2023-10-10T13:27:00.1234567Z"} {
		if got := dc.row(t, "SigninLogs", id)["TimeGenerated"]; got != ts(want) {
			t.Errorf("record %s: TimeGenerated %+v, want %s", id, got, want)
		}
	}
}

// Field report 12 (MicrosoftDocs/azure-docs#121643): the same sign-in processed twice in a hand-off gives findings with the same ids.
// Field report 13 (Azure/azure-sdk-for-net#17651): rebalance duplicates (other sequence number, time) carry the findingIds already delivered.
func TestARedeliveredSignInGivesFindingsWithTheSameIDs(t *testing.T) {
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	body := fixture(t, "signin-devicecode-unmanaged.json")
	ids := func(now time.Time, src Source) []string {
		p, err := New(rs, Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range p.Process(Event{Body: body, Source: src}).Findings {
			out = append(out, f.RuleID+" "+f.FindingID)
		}
		return out
	}
	seq0, seq1 := int64(41), int64(7)
	first := ids(time.Date(2025, 3, 4, 10, 16, 1, 0, time.UTC),
		Source{EventHub: "insights-logs-signinlogs", Partition: "0", SequenceNumber: &seq0, Offset: "4100", EnqueuedTime: time.Date(2025, 3, 4, 10, 16, 0, 0, time.UTC)})
	again := ids(time.Date(2025, 3, 4, 10, 21, 30, 0, time.UTC),
		Source{EventHub: "insights-logs-signinlogs", Partition: "0", SequenceNumber: &seq1, Offset: "700", EnqueuedTime: time.Date(2025, 3, 4, 10, 20, 0, 0, time.UTC)})
	if len(first) == 0 {
		t.Fatal("the device-code sign-in from an unmanaged device raised no finding")
	}
	if strings.Join(first, "\n") != strings.Join(again, "\n") {
		t.Errorf("findings of the first delivery:\n%s\nof the redelivery:\n%s\nwant the same ids", strings.Join(first, "\n"), strings.Join(again, "\n"))
	}
}
