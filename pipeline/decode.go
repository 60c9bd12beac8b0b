package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/table"
)

// Need says which tables (and which of their column ordinals) the rule set
// reads. A table with no ordinals is still produced (rows of Nulls).
type Need map[*table.Table][]int

// DecodeOptions bounds what one body may cost. Zero values take the defaults.
type DecodeOptions struct {
	// MaxBodyBytes is the largest body decoded; a larger one is a dead letter
	// "body-too-large". Default 16 MiB.
	MaxBodyBytes int
	// MaxRecords is the most records one body may hold; a body with more is a
	// dead letter "too-many-records". Default 65536 (real bodies hold tens).
	MaxRecords int
	// MaxDepth is the deepest nesting of objects and arrays accepted; a body
	// nested deeper is invalid JSON. Default 64 (sign-in records nest 5 deep).
	MaxDepth int
}

// Default limits.
const (
	DefaultMaxBodyBytes = 16 << 20
	DefaultMaxDepth     = 64
	DefaultMaxRecords   = 1 << 16
)

// Dead-letter and failure reasons the decoder produces.
const (
	ReasonBodyTooLarge   = "body-too-large"
	ReasonInvalidJSON    = "invalid-json"
	ReasonBadRecord      = "bad-record"
	ReasonNotRecords     = "not-records" // valid JSON, but a scalar instead of records
	ReasonTooManyRecords = "too-many-records"
	// ReasonTruncated is a body that ends before its array of records (or
	// the envelope) is closed, between two records: the records before the
	// cut are processed, and the whole body is kept as the dead letter.
	ReasonTruncated = "truncated"
)

// Record is one sign-in record of a body, as Decode hands it to its callback.
// Raw aliases the body (or the decoder's repaired copy of it): it is valid
// only during the callback; copy it to keep it. The string fields are the
// record's own memory and may be kept.
type Record struct {
	// Raw is the record's own JSON bytes.
	Raw []byte
	// Index is the record's position in its body (0 for a single record).
	Index int
	// Category is the record's category field ("SignInLogs", ...).
	Category string
	// RecordID is properties.id, else the hex SHA-256 of Raw.
	RecordID string
	// CorrelationID and TenantID are the top-level correlationId and tenantId.
	CorrelationID, TenantID string
	// EventTime is properties.createdDateTime, else time, else the enqueued time.
	EventTime time.Time

	enqueued time.Time
}

// DecodeResult says what became of a body's records.
type DecodeResult struct {
	// Records is the number of records the body held (good or not).
	Records int
	// PerTable counts the rows handed to the callback, by table name.
	PerTable map[string]int
	// SkippedCategories counts records of categories no table maps, by
	// category ("(none)" when the record has none).
	SkippedCategories map[string]int
	// LogAnalyticsRows counts the records (among SkippedCategories'
	// "(none)") that look like rows exported from a Log Analytics query:
	// a TimeGenerated or Type key, and no category or properties. The
	// decoder reads the diagnostic-settings shape (Event Hubs, storage
	// archive), not query results, so the caller should say so.
	LogAnalyticsRows int
	// DeadLetters are the body or records that could not be decoded; the
	// caller writes them. Their Source.Index is the record's index, or nil
	// when the whole body is dead.
	DeadLetters []DeadLetter
	// Repaired is "" or the repair applied to an invalid body before decoding
	// ("control-characters": raw control characters inside strings escaped).
	Repaired string
}

// Decoder turns event bodies into table rows. It is safe for concurrent use:
// its plan is immutable and per-call scratch space comes from a pool, so
// partition workers may share one.
type Decoder struct {
	opts    DecodeOptions
	byLA    map[*table.Table][]*plan // LA table of a category → the needed tables it feeds
	full    map[*table.Table]*plan   // every table, every column (DecodeFull)
	decoded map[*table.Table]prometheus.Counter
	pool    sync.Pool
}

// plan lists the columns to derive for one table.
type plan struct {
	t    *table.Table
	slot int // index of the table's reusable row in state.rows
	cols []colPlan
}

type colPlan struct {
	ord int
	col *table.Column
	get func(r *rec, c *table.Column) table.Value
}

// NewDecoder prepares a decoder that extracts the columns need names. It
// panics on an ordinal out of range, which is a programming error.
func NewDecoder(need Need, opts DecodeOptions) *Decoder {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = DefaultMaxRecords
	}
	d := &Decoder{
		opts:    opts,
		byLA:    map[*table.Table][]*plan{},
		full:    map[*table.Table]*plan{},
		decoded: map[*table.Table]prometheus.Counter{},
	}
	for _, t := range table.Tables() {
		all := make([]int, len(t.Columns))
		for i := range all {
			all[i] = i
		}
		d.full[t] = newPlan(t, all, 0)
		if !table.IsDefender(t) {
			d.decoded[t] = metrics.RecordsDecoded.WithLabelValues(t.Name)
		}
	}
	slot := 0
	for _, la := range table.Tables() {
		if table.IsDefender(la) {
			continue
		}
		feeds := []*table.Table{la}
		if table.IsUserSignIn(la) {
			feeds = append(feeds, table.AADSignInEventsBeta, table.EntraIdSignInEvents)
		}
		for _, t := range feeds {
			ords, ok := need[t]
			if !ok {
				continue
			}
			d.byLA[la] = append(d.byLA[la], newPlan(t, ords, slot))
			slot++
		}
	}
	d.pool.New = func() any { return &state{rows: make([]*table.Row, slot)} }
	return d
}

