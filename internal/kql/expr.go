package kql

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/streamhunt/streamhunt/internal/table"
)

// cexpr is a compiled scalar expression: its static type and its evaluator,
// or its value when it is constant.
type cexpr struct {
	typ   table.Type
	fn    evalFn
	konst bool
	val   table.Value
	col   *colRef // set when the expression is a plain column reference
	pos   Pos
}

func konstExpr(t table.Type, v table.Value) *cexpr {
	return &cexpr{typ: t, konst: true, val: v, fn: func(*frame) table.Value { return v }}
}

var (
	vTrue  = table.Bool(true)
	vFalse = table.Bool(false)
	vEmpty = table.Str("")
)

func boolVal(b bool) table.Value {
	if b {
		return vTrue
	}
	return vFalse
}

// bool3 maps a three-valued result (1 true, 0 false, -1 null) to a value.
func bool3(r int8) table.Value {
	switch r {
	case 1:
		return vTrue
	case 0:
		return vFalse
	}
	return table.Null
}

func not3(r int8) int8 {
	if r < 0 {
		return r
	}
	return 1 - r
}

// fold evaluates an expression whose inputs are all constant once, at
// compile time.
func fold(e *cexpr, args ...*cexpr) *cexpr {
	for _, a := range args {
		if !a.konst {
			return e
		}
	}
	v := e.fn(nil)
	k := konstExpr(e.typ, v)
	k.pos = e.pos
	return k
}

func isNumT(t table.Type) bool {
	return t == table.TypeInt || t == table.TypeLong || t == table.TypeReal
}

func isStrT(t table.Type) bool { return t == table.TypeString || t == table.TypeGUID }

func typeName(t table.Type) string {
	if t == table.TypeInvalid {
		return "null"
	}
	return t.String()
}

// expr compiles a scalar expression in the current schema.
func (c *compiler) expr(e Expr) *cexpr {
	ce := c.expr1(e)
	ce.pos = e.Position()
	return ce
}

func (c *compiler) expr1(e Expr) *cexpr {
	switch x := e.(type) {
	case *Literal:
		return konstExpr(x.Type, x.Val)
	case *Ident:
		return c.ident(x)
	case *Paren:
		if c.isTabular(x.X) {
			c.fail(x.Pos, "unsupported in per-record rules: a tabular subquery inside an expression")
		}
		return c.expr(x.X)
	case *Unary:
		v := c.expr(x.X)
		if x.Op == "+" {
			return v
		}
		if !isNumT(v.typ) && v.typ != table.TypeTimeSpan && v.typ != table.TypeDynamic && v.typ != table.TypeInvalid {
			c.fail(x.Pos, "unary '-' is not defined for %s", typeName(v.typ))
		}
		fn := v.fn
		return fold(&cexpr{typ: v.typ, fn: func(f *frame) table.Value {
			return arith('*', fn(f), table.Long(-1))
		}}, v)
	case *Binary:
		return c.binary(x)
	case *Between:
		return c.between(x)
	case *Call:
		return c.call(x)
	case *Member:
		return c.member(x)
	case *Index:
		return c.index(x)
	case *List:
		c.fail(x.Pos, "a parenthesised list is only allowed after in, !in, has_any or has_all")
	case *Star:
		c.fail(x.Pos, "'*' is not allowed here")
	case *Pipeline, *Union:
		c.fail(e.Position(), "unsupported in per-record rules: a tabular subquery inside an expression")
	}
	c.fail(e.Position(), "unsupported expression")
	return nil
}

func (c *compiler) ident(x *Ident) *cexpr {
	if i := c.find(x.Name); i >= 0 {
		ref := c.schema[i]
		r := &ref
		if ref.known != nil && c.grant != Expr(x) {
			use := ref.name + " in an expression"
			if c.argIdent == Expr(x) {
				use = ref.name + " inside " + c.argOf + "()"
			}
			c.knownRefuse(x.Pos, r, use)
		}
		if ref.src >= 0 {
			c.cur.src = append(c.cur.src, ref.src)
			i := ref.src
			if isStrT(ref.typ) {
				return &cexpr{typ: ref.typ, col: r, fn: func(f *frame) table.Value {
					v := f.row.Vals[i]
					if v.K == table.KindNull {
						return vEmpty
					}
					return v
				}}
			}
			return &cexpr{typ: ref.typ, col: r, fn: func(f *frame) table.Value { return f.row.Vals[i] }}
		}
		c.cur.slots = append(c.cur.slots, ref.slot)
		s := ref.slot
		return &cexpr{typ: ref.typ, col: r, fn: func(f *frame) table.Value { return f.ext[s] }}
	}
	if ls, ok := c.lets[x.Name]; ok {
		return c.letValue(x, ls)
	}
	if c.inFunc && c.schema == nil {
		c.fail(x.Pos, "unknown name '%s' (a let function's body cannot read the caller's columns: pass the column as an argument)", x.Name)
	}
	if c.tbl == nil || c.schema == nil {
		c.fail(x.Pos, "unknown name '%s' (a let value cannot read columns)", x.Name)
	}
	c.unknownColumn(x.Pos, x.Name)
	return nil
}

func (c *compiler) letValue(x *Ident, ls *letState) *cexpr {
	if ls.compiled != nil {
		return ls.compiled
	}
	if ls.let.Func != nil {
		c.fail(x.Pos, "unsupported in per-record rules: the let function %s used as a value", x.Name)
	}
	if c.dataTableOf(x) != nil {
		c.fail(x.Pos, "%s is a datatable: use it as a list, in in (%s), !in, in~, !in~, has_any or has_all", x.Name, x.Name)
	}
	if c.isTabularLet(ls) {
		c.fail(x.Pos, "unsupported in per-record rules: %s is a tabular let used inside an expression", x.Name)
	}
	if ls.compiling {
		c.fail(x.Pos, "let %s refers to itself", x.Name)
	}
	ls.compiling = true
	saved, savedDeps := c.schema, c.cur
	c.schema, c.cur = nil, deps{}
	v := c.expr(ls.let.Value)
	c.schema, c.cur = saved, savedDeps
	ls.compiling = false
	ls.compiled = v
	return v
}

