package kql

import (
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/streamhunt/streamhunt/internal/table"
)

// This file holds the IP-address, array, property-bag, datetime_diff,
// round and gettype functions, each as Kusto's reference page
// (learn.microsoft.com/kusto/query/<name>-function) describes it. Constant
// arguments (ranges, address lists, regular expressions, periods) are
// parsed once, when the rule is compiled.

// argKind is what Kusto's analyzer accepts for an argument. A dynamic value
// and a typeless null are accepted for every kind.
type argKind int

const (
	argAny           argKind = iota
	argString                // string (or guid)
	argLong                  // int or long
	argNumber                // int, long or real
	argDateTime              // datetime
	argArray                 // dynamic only
	argStringOrArray         // string or dynamic
)

func (k argKind) accepts(t table.Type) bool {
	if t == table.TypeInvalid || t == table.TypeDynamic {
		return true
	}
	switch k {
	case argString, argStringOrArray:
		return isStrT(t)
	case argLong:
		return t == table.TypeInt || t == table.TypeLong
	case argNumber:
		return isNumT(t)
	case argDateTime:
		return t == table.TypeDateTime
	case argArray:
		return false
	}
	return true
}

var argKindNames = map[argKind]string{
	argString: "a string", argLong: "an int or long", argNumber: "a number", argDateTime: "a datetime",
	argArray: "a dynamic array", argStringOrArray: "a string or a dynamic array",
}

// argRules lists, per function, the kinds of its arguments; the last kind
// applies to any further arguments.
var argRules = map[string][]argKind{
	"ipv4_is_in_range":     {argString, argString},
	"ipv4_is_in_any_range": {argString, argStringOrArray},
	"ipv4_is_private":      {argString},
	"ipv4_is_match":        {argString, argString, argLong},
	"ipv4_compare":         {argString, argString, argLong},
	"ipv6_is_match":        {argString, argString, argLong},
	"parse_ipv4":           {argString},
	"has_ipv4":             {argString, argString},
	"has_ipv4_prefix":      {argString, argString},
	"has_any_ipv4":         {argString, argStringOrArray},
	"has_any_ipv4_prefix":  {argString, argStringOrArray},
	"datetime_diff":        {argString, argDateTime, argDateTime},
	"bag_pack":             {argString, argAny},
	"pack":                 {argString, argAny},
	"pack_dictionary":      {argString, argAny},
	"extract_all":          {argString, argAny},
	"array_index_of":       {argArray, argAny, argLong},
	"set_has_element":      {argArray, argAny},
	"round":                {argNumber, argLong},
	"array_length":         {argArray},
	"strcat_array":         {argArray, argString},
}

// checkArgs refuses an argument of a kind the function does not take.
func (c *compiler) checkArgs(x *Call, args []*cexpr) {
	rules, ok := argRules[x.Name]
	if !ok {
		return
	}
	for i, a := range args {
		k := rules[min(i, len(rules)-1)]
		switch x.Name {
		case "bag_pack", "pack", "pack_dictionary":
			k = rules[i%2] // key, value, key, value, ...
		case "extract_all":
			if i == len(args)-1 {
				k = argString // the source; the groups come between
			}
		}
		if !k.accepts(a.typ) {
			c.fail(a.pos, "%s: argument %d must be %s, not %s", x.Name, i+1, argKindNames[k], typeName(a.typ))
		}
	}
}

// IPv4 addresses.

// parseIPv4 parses "a.b.c.d" with an optional "/n" prefix length (0 to 32)
// into the address and the prefix length (32 without one).
func parseIPv4(s string) (addr uint32, prefix int, ok bool) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		p, err := strconv.Atoi(s[i+1:])
		if err != nil || p < 0 || p > 32 || strings.HasPrefix(s[i+1:], "+") {
			return 0, 0, false
		}
		a, ok := parseIPv4Addr(s[:i])
		return a, p, ok
	}
	a, ok := parseIPv4Addr(s)
	return a, 32, ok
}

