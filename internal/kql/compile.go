package kql

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/internal/textdist"
)

// Catalog resolves table names (case-sensitive, as Kusto) to schemas.
type Catalog interface {
	Table(name string) (*table.Table, bool)
}

// Options configures compilation.
type Options struct {
	// Now is the clock for now() and ago(); nil means time.Now. It is read
	// at most once per evaluated row.
	Now func() time.Time
}

// Program is a compiled per-record rule: a pipeline of stages over one
// table's columns.
type Program struct {
	tbl      *table.Table
	cols     []int
	filter   []stage // the stages Match runs
	stages   []stage // every stage, for Run
	out      []colRef
	nExt     int
	warnings []string
	now      func() time.Time
	frames   sync.Pool
}

// OutputColumn is one column of an output row.
type OutputColumn struct {
	Name  string
	Type  table.Type
	Value table.Value
}

// Output is one output row, its columns in the query's output order.
type Output struct {
	Columns []OutputColumn
}

// evalFn evaluates an expression for the row in a frame.
type evalFn func(f *frame) table.Value

// frame is the per-row evaluation state: the row and the computed columns.
type frame struct {
	row    *table.Row
	ext    []table.Value
	nowSet bool
	nowNs  int64
	clock  func() time.Time
}

func (f *frame) now() int64 {
	if !f.nowSet {
		f.nowNs = f.clock().UnixNano()
		f.nowSet = true
	}
	return f.nowNs
}

// stage is a where predicate or a set of computed columns.
type stage struct {
	pred    evalFn
	assigns []slotAssign
	expand  *expandStage
}

type slotAssign struct {
	slot int
	fn   evalFn
	deps deps
}

// colRef is a column of the current schema: a source column or a computed slot.
type colRef struct {
	name string
	typ  table.Type
	src  int // source ordinal, or -1
	slot int // computed slot when src < 0
	// known lists the only values the stream derives for the column (the
	// schema's Known, kept by copies and renames of the column); knownFrom
	// is the source column's name. See (*compiler).knownUse.
	known     []string
	knownFrom string
}

// deps records which source columns and computed slots an expression reads.
type deps struct {
	src   []int
	slots []int
}

func (d *deps) add(o deps) {
	d.src = append(d.src, o.src...)
	d.slots = append(d.slots, o.slots...)
}

// Table returns the source table the query reads.
func (p *Program) Table() *table.Table { return p.tbl }

// Columns returns the ordinals of the source columns the filter part reads,
// so that a decoder can extract only those before calling Match.
func (p *Program) Columns() []int { return p.cols }

// Warnings returns what the compiler accepted but ignored or approximated
// (take, limit, sort, order, render, as, serialize; ingestion_time(), which
// is the evaluation time on a stream), one "line:column: message" each, in
// query order; nil when there is none. The slice is a copy.
func (p *Program) Warnings() []string { return slices.Clone(p.warnings) }

func (p *Program) getFrame(row *table.Row) *frame {
	f, _ := p.frames.Get().(*frame)
	if f == nil {
		f = &frame{ext: make([]table.Value, p.nExt), clock: p.now}
	}
	f.row = row
	f.nowSet = false
	return f
}

func (p *Program) putFrame(f *frame) {
	f.row = nil
	clear(f.ext)
	p.frames.Put(f)
}

func (p *Program) checkRow(row *table.Row) error {
	if row == nil || len(row.Vals) < len(p.tbl.Columns) {
		return fmt.Errorf("kql: row has fewer values than table %s has columns: decode rows with the program's table", p.tbl.Name)
	}
	if row.Table != nil && row.Table != p.tbl && row.Table.Name != p.tbl.Name {
		return fmt.Errorf("kql: the rule reads %s but the row is a %s row: give each program rows of Program.Table()", p.tbl.Name, row.Table.Name)
	}
	return nil
}

// Match runs the row through the pipeline's filter until it is dropped or
// reaches the end. It reads only Columns() and allocates nothing in the
// common case.
func (p *Program) Match(row *table.Row) (bool, error) {
	if err := p.checkRow(row); err != nil {
		return false, err
	}
	f := p.getFrame(row)
	ok := runStages(p.filter, f)
	p.putFrame(f)
	return ok, nil
}

func runStages(stages []stage, f *frame) bool { return runFrom(stages, 0, f, nil) }

