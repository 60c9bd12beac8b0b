package kql

import (
	"github.com/streamhunt/streamhunt/internal/table"
)

// expandStage is mv-expand: each record gives one row per element of the
// expanded arrays or property bags, expanded in parallel.
type expandStage struct {
	items    []expandItem
	index    int // slot of with_itemindex, or -1
	limit    int
	bagArray bool // kind=array: a property becomes [key, value]
}

type expandItem struct {
	fn   evalFn
	slot int
	cast table.Type
	deps deps
}

// maxExpandItems is how many columns one mv-expand expands without
// allocating.
const maxExpandItems = 4

// run expands the record at stage i and runs the rest of the pipeline on
// each row.
func (e *expandStage) run(stages []stage, i int, f *frame, leaf func(*frame) bool) bool {
	var srcBuf [maxExpandItems]table.Value
	var curBuf [maxExpandItems]int
	srcs, cur := srcBuf[:0], curBuf[:0]
	if len(e.items) > maxExpandItems {
		srcs, cur = make([]table.Value, 0, len(e.items)), make([]int, 0, len(e.items))
	}
	rows := 0
	for _, it := range e.items {
		v := it.fn(f)
		srcs = append(srcs, v)
		cur = append(cur, -1)
		rows = max(rows, expandCount(v))
	}
	rows = min(rows, e.limit)
	for r := 0; r < rows; r++ {
		for k, it := range e.items {
			var el table.Value
			el, cur[k] = expandNext(srcs[k], cur[k], e.bagArray)
			f.ext[it.slot] = castElement(el, it.cast)
		}
		if e.index >= 0 {
			f.ext[e.index] = table.Long(int64(r))
		}
		if runFrom(stages, i+1, f, leaf) {
			return true
		}
	}
	return false
}

// expandCount is how many rows a value gives: one for null or a scalar,
// one per element of an array or property of a bag.
func expandCount(v table.Value) int {
	if v.K != table.KindDynamic || len(v.S) == 0 || (v.S[0] != '[' && v.S[0] != '{') {
		return 1
	}
	n, ok := jsonLen(v.S)
	if !ok {
		return 1
	}
	return n
}

// expandNext returns the element after byte offset cur (-1 for the first)
// and the offset to continue from; past the end it gives null.
func expandNext(v table.Value, cur int, bagArray bool) (table.Value, int) {
	if v.K != table.KindDynamic || len(v.S) == 0 || (v.S[0] != '[' && v.S[0] != '{') {
		if cur < 0 {
			return v, 0
		}
		return table.Null, cur
	}
	s := v.S
	i := cur
	if i < 0 {
		i = skipWS(s, 0) + 1
	}
	i = skipWS(s, i)
	if i < len(s) && s[i] == ',' {
		i = skipWS(s, i+1)
	}
	if i >= len(s) || s[i] == ']' || s[i] == '}' {
		return table.Null, i
	}
	if s[0] == '[' {
		end := skipValue(s, i)
		if end < 0 {
			return table.Null, len(s)
		}
		return dynFromRaw(s[i:end]), end
	}
	keyEnd := skipValue(s, i)
	if keyEnd < 0 {
		return table.Null, len(s)
	}
	colon := skipWS(s, keyEnd)
	if colon >= len(s) || s[colon] != ':' {
		return table.Null, len(s)
	}
	vStart := skipWS(s, colon+1)
	vEnd := skipValue(s, vStart)
	if vEnd < 0 {
		return table.Null, len(s)
	}
	var b []byte
	if bagArray {
		b = append(append(append(append(append(b, '['), s[i:keyEnd]...), ','), s[vStart:vEnd]...), ']')
	} else {
		b = append(append(append(append(append(b, '{'), s[i:keyEnd]...), ':'), s[vStart:vEnd]...), '}')
	}
	return table.Value{K: table.KindDynamic, S: string(b)}, vEnd
}

