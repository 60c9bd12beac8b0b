package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/streamhunt/streamhunt/internal/kql"
	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/rules"
)

// Event is one body to process, as one Event Hubs message (or one body of a
// replayed file) carries it.
type Event struct {
	Body   []byte
	Source Source
}

// Result is what one body produced.
type Result struct {
	Findings    []Finding
	DeadLetters []DeadLetter
	// Records is the number of records in the body; PerTable counts rows
	// decoded per table; SkippedCategories counts records of categories no
	// table maps, by category name.
	Records           int
	PerTable          map[string]int
	SkippedCategories map[string]int
	// Repaired names the repair applied to an invalid body ("" if none).
	Repaired string
	// LogAnalyticsRows counts records shaped like rows of a Log Analytics
	// query export (see DecodeResult.LogAnalyticsRows).
	LogAnalyticsRows int
}

// Options configure a Pipeline.
type Options struct {
	// Now is the clock of ago()/now() and of findings' detectedTime (default time.Now).
	Now func() time.Time
	// MaxBodyBytes bounds one body (default 16 MiB); a larger one is a dead letter.
	MaxBodyBytes int
}

// CompileError is a rule that does not compile, with the place in its file.
type CompileError struct {
	RuleID string
	File   string
	Line   int
	Column int
	Msg    string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("%s:%d:%d: rule %s: %s", e.File, e.Line, e.Column, e.RuleID, e.Msg)
}

// CompileErrors is every rule that failed to compile.
type CompileErrors []*CompileError

