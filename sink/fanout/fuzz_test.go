package fanout

import (
	"encoding/json"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink/sinktest"
)

// FuzzMinimize: whatever the user name and dynamic column, minimisation
// removes the column, keeps every dynamic value valid JSON, and leaves no
// JSON string equal to the user name inside it.
func FuzzMinimize(f *testing.F) {
	f.Add("user0@contoso.com", `{"who":"user0@contoso.com","n":1}`)
	f.Add(`a"b`, `["a\"b",{"a\"b":true}]`)
	f.Add("x", `{"x":"x","xx":"\"x\""}`)
	f.Add("", `null`)
	f.Fuzz(func(t *testing.T, upn, dyn string) {
		if !json.Valid([]byte(dyn)) {
			return
		}
		fd := sinktest.Finding(0)
		fd.Columns[1].Value = table.Str(upn) // UserPrincipalName
		fd.Columns = append(fd.Columns, pipeline.Column{Name: "Details", Type: table.TypeDynamic, Value: table.Dynamic(dyn)})
		fd.Entities[0].Identifier = upn
		for _, m := range []Minimize{
			{Omit: []string{"UserPrincipalName"}},
			{Hash: []string{"UserPrincipalName"}, HashKey: "0123456789abcdef"},
		} {
			out := newMinimizer(m).apply(fd)
			for _, c := range out.Columns {
				if c.Name == "UserPrincipalName" && len(m.Omit) > 0 {
					t.Fatal("the omitted column is still there")
				}
				if c.Value.K != table.KindDynamic {
					continue
				}
				if !json.Valid([]byte(c.Value.S)) {
					t.Fatalf("minimisation broke the JSON %q into %q", dyn, c.Value.S)
				}
				if upn != "" && containsString(t, c.Value.S, upn) {
					t.Fatalf("%q still holds the string %q", c.Value.S, upn)
				}
			}
		}
	})
}

// containsString reports whether any string (value or key) in the JSON
// text equals s.
func containsString(t *testing.T, text, s string) bool {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case string:
			return x == s
		case []any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		case map[string]any:
			for k, e := range x {
				if k == s || walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}
