package pipeline

import (
	"testing"

	"github.com/streamhunt/streamhunt/rules"
)

// Rows exported from a Log Analytics query (columns such as TimeGenerated,
// Type, UserPrincipalName) are not diagnostic-settings records: they have no
// category and no properties. They are counted under "(none)", and also in
// LogAnalyticsRows so that replay can say what went wrong; other records
// without a category are dead letters.
func TestLogAnalyticsExportRowsAreCountedAsSuch(t *testing.T) {
	d := NewDecoder(needAll(), DecodeOptions{})
	for _, tc := range []struct {
		name string
		body string
		rows int
		none int
	}{
		{"an exported row with its Category column", `{"TenantId":"t","TimeGenerated":"2025-02-14T09:00:00Z","Category":"SignInLogs","UserPrincipalName":"a@b.example","Type":"SigninLogs"}`, 1, 1},
		{"an array of exported rows", `[{"TimeGenerated":"2025-02-14T09:00:00Z","UserPrincipalName":"a"},{"Type":"SigninLogs","AppId":"x"}]`, 2, 2},
		{"an envelope of exported rows", `{"records":[{"TimeGenerated [UTC]":"x"},{"TimeGenerated":"2025-02-14T09:00:00Z"}]}`, 2, 2},
		{"an object without any of the keys", `{"foo":1}`, 0, 0},
		{"a query API response", `{"tables":[{"name":"PrimaryResult","columns":[{"name":"TimeGenerated","type":"datetime"}],"rows":[["2025-02-14T09:00:00Z"]]}]}`, 1, 1},
		{"a record with a category is not an export row", `{"category":"AuditLogs","TimeGenerated":"2025-02-14T09:00:00Z"}`, 0, 0},
		{"a record with properties is not one either", `{"Type":"x","properties":{"id":"1"}}`, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := d.Decode([]byte(tc.body), Source{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.LogAnalyticsRows != tc.rows || res.SkippedCategories["(none)"] != tc.none {
				t.Errorf("LogAnalyticsRows %d, (none) %d; want %d, %d (%+v)", res.LogAnalyticsRows, res.SkippedCategories["(none)"], tc.rows, tc.none, res)
			}
		})
	}
	p, err := New([]rules.Rule{{ID: "r", Query: "SigninLogs | where ResultType == 0", Severity: "medium"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res := p.Process(Event{Body: []byte(`[{"TimeGenerated":"2025-02-14T09:00:00Z","ResultType":"0"}]`)}); res.LogAnalyticsRows != 1 || res.Records != 1 {
		t.Errorf("Process: %+v", res)
	}
}