func newPlan(t *table.Table, ords []int, slot int) *plan {
	p := &plan{t: t, slot: slot}
	for _, o := range ords {
		if o < 0 || o >= len(t.Columns) {
			panic(fmt.Sprintf("pipeline.NewDecoder: table %s has no column ordinal %d", t.Name, o))
		}
		dv, ok := derivFor(t, t.Columns[o].Name)
		if !ok {
			panic(fmt.Sprintf("pipeline: no derivation for %s.%s", t.Name, t.Columns[o].Name))
		}
		p.cols = append(p.cols, colPlan{ord: o, col: &t.Columns[o], get: dv.get})
	}
	return p
}

// recIndex is where a record is in the body and where its fields' entries
// are in state.entries: filled by one validating pass. It is small, so that
// the index of a body stays proportional to the body.
type recIndex struct {
	s, e   int32  // the record's bytes in the body
	lo, hi int32  // its entries
	reason string // set when the record cannot be decoded
	err    string
}

// entry is one known field of a record: a top-level field (id < nTop) or a
// property (nTop + property id), and its value's span.
type entry struct {
	id int32
	sp span
}

// view is the record being turned into rows: its entries scattered into
// arrays indexed by field, one record at a time.
type view struct {
	top      [nTop]span
	props    []span // by property id; relative to the body, or to inner
	inner    buf    // properties sent as a JSON string, unescaped
	useInner bool
}

// load fills v with the entries of ri.
func (v *view) load(entries []entry, ri *recIndex) {
	v.top = [nTop]span{}
	if len(v.props) != len(propNames) {
		v.props = make([]span, len(propNames))
	} else {
		clear(v.props)
	}
	v.useInner = false
	for _, e := range entries[ri.lo:ri.hi] {
		if e.id < nTop {
			v.top[e.id] = e.sp
		} else {
			v.props[e.id-nTop] = e.sp
		}
	}
}

// state is the scratch space of one Decode call.
type state struct {
	s        scanner
	s2       scanner
	recs     []recIndex
	entries  []entry
	topRec   recIndex
	envelope bool
	tooMany  bool
	// recordsKind is what a top-level "records" key held when it was not
	// an array ("" otherwise): such a body is not records.
	recordsKind string
	// truncated is set by salvage when the body ends between records,
	// before the array (or the envelope) closes.
	truncated bool
	maxRecs   int
	view      view
	repair    []byte
	body      buf
	rows      []*table.Row
	rec       rec
	kbuf      [64]byte
	intern    interner
	record    Record
	scratch   []byte
}

