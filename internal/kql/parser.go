package kql

import (
	"strconv"
	"strings"

	"github.com/streamhunt/streamhunt/internal/table"
)

// maxDepth bounds expression nesting so that hostile rule text cannot
// exhaust the stack.
const maxDepth = 200

// Parse parses a query. Syntax errors are *Error with 1-based Line and Column
// and a clear message.
func Parse(text string) (*Query, error) {
	p := &parser{lx: newLexer(text)}
	q, err := p.parseQuery()
	if err != nil {
		return nil, err
	}
	q.Text = text
	return q, nil
}

type parser struct {
	lx    *lexer
	tok   token
	peekd []token
	err   error
	depth int
}

type bail struct{ err *Error }

func (p *parser) fail(at Pos, format string, args ...any) {
	panic(bail{errAt(at, format, args...)})
}

// cur returns the current token, scanning it if needed.
func (p *parser) peekN(n int) token {
	for len(p.peekd) <= n {
		t, err := p.lx.next()
		if err != nil {
			panic(bail{err.(*Error)})
		}
		p.peekd = append(p.peekd, t)
	}
	return p.peekd[n]
}

func (p *parser) cur() token { return p.peekN(0) }

func (p *parser) take() token {
	t := p.cur()
	p.peekd = p.peekd[1:]
	return t
}

func (p *parser) isPunct(s string) bool {
	t := p.cur()
	return t.kind == tPunct && t.text == s
}

func (p *parser) isWord(s string) bool {
	t := p.cur()
	return t.kind == tIdent && t.text == s
}

func (p *parser) accept(s string) bool {
	t := p.cur()
	if (t.kind == tPunct || t.kind == tIdent) && t.text == s {
		p.take()
		return true
	}
	return false
}

func (p *parser) expect(s string, what string) token {
	t := p.cur()
	if (t.kind == tPunct || t.kind == tIdent) && t.text == s {
		return p.take()
	}
	p.fail(t.pos, "expected '%s' %s, found %s", s, what, t.describe())
	return token{}
}

func (p *parser) parseQuery() (q *Query, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				panic(r)
			}
			q, err = nil, b.err
		}
	}()
	q = &Query{}
	for {
		for p.accept(";") {
		}
		if p.cur().kind == tEOF {
			break
		}
		if q.Body != nil {
			t := p.cur()
			p.fail(t.pos, "expected ';' or the end of the query after the tabular expression, found %s", t.describe())
		}
		switch {
		case p.isWord("let"):
			q.Lets = append(q.Lets, p.parseLet())
		case p.isWord("set"):
			p.take()
			p.parseOptionName()
			if p.accept("=") {
				p.parseExpr()
			}
		case p.isWord("declare"):
			p.fail(p.cur().pos, "unsupported: declare query_parameters")
		default:
			q.Body = p.parseTabular()
		}
		if !p.isPunct(";") && p.cur().kind != tEOF {
			t := p.cur()
			if t.kind == tIdent && isOperatorName(t.text) {
				p.fail(t.pos, "expected '|' before the operator %s", t.text)
			}
			p.fail(t.pos, "expected ';', '|' or the end of the query, found %s", t.describe())
		}
	}
	q.End = p.cur().pos
	return q, nil
}

func (p *parser) parseLet() *Let {
	at := p.take().pos
	name := p.parseName("after let")
	p.expect("=", "after the let name")
	l := &Let{Pos: at, Name: name}
	if p.isWord("view") && p.peekN(1).kind == tPunct && p.peekN(1).text == "(" {
		p.take() // a view is a function that union * would also read
		l.Func = p.parseFuncDef()
		return l
	}
	if p.isPunct("(") && p.looksLikeParams() {
		l.Func = p.parseFuncDef()
		return l
	}
	l.Value = p.parseTabular()
	return l
}

// looksLikeParams reports whether the '(' at the cursor opens a let
// function's parameter list: `()` followed by `{`, or `(name:`.
func (p *parser) looksLikeParams() bool {
	t1 := p.peekN(1)
	if t1.kind == tPunct && t1.text == ")" {
		t2 := p.peekN(2)
		return t2.kind == tPunct && t2.text == "{"
	}
	t2 := p.peekN(2)
	return t1.kind == tIdent && t2.kind == tPunct && t2.text == ":"
}

func (p *parser) parseFuncDef() *FuncDef {
	p.expect("(", "to open the parameter list")
	f := &FuncDef{}
	for !p.isPunct(")") {
		name := p.parseName("as a parameter name")
		p.expect(":", "after the parameter name")
		typ := p.parseTypeName()
		var def Expr
		if p.accept("=") {
			def = p.parseExpr()
		}
		f.Params = append(f.Params, Param{Name: name, Type: typ, Default: def})
		if !p.accept(",") {
			break
		}
	}
	p.expect(")", "to close the parameter list")
	p.expect("{", "to open the function body")
	for {
		for p.accept(";") {
		}
		if p.isWord("let") {
			f.Lets = append(f.Lets, p.parseLet())
			continue
		}
		break
	}
	if !p.isPunct("}") {
		f.Body = p.parseTabular()
	}
	for p.accept(";") {
	}
	p.expect("}", "to close the function body")
	return f
}