// runFrom runs stages[i:] on the frame. With a nil leaf it reports whether
// some row reached the end; otherwise it calls leaf for every row that
// does and stops early only when leaf returns true.
func runFrom(stages []stage, i int, f *frame, leaf func(*frame) bool) bool {
	for ; i < len(stages); i++ {
		s := &stages[i]
		switch {
		case s.pred != nil:
			if !truthy(s.pred(f)) {
				return false
			}
		case s.expand != nil:
			return s.expand.run(stages, i, f, leaf)
		default:
			for j := range s.assigns {
				a := &s.assigns[j]
				f.ext[a.slot] = a.fn(f)
			}
		}
	}
	if leaf == nil {
		return true
	}
	return leaf(f)
}

// truthy reports whether where keeps a row for this predicate value; null
// and non-booleans drop it.
func truthy(v table.Value) bool {
	switch v.K {
	case table.KindBool:
		return v.I != 0
	case table.KindDynamic:
		return v.S == "true"
	}
	return false
}

// Run evaluates the whole pipeline on a fully decoded row and returns its
// output rows (none when the row is dropped).
func (p *Program) Run(row *table.Row) ([]Output, error) {
	if err := p.checkRow(row); err != nil {
		return nil, err
	}
	f := p.getFrame(row)
	defer p.putFrame(f)
	var outs []Output
	runFrom(p.stages, 0, f, func(f *frame) bool {
		outs = append(outs, p.output(f))
		return false
	})
	return outs, nil
}

// output builds the output row of the frame's current values.
func (p *Program) output(f *frame) Output {
	out := Output{Columns: make([]OutputColumn, len(p.out))}
	for i, c := range p.out {
		var v table.Value
		if c.src >= 0 {
			v = f.row.Vals[c.src]
		} else {
			v = f.ext[c.slot]
		}
		if v.K == table.KindNull && (c.typ == table.TypeString || c.typ == table.TypeGUID) {
			v = table.Str("")
		}
		if v.K == table.KindDynamic {
			v = compactDynamic(v)
		}
		out.Columns[i] = OutputColumn{Name: c.name, Type: c.typ, Value: v}
	}
	return out
}

// compiler holds the state of one Compile call.
type compiler struct {
	q         *Query
	cat       Catalog
	tbl       *table.Table
	schema    []colRef
	lets      map[string]*letState
	prog      *Program
	slotDeps  []deps
	cur       deps // dependencies of the expression being compiled
	whereDeps []whereDep
	autoN     int
	depth     int // let-function inlining depth
	// grant is the one expression node (a column name, or a
	// column_ifexists call) that may read a column with Known values: the
	// whole operand of a comparison or a whole output column. argOf names
	// the function whose argument argIdent is, for error messages.
	grant    Expr
	argIdent Expr
	argOf    string
	// inFunc is set while a scalar let function's body is compiled.
	inFunc bool
}

type whereDep struct {
	stage int
	d     deps
}

type letState struct {
	let       *Let
	scope     map[string]*letState // where the value is resolved, when not the current scope
	compiled  *cexpr
	compiling bool
}

type cbail struct{ err *Error }

func (c *compiler) fail(at Pos, format string, args ...any) {
	panic(cbail{errAt(at, format, args...)})
}

// Compile type-checks the query against the catalog and builds a program.
// Type errors are *Error with the position of the offending expression.
func Compile(q *Query, cat Catalog, opts Options) (*Program, error) {
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	return compileLeg(q, cat, opts, q.Body, nil, "")
}

func checkQuery(q *Query) error {
	if q == nil {
		return &Error{Line: 1, Column: 1, Msg: "empty query"}
	}
	if q.Body == nil {
		return errAt(q.End, "the query has no tabular expression: start it with a table name, for example SigninLogs | where ...")
	}
	return nil
}

// CompileAll compiles a query that may read several tables through union
// (union SigninLogs, AADNonInteractiveUserSignInLogs | where ...) into one
// program per table: each leg followed by the operators after the union,
// compiled against that leg's own columns. A query without union gives one
// program, as Compile does. union's withsource=Name adds a string column
// Name holding the leg's table name.
func CompileAll(q *Query, cat Catalog, opts Options) ([]*Program, error) {
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	legs, ops, u := unionLegs(q.Body)
	if legs == nil {
		p, err := compileLeg(q, cat, opts, q.Body, nil, "")
		if err != nil {
			return nil, err
		}
		return []*Program{p}, nil
	}
	source, err := unionOptions(u)
	if err != nil {
		return nil, err
	}
	progs := make([]*Program, 0, len(legs))
	for _, leg := range legs {
		p, err := compileLeg(q, cat, opts, leg, ops, source)
		if err != nil {
			return nil, err
		}
		progs = append(progs, p)
	}
	return progs, nil
}

