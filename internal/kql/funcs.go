package kql

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/streamhunt/streamhunt/internal/table"
)

// funcSpec describes a built-in scalar function.
type funcSpec struct {
	min, max int  // argument counts; max < 0 means any
	impure   bool // reads the clock: never folded
	build    func(c *compiler, x *Call, args []*cexpr) *cexpr
}

var funcs map[string]funcSpec

// simple builds a function of a fixed result type from a value function.
func simple(typ table.Type, fn func(args []table.Value) table.Value) func(c *compiler, x *Call, args []*cexpr) *cexpr {
	return func(c *compiler, x *Call, args []*cexpr) *cexpr {
		fns := make([]evalFn, len(args))
		for i, a := range args {
			fns[i] = a.fn
		}
		switch len(fns) {
		case 1:
			f0 := fns[0]
			return &cexpr{typ: typ, fn: func(f *frame) table.Value {
				var buf [1]table.Value
				buf[0] = f0(f)
				return fn(buf[:])
			}}
		case 2:
			f0, f1 := fns[0], fns[1]
			return &cexpr{typ: typ, fn: func(f *frame) table.Value {
				var buf [2]table.Value
				buf[0], buf[1] = f0(f), f1(f)
				return fn(buf[:])
			}}
		}
		return &cexpr{typ: typ, fn: func(f *frame) table.Value {
			var buf [8]table.Value
			vals := buf[:0]
			for _, g := range fns {
				vals = append(vals, g(f))
			}
			return fn(vals)
		}}
	}
}

func isEmptyVal(v table.Value) bool {
	switch v.K {
	case table.KindNull:
		return true
	case table.KindString:
		return v.S == ""
	case table.KindDynamic:
		return v.S == `""`
	}
	return false
}

func toLongVal(v table.Value, typ table.Type) table.Value {
	v = dynScalar(v)
	mk := table.Long
	if typ == table.TypeInt {
		mk = table.Int
	}
	switch v.K {
	case table.KindInt, table.KindLong:
		return mk(v.I)
	case table.KindReal:
		if math.IsNaN(v.F) || math.IsInf(v.F, 0) {
			return table.Null
		}
		return mk(int64(v.F))
	case table.KindBool:
		return mk(v.I)
	case table.KindString:
		n, ok := parseNumber(strings.TrimSpace(v.S))
		if !ok {
			return table.Null
		}
		if n.isInt {
			return mk(n.i)
		}
		return mk(int64(n.f))
	case table.KindDateTime, table.KindTimeSpan:
		return mk(v.I / 100)
	}
	return table.Null
}

func toRealVal(v table.Value) table.Value {
	v = dynScalar(v)
	switch v.K {
	case table.KindInt, table.KindLong, table.KindBool:
		return table.Real(float64(v.I))
	case table.KindReal:
		return v
	case table.KindString:
		n, ok := parseNumber(strings.TrimSpace(v.S))
		if !ok {
			return table.Null
		}
		return table.Real(n.float())
	}
	return table.Null
}

func toBoolVal(v table.Value) table.Value {
	v = dynScalar(v)
	switch v.K {
	case table.KindBool:
		return v
	case table.KindInt, table.KindLong:
		return boolVal(v.I != 0)
	case table.KindReal:
		return boolVal(v.F != 0)
	case table.KindString:
		switch strings.ToLower(strings.TrimSpace(v.S)) {
		case "true", "1":
			return vTrue
		case "false", "0":
			return vFalse
		}
	}
	return table.Null
}

func toDateTimeVal(v table.Value) table.Value {
	v = dynScalar(v)
	switch v.K {
	case table.KindDateTime:
		return v
	case table.KindString:
		ns, err := parseDateTime(v.S)
		if err != nil {
			return table.Null
		}
		return table.DateTimeNanos(ns)
	}
	return table.Null
}

func toTimeSpanVal(v table.Value) table.Value {
	v = dynScalar(v)
	switch v.K {
	case table.KindTimeSpan:
		return v
	case table.KindString:
		ns, err := parseTimespanText(v.S)
		if err != nil {
			return table.Null
		}
		return table.TimeSpanNanos(ns)
	}
	return table.Null
}

