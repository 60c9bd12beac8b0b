package loganalytics

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/pipeline"
)

// Column is one column of the custom table and the DCR stream: its name and
// its type as a DCR stream declaration spells it.
type Column struct {
	Name string
	Type string
}

// Schema is every column the sink sends, in order. deploy/loganalytics
// declares exactly these (a test checks). The finding's tenantId is sent as
// SourceTenantId because TenantId is reserved by Log Analytics (it holds the
// workspace's tenant).
var Schema = []Column{
	{"TimeGenerated", "datetime"},
	{"FindingId", "string"},
	{"SchemaVersion", "int"},
	{"RuleId", "string"},
	{"RuleName", "string"},
	{"RuleVersion", "string"},
	{"Severity", "string"},
	{"Tactics", "dynamic"},
	{"Techniques", "dynamic"},
	{"Table", "string"},
	{"RecordId", "string"},
	{"CorrelationId", "string"},
	{"SourceTenantId", "string"},
	{"EventTime", "datetime"},
	{"DetectedTime", "datetime"},
	{"UserPrincipalName", "string"},
	{"IPAddress", "string"},
	{"AppDisplayName", "string"},
	{"AppId", "string"},
	{"Entities", "dynamic"},
	{"Source", "dynamic"},
	{"Columns", "dynamic"},
}

// Row is one row of StreamhuntFindings_CL; its JSON keys are Schema's names
// in Schema's order.
type Row struct {
	TimeGenerated     string            `json:"TimeGenerated"`
	FindingID         string            `json:"FindingId"`
	SchemaVersion     int               `json:"SchemaVersion"`
	RuleID            string            `json:"RuleId"`
	RuleName          string            `json:"RuleName"`
	RuleVersion       string            `json:"RuleVersion"`
	Severity          string            `json:"Severity"`
	Tactics           []string          `json:"Tactics"`
	Techniques        []string          `json:"Techniques"`
	Table             string            `json:"Table"`
	RecordID          string            `json:"RecordId"`
	CorrelationID     string            `json:"CorrelationId"`
	SourceTenantID    string            `json:"SourceTenantId"`
	EventTime         *string           `json:"EventTime"`
	DetectedTime      *string           `json:"DetectedTime"`
	UserPrincipalName string            `json:"UserPrincipalName"`
	IPAddress         string            `json:"IPAddress"`
	AppDisplayName    string            `json:"AppDisplayName"`
	AppID             string            `json:"AppId"`
	Entities          []pipeline.Entity `json:"Entities"`
	Source            pipeline.Source   `json:"Source"`
	Columns           pipeline.Columns  `json:"Columns"`
}

func timePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := pipeline.FormatDateTime(t)
	return &s
}

// RowOf maps a finding to its table row. TimeGenerated is when the finding
// was detected (now, if unset); EventTime is the sign-in's time.
func RowOf(f *pipeline.Finding, now time.Time) Row {
	col := func(name string) string {
		v, _ := f.Columns.Get(name)
		return v.S
	}
	tg := f.DetectedTime
	if tg.IsZero() {
		tg = now
	}
	tactics, techniques := f.Tactics, f.Techniques
	if tactics == nil {
		tactics = []string{}
	}
	if techniques == nil {
		techniques = []string{}
	}
	entities := f.Entities
	if entities == nil {
		entities = []pipeline.Entity{}
	}
	cols := f.Columns
	if cols == nil {
		cols = pipeline.Columns{}
	}
	return Row{
		TimeGenerated:     pipeline.FormatDateTime(tg),
		FindingID:         f.FindingID,
		SchemaVersion:     f.SchemaVersion,
		RuleID:            f.RuleID,
		RuleName:          f.RuleName,
		RuleVersion:       f.RuleVersion,
		Severity:          f.Severity,
		Tactics:           tactics,
		Techniques:        techniques,
		Table:             f.Table,
		RecordID:          f.RecordID,
		CorrelationID:     f.CorrelationID,
		SourceTenantID:    f.TenantID,
		EventTime:         timePtr(f.EventTime),
		DetectedTime:      timePtr(f.DetectedTime),
		UserPrincipalName: col("UserPrincipalName"),
		IPAddress:         col("IPAddress"),
		AppDisplayName:    col("AppDisplayName"),
		AppID:             col("AppId"),
		Entities:          entities,
		Source:            f.Source,
		Columns:           cols,
	}
}

// encodeRow appends the row's JSON to dst: the same as json.Marshal of
// RowOf (a test checks), written directly, since json.Marshal re-validates
// and copies every column's JSON (the dynamic ones can be large).
func encodeRow(dst []byte, f *pipeline.Finding, now time.Time) ([]byte, error) {
	r := RowOf(f, now)
	str := func(key, v string, first bool) {
		if !first {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, key...)
		dst = append(dst, `":`...)
		dst = pipeline.AppendValueJSON(dst, table.TypeString, table.Str(v))
	}
	raw := func(key string, v []byte) {
		dst = append(dst, ',', '"')
		dst = append(dst, key...)
		dst = append(dst, `":`...)
		dst = append(dst, v...)
	}
	optTime := func(key string, v *string) {
		if v == nil {
			raw(key, []byte("null"))
			return
		}
		str(key, *v, false)
	}
	dst = append(dst, '{')
	str("TimeGenerated", r.TimeGenerated, true)
	str("FindingId", r.FindingID, false)
	raw("SchemaVersion", strconv.AppendInt(nil, int64(r.SchemaVersion), 10))
	str("RuleId", r.RuleID, false)
	str("RuleName", r.RuleName, false)
	str("RuleVersion", r.RuleVersion, false)
	str("Severity", r.Severity, false)
	for _, kv := range []struct {
		key string
		v   any
	}{{"Tactics", r.Tactics}, {"Techniques", r.Techniques}} {
		b, err := json.Marshal(kv.v)
		if err != nil {
			return nil, err
		}
		raw(kv.key, b)
	}
	str("Table", r.Table, false)
	str("RecordId", r.RecordID, false)
	str("CorrelationId", r.CorrelationID, false)
	str("SourceTenantId", r.SourceTenantID, false)
	optTime("EventTime", r.EventTime)
	optTime("DetectedTime", r.DetectedTime)
	str("UserPrincipalName", r.UserPrincipalName, false)
	str("IPAddress", r.IPAddress, false)
	str("AppDisplayName", r.AppDisplayName, false)
	str("AppId", r.AppID, false)
	ents, err := json.Marshal(r.Entities)
	if err != nil {
		return nil, err
	}
	raw("Entities", ents)
	src, err := r.Source.MarshalJSON()
	if err != nil {
		return nil, err
	}
	raw("Source", src)
	cols, err := r.Columns.MarshalJSON()
	if err != nil {
		return nil, err
	}
	raw("Columns", cols)
	return append(dst, '}'), nil
}
