// Package pipeline turns event bodies into findings: decode (body → records →
// table rows) and detect (rules → findings). It does no I/O.
package pipeline

import (
	"encoding/json"
	"time"
)

// SchemaVersion is the version of the Finding and DeadLetter JSON contracts.
const SchemaVersion = 1

// Source says where a body came from. For Event Hubs the EventHub fields are
// set; for files File and Line. Index is the record's index in its body.
type Source struct {
	EventHub       string    `json:"eventHub,omitempty"`
	Partition      string    `json:"partition,omitempty"`
	SequenceNumber *int64    `json:"sequenceNumber,omitempty"`
	Offset         string    `json:"offset,omitempty"`
	EnqueuedTime   time.Time `json:"-"`
	File           string    `json:"file,omitempty"`
	Line           int       `json:"line,omitempty"`
	Index          *int      `json:"index,omitempty"`
}

// MarshalJSON writes the Event Hubs form {eventHub, partition, sequenceNumber,
// offset, enqueuedTime, index} or the file form {file, line, index}.
func (s Source) MarshalJSON() ([]byte, error) {
	if s.EventHub != "" || s.Partition != "" {
		type eh struct {
			EventHub       string `json:"eventHub"`
			Partition      string `json:"partition"`
			SequenceNumber int64  `json:"sequenceNumber"`
			Offset         string `json:"offset"`
			EnqueuedTime   string `json:"enqueuedTime"`
			Index          *int   `json:"index,omitempty"`
		}
		var seq int64
		if s.SequenceNumber != nil {
			seq = *s.SequenceNumber
		}
		var et string
		if !s.EnqueuedTime.IsZero() {
			et = FormatDateTime(s.EnqueuedTime)
		}
		return json.Marshal(eh{s.EventHub, s.Partition, seq, s.Offset, et, s.Index})
	}
	type file struct {
		File  string `json:"file"`
		Line  int    `json:"line"`
		Index *int   `json:"index,omitempty"`
	}
	return json.Marshal(file{s.File, s.Line, s.Index})
}

// FormatDateTime renders a datetime as Kusto does in JSON: RFC 3339, UTC,
// 7 fractional digits and Z.
func FormatDateTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// Entity is an entity a finding is about (account, ip, host, cloud app), in
// the shape of Sentinel's entity mappings.
type Entity struct {
	Type       string            `json:"type"`
	Identifier string            `json:"identifier"`
	Fields     map[string]string `json:"fields,omitempty"`
}

// Finding is one detection: a rule matched a record. Its JSON keys and
// encodings are the contract in DESIGN.md.
type Finding struct {
	SchemaVersion int       `json:"schemaVersion"`
	FindingID     string    `json:"findingId"`
	RuleID        string    `json:"ruleId"`
	RuleName      string    `json:"ruleName"`
	RuleVersion   string    `json:"ruleVersion"`
	Severity      string    `json:"severity"`
	Tactics       []string  `json:"tactics"`
	Techniques    []string  `json:"techniques"`
	Table         string    `json:"table"`
	RecordID      string    `json:"recordId"`
	CorrelationID string    `json:"correlationId"`
	TenantID      string    `json:"tenantId"`
	EventTime     time.Time `json:"-"`
	DetectedTime  time.Time `json:"-"`
	Columns       Columns   `json:"columns"`
	Entities      []Entity  `json:"entities"`
	Source        Source    `json:"source"`
	// RowIndex is the output row's index for the record (0 unless the rule
	// expands one record into several rows, as mv-expand does).
	RowIndex int `json:"-"`
}

// MarshalJSON adds eventTime and detectedTime in Kusto's datetime form.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	return json.Marshal(struct {
		plain
		EventTime    string `json:"eventTime"`
		DetectedTime string `json:"detectedTime"`
	}{plain(f), fmtTime(f.EventTime), fmtTime(f.DetectedTime)})
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return FormatDateTime(t)
}