// toDynamicVal is parse_json/todynamic: JSON text becomes dynamic; other
// text becomes a dynamic string.
func toDynamicVal(v table.Value) table.Value {
	switch v.K {
	case table.KindDynamic, table.KindNull:
		return v
	case table.KindString:
		s := strings.TrimSpace(v.S)
		if s == "" {
			return table.Null
		}
		if s[0] == '{' || s[0] == '[' || validJSON(s) {
			return table.Dynamic(s)
		}
		return table.Value{K: table.KindDynamic, S: string(appendJSONString(nil, v.S))}
	}
	var lit Literal
	lit.Val = v
	return table.Dynamic(string(appendLiteralJSON(nil, &lit)))
}

func substrRunes(s string, start, n int64) string {
	if isASCII(s) {
		l := int64(len(s))
		if start < 0 {
			start += l
			if start < 0 {
				start = 0
			}
		}
		if start >= l {
			return ""
		}
		end := l
		if n >= 0 && n < l-start {
			end = start + n
		}
		return s[start:end]
	}
	r := []rune(s)
	l := int64(len(r))
	if start < 0 {
		start += l
		if start < 0 {
			start = 0
		}
	}
	if start >= l {
		return ""
	}
	end := l
	if n >= 0 && n < l-start {
		end = start + n
	}
	return string(r[start:end])
}

func dayStart(ns int64) int64 {
	const day = 24 * 3600e9
	d := ns / day
	if ns < 0 && ns%day != 0 {
		d--
	}
	return d * day
}

func binVal(v, size table.Value) table.Value {
	v, size = dynScalar(v), dynScalar(size)
	if v.K == table.KindNull || size.K == table.KindNull {
		return table.Null
	}
	switch v.K {
	case table.KindDateTime, table.KindTimeSpan:
		if size.K != table.KindTimeSpan || size.I <= 0 {
			return table.Null
		}
		q := v.I / size.I
		if v.I < 0 && v.I%size.I != 0 {
			q--
		}
		return table.Value{K: v.K, I: q * size.I}
	case table.KindInt, table.KindLong:
		if size.K == table.KindInt || size.K == table.KindLong {
			if size.I <= 0 {
				return table.Null
			}
			q := v.I / size.I
			if v.I < 0 && v.I%size.I != 0 {
				q--
			}
			return table.Value{K: v.K, I: q * size.I}
		}
		fallthrough
	case table.KindReal:
		x, s := numOf(v).float(), numOf(size).float()
		if s <= 0 || !isNumKind(size.K) {
			return table.Null
		}
		return table.Real(math.Floor(x/s) * s)
	}
	return table.Null
}