func (c *compiler) binary(x *Binary) *cexpr {
	op := x.Op
	switch op {
	case "and", "or":
		l, r := c.expr(x.L), c.expr(x.R)
		for _, s := range []*cexpr{l, r} {
			if s.typ != table.TypeBool && s.typ != table.TypeDynamic && s.typ != table.TypeInvalid {
				c.fail(s.pos, "operator '%s' needs bool operands, not %s", op, typeName(s.typ))
			}
		}
		lf, rf := l.fn, r.fn
		if op == "and" {
			return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
				a := truth3(lf(f))
				if a == 0 {
					return vFalse
				}
				b := truth3(rf(f))
				if b == 0 {
					return vFalse
				}
				if a < 0 || b < 0 {
					return table.Null
				}
				return vTrue
			}}, l, r)
		}
		return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
			a := truth3(lf(f))
			if a == 1 {
				return vTrue
			}
			b := truth3(rf(f))
			if b == 1 {
				return vTrue
			}
			if a < 0 || b < 0 {
				return table.Null
			}
			return vFalse
		}}, l, r)
	case "==", "!=", "=~", "!~":
		return c.equality(x)
	case "<", "<=", ">", ">=":
		return c.ordering(x)
	case "+", "-", "*", "/", "%":
		l, r := c.expr(x.L), c.expr(x.R)
		t, ok := arithType(op[0], l.typ, r.typ)
		if !ok {
			hint := ""
			if op == "+" && (isStrT(l.typ) || isStrT(r.typ)) {
				hint = " (use strcat to join strings)"
			}
			c.fail(x.Pos, "operator '%s' not defined for %s and %s%s", op, typeName(l.typ), typeName(r.typ), hint)
		}
		lf, rf, o := l.fn, r.fn, op[0]
		return fold(&cexpr{typ: t, fn: func(f *frame) table.Value { return arith(o, lf(f), rf(f)) }}, l, r)
	case "in", "!in", "in~", "!in~":
		return c.in(x)
	case "has_any", "has_all":
		return c.hasAny(x)
	case "matches regex":
		l, r := c.whole(x.L), c.expr(x.R)
		if k := knownCol(l); k != nil {
			c.knownRefuse(x.Pos, k, "'"+k.name+" matches regex "+litText(r, x.R)+"'")
		}
		if !r.konst || r.val.K != table.KindString {
			c.fail(x.R.Position(), "matches regex needs a constant string pattern")
		}
		re, err := regexp.Compile(r.val.S)
		if err != nil {
			c.fail(x.R.Position(), "bad regular expression: %v", err)
		}
		lf := l.fn
		return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
			return boolVal(re.MatchString(toStr(lf(f))))
		}}, l)
	}
	if kind, neg, cs, ok := stringOp(op); ok {
		return c.strOp(x, kind, neg, cs)
	}
	c.fail(x.Pos, "unsupported operator '%s'", op)
	return nil
}

// truth3 reads a predicate value: 1 true, 0 false, -1 null.
func truth3(v table.Value) int8 {
	switch v.K {
	case table.KindBool:
		if v.I != 0 {
			return 1
		}
		return 0
	case table.KindDynamic:
		switch v.S {
		case "true":
			return 1
		case "false":
			return 0
		}
	}
	return -1
}

// String operators: kind is contains, startswith, endswith, has, hasprefix
// or hassuffix.
func stringOp(op string) (kind string, neg, cs, ok bool) {
	neg = strings.HasPrefix(op, "!")
	op = strings.TrimPrefix(op, "!")
	cs = strings.HasSuffix(op, "_cs")
	op = strings.TrimSuffix(op, "_cs")
	switch op {
	case "contains", "startswith", "endswith", "has", "hasprefix", "hassuffix":
		return op, neg, cs, true
	}
	return "", false, false, false
}

// strMatch applies a string operator; needle is lower-cased when !cs.
func strMatch(kind, h, needle string, cs bool) bool {
	switch kind {
	case "contains":
		if cs {
			return strings.Contains(h, needle)
		}
		return indexFold(h, needle, 0) >= 0
	case "startswith":
		if cs {
			return strings.HasPrefix(h, needle)
		}
		return hasPrefixFold(h, needle)
	case "endswith":
		if cs {
			return strings.HasSuffix(h, needle)
		}
		return hasSuffixFold(h, needle)
	case "has":
		return hasTerm(h, needle, !cs, false, false)
	case "hasprefix":
		return hasTerm(h, needle, !cs, true, false)
	case "hassuffix":
		return hasTerm(h, needle, !cs, false, true)
	}
	return false
}

func (c *compiler) strOp(x *Binary, kind string, neg, cs bool) *cexpr {
	if _, ok := x.L.(*Star); ok {
		return c.starStrOp(x, kind, neg, cs)
	}
	l, r := c.whole(x.L), c.expr(x.R)
	if k := knownCol(l); k != nil {
		c.knownRefuse(x.Pos, k, "'"+k.name+" "+x.Op+" "+litText(r, x.R)+"'")
	}
	lf, rf := l.fn, r.fn
	if r.konst {
		needle := toStr(r.val)
		if !cs {
			needle = strings.ToLower(needle)
		}
		return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
			return boolVal(strMatch(kind, toStr(lf(f)), needle, cs) != neg)
		}}, l)
	}
	return &cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
		needle := toStr(rf(f))
		if !cs {
			needle = strings.ToLower(needle)
		}
		return boolVal(strMatch(kind, toStr(lf(f)), needle, cs) != neg)
	}}
}

