package kql

import (
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
)

// TestUnionCompilesToOneProgramPerTable checks CompileAll on the union
// forms of the public sign-in queries.
func TestUnionCompilesToOneProgramPerTable(t *testing.T) {
	cases := []struct {
		name   string
		query  string
		tables []string
	}{
		{"a union of two tables followed by where",
			"union isfuzzy=true SigninLogs, AADNonInteractiveUserSignInLogs | where UserPrincipalName startswith 'adele'",
			[]string{"SigninLogs", "AADNonInteractiveUserSignInLogs"}},
		{"a union of parenthesised pipelines",
			"union (SigninLogs | where ResultType == 0), (AADNonInteractiveUserSignInLogs | where ResultType == 0) | where UserPrincipalName startswith 'adele'",
			[]string{"SigninLogs", "AADNonInteractiveUserSignInLogs"}},
		{"a union operator after a pipe",
			"SigninLogs | where ResultType == 0 | union AADNonInteractiveUserSignInLogs | where UserPrincipalName startswith 'adele'",
			[]string{"SigninLogs", "AADNonInteractiveUserSignInLogs"}},
		{"let functions called with table names, as Sentinel templates do",
			`let email = "adele.vance@contoso.com";
let aadFunc = (tableName: string, upn: string) {
    table(tableName)
    | where ResultType == 0
    | where UserPrincipalName == upn
};
let aadSignin = aadFunc("SigninLogs", email);
let aadNonInt = aadFunc("AADNonInteractiveUserSignInLogs", email);
union isfuzzy=true aadSignin, aadNonInt
| project TimeGenerated, UserPrincipalName`,
			[]string{"SigninLogs", "AADNonInteractiveUserSignInLogs"}},
		{"a query without union gives one program",
			"SigninLogs | where ResultType == 0", []string{"SigninLogs"}},
	}
	rows := map[string]*table.Row{
		"SigninLogs": deviceCodeRow(t),
		"AADNonInteractiveUserSignInLogs": mkRow(t, nonInteractive, map[string]table.Value{
			"ResultType": table.Str("0"), "UserPrincipalName": table.Str("adele.vance@contoso.com"),
		}),
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			progs, err := CompileAll(q, catalog, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if len(progs) != len(tc.tables) {
				t.Fatalf("got %d programs, want %d", len(progs), len(tc.tables))
			}
			for i, p := range progs {
				if p.Table().Name != tc.tables[i] {
					t.Errorf("program %d reads %s, want %s", i, p.Table().Name, tc.tables[i])
				}
				if ok, err := p.Match(rows[p.Table().Name]); err != nil || !ok {
					t.Errorf("program %d (%s): Match = %v, %v; want true", i, p.Table().Name, ok, err)
				}
			}
		})
	}
}

// TestUnionWithSourceNamesTheTable checks withsource=.
func TestUnionWithSourceNamesTheTable(t *testing.T) {
	q, err := Parse("union withsource=SourceTable SigninLogs, AADNonInteractiveUserSignInLogs | where ResultType == 0 | project SourceTable, UserPrincipalName")
	if err != nil {
		t.Fatal(err)
	}
	progs, err := CompileAll(q, catalog, testOptions())
	if err != nil || len(progs) != 2 {
		t.Fatalf("CompileAll = %d programs, %v", len(progs), err)
	}
	outs, err := progs[1].Run(mkRow(t, nonInteractive, map[string]table.Value{"ResultType": table.Str("0")}))
	if err != nil || len(outs) != 1 {
		t.Fatalf("Run = %d rows, %v", len(outs), err)
	}
	if got := outs[0].Columns[0]; got.Name != "SourceTable" || got.Value.S != "AADNonInteractiveUserSignInLogs" {
		t.Errorf("first column %+v, want SourceTable = AADNonInteractiveUserSignInLogs", got)
	}
}

// TestUnionLegsAreCheckedAgainstTheirOwnColumns checks that a union whose
// later operators are wrong for one table is refused, as Kusto refuses
// element access on the string-typed DeviceDetail of the non-interactive
// table.
func TestUnionLegsAreCheckedAgainstTheirOwnColumns(t *testing.T) {
	q, err := Parse("union SigninLogs, AADNonInteractiveUserSignInLogs | where isempty(DeviceDetail.deviceId)")
	if err != nil {
		t.Fatal(err)
	}
	_, err = CompileAll(q, catalog, testOptions())
	e, ok := err.(*Error)
	if !ok || e.Line != 1 || e.Column != 67 {
		t.Fatalf("CompileAll error = %v, want the element access at 1:67", err)
	}
}

// TestLetFunctionsAreInlined checks a tabular let function used directly.
func TestLetFunctionsAreInlined(t *testing.T) {
	p := mustCompile(t, `let recent = (T:(TimeGenerated:datetime), window:timespan = 1h) { T | where TimeGenerated > ago(window) };
recent(SigninLogs) | where ResultType == 0`)
	if ok, err := p.Match(deviceCodeRow(t)); err != nil || !ok {
		t.Errorf("Match = %v, %v; want true", ok, err)
	}
	p = mustCompile(t, `let recent = (T:(*), window:timespan = 1h) { T | where TimeGenerated > ago(window) };
recent(SigninLogs, 1m)`)
	if ok, _ := p.Match(deviceCodeRow(t)); ok {
		t.Error("a sign-in two minutes old matched a one-minute window")
	}
	q, err := Parse("let T = T; T | where ResultType == 0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(q, catalog, testOptions()); err == nil {
		t.Error("a let that names itself compiled")
	}
	// A tabular argument is resolved where the function is called.
	p = mustCompile(t, `let f = (T:(*)) { T | where ResultType == 0 };
let T = SigninLogs | where Location == "NL";
f(T)`)
	if ok, _ := p.Match(deviceCodeRow(t)); !ok {
		t.Error("f(T) with T a let in the caller did not match")
	}
}