// kustoRegexReplacement turns Kusto's \1 group references into Go's ${1}.
func kustoRegexReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			b.WriteString("${")
			b.WriteByte(s[i+1])
			b.WriteString("}")
			i++
			continue
		}
		if s[i] == '$' {
			b.WriteString("$$")
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func constRegex(c *compiler, x *Call, a *cexpr) *regexp.Regexp {
	if !a.konst || a.val.K != table.KindString {
		c.fail(a.pos, "%s needs a constant regular expression", x.Name)
	}
	re, err := regexp.Compile(a.val.S)
	if err != nil {
		c.fail(a.pos, "bad regular expression in %s: %v", x.Name, err)
	}
	return re
}

func init() {
	conv := func(typ table.Type, fn func(table.Value) table.Value) funcSpec {
		return funcSpec{1, 1, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			a := args[0].fn
			return &cexpr{typ: typ, fn: func(f *frame) table.Value { return fn(a(f)) }}
		}}
	}
	toLong := func(typ table.Type) funcSpec {
		return conv(typ, func(v table.Value) table.Value { return toLongVal(v, typ) })
	}
	funcs = map[string]funcSpec{
		"isempty":    conv(table.TypeBool, func(v table.Value) table.Value { return boolVal(isEmptyVal(v)) }),
		"isnotempty": conv(table.TypeBool, func(v table.Value) table.Value { return boolVal(!isEmptyVal(v)) }),
		"isnull":     conv(table.TypeBool, func(v table.Value) table.Value { return boolVal(v.K == table.KindNull) }),
		"isnotnull":  conv(table.TypeBool, func(v table.Value) table.Value { return boolVal(v.K != table.KindNull) }),
		"tostring": {1, 1, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			a := args[0].fn
			return &cexpr{typ: table.TypeString, fn: func(f *frame) table.Value {
				v := a(f)
				if v.K == table.KindString {
					return v
				}
				return table.Str(toStr(v))
			}}
		}},
		"toint":      toLong(table.TypeInt),
		"tolong":     toLong(table.TypeLong),
		"toreal":     conv(table.TypeReal, toRealVal),
		"todouble":   conv(table.TypeReal, toRealVal),
		"todecimal":  conv(table.TypeReal, toRealVal),
		"tobool":     conv(table.TypeBool, toBoolVal),
		"toboolean":  conv(table.TypeBool, toBoolVal),
		"todatetime": conv(table.TypeDateTime, toDateTimeVal),
		"totimespan": conv(table.TypeTimeSpan, toTimeSpanVal),
		"totime":     conv(table.TypeTimeSpan, toTimeSpanVal),
		"toguid":     conv(table.TypeGUID, func(v table.Value) table.Value { return table.Str(toStr(v)) }),
		"parse_json": conv(table.TypeDynamic, toDynamicVal),
		"todynamic":  conv(table.TypeDynamic, toDynamicVal),
		"tolower": conv(table.TypeString, func(v table.Value) table.Value {
			return table.Str(strings.ToLower(toStr(v)))
		}),
		"toupper": conv(table.TypeString, func(v table.Value) table.Value {
			return table.Str(strings.ToUpper(toStr(v)))
		}),
		"strlen": conv(table.TypeLong, func(v table.Value) table.Value {
			return table.Long(int64(utf8.RuneCountInString(toStr(v))))
		}),
		"strcat": {1, 64, false, simple(table.TypeString, func(a []table.Value) table.Value {
			var b strings.Builder
			for _, v := range a {
				b.WriteString(toStr(v))
			}
			return table.Str(b.String())
		})},
		"strcat_delim": {3, 64, false, simple(table.TypeString, func(a []table.Value) table.Value {
			parts := make([]string, len(a)-1)
			for i, v := range a[1:] {
				parts[i] = toStr(v)
			}
			return table.Str(strings.Join(parts, toStr(a[0])))
		})},
		"substring": {2, 3, false, simple(table.TypeString, func(a []table.Value) table.Value {
			st := toLongVal(a[1], table.TypeLong)
			n := int64(-1)
			if len(a) == 3 {
				l := toLongVal(a[2], table.TypeLong)
				if l.K == table.KindNull {
					return vEmpty
				}
				n = l.I
			}
			if st.K == table.KindNull {
				return vEmpty
			}
			return table.Str(substrRunes(toStr(a[0]), st.I, n))
		})},
		"split": {2, 3, false, simple(table.TypeDynamic, func(a []table.Value) table.Value {
			parts := strings.Split(toStr(a[0]), toStr(a[1]))
			if len(a) == 3 {
				i := toLongVal(a[2], table.TypeLong)
				if i.K == table.KindNull || i.I < 0 || i.I >= int64(len(parts)) {
					return table.Dynamic("[]")
				}
				parts = parts[i.I : i.I+1]
			}
			b := []byte{'['}
			for i, p := range parts {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, p)
			}
			return table.Dynamic(string(append(b, ']')))
		})},
		"replace_string": {3, 3, false, simple(table.TypeString, func(a []table.Value) table.Value {
			return table.Str(strings.ReplaceAll(toStr(a[0]), toStr(a[1]), toStr(a[2])))
		})},
		"indexof": {2, 5, false, simple(table.TypeLong, indexOf)},
		"countof": {2, 3, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			if len(args) == 3 && args[2].konst && toStr(args[2].val) == "regex" {
				re := constRegex(c, x, args[1])
				a := args[0].fn
				return &cexpr{typ: table.TypeLong, fn: func(f *frame) table.Value {
					return table.Long(int64(len(re.FindAllStringIndex(toStr(a(f)), -1))))
				}}
			}
			return simple(table.TypeLong, func(a []table.Value) table.Value {
				s, sub := toStr(a[0]), toStr(a[1])
				if sub == "" {
					return table.Long(0)
				}
				n := int64(0)
				for i := 0; ; {
					j := strings.Index(s[i:], sub)
					if j < 0 {
						break
					}
					n++
					_, size := utf8.DecodeRuneInString(s[i+j:])
					i += j + size
				}
				return table.Long(n)
			})(c, x, args[:2])
		}},
		"trim":       {2, 2, false, trimBuilder(true, true)},
		"trim_start": {2, 2, false, trimBuilder(true, false)},
		"trim_end":   {2, 2, false, trimBuilder(false, true)},
		"extract": {3, 4, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			re := constRegex(c, x, args[0])
			if !args[1].konst || !isNumKind(args[1].val.K) {
				c.fail(args[1].pos, "extract needs a constant capture group number")
			}
			g := int(args[1].val.I)
			if g < 0 || g > re.NumSubexp() {
				c.fail(args[1].pos, "extract: the expression has no capture group %d", g)
			}
			s := args[2].fn
			return &cexpr{typ: table.TypeString, fn: func(f *frame) table.Value {
				m := re.FindStringSubmatch(toStr(s(f)))
				if m == nil {
					return vEmpty
				}
				return table.Str(m[g])
			}}
		}},
		"replace_regex": {3, 3, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			re := constRegex(c, x, args[1])
			s, rw := args[0].fn, args[2].fn
			return &cexpr{typ: table.TypeString, fn: func(f *frame) table.Value {
				return table.Str(re.ReplaceAllString(toStr(s(f)), kustoRegexReplacement(toStr(rw(f)))))
			}}
		}},
		"ago": {1, 1, true, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			if t := args[0].typ; t != table.TypeTimeSpan && t != table.TypeDynamic && t != table.TypeInvalid {
				c.fail(args[0].pos, "ago needs a timespan such as 1d or 2h, not %s", typeName(t))
			}
			a := args[0].fn
			return &cexpr{typ: table.TypeDateTime, fn: func(f *frame) table.Value {
				d := toTimeSpanVal(a(f))
				if d.K == table.KindNull {
					return table.Null
				}
				return table.DateTimeNanos(f.now() - d.I)
			}}
		}},
		"now": {0, 1, true, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			if len(args) == 0 {
				return &cexpr{typ: table.TypeDateTime, fn: func(f *frame) table.Value { return table.DateTimeNanos(f.now()) }}
			}
			a := args[0].fn
			return &cexpr{typ: table.TypeDateTime, fn: func(f *frame) table.Value {
				d := toTimeSpanVal(a(f))
				if d.K == table.KindNull {
					return table.Null
				}
				return table.DateTimeNanos(f.now() + d.I)
			}}
		}},
		"ingestion_time": {0, 0, true, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			c.prog.warnings = append(c.prog.warnings, fmt.Sprintf("%d:%d: ingestion_time() is the evaluation time: a stream has no ingestion time", x.Pos.Line, x.Pos.Column))
			return &cexpr{typ: table.TypeDateTime, fn: func(f *frame) table.Value { return table.DateTimeNanos(f.now()) }}
		}},
		"iff": {3, 3, false, iffBuilder},
		"iif": {3, 3, false, iffBuilder},
		"case": {3, 255, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			if len(args)%2 == 0 {
				c.fail(x.Pos, "case needs predicate/value pairs and a final else value")
			}
			fns := make([]evalFn, len(args))
			for i, a := range args {
				fns[i] = a.fn
			}
			typ := args[1].typ
			return &cexpr{typ: typ, fn: func(f *frame) table.Value {
				for i := 0; i+1 < len(fns); i += 2 {
					if truth3(fns[i](f)) == 1 {
						return fns[i+1](f)
					}
				}
				return fns[len(fns)-1](f)
			}}
		}},
		"coalesce": {1, 64, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			fns := make([]evalFn, len(args))
			for i, a := range args {
				fns[i] = a.fn
			}
			return &cexpr{typ: args[0].typ, fn: func(f *frame) table.Value {
				var last table.Value
				for _, g := range fns {
					last = g(f)
					if !isEmptyVal(last) {
						return last
					}
				}
				return last
			}}
		}},
		"not": {1, 1, false, simple(table.TypeBool, func(a []table.Value) table.Value {
			return bool3(not3(truth3(a[0])))
		})},
		"array_length": conv(table.TypeLong, func(v table.Value) table.Value {
			if v.K != table.KindDynamic || len(v.S) == 0 || v.S[0] != '[' {
				return table.Null
			}
			n, ok := jsonLen(v.S)
			if !ok {
				return table.Null
			}
			return table.Long(int64(n))
		}),
		"bag_has_key": {2, 2, false, simple(table.TypeBool, func(a []table.Value) table.Value {
			if a[0].K != table.KindDynamic {
				return vFalse
			}
			_, ok := jsonMember(a[0].S, toStr(a[1]))
			return boolVal(ok)
		})},
		"dayofweek": conv(table.TypeTimeSpan, func(v table.Value) table.Value {
			v = toDateTimeVal(v)
			if v.K == table.KindNull {
				return v
			}
			wd := time.Unix(0, v.I).UTC().Weekday()
			return table.TimeSpanNanos(int64(wd) * 24 * 3600e9)
		}),
		"hourofday": conv(table.TypeInt, func(v table.Value) table.Value {
			v = toDateTimeVal(v)
			if v.K == table.KindNull {
				return v
			}
			return table.Int(int64(time.Unix(0, v.I).UTC().Hour()))
		}),
		"dayofmonth": conv(table.TypeInt, func(v table.Value) table.Value {
			v = toDateTimeVal(v)
			if v.K == table.KindNull {
				return v
			}
			return table.Int(int64(time.Unix(0, v.I).UTC().Day()))
		}),
		"getmonth": conv(table.TypeInt, func(v table.Value) table.Value {
			v = toDateTimeVal(v)
			if v.K == table.KindNull {
				return v
			}
			return table.Int(int64(time.Unix(0, v.I).UTC().Month()))
		}),
		"getyear": conv(table.TypeInt, func(v table.Value) table.Value {
			v = toDateTimeVal(v)
			if v.K == table.KindNull {
				return v
			}
			return table.Int(int64(time.Unix(0, v.I).UTC().Year()))
		}),
		"startofday": {1, 2, false, simple(table.TypeDateTime, func(a []table.Value) table.Value {
			v := toDateTimeVal(a[0])
			if v.K == table.KindNull {
				return v
			}
			ns := dayStart(v.I)
			if len(a) == 2 {
				off := toLongVal(a[1], table.TypeLong)
				if off.K != table.KindNull {
					ns += off.I * 24 * 3600e9
				}
			}
			return table.DateTimeNanos(ns)
		})},
		"bin": {2, 2, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			return simple(args[0].typ, func(a []table.Value) table.Value { return binVal(a[0], a[1]) })(c, x, args)
		}},
		"floor": {2, 2, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			return simple(args[0].typ, func(a []table.Value) table.Value { return binVal(a[0], a[1]) })(c, x, args)
		}},
		"datetime_part": {2, 2, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			if !args[0].konst || args[0].val.K != table.KindString {
				c.fail(args[0].pos, "datetime_part needs a constant part name such as \"hour\"")
			}
			part := strings.ToLower(args[0].val.S)
			get, ok := dateParts[part]
			if !ok {
				c.fail(args[0].pos, "datetime_part: unknown part %q", args[0].val.S)
			}
			a := args[1].fn
			return &cexpr{typ: table.TypeLong, fn: func(f *frame) table.Value {
				v := toDateTimeVal(a(f))
				if v.K == table.KindNull {
					return v
				}
				return table.Long(get(time.Unix(0, v.I).UTC()))
			}}
		}},
		"format_timespan": {2, 2, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			if !args[1].konst || args[1].val.K != table.KindString {
				c.fail(args[1].pos, "format_timespan needs a constant format")
			}
			format, a := args[1].val.S, args[0].fn
			return &cexpr{typ: table.TypeString, fn: func(f *frame) table.Value {
				v := toTimeSpanVal(a(f))
				if v.K == table.KindNull {
					return vEmpty
				}
				return table.Str(formatParts(format, timespanParts(v.I)))
			}}
		}},
		"format_datetime": {2, 2, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			if !args[1].konst || args[1].val.K != table.KindString {
				c.fail(args[1].pos, "format_datetime needs a constant format")
			}
			format, a := args[1].val.S, args[0].fn
			return &cexpr{typ: table.TypeString, fn: func(f *frame) table.Value {
				v := toDateTimeVal(a(f))
				if v.K == table.KindNull {
					return vEmpty
				}
				return table.Str(formatParts(format, dateTimeParts(v.I)))
			}}
		}},
		"abs": {1, 1, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			return simple(args[0].typ, func(a []table.Value) table.Value {
				v := dynScalar(a[0])
				switch v.K {
				case table.KindInt, table.KindLong, table.KindTimeSpan:
					if v.I < 0 {
						v.I = -v.I
					}
					return v
				case table.KindReal:
					return table.Real(math.Abs(v.F))
				}
				return table.Null
			})(c, x, args)
		}},
		"max_of": {2, 64, false, extremeBuilder(1)},
		"min_of": {2, 64, false, extremeBuilder(-1)},
		"column_ifexists": {2, 2, false, func(c *compiler, x *Call, args []*cexpr) *cexpr {
			panic("handled in call")
		}},
		"strcmp": {2, 2, false, simple(table.TypeInt, func(a []table.Value) table.Value {
			return table.Int(int64(strings.Compare(toStr(a[0]), toStr(a[1]))))
		})},
		"isnan": conv(table.TypeBool, func(v table.Value) table.Value {
			v = toRealVal(v)
			return boolVal(v.K == table.KindReal && math.IsNaN(v.F))
		}),
		"tohex": {1, 2, false, simple(table.TypeString, toHex)},
	}
	addMoreFuncs()
}