// unionLegs splits a body that starts with (or pipes into) union into its
// legs and the operators that follow; legs is nil when there is no union.
func unionLegs(body Expr) (legs []Expr, ops []Operator, u *Union) {
	switch x := body.(type) {
	case *Paren:
		return unionLegs(x.X)
	case *Union:
		return flattenLegs(x.Tables), nil, x
	case *Pipeline:
		if u, ok := unparen(x.Source).(*Union); ok {
			return flattenLegs(u.Tables), x.Ops, u
		}
		for i, op := range x.Ops {
			if op.Name == "union" && op.Union != nil {
				first := &Pipeline{Pos: x.Pos, Source: x.Source, Ops: x.Ops[:i]}
				return append([]Expr{first}, flattenLegs(op.Union.Tables)...), x.Ops[i+1:], op.Union
			}
		}
	}
	return nil, nil, nil
}

// unionOptions checks union's options and returns withsource's column
// name ("" without it). Each leg runs as its own program over its own
// table's columns, which is union's default kind=outer for one record at a
// time; isfuzzy (every sign-in table exists) and hint.* change nothing.
// kind=inner, which keeps only the columns common to every leg, is refused.
func unionOptions(u *Union) (string, error) {
	source := ""
	for _, o := range u.Options {
		val := ""
		switch v := o.Value.(type) {
		case *Ident:
			val = v.Name
		case *Literal:
			val = v.Text
		}
		switch {
		case o.Name == "withsource":
			id, ok := o.Value.(*Ident)
			if !ok {
				return "", errAt(u.Pos, "union withsource= needs a column name")
			}
			source = id.Name
		case o.Name == "isfuzzy", strings.HasPrefix(o.Name, "hint"):
		case o.Name == "kind" && val == "outer":
		case o.Name == "kind":
			return "", errAt(u.Pos, "unsupported in per-record rules: union kind=%s (a rule runs each table's rows through its own columns, as kind=outer does; drop kind=%s and project the columns wanted)", val, val)
		default:
			return "", errAt(u.Pos, "unsupported in per-record rules: union option %s", o.Name)
		}
	}
	return source, nil
}

func unparen(e Expr) Expr {
	for {
		p, ok := e.(*Paren)
		if !ok {
			return e
		}
		e = p.X
	}
}

func flattenLegs(tables []Expr) []Expr {
	var out []Expr
	for _, t := range tables {
		if u, ok := unparen(t).(*Union); ok {
			out = append(out, flattenLegs(u.Tables)...)
			continue
		}
		out = append(out, t)
	}
	return out
}

// compileLeg compiles one tabular expression, then ops, into a program.
func compileLeg(q *Query, cat Catalog, opts Options, body Expr, ops []Operator, source string) (prog *Program, err error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	c := &compiler{q: q, cat: cat, lets: map[string]*letState{}, prog: &Program{now: now}}
	for _, l := range q.Lets {
		c.lets[l.Name] = &letState{let: l}
	}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(cbail)
			if !ok {
				panic(r)
			}
			prog, err = nil, b.err
		}
	}()
	c.tabular(body)
	if source != "" {
		name := table.Str(c.tbl.Name)
		slot := c.newSlot(deps{})
		c.prog.stages = append(c.prog.stages, stage{assigns: []slotAssign{{slot: slot, fn: func(*frame) table.Value { return name }}}})
		ref := colRef{name: source, typ: table.TypeString, src: -1, slot: slot}
		if i := c.find(source); i >= 0 {
			c.schema[i] = ref
		} else {
			c.schema = append([]colRef{ref}, c.schema...)
		}
	}
	for i := range ops {
		c.operator(&ops[i])
	}
	c.finish()
	return c.prog, nil
}

