package kql

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pos is a place in the query text: a byte offset and the 1-based line and
// column (in characters) it falls on.
type Pos struct {
	Off, Line, Column int
}

// Error is a syntax or type error in a query, with the place it was found.
type Error struct {
	Line, Column int
	Msg          string
}

// Error returns "line:col: msg".
func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg) }

func errAt(p Pos, format string, args ...any) *Error {
	line, col := p.Line, p.Column
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	return &Error{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tLong
	tReal
	tTimespan
	tString
	tPunct
)

var tokNames = [...]string{"end of query", "name", "number", "number", "timespan", "string", "symbol"}

type token struct {
	kind tokKind
	text string // the source text (for tString: the decoded value)
	pos  Pos
	end  int // byte offset just past the token
	// for numbers and timespans
	i int64
	f float64
	// bracket marks a string written as ['..'] in identifier position (set by the parser).
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return fmt.Sprintf("string %q", t.text)
	}
	return fmt.Sprintf("'%s'", t.text)
}

// lexer turns query text into tokens on demand, so that the parser can read
// the raw text of datetime(...) and similar literals.
type lexer struct {
	src  string
	off  int
	line int
	col  int
}

func newLexer(src string) *lexer { return &lexer{src: src, line: 1, col: 1} }

func (lx *lexer) pos() Pos { return Pos{Off: lx.off, Line: lx.line, Column: lx.col} }

// advance moves n bytes forward, keeping line and column.
func (lx *lexer) advance(n int) {
	end := lx.off + n
	for lx.off < end {
		r, size := utf8.DecodeRuneInString(lx.src[lx.off:])
		if r == '\n' {
			lx.line++
			lx.col = 1
		} else {
			lx.col++
		}
		lx.off += size
	}
}

// seek moves to byte offset off, which must be at or after the current one.
func (lx *lexer) seek(off int) { lx.advance(off - lx.off) }

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' || r == 0xA0 || r == 0xFEFF || unicode.IsSpace(r)
}

func isIdentStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// skipSpace skips white space and // comments.
func (lx *lexer) skipSpace() {
	for lx.off < len(lx.src) {
		r, size := utf8.DecodeRuneInString(lx.src[lx.off:])
		if isSpace(r) {
			lx.advance(size)
			continue
		}
		if r == '/' && strings.HasPrefix(lx.src[lx.off:], "//") {
			i := strings.IndexByte(lx.src[lx.off:], '\n')
			if i < 0 {
				lx.advance(len(lx.src) - lx.off)
			} else {
				lx.advance(i)
			}
			continue
		}
		return
	}
}

// dashed lists the operator names that contain a dash.
var dashed = map[string]bool{
	"project-away": true, "project-rename": true, "project-reorder": true, "project-keep": true,
	"project-smart": true, "mv-expand": true, "mv-apply": true, "make-series": true,
	"parse-where": true, "parse-kv": true, "top-nested": true, "top-hitters": true,
	"make-graph": true, "graph-match": true, "sample-distinct": true, "as-of": true,
}

// bangWords lists the negated operators written with a leading '!'.
var bangWords = map[string]bool{
	"in": true, "in~": true, "has": true, "has_cs": true, "contains": true, "contains_cs": true,
	"startswith": true, "startswith_cs": true, "endswith": true, "endswith_cs": true,
	"hasprefix": true, "hasprefix_cs": true, "hassuffix": true, "hassuffix_cs": true,
	"between": true, "has_any": true, "has_all": true, "matches": true,
}

var puncts = []string{
	"==", "!=", "<>", "<=", ">=", "=~", "!~", "=>", "..",
	"<", ">", "=", "+", "-", "*", "/", "%", "(", ")", "[", "]", "{", "}", ",", ";", "|", ".", ":", "~", "!", "?", "@",
}