// Decode splits a body into records and calls fn for each record that maps to
// a needed table, with the partially decoded row (only the needed columns
// set; the others Null). A record yields one row per needed table it feeds:
// a SignInLogs record feeds SigninLogs and the Defender views.
//
// The Record, the row and its Vals are reused between calls of fn: fn must
// not keep them (copy the values it needs; the strings in them are their own memory,
// never the body's, so a kept value never pins a body).
//
// Records of categories no table maps are counted in SkippedCategories.
// The body, or a record, that cannot be decoded becomes a dead letter in the
// result, and the other records are still processed. A body that is not
// valid JSON is repaired first when it holds raw control characters inside
// strings; an envelope or array that is still broken is then read record by
// record so that the good records survive. A field of the wrong type never
// costs the record: the value is coerced where Kusto would (a number string
// to long) or left empty, and counted in streamhunt_fields_coerced_total.
//
// Decode returns an error only when fn does, after stopping. A nil fn only
// counts.
func (d *Decoder) Decode(body []byte, src Source, fn func(rec *Record, row *table.Row) error) (DecodeResult, error) {
	var res DecodeResult
	if fn == nil {
		fn = func(*Record, *table.Row) error { return nil }
	}
	if len(body) > d.opts.MaxBodyBytes {
		d.deadBody(&res, src, body, ReasonBodyTooLarge,
			fmt.Sprintf("body of %d bytes is larger than the %d-byte limit (raise DecodeOptions.MaxBodyBytes if such bodies are real)", len(body), d.opts.MaxBodyBytes))
		return res, nil
	}
	st := d.pool.Get().(*state)
	defer d.pool.Put(st)

	b := bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	st.maxRecs = d.opts.MaxRecords
	serr := st.index(b, d.opts.MaxDepth)
	if serr != nil && !errors.Is(serr, errNotRecords) {
		var changed bool
		st.repair, changed = repairControlChars(st.repair[:0], b)
		if changed {
			res.Repaired = "control-characters"
			metrics.BodiesRepaired.WithLabelValues(res.Repaired).Inc()
			b = st.repair
			serr = st.index(b, d.opts.MaxDepth)
		}
	}
	if errors.Is(serr, errNotRecords) {
		d.deadBody(&res, src, body, ReasonNotRecords, "body: "+serr.Error())
		return res, nil
	}
	if serr != nil && !st.tooMany && !st.salvage(b, d.opts.MaxDepth) {
		d.deadBody(&res, src, body, ReasonInvalidJSON, "body: "+serr.Error())
		return res, nil
	}
	if serr != nil && st.truncated && !st.tooMany {
		d.deadBody(&res, src, body, ReasonTruncated, fmt.Sprintf("body: ends after %d records before its array of records is closed (cut off in transit or in the file?); the records before the cut were processed", len(st.recs)))
	}
	if st.tooMany {
		d.deadBody(&res, src, body, ReasonTooManyRecords,
			fmt.Sprintf("body holds more than %d records (raise DecodeOptions.MaxRecords if such bodies are real)", d.opts.MaxRecords))
		return res, nil
	}

	st.body = buf{b: b, in: &st.intern}
	r := &st.rec
	var perLA [len(laTables)]int // records by Log Analytics table, for the metric
	for idx := range st.recs {
		ri := &st.recs[idx]
		res.Records++
		raw := b[ri.s:ri.e]
		if ri.reason == "" {
			st.view.load(st.entries, ri)
			ri.reason, ri.err = st.decodeProperties(b, &st.view, d.opts.MaxDepth)
		}
		if ri.reason != "" {
			d.deadRecord(&res, src, idx, ri.reason, fmt.Sprintf("record %d: %s", idx, ri.err), raw)
			continue
		}
		*r = rec{st: st, v: &st.view, body: &st.body, enqueued: src.EnqueuedTime, count: true}
		cat := r.top(fCategory)
		la, ok := table.TableForCategory(cat.textOrEmpty())
		if !ok {
			label := categoryLabel(cat)
			queryRow := !st.view.top[fCategory].ok() && !st.view.top[fProperties].ok() && st.hasQueryColumns(raw, d.opts.MaxDepth)
			if label == "(none)" && !queryRow {
				// Every diagnostic-settings record names its category; a
				// record without one cannot be routed to a table.
				d.deadRecord(&res, src, idx, ReasonBadRecord, fmt.Sprintf("record %d: no category (want a string such as \"SignInLogs\" under \"category\")", idx), raw)
				continue
			}
			if res.SkippedCategories == nil {
				res.SkippedCategories = map[string]int{}
			}
			res.SkippedCategories[label]++
			if queryRow {
				res.LogAnalyticsRows++
			}
			continue
		}
		r.la = la
		perLA[tableIndex(la)]++
		plans := d.byLA[la]
		if len(plans) == 0 {
			continue
		}
		record := &st.record
		*record = Record{Raw: raw, Index: idx, enqueued: src.EnqueuedTime}
		r.fillRecord(record)
		for _, p := range plans {
			row := st.row(p)
			r.t = p.t
			for i := range p.cols {
				c := &p.cols[i]
				row.Vals[c.ord] = c.get(r, c.col)
			}
			if res.PerTable == nil {
				res.PerTable = make(map[string]int, 4)
			}
			res.PerTable[p.t.Name]++
			if err := fn(record, row); err != nil {
				d.count(&res, perLA[:])
				return res, fmt.Errorf("record %d (%s): %w", idx, p.t.Name, err)
			}
		}
	}
	d.count(&res, perLA[:])
	return res, nil
}

// DecodeFull decodes every column of the record as a row of t. It is meant
// for records a rule matched; the row is new and the caller's to keep.
func (d *Decoder) DecodeFull(record *Record, t *table.Table) (*table.Row, error) {
	p, ok := d.full[t]
	if !ok {
		return nil, fmt.Errorf("decode record %d: table %s is not one the decoder knows", record.Index, t.Name)
	}
	b := record.Raw
	st := d.pool.Get().(*state)
	defer d.pool.Put(st)
	st.s.reset(b, d.opts.MaxDepth)
	st.entries = st.entries[:0]
	var ri recIndex
	end := st.indexRecord(0, 1, &ri, false)
	if end < 0 {
		e := st.s.err
		return nil, fmt.Errorf("decode record %d: %w", record.Index, &e)
	}
	v := &st.view
	v.load(st.entries, &ri)
	if reason, msg := st.decodeProperties(b, v, d.opts.MaxDepth); reason != "" {
		return nil, fmt.Errorf("decode record %d: %s", record.Index, msg)
	}
	body := buf{b: b, in: &st.intern}
	r := &rec{st: st, v: v, body: &body, enqueued: record.enqueued, t: t}
	la, ok := table.TableForCategory(r.top(fCategory).textOrEmpty())
	if !ok {
		return nil, fmt.Errorf("decode record %d: category %q maps to no table", record.Index, r.top(fCategory).textOrEmpty())
	}
	if la != t && !(table.IsDefender(t) && table.IsUserSignIn(la)) {
		return nil, fmt.Errorf("decode record %d: a %s record has no %s row", record.Index, la.Name, t.Name)
	}
	r.la = la
	row := &table.Row{Table: t, Vals: make([]table.Value, len(t.Columns))}
	for i := range p.cols {
		c := &p.cols[i]
		row.Vals[c.ord] = c.get(r, c.col)
	}
	return row, nil
}