// tabular compiles a tabular expression into stages appended to the program.
func (c *compiler) tabular(e Expr) {
	switch x := e.(type) {
	case *Ident:
		if ls, ok := c.lets[x.Name]; ok && c.tbl == nil {
			if ls.let.Func != nil {
				c.fail(x.Pos, "the let function %s needs arguments: call it as %s(...)", x.Name, x.Name)
			}
			if ls.compiling {
				c.fail(x.Pos, "let %s refers to itself", x.Name)
			}
			if ls.let.Value != nil && c.isTabularLet(ls) {
				ls.compiling = true
				saved := c.lets
				if ls.scope != nil {
					c.lets = ls.scope
				}
				c.tabular(ls.let.Value)
				c.lets = saved
				ls.compiling = false
				return
			}
		}
		c.source(x.Pos, x.Name)
	case *Paren:
		c.tabular(x.X)
	case *Pipeline:
		if x.Source == nil {
			c.fail(x.Pos, "a query must start with a table name")
		}
		c.tabular(x.Source)
		for i := range x.Ops {
			c.operator(&x.Ops[i])
		}
	case *Union:
		c.fail(x.Pos, "unsupported in per-record rules: union here (a rule reads several tables only through a union at the top of its query: union SigninLogs, AADNonInteractiveUserSignInLogs | where ..., or SigninLogs | ... | union AADNonInteractiveUserSignInLogs)")
	case *Call:
		if x.Name == "table" && len(x.Args) == 1 {
			saved := c.schema
			c.schema = nil
			name := c.expr(x.Args[0])
			c.schema = saved
			if name.konst && name.val.K == table.KindString {
				c.source(x.Pos, name.val.S)
				return
			}
			c.fail(x.Pos, "table() needs a constant table name")
		}
		if ls, ok := c.lets[x.Name]; ok && ls.let.Func != nil {
			c.inline(x, ls.let.Func)
			return
		}
		if x.Name == "datatable" || x.Name == "externaldata" {
			c.fail(x.Pos, "unsupported in per-record rules: %s (a rule reads the sign-in stream)", x.Name)
		}
		c.fail(x.Pos, "unsupported in per-record rules: %s(...) as a table; start the query with a table name", x.Name)
	default:
		c.fail(e.Position(), "a query must start with a table name, for example SigninLogs | where ...")
	}
}

// inline compiles a call of a tabular let function: its parameters are
// bound to the (constant) arguments, and its body becomes the source.
func (c *compiler) inline(x *Call, fd *FuncDef) {
	if c.depth++; c.depth > 20 {
		c.fail(x.Pos, "let functions call each other too deeply")
	}
	defer func() { c.depth-- }()
	if len(x.Args) > len(fd.Params) {
		c.fail(x.Pos, "%s takes %d arguments, not %d", x.Name, len(fd.Params), len(x.Args))
	}
	saved := c.lets
	scope := make(map[string]*letState, len(saved)+len(fd.Params)+len(fd.Lets))
	for k, v := range saved {
		scope[k] = v
	}
	for i, prm := range fd.Params {
		var arg Expr
		switch {
		case i < len(x.Args):
			arg = x.Args[i]
		case prm.Default != nil:
			arg = prm.Default
		default:
			c.fail(x.Pos, "%s: missing the argument %s", x.Name, prm.Name)
		}
		if strings.HasPrefix(prm.Type, "(") || c.isTabular(arg) {
			// A tabular argument is resolved in the caller's scope.
			scope[prm.Name] = &letState{let: &Let{Pos: arg.Position(), Name: prm.Name, Value: arg}, scope: saved}
			continue
		}
		// A scalar argument is evaluated in the caller's scope.
		savedSchema := c.schema
		c.schema = nil
		v := c.expr(arg)
		c.schema = savedSchema
		scope[prm.Name] = &letState{let: &Let{Pos: arg.Position(), Name: prm.Name, Value: arg}, compiled: v}
	}
	for _, l := range fd.Lets {
		scope[l.Name] = &letState{let: l}
	}
	if fd.Body == nil {
		c.fail(x.Pos, "the let function %s has no body", x.Name)
	}
	c.lets = scope
	c.tabular(fd.Body)
	c.lets = saved
}

// isTabular reports whether an expression produces rows.
func (c *compiler) isTabular(e Expr) bool {
	switch x := e.(type) {
	case *Pipeline, *Union:
		return true
	case *Paren:
		return c.isTabular(x.X)
	case *Call:
		if x.Name == "table" || x.Name == "materialize" || x.Schema != "" {
			return true
		}
		ls, ok := c.lets[x.Name]
		return ok && ls.let.Func != nil && c.funcIsTabular(ls.let.Func)
	case *Ident:
		if ls, ok := c.lets[x.Name]; ok {
			return ls.let.Value != nil && !ls.compiling && c.isTabularLet(ls)
		}
		_, ok := c.cat.Table(x.Name)
		return ok && c.find(x.Name) < 0
	}
	return false
}

func (c *compiler) isTabularLet(ls *letState) bool {
	ls.compiling = true
	saved := c.lets
	if ls.scope != nil {
		c.lets = ls.scope
	}
	defer func() { ls.compiling, c.lets = false, saved }()
	return c.isTabular(ls.let.Value)
}

