package kql

import (
	"strconv"
	"unicode/utf8"
)

// This file is a small JSON scanner over the compact JSON text that dynamic
// values hold. It finds members and elements by slicing the text, so that
// dynamic access allocates nothing; only a string with escapes is copied
// when it is unescaped.

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the JSON string starting at s[i]
// (which is '"'), whether it holds escapes, and false when it is not closed.
func skipString(s string, i int) (end int, escaped, ok bool) {
	i++
	for i < len(s) {
		switch s[i] {
		case '"':
			return i + 1, escaped, true
		case '\\':
			escaped = true
			i += 2
			continue
		}
		i++
	}
	return len(s), escaped, false
}

// skipValue returns the index just past the JSON value starting at s[i]
// (after white space), or -1 when the text is malformed.
func skipValue(s string, i int) int {
	i = skipWS(s, i)
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		end, _, ok := skipString(s, i)
		if !ok {
			return -1
		}
		return end
	case '{', '[':
		depth := 0
		for i < len(s) {
			switch s[i] {
			case '"':
				end, _, ok := skipString(s, i)
				if !ok {
					return -1
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default:
		j := i
		for j < len(s) {
			c := s[j]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// jsonMember returns the raw text of the member key of the JSON object s.
func jsonMember(s, key string) (string, bool) {
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return "", false
	}
	i++
	for {
		i = skipWS(s, i)
		if i >= len(s) || s[i] == '}' {
			return "", false
		}
		if s[i] != '"' {
			return "", false
		}
		end, esc, ok := skipString(s, i)
		if !ok {
			return "", false
		}
		var match bool
		if esc {
			match = unescapeJSON(s[i+1:end-1]) == key
		} else {
			match = s[i+1:end-1] == key
		}
		i = skipWS(s, end)
		if i >= len(s) || s[i] != ':' {
			return "", false
		}
		vstart := skipWS(s, i+1)
		vend := skipValue(s, vstart)
		if vend < 0 {
			return "", false
		}
		if match {
			return s[vstart:vend], true
		}
		i = skipWS(s, vend)
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		return "", false
	}
}

// jsonElements calls fn with the raw text of each element of the JSON array
// s until fn returns false. It reports false when s is not an array.
func jsonElements(s string, fn func(elem string) bool) bool {
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '[' {
		return false
	}
	i++
	for {
		i = skipWS(s, i)
		if i >= len(s) {
			return false
		}
		if s[i] == ']' {
			return true
		}
		end := skipValue(s, i)
		if end < 0 {
			return false
		}
		if !fn(s[i:end]) {
			return true
		}
		i = skipWS(s, end)
		if i < len(s) && s[i] == ',' {
			i++
		}
	}
}

// jsonLen returns the number of elements of a JSON array (or members of an
// object) and false when s is neither.
func jsonLen(s string) (int, bool) {
	i := skipWS(s, 0)
	if i >= len(s) || (s[i] != '[' && s[i] != '{') {
		return 0, false
	}
	obj := s[i] == '{'
	i++
	n := 0
	for {
		i = skipWS(s, i)
		if i >= len(s) {
			return 0, false
		}
		if s[i] == ']' || s[i] == '}' {
			return n, true
		}
		end := skipValue(s, i)
		if end < 0 {
			return 0, false
		}
		if obj {
			i = skipWS(s, end)
			if i >= len(s) || s[i] != ':' {
				return 0, false
			}
			end = skipValue(s, i+1)
			if end < 0 {
				return 0, false
			}
		}
		n++
		i = skipWS(s, end)
		if i < len(s) && s[i] == ',' {
			i++
		}
	}
}

// jsonIndex returns the raw text of element idx of the JSON array s; a
// negative index counts from the end, as in Kusto.
func jsonIndex(s string, idx int) (string, bool) {
	if idx < 0 {
		n, ok := jsonLen(s)
		if !ok {
			return "", false
		}
		idx += n
		if idx < 0 {
			return "", false
		}
	}
	var out string
	found := false
	k := 0
	jsonElements(s, func(e string) bool {
		if k == idx {
			out, found = e, true
			return false
		}
		k++
		return true
	})
	return out, found
}

// jsonStringValue returns the text of the JSON string s (with quotes),
// unescaping only when it holds escapes.
func jsonStringValue(s string) string {
	if len(s) < 2 {
		return ""
	}
	in := s[1 : len(s)-1]
	for i := 0; i < len(in); i++ {
		if in[i] == '\\' {
			return unescapeJSON(in)
		}
	}
	return in
}

// unescapeJSON decodes the escapes of the inside of a JSON string.
func unescapeJSON(in string) string {
	b := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '\\' || i+1 >= len(in) {
			b = append(b, c)
			continue
		}
		i++
		switch in[i] {
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'u':
			if i+4 < len(in) {
				v, err := strconv.ParseUint(in[i+1:i+5], 16, 32)
				if err == nil {
					r := rune(v)
					i += 4
					if r >= 0xD800 && r < 0xDC00 && i+6 < len(in) && in[i+1] == '\\' && in[i+2] == 'u' {
						if lo, err := strconv.ParseUint(in[i+3:i+7], 16, 32); err == nil && lo >= 0xDC00 && lo < 0xE000 {
							r = (r-0xD800)<<10 + (rune(lo) - 0xDC00) + 0x10000
							i += 6
						}
					}
					b = utf8.AppendRune(b, r)
					continue
				}
			}
			b = append(b, 'u')
		default:
			b = append(b, in[i])
		}
	}
	return string(b)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// validJSON reports whether s is exactly one JSON value (with optional
// surrounding white space), checked loosely for structure.
func validJSON(s string) bool {
	end := skipValue(s, 0)
	if end < 0 {
		return false
	}
	if skipWS(s, end) != len(s) {
		return false
	}
	i := skipWS(s, 0)
	switch c := s[i]; {
	case c == '{' || c == '[' || c == '"':
		return true
	case c == 't':
		return s[i:end] == "true"
	case c == 'f':
		return s[i:end] == "false"
	case c == 'n':
		return s[i:end] == "null"
	default:
		_, ok := parseNumber(s[i:end])
		return ok
	}
}