// next scans the next token.
func (lx *lexer) next() (token, error) {
	lx.skipSpace()
	start := lx.pos()
	if lx.off >= len(lx.src) {
		return token{kind: tEOF, pos: start, end: lx.off}, nil
	}
	s := lx.src[lx.off:]
	r, _ := utf8.DecodeRuneInString(s)

	// Strings: '..' ".." @'..' h'..' H@".." ```..```
	if r == '\'' || r == '"' || strings.HasPrefix(s, "```") || strings.HasPrefix(s, "~~~") {
		return lx.stringLit(start, 0, false)
	}
	if (r == '@') && len(s) > 1 && (s[1] == '\'' || s[1] == '"') {
		return lx.stringLit(start, 1, true)
	}
	if (r == 'h' || r == 'H') && len(s) > 1 {
		if s[1] == '\'' || s[1] == '"' {
			return lx.stringLit(start, 1, false)
		}
		if s[1] == '@' && len(s) > 2 && (s[2] == '\'' || s[2] == '"') {
			return lx.stringLit(start, 2, true)
		}
	}
	if r >= '0' && r <= '9' || (r == '.' && len(s) > 1 && s[1] >= '0' && s[1] <= '9' && !strings.HasPrefix(s, "..")) {
		return lx.number(start)
	}
	if isIdentStart(r) {
		n := identLen(s)
		word := s[:n]
		if word == "in" && n < len(s) && s[n] == '~' {
			n++
			word = s[:n]
		}
		if n < len(s) && s[n] == '-' {
			m := identLen(s[n+1:])
			if m > 0 && dashed[s[:n+1+m]] {
				n += 1 + m
				word = s[:n]
			}
		}
		lx.advance(n)
		return token{kind: tIdent, text: word, pos: start, end: lx.off}, nil
	}
	if r == '!' && len(s) > 1 && s[1] != '=' && s[1] != '~' {
		n := identLen(s[1:])
		if n > 0 {
			w := s[1 : 1+n]
			if w == "in" && 1+n < len(s) && s[1+n] == '~' {
				w = "in~"
			}
			if bangWords[w] {
				lx.advance(1 + len(w))
				return token{kind: tPunct, text: "!" + w, pos: start, end: lx.off}, nil
			}
		}
	}
	for _, p := range puncts {
		if strings.HasPrefix(s, p) {
			lx.advance(len(p))
			return token{kind: tPunct, text: p, pos: start, end: lx.off}, nil
		}
	}
	return token{}, errAt(start, "unexpected character %q", r)
}

func identLen(s string) int {
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if n == 0 && !isIdentStart(r) {
			return 0
		}
		if n > 0 && !isIdentPart(r) {
			break
		}
		n += size
	}
	return n
}

