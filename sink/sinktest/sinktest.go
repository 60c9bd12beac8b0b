// Package sinktest holds real, in-memory implementations of the sink
// interfaces for tests: a Recorder sink that keeps what it was given, a
// dead-letter Store, and a builder of sample findings.
package sinktest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
)

var (
	_ sink.Sink             = (*Recorder)(nil)
	_ sink.DeadLetterWriter = (*Store)(nil)
)

// Recorder is a sink that keeps every batch it is given. Fail, when set,
// is returned by Write instead of recording (to test callers' retries).
type Recorder struct {
	SinkName string

	mu      sync.Mutex
	batches []sink.Batch
	fail    error
	closed  bool
}

// Name returns SinkName, or "recorder".
func (r *Recorder) Name() string {
	if r.SinkName == "" {
		return "recorder"
	}
	return r.SinkName
}

// SetFail makes the following writes fail with err (nil: succeed again).
func (r *Recorder) SetFail(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

// Write records the batch.
func (r *Recorder) Write(_ context.Context, b sink.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	fs := append([]pipeline.Finding(nil), b.Findings...)
	r.batches = append(r.batches, sink.Batch{Range: b.Range, Findings: fs})
	return nil
}

// Close marks the recorder closed.
func (r *Recorder) Close(context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

// Closed reports whether Close was called.
func (r *Recorder) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Batches returns the batches recorded so far.
func (r *Recorder) Batches() []sink.Batch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sink.Batch(nil), r.batches...)
}

// FindingIDs returns the ids of every finding recorded, in order.
func (r *Recorder) FindingIDs() []string {
	var ids []string
	for _, b := range r.Batches() {
		for _, f := range b.Findings {
			ids = append(ids, f.FindingID)
		}
	}
	return ids
}

// Store is an in-memory dead-letter writer.
type Store struct {
	mu  sync.Mutex
	dls []pipeline.DeadLetter
}

// WriteDeadLetters keeps the dead letters.
func (s *Store) WriteDeadLetters(_ context.Context, dls []pipeline.DeadLetter) error {
	s.mu.Lock()
	s.dls = append(s.dls, dls...)
	s.mu.Unlock()
	return nil
}

// Where says "memory".
func (s *Store) Where() string { return "memory" }

// Close does nothing.
func (s *Store) Close(context.Context) error { return nil }

// DeadLetters returns what was written so far.
func (s *Store) DeadLetters() []pipeline.DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pipeline.DeadLetter(nil), s.dls...)
}

// Finding returns a realistic sample finding number i of the seed rule
// (a device-code sign-in), with distinct record, user and IP per i.
func Finding(i int) pipeline.Finding {
	seq := int64(1000 + i)
	idx := 0
	rec := fmt.Sprintf("rec-%06d", i)
	upn := fmt.Sprintf("user%d@contoso.com", i%50)
	ip := fmt.Sprintf("203.0.113.%d", i%250)
	t := time.Date(2026, 12, 3, 19, 30, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	return pipeline.Finding{
		SchemaVersion: pipeline.SchemaVersion,
		FindingID:     pipeline.FindingID("builtin/device-code-unmanaged", "SigninLogs", rec, 0),
		RuleID:        "builtin/device-code-unmanaged",
		RuleName:      "Successful device code sign-in from unmanaged device",
		RuleVersion:   "0123456789abcdef",
		Severity:      "high",
		Tactics:       []string{"InitialAccess"},
		Techniques:    []string{"T1566.002"},
		Table:         "SigninLogs",
		RecordID:      rec,
		CorrelationID: fmt.Sprintf("corr-%06d", i),
		TenantID:      "72f988bf-86f1-41af-91ab-2d7cd011db47",
		EventTime:     t,
		DetectedTime:  t.Add(3 * time.Second),
		Columns: pipeline.Columns{
			{Name: "TimeGenerated", Type: table.TypeDateTime, Value: table.DateTimeNanos(t.UnixNano())},
			{Name: "UserPrincipalName", Type: table.TypeString, Value: table.Str(upn)},
			{Name: "IPAddress", Type: table.TypeString, Value: table.Str(ip)},
			{Name: "AppDisplayName", Type: table.TypeString, Value: table.Str("Microsoft Azure CLI")},
			{Name: "AppId", Type: table.TypeString, Value: table.Str("04b07795-8ddb-461a-bbee-02f9e1bf7b46")},
			{Name: "AuthenticationProtocol", Type: table.TypeString, Value: table.Str("deviceCode")},
			{Name: "ResultType", Type: table.TypeString, Value: table.Str("0")},
			{Name: "DeviceDetail", Type: table.TypeDynamic, Value: table.Dynamic(`{"isManaged":false,"operatingSystem":"Windows10"}`)},
		},
		Entities: []pipeline.Entity{
			{Type: "account", Identifier: upn, Fields: map[string]string{"UPNSuffix": "contoso.com"}},
			{Type: "ip", Identifier: ip},
		},
		Source: pipeline.Source{EventHub: "insights-logs-signinlogs", Partition: "3", SequenceNumber: &seq, Offset: fmt.Sprint(4096 * i), EnqueuedTime: t.Add(time.Second), Index: &idx},
	}
}

// Findings returns n sample findings numbered from first.
func Findings(first, n int) []pipeline.Finding {
	fs := make([]pipeline.Finding, n)
	for i := range fs {
		fs[i] = Finding(first + i)
	}
	return fs
}

// Batch returns a batch of n sample findings from hub partition "3", with
// a range covering their sequence numbers.
func Batch(first, n int) sink.Batch {
	return sink.Batch{
		Range:    sink.Range{EventHub: "insights-logs-signinlogs", Partition: "3", FirstSequence: int64(1000 + first), LastSequence: int64(1000 + first + n - 1)},
		Findings: Findings(first, n),
	}
}