// A column whose schema lists Known values (EndpointCall in the Defender
// views) holds one of them or "" on the stream: the stream derives only
// those values, and "" stands for every value it cannot derive. Such a
// column may therefore only be
//   - compared as a whole with ==, =~ or in (and !=, !~, !in, in~, !in~)
//     against literals that are Known values, which the stream decides as
//     the real column would; or
//   - output as a whole (project, extend, project-rename keep the
//     restriction on the copy).
// Every other use (another literal, "", another operator, a function of
// the column) would be decided on "" where the real column holds a value
// the stream cannot derive, and is refused: whole grants the exception to
// the one column name that is a whole operand or output, and ident refuses
// every column name without it.

// whole compiles an expression that is a whole comparison operand or a
// whole output column: when it is a column name (or column_ifexists), that
// column may have Known values, and the caller checks the use (knownCol).
func (c *compiler) whole(e Expr) *cexpr {
	saved := c.grant
	switch x := unparen(e).(type) {
	case *Ident:
		c.grant = x
	case *Call:
		if x.Name == "column_ifexists" {
			c.grant = x
		}
	}
	v := c.expr(e)
	c.grant = saved
	return v
}

// knownCol returns the column with Known values that e reads as a whole,
// or nil.
func knownCol(e *cexpr) *colRef {
	if e.col != nil && e.col.known != nil {
		return e.col
	}
	return nil
}

// keepKnown carries the Known restriction to a column that copies one.
func keepKnown(ref *colRef, e *cexpr) {
	if k := knownCol(e); k != nil {
		ref.known, ref.knownFrom = k.known, k.knownFrom
	}
}

// isKnown reports whether the literal s is one of the Known values.
func isKnown(known []string, s string, fold bool) bool {
	for _, k := range known {
		if k == s || (fold && strings.EqualFold(k, s)) {
			return true
		}
	}
	return false
}

// knownRefuse refuses a use of a column with Known values; use describes
// it, with the user's literals as written.
func (c *compiler) knownRefuse(at Pos, ref *colRef, use string) {
	who := ref.name
	if ref.knownFrom != "" && ref.knownFrom != ref.name {
		who += " (" + ref.knownFrom + ")"
	}
	quoted := make([]string, len(ref.known))
	for i, k := range ref.known {
		quoted[i] = strconv.Quote(k)
	}
	vals := strings.Join(quoted, " or ")
	c.fail(at, "not evaluable on this stream: %s can only be derived as %s here (every other sign-in reads \"\"), so %s would never be decided honestly; compare %s itself with ==, =~ or in against %s (or !=, !~, !in), or output it unchanged",
		who, vals, use, ref.name, vals)
}

// litText prints an operand for a message: a constant as the user wrote
// its value, a column by name, anything else as "...".
func litText(e *cexpr, x Expr) string {
	if e.konst {
		if e.val.K == table.KindString {
			return strconv.Quote(e.val.S)
		}
		return toStr(e.val)
	}
	if t := exprText(x); t != "expression" && !strings.HasSuffix(t, "(...)") {
		return t
	}
	return "..."
}

func quoteValues(vals []table.Value) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		if v.K == table.KindString {
			q[i] = strconv.Quote(v.S)
		} else {
			q[i] = toStr(v)
		}
	}
	return "(" + strings.Join(q, ", ") + ")"
}

func (c *compiler) equality(x *Binary) *cexpr {
	l, r := c.whole(x.L), c.whole(x.R)
	lx, rx := x.L, x.R
	op := x.Op
	if l.konst && !r.konst {
		// Equality is symmetric: keep the constant on the right so the
		// fast paths and the Known check apply to "x" == Column too.
		l, r = r, l
		lx, rx = rx, lx
	}
	fold3 := op == "=~" || op == "!~"
	neg := op == "!=" || op == "!~"
	if k := knownCol(l); k != nil && !(r.konst && r.val.K == table.KindString && isKnown(k.known, r.val.S, fold3)) {
		c.knownRefuse(x.Pos, k, "'"+k.name+" "+op+" "+litText(r, rx)+"'")
	}
	if k := knownCol(r); k != nil {
		c.knownRefuse(x.Pos, k, "'"+k.name+" "+op+" "+litText(l, lx)+"'")
	}
	if !eqCompatible(l.typ, r.typ, fold3) {
		c.fail(x.Pos, "operator '%s' not defined for %s and %s", op, typeName(l.typ), typeName(r.typ))
	}
	lf, rf := l.fn, r.fn
	// A constant string against a bool, datetime or timespan is converted
	// once; one that does not convert is null, so unequal to every value.
	if strConvertible(l.typ) && r.konst && r.val.K == table.KindString {
		k := convertStr(r.val, table.Value{K: convKind(l.typ)})
		return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
			r := eq3(lf(f), k, false)
			if neg {
				r = not3(r)
			}
			return bool3(r)
		}}, l)
	}
	// Fast paths for a string column against a constant.
	if isStrT(l.typ) && r.konst {
		switch r.val.K {
		case table.KindString:
			s := r.val.S
			if fold3 {
				return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
					return boolVal(strings.EqualFold(lf(f).S, s) != neg)
				}}, l)
			}
			return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
				return boolVal((lf(f).S == s) != neg)
			}}, l)
		case table.KindLong, table.KindInt, table.KindReal:
			k := r.val
			return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
				n, ok := parseNumber(lf(f).S)
				return boolVal((ok && numEq(n, k)) != neg)
			}}, l)
		}
	}
	return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
		r := eq3(lf(f), rf(f), fold3)
		if neg {
			r = not3(r)
		}
		return bool3(r)
	}}, l, r)
}