// toHex is tohex(value[, minLength]) as Kusto's reference page gives it:
// an int is printed as its 32-bit two's complement and a long as its
// 64-bit one (tohex(-256) is "ffffffffffffff00", tohex(toint(-256), 8) is
// "ffffff00"); minLength pads with leading zeros, is truncated to 16 and
// is ignored when the text is longer already. A value that is not a number
// gives "" (Kusto's null string).
func toHex(a []table.Value) table.Value {
	v := dynScalar(a[0])
	var s string
	if v.K == table.KindInt {
		s = strconv.FormatUint(uint64(uint32(v.I)), 16)
	} else {
		n := toLongVal(v, table.TypeLong)
		if n.K == table.KindNull {
			return vEmpty
		}
		s = strconv.FormatUint(uint64(n.I), 16)
	}
	if len(a) == 2 {
		if m := toLongVal(a[1], table.TypeLong); m.K != table.KindNull && int64(len(s)) < min(m.I, 16) {
			s = strings.Repeat("0", int(min(m.I, 16))-len(s)) + s
		}
	}
	return table.Str(s)
}

// indexOf is indexof(string, match[, start[, length[, occurrence]]]), in
// characters, as Kusto's reference page gives it: a negative start counts
// from the end; length -1 (the default) searches to the end, otherwise only
// the length characters from where the search starts are examined, and a
// match must lie inside them; occurrence (default 1) asks for the n-th
// match, each search after a match starting one character after it with
// the same length (the page's indexof("abcdefgabcdefg", "cde", 1, 10, 2) is
// 9). The result is -1 when there is no such match, and null when length
// is below -1, occurrence is negative, a negative start reaches before the
// string, or an argument is null. Occurrence 0 asks for no match: -1.
func indexOf(a []table.Value) table.Value {
	s, sub := toStr(a[0]), toStr(a[1])
	start, length, occ, ok := indexOptions(a[2:])
	if !ok {
		return table.Null
	}
	var r []rune
	n := int64(len(s))
	if !isASCII(s) {
		r = []rune(s)
		n = int64(len(r))
	}
	if start < 0 {
		start += n
		if start < 0 {
			return table.Null
		}
	}
	if occ == 0 || start > n {
		return table.Long(-1)
	}
	for k := int64(1); ; k++ {
		end := n
		if length >= 0 && length < n-start {
			end = start + length
		}
		var i int64
		if r == nil {
			i = int64(strings.Index(s[start:end], sub))
		} else {
			w := string(r[start:end])
			if j := strings.Index(w, sub); j >= 0 {
				i = int64(utf8.RuneCountInString(w[:j]))
			} else {
				i = -1
			}
		}
		if i < 0 {
			return table.Long(-1)
		}
		if k == occ {
			return table.Long(start + i)
		}
		start += i + 1
		if start > n {
			return table.Long(-1)
		}
	}
}

