package kql

import (
	"errors"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
)

// FuzzParse checks that Parse never panics and that every error names a
// place inside the text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		seedSentinel, seedDefender,
		"SigninLogs | where a has_any ('x') and b in~ (dynamic(['y']))",
		"let x = (t:string) { table(t) | take 1 }; union x('a'), (T | where b)",
		"T | where d between (datetime(2024-01-01) .. 1d) | project ['a b'] = c.[0].d",
		"T | where s == @'x''y' and h'z' == ```multi\nline```",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		q, err := Parse(text)
		if err == nil {
			if q == nil {
				t.Fatal("Parse returned neither a query nor an error")
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Parse error %v is not *Error", err)
		}
		lines := strings.Count(text, "\n") + 1
		if e.Line < 1 || e.Line > lines || e.Column < 1 {
			t.Fatalf("error %v is outside the text (%d lines)", err, lines)
		}
		if e.Msg == "" {
			t.Fatal("error without a message")
		}
	})
}

// FuzzCompileAndRun checks that any query that parses either compiles or
// fails with a positioned error, and that evaluating it never panics.
func FuzzCompileAndRun(f *testing.F) {
	for _, s := range []string{
		seedSentinel, seedDefender,
		"SigninLogs | extend x = DeviceDetail[0].a, y = split(UserPrincipalName, '@')[-1] | where x == y or isnull(x)",
		"SigninLogs | where toint(ResultType) / 0 == 1 or bin(DurationMs, 0) == 0",
		"AADNonInteractiveUserSignInLogs | where parse_json(DeviceDetail).isCompliant == true",
		"let f = (t:string) { table(t) | where ResultType == 0 }; union withsource=S f('SigninLogs'), f('AADNonInteractiveUserSignInLogs')",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		q, err := Parse(text)
		if err != nil {
			return
		}
		progs, err := CompileAll(q, catalog, testOptions())
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Column < 1 {
				t.Fatalf("Compile error %v is not a positioned *Error", err)
			}
			return
		}
		for _, p := range progs {
			runOnce(t, p)
		}
	})
}

func runOnce(t *testing.T, p *Program) {
	{
		row := deviceCodeRow(t)
		if p.Table() == signInEventsBeta {
			row = defenderRow(t, 0, "Cmsi:Cmsi", "")
		} else if p.Table() == nonInteractive {
			row = mkRow(t, nonInteractive, map[string]table.Value{"DeviceDetail": table.Str(`{"a":[1,{"b":"c\"d"}]}`)})
		}
		if _, err := p.Match(row); err != nil {
			t.Fatalf("Match: %v", err)
		}
		if _, err := p.Run(row); err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
}

// FuzzDynamicAccess checks that member and index access on arbitrary JSON
// text never panics and finds what a JSON decoder finds in valid objects.
func FuzzDynamicAccess(f *testing.F) {
	f.Add(`{"deviceId":"","operatingSystem":"Windows 10","a":[1,2,{"b":null}]}`, "operatingSystem", 2)
	f.Add(`{"k\"ey":"v\u00e9"}`, `k"ey`, 0)
	f.Add(`[1, 2 ,3 ]`, "x", -1)
	f.Add(`{"a":`, "a", 0)
	f.Fuzz(func(t *testing.T, doc, key string, idx int) {
		v := table.Value{K: table.KindDynamic, S: doc}
		m := member(v, key)
		if m.K == table.KindDynamic && !strings.Contains(doc, m.S) {
			t.Fatalf("member %q of %q = %q, not a slice of the text", key, doc, m.S)
		}
		jsonIndex(doc, idx)
		jsonLen(doc)
		toStr(m)
		dynScalar(m)
		validJSON(doc)
	})
}