func (c *compiler) source(at Pos, name string) {
	if c.tbl != nil {
		c.fail(at, "unsupported in per-record rules: reading a second table (%s)", name)
	}
	t, ok := c.cat.Table(name)
	if !ok {
		msg := fmt.Sprintf("unknown table '%s'", name)
		if s := c.suggestTable(name); s != "" {
			msg += fmt.Sprintf(" (did you mean %s? table names are case-sensitive)", s)
		}
		c.fail(at, "%s", msg)
	}
	c.tbl = t
	c.prog.tbl = t
	c.schema = make([]colRef, len(t.Columns))
	for i, col := range t.Columns {
		c.schema[i] = colRef{name: col.Name, typ: col.Type, src: i, known: col.Known}
		if col.Known != nil {
			c.schema[i].knownFrom = col.Name
		}
	}
}

// suggestTable is best effort: a catalog that can list its tables helps.
func (c *compiler) suggestTable(name string) string {
	type lister interface{ Tables() []string }
	l, ok := c.cat.(lister)
	if !ok {
		return ""
	}
	return closest(name, l.Tables())
}

// closest returns the candidate nearest to name, if near enough.
func closest(name string, cands []string) string {
	best, bestD := "", 1<<30
	for _, cand := range cands {
		d := textdist.Distance(strings.ToLower(name), strings.ToLower(cand))
		if d < bestD {
			best, bestD = cand, d
		}
	}
	if bestD <= 2 || (bestD <= len(name)/3 && bestD <= 4) {
		return best
	}
	return ""
}

// ignored operators have no meaning per record.
var ignored = map[string]string{
	"take":  "take/limit keeps every matching record in a stream",
	"limit": "take/limit keeps every matching record in a stream",
	"sort":  "sort has no meaning per record", "order": "order has no meaning per record",
	"render": "render has no meaning per record", "as": "as has no meaning per record",
	"serialize": "serialize has no meaning per record",
}

var unsupportedOps = map[string]string{
	"summarize": "needs windowed state", "count": "needs windowed state", "distinct": "needs windowed state",
	"top": "needs windowed state", "make-series": "needs windowed state", "top-nested": "needs windowed state",
	"top-hitters": "needs windowed state", "sample": "needs windowed state", "sample-distinct": "needs windowed state",
	"join": "needs another table or windowed state", "lookup": "needs another table",
	"union":    "only one union per query, at its top: union T1, T2 | ... or T1 | ... | union T2",
	"mv-apply": "not implemented yet", "parse": "not implemented yet", "parse-where": "not implemented yet",
	"evaluate": "plugins are not available", "invoke": "not implemented yet", "getschema": "has no meaning per record",
}