func eqCompatible(a, b table.Type, fold bool) bool {
	if a == table.TypeInvalid || b == table.TypeInvalid || a == table.TypeDynamic || b == table.TypeDynamic {
		return true
	}
	if fold {
		return isStrT(a) && isStrT(b)
	}
	switch {
	case isStrT(a) && isStrT(b), isNumT(a) && isNumT(b):
		return true
	case isStrT(a) && isNumT(b), isNumT(a) && isStrT(b):
		return true // Kusto's == takes any scalar on the right
	case a == table.TypeBool && isNumT(b), isNumT(a) && b == table.TypeBool:
		return true // bool compares with 0 and 1
	case isStrT(a) && strConvertible(b), strConvertible(a) && isStrT(b):
		return true // the string is converted: tobool, todatetime, totimespan
	}
	return a == b
}

// strConvertible types compare for equality with a string by converting
// the string (Microsoft's analyzer accepts IsInteractive == "true" and
// TimeGenerated == "2026-11-18").
func strConvertible(t table.Type) bool {
	return t == table.TypeBool || t == table.TypeDateTime || t == table.TypeTimeSpan
}

// convertStr converts a string to the kind of v for an equality with v
// (null when it does not convert); other values are unchanged.
func convertStr(s table.Value, v table.Value) table.Value {
	switch v.K {
	case table.KindBool:
		return toBoolVal(s)
	case table.KindDateTime:
		return toDateTimeVal(s)
	case table.KindTimeSpan:
		return toTimeSpanVal(s)
	}
	return s
}

// ordCompatible is what Microsoft's analyzer accepts for <, <=, > and >=:
// numbers (a bool counts as one), two datetimes, two timespans, and a
// dynamic value with a number or another dynamic value. Strings, guids and
// a dynamic value against a string, datetime, timespan or bool are refused.
// between (inBetween) accepts the same but bools.
func ordCompatible(a, b table.Type) bool { return ordTypes(a, b, true) }

func ordTypes(a, b table.Type, bools bool) bool {
	if a == table.TypeInvalid || b == table.TypeInvalid {
		return true
	}
	num := func(t table.Type) bool { return isNumT(t) || bools && t == table.TypeBool }
	if a == table.TypeDynamic || b == table.TypeDynamic {
		o := a
		if a == table.TypeDynamic {
			o = b
		}
		return o == table.TypeDynamic || isNumT(o)
	}
	if num(a) && num(b) {
		return true
	}
	return a == b && (a == table.TypeDateTime || a == table.TypeTimeSpan)
}

func (c *compiler) ordering(x *Binary) *cexpr {
	l, r := c.whole(x.L), c.whole(x.R)
	for _, e := range []*cexpr{l, r} {
		if k := knownCol(e); k != nil {
			c.knownRefuse(x.Pos, k, "'"+k.name+" "+x.Op+" ...'")
		}
	}
	if !ordCompatible(l.typ, r.typ) {
		c.fail(x.Pos, "operator '%s' not defined for %s and %s", x.Op, typeName(l.typ), typeName(r.typ))
	}
	lf, rf := l.fn, r.fn
	var want func(int) bool
	switch x.Op {
	case "<":
		want = func(n int) bool { return n < 0 }
	case "<=":
		want = func(n int) bool { return n <= 0 }
	case ">":
		want = func(n int) bool { return n > 0 }
	default:
		want = func(n int) bool { return n >= 0 }
	}
	return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
		n, ok := cmp3(lf(f), rf(f))
		if !ok {
			return table.Null
		}
		return boolVal(want(n))
	}}, l, r)
}

func (c *compiler) between(x *Between) *cexpr {
	v, lo, hi := c.whole(x.X), c.expr(x.Lo), c.expr(x.Hi)
	if k := knownCol(v); k != nil {
		op := "between"
		if x.Not {
			op = "!between"
		}
		c.knownRefuse(x.Pos, k, "'"+k.name+" "+op+" (...)'")
	}
	if !ordTypes(v.typ, lo.typ, false) {
		c.fail(x.Pos, "between is not defined for %s and %s", typeName(v.typ), typeName(lo.typ))
	}
	relative := v.typ == table.TypeDateTime && hi.typ == table.TypeTimeSpan
	if !relative && !ordTypes(v.typ, hi.typ, false) {
		c.fail(x.Pos, "between is not defined for %s and %s", typeName(v.typ), typeName(hi.typ))
	}
	vf, lf, hf, neg := v.fn, lo.fn, hi.fn, x.Not
	return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
		a, l, h := vf(f), lf(f), hf(f)
		if relative && h.K == table.KindTimeSpan && l.K == table.KindDateTime {
			h = table.DateTimeNanos(l.I + h.I)
		}
		n1, ok1 := cmp3(a, l)
		n2, ok2 := cmp3(a, h)
		if !ok1 || !ok2 {
			return table.Null
		}
		return boolVal((n1 >= 0 && n2 <= 0) != neg)
	}}, v, lo, hi)
}