func (es CompileErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Rule is a compiled rule: one program per table it reads (a rule that
// starts with union SigninLogs, AADNonInteractiveUserSignInLogs has two,
// both under the rule's id).
type Rule struct {
	rules.Rule
	progs   []*kql.Program
	version string
}

// Program returns the compiled program of the first table the rule reads.
func (r *Rule) Program() *kql.Program { return r.progs[0] }

// Programs returns the compiled programs, one per table the rule reads, in
// the order of the query's union (one for a rule without union).
func (r *Rule) Programs() []*kql.Program { return slices.Clone(r.progs) }

// Tables returns the names of the tables the rule reads, in the order of
// Programs, each once.
func (r *Rule) Tables() []string {
	var names []string
	for _, p := range r.progs {
		if !slices.Contains(names, p.Table().Name) {
			names = append(names, p.Table().Name)
		}
	}
	return names
}

// tableRule is a rule's programs over one table (several when a union reads
// the table more than once).
type tableRule struct {
	rule  *Rule
	progs []*kql.Program
}

// Pipeline decodes bodies and runs the compiled rules on every record. It is
// safe for concurrent use by several partition workers.
type Pipeline struct {
	rules   []*Rule
	byTable map[*table.Table][]tableRule
	dec     *Decoder
	now     func() time.Time
}

// New compiles the rules against the sign-in tables. Every rule that fails
// is reported, with file:line:column, in a CompileErrors.
func New(rs []rules.Rule, opts Options) (*Pipeline, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	p := &Pipeline{byTable: map[*table.Table][]tableRule{}, now: now}
	var errs CompileErrors
	need := Need{}
	for _, r := range rs {
		q, err := kql.Parse(r.Query)
		if err == nil {
			var progs []*kql.Program
			progs, err = kql.CompileAll(q, catalog{}, kql.Options{Now: now})
			if err == nil {
				cr := &Rule{Rule: r, progs: progs, version: r.Version()}
				p.rules = append(p.rules, cr)
				for _, prog := range progs {
					t := prog.Table()
					trs := p.byTable[t]
					if n := len(trs); n > 0 && trs[n-1].rule == cr {
						trs[n-1].progs = append(trs[n-1].progs, prog)
					} else {
						p.byTable[t] = append(trs, tableRule{rule: cr, progs: []*kql.Program{prog}})
					}
					need[t] = mergeCols(need[t], prog.Columns())
				}
				continue
			}
		}
		errs = append(errs, compileError(r, err))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	// Every Log Analytics table is produced, if only as a row of Nulls, so
	// that records of tables no rule reads are still counted per table.
	for _, t := range table.Tables() {
		if _, ok := need[t]; !ok && !table.IsDefender(t) {
			need[t] = nil
		}
	}
	p.dec = NewDecoder(need, DecodeOptions{MaxBodyBytes: opts.MaxBodyBytes})
	return p, nil
}

func compileError(r rules.Rule, err error) *CompileError {
	ce := &CompileError{RuleID: r.ID, File: r.File, Line: r.Line, Column: 1, Msg: err.Error()}
	var ke *kql.Error
	if errors.As(err, &ke) {
		// The file position: a query in a YAML block is indented there.
		ce.Line, ce.Column = r.Position(ke.Line, ke.Column)
		ce.Msg = ke.Msg
	}
	return ce
}

func mergeCols(a, b []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, c := range append(append([]int(nil), a...), b...) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Ints(out)
	return out
}

// Rules returns the compiled rules in load order.
func (p *Pipeline) Rules() []*Rule { return p.rules }

// Process decodes one body and evaluates every rule on every record.
// Records that cannot be decoded become dead letters; the others are still
// processed.
func (p *Pipeline) Process(ev Event) Result {
	var res Result
	detected := p.now()
	dr, err := p.dec.Decode(ev.Body, ev.Source, func(rec *Record, row *table.Row) error {
		for _, tr := range p.byTable[row.Table] {
			cr := tr.rule
			// The row index counts the rule's output rows for this record
			// across its programs over the table, so that a union reading
			// the table twice gives distinct finding ids.
			rowIndex := 0
			for _, prog := range tr.progs {
				ok, err := prog.Match(row)
				if err != nil {
					metrics.RuleErrors.WithLabelValues(cr.ID).Inc()
					continue
				}
				if !ok {
					continue
				}
				full, err := p.dec.DecodeFull(rec, row.Table)
				if err != nil {
					metrics.RuleErrors.WithLabelValues(cr.ID).Inc()
					continue
				}
				outs, err := prog.Run(full)
				if err != nil {
					metrics.RuleErrors.WithLabelValues(cr.ID).Inc()
					continue
				}
				for _, o := range outs {
					res.Findings = append(res.Findings, cr.finding(rec, row.Table, o, rowIndex, ev.Source, detected))
					metrics.Findings.WithLabelValues(cr.ID).Inc()
					rowIndex++
				}
			}
		}
		return nil
	})
	res.Records = dr.Records
	res.PerTable = dr.PerTable
	res.SkippedCategories = dr.SkippedCategories
	res.DeadLetters = dr.DeadLetters
	res.Repaired = dr.Repaired
	res.LogAnalyticsRows = dr.LogAnalyticsRows
	if err != nil && len(res.DeadLetters) == 0 {
		res.DeadLetters = append(res.DeadLetters, DeadLetter{Time: detected, Reason: "decode-error", Error: err.Error(), Source: ev.Source, Raw: ev.Body})
	}
	return res
}

func (cr *Rule) finding(rec *Record, t *table.Table, o kql.Output, rowIndex int, src Source, detected time.Time) Finding {
	cols := make(Columns, len(o.Columns))
	for i, c := range o.Columns {
		cols[i] = Column{Name: c.Name, Type: c.Type, Value: c.Value}
	}
	idx := rec.Index
	src.Index = &idx
	tactics, techniques := cr.Tactics, cr.Techniques
	if tactics == nil {
		tactics = []string{}
	}
	if techniques == nil {
		techniques = []string{}
	}
	return Finding{
		SchemaVersion: SchemaVersion,
		FindingID:     FindingID(cr.ID, t.Name, rec.RecordID, rowIndex),
		RuleID:        cr.ID,
		RuleName:      cr.Name,
		RuleVersion:   cr.version,
		Severity:      cr.Severity,
		Tactics:       tactics,
		Techniques:    techniques,
		Table:         t.Name,
		RecordID:      rec.RecordID,
		CorrelationID: rec.CorrelationID,
		TenantID:      rec.TenantID,
		EventTime:     rec.EventTime,
		DetectedTime:  detected,
		Columns:       cols,
		Entities:      cr.entities(cols),
		Source:        src,
		RowIndex:      rowIndex,
	}
}

// defaultEntities are used when a rule maps none: the usual sign-in columns.
var defaultEntities = []rules.EntityMapping{
	{EntityType: "Account", Identifier: "FullName", Column: "UserPrincipalName"},
	{EntityType: "Account", Identifier: "FullName", Column: "AccountUpn"},
	{EntityType: "IP", Identifier: "Address", Column: "IPAddress"},
	{EntityType: "CloudApplication", Identifier: "AppId", Column: "AppId"},
	{EntityType: "CloudApplication", Identifier: "AppId", Column: "ApplicationId"},
}

func (cr *Rule) entities(cols Columns) []Entity {
	maps := cr.Entities
	if len(maps) == 0 {
		maps = defaultEntities
	}
	out := []Entity{}
	for _, m := range maps {
		v, ok := cols.Get(m.Column)
		if !ok {
			continue
		}
		s := v.S
		if v.K != table.KindString || s == "" {
			continue
		}
		out = append(out, Entity{Type: m.EntityType, Identifier: s, Fields: map[string]string{m.Identifier: s}})
	}
	return out
}

// catalog resolves table names for the KQL compiler.
type catalog struct{}

func (catalog) Table(name string) (*table.Table, bool) { return table.Lookup(name) }

// Tables lets the compiler suggest a table for a misspelt name
// (SignInLogs: did you mean SigninLogs?).
func (catalog) Tables() []string {
	var names []string
	for _, t := range table.Tables() {
		names = append(names, t.Name)
	}
	return names
}

// ValidOrRepairable reports whether b is one JSON value, or would be after
// the repair the decoder applies to Azure's invalid bodies (raw control
// characters inside strings). Replay uses it to decide whether a whole file
// is one body.
func ValidOrRepairable(b []byte) bool {
	if json.Valid(b) {
		return true
	}
	fixed, changed := repairControlChars(make([]byte, 0, len(b)+64), b)
	return changed && json.Valid(fixed)
}