// parseTypeName reads a scalar type name or a tabular schema (a:string, ...) or (*).
func (p *parser) parseTypeName() string {
	if p.isPunct("(") {
		p.take()
		var b strings.Builder
		b.WriteByte('(')
		for !p.isPunct(")") {
			if p.accept("*") {
				b.WriteByte('*')
			} else {
				b.WriteString(p.parseName("in a schema"))
				p.expect(":", "in a schema")
				b.WriteString(":" + p.parseTypeName())
			}
			if !p.accept(",") {
				break
			}
			b.WriteByte(',')
		}
		p.expect(")", "to close the schema")
		b.WriteByte(')')
		return b.String()
	}
	t := p.cur()
	if t.kind != tIdent {
		p.fail(t.pos, "expected a type name, found %s", t.describe())
	}
	p.take()
	return t.text
}

// parseName reads an identifier or a bracket-quoted name ['..'].
func (p *parser) parseName(where string) string {
	t := p.cur()
	if t.kind == tIdent {
		p.take()
		return t.text
	}
	if t.kind == tPunct && t.text == "[" {
		if s := p.peekN(1); s.kind == tString {
			if c := p.peekN(2); c.kind == tPunct && c.text == "]" {
				p.take()
				p.take()
				p.take()
				return s.text
			}
		}
	}
	p.fail(t.pos, "expected a name %s, found %s", where, t.describe())
	return ""
}

func (p *parser) isName() bool {
	t := p.cur()
	if t.kind == tIdent {
		return true
	}
	if t.kind == tPunct && t.text == "[" {
		s, c := p.peekN(1), p.peekN(2)
		return s.kind == tString && c.kind == tPunct && c.text == "]"
	}
	return false
}

// nameThenAssign reports whether the cursor is at `name =` (not ==).
func (p *parser) nameThenAssign() bool {
	t := p.cur()
	n := 1
	if t.kind == tPunct && t.text == "[" {
		if !p.isName() {
			return false
		}
		n = 3
	} else if t.kind != tIdent {
		return false
	}
	e := p.peekN(n)
	return e.kind == tPunct && e.text == "="
}

// parseTabular parses an expression that may be followed by | operators.
func (p *parser) parseTabular() Expr {
	t := p.cur()
	var src Expr
	switch {
	case t.kind == tIdent && t.text == "union":
		p.take()
		src = p.parseUnion(t.pos)
	case t.kind == tIdent && (t.text == "datatable" || t.text == "externaldata" || t.text == "print" ||
		t.text == "range" || t.text == "find" || t.text == "search" || t.text == "evaluate" || t.text == "materialized_view"):
		nt := p.peekN(1)
		switch {
		case (t.text == "datatable" || t.text == "externaldata") && nt.kind == tPunct && nt.text == "(":
			src = p.parseDataTable()
		case t.text == "print" || t.text == "range" || t.text == "find" || t.text == "search" || t.text == "evaluate" ||
			(nt.kind == tPunct && (nt.text == "(" || nt.text == "[")):
			p.fail(t.pos, "unsupported: %s", t.text)
		default:
			src = p.parseExpr()
		}
	default:
		src = p.parseExpr()
	}
	if !p.isPunct("|") {
		return src
	}
	pl := &Pipeline{Pos: t.pos, Source: src}
	for p.accept("|") {
		pl.Ops = append(pl.Ops, p.parseOperator())
	}
	return pl
}

// parseDataTable parses datatable(schema)[values] and
// externaldata(schema)[urls] with (properties); the rows are not kept.
func (p *parser) parseDataTable() Expr {
	t := p.take()
	schema := p.parseTypeName()
	p.expect("[", "after the "+t.text+" schema")
	var vals []Expr
	for !p.isPunct("]") {
		vals = append(vals, p.parseExpr())
		if !p.accept(",") {
			break
		}
	}
	p.expect("]", "to close the "+t.text+" values")
	if p.accept("with") {
		p.expect("(", "after with")
		for !p.isPunct(")") {
			p.parseOptionName()
			p.expect("=", "after the property name")
			p.parseExpr()
			if !p.accept(",") {
				break
			}
		}
		p.expect(")", "to close the properties")
	}
	if t.text != "datatable" {
		vals = nil // externaldata's values are storage URIs
	}
	return &Call{Pos: t.pos, Name: t.text, Args: vals, Schema: schema}
}