// inItems compiles the items of an in/has_any list, flattening constant
// dynamic arrays (such as a let-bound dynamic([...])). dyn holds the items
// that are not constant: an expression that reads them cannot be folded.
func (c *compiler) inItems(x *Binary) (consts []table.Value, dyn []*cexpr) {
	list, ok := x.R.(*List)
	if !ok {
		c.fail(x.R.Position(), "expected a parenthesised list after %s", x.Op)
	}
	for _, it := range list.Items {
		if dt := c.dataTableOf(it); dt != nil {
			consts = append(consts, c.dataTableValues(dt)...)
			continue
		}
		if c.isTabular(it) {
			c.fail(it.Position(), "unsupported in per-record rules: %s with a tabular subquery (it needs another table)", x.Op)
		}
		e := c.expr(it)
		if e.konst {
			if e.val.K == table.KindDynamic && len(e.val.S) > 0 && e.val.S[0] == '[' {
				jsonElements(e.val.S, func(el string) bool {
					consts = append(consts, dynScalar(dynFromRaw(el)))
					return true
				})
				continue
			}
			consts = append(consts, dynScalar(e.val))
			continue
		}
		dyn = append(dyn, e)
	}
	return consts, dyn
}

func (c *compiler) in(x *Binary) *cexpr {
	l := c.whole(x.L)
	consts, dyn := c.inItems(x)
	neg := strings.HasPrefix(x.Op, "!")
	fold3 := strings.HasSuffix(x.Op, "~")
	if k := knownCol(l); k != nil {
		ok := len(dyn) == 0 && len(consts) > 0
		for _, v := range consts {
			if v.K != table.KindString || !isKnown(k.known, v.S, fold3) {
				ok = false
			}
		}
		if !ok {
			list := "(...)"
			if len(dyn) == 0 {
				list = quoteValues(consts)
			}
			c.knownRefuse(x.Pos, k, "'"+k.name+" "+x.Op+" "+list+"'")
		}
	}
	for _, k := range consts {
		if !eqCompatible(l.typ, kindType(k.K), false) {
			c.fail(x.Pos, "operator '%s' not defined for %s and %s", x.Op, typeName(l.typ), typeName(kindType(k.K)))
		}
	}
	lf := l.fn
	dynFns := make([]evalFn, len(dyn))
	for i, d := range dyn {
		dynFns[i] = d.fn
	}
	// Fold only when every operand is constant: with a column in the list
	// ("x" in (AppDisplayName, AppId)) the left side alone being constant
	// says nothing, and evaluating the items needs a row.
	operands := append([]*cexpr{l}, dyn...)
	allStr := len(dyn) == 0
	for _, k := range consts {
		if k.K != table.KindString {
			allStr = false
		}
	}
	if allStr && isStrT(l.typ) {
		strs := make([]string, len(consts))
		for i, k := range consts {
			strs[i] = k.S
		}
		if fold3 {
			return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
				s := lf(f).S
				for _, k := range strs {
					if strings.EqualFold(s, k) {
						return boolVal(!neg)
					}
				}
				return boolVal(neg)
			}}, l)
		}
		if len(strs) > 8 {
			set := make(map[string]struct{}, len(strs))
			for _, k := range strs {
				set[k] = struct{}{}
			}
			return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
				_, ok := set[lf(f).S]
				return boolVal(ok != neg)
			}}, l)
		}
		return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
			s := lf(f).S
			for _, k := range strs {
				if s == k {
					return boolVal(!neg)
				}
			}
			return boolVal(neg)
		}}, l)
	}
	return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
		// x in (a, b) is x == a or x == b, and x !in (a, b) is x != a and
		// x != b, under eq3's null rules: a null x is in no list of
		// non-null items, a null item never matches a non-null x, and a
		// null x against a null item makes a miss null.
		v := dynScalar(lf(f))
		sawNull := false
		if v.K == table.KindString {
			// Parse a numeric string once for all the numeric items.
			if n, ok := parseNumber(v.S); ok {
				for _, k := range consts {
					if isNumKind(k.K) && numEq(n, k) {
						return boolVal(!neg)
					}
				}
			}
		}
		for _, k := range consts {
			if v.K == table.KindString && isNumKind(k.K) {
				continue
			}
			switch eq3(v, k, fold3) {
			case 1:
				return boolVal(!neg)
			case -1:
				sawNull = true
			}
		}
		for _, d := range dynFns {
			w := d(f)
			if w.K == table.KindDynamic && len(w.S) > 0 && w.S[0] == '[' {
				found := false
				jsonElements(w.S, func(el string) bool {
					switch eq3(v, dynFromRaw(el), fold3) {
					case 1:
						found = true
						return false
					case -1:
						sawNull = true
					}
					return true
				})
				if found {
					return boolVal(!neg)
				}
				continue
			}
			switch eq3(v, w, fold3) {
			case 1:
				return boolVal(!neg)
			case -1:
				sawNull = true
			}
		}
		if sawNull {
			return table.Null
		}
		return boolVal(neg)
	}}, operands...)
}

func (c *compiler) hasAny(x *Binary) *cexpr {
	l := c.whole(x.L)
	consts, dyn := c.inItems(x)
	if k := knownCol(l); k != nil {
		list := "(...)"
		if len(dyn) == 0 {
			list = quoteValues(consts)
		}
		c.knownRefuse(x.Pos, k, "'"+k.name+" "+x.Op+" "+list+"'")
	}
	if len(dyn) > 0 {
		c.fail(x.R.Position(), "%s needs constant terms in this engine", x.Op)
	}
	all := x.Op == "has_all"
	terms := make([]string, len(consts))
	for i, k := range consts {
		terms[i] = strings.ToLower(toStr(k))
	}
	lf := l.fn
	return fold(&cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
		h := toStr(lf(f))
		if all {
			for _, t := range terms {
				if !hasTerm(h, t, true, false, false) {
					return vFalse
				}
			}
			return vTrue
		}
		for _, t := range terms {
			if hasTerm(h, t, true, false, false) {
				return vTrue
			}
		}
		return vFalse
	}}, l)
}