// indexOptions reads the optional start, length and occurrence arguments
// that indexof and array_index_of share (defaults 0, -1, 1); ok is false
// when one is null, length is below -1 or occurrence is negative.
func indexOptions(a []table.Value) (start, length, occ int64, ok bool) {
	opt := [3]int64{0, -1, 1}
	for i, x := range a {
		v := toLongVal(x, table.TypeLong)
		if v.K == table.KindNull {
			return 0, 0, 0, false
		}
		opt[i] = v.I
	}
	start, length, occ = opt[0], opt[1], opt[2]
	return start, length, occ, length >= -1 && occ >= 0
}

func extremeBuilder(sign int) func(c *compiler, x *Call, args []*cexpr) *cexpr {
	return func(c *compiler, x *Call, args []*cexpr) *cexpr {
		return simple(args[0].typ, func(a []table.Value) table.Value {
			var best table.Value
			for _, v := range a {
				v = dynScalar(v)
				if v.K == table.KindNull {
					continue
				}
				if best.K == table.KindNull {
					best = v
					continue
				}
				if n, ok := cmp3(v, best); ok && n*sign > 0 {
					best = v
				}
			}
			return best
		})(c, x, args)
	}
}

func iffBuilder(c *compiler, x *Call, args []*cexpr) *cexpr {
	p, a, b := args[0].fn, args[1].fn, args[2].fn
	typ := args[1].typ
	if typ == table.TypeInvalid {
		typ = args[2].typ
	}
	return &cexpr{typ: typ, fn: func(f *frame) table.Value {
		if truth3(p(f)) == 1 {
			return a(f)
		}
		return b(f)
	}}
}

