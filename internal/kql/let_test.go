package kql

import (
	"strings"
	"testing"
)

// TestConstantIOCListsWork checks the IOC-list forms of Sentinel rules:
// a let bound to a one-column (or, using its first column, several-column)
// datatable or to a dynamic array, used with in, !in, in~, !in~, has_any and
// has_all, computed once when the rule is compiled.
func TestConstantIOCListsWork(t *testing.T) {
	row := deviceCodeRow(t) // IPAddress 203.0.113.7, UserPrincipalName adele.vance@contoso.com
	for _, tc := range []struct {
		query string
		want  bool
	}{
		{`let bad = datatable(ip:string)["203.0.113.66", "198.51.100.7"]; SigninLogs | where IPAddress in (bad)`, false},
		{`let bad = datatable(ip:string)["203.0.113.7", "198.51.100.7"]; SigninLogs | where IPAddress in (bad)`, true},
		{`let bad = datatable(ip:string)["203.0.113.66", "198.51.100.7"]; SigninLogs | where IPAddress !in (bad)`, true},
		{`let bad = datatable(upn:string)["ADELE.VANCE@contoso.com"]; SigninLogs | where UserPrincipalName in~ (bad)`, true},
		{`let bad = datatable(upn:string)["ADELE.VANCE@contoso.com"]; SigninLogs | where UserPrincipalName !in~ (bad)`, false},
		{`let bad = datatable(upn:string)["ADELE.VANCE@contoso.com"]; SigninLogs | where UserPrincipalName in (bad)`, false},
		{`let words = datatable(w:string)["azure", "vance"]; SigninLogs | where UserPrincipalName has_any (words)`, true},
		{`let words = datatable(w:string)["azure", "vance"]; SigninLogs | where UserPrincipalName has_all (words)`, false},
		{`let bad = datatable(ip:string, note:string)["203.0.113.7", "tor exit", "198.51.100.7", "vpn"]; SigninLogs | where IPAddress in (bad)`, true},
		{`let bad = datatable(ip:string, note:string)["tor exit", "203.0.113.7"]; SigninLogs | where IPAddress in (bad)`, false},
		{`let codes = datatable(code:long)[50126, 0]; SigninLogs | where ResultType in (codes)`, true},
		{`let bad = dynamic(["203.0.113.7"]); SigninLogs | where IPAddress in (bad)`, true},
		{`let bad = datatable(ip:string)["203.0.113.7"]; let alias = bad; SigninLogs | where IPAddress in (alias, "x")`, true},
		{"let bad = datatable(ip:string)\n[\n  \"203.0.113.7\",  // the first\n  \"198.51.100.7\",\n];\nSigninLogs | where IPAddress in (bad)", true},
	} {
		t.Run(tc.query, func(t *testing.T) {
			ok, err := mustCompile(t, tc.query).Match(row)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want {
				t.Errorf("Match = %v, want %v", ok, tc.want)
			}
		})
	}
}

// TestScalarLetFunctionsAreInlined checks a scalar function defined by
// let: its parameters are bound to the caller's arguments and its body may
// not read the caller's columns.
func TestScalarLetFunctionsAreInlined(t *testing.T) {
	row := deviceCodeRow(t)
	for _, tc := range []struct {
		query string
		want  bool
	}{
		{`let isAdele = (u:string) { u startswith "adele." }; SigninLogs | where isAdele(UserPrincipalName)`, true},
		{`let isAdmin = (u:string) { u startswith "adm-" }; SigninLogs | where isAdmin(UserPrincipalName)`, false},
		{`let inNet = (ip:string, net:string = "203.0.113.0/24") { ipv4_is_in_range(ip, net) }; SigninLogs | where inNet(IPAddress)`, true},
		{`let inNet = (ip:string, net:string = "203.0.113.0/24") { ipv4_is_in_range(ip, net) }; SigninLogs | where inNet(IPAddress, "10.0.0.0/8")`, false},
		{`let prefix = "adele"; let f = (u:string) { let p = strcat(prefix, "."); u startswith p }; SigninLogs | where f(UserPrincipalName)`, true},
		{`let twice = (n:long) { n * 2 }; SigninLogs | extend d = twice(DurationMs) | where d == 0`, true},
		{`let f = () { 5 }; SigninLogs | where f() == 5`, true},
	} {
		t.Run(tc.query, func(t *testing.T) {
			ok, err := mustCompile(t, tc.query).Match(row)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want {
				t.Errorf("Match = %v, want %v", ok, tc.want)
			}
		})
	}
}

// TestLetFormsThatCannotRunAreRefusedPlainly checks the messages of let
// uses a rule cannot run.
func TestLetFormsThatCannotRunAreRefusedPlainly(t *testing.T) {
	for _, tc := range []struct{ query, msg string }{
		{`let bad = datatable(ip:string)["x"]; SigninLogs | where IPAddress == bad`, "bad is a datatable: use it as a list, in in (bad), !in, in~, !in~, has_any or has_all"},
		{`let bad = datatable(ip:string)[IPAddress]; SigninLogs | where IPAddress in (bad)`, "unknown name 'IPAddress' (a let value cannot read columns)"},
		{`let bad = datatable(n:long)["x"]; SigninLogs | where DurationMs in (bad)`, "datatable value \"x\" is a string, but the column n is long"},
		{`let bad = datatable(ip:string)["x"]; bad | where ip == "x"`, "unsupported in per-record rules: datatable (a rule reads the sign-in stream)"},
		{`let f = (u:string) { u startswith Location }; SigninLogs | where f(UserPrincipalName)`, "unknown name 'Location' (a let function's body cannot read the caller's columns"},
		{`let f = (u:string) { u }; SigninLogs | where f(UserPrincipalName, 1) == ""`, "f takes 1 arguments, not 2"},
		{`let f = (u:string) { u }; SigninLogs | where f() == ""`, "f: missing the argument u"},
		{`let f = (T:(*)) { T | where ResultType == 0 }; SigninLogs | where isnotnull(f(SigninLogs))`, "the let function f returns a table"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Compile(q, catalog, testOptions())
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Compile = %v, want an error saying %q", err, tc.msg)
			}
		})
	}
}