func (p *parser) parseUnion(at Pos) *Union {
	u := &Union{Pos: at}
	u.Options = p.parseOptions("kind", "isfuzzy", "withsource")
	for {
		t := p.cur()
		if t.kind == tPunct && t.text == "(" {
			p.take()
			u.Tables = append(u.Tables, &Paren{Pos: t.pos, X: p.parseTabular()})
			p.expect(")", "to close the union's subquery")
		} else {
			u.Tables = append(u.Tables, p.parsePostfix(p.parsePrimary()))
		}
		if !p.accept(",") {
			break
		}
	}
	return u
}

// parseOptions reads name=value options whose names are in the list (or
// start with hint.).
func (p *parser) parseOptions(names ...string) []Option {
	var opts []Option
	for {
		t := p.cur()
		if t.kind != tIdent {
			return opts
		}
		known := t.text == "hint" || strings.HasPrefix(t.text, "hint")
		for _, n := range names {
			if t.text == n {
				known = true
			}
		}
		if !known {
			return opts
		}
		// An option must be followed by '=' (or .name =).
		n := 1
		for {
			d := p.peekN(n)
			if d.kind == tPunct && d.text == "." {
				n += 2
				continue
			}
			break
		}
		if e := p.peekN(n); !(e.kind == tPunct && e.text == "=") {
			return opts
		}
		name := p.parseOptionName()
		p.expect("=", "after the option name")
		var v Expr
		if c := p.cur(); c.kind == tIdent && c.text != "dynamic" && c.text != "datetime" {
			p.take()
			v = &Ident{Pos: c.pos, Name: c.text}
		} else {
			v = p.parsePrimary()
		}
		opts = append(opts, Option{Name: name, Value: v})
	}
}

func (p *parser) parseOptionName() string {
	name := p.parseName("as an option")
	for p.accept(".") {
		name += "." + p.parseName("as an option")
	}
	return name
}

var operatorNames = map[string]bool{
	"where": true, "filter": true, "extend": true, "project": true, "project-away": true, "project-keep": true,
	"project-reorder": true, "project-rename": true, "take": true, "limit": true, "sort": true, "order": true,
	"top": true, "render": true, "summarize": true, "distinct": true, "count": true, "union": true, "join": true,
	"lookup": true, "mv-expand": true, "mvexpand": true, "mv-apply": true, "as": true, "serialize": true,
	"getschema": true, "invoke": true, "evaluate": true, "parse": true, "parse-where": true, "make-series": true,
	"sample": true, "sample-distinct": true, "top-nested": true, "top-hitters": true, "facet": true, "fork": true,
	"partition": true, "scan": true, "parse-kv": true, "project-smart": true, "reduce": true, "consume": true,
	"search": true, "find": true, "extend-schema": true,
}

func isOperatorName(s string) bool { return operatorNames[s] }