// row returns the state's reusable row for the plan's table, with the
// plan's columns about to be overwritten (the others stay Null).
func (st *state) row(p *plan) *table.Row {
	if len(st.rows) <= p.slot {
		st.rows = append(st.rows, make([]*table.Row, p.slot+1-len(st.rows))...)
	}
	row := st.rows[p.slot]
	if row == nil || row.Table != p.t {
		row = &table.Row{Table: p.t, Vals: make([]table.Value, len(p.t.Columns))}
		st.rows[p.slot] = row
	}
	return row
}

// laTables are the tables a record's category maps to.
var laTables = [...]*table.Table{
	table.SigninLogs,
	table.AADNonInteractiveUserSignInLogs,
	table.AADServicePrincipalSignInLogs,
	table.AADManagedIdentitySignInLogs,
	table.ADFSSignInLogs,
}

func tableIndex(t *table.Table) int {
	for i, x := range laTables {
		if x == t {
			return i
		}
	}
	panic("pipeline: " + t.Name + " is no category's table")
}

func (d *Decoder) count(res *DecodeResult, perLA []int) {
	for i, n := range perLA {
		if n > 0 {
			d.decoded[laTables[i]].Add(float64(n))
		}
	}
	for c, n := range res.SkippedCategories {
		metrics.RecordsSkipped.WithLabelValues(c).Add(float64(n))
	}
}

// hasQueryColumns reports whether the record has a top-level key that a
// Log Analytics query result has and a diagnostic-settings record does not:
// TimeGenerated (also "TimeGenerated [UTC]", as the portal exports it),
// Type, or tables (the query API's response).
func (st *state) hasQueryColumns(raw []byte, maxDepth int) bool {
	s := &st.s2
	s.reset(raw, maxDepth)
	i := s.ws(0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	found := false
	s.objectFields(i, 1, func(k []byte, esc bool, v int) int {
		if esc {
			k = unescapeKey(st.kbuf[:0], k)
		}
		switch {
		case string(k) == "TimeGenerated", string(k) == "Type", string(k) == "tables", bytes.HasPrefix(k, []byte("TimeGenerated [")):
			found = true
		}
		return s.value(v, 1)
	})
	return found
}

// categoryLabel is the name a skipped category is counted under: the
// category itself when it looks like one, so that hostile input cannot
// create unbounded metric labels.
func categoryLabel(v val) string {
	if !v.isString() {
		return "(none)"
	}
	c := v.text()
	if c == "" {
		return "(none)"
	}
	if len(c) > 64 {
		return "(invalid)"
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-' || ch == '.') {
			return "(invalid)"
		}
	}
	return c
}

func (d *Decoder) deadBody(res *DecodeResult, src Source, body []byte, reason, msg string) {
	metrics.DecodeFailures.WithLabelValues(reason).Inc()
	res.DeadLetters = append(res.DeadLetters, DeadLetter{
		Time: time.Now().UTC(), Reason: reason, Error: msg, Source: src, Raw: append([]byte(nil), body...),
	})
}

func (d *Decoder) deadRecord(res *DecodeResult, src Source, idx int, reason, msg string, raw []byte) {
	metrics.DecodeFailures.WithLabelValues(reason).Inc()
	i := idx
	src.Index = &i
	res.DeadLetters = append(res.DeadLetters, DeadLetter{
		Time: time.Now().UTC(), Reason: reason, Error: msg, Source: src, Raw: append([]byte(nil), raw...),
	})
}

// errNotRecords is a body whose top-level value is neither an object nor an array.
var errNotRecords = errors.New("want a record object, an array of records or {\"records\":[...]}")

// index validates body b and indexes its records in one pass.
func (st *state) index(b []byte, maxDepth int) error {
	st.recs = st.recs[:0]
	st.entries = st.entries[:0]
	st.envelope, st.tooMany, st.recordsKind = false, false, ""
	s := &st.s
	s.reset(b, maxDepth)
	i := s.ws(0)
	if i >= len(b) {
		return &syntaxError{off: i, msg: "empty body"}
	}
	var end int
	switch b[i] {
	case '{':
		st.topRec = recIndex{s: int32(i)}
		end = st.indexRecord(i, 1, &st.topRec, true)
		if end >= 0 && !st.envelope && st.recordsKind != "" {
			return fmt.Errorf("%w, got \"records\" holding %s", errNotRecords, st.recordsKind)
		}
		if end >= 0 && !st.envelope {
			st.topRec.e = int32(end)
			st.recs = append(st.recs, st.topRec)
		}
	case '[':
		end = st.indexArray(i, 1)
	default:
		if end = s.value(i, 0); end >= 0 {
			return fmt.Errorf("%w, got %s", errNotRecords, kindName(b[i]))
		}
	}
	if end < 0 {
		e := s.err
		return &e
	}
	if j := s.ws(end); j != len(b) {
		return &syntaxError{off: j, msg: "unexpected data after the top-level value"}
	}
	return nil
}

