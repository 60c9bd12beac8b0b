package pipeline

import (
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
)

// A record without a category cannot be routed to a table: it is a
// bad-record dead letter, not a silent count of category "(none)"; a row
// exported from a Log Analytics query is still counted (and replay warns).
func TestARecordWithoutACategoryIsADeadLetter(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: needCols(table.SigninLogs, "Id")}, DecodeOptions{})
	good := `{"category":"SignInLogs","time":"2026-11-18T06:00:00Z","resultType":"0","properties":{"id":"good"}}`
	tests := []struct {
		name, record string
		dead         bool
	}{
		{"no category key", `{"x":1}`, true},
		{"an empty category", `{"category":"","properties":{"id":"e"}}`, true},
		{"a null category", `{"category":null,"properties":{"id":"n"}}`, true},
		{"a Log Analytics query row", `{"TimeGenerated":"2026-11-18T06:00:00Z","Type":"SigninLogs","UserPrincipalName":"a@b.c"}`, false},
		{"another category", `{"category":"AuditLogs","properties":{"id":"a"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dc := decodeWith(t, d, []byte(`{"records":[`+tt.record+`,`+good+`]}`), Source{})
			if len(dc.rows) != 1 || dc.rows[0].rec.RecordID != "good" {
				t.Errorf("rows %d, want the good record", len(dc.rows))
			}
			if !tt.dead {
				if len(dc.res.DeadLetters) != 0 {
					t.Errorf("dead letters %+v, want none", dc.res.DeadLetters)
				}
				return
			}
			if len(dc.res.DeadLetters) != 1 {
				t.Fatalf("dead letters %+v, want one", dc.res.DeadLetters)
			}
			dl := dc.res.DeadLetters[0]
			if dl.Reason != ReasonBadRecord || !strings.Contains(dl.Error, "record 0: no category") || string(dl.Raw) != tt.record || dc.res.SkippedCategories["(none)"] != 0 {
				t.Errorf("dead letter %+v, skipped %v; want bad-record, no category, the record as raw, and no (none) count", dl, dc.res.SkippedCategories)
			}
		})
	}
}