// parseOperator parses one tabular operator after a pipe.
func (p *parser) parseOperator() Operator {
	t := p.cur()
	if t.kind != tIdent {
		p.fail(t.pos, "expected a query operator after '|', found %s", t.describe())
	}
	p.take()
	op := Operator{Pos: t.pos, Name: t.text}
	switch t.text {
	case "where", "filter":
		op.Pred = p.parseExpr()
	case "extend", "project", "serialize":
		if t.text == "serialize" && (p.isPunct("|") || p.isPunct(";") || p.isPunct(")") || p.cur().kind == tEOF) {
			return op
		}
		op.Items = p.parseAssigns()
	case "project-away", "project-keep", "project-reorder":
		for {
			op.Names = append(op.Names, p.parseNamePat())
			if t.text == "project-reorder" {
				if p.isWord("asc") || p.isWord("desc") || p.isWord("granny-asc") || p.isWord("granny-desc") {
					p.take()
				}
			}
			if !p.accept(",") {
				break
			}
		}
	case "project-rename":
		for {
			at := p.cur().pos
			nn := p.parseName("as the new column name")
			p.expect("=", "in project-rename (new = old)")
			on := p.parseName("as the old column name")
			op.Names = append(op.Names, NamePat{Pos: at, Name: nn}, NamePat{Pos: at, Name: on})
			if !p.accept(",") {
				break
			}
		}
	case "take", "limit", "sample", "sample-distinct":
		op.Arg = p.parseExpr()
		if t.text == "sample-distinct" {
			p.expect("of", "in sample-distinct")
			op.Items = []Assign{{Expr: p.parseExpr()}}
		}
	case "sort", "order":
		p.expect("by", "after "+t.text)
		op.Items = p.parseSortList()
	case "top":
		op.Arg = p.parseExpr()
		p.expect("by", "after top N")
		op.Items = p.parseSortList()
	case "render":
		op.Arg = &Ident{Pos: p.cur().pos, Name: p.parseName("as the chart type")}
		// Legacy form: render columnchart kind=stacked title="..."
		for p.cur().kind == tIdent && p.peekN(1).kind == tPunct && p.peekN(1).text == "=" {
			p.take()
			p.take()
			p.parsePrimary()
		}
		if p.accept("with") {
			p.expect("(", "after render ... with")
			for !p.isPunct(")") {
				p.parseName("as a render property")
				p.expect("=", "after the render property")
				p.parseExpr()
				if !p.accept(",") {
					break
				}
			}
			p.expect(")", "to close render's properties")
		}
	case "summarize":
		op.Options = p.parseOptions()
		if !p.isWord("by") {
			op.Items = p.parseAssigns()
		}
		if p.accept("by") {
			op.By = p.parseAssigns()
		}
	case "distinct":
		if p.isPunct("*") {
			op.Items = []Assign{{Pos: p.cur().pos, Expr: &Star{Pos: p.take().pos}}}
		} else {
			op.Items = p.parseAssigns()
		}
	case "count":
		if p.accept("as") {
			op.Names = []NamePat{{Pos: p.cur().pos, Name: p.parseName("after count as")}}
		}
	case "union":
		op.Union = p.parseUnion(t.pos)
	case "join", "lookup":
		op.Options = p.parseOptions("kind")
		op.Arg = p.parseRightTable()
		if p.accept("on") {
			for {
				op.On = append(op.On, p.parseExpr())
				if !p.accept(",") {
					break
				}
			}
		} else if t.text == "lookup" {
			p.fail(p.cur().pos, "expected 'on' after the lookup table, found %s", p.cur().describe())
		}
	case "mv-expand", "mvexpand":
		op.Options = p.parseOptions("bagexpansion", "with_itemindex", "kind")
		for {
			a := p.parseAssign()
			if p.accept("to") {
				p.expect("typeof", "after mv-expand ... to")
				p.expect("(", "after typeof")
				a.Type = p.parseTypeName()
				p.expect(")", "to close typeof")
			}
			op.Items = append(op.Items, a)
			if !p.accept(",") {
				break
			}
		}
		if p.accept("limit") {
			op.Arg = p.parseExpr()
		}
	case "mv-apply":
		op.Options = p.parseOptions("with_itemindex")
		op.Items = p.parseAssigns()
		if p.accept("to") {
			p.expect("typeof", "after mv-apply ... to")
			p.expect("(", "after typeof")
			p.parseTypeName()
			p.expect(")", "to close typeof")
		}
		if p.accept("limit") {
			p.parseExpr()
		}
		p.expect("on", "in mv-apply")
		p.expect("(", "to open mv-apply's subquery")
		sub := &Pipeline{Pos: p.cur().pos}
		p.accept("|")
		for {
			sub.Ops = append(sub.Ops, p.parseOperator())
			if !p.accept("|") {
				break
			}
		}
		p.expect(")", "to close mv-apply's subquery")
		op.Arg = sub
	case "make-series":
		op.Options = p.parseOptions("kind")
		for {
			op.Items = append(op.Items, p.parseAssign())
			if p.accept("default") {
				p.expect("=", "after default")
				p.parseExpr()
			}
			if !p.accept(",") {
				break
			}
		}
		p.expect("on", "in make-series")
		p.parseAdditive()
		if p.accept("in") {
			p.parseExpr()
		} else {
			if p.accept("from") {
				p.parseAdditive()
			}
			if p.accept("to") {
				p.parseAdditive()
			}
			p.expect("step", "in make-series")
			p.parseAdditive()
		}
		if p.accept("by") {
			op.By = p.parseAssigns()
		}
	case "as":
		op.Options = p.parseOptions()
		op.Names = []NamePat{{Pos: p.cur().pos, Name: p.parseName("after as")}}
	case "getschema":
	case "invoke":
		op.Arg = p.parseExpr()
	case "evaluate":
		op.Options = p.parseOptions()
		op.Arg = p.parseExpr()
		if p.accept(":") {
			p.parseTypeName()
		}
	case "parse", "parse-where":
		op.Options = p.parseOptions("kind", "flags")
		op.Arg = p.parseExpr()
		p.expect("with", "in "+t.text)
		n := 0
		for {
			c := p.cur()
			switch {
			case c.kind == tString:
				p.take()
			case c.kind == tPunct && c.text == "*":
				p.take()
			case c.kind == tIdent || c.kind == tPunct && c.text == "[":
				name := p.parseName("in the parse pattern")
				op.Items = append(op.Items, Assign{Pos: c.pos, Names: []string{name}})
				if p.accept(":") {
					p.parseTypeName()
				}
			default:
				if n == 0 {
					p.fail(c.pos, "expected a parse pattern after with, found %s", c.describe())
				}
				return op
			}
			n++
		}
	default:
		if operatorNames[t.text] {
			p.fail(t.pos, "unsupported: %s", t.text)
		}
		if lower := strings.ToLower(t.text); operatorNames[lower] {
			p.fail(t.pos, "unknown query operator '%s' (operator names are case-sensitive: write %s)", t.text, lower)
		}
		p.fail(t.pos, "unknown query operator '%s'", t.text)
	}
	return op
}