// stringLit scans a string literal whose quote starts prefix bytes in.
func (lx *lexer) stringLit(start Pos, prefix int, verbatim bool) (token, error) {
	s := lx.src[lx.off:]
	if strings.HasPrefix(s[prefix:], "```") || strings.HasPrefix(s[prefix:], "~~~") {
		fence := s[prefix : prefix+3]
		end := strings.Index(s[prefix+3:], fence)
		if end < 0 {
			return token{}, errAt(start, "multi-line string is not closed: add %s", fence)
		}
		text := s[prefix+3 : prefix+3+end]
		lx.advance(prefix + 3 + end + 3)
		return token{kind: tString, text: text, pos: start, end: lx.off}, nil
	}
	q := s[prefix]
	var b strings.Builder
	i := prefix + 1
	for {
		if i >= len(s) || s[i] == '\n' {
			return token{}, errAt(start, "string literal is not closed: add %c before the end of the line", q)
		}
		c := s[i]
		if c == q {
			if verbatim && i+1 < len(s) && s[i+1] == q {
				b.WriteByte(q)
				i += 2
				continue
			}
			i++
			break
		}
		if c == '\\' && !verbatim {
			if i+1 >= len(s) {
				return token{}, errAt(start, "string literal is not closed")
			}
			e := s[i+1]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '\\', '\'', '"', '/':
				b.WriteByte(e)
			case 'u':
				if i+6 > len(s) {
					return token{}, errAt(start, "bad \\u escape in string literal")
				}
				var v rune
				for _, h := range s[i+2 : i+6] {
					d := hexVal(byte(h))
					if d < 0 {
						return token{}, errAt(start, "bad \\u escape in string literal")
					}
					v = v*16 + rune(d)
				}
				b.WriteRune(v)
				i += 4
			case 'x':
				if i+4 > len(s) || hexVal(s[i+2]) < 0 || hexVal(s[i+3]) < 0 {
					return token{}, errAt(start, "bad \\x escape in string literal")
				}
				b.WriteByte(byte(hexVal(s[i+2])*16 + hexVal(s[i+3])))
				i += 2
			default:
				// Kusto keeps unknown escapes such as \d (regex) as written.
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			i += 2
			continue
		}
		b.WriteByte(c)
		i++
	}
	lx.advance(i)
	return token{kind: tString, text: b.String(), pos: start, end: lx.off}, nil
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// timespanUnits maps a literal's suffix to its length in nanoseconds.
var timespanUnits = map[string]float64{
	"d": 24 * 3600e9, "day": 24 * 3600e9, "days": 24 * 3600e9,
	"h": 3600e9, "hr": 3600e9, "hrs": 3600e9, "hour": 3600e9, "hours": 3600e9,
	"m": 60e9, "min": 60e9, "minute": 60e9, "minutes": 60e9,
	"s": 1e9, "sec": 1e9, "second": 1e9, "seconds": 1e9,
	"ms": 1e6, "milli": 1e6, "millis": 1e6, "millisecond": 1e6, "milliseconds": 1e6,
	"microsecond": 1e3, "microseconds": 1e3, "tick": 100, "ticks": 100,
}

func (lx *lexer) number(start Pos) (token, error) {
	s := lx.src[lx.off:]
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		n := 2
		var v int64
		for n < len(s) && hexVal(s[n]) >= 0 {
			v = v*16 + int64(hexVal(s[n]))
			n++
		}
		if n == 2 {
			return token{}, errAt(start, "hexadecimal number has no digits")
		}
		lx.advance(n)
		return token{kind: tLong, text: s[:n], pos: start, end: lx.off, i: v}, nil
	}
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	real := false
	if n < len(s) && s[n] == '.' && !strings.HasPrefix(s[n:], "..") {
		real = true
		n++
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
	}
	if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		m := n + 1
		if m < len(s) && (s[m] == '+' || s[m] == '-') {
			m++
		}
		if m < len(s) && s[m] >= '0' && s[m] <= '9' {
			real = true
			for m < len(s) && s[m] >= '0' && s[m] <= '9' {
				m++
			}
			n = m
		}
	}
	num := s[:n]
	unitLen := identLen(s[n:])
	if unitLen > 0 {
		unit := s[n : n+unitLen]
		scale, ok := timespanUnits[unit]
		if !ok {
			if !real && n+unitLen < len(s)+1 && !strings.ContainsAny(s[:n], ".eE") {
				// Kusto accepts names that start with digits, such as 3plogTime.
				lx.advance(n + unitLen)
				return token{kind: tIdent, text: s[:n+unitLen], pos: start, end: lx.off}, nil
			}
			return token{}, errAt(start, "%q is not a number or a timespan (units: d, h, m, s, ms, microsecond, tick)", s[:n+unitLen])
		}
		f, err := parseFloatLit(num)
		if err != nil {
			return token{}, errAt(start, "bad number %q", num)
		}
		lx.advance(n + unitLen)
		return token{kind: tTimespan, text: s[:n+unitLen], pos: start, end: lx.off, i: int64(f*scale + 0.5*sign(f))}, nil
	}
	lx.advance(n)
	if real {
		f, err := parseFloatLit(num)
		if err != nil {
			return token{}, errAt(start, "bad number %q", num)
		}
		return token{kind: tReal, text: num, pos: start, end: lx.off, f: f}, nil
	}
	var v int64
	for i := 0; i < len(num); i++ {
		d := int64(num[i] - '0')
		if v > (1<<63-1-d)/10 {
			return token{}, errAt(start, "number %s is too large for a long", num)
		}
		v = v*10 + d
	}
	return token{kind: tLong, text: num, pos: start, end: lx.off, i: v}, nil
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}
