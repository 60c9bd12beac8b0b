package pipeline

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/table"
)

// A body cut off between two records parses record by record, so its
// records survive; but the cut itself must not pass for a complete body:
// it is a truncated dead letter holding the whole body.
func TestABodyCutBetweenRecordsIsATruncatedDeadLetterAndItsRecordsSurvive(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: needCols(table.SigninLogs, "Id")}, DecodeOptions{})
	rec := func(id string) string {
		return `{"category":"SignInLogs","time":"2026-11-18T06:00:00Z","resultType":"0","properties":{"id":"` + id + `"}}`
	}
	two := rec("r0") + "," + rec("r1")
	tests := []struct {
		name, body string
		truncated  bool
	}{
		{"envelope without ]}", `{"records":[` + two, true},
		{"envelope without }", `{"records":[` + two + `]`, true},
		{"envelope cut after a comma", `{"records":[` + two + `,`, true},
		{"envelope cut after a comma and white space", `{"records":[` + two + ", \n", true},
		{"bare array without ]", `[` + two, true},
		{"bare array cut after a comma", `[` + two + `,`, true},
		{"a whole envelope is not truncated", `{"records":[` + two + `]}`, false},
		{"a whole bare array is not truncated", `[` + two + `]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testutil.ToFloat64(metrics.DecodeFailures.WithLabelValues(ReasonTruncated))
			dc := decodeWith(t, d, []byte(tt.body), Source{EventHub: "h", Partition: "3"})
			var ids []string
			for _, r := range dc.rows {
				ids = append(ids, r.rec.RecordID)
			}
			if strings.Join(ids, ",") != "r0,r1" {
				t.Errorf("records decoded = %v, want r0,r1", ids)
			}
			if !tt.truncated {
				if len(dc.res.DeadLetters) != 0 {
					t.Errorf("dead letters %+v, want none", dc.res.DeadLetters)
				}
				return
			}
			if len(dc.res.DeadLetters) != 1 {
				t.Fatalf("dead letters %+v, want one truncated", dc.res.DeadLetters)
			}
			dl := dc.res.DeadLetters[0]
			if dl.Reason != ReasonTruncated || string(dl.Raw) != tt.body || dl.Source.Partition != "3" || !strings.Contains(dl.Error, "after 2 records") {
				t.Errorf("dead letter %+v, want reason %s, the whole body as raw, its source, and how many records came before the cut", dl, ReasonTruncated)
			}
			if got := testutil.ToFloat64(metrics.DecodeFailures.WithLabelValues(ReasonTruncated)) - before; got != 1 {
				t.Errorf("decode failures{reason=truncated} grew by %v, want 1", got)
			}
		})
	}
}