// parseRightTable parses join's right side: a table name or (subquery).
func (p *parser) parseRightTable() Expr {
	t := p.cur()
	if t.kind == tPunct && t.text == "(" {
		p.take()
		x := p.parseTabular()
		p.expect(")", "to close the subquery")
		return &Paren{Pos: t.pos, X: x}
	}
	return p.parsePostfix(p.parsePrimary())
}

func (p *parser) parseNamePat() NamePat {
	t := p.cur()
	if t.kind == tPunct && t.text == "[" {
		return NamePat{Pos: t.pos, Name: p.parseName("as a column")}
	}
	var b strings.Builder
	end := -1
	for {
		c := p.cur()
		if end >= 0 && c.pos.Off != end {
			break
		}
		if c.kind == tIdent || c.kind == tPunct && c.text == "*" || (end >= 0 && c.kind == tLong) {
			b.WriteString(c.text)
			end = c.end
			p.take()
			continue
		}
		break
	}
	if b.Len() == 0 {
		p.fail(t.pos, "expected a column name or pattern, found %s", t.describe())
	}
	return NamePat{Pos: t.pos, Name: b.String()}
}

func (p *parser) parseSortList() []Assign {
	var items []Assign
	for {
		a := Assign{Pos: p.cur().pos, Expr: p.parseExpr()}
		if p.isWord("asc") || p.isWord("desc") {
			p.take()
		}
		if p.accept("nulls") {
			if !p.accept("first") && !p.accept("last") {
				p.fail(p.cur().pos, "expected first or last after nulls")
			}
		}
		items = append(items, a)
		if !p.accept(",") {
			return items
		}
	}
}

// parseAssigns reads a comma-separated list of [name =] expr or (a, b) = expr.
func (p *parser) parseAssigns() []Assign {
	var items []Assign
	for {
		items = append(items, p.parseAssign())
		if !p.accept(",") {
			return items
		}
	}
}

// parseAssign reads [name =] expr or (a, b) = expr.
func (p *parser) parseAssign() Assign {
	{
		at := p.cur().pos
		a := Assign{Pos: at}
		if p.nameThenAssign() {
			a.Names = []string{p.parseName("")}
			p.take() // =
		} else if p.isPunct("(") && p.tupleAssign() {
			p.take()
			for {
				a.Names = append(a.Names, p.parseName("in the name list"))
				if !p.accept(",") {
					break
				}
			}
			p.expect(")", "to close the name list")
			p.expect("=", "after the name list")
		}
		a.Expr = p.parseExpr()
		return a
	}
}

// tupleAssign reports whether '(' opens `(a, b) =`.
func (p *parser) tupleAssign() bool {
	n := 1
	for {
		t := p.peekN(n)
		if t.kind != tIdent {
			return false
		}
		s := p.peekN(n + 1)
		if s.kind == tPunct && s.text == "," {
			n += 2
			continue
		}
		if s.kind == tPunct && s.text == ")" {
			e := p.peekN(n + 2)
			return e.kind == tPunct && e.text == "="
		}
		return false
	}
}