func (c *compiler) operator(op *Operator) {
	if c.tbl == nil {
		c.fail(op.Pos, "a query must start with a table name")
	}
	switch op.Name {
	case "where", "filter":
		c.cur = deps{}
		e := c.expr(op.Pred)
		if e.typ != table.TypeBool && e.typ != table.TypeDynamic && e.typ != table.TypeInvalid {
			c.fail(op.Pred.Position(), "where needs a bool predicate, not %s", e.typ)
		}
		c.prog.stages = append(c.prog.stages, stage{pred: e.fn})
		c.whereDeps = append(c.whereDeps, whereDep{stage: len(c.prog.stages) - 1, d: c.cur})
	case "extend":
		var st stage
		for _, a := range op.Items {
			c.cur = deps{}
			e := c.whole(a.Expr)
			if len(a.Names) > 1 {
				c.fail(a.Pos, "unsupported: extend with several names (tuple assignment)")
			}
			name := ""
			if len(a.Names) == 1 {
				name = a.Names[0]
			} else {
				name = c.autoName(a.Expr)
			}
			slot := c.newSlot(c.cur)
			st.assigns = append(st.assigns, slotAssign{slot: slot, fn: e.fn, deps: c.cur})
			ref := colRef{name: name, typ: resultType(e.typ), src: -1, slot: slot}
			keepKnown(&ref, e)
			if i := c.find(name); i >= 0 {
				c.schema[i] = ref
			} else {
				c.schema = append(c.schema, ref)
			}
		}
		c.prog.stages = append(c.prog.stages, st)
	case "project":
		var st stage
		var next []colRef
		for _, a := range op.Items {
			if len(a.Names) > 1 {
				c.fail(a.Pos, "unsupported: project with several names (tuple assignment)")
			}
			name := ""
			if len(a.Names) == 1 {
				name = a.Names[0]
			}
			if id, ok := a.Expr.(*Ident); ok {
				if i := c.find(id.Name); i >= 0 {
					ref := c.schema[i]
					if name != "" {
						ref.name = name
					}
					next = appendUnique(c, next, ref, a.Pos)
					continue
				}
			}
			c.cur = deps{}
			e := c.whole(a.Expr)
			if name == "" {
				name = c.autoName(a.Expr)
			}
			slot := c.newSlot(c.cur)
			st.assigns = append(st.assigns, slotAssign{slot: slot, fn: e.fn, deps: c.cur})
			ref := colRef{name: name, typ: resultType(e.typ), src: -1, slot: slot}
			keepKnown(&ref, e)
			next = appendUnique(c, next, ref, a.Pos)
		}
		if len(st.assigns) > 0 {
			c.prog.stages = append(c.prog.stages, st)
		}
		c.schema = next
	case "mv-expand", "mvexpand":
		c.mvExpand(op)
	case "project-away":
		pats := c.patterns(op.Names, true)
		var next []colRef
		for _, ref := range c.schema {
			if !matchAny(pats, ref.name) {
				next = append(next, ref)
			}
		}
		c.schema = next
	case "project-keep":
		pats := c.patterns(op.Names, true)
		var next []colRef
		for _, ref := range c.schema {
			if matchAny(pats, ref.name) {
				next = append(next, ref)
			}
		}
		c.schema = next
	case "project-reorder":
		pats := c.patterns(op.Names, true)
		used := make([]bool, len(c.schema))
		var next []colRef
		for _, p := range pats {
			for i, ref := range c.schema {
				if !used[i] && wildMatch(p, ref.name) {
					used[i] = true
					next = append(next, ref)
				}
			}
		}
		for i, ref := range c.schema {
			if !used[i] {
				next = append(next, ref)
			}
		}
		c.schema = next
	case "project-rename":
		for i := 0; i+1 < len(op.Names); i += 2 {
			nn, on := op.Names[i], op.Names[i+1]
			j := c.find(on.Name)
			if j < 0 {
				c.unknownColumn(on.Pos, on.Name)
			}
			if k := c.find(nn.Name); k >= 0 && k != j {
				c.fail(nn.Pos, "project-rename: a column named %s already exists", nn.Name)
			}
			c.schema[j].name = nn.Name
		}
	default:
		if why, ok := ignored[op.Name]; ok {
			if op.Name == "serialize" && len(op.Items) > 0 {
				c.fail(op.Pos, "unsupported in per-record rules: serialize with columns (needs row order)")
			}
			c.prog.warnings = append(c.prog.warnings, fmt.Sprintf("%d:%d: %s ignored: %s", op.Pos.Line, op.Pos.Column, op.Name, why))
			return
		}
		if why, ok := unsupportedOps[op.Name]; ok {
			c.fail(op.Pos, "unsupported in per-record rules: %s (%s)", op.Name, why)
		}
		c.fail(op.Pos, "unsupported in per-record rules: %s", op.Name)
	}
}

func appendUnique(c *compiler, cols []colRef, ref colRef, at Pos) []colRef {
	for _, x := range cols {
		if x.name == ref.name {
			c.fail(at, "project names the column %s twice", ref.name)
		}
	}
	return append(cols, ref)
}

// patterns checks that every plain name exists and returns the patterns.
func (c *compiler) patterns(names []NamePat, wild bool) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !strings.Contains(n.Name, "*") && c.find(n.Name) < 0 {
			c.unknownColumn(n.Pos, n.Name)
		}
		out = append(out, n.Name)
	}
	return out
}

func matchAny(pats []string, name string) bool {
	for _, p := range pats {
		if wildMatch(p, name) {
			return true
		}
	}
	return false
}

// wildMatch matches a column name against a pattern where * is any run.
func wildMatch(pat, name string) bool {
	if !strings.Contains(pat, "*") {
		return pat == name
	}
	parts := strings.Split(pat, "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for i := 1; i < len(parts)-1; i++ {
		j := strings.Index(name, parts[i])
		if j < 0 {
			return false
		}
		name = name[j+len(parts[i]):]
	}
	return strings.HasSuffix(name, parts[len(parts)-1])
}

func resultType(t table.Type) table.Type {
	if t == table.TypeInvalid {
		return table.TypeDynamic
	}
	return t
}

func (c *compiler) newSlot(d deps) int {
	c.slotDeps = append(c.slotDeps, d)
	return len(c.slotDeps) - 1
}

func (c *compiler) find(name string) int {
	for i := range c.schema {
		if c.schema[i].name == name {
			return i
		}
	}
	return -1
}