// parseIPv4Addr parses exactly four decimal octets.
func parseIPv4Addr(s string) (uint32, bool) {
	var addr uint32
	for part := 0; part < 4; part++ {
		if part > 0 {
			if len(s) == 0 || s[0] != '.' {
				return 0, false
			}
			s = s[1:]
		}
		n, digits := 0, 0
		for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
			n = n*10 + int(s[digits]-'0')
			digits++
			if digits > 3 {
				return 0, false
			}
		}
		if digits == 0 || n > 255 {
			return 0, false
		}
		addr = addr<<8 | uint32(n)
		s = s[digits:]
	}
	return addr, len(s) == 0
}

func mask4(prefix int) uint32 {
	if prefix <= 0 {
		return 0
	}
	return ^uint32(0) << (32 - prefix)
}

// ipv4Range is a parsed a.b.c.d/n.
type ipv4Range struct {
	addr   uint32
	prefix int
}

func (r ipv4Range) contains(a uint32) bool {
	m := mask4(r.prefix)
	return a&m == r.addr&m
}

func valueIPv4(v table.Value) (ipv4Range, bool) {
	v = dynScalar(v)
	if v.K != table.KindString {
		return ipv4Range{}, false
	}
	a, p, ok := parseIPv4(v.S)
	return ipv4Range{a, p}, ok
}

// constIPv4 parses a constant address or range once; ok is false for a
// non-constant argument, and bad is true for a constant that is not one.
func constIPv4(a *cexpr) (r ipv4Range, ok, bad bool) {
	if !a.konst {
		return ipv4Range{}, false, false
	}
	r, good := valueIPv4(a.val)
	return r, true, !good
}

// ipv4Pair builds a function of two addresses (and an optional prefix
// length): both parsed, the combined prefix the smallest of theirs and
// the argument's; null when either does not parse or the prefix is out
// of 0..32.
func ipv4Pair(fn func(a, b uint32) table.Value) func(c *compiler, x *Call, args []*cexpr) *cexpr {
	return func(c *compiler, x *Call, args []*cexpr) *cexpr {
		typ := table.TypeBool
		if x.Name == "ipv4_compare" {
			typ = table.TypeLong
		}
		return simple(typ, func(a []table.Value) table.Value {
			r1, ok1 := valueIPv4(a[0])
			r2, ok2 := valueIPv4(a[1])
			if !ok1 || !ok2 {
				return table.Null
			}
			p := min(r1.prefix, r2.prefix)
			if len(a) == 3 {
				n := toLongVal(a[2], table.TypeLong)
				if n.K == table.KindNull || n.I < 0 || n.I > 32 {
					return table.Null
				}
				p = min(p, int(n.I))
			}
			m := mask4(p)
			return fn(r1.addr&m, r2.addr&m)
		})(c, x, args)
	}
}

var privateIPv4 = []ipv4Range{{0x0A000000, 8}, {0xAC100000, 12}, {0xC0A80000, 16}}

func ipv4InRangeBuilder(c *compiler, x *Call, args []*cexpr) *cexpr {
	if r, ok, bad := constIPv4(args[1]); ok {
		if bad {
			return konstExpr(table.TypeBool, table.Null)
		}
		a := args[0].fn
		return &cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
			ip, ok := valueIPv4(a(f))
			if !ok {
				return table.Null
			}
			return boolVal(r.contains(ip.addr))
		}}
	}
	return simple(table.TypeBool, func(a []table.Value) table.Value {
		ip, ok1 := valueIPv4(a[0])
		r, ok2 := valueIPv4(a[1])
		if !ok1 || !ok2 {
			return table.Null
		}
		return boolVal(r.contains(ip.addr))
	})(c, x, args)
}

// constList flattens constant arguments (and constant dynamic arrays)
// into their values; ok is false when one is not constant.
func constList(args []*cexpr) (vals []table.Value, ok bool) {
	for _, a := range args {
		if !a.konst {
			return nil, false
		}
		if a.val.K == table.KindDynamic && strings.HasPrefix(a.val.S, "[") {
			jsonElements(a.val.S, func(el string) bool {
				vals = append(vals, dynScalar(dynFromRaw(el)))
				return true
			})
			continue
		}
		vals = append(vals, dynScalar(a.val))
	}
	return vals, true
}