// Expressions, from the loosest binding.

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail(p.cur().pos, "expression is nested too deeply (more than %d levels)", maxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseExpr() Expr {
	p.enter()
	defer p.leave()
	return p.parseOr()
}

func (p *parser) parseOr() Expr {
	l := p.parseAnd()
	for p.isWord("or") {
		t := p.take()
		l = &Binary{Pos: t.pos, Op: "or", L: l, R: p.parseAnd()}
	}
	return l
}

func (p *parser) parseAnd() Expr {
	l := p.parseCompare()
	for p.isWord("and") {
		t := p.take()
		l = &Binary{Pos: t.pos, Op: "and", L: l, R: p.parseCompare()}
	}
	return l
}

// wordOps are the comparison operators spelled as words.
var wordOps = map[string]bool{
	"has": true, "has_cs": true, "contains": true, "contains_cs": true, "startswith": true, "startswith_cs": true,
	"endswith": true, "endswith_cs": true, "hasprefix": true, "hasprefix_cs": true, "hassuffix": true,
	"hassuffix_cs": true, "has_any": true, "has_all": true, "in": true, "in~": true, "between": true,
	"matches": true, "like": true, "notlike": true, "contains_any": true,
}

// legacyOps maps the old spellings of string operators to the current ones.
var legacyOps = map[string]string{
	"containscs": "contains_cs", "notcontains": "!contains", "notcontainscs": "!contains_cs",
	"nothas": "!has", "hasprefixcs": "hasprefix_cs",
}

var symOps = map[string]bool{"==": true, "!=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true, "=~": true, "!~": true}

func (p *parser) parseCompare() Expr {
	l := p.parseAdditive()
	for {
		t := p.cur()
		var op string
		switch {
		case t.kind == tPunct && symOps[t.text]:
			op = t.text
		case t.kind == tPunct && strings.HasPrefix(t.text, "!") && len(t.text) > 1 && t.text != "!=" && t.text != "!~":
			op = t.text
		case t.kind == tIdent && wordOps[t.text] && t.text != "like" && t.text != "notlike" && t.text != "contains_any":
			op = t.text
		case t.kind == tIdent && legacyOps[t.text] != "":
			op = legacyOps[t.text]
		default:
			return l
		}
		p.take()
		switch op {
		case "!matches", "!has_any", "!has_all":
			// Microsoft's parser refuses these negations (there is no
			// such operator in KQL), so a rule using them would not run
			// in Sentinel either.
			left := exprText(l)
			if left == "expression" {
				left = "X"
			}
			form := map[string]string{"!matches": "matches regex ...", "!has_any": "has_any (...)", "!has_all": "has_all (...)"}[op]
			name := op
			if op == "!matches" {
				name = "!matches regex"
			}
			p.fail(t.pos, "'%s' is not KQL: write not(%s %s)", name, left, form)
		case "in", "!in", "in~", "!in~", "has_any", "has_all":
			l = &Binary{Pos: t.pos, Op: op, L: l, R: p.parseInList(op)}
		case "between", "!between":
			lp := p.expect("(", "after "+op)
			lo := p.parseAdditive()
			p.expect("..", "between the bounds of "+op)
			hi := p.parseAdditive()
			p.expect(")", "to close "+op)
			_ = lp
			l = &Between{Pos: t.pos, Not: op == "!between", X: l, Lo: lo, Hi: hi}
		case "matches":
			p.expect("regex", "after matches")
			l = &Binary{Pos: t.pos, Op: "matches regex", L: l, R: p.parseAdditive()}
		default:
			if op == "<>" {
				op = "!="
			}
			l = &Binary{Pos: t.pos, Op: op, L: l, R: p.parseAdditive()}
		}
	}
}

// parseInList parses the right side of in/has_any: (a, b, ...) or (subquery).
func (p *parser) parseInList(op string) Expr {
	t := p.cur()
	if !(t.kind == tPunct && t.text == "(") {
		p.fail(t.pos, "expected '(' after %s, found %s", op, t.describe())
	}
	p.take()
	l := &List{Pos: t.pos}
	for !p.isPunct(")") {
		l.Items = append(l.Items, p.parseTabular())
		if !p.accept(",") {
			break
		}
	}
	p.expect(")", "to close the list after "+op)
	return l
}

func (p *parser) parseAdditive() Expr {
	l := p.parseMultiplicative()
	for p.isPunct("+") || p.isPunct("-") {
		t := p.take()
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: p.parseMultiplicative()}
	}
	return l
}

func (p *parser) parseMultiplicative() Expr {
	l := p.parseUnary()
	for p.isPunct("*") || p.isPunct("/") || p.isPunct("%") {
		t := p.take()
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: p.parseUnary()}
	}
	return l
}

func (p *parser) parseUnary() Expr {
	if p.isPunct("-") || p.isPunct("+") {
		t := p.take()
		p.enter()
		defer p.leave()
		x := p.parseUnary()
		if lit, ok := x.(*Literal); ok && t.text == "-" {
			switch lit.Val.K {
			case table.KindLong, table.KindInt, table.KindTimeSpan:
				return &Literal{Pos: t.pos, Type: lit.Type, Val: table.Value{K: lit.Val.K, I: -lit.Val.I}, Text: "-" + lit.Text}
			case table.KindReal:
				return &Literal{Pos: t.pos, Type: lit.Type, Val: table.Real(-lit.Val.F), Text: "-" + lit.Text}
			}
		}
		return &Unary{Pos: t.pos, Op: t.text, X: x}
	}
	return p.parsePostfix(p.parsePrimary())
}

func (p *parser) parsePostfix(x Expr) Expr {
	for {
		t := p.cur()
		switch {
		case t.kind == tPunct && t.text == ".":
			p.take()
			n := p.cur()
			switch {
			case n.kind == tIdent:
				p.take()
				x = &Member{Pos: n.pos, X: x, Name: n.text}
			case n.kind == tPunct && n.text == "[":
				x = p.parseSubscript(x)
			default:
				p.fail(n.pos, "expected a property name after '.', found %s", n.describe())
			}
		case t.kind == tPunct && t.text == "[":
			x = p.parseSubscript(x)
		default:
			return x
		}
	}
}