func trimBuilder(start, end bool) func(c *compiler, x *Call, args []*cexpr) *cexpr {
	return func(c *compiler, x *Call, args []*cexpr) *cexpr {
		if !args[0].konst {
			c.fail(args[0].pos, "%s needs a constant regular expression", x.Name)
		}
		pat := toStr(args[0].val)
		var expr string
		switch {
		case start && end:
			expr = "^(?:" + pat + ")+|(?:" + pat + ")+$"
		case start:
			expr = "^(?:" + pat + ")+"
		default:
			expr = "(?:" + pat + ")+$"
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			c.fail(args[0].pos, "bad regular expression in %s: %v", x.Name, err)
		}
		s := args[1].fn
		return &cexpr{typ: table.TypeString, fn: func(f *frame) table.Value {
			return table.Str(re.ReplaceAllString(toStr(s(f)), ""))
		}}
	}
}

// call compiles a function call.
func (c *compiler) call(x *Call) *cexpr {
	if x.Name == "column_ifexists" && len(x.Args) == 2 {
		lit, ok := x.Args[0].(*Literal)
		if !ok || lit.Val.K != table.KindString {
			c.fail(x.Pos, "column_ifexists needs a constant column name")
		}
		granted := c.grant == Expr(x)
		if c.find(lit.Val.S) >= 0 {
			id := &Ident{Pos: x.Pos, Name: lit.Val.S}
			if granted {
				c.grant = id
			}
			return c.expr(id)
		}
		if granted {
			c.grant = unparen(x.Args[1])
		}
		return c.expr(x.Args[1])
	}
	spec, ok := funcs[x.Name]
	if !ok {
		if ls, ok := c.lets[x.Name]; ok {
			if ls.let.Func != nil {
				return c.callScalarFunc(x, ls)
			}
			c.fail(x.Pos, "%s is not a function", x.Name)
		}
		if _, ok := funcs[strings.ToLower(x.Name)]; ok {
			c.fail(x.Pos, "unknown function '%s' (function names are case-sensitive: write %s)", x.Name, strings.ToLower(x.Name))
		}
		if why, ok := unsupportedFuncs[x.Name]; ok {
			c.fail(x.Pos, "unsupported in per-record rules: %s (%s)", x.Name, why)
		}
		c.fail(x.Pos, "unknown function '%s'", x.Name)
	}
	if len(x.Args) < spec.min || (spec.max >= 0 && len(x.Args) > spec.max) {
		if spec.min == spec.max {
			c.fail(x.Pos, "%s takes %d argument(s), not %d", x.Name, spec.min, len(x.Args))
		}
		c.fail(x.Pos, "%s takes %d to %d arguments, not %d", x.Name, spec.min, spec.max, len(x.Args))
	}
	args := make([]*cexpr, len(x.Args))
	for i, a := range x.Args {
		if id, ok := unparen(a).(*Ident); ok {
			c.argIdent, c.argOf = id, x.Name
		}
		args[i] = c.expr(a)
	}
	c.checkArgs(x, args)
	e := spec.build(c, x, args)
	if spec.impure {
		return e
	}
	return fold(e, args...)
}