func (c *compiler) unknownColumn(at Pos, name string) {
	names := make([]string, len(c.schema))
	for i, r := range c.schema {
		names[i] = r.name
	}
	msg := fmt.Sprintf("unknown column '%s' in %s", name, c.tbl.Name)
	if s := closest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	c.fail(at, "%s", msg)
}

// autoName names an unnamed extend/project column as Kusto does for
// columns and properties (DeviceDetail.deviceId -> DeviceDetail_deviceId).
func (c *compiler) autoName(e Expr) string {
	if n := pathName(e); n != "" {
		return n
	}
	c.autoN++
	return fmt.Sprintf("Column%d", c.autoN)
}

func pathName(e Expr) string {
	switch x := e.(type) {
	case *Ident:
		return x.Name
	case *Member:
		if b := pathName(x.X); b != "" {
			return b + "_" + x.Name
		}
	case *Index:
		if b := pathName(x.X); b != "" {
			if lit, ok := x.Idx.(*Literal); ok {
				return b + "_" + strings.TrimPrefix(lit.Text, "-")
			}
		}
	case *Paren:
		return pathName(x.X)
	case *Call:
		if len(x.Args) == 1 && conversions[x.Name] {
			return pathName(x.Args[0])
		}
	}
	return ""
}

var conversions = map[string]bool{
	"tostring": true, "toint": true, "tolong": true, "toreal": true, "todouble": true, "tobool": true,
	"toboolean": true, "todatetime": true, "totimespan": true, "todynamic": true, "parse_json": true, "todecimal": true, "toguid": true,
}

// finish works out which stages and columns Match needs.
func (c *compiler) finish() {
	p := c.prog
	p.out = c.schema
	p.nExt = len(c.slotDeps)
	// Mark the computed slots that some where reads, transitively.
	need := make([]bool, len(c.slotDeps))
	srcSet := map[int]bool{}
	var mark func(d deps)
	mark = func(d deps) {
		for _, s := range d.src {
			srcSet[s] = true
		}
		for _, s := range d.slots {
			if !need[s] {
				need[s] = true
				mark(c.slotDeps[s])
			}
		}
	}
	last := -1
	for _, w := range c.whereDeps {
		mark(w.d)
		last = max(last, w.stage)
	}
	// mv-expand changes how many rows a record gives (none for an empty
	// array), so Match runs every expansion too.
	for i, st := range p.stages {
		if st.expand != nil {
			for _, it := range st.expand.items {
				mark(it.deps)
			}
			last = max(last, i)
		}
	}
	for i := 0; i <= last; i++ {
		st := p.stages[i]
		if st.pred != nil || st.expand != nil {
			p.filter = append(p.filter, st)
			continue
		}
		var keep []slotAssign
		for _, a := range st.assigns {
			if need[a.slot] {
				keep = append(keep, a)
			}
		}
		if len(keep) > 0 {
			p.filter = append(p.filter, stage{assigns: keep})
		}
	}
	for s := range srcSet {
		p.cols = append(p.cols, s)
	}
	sort.Ints(p.cols)
	if p.cols == nil {
		p.cols = []int{}
	}
}

// CatalogFunc adapts a lookup function such as table.Lookup to a Catalog.
type CatalogFunc func(name string) (*table.Table, bool)

// Table looks the name up.
func (f CatalogFunc) Table(name string) (*table.Table, bool) { return f(name) }

// dataTableOf returns the datatable(...)[...] that e names, through let
// bindings (let bad = datatable(ip:string)[...]; ... in (bad)), or nil.
func (c *compiler) dataTableOf(e Expr) *Call {
	scope := c.lets
	for depth := 0; depth < 32; depth++ {
		switch x := unparen(e).(type) {
		case *Call:
			if x.Name == "datatable" && x.Schema != "" {
				return x
			}
			return nil
		case *Ident:
			if c.schema != nil && c.find(x.Name) >= 0 {
				return nil
			}
			ls, ok := scope[x.Name]
			if !ok || ls.let.Value == nil || ls.compiled != nil {
				return nil
			}
			if ls.scope != nil {
				scope = ls.scope
			}
			e = ls.let.Value
		default:
			return nil
		}
	}
	return nil
}