func (c *compiler) member(x *Member) *cexpr {
	v := c.expr(x.X)
	c.needDynamic(v, x.X, "."+x.Name)
	vf, name := v.fn, x.Name
	return fold(&cexpr{typ: table.TypeDynamic, fn: func(f *frame) table.Value {
		return member(vf(f), name)
	}}, v)
}

func (c *compiler) needDynamic(v *cexpr, x Expr, access string) {
	if v.typ == table.TypeDynamic || v.typ == table.TypeInvalid {
		return
	}
	name := exprText(x)
	if v.col != nil && isStrT(v.typ) {
		c.fail(x.Position(), "element access %s%s is not allowed: %s is a string column in %s; write todynamic(%s)%s",
			name, access, name, c.tbl.Name, name, access)
	}
	c.fail(x.Position(), "element access %s%s is not allowed on a %s value; use todynamic() first", name, access, typeName(v.typ))
}

func exprText(e Expr) string {
	switch x := e.(type) {
	case *Ident:
		return x.Name
	case *Member:
		return exprText(x.X) + "." + x.Name
	case *Call:
		return x.Name + "(...)"
	}
	return "expression"
}

func (c *compiler) index(x *Index) *cexpr {
	v := c.expr(x.X)
	i := c.expr(x.Idx)
	c.needDynamic(v, x.X, "[...]")
	vf, idf := v.fn, i.fn
	return fold(&cexpr{typ: table.TypeDynamic, fn: func(f *frame) table.Value {
		d := vf(f)
		k := dynScalar(idf(f))
		switch k.K {
		case table.KindLong, table.KindInt:
			if d.K != table.KindDynamic {
				return table.Null
			}
			raw, ok := jsonIndex(d.S, int(k.I))
			if !ok {
				return table.Null
			}
			return dynFromRaw(raw)
		case table.KindString:
			return member(d, k.S)
		}
		return table.Null
	}}, v, i)
}

// member returns property name of a dynamic object value, or null.
func member(d table.Value, name string) table.Value {
	if d.K != table.KindDynamic {
		return table.Null
	}
	raw, ok := jsonMember(d.S, name)
	if !ok {
		return table.Null
	}
	return dynFromRaw(raw)
}

// dynFromRaw wraps JSON text as a dynamic value; JSON null is null.
func dynFromRaw(raw string) table.Value {
	if raw == "null" || raw == "" {
		return table.Null
	}
	return table.Value{K: table.KindDynamic, S: raw}
}

// dynScalar turns a dynamic holding a JSON string, number or bool into the
// scalar it holds; objects, arrays and non-dynamic values are unchanged.
func dynScalar(v table.Value) table.Value {
	if v.K != table.KindDynamic || len(v.S) == 0 {
		return v
	}
	s := v.S
	switch s[0] {
	case '"':
		return table.Str(jsonStringValue(s))
	case 't':
		if s == "true" {
			return vTrue
		}
	case 'f':
		if s == "false" {
			return vFalse
		}
	case '{', '[':
		return v
	default:
		if n, ok := parseNumber(s); ok {
			if n.isInt {
				return table.Long(n.i)
			}
			return table.Real(n.f)
		}
	}
	return v
}

func convKind(t table.Type) table.Kind {
	switch t {
	case table.TypeBool:
		return table.KindBool
	case table.TypeDateTime:
		return table.KindDateTime
	case table.TypeTimeSpan:
		return table.KindTimeSpan
	}
	return table.KindString
}

func isNumKind(k table.Kind) bool {
	return k == table.KindInt || k == table.KindLong || k == table.KindReal
}

func kindType(k table.Kind) table.Type {
	switch k {
	case table.KindString:
		return table.TypeString
	case table.KindBool:
		return table.TypeBool
	case table.KindInt:
		return table.TypeInt
	case table.KindLong:
		return table.TypeLong
	case table.KindReal:
		return table.TypeReal
	case table.KindDateTime:
		return table.TypeDateTime
	case table.KindTimeSpan:
		return table.TypeTimeSpan
	case table.KindDynamic:
		return table.TypeDynamic
	}
	return table.TypeInvalid
}

func numOf(v table.Value) numVal {
	if v.K == table.KindReal {
		return numVal{f: v.F}
	}
	return numVal{isInt: true, i: v.I}
}

func numEq(n numVal, k table.Value) bool {
	m := numOf(k)
	if n.isInt && m.isInt {
		return n.i == m.i
	}
	return n.float() == m.float()
}

