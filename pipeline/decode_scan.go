package pipeline

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the JSON scanner the decoder is built on: a validating,
// non-allocating recursive-descent pass over the raw bytes that returns the
// span of each value, plus the few helpers that turn spans into Go values
// (unescaping strings, compacting JSON text). Nesting is bounded by
// scanner.maxDepth so that a hostile body cannot exhaust the stack.

// span is the position of a JSON value in a buffer: b[s:e]. The zero span
// (e == 0) means absent; a value is never empty, so e > s when present.
type span struct{ s, e int32 }

func (sp span) ok() bool { return sp.e > 0 }

// syntaxError says where and why a buffer is not valid JSON.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }

// scanner validates JSON in b. Methods take the position of a value and
// return the position after it, or -1 with err set.
type scanner struct {
	b        []byte
	maxDepth int
	err      syntaxError
	failed   bool
}

func (s *scanner) fail(off int, msg string) int {
	if !s.failed {
		s.failed = true
		s.err = syntaxError{off: off, msg: msg}
	}
	return -1
}

func (s *scanner) reset(b []byte, maxDepth int) {
	*s = scanner{b: b, maxDepth: maxDepth}
}

// isSpace is true for JSON's insignificant whitespace.
var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// strPlain is true for the bytes a string can hold without a closer look.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *scanner) ws(i int) int {
	b := s.b
	for i < len(b) && isSpace[b[i]] {
		i++
	}
	return i
}

// value validates the value at i (whitespace already skipped).
func (s *scanner) value(i, depth int) int {
	b := s.b
	if i >= len(b) {
		return s.fail(i, "unexpected end of input, want a value")
	}
	switch c := b[i]; c {
	case '"':
		return s.str(i)
	case '{':
		return s.object(i, depth+1)
	case '[':
		return s.array(i, depth+1)
	case 't':
		return s.lit(i, "true")
	case 'f':
		return s.lit(i, "false")
	case 'n':
		return s.lit(i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return s.number(i)
		}
		return s.fail(i, fmt.Sprintf("unexpected %s, want a value", quoteByte(c)))
	}
}

func quoteByte(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("byte 0x%02x", c)
	}
	return fmt.Sprintf("%q", string(rune(c)))
}

func (s *scanner) lit(i int, word string) int {
	if len(s.b)-i < len(word) || string(s.b[i:i+len(word)]) != word {
		return s.fail(i, "invalid literal, want "+word)
	}
	return i + len(word)
}

func (s *scanner) number(i int) int {
	b := s.b
	start := i
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return s.fail(i, "number ends early")
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return s.fail(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return s.fail(i, "number has no digit after the decimal point")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return s.fail(i, "number has no digit in its exponent")
		}
	}
	return i
}

// str validates the string at i (b[i] == '"') and returns the position after
// its closing quote.
func (s *scanner) str(i int) int {
	b := s.b
	i++
	for {
		// Eight bytes at a time while none is a quote, a backslash or a
		// control character, then byte by byte.
		for i+8 <= len(b) && !specialIn8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return s.fail(i, "unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(b) {
				return s.fail(i, "unterminated escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return s.fail(i, `invalid \u escape`)
				}
				i += 6
			default:
				return s.fail(i, "invalid escape "+quoteByte(b[i+1]))
			}
		default:
			return s.fail(i, "raw control character "+quoteByte(c)+" inside a string")
		}
	}
}

// specialIn8 reports whether any of the eight bytes in x is '"', '\\' or
// below 0x20 (it may also say so for a byte >= 0x80 next to one; the byte
// loop that follows decides).
func specialIn8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	bs := x ^ (lo * '\\')
	return ((q-lo)&^q|(bs-lo)&^bs|(x-lo*0x20)&^x)&hi != 0
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func (s *scanner) object(i, depth int) int {
	if depth > s.maxDepth {
		return s.fail(i, fmt.Sprintf("nesting deeper than %d levels", s.maxDepth))
	}
	b := s.b
	i = s.ws(i + 1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return s.fail(i, "want a quoted object key")
		}
		if i = s.str(i); i < 0 {
			return i
		}
		i = s.ws(i)
		if i >= len(b) || b[i] != ':' {
			return s.fail(i, "want ':' after an object key")
		}
		i = s.ws(i + 1)
		if i = s.value(i, depth); i < 0 {
			return i
		}
		i = s.ws(i)
		if i >= len(b) {
			return s.fail(i, "unterminated object")
		}
		if b[i] == '}' {
			return i + 1
		}
		if b[i] != ',' {
			return s.fail(i, "want ',' or '}' in an object, got "+quoteByte(b[i]))
		}
		i = s.ws(i + 1)
	}
}

func (s *scanner) array(i, depth int) int {
	if depth > s.maxDepth {
		return s.fail(i, fmt.Sprintf("nesting deeper than %d levels", s.maxDepth))
	}
	b := s.b
	i = s.ws(i + 1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i = s.value(i, depth); i < 0 {
			return i
		}
		i = s.ws(i)
		if i >= len(b) {
			return s.fail(i, "unterminated array")
		}
		if b[i] == ']' {
			return i + 1
		}
		if b[i] != ',' {
			return s.fail(i, "want ',' or ']' in an array, got "+quoteByte(b[i]))
		}
		i = s.ws(i + 1)
	}
}