func kindName(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// addRec starts the index of the next record. Past the record limit it
// notes the body as too big and reuses the last slot, so that memory stays
// bounded while the scan finishes.
func (st *state) addRec(s int) *recIndex {
	if st.maxRecs > 0 && len(st.recs) >= st.maxRecs {
		st.tooMany = true
		st.entries = st.entries[:0]
		ri := &st.recs[len(st.recs)-1]
		*ri = recIndex{s: int32(s), e: int32(s)}
		return ri
	}
	st.recs = append(st.recs, recIndex{s: int32(s), e: int32(s)})
	return &st.recs[len(st.recs)-1]
}

// indexArray indexes the array of records at i.
func (st *state) indexArray(i, depth int) int {
	s := &st.s
	b := s.b
	if depth > s.maxDepth {
		return s.fail(i, "nesting too deep")
	}
	i = s.ws(i + 1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		ri := st.addRec(i)
		var end int
		if i < len(b) && b[i] == '{' {
			end = st.indexRecord(i, depth+1, ri, false)
		} else {
			end = s.value(i, depth)
			if end >= 0 {
				ri.reason, ri.err = ReasonBadRecord, "want a JSON object, got "+kindName(b[i])
			}
		}
		if end < 0 {
			return end
		}
		ri.e = int32(end)
		i = s.ws(end)
		if i >= len(b) {
			return s.fail(i, "unterminated array of records")
		}
		if b[i] == ']' {
			return i + 1
		}
		if b[i] != ',' {
			return s.fail(i, "want ',' or ']' between records, got "+quoteByte(b[i]))
		}
		i = s.ws(i + 1)
	}
}

// indexRecord validates the record object at i and notes where its known
// fields are. At the top of a body (top), a "records" array makes the body
// an envelope and its elements are indexed as records.
func (st *state) indexRecord(i, depth int, ri *recIndex, top bool) int {
	s := &st.s
	b := s.b
	ri.lo = int32(len(st.entries))
	defer func() { ri.hi = int32(len(st.entries)) }()
	return s.objectFields(i, depth, func(k []byte, esc bool, v int) int {
		if esc {
			k = unescapeKey(st.kbuf[:0], k)
		}
		if top && v < len(b) && b[v] == '[' && string(k) == "records" {
			st.envelope = true
			st.recs = st.recs[:0]
			return st.indexArray(v, depth)
		}
		if top && v < len(b) && string(k) == "records" {
			st.recordsKind = kindName(b[v])
		}
		id := topID(k)
		if id < 0 {
			return s.value(v, depth)
		}
		var end int
		if id == fProperties && v < len(b) && b[v] == '{' {
			end = s.objectFields(v, depth+1, func(k []byte, esc bool, pv int) int {
				pend := s.value(pv, depth+1)
				if esc {
					k = unescapeKey(st.kbuf[:0], k)
				}
				if pid := lookupProp(k); pid >= 0 && pend >= 0 {
					st.entries = append(st.entries, entry{int32(nTop + pid), span{int32(pv), int32(pend)}})
				}
				return pend
			})
		} else {
			end = s.value(v, depth)
		}
		if end >= 0 {
			st.entries = append(st.entries, entry{int32(id), span{int32(v), int32(end)}})
		}
		return end
	})
}

// decodeProperties checks the record's properties: an object is indexed
// already; a JSON string holding an object (2018 preview and Log Analytics
// export shapes) is unescaped and indexed; anything else but null makes the
// record undecodable, and it returns the reason and message.
func (st *state) decodeProperties(b []byte, v *view, maxDepth int) (reason, msg string) {
	sp := v.top[fProperties]
	if !sp.ok() {
		return "", ""
	}
	switch b[sp.s] {
	case '{', 'n':
		return "", ""
	case '"':
	default:
		return ReasonBadRecord, "properties: want an object, got " + kindName(b[sp.s])
	}
	v.inner.b = appendUnescaped(v.inner.b[:0], b[sp.s+1:sp.e-1])
	v.inner.in = &st.intern
	v.useInner = true
	in := v.inner.b
	s := &st.s2
	s.reset(in, maxDepth)
	i := s.ws(0)
	if i >= len(in) || in[i] != '{' {
		return ReasonBadRecord, "properties: a string that does not hold a JSON object"
	}
	end := s.objectFields(i, 1, func(k []byte, esc bool, pv int) int {
		pend := s.value(pv, 1)
		if esc {
			k = unescapeKey(st.kbuf[:0], k)
		}
		if pid := lookupProp(k); pid >= 0 && pend >= 0 {
			v.props[pid] = span{int32(pv), int32(pend)}
		}
		return pend
	})
	if end < 0 {
		return ReasonBadRecord, "properties: a JSON string whose content is not valid JSON: " + s.err.Error()
	}
	if s.ws(end) != len(in) {
		return ReasonBadRecord, "properties: a JSON string with data after its object"
	}
	return "", ""
}

// salvage reads a broken envelope or array record by record: each record
// that is valid JSON by itself survives; the broken stretches become
// dead-letter records. It reports false when b holds no array of records
// to read this way. Resynchronising is bounded to a few passes over b.
func (st *state) salvage(b []byte, maxDepth int) bool {
	st.recs = st.recs[:0]
	st.entries = st.entries[:0]
	st.truncated = false
	s := &st.s
	s.reset(b, maxDepth)
	i := s.ws(0)
	arr := -1
	switch {
	case i < len(b) && b[i] == '[':
		arr = i
	case i < len(b) && b[i] == '{':
		s.objectFields(i, 1, func(k []byte, esc bool, v int) int {
			if string(k) == "records" && v < len(b) && b[v] == '[' {
				arr = v
				return -1
			}
			return s.value(v, 1)
		})
	}
	if arr < 0 {
		return false
	}
	isEnvelope := b[s.ws(0)] == '{'
	// closed checks what follows the array's "]" at k: an envelope must
	// still close its object.
	closed := func(k int) bool {
		if isEnvelope && s.ws(k+1) >= len(b) {
			st.truncated = true
		}
		return true
	}
	budget := 4*len(b) + 1<<16
	i = s.ws(arr + 1)
	for i < len(b) && b[i] != ']' {
		start := i
		s.reset(b, maxDepth)
		ri := st.addRec(start)
		var end int
		if b[start] == '{' {
			end = st.indexRecord(start, 2, ri, false)
		} else {
			end = s.value(start, 2)
			if end >= 0 {
				ri.reason, ri.err = ReasonBadRecord, "want a JSON object, got "+kindName(b[start])
			}
		}
		if end >= 0 {
			ri.e = int32(end)
			j := s.ws(end)
			budget -= end - start
			switch {
			case j >= len(b):
				st.truncated = true
				return true
			case b[j] == ']':
				return closed(j)
			case b[j] == ',':
				i = s.ws(j + 1)
				continue
			}
			s.fail(j, "want ',' or ']' between records, got "+quoteByte(b[j]))
		} else {
			budget -= s.err.off - start
		}
		msg := fmt.Sprintf("invalid JSON at byte %d of the record: %s", s.err.off-start, s.err.msg)
		comma, next := st.resync(b, start, maxDepth, &budget)
		ri.reason, ri.err = ReasonInvalidJSON, msg
		if next < 0 {
			ri.e = int32(start + len(trimArrayEnd(b[start:], isEnvelope)))
			return true
		}
		ri.e = int32(start + len(bytes.TrimRight(b[start:comma], " \t\r\n")))
		i = next
	}
	if i >= len(b) {
		st.truncated = true // cut after a ","
		return true
	}
	return closed(i)
}

// trimArrayEnd cuts the closing "]" (and "}" of an envelope) off the
// last, broken, record of an array, so that its dead letter holds the
// record; a closer is cut only when the record has one too many of it (a
// truncated body keeps every byte).
func trimArrayEnd(b []byte, envelope bool) []byte {
	b = bytes.TrimRight(b, " \t\r\n")
	if envelope {
		t, ok := bytes.CutSuffix(b, []byte("}"))
		if !ok || excess(b, '{', '}') <= 0 {
			return b
		}
		b = bytes.TrimRight(t, " \t\r\n")
	}
	if t, ok := bytes.CutSuffix(b, []byte("]")); ok && excess(b, '[', ']') > 0 {
		b = bytes.TrimRight(t, " \t\r\n")
	}
	return b
}

// excess counts the closers minus the openers outside strings.
func excess(b []byte, open, close byte) int {
	n, in := 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && c == open:
			n--
		case !in && c == close:
			n++
		}
	}
	return n
}