// eq3 compares two values for ==: 1 equal, 0 not, -1 (null) when both
// are null.
//
// Kusto's "Null values" page (learn.microsoft.com/kusto/query/scalar-data-types/null-values,
// "Equality and inequality of null values") says: applying == to two null
// values yields bool(null), and to a null value and a non-null value
// yields bool(false); applying != to two null values yields bool(null), and
// to a null value and a non-null value yields bool(true). So != is not3 of
// this result, and in/!in, which test == against each item, follow. The
// ordering operators are not covered by that exception and give null for a
// null operand (the page's example: val > 3 is null when val is null);
// not() of null stays null. Strings are never null (an absent string is
// ""), so a string compared with a null is a non-null compared with a null.
func eq3(a, b table.Value, fold bool) int8 {
	a, b = dynScalar(a), dynScalar(b)
	if a.K == table.KindNull || b.K == table.KindNull {
		if a.K == b.K {
			return -1
		}
		return 0
	}
	r := false
	switch {
	case a.K == table.KindString && b.K == table.KindString:
		if fold {
			r = strings.EqualFold(a.S, b.S)
		} else {
			r = a.S == b.S
		}
	case isNumKind(a.K) && isNumKind(b.K):
		r = numEq(numOf(a), b)
	case a.K == table.KindString && isNumKind(b.K):
		n, ok := parseNumber(a.S)
		r = ok && numEq(n, b)
	case isNumKind(a.K) && b.K == table.KindString:
		n, ok := parseNumber(b.S)
		r = ok && numEq(n, a)
	case a.K == table.KindBool && b.K == table.KindBool:
		r = a.I == b.I
	case a.K == table.KindBool && isNumKind(b.K):
		r = numEq(numVal{isInt: true, i: a.I}, b)
	case isNumKind(a.K) && b.K == table.KindBool:
		r = numEq(numVal{isInt: true, i: b.I}, a)
	case a.K == table.KindBool && b.K == table.KindString:
		bv := toBoolVal(b)
		r = bv.K == table.KindBool && bv.I == a.I
	case a.K == table.KindString && b.K == table.KindBool:
		av := toBoolVal(a)
		r = av.K == table.KindBool && av.I == b.I
	case a.K == table.KindTimeSpan && b.K == table.KindString:
		ns, err := parseTimespanText(b.S)
		r = err == nil && ns == a.I
	case a.K == table.KindString && b.K == table.KindTimeSpan:
		ns, err := parseTimespanText(a.S)
		r = err == nil && ns == b.I
	case a.K == b.K && (a.K == table.KindDateTime || a.K == table.KindTimeSpan):
		r = a.I == b.I
	case a.K == table.KindDateTime && b.K == table.KindString:
		ns, err := parseDateTime(b.S)
		r = err == nil && ns == a.I
	case a.K == table.KindString && b.K == table.KindDateTime:
		ns, err := parseDateTime(a.S)
		r = err == nil && ns == b.I
	case a.K == table.KindDynamic && b.K == table.KindDynamic:
		r = a.S == b.S
	case a.K == table.KindDynamic && b.K == table.KindString:
		r = a.S == b.S
	case a.K == table.KindString && b.K == table.KindDynamic:
		r = a.S == b.S
	}
	if r {
		return 1
	}
	return 0
}

func boolText(v table.Value) string {
	if v.I != 0 {
		return "true"
	}
	return "false"
}