// objectFields walks the object at i, validating it, and calls field for
// each member with the key's raw bytes (without quotes, escapes not
// decoded), whether the key has escapes, and the value's start position. field
// returns the position after the value, or -1 on error; it may validate
// the value itself (to index a nested object in the same pass) or call
// s.value. objectFields returns the position after the object.
func (s *scanner) objectFields(i, depth int, field func(key []byte, escaped bool, v int) int) int {
	if depth > s.maxDepth {
		return s.fail(i, fmt.Sprintf("nesting deeper than %d levels", s.maxDepth))
	}
	b := s.b
	i = s.ws(i + 1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return s.fail(i, "want a quoted object key")
		}
		ks := i + 1
		if i = s.str(i); i < 0 {
			return i
		}
		key := b[ks : i-1]
		escaped := false
		for _, c := range key {
			if c == '\\' {
				escaped = true
				break
			}
		}
		i = s.ws(i)
		if i >= len(b) || b[i] != ':' {
			return s.fail(i, "want ':' after an object key")
		}
		i = s.ws(i + 1)
		if i = field(key, escaped, i); i < 0 {
			return i
		}
		i = s.ws(i)
		if i >= len(b) {
			return s.fail(i, "unterminated object")
		}
		if b[i] == '}' {
			return i + 1
		}
		if b[i] != ',' {
			return s.fail(i, "want ',' or '}' in an object, got "+quoteByte(b[i]))
		}
		i = s.ws(i + 1)
	}
}

// unescapeKey decodes an escaped key into dst (for the rare key written
// with escapes).
func unescapeKey(dst, key []byte) []byte {
	return appendUnescaped(dst[:0], key)
}

// appendUnescaped appends the decoded content of a valid JSON string body
// (without its quotes) to dst. Invalid surrogates become U+FFFD.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(s) {
			return dst
		}
		switch e := s[i+1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+6 > len(s) {
				return dst
			}
			r := rune(hex4(s[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' && isHex4(s[i+2:i+6]) {
					if r2 := utf16.DecodeRune(r, rune(hex4(s[i+2:i+6]))); r2 != utf8.RuneError {
						dst = utf8.AppendRune(dst, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) int {
	n := 0
	for _, c := range b[:4] {
		n <<= 4
		switch {
		case c >= '0' && c <= '9':
			n |= int(c - '0')
		case c >= 'a' && c <= 'f':
			n |= int(c-'a') + 10
		default:
			n |= int(c-'A') + 10
		}
	}
	return n
}

// isCompact reports whether valid JSON text b has no insignificant whitespace.
func isCompact(b []byte) bool {
	in := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if in {
			if c == '\\' {
				i++
			} else if c == '"' {
				in = false
			}
			continue
		}
		if c == '"' {
			in = true
		} else if isSpace[c] {
			return false
		}
	}
	return true
}

// appendCompact appends valid JSON text b without insignificant whitespace,
// keeping every other byte (key order and number text) as it is.
func appendCompact(dst, b []byte) []byte {
	in := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if in {
			dst = append(dst, c)
			if c == '\\' && i+1 < len(b) {
				i++
				dst = append(dst, b[i])
			} else if c == '"' {
				in = false
			}
			continue
		}
		if c == '"' {
			in = true
		} else if isSpace[c] {
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// lookup returns the span of member key in the valid JSON object at sp of b,
// or the zero span (the last member wins when a key repeats, as in
// encoding/json). b must already be validated.
func lookup(b []byte, sp span, key string) span {
	if !sp.ok() || b[sp.s] != '{' {
		return span{}
	}
	var s scanner
	s.reset(b[:sp.e], 1<<30)
	var found span
	var kbuf [64]byte
	s.objectFields(int(sp.s), 0, func(k []byte, esc bool, v int) int {
		end := s.value(v, 1)
		if esc {
			k = unescapeKey(kbuf[:0], k)
		}
		if string(k) == key {
			found = span{int32(v), int32(end)}
		}
		return end
	})
	return found
}

// repairControlChars returns b with the raw control characters inside
// strings escaped (LF as \n, CR as \r, TAB as \t, others as \u00XX), and
// whether anything changed. It tracks strings the way a JSON parser does, so
// bytes outside strings are kept as they are.
func repairControlChars(dst, b []byte) ([]byte, bool) {
	changed := false
	in := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !in {
			if c == '"' {
				in = true
			}
			dst = append(dst, c)
			continue
		}
		switch {
		case c == '\\' && i+1 < len(b) && b[i+1] >= 0x20:
			dst = append(dst, c, b[i+1])
			i++
		case c == '"':
			in = false
			dst = append(dst, c)
		case c == '\n':
			dst, changed = append(dst, '\\', 'n'), true
		case c == '\r':
			dst, changed = append(dst, '\\', 'r'), true
		case c == '\t':
			dst, changed = append(dst, '\\', 't'), true
		case c < 0x20:
			const hexd = "0123456789abcdef"
			dst, changed = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15]), true
		default:
			dst = append(dst, c)
		}
	}
	return dst, changed
}