// runtimeList is constList for values computed per row.
func runtimeList(vals []table.Value) []table.Value {
	var out []table.Value
	for _, v := range vals {
		if v.K == table.KindDynamic && strings.HasPrefix(v.S, "[") {
			jsonElements(v.S, func(el string) bool {
				out = append(out, dynScalar(dynFromRaw(el)))
				return true
			})
			continue
		}
		out = append(out, dynScalar(v))
	}
	return out
}

func ipv4InAnyRangeBuilder(c *compiler, x *Call, args []*cexpr) *cexpr {
	eval := func(ip table.Value, ranges []table.Value) table.Value {
		a, ok := valueIPv4(ip)
		if !ok {
			return table.Null
		}
		for _, rv := range ranges {
			r, ok := valueIPv4(rv)
			if !ok {
				return table.Null
			}
			if r.contains(a.addr) {
				return vTrue
			}
		}
		return vFalse
	}
	if vals, ok := constList(args[1:]); ok {
		var ranges []ipv4Range
		for _, v := range vals {
			r, ok := valueIPv4(v)
			if !ok {
				return konstExpr(table.TypeBool, table.Null)
			}
			ranges = append(ranges, r)
		}
		a := args[0].fn
		return &cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
			ip, ok := valueIPv4(a(f))
			if !ok {
				return table.Null
			}
			for _, r := range ranges {
				if r.contains(ip.addr) {
					return vTrue
				}
			}
			return vFalse
		}}
	}
	return simple(table.TypeBool, func(a []table.Value) table.Value { return eval(a[0], runtimeList(a[1:])) })(c, x, args)
}

// IPv4 addresses inside text (has_ipv4 and the like). An address in the
// text is a run of digits and dots that is delimited by characters that
// are neither letters nor digits, and that is a valid address.