var unsupportedFuncs = map[string]string{
	"parse_user_agent":         "needs a user-agent parser, not available yet",
	"geo_info_from_ip_address": "needs a GeoIP database, not available yet",
	"toscalar":                 "needs a tabular subquery",
	"materialize":              "needs a tabular subquery",
	"table":                    "only allowed as the query's source",
	"row_number":               "needs row order",
	"prev":                     "needs row order",
	"next":                     "needs row order",
}

var dateParts = map[string]func(time.Time) int64{
	"year":    func(t time.Time) int64 { return int64(t.Year()) },
	"quarter": func(t time.Time) int64 { return int64(t.Month()-1)/3 + 1 },
	"month":   func(t time.Time) int64 { return int64(t.Month()) },
	"week_of_year": func(t time.Time) int64 {
		_, w := t.ISOWeek()
		return int64(w)
	},
	"day":         func(t time.Time) int64 { return int64(t.Day()) },
	"dayofyear":   func(t time.Time) int64 { return int64(t.YearDay()) },
	"hour":        func(t time.Time) int64 { return int64(t.Hour()) },
	"minute":      func(t time.Time) int64 { return int64(t.Minute()) },
	"second":      func(t time.Time) int64 { return int64(t.Second()) },
	"millisecond": func(t time.Time) int64 { return int64(t.Nanosecond() / 1e6) },
	"microsecond": func(t time.Time) int64 { return int64(t.Nanosecond() / 1e3) },
	"nanosecond":  func(t time.Time) int64 { return int64(t.Nanosecond()) },
}