func (p *parser) parseSubscript(x Expr) Expr {
	t := p.take() // [
	idx := p.parseExpr()
	p.expect("]", "to close the index")
	if lit, ok := idx.(*Literal); ok && lit.Val.K == table.KindString {
		return &Member{Pos: t.pos, X: x, Name: lit.Val.S}
	}
	return &Index{Pos: t.pos, X: x, Idx: idx}
}

// typedLiterals are the functions whose argument is literal text.
var typedLiterals = map[string]bool{
	"datetime": true, "time": true, "timespan": true, "guid": true, "long": true, "int": true,
	"real": true, "double": true, "bool": true, "boolean": true, "decimal": true, "string": true,
}

func (p *parser) parsePrimary() Expr {
	t := p.cur()
	switch t.kind {
	case tEOF:
		p.fail(t.pos, "expected an expression, found the end of the query")
	case tLong:
		p.take()
		return &Literal{Pos: t.pos, Type: table.TypeLong, Val: table.Long(t.i), Text: t.text}
	case tReal:
		p.take()
		return &Literal{Pos: t.pos, Type: table.TypeReal, Val: table.Real(t.f), Text: t.text}
	case tTimespan:
		p.take()
		return &Literal{Pos: t.pos, Type: table.TypeTimeSpan, Val: table.TimeSpanNanos(t.i), Text: t.text}
	case tString:
		p.take()
		s := t.text
		// Adjacent string literals concatenate.
		for p.cur().kind == tString {
			s += p.take().text
		}
		return &Literal{Pos: t.pos, Type: table.TypeString, Val: table.Str(s), Text: s}
	case tIdent:
		switch t.text {
		case "true", "false":
			p.take()
			return &Literal{Pos: t.pos, Type: table.TypeBool, Val: table.Bool(t.text == "true"), Text: t.text}
		case "null":
			p.take()
			return &Literal{Pos: t.pos, Text: "null"}
		}
		n := p.peekN(1)
		if n.kind == tPunct && n.text == "(" {
			if t.text == "dynamic" {
				return p.parseDynamicLit()
			}
			if typedLiterals[t.text] {
				return p.parseTypedLiteral()
			}
			return p.parseCall()
		}
		p.take()
		return &Ident{Pos: t.pos, Name: t.text}
	case tPunct:
		switch t.text {
		case "(":
			p.take()
			p.enter()
			x := p.parseTabular()
			p.leave()
			if p.isPunct(",") {
				// a tuple such as (a, b) inside in-lists of pairs: keep as a list
				l := &List{Pos: t.pos, Items: []Expr{x}}
				for p.accept(",") {
					l.Items = append(l.Items, p.parseExpr())
				}
				p.expect(")", "to close the parenthesis")
				return l
			}
			p.expect(")", "to close the parenthesis")
			return &Paren{Pos: t.pos, X: x}
		case "[":
			if p.isName() {
				name := p.parseName("")
				return &Ident{Pos: t.pos, Name: name, Quoted: true}
			}
		case "*":
			p.take()
			return &Star{Pos: t.pos}
		}
	}
	p.fail(t.pos, "expected an expression, found %s", t.describe())
	return nil
}

func (p *parser) parseCall() Expr {
	t := p.take()
	p.take() // (
	c := &Call{Pos: t.pos, Name: t.text}
	p.enter()
	defer p.leave()
	for !p.isPunct(")") {
		if p.isPunct("*") {
			n := p.peekN(1)
			if n.kind == tPunct && (n.text == ")" || n.text == ",") {
				p.take()
				c.Star = true
				c.Args = append(c.Args, &Star{Pos: n.pos})
				if !p.accept(",") {
					break
				}
				continue
			}
		}
		if p.nameThenAssign() {
			// named argument: keep the value
			p.parseName("")
			p.take()
		}
		c.Args = append(c.Args, p.parseTabular())
		if !p.accept(",") {
			break
		}
	}
	p.expect(")", "to close the call to "+t.text)
	return c
}

// parseTypedLiteral parses datetime(...), timespan(...), guid(...) and the
// other literals whose argument is raw text.
func (p *parser) parseTypedLiteral() Expr {
	name := p.take()
	open := p.take()
	if len(p.peekd) != 0 {
		// The lexer has scanned ahead; rewind to just after '('.
		p.peekd = p.peekd[:0]
	}
	p.lx = &lexer{src: p.lx.src, off: open.end, line: open.pos.Line, col: open.pos.Column + 1}
	rest := p.lx.src[open.end:]
	end := strings.IndexByte(rest, ')')
	if end < 0 {
		p.fail(open.pos, "expected ')' to close %s(", name.text)
	}
	raw := strings.TrimSpace(rest[:end])
	if len(raw) >= 2 && (raw[0] == '"' || raw[0] == '\'') && raw[len(raw)-1] == raw[0] {
		raw = raw[1 : len(raw)-1]
	}
	lit, err := typedLiteral(name.text, raw)
	if err != nil {
		p.fail(name.pos, "%s(%s): %v", name.text, raw, err)
	}
	p.lx.seek(open.end + end + 1)
	lit.Pos = name.pos
	return lit
}