// textIPv4s calls fn with each valid IPv4 address found in s, as written;
// fn returns false to stop.
func textIPv4s(s string, fn func(ip string) bool) {
	for i := 0; i < len(s); {
		if !isDigitOrDot(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigitOrDot(s[j]) {
			j++
		}
		tok := strings.Trim(s[i:j], ".")
		delimited := !isTermChar(runeBefore(s, i)) && !isTermChar(runeAt(s, j))
		if delimited && tok != "" {
			if _, ok := parseIPv4Addr(tok); ok && !fn(tok) {
				return
			}
		}
		i = j
	}
}

func isDigitOrDot(b byte) bool { return b == '.' || b >= '0' && b <= '9' }

// ipv4Term is a term of has_ipv4 (an address) or has_ipv4_prefix (an
// address, or one to three octets and a dot); ok is false for an invalid
// term, which matches nothing.
func ipv4Term(s string, prefix bool) (string, bool) {
	if _, ok := parseIPv4Addr(s); ok {
		return s, true
	}
	if !prefix || !strings.HasSuffix(s, ".") {
		return "", false
	}
	parts := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(parts) > 3 {
		return "", false
	}
	for _, p := range parts {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 255 || len(p) > 3 || p == "" || p[0] == '+' {
			return "", false
		}
	}
	return s, true
}

func textHasIPv4(text string, terms []string, prefix bool) bool {
	found := false
	textIPv4s(text, func(ip string) bool {
		for _, t := range terms {
			if ip == t || prefix && strings.HasSuffix(t, ".") && strings.HasPrefix(ip, t) {
				found = true
				return false
			}
		}
		return true
	})
	return found
}

func hasIPv4Builder(prefix bool) func(c *compiler, x *Call, args []*cexpr) *cexpr {
	return func(c *compiler, x *Call, args []*cexpr) *cexpr {
		terms := func(vals []table.Value) []string {
			var out []string
			for _, v := range vals {
				if v.K != table.KindString {
					continue
				}
				if t, ok := ipv4Term(v.S, prefix); ok {
					out = append(out, t)
				}
			}
			return out
		}
		if vals, ok := constList(args[1:]); ok {
			ts, a := terms(vals), args[0].fn
			return &cexpr{typ: table.TypeBool, fn: func(f *frame) table.Value {
				return boolVal(len(ts) > 0 && textHasIPv4(toStr(a(f)), ts, prefix))
			}}
		}
		return simple(table.TypeBool, func(a []table.Value) table.Value {
			return boolVal(textHasIPv4(toStr(a[0]), terms(runtimeList(a[1:])), prefix))
		})(c, x, args)
	}
}

// IPv6 (and IPv4, as ::ffff:a.b.c.d) addresses.

// parseIP6 parses an IPv6 or IPv4 address with an optional /n prefix into
// 128 bits and a prefix length in those bits (an IPv4 prefix n is 96+n).
func parseIP6(s string) (hi, lo uint64, prefix int, ok bool) {
	addr, p := s, -1
	if i := strings.IndexByte(s, '/'); i >= 0 {
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || n < 0 || strings.HasPrefix(s[i+1:], "+") {
			return 0, 0, 0, false
		}
		addr, p = s[:i], n
	}
	if v4, ok := parseIPv4Addr(addr); ok {
		if p > 32 {
			return 0, 0, 0, false
		}
		if p < 0 {
			p = 32
		}
		return 0, 0xffff<<32 | uint64(v4), 96 + p, true
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is6() || ip.Zone() != "" || p > 128 {
		return 0, 0, 0, false
	}
	if p < 0 {
		p = 128
	}
	b := ip.As16()
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi, lo, p, true
}

func mask128(p int) (uint64, uint64) {
	switch {
	case p <= 0:
		return 0, 0
	case p <= 64:
		return ^uint64(0) << (64 - p), 0
	case p >= 128:
		return ^uint64(0), ^uint64(0)
	}
	return ^uint64(0), ^uint64(0) << (128 - p)
}

func ipv6IsMatch(a []table.Value) table.Value {
	v1, v2 := dynScalar(a[0]), dynScalar(a[1])
	if v1.K != table.KindString || v2.K != table.KindString {
		return table.Null
	}
	h1, l1, p1, ok1 := parseIP6(v1.S)
	h2, l2, p2, ok2 := parseIP6(v2.S)
	if !ok1 || !ok2 {
		return table.Null
	}
	p := min(p1, p2)
	if len(a) == 3 {
		n := toLongVal(a[2], table.TypeLong)
		if n.K == table.KindNull || n.I < 0 || n.I > 128 {
			return table.Null
		}
		p = min(p, int(n.I))
	}
	mh, ml := mask128(p)
	return boolVal(h1&mh == h2&mh && l1&ml == l2&ml)
}

// datetime_diff.

var diffPeriods = map[string]func(ns int64) int64{
	"year":    func(ns int64) int64 { return int64(time.Unix(0, ns).UTC().Year()) },
	"quarter": func(ns int64) int64 { t := time.Unix(0, ns).UTC(); return int64(t.Year())*4 + int64(t.Month()-1)/3 },
	"month":   func(ns int64) int64 { t := time.Unix(0, ns).UTC(); return int64(t.Year())*12 + int64(t.Month()-1) },
	// Weeks start on Sunday; 1970-01-01 was a Thursday.
	"week":        func(ns int64) int64 { return floorDiv(floorDiv(ns, 24*3600e9)+4, 7) },
	"day":         func(ns int64) int64 { return floorDiv(ns, 24*3600e9) },
	"hour":        func(ns int64) int64 { return floorDiv(ns, 3600e9) },
	"minute":      func(ns int64) int64 { return floorDiv(ns, 60e9) },
	"second":      func(ns int64) int64 { return floorDiv(ns, 1e9) },
	"millisecond": func(ns int64) int64 { return floorDiv(ns, 1e6) },
	"microsecond": func(ns int64) int64 { return floorDiv(ns, 1e3) },
	"nanosecond":  func(ns int64) int64 { return ns },
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// datetimeDiff is datetime_diff(period, d1, d2): the number of period
// boundaries between d2 and d1 (the calendar year, quarter or month for
// those periods, Sunday-started weeks, and whole units for the others), as
// the reference page's examples give (a day from 2017-09-30 23:59 to
// 2017-10-29 00:00 is 29).
func datetimeDiff(c *compiler, x *Call, args []*cexpr) *cexpr {
	if !args[0].konst || args[0].val.K != table.KindString {
		c.fail(args[0].pos, "datetime_diff: the period must be a constant string such as \"day\"")
	}
	period, ok := diffPeriods[strings.ToLower(args[0].val.S)]
	if !ok {
		c.fail(args[0].pos, "datetime_diff: the period must be one of year, quarter, month, week, day, hour, minute, second, millisecond, microsecond or nanosecond")
	}
	return simple(table.TypeLong, func(a []table.Value) table.Value {
		d1, d2 := toDateTimeVal(a[1]), toDateTimeVal(a[2])
		if d1.K == table.KindNull || d2.K == table.KindNull {
			return table.Null
		}
		return table.Long(period(d1.I) - period(d2.I))
	})(c, x, args)
}

// bag_pack.

func bagPack(a []table.Value) table.Value {
	keys := make([]string, 0, len(a)/2)
	vals := make([][]byte, 0, len(a)/2)
	for i := 0; i+1 < len(a); i += 2 {
		k := toStr(a[i])
		var lit Literal
		lit.Val = a[i+1]
		if lit.Val.K == table.KindDynamic {
			lit.Val = compactDynamic(lit.Val)
		}
		v := appendLiteralJSON(nil, &lit)
		if j := indexOfString(keys, k); j >= 0 {
			vals[j] = v
			continue
		}
		keys = append(keys, k)
		vals = append(vals, v)
	}
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = append(b, vals[i]...)
	}
	return table.Dynamic(string(append(b, '}')))
}

func indexOfString(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

func bagPackBuilder(c *compiler, x *Call, args []*cexpr) *cexpr {
	if len(args)%2 != 0 {
		c.fail(x.Pos, "%s takes an even number of arguments (key, value, ...), not %d", x.Name, len(args))
	}
	return simple(table.TypeDynamic, bagPack)(c, x, args)
}

// extract_all.

func extractAllBuilder(c *compiler, x *Call, args []*cexpr) *cexpr {
	re := constRegex(c, x, args[0])
	if n := re.NumSubexp(); n < 1 || n > 16 {
		c.fail(args[0].pos, "extract_all needs a regular expression with 1 to 16 capture groups, not %d", n)
	}
	var groups []int
	src := args[1]
	if len(args) == 3 {
		src = args[2]
		g := args[1]
		if !g.konst || g.val.K != table.KindDynamic || !strings.HasPrefix(g.val.S, "[") {
			c.fail(g.pos, "extract_all: the capture groups must be a constant dynamic array such as dynamic([1, 3])")
		}
		bad := ""
		jsonElements(g.val.S, func(el string) bool {
			v := dynScalar(dynFromRaw(el))
			switch {
			case (v.K == table.KindLong || v.K == table.KindInt) && v.I >= 1 && v.I <= int64(re.NumSubexp()):
				groups = append(groups, int(v.I))
			case v.K == table.KindString && v.S != "" && re.SubexpIndex(v.S) > 0:
				groups = append(groups, re.SubexpIndex(v.S))
			default:
				bad = el
				return false
			}
			return true
		})
		if bad != "" || len(groups) == 0 {
			c.fail(g.pos, "extract_all: %s is not a capture group of the regular expression", bad)
		}
	} else {
		for i := 1; i <= re.NumSubexp(); i++ {
			groups = append(groups, i)
		}
	}
	s := src.fn
	return &cexpr{typ: table.TypeDynamic, fn: func(f *frame) table.Value { return extractAll(re, groups, toStr(s(f))) }}
}

func extractAll(re *regexp.Regexp, groups []int, s string) table.Value {
	ms := re.FindAllStringSubmatchIndex(s, -1)
	if len(ms) == 0 {
		return table.Null
	}
	b := []byte{'['}
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		if len(groups) > 1 {
			b = append(b, '[')
		}
		for j, g := range groups {
			if j > 0 {
				b = append(b, ',')
			}
			text := ""
			if m[2*g] >= 0 {
				text = s[m[2*g]:m[2*g+1]]
			}
			b = appendJSONString(b, text)
		}
		if len(groups) > 1 {
			b = append(b, ']')
		}
	}
	return table.Dynamic(string(append(b, ']')))
}

// array_index_of and set_has_element.

// sameElement reports whether an array element holds the value: Kusto
// compares values of the same kind (a string never equals a number).
func sameElement(el, v table.Value) bool {
	el, v = dynScalar(el), dynScalar(v)
	switch {
	case el.K == table.KindNull || v.K == table.KindNull:
		return false
	case el.K == table.KindString && isNumKind(v.K), isNumKind(el.K) && v.K == table.KindString:
		return false
	case el.K == table.KindString && v.K == table.KindBool, el.K == table.KindBool && v.K == table.KindString:
		return false
	case el.K == table.KindBool && isNumKind(v.K), isNumKind(el.K) && v.K == table.KindBool:
		return false
	}
	return eq3(el, v, false) == 1
}

// arrayIndexOf is array_index_of(array, value[, start[, length[,
// occurrence]]]), with indexof's rules over the elements.
func arrayIndexOf(a []table.Value) table.Value {
	arr := a[0]
	if arr.K != table.KindDynamic || !strings.HasPrefix(arr.S, "[") {
		return table.Null
	}
	var els []table.Value
	jsonElements(arr.S, func(el string) bool {
		els = append(els, dynFromRaw(el))
		return true
	})
	start, length, occ, ok := indexOptions(a[2:])
	if !ok {
		return table.Null
	}
	n := int64(len(els))
	if start < 0 {
		start = max(start+n, 0)
	}
	if occ == 0 {
		return table.Long(-1)
	}
	for k := int64(1); start < n; k++ {
		end := n
		if length >= 0 && length < n-start {
			end = start + length
		}
		i := int64(-1)
		for j := start; j < end; j++ {
			if sameElement(els[j], a[1]) {
				i = j
				break
			}
		}
		if i < 0 {
			return table.Long(-1)
		}
		if k == occ {
			return table.Long(i)
		}
		start = i + 1
	}
	return table.Long(-1)
}

// round.

func roundBuilder(c *compiler, x *Call, args []*cexpr) *cexpr {
	typ := args[0].typ
	if typ == table.TypeInvalid || typ == table.TypeDynamic {
		typ = table.TypeReal
	}
	return simple(typ, func(a []table.Value) table.Value {
		v := dynScalar(a[0])
		prec := int64(0)
		if len(a) == 2 {
			p := toLongVal(a[1], table.TypeLong)
			if p.K == table.KindNull {
				return table.Null
			}
			prec = p.I
		}
		switch v.K {
		case table.KindInt, table.KindLong:
			if prec >= 0 {
				return v
			}
			if prec < -18 {
				return table.Value{K: v.K}
			}
			p := int64(math.Pow10(int(-prec)))
			q, r := v.I/p, v.I%p
			if r != 0 && (r >= p-r || -r >= p+r) {
				if v.I < 0 {
					q--
				} else {
					q++
				}
			}
			return table.Value{K: v.K, I: q * p}
		case table.KindReal:
			if prec >= 0 {
				p := math.Pow10(int(min(prec, 308)))
				r := math.Round(v.F*p) / p
				if math.IsInf(v.F*p, 0) {
					r = v.F
				}
				return table.Real(r)
			}
			p := math.Pow10(int(min(-prec, 308)))
			return table.Real(math.Round(v.F/p) * p)
		}
		return table.Null
	})(c, x, args)
}

// gettype.

func getTypeBuilder(c *compiler, x *Call, args []*cexpr) *cexpr {
	t := args[0].typ
	if t != table.TypeDynamic {
		name := typeName(t)
		return konstExpr(table.TypeString, table.Str(name))
	}
	a := args[0].fn
	return &cexpr{typ: table.TypeString, fn: func(f *frame) table.Value { return table.Str(dynamicType(a(f))) }}
}

// dynamicType names the runtime type of a dynamic value as gettype does:
// an integer is int when it fits 32 bits and long otherwise.
func dynamicType(v table.Value) string {
	if v.K != table.KindDynamic {
		if v.K == table.KindNull {
			return "null"
		}
		return kindType(v.K).String()
	}
	s := strings.TrimSpace(v.S)
	switch {
	case s == "" || s == "null":
		return "null"
	case s[0] == '{':
		return "dictionary"
	case s[0] == '[':
		return "array"
	case s[0] == '"':
		return "string"
	case s == "true" || s == "false":
		return "bool"
	}
	n, ok := parseNumber(s)
	switch {
	case !ok:
		return "string"
	case !n.isInt:
		return "real"
	case n.i >= math.MinInt32 && n.i <= math.MaxInt32:
		return "int"
	}
	return "long"
}

// strcat_array.

func strcatArray(a []table.Value) table.Value {
	arr := a[0]
	if arr.K != table.KindDynamic || !strings.HasPrefix(arr.S, "[") {
		return vEmpty
	}
	delim := toStr(a[1])
	var b strings.Builder
	first := true
	jsonElements(arr.S, func(el string) bool {
		if !first {
			b.WriteString(delim)
		}
		first = false
		b.WriteString(toStr(dynFromRaw(el)))
		return true
	})
	return table.Str(b.String())
}

// addMoreFuncs registers this file's functions (called by funcs.go's init).
func addMoreFuncs() {
	more := map[string]funcSpec{
		"ipv4_is_in_range":     {2, 2, false, ipv4InRangeBuilder},
		"ipv4_is_in_any_range": {2, 64, false, ipv4InAnyRangeBuilder},
		"ipv4_is_private": {1, 1, false, simple(table.TypeBool, func(a []table.Value) table.Value {
			r, ok := valueIPv4(a[0])
			if !ok {
				return table.Null
			}
			for _, p := range privateIPv4 {
				if p.contains(r.addr & mask4(r.prefix)) {
					return vTrue
				}
			}
			return vFalse
		})},
		"ipv4_is_match": {2, 3, false, ipv4Pair(func(a, b uint32) table.Value { return boolVal(a == b) })},
		"ipv4_compare": {2, 3, false, ipv4Pair(func(a, b uint32) table.Value {
			return table.Long(int64(cmpInt(int64(a), int64(b))))
		})},
		"parse_ipv4": {1, 1, false, simple(table.TypeLong, func(a []table.Value) table.Value {
			r, ok := valueIPv4(a[0])
			if !ok {
				return table.Null
			}
			return table.Long(int64(r.addr & mask4(r.prefix)))
		})},
		"ipv6_is_match":       {2, 3, false, simple(table.TypeBool, ipv6IsMatch)},
		"has_ipv4":            {2, 2, false, hasIPv4Builder(false)},
		"has_any_ipv4":        {2, 64, false, hasIPv4Builder(false)},
		"has_ipv4_prefix":     {2, 2, false, hasIPv4Builder(true)},
		"has_any_ipv4_prefix": {2, 64, false, hasIPv4Builder(true)},
		"datetime_diff":       {3, 3, false, datetimeDiff},
		"bag_pack":            {2, 64, false, bagPackBuilder},
		"pack":                {2, 64, false, bagPackBuilder},
		"pack_dictionary":     {2, 64, false, bagPackBuilder},
		"extract_all":         {2, 3, false, extractAllBuilder},
		"array_index_of":      {2, 5, false, simple(table.TypeLong, arrayIndexOf)},
		"set_has_element": {2, 2, false, simple(table.TypeBool, func(a []table.Value) table.Value {
			i := arrayIndexOf(a)
			if i.K == table.KindNull {
				return vFalse
			}
			return boolVal(i.I >= 0)
		})},
		"round":        {1, 2, false, roundBuilder},
		"gettype":      {1, 1, false, getTypeBuilder},
		"strcat_array": {2, 2, false, simple(table.TypeString, strcatArray)},
	}
	for name, spec := range more {
		funcs[name] = spec
	}
}