// fmtParts are the fields a format string can print.
type fmtParts struct {
	year, month, day, hour, minute, second, days int64
	frac                                         int64 // 100 ns ticks within the second
	neg                                          bool
}

func timespanParts(ns int64) fmtParts {
	p := fmtParts{}
	if ns < 0 {
		p.neg = true
		ns = -ns
	}
	ticks := ns / 100
	p.days = ticks / 864000000000
	ticks %= 864000000000
	p.hour = ticks / 36000000000
	ticks %= 36000000000
	p.minute = ticks / 600000000
	ticks %= 600000000
	p.second = ticks / 10000000
	p.frac = ticks % 10000000
	return p
}

func dateTimeParts(ns int64) fmtParts {
	t := time.Unix(0, ns).UTC()
	return fmtParts{year: int64(t.Year()), month: int64(t.Month()), day: int64(t.Day()), hour: int64(t.Hour()),
		minute: int64(t.Minute()), second: int64(t.Second()), frac: int64(t.Nanosecond() / 100)}
}

// formatParts prints Kusto's .NET-style format specifiers (d, dd, h, hh,
// H, HH, m, mm, s, ss, f..fffffff, F.., y, yy, yyyy, M, MM, tt); other
// characters and quoted text are copied.
func formatParts(format string, p fmtParts) string {
	var b strings.Builder
	pad := func(n int64, w int) {
		s := strconv.FormatInt(n, 10)
		for i := len(s); i < w; i++ {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
	for i := 0; i < len(format); {
		ch := format[i]
		j := i
		for j < len(format) && format[j] == ch {
			j++
		}
		n := j - i
		switch ch {
		case 'd':
			if p.year == 0 {
				pad(p.days, n)
			} else {
				pad(p.day, n)
			}
		case 'h':
			h := p.hour
			if p.year != 0 {
				h = (h+11)%12 + 1
			}
			pad(h, n)
		case 'H':
			pad(p.hour, n)
		case 'm':
			pad(p.minute, n)
		case 's':
			pad(p.second, n)
		case 'y':
			if n <= 2 {
				pad(p.year%100, n)
			} else {
				pad(p.year, n)
			}
		case 'M':
			pad(p.month, n)
		case 'f', 'F':
			digits := strconv.FormatInt(p.frac+10000000, 10)[1:]
			if n > 7 {
				n = 7
			}
			d := digits[:n]
			if ch == 'F' {
				d = strings.TrimRight(d, "0")
			}
			b.WriteString(d)
		case 't':
			if p.hour < 12 {
				b.WriteString("AM"[:min(n, 2)])
			} else {
				b.WriteString("PM"[:min(n, 2)])
			}
		case '\'', '"':
			k := strings.IndexByte(format[i+1:], ch)
			if k < 0 {
				b.WriteString(format[i+1:])
				return b.String()
			}
			b.WriteString(format[i+1 : i+1+k])
			j = i + 2 + k
		case '\\':
			if i+1 < len(format) {
				b.WriteByte(format[i+1])
			}
			j = i + 2
		default:
			b.WriteString(format[i:j])
		}
		i = j
	}
	return b.String()
}
