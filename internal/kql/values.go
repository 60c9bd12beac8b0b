package kql

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/streamhunt/streamhunt/internal/table"
)

var errBadLiteral = errors.New("not a valid literal of this type")

func parseFloatLit(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

// numVal is a number parsed from text: an integer when isInt.
type numVal struct {
	isInt bool
	i     int64
	f     float64
}

func (n numVal) float() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

// parseNumber parses a decimal number without allocating (strconv's error
// path allocates, so the syntax is checked first).
func parseNumber(s string) (numVal, bool) {
	if len(s) == 0 || len(s) > 64 {
		return numVal{}, false
	}
	i := 0
	if s[0] == '-' || s[0] == '+' {
		i++
	}
	digits := 0
	intOnly := true
	var v int64
	overflow := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := int64(s[i] - '0')
		if v > (math.MaxInt64-d)/10 {
			overflow = true
		}
		v = v*10 + d
		digits++
	}
	if i < len(s) && s[i] == '.' {
		intOnly = false
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return numVal{}, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		intOnly = false
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return numVal{}, false
		}
	}
	if i != len(s) {
		return numVal{}, false
	}
	if intOnly && !overflow {
		if s[0] == '-' {
			v = -v
		}
		return numVal{isInt: true, i: v}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return numVal{}, false
	}
	return numVal{f: f}, true
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.9999999",
	"2006-01-02 15:04:05.9999999Z07:00",
	"2006-01-02 15:04:05.9999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006-01-02Z",
	"1/2/2006 3:04:05 PM",
	"1/2/2006",
	"02 Jan 2006 15:04:05 MST",
	time.RFC1123,
	time.RFC1123Z,
}

// parseDateTime parses Kusto's datetime literal forms to Unix nanoseconds (UTC).
func parseDateTime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().UnixNano() / 100 * 100, nil
		}
	}
	return 0, errors.New("not a date and time (write it as 2024-01-31 or 2024-01-31T10:00:00Z)")
}

// parseTimespanText parses timespan text: 1d, 2h, 1.5h, or [-][d.]hh:mm[:ss[.fffffff]].
func parseTimespanText(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errBadLiteral
	}
	lx := newLexer(s)
	t, err := lx.next()
	if err == nil && lx.off == len(s) {
		switch t.kind {
		case tTimespan:
			return t.i, nil
		case tLong:
			return t.i * 24 * 3600e9, nil // a bare number of days
		}
	}
	neg := false
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	var days int64
	if dot := strings.IndexByte(s, '.'); dot >= 0 && dot < strings.IndexByte(s+":", ':') {
		d, err := strconv.ParseInt(s[:dot], 10, 64)
		if err != nil {
			return 0, errBadLiteral
		}
		days = d
		s = s[dot+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, errBadLiteral
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errBadLiteral
	}
	var sec float64
	if len(parts) == 3 {
		f, err := strconv.ParseFloat(parts[2], 64)
		if err != nil {
			return 0, errBadLiteral
		}
		sec = f
	}
	ns := days*24*3600e9 + h*3600e9 + m*60e9 + int64(math.Round(sec*1e9))
	if neg {
		ns = -ns
	}
	return ns, nil
}

// appendLiteralJSON appends a constant as JSON for a dynamic literal.
func appendLiteralJSON(b []byte, lit *Literal) []byte {
	v := lit.Val
	switch v.K {
	case table.KindNull:
		return append(b, "null"...)
	case table.KindString:
		return appendJSONString(b, v.S)
	case table.KindBool:
		if v.I != 0 {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case table.KindInt, table.KindLong:
		return strconv.AppendInt(b, v.I, 10)
	case table.KindReal:
		return strconv.AppendFloat(b, v.F, 'g', -1, 64)
	case table.KindDateTime:
		return appendJSONString(b, time.Unix(0, v.I).UTC().Format("2006-01-02T15:04:05.0000000Z"))
	case table.KindTimeSpan:
		return appendJSONString(b, formatTimespan(v.I))
	case table.KindDynamic:
		return append(b, v.S...)
	}
	return append(b, "null"...)
}

// formatTimespan prints a timespan as Kusto does: [-][d.]hh:mm:ss[.fffffff].
func formatTimespan(ns int64) string {
	var b []byte
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	ticks := ns / 100
	days := ticks / (24 * 36000000000)
	ticks -= days * 24 * 36000000000
	h := ticks / 36000000000
	ticks -= h * 36000000000
	m := ticks / 600000000
	ticks -= m * 600000000
	s := ticks / 10000000
	frac := ticks - s*10000000
	if days > 0 {
		b = strconv.AppendInt(b, days, 10)
		b = append(b, '.')
	}
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, m)
	b = append(b, ':')
	b = append2(b, s)
	if frac > 0 {
		f := strconv.FormatInt(frac+10000000, 10)[1:]
		b = append(b, '.')
		b = append(b, f...)
	}
	return string(b)
}