// castElement applies mv-expand's `to typeof(T)`: a cast, not a parse;
// an element of another type becomes null.
func castElement(v table.Value, t table.Type) table.Value {
	if t == table.TypeDynamic || t == table.TypeInvalid || v.K == table.KindNull {
		return v
	}
	s := dynScalar(v)
	switch t {
	case table.TypeString, table.TypeGUID:
		if s.K == table.KindString {
			return s
		}
	case table.TypeLong, table.TypeInt:
		if s.K == table.KindLong || s.K == table.KindInt {
			return table.Value{K: kindOfType(t), I: s.I}
		}
	case table.TypeReal:
		if isNumKind(s.K) {
			return table.Real(numOf(s).float())
		}
	case table.TypeBool:
		if s.K == table.KindBool {
			return s
		}
	case table.TypeDateTime:
		return toDateTimeVal(s)
	case table.TypeTimeSpan:
		return toTimeSpanVal(s)
	}
	return table.Null
}

func kindOfType(t table.Type) table.Kind {
	if t == table.TypeInt {
		return table.KindInt
	}
	return table.KindLong
}

// mvExpand compiles mv-expand.
func (c *compiler) mvExpand(op *Operator) {
	e := &expandStage{index: -1, limit: 1<<31 - 1}
	if op.Name == "mvexpand" {
		e.limit = 128
	}
	for _, o := range op.Options {
		id, _ := o.Value.(*Ident)
		switch o.Name {
		case "kind", "bagexpansion":
			if id == nil || (id.Name != "bag" && id.Name != "array") {
				c.fail(op.Pos, "mv-expand %s must be bag or array", o.Name)
			}
			e.bagArray = id.Name == "array"
		case "with_itemindex":
			if id == nil {
				c.fail(op.Pos, "with_itemindex needs a column name")
			}
		default:
			c.fail(op.Pos, "unsupported mv-expand option %s", o.Name)
		}
	}
	if op.Arg != nil {
		c.cur = deps{}
		l := c.expr(op.Arg)
		if !l.konst || !isNumKind(l.val.K) || l.val.I < 0 {
			c.fail(op.Arg.Position(), "mv-expand limit needs a constant count")
		}
		e.limit = int(l.val.I)
	}
	var refs []colRef
	for _, a := range op.Items {
		if len(a.Names) > 1 {
			c.fail(a.Pos, "mv-expand takes one name per expression")
		}
		c.cur = deps{}
		x := c.expr(a.Expr)
		if x.typ != table.TypeDynamic && x.typ != table.TypeInvalid {
			c.fail(a.Expr.Position(), "mv-expand needs a dynamic array or property bag, not %s; write todynamic(%s)", typeName(x.typ), exprText(a.Expr))
		}
		name := ""
		if len(a.Names) == 1 {
			name = a.Names[0]
		} else {
			name = c.autoName(a.Expr)
		}
		cast := table.TypeDynamic
		if a.Type != "" {
			cast = typeByName(a.Type)
			if cast == table.TypeInvalid {
				c.fail(a.Pos, "mv-expand: unknown type %s in typeof()", a.Type)
			}
		}
		slot := c.newSlot(c.cur)
		e.items = append(e.items, expandItem{fn: x.fn, slot: slot, cast: cast, deps: c.cur})
		refs = append(refs, colRef{name: name, typ: cast, src: -1, slot: slot})
	}
	for _, ref := range refs {
		if i := c.find(ref.name); i >= 0 {
			c.schema[i] = ref
		} else {
			c.schema = append(c.schema, ref)
		}
	}
	for _, o := range op.Options {
		if o.Name == "with_itemindex" {
			name := o.Value.(*Ident).Name
			e.index = c.newSlot(deps{})
			ref := colRef{name: name, typ: table.TypeLong, src: -1, slot: e.index}
			if i := c.find(name); i >= 0 {
				c.schema[i] = ref
			} else {
				c.schema = append(c.schema, ref)
			}
		}
	}
	c.prog.stages = append(c.prog.stages, stage{expand: e})
}