// resync finds the next record after a broken one: a ',' followed by an
// object that is valid JSON, looks like a record (has time, category or
// properties) and is followed by ',' or ']' or the end. It returns the
// comma's and the object's positions, or -1 when there is none or the
// budget is spent.
func (st *state) resync(b []byte, from, maxDepth int, budget *int) (int, int) {
	s := &st.s2
	var probe recIndex
	mark := len(st.entries)
	defer func() { st.entries = st.entries[:mark] }()
	for from < len(b) && *budget > 0 {
		c := bytes.IndexByte(b[from:], ',')
		if c < 0 {
			return -1, -1
		}
		comma := from + c
		from = comma + 1
		s.reset(b, maxDepth)
		k := s.ws(from)
		if k >= len(b) || b[k] != '{' {
			continue
		}
		// Scan with the primary scanner's rules but without touching the
		// records being built.
		save := st.s
		st.s = *s
		st.entries = st.entries[:mark]
		probe = recIndex{s: int32(k)}
		end := st.indexRecord(k, 2, &probe, false)
		*s, st.s = st.s, save
		if end < 0 {
			*budget -= s.err.off - k + 1
			continue
		}
		*budget -= end - k
		if !st.hasRecordField(&probe) {
			continue
		}
		if j := s.ws(end); j >= len(b) || b[j] == ',' || b[j] == ']' {
			return comma, k
		}
	}
	return -1, -1
}