func typedLiteral(typ, raw string) (*Literal, error) {
	if raw == "null" {
		return &Literal{Type: typeByName(typ), Val: table.Null, Text: typ + "(null)"}, nil
	}
	switch typ {
	case "datetime":
		ns, err := parseDateTime(raw)
		if err != nil {
			return nil, err
		}
		return &Literal{Type: table.TypeDateTime, Val: table.DateTimeNanos(ns), Text: raw}, nil
	case "time", "timespan":
		ns, err := parseTimespanText(raw)
		if err != nil {
			return nil, err
		}
		return &Literal{Type: table.TypeTimeSpan, Val: table.TimeSpanNanos(ns), Text: raw}, nil
	case "guid":
		return &Literal{Type: table.TypeGUID, Val: table.Str(raw), Text: raw}, nil
	case "string":
		return &Literal{Type: table.TypeString, Val: table.Str(raw), Text: raw}, nil
	case "long", "int":
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, errBadLiteral
		}
		if typ == "int" {
			return &Literal{Type: table.TypeInt, Val: table.Int(n), Text: raw}, nil
		}
		return &Literal{Type: table.TypeLong, Val: table.Long(n), Text: raw}, nil
	case "real", "double", "decimal":
		f, err := parseFloatLit(raw)
		if err != nil {
			return nil, errBadLiteral
		}
		return &Literal{Type: table.TypeReal, Val: table.Real(f), Text: raw}, nil
	case "bool", "boolean":
		switch strings.ToLower(raw) {
		case "true", "1":
			return &Literal{Type: table.TypeBool, Val: table.Bool(true), Text: raw}, nil
		case "false", "0":
			return &Literal{Type: table.TypeBool, Val: table.Bool(false), Text: raw}, nil
		}
		return nil, errBadLiteral
	}
	return nil, errBadLiteral
}

func typeByName(s string) table.Type {
	switch s {
	case "string":
		return table.TypeString
	case "bool", "boolean":
		return table.TypeBool
	case "int":
		return table.TypeInt
	case "long":
		return table.TypeLong
	case "real", "double", "decimal":
		return table.TypeReal
	case "datetime", "date":
		return table.TypeDateTime
	case "timespan", "time":
		return table.TypeTimeSpan
	case "dynamic":
		return table.TypeDynamic
	case "guid":
		return table.TypeGUID
	}
	return table.TypeInvalid
}

// parseDynamicLit parses dynamic(...) into compact JSON text.
func (p *parser) parseDynamicLit() Expr {
	t := p.take()
	p.take() // (
	var b []byte
	if p.isPunct(")") {
		p.take()
		return &Literal{Pos: t.pos, Type: table.TypeDynamic, Val: table.Null, Text: "dynamic()"}
	}
	b = p.dynamicValue(b)
	p.expect(")", "to close dynamic(")
	return &Literal{Pos: t.pos, Type: table.TypeDynamic, Val: table.Dynamic(string(b)), Text: string(b)}
}

func (p *parser) dynamicValue(b []byte) []byte {
	p.enter()
	defer p.leave()
	t := p.cur()
	switch {
	case t.kind == tPunct && t.text == "[":
		p.take()
		b = append(b, '[')
		for i := 0; !p.isPunct("]"); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.dynamicValue(b)
			if !p.accept(",") {
				break
			}
		}
		p.expect("]", "to close the dynamic array")
		return append(b, ']')
	case t.kind == tPunct && t.text == "{":
		p.take()
		b = append(b, '{')
		for i := 0; !p.isPunct("}"); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			k := p.cur()
			if k.kind != tString && k.kind != tIdent {
				p.fail(k.pos, "expected a property name in the dynamic object, found %s", k.describe())
			}
			p.take()
			b = appendJSONString(b, k.text)
			p.expect(":", "after the property name")
			b = append(b, ':')
			b = p.dynamicValue(b)
			if !p.accept(",") {
				break
			}
		}
		p.expect("}", "to close the dynamic object")
		return append(b, '}')
	}
	x := p.parseUnary()
	lit, ok := x.(*Literal)
	if !ok {
		p.fail(t.pos, "dynamic literals may contain only constants, found an expression")
	}
	return appendLiteralJSON(b, lit)
}