// dataTableValues returns the values of a constant datatable's first
// column (the column in, has_any and the like use, as Kusto does), each
// checked against the column's type. They are computed once, here.
func (c *compiler) dataTableValues(dt *Call) []table.Value {
	cols := splitSchema(dt.Schema)
	if len(cols) == 0 {
		c.fail(dt.Pos, "datatable needs at least one column")
	}
	name, typ := cols[0][0], typeByName(cols[0][1])
	var vals []table.Value
	saved, savedDeps := c.schema, c.cur
	c.schema, c.cur = nil, deps{}
	defer func() { c.schema, c.cur = saved, savedDeps }()
	for i, a := range dt.Args {
		v := c.expr(a)
		if !v.konst {
			c.fail(a.Position(), "datatable values must be constants")
		}
		if i%len(cols) != 0 {
			continue
		}
		val := dynScalar(v.val)
		if val.K != table.KindNull && typ != table.TypeDynamic && typ != table.TypeInvalid && !sameKindFamily(kindType(val.K), typ) {
			what := toStr(val)
			if val.K == table.KindString {
				what = strconv.Quote(val.S)
			}
			c.fail(a.Position(), "datatable value %s is %s, but the column %s is %s", what, article(typeName(kindType(val.K))), name, typ)
		}
		vals = append(vals, val)
	}
	return vals
}

func article(t string) string {
	if strings.IndexByte("aeiou", t[0]) >= 0 {
		return "an " + t
	}
	return "a " + t
}

func sameKindFamily(a, b table.Type) bool {
	switch {
	case isStrT(a) && isStrT(b), isNumT(a) && isNumT(b):
		return true
	}
	return a == b
}

// splitSchema splits "(a:string, b:long)" into name/type pairs.
func splitSchema(s string) [][2]string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
	var out [][2]string
	for _, part := range strings.Split(s, ",") {
		name, typ, ok := strings.Cut(strings.TrimSpace(part), ":")
		if ok {
			out = append(out, [2]string{strings.TrimSpace(name), strings.TrimSpace(typ)})
		}
	}
	return out
}

// funcIsTabular reports whether a let function returns rows: its body,
// with its parameters bound (a (...) parameter to a table, the others to
// scalars), is tabular.
func (c *compiler) funcIsTabular(fd *FuncDef) bool {
	if fd.Body == nil {
		return true
	}
	saved := c.lets
	scope := make(map[string]*letState, len(saved)+len(fd.Params)+len(fd.Lets))
	for k, v := range saved {
		scope[k] = v
	}
	for _, prm := range fd.Params {
		var v Expr = &Literal{}
		if strings.HasPrefix(prm.Type, "(") {
			v = &Pipeline{}
		}
		scope[prm.Name] = &letState{let: &Let{Name: prm.Name, Value: v}}
	}
	for _, l := range fd.Lets {
		scope[l.Name] = &letState{let: l}
	}
	c.lets = scope
	defer func() { c.lets = saved }()
	return c.isTabular(fd.Body)
}

// callScalarFunc inlines a call of a scalar let function: each parameter
// is bound to the caller's argument (or its default), and the body is
// compiled without the caller's columns, which a function cannot see.
func (c *compiler) callScalarFunc(x *Call, ls *letState) *cexpr {
	fd := ls.let.Func
	if c.funcIsTabular(fd) {
		c.fail(x.Pos, "the let function %s returns a table: call it as the query's source (%s(...) | ...)", x.Name, x.Name)
	}
	if c.depth++; c.depth > 20 {
		c.fail(x.Pos, "let functions call each other too deeply")
	}
	defer func() { c.depth-- }()
	if len(x.Args) > len(fd.Params) {
		c.fail(x.Pos, "%s takes %d arguments, not %d", x.Name, len(fd.Params), len(x.Args))
	}
	saved := c.lets
	scope := make(map[string]*letState, len(saved)+len(fd.Params)+len(fd.Lets))
	for k, v := range saved {
		scope[k] = v
	}
	for i, prm := range fd.Params {
		var v *cexpr
		switch {
		case strings.HasPrefix(prm.Type, "("):
			c.fail(x.Pos, "%s: the tabular parameter %s cannot be passed in an expression", x.Name, prm.Name)
		case i < len(x.Args):
			v = c.expr(x.Args[i])
		case prm.Default != nil:
			savedSchema := c.schema
			c.schema = nil
			v = c.expr(prm.Default)
			c.schema = savedSchema
		default:
			c.fail(x.Pos, "%s: missing the argument %s", x.Name, prm.Name)
		}
		scope[prm.Name] = &letState{let: &Let{Pos: x.Pos, Name: prm.Name}, compiled: v}
	}
	for _, l := range fd.Lets {
		scope[l.Name] = &letState{let: l}
	}
	savedSchema := c.schema
	c.lets, c.schema, c.inFunc = scope, nil, true
	defer func() { c.lets, c.schema, c.inFunc = saved, savedSchema, false }()
	return c.expr(fd.Body)
}