// hasRecordField reports whether an indexed object has time, category or
// properties, the fields that make it look like a record.
func (st *state) hasRecordField(ri *recIndex) bool {
	for _, e := range st.entries[ri.lo:ri.hi] {
		if e.id == fTime || e.id == fCategory || e.id == fProperties {
			return true
		}
	}
	return false
}

// ---- values ----

// buf is a buffer of JSON text and the interner its string values go
// through.
type buf struct {
	b  []byte
	in *interner
}

// interner turns short byte strings into strings without allocating again
// for values that repeat (protocols, app names, tenant ids, "0"). It belongs
// to one state, so to one goroutine at a time, and is bounded.
type interner struct{ m map[string]string }

const (
	internMaxLen     = 64
	internMaxEntries = 4096
)

func (in *interner) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > internMaxLen || in == nil {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	if in.m == nil || len(in.m) >= internMaxEntries {
		in.m = make(map[string]string, 256)
	}
	s := string(b)
	in.m[s] = s
	return s
}

// val is one JSON value of a record (the zero val is absent).
type val struct {
	bf *buf
	sp span
}

func (v val) first() byte {
	if !v.sp.ok() {
		return 0
	}
	return v.bf.b[v.sp.s]
}

// present is true for a value that is there and not null.
func (v val) present() bool  { c := v.first(); return c != 0 && c != 'n' }
func (v val) isString() bool { return v.first() == '"' }
func (v val) isTrue() bool   { return v.first() == 't' }
func (v val) isNumber() bool {
	c := v.first()
	return c == '-' || (c >= '0' && c <= '9')
}
func (v val) raw() []byte { return v.bf.b[v.sp.s:v.sp.e] }

// get returns member key of an object value.
func (v val) get(key string) val {
	if v.first() != '{' {
		return val{}
	}
	return val{v.bf, lookup(v.bf.b, v.sp, key)}
}

// text returns a string's content, or the compact JSON text of any other
// value.
func (v val) text() string {
	if !v.sp.ok() {
		return ""
	}
	raw := v.raw()
	if raw[0] == '"' {
		in := raw[1 : len(raw)-1]
		if bytes.IndexByte(in, '\\') < 0 {
			return v.bf.in.str(in)
		}
		return string(appendUnescaped(nil, in))
	}
	return v.json()
}

// textOrEmpty is text for strings and "" for anything else.
func (v val) textOrEmpty() string {
	if !v.isString() {
		return ""
	}
	return v.text()
}

// json returns the value's compact JSON text.
func (v val) json() string {
	raw := v.raw()
	if isCompact(raw) {
		return v.bf.in.str(raw)
	}
	return string(appendCompact(nil, raw))
}

// int returns an integer from a JSON number or a string holding one
// (fractions truncated toward zero).
func (v val) int() (int64, bool) {
	n, _, ok := v.intTrunc()
	return n, ok
}

func (v val) intTrunc() (n int64, truncated, ok bool) {
	var t []byte
	switch {
	case v.isNumber():
		t = v.raw()
	case v.isString():
		t = bytes.TrimSpace(v.raw()[1 : v.sp.e-v.sp.s-1])
	default:
		return 0, false, false
	}
	if n, err := strconv.ParseInt(string(t), 10, 64); err == nil {
		return n, false, true
	}
	f, err := strconv.ParseFloat(string(t), 64)
	if err != nil || f != f || f >= 9.2e18 || f <= -9.2e18 {
		return 0, false, false
	}
	return int64(f), float64(int64(f)) != f, true
}

// rec is a record being turned into rows.
type rec struct {
	st       *state
	v        *view
	body     *buf
	la, t    *table.Table
	enqueued time.Time
	count    bool // count fallbacks and coercions (not again in DecodeFull)

	timesDone    bool
	tgen, tevent table.Value
}

func (r *rec) top(id int) val { return val{r.body, r.v.top[id]} }

func (r *rec) prop(id int) val {
	if r.v.useInner {
		return val{&r.v.inner, r.v.props[id]}
	}
	return val{r.body, r.v.props[id]}
}