func append2(b []byte, n int64) []byte {
	if n < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, n, 10)
}

// String matching, as Kusto defines it. The case-insensitive forms take a
// needle already lower-cased at compile time.

func isTermChar(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// indexFold returns the first index at or after from where the lower-cased
// needle occurs in h, ignoring case; -1 when it does not.
func indexFold(h, needle string, from int) int {
	n := len(needle)
	if n == 0 {
		return from
	}
	if !isASCII(needle) || !isASCII(h) {
		return indexFoldUnicode(h, needle, from)
	}
	first := needle[0]
	for i := from; i+n <= len(h); i++ {
		if lowerASCII(h[i]) != first {
			continue
		}
		j := 1
		for j < n && lowerASCII(h[i+j]) == needle[j] {
			j++
		}
		if j == n {
			return i
		}
	}
	return -1
}

func indexFoldUnicode(h, needle string, from int) int {
	for i := from; i < len(h); {
		if hasPrefixFold(h[i:], needle) {
			return i
		}
		_, size := utf8.DecodeRuneInString(h[i:])
		i += size
	}
	return -1
}

// hasPrefixFold reports whether s starts with needle, ignoring case.
func hasPrefixFold(s, needle string) bool {
	if isASCII(needle) {
		if len(s) < len(needle) {
			return false
		}
		for i := 0; i < len(needle); i++ {
			if lowerASCII(s[i]) != needle[i] {
				return false
			}
		}
		return true
	}
	// Walk rune by rune so that byte lengths of case variants may differ.
	for _, nr := range needle {
		if len(s) == 0 {
			return false
		}
		r, size := utf8.DecodeRuneInString(s)
		if unicode.ToLower(r) != nr {
			return false
		}
		s = s[size:]
	}
	return true
}

// hasSuffixFold reports whether s ends with needle, ignoring case.
func hasSuffixFold(s, needle string) bool {
	if len(s) < len(needle) {
		return false
	}
	if isASCII(needle) {
		return hasPrefixFold(s[len(s)-len(needle):], needle)
	}
	return strings.HasSuffix(strings.ToLower(s), needle)
}

func runeBefore(s string, i int) rune {
	if i <= 0 {
		return ' '
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

func runeAt(s string, i int) rune {
	if i >= len(s) {
		return ' '
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

// hasTerm reports whether h contains needle (lower-cased when fold) as a
// whole term: the match may not continue an alphanumeric run on either
// side where the needle itself starts or ends with an alphanumeric.
// prefixOnly and suffixOnly relax one side (hasprefix, hassuffix).
func hasTerm(h, needle string, fold, prefixOnly, suffixOnly bool) bool {
	if needle == "" {
		return true
	}
	startAlnum := isTermChar(runeAt(needle, 0))
	endAlnum := isTermChar(runeBefore(needle, len(needle)))
	from := 0
	for from <= len(h) {
		var i int
		if fold {
			i = indexFold(h, needle, from)
		} else {
			i = strings.Index(h[from:], needle)
			if i >= 0 {
				i += from
			}
		}
		if i < 0 {
			return false
		}
		end := i + len(needle)
		if fold && !isASCII(needle) {
			end = i + foldedLen(h[i:], needle)
		}
		okStart := suffixOnly || !startAlnum || !isTermChar(runeBefore(h, i))
		okEnd := prefixOnly || !endAlnum || !isTermChar(runeAt(h, end))
		if okStart && okEnd {
			return true
		}
		_, size := utf8.DecodeRuneInString(h[i:])
		from = i + size
	}
	return false
}

// foldedLen returns how many bytes of s the (lower-cased) needle matched.
func foldedLen(s, needle string) int {
	n := 0
	for range needle {
		_, size := utf8.DecodeRuneInString(s[n:])
		n += size
	}
	return n
}