// cmp3 orders two values; ok is false when either is null or they do not
// compare.
func cmp3(a, b table.Value) (int, bool) {
	a, b = dynScalar(a), dynScalar(b)
	if a.K == table.KindNull || b.K == table.KindNull {
		return 0, false
	}
	if a.K == table.KindBool {
		a.K = table.KindLong
	}
	if b.K == table.KindBool {
		b.K = table.KindLong
	}
	switch {
	case isNumKind(a.K) && isNumKind(b.K):
		return cmpNum(numOf(a), numOf(b)), true
	case a.K == table.KindString && isNumKind(b.K):
		n, ok := parseNumber(a.S)
		return cmpNum(n, numOf(b)), ok
	case isNumKind(a.K) && b.K == table.KindString:
		n, ok := parseNumber(b.S)
		return cmpNum(numOf(a), n), ok
	case a.K == b.K && (a.K == table.KindDateTime || a.K == table.KindTimeSpan):
		return cmpInt(a.I, b.I), true
	case a.K == table.KindString && b.K == table.KindString:
		return strings.Compare(a.S, b.S), true
	case a.K == table.KindDateTime && b.K == table.KindString:
		ns, err := parseDateTime(b.S)
		return cmpInt(a.I, ns), err == nil
	case a.K == table.KindString && b.K == table.KindDateTime:
		ns, err := parseDateTime(a.S)
		return cmpInt(ns, b.I), err == nil
	}
	return 0, false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpNum(a, b numVal) int {
	if a.isInt && b.isInt {
		return cmpInt(a.i, b.i)
	}
	x, y := a.float(), b.float()
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// arithType is the static result type of an arithmetic operator.
func arithType(op byte, a, b table.Type) (table.Type, bool) {
	if a == table.TypeInvalid || b == table.TypeInvalid {
		return table.TypeInvalid, true
	}
	if a == table.TypeDynamic || b == table.TypeDynamic {
		if isStrT(a) || isStrT(b) {
			return 0, false
		}
		return table.TypeDynamic, true
	}
	switch {
	case isNumT(a) && isNumT(b):
		if a == table.TypeReal || b == table.TypeReal {
			return table.TypeReal, true
		}
		if a == table.TypeInt && b == table.TypeInt {
			return table.TypeInt, true
		}
		return table.TypeLong, true
	case a == table.TypeDateTime && b == table.TypeDateTime && op == '-':
		return table.TypeTimeSpan, true
	case a == table.TypeDateTime && b == table.TypeTimeSpan && (op == '+' || op == '-'):
		return table.TypeDateTime, true
	case a == table.TypeTimeSpan && b == table.TypeDateTime && op == '+':
		return table.TypeDateTime, true
	case a == table.TypeTimeSpan && b == table.TypeTimeSpan:
		if op == '/' {
			return table.TypeReal, true
		}
		if op == '*' {
			return 0, false
		}
		return table.TypeTimeSpan, true
	case a == table.TypeTimeSpan && isNumT(b) && (op == '*' || op == '/'):
		return table.TypeTimeSpan, true
	case isNumT(a) && b == table.TypeTimeSpan && op == '*':
		return table.TypeTimeSpan, true
	}
	return 0, false
}

// arith applies an arithmetic operator to runtime values.
func arith(op byte, a, b table.Value) table.Value {
	a, b = dynScalar(a), dynScalar(b)
	if a.K == table.KindNull || b.K == table.KindNull {
		return table.Null
	}
	ai, bi := a.K == table.KindInt || a.K == table.KindLong, b.K == table.KindInt || b.K == table.KindLong
	switch {
	case ai && bi:
		var r int64
		switch op {
		case '+':
			r = a.I + b.I
		case '-':
			r = a.I - b.I
		case '*':
			r = a.I * b.I
		case '/':
			if b.I == 0 {
				return table.Null
			}
			r = a.I / b.I
		case '%':
			if b.I == 0 {
				return table.Null
			}
			r = a.I % b.I
		}
		if a.K == table.KindInt && b.K == table.KindInt {
			return table.Int(r)
		}
		return table.Long(r)
	case isNumKind(a.K) && isNumKind(b.K):
		x, y := numOf(a).float(), numOf(b).float()
		switch op {
		case '+':
			return table.Real(x + y)
		case '-':
			return table.Real(x - y)
		case '*':
			return table.Real(x * y)
		case '/':
			return table.Real(x / y)
		case '%':
			return table.Real(math.Mod(x, y))
		}
	case a.K == table.KindDateTime && b.K == table.KindDateTime && op == '-':
		return table.TimeSpanNanos(a.I - b.I)
	case a.K == table.KindDateTime && b.K == table.KindTimeSpan:
		if op == '+' {
			return table.DateTimeNanos(a.I + b.I)
		}
		if op == '-' {
			return table.DateTimeNanos(a.I - b.I)
		}
	case a.K == table.KindTimeSpan && b.K == table.KindDateTime && op == '+':
		return table.DateTimeNanos(a.I + b.I)
	case a.K == table.KindTimeSpan && b.K == table.KindTimeSpan:
		switch op {
		case '+':
			return table.TimeSpanNanos(a.I + b.I)
		case '-':
			return table.TimeSpanNanos(a.I - b.I)
		case '/':
			if b.I == 0 {
				return table.Null
			}
			return table.Real(float64(a.I) / float64(b.I))
		case '%':
			if b.I == 0 {
				return table.Null
			}
			return table.TimeSpanNanos(a.I % b.I)
		}
	case a.K == table.KindTimeSpan && isNumKind(b.K):
		y := numOf(b).float()
		switch op {
		case '*':
			return table.TimeSpanNanos(int64(float64(a.I) * y))
		case '/':
			if y == 0 {
				return table.Null
			}
			return table.TimeSpanNanos(int64(float64(a.I) / y))
		}
	case isNumKind(a.K) && b.K == table.KindTimeSpan && op == '*':
		return table.TimeSpanNanos(int64(numOf(a).float() * float64(b.I)))
	}
	return table.Null
}

// toStr converts a value to a string as tostring() does.
func toStr(v table.Value) string {
	switch v.K {
	case table.KindString:
		return v.S
	case table.KindNull:
		return ""
	case table.KindDynamic:
		if len(v.S) > 0 && v.S[0] == '"' {
			return jsonStringValue(v.S)
		}
		return compactDynamic(v).S
	case table.KindBool:
		return boolText(v)
	case table.KindInt, table.KindLong:
		return strconv.FormatInt(v.I, 10)
	case table.KindReal:
		return formatReal(v.F)
	case table.KindDateTime:
		return time.Unix(0, v.I).UTC().Format("2006-01-02T15:04:05.9999999Z")
	case table.KindTimeSpan:
		return formatTimespan(v.I)
	}
	return ""
}

func formatReal(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	// Kusto (.NET) prints the shortest form that reads back, in scientific
	// notation (E, a sign and two exponent digits at least) when the
	// exponent is below -4 or 15 and above: 1E+20, 1.5E-07, 0.0001,
	// 100000000000000.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	i := strings.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(e[i+1:])
	if exp < -4 || exp >= 15 {
		return e[:i] + "E" + e[i+1:]
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// compactDynamic removes white space outside strings from dynamic JSON text
// (for output only).
func compactDynamic(v table.Value) table.Value {
	s := v.S
	needs := false
	inStr := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if inStr {
			if ch == '\\' {
				i++
			} else if ch == '"' {
				inStr = false
			}
			continue
		}
		if ch == '"' {
			inStr = true
		} else if ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' {
			needs = true
			break
		}
	}
	if !needs {
		return v
	}
	b := make([]byte, 0, len(s))
	inStr = false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if inStr {
			b = append(b, ch)
			if ch == '\\' && i+1 < len(s) {
				i++
				b = append(b, s[i])
			} else if ch == '"' {
				inStr = false
			}
			continue
		}
		switch ch {
		case '"':
			inStr = true
			b = append(b, ch)
		case ' ', '\n', '\t', '\r':
		default:
			b = append(b, ch)
		}
	}
	return table.Value{K: table.KindDynamic, S: string(b)}
}

var _ = fmt.Sprintf

// starStrOp compiles `* has "x"` and the like: true when any column of the
// current schema matches.
func (c *compiler) starStrOp(x *Binary, kind string, neg, cs bool) *cexpr {
	r := c.expr(x.R)
	if !r.konst {
		c.fail(x.R.Position(), "%s over * needs a constant string", x.Op)
	}
	for i := range c.schema {
		if k := &c.schema[i]; k.known != nil {
			c.knownRefuse(x.Pos, k, "'* "+x.Op+" "+litText(r, x.R)+"' (it searches "+k.name+" too)")
		}
	}
	needle := toStr(r.val)
	if !cs {
		needle = strings.ToLower(needle)
	}
	fns := make([]evalFn, len(c.schema))
	for i, ref := range c.schema {
		fns[i] = c.expr(&Ident{Pos: x.Pos, Name: ref.name}).fn
	}
	return &cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
		for _, g := range fns {
			if strMatch(kind, toStr(g(f)), needle, cs) {
				return boolVal(!neg)
			}
		}
		return boolVal(neg)
	}}
}