// conv converts a value to the column's type (see column-mapping.md §0):
// strings are copied (numbers as decimal text, objects and arrays as compact
// JSON text, null or missing as ""); dynamic keeps the compact JSON; long and
// int take numbers or number strings (fractions truncated and counted);
// bool takes true/false or their text; datetime parses the time forms of
// parseTime. A value of another type leaves the column empty and is counted.
func (r *rec) conv(v val, c *table.Column) table.Value {
	switch c.Type {
	case table.TypeString, table.TypeGUID:
		if !v.present() {
			return table.Str("")
		}
		return table.Str(v.text())
	case table.TypeDynamic:
		if !v.present() {
			return table.Null
		}
		return table.Dynamic(v.json())
	case table.TypeLong, table.TypeInt:
		if !v.present() {
			return table.Null
		}
		n, trunc, ok := v.intTrunc()
		if !ok {
			r.coerced(c, "emptied")
			return table.Null
		}
		if trunc {
			r.coerced(c, "truncated")
		}
		if c.Type == table.TypeInt {
			return table.Int(n)
		}
		return table.Long(n)
	case table.TypeReal:
		if !v.present() {
			return table.Null
		}
		var t []byte
		if v.isNumber() {
			t = v.raw()
		} else if v.isString() {
			t = bytes.TrimSpace(v.raw()[1 : v.sp.e-v.sp.s-1])
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			r.coerced(c, "emptied")
			return table.Null
		}
		return table.Real(f)
	case table.TypeBool:
		switch v.first() {
		case 0, 'n':
			return table.Null
		case 't':
			return table.Bool(true)
		case 'f':
			return table.Bool(false)
		case '"':
			switch t := v.text(); {
			case t == "true" || t == "True" || t == "TRUE":
				return table.Bool(true)
			case t == "false" || t == "False" || t == "FALSE":
				return table.Bool(false)
			}
		}
		r.coerced(c, "emptied")
		return table.Null
	case table.TypeDateTime:
		if !v.present() {
			return table.Null
		}
		if ns, ok := v.time(); ok {
			return table.DateTimeNanos(ns)
		}
		r.coerced(c, "emptied")
		return table.Null
	}
	return table.Null
}

func (v val) time() (int64, bool) {
	if !v.isString() {
		return 0, false
	}
	raw := v.raw()
	in := raw[1 : len(raw)-1]
	if bytes.IndexByte(in, '\\') >= 0 {
		in = appendUnescaped(nil, in)
	}
	return parseTime(bytes.TrimSpace(in))
}

func (r *rec) coerced(c *table.Column, outcome string) {
	if r.count {
		metrics.FieldsCoerced.WithLabelValues(c.Name, outcome).Inc()
	}
}

// times works out TimeGenerated (time, else createdDateTime, else enqueued)
// and the event time (createdDateTime, else time, else enqueued) once per
// record, counting the TimeGenerated fallback.
func (r *rec) times() {
	if r.timesDone {
		return
	}
	r.timesDone = true
	tv, tok := r.top(fTime).time()
	cv, cok := r.prop(pCreatedDateTime).time()
	enq := table.Null
	if !r.enqueued.IsZero() {
		enq = table.DateTimeNanos(r.enqueued.UnixNano() / 100 * 100)
	}
	switch {
	case tok:
		r.tgen = table.DateTimeNanos(tv)
	case cok:
		r.tgen = table.DateTimeNanos(cv)
		r.fallback("createdDateTime")
	default:
		r.tgen = enq
		if enq.K == table.KindNull {
			r.fallback("none")
		} else {
			r.fallback("enqueuedTime")
		}
	}
	switch {
	case cok:
		r.tevent = table.DateTimeNanos(cv)
	case tok:
		r.tevent = table.DateTimeNanos(tv)
	default:
		r.tevent = enq
	}
}

func (r *rec) fallback(reason string) {
	if r.count {
		metrics.TimeFallbacks.WithLabelValues(reason).Inc()
	}
}

func (r *rec) timeGenerated() table.Value { r.times(); return r.tgen }
func (r *rec) eventTime() table.Value     { r.times(); return r.tevent }

// fillRecord sets the Record's identity fields; they are the record's own
// memory (tenant and correlation ids through the interner, as they repeat).
func (r *rec) fillRecord(out *Record) {
	cat := r.top(fCategory).textOrEmpty()
	out.Category = cat
	if id := r.prop(pID); id.isString() && id.sp.e-id.sp.s > 2 {
		r.st.scratch = appendUnescaped(r.st.scratch[:0], id.raw()[1:id.sp.e-id.sp.s-1])
		out.RecordID = string(r.st.scratch)
	} else {
		sum := sha256.Sum256(out.Raw)
		out.RecordID = hex.EncodeToString(sum[:])
	}
	out.CorrelationID = r.top(fCorrelationID).textOrEmpty()
	out.TenantID = r.top(fTenantID).textOrEmpty()
	r.times()
	if r.tevent.K == table.KindDateTime {
		out.EventTime = time.Unix(0, r.tevent.I).UTC()
	}
}
