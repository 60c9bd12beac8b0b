package fanout

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/pipeline"
)

// minimizer omits or hashes chosen columns of a finding.
type minimizer struct {
	omit map[string]bool
	hash map[string]bool
	key  []byte
}

func newMinimizer(m Minimize) minimizer {
	mz := minimizer{omit: map[string]bool{}, hash: map[string]bool{}, key: []byte(m.HashKey)}
	for _, c := range m.Omit {
		mz.omit[c] = true
	}
	for _, c := range m.Hash {
		mz.hash[c] = true
	}
	return mz
}

func (m minimizer) active() bool { return len(m.omit) > 0 || len(m.hash) > 0 }

// HashValue is the hashed form of a value under a key: "hmac:" and the
// first 32 hex digits of HMAC-SHA256(key, lower-cased value).
func HashValue(key []byte, v string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(strings.ToLower(v)))
	return "hmac:" + hex.EncodeToString(mac.Sum(nil)[:16])
}

// apply returns a copy of f with the chosen columns omitted or hashed, in
// the columns, the entities and inside dynamic columns. f is not changed.
func (m minimizer) apply(f pipeline.Finding) pipeline.Finding {
	if !m.active() {
		return f
	}
	// The values to remove or replace, wherever they appear.
	replace := map[string]string{} // original -> hash, or "" to omit
	cols := make(pipeline.Columns, 0, len(f.Columns))
	for _, c := range f.Columns {
		switch {
		case m.omit[c.Name]:
			if c.Value.S != "" {
				replace[c.Value.S] = ""
			}
			continue
		case m.hash[c.Name] && c.Value.K == table.KindString:
			if c.Value.S != "" {
				h := HashValue(m.key, c.Value.S)
				replace[c.Value.S] = h
				c.Value = table.Str(h)
			}
		}
		cols = append(cols, c)
	}
	if len(replace) == 0 {
		f.Columns = cols
		return f
	}
	// Inside dynamic columns, replace the value wherever it is a whole JSON
	// string (a value or a key).
	for i, c := range cols {
		if c.Value.K != table.KindDynamic || !mayHold(c.Value.S, replace) {
			continue
		}
		if out, err := rewriteJSON(c.Value.S, replace); err == nil {
			cols[i].Value = table.Dynamic(out)
		}
	}
	f.Columns = cols
	var ents []pipeline.Entity
	for _, e := range f.Entities {
		if h, ok := replace[e.Identifier]; ok {
			if h == "" {
				continue // the entity is the omitted value
			}
			e.Identifier = h
		}
		if len(e.Fields) > 0 {
			fields := make(map[string]string, len(e.Fields))
			for k, v := range e.Fields {
				if h, ok := replace[v]; ok {
					if h == "" {
						continue
					}
					v = h
				}
				fields[k] = v
			}
			e.Fields = fields
		}
		ents = append(ents, e)
	}
	if ents == nil {
		ents = []pipeline.Entity{}
	}
	f.Entities = ents
	return f
}

// mayHold is a quick test: could the JSON text hold one of the values?
// (Escapes may spell a value differently, so any backslash says maybe.)
func mayHold(text string, replace map[string]string) bool {
	if strings.IndexByte(text, '\\') >= 0 {
		return true
	}
	for orig := range replace {
		if strings.Contains(text, orig) {
			return true
		}
	}
	return false
}

// rewriteJSON re-encodes JSON text token by token, keeping key order and
// numbers as written, with every string equal to a key of replace replaced
// by its value.
func rewriteJSON(text string, replace map[string]string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var out bytes.Buffer
	if err := rewriteValue(dec, &out, replace); err != nil {
		return "", err
	}
	return out.String(), nil
}

func writeJSONString(out *bytes.Buffer, s string) {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out.Truncate(out.Len() - 1) // Encode's newline
}

func rewriteValue(dec *json.Decoder, out *bytes.Buffer, replace map[string]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		open, close := byte(v), byte('}')
		if v == '[' {
			close = ']'
		}
		out.WriteByte(open)
		for n := 0; dec.More(); n++ {
			if n > 0 {
				out.WriteByte(',')
			}
			if open == '{' {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				if r, ok := replace[key]; ok {
					key = r
				}
				writeJSONString(out, key)
				out.WriteByte(':')
			}
			if err := rewriteValue(dec, out, replace); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		out.WriteByte(close)
	case string:
		if r, ok := replace[v]; ok {
			v = r
		}
		writeJSONString(out, v)
	case json.Number:
		out.WriteString(v.String())
	case bool:
		if v {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case nil:
		out.WriteString("null")
	}
	return nil
}
