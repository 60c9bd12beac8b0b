package kql

import (
	"errors"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
)

// TestBrokenRulesAreRefusedWithTheirPlace checks compile errors: the line
// and column of the offending text and a message saying what is wrong.
func TestBrokenRulesAreRefusedWithTheirPlace(t *testing.T) {
	cases := []struct {
		name      string
		query     string
		line, col int
		msg       string
	}{
		{"an unknown column suggests the nearest one",
			"SigninLogs\n| where TimeGenerated > ago(1d)\n| where ResultTyp == 0", 3, 9,
			"unknown column 'ResultTyp' in SigninLogs (did you mean ResultType?)"},
		{"column names are case-sensitive",
			"SigninLogs | where resulttype == 0", 1, 20,
			"unknown column 'resulttype' in SigninLogs (did you mean ResultType?)"},
		{"an unknown table suggests the right casing",
			"SignInLogs | where ResultType == 0", 1, 1,
			"unknown table 'SignInLogs' (did you mean SigninLogs? table names are case-sensitive)"},
		{"ordering a string against a number is not defined",
			"SigninLogs | where ResultType > 0", 1, 31,
			"operator '>' not defined for string and long"},
		{"a datetime cannot be compared with a string",
			`SigninLogs | where TimeGenerated > "2024-01-01"`, 1, 34,
			"operator '>' not defined for datetime and string"},
		{"element access on a string column needs todynamic",
			"AADNonInteractiveUserSignInLogs | where DeviceDetail.deviceId == ''", 1, 41,
			"element access DeviceDetail.deviceId is not allowed: DeviceDetail is a string column in AADNonInteractiveUserSignInLogs; write todynamic(DeviceDetail).deviceId"},
		{"summarize needs windowed state",
			"SigninLogs | summarize count() by UserPrincipalName", 1, 14,
			"unsupported in per-record rules: summarize (needs windowed state)"},
		{"join needs another table",
			"SigninLogs | join kind=inner (AADNonInteractiveUserSignInLogs) on UserPrincipalName", 1, 14,
			"unsupported in per-record rules: join (needs another table or windowed state)"},
		{"mv-expand of a string column needs todynamic",
			"SigninLogs | mv-expand AuthenticationDetails", 1, 24,
			"mv-expand needs a dynamic array or property bag, not string; write todynamic(AuthenticationDetails)"},
		{"mv-apply is not implemented yet",
			"SigninLogs | mv-apply d = DeviceDetail on (take 1)", 1, 14,
			"unsupported in per-record rules: mv-apply (not implemented yet)"},
		{"a union runs only at the top of the query",
			"let both = union SigninLogs, AADNonInteractiveUserSignInLogs; both | where ResultType == 0", 1, 12,
			"unsupported in per-record rules: union here (a rule reads several tables only through a union at the top of its query"},
		{"union kind=inner is refused",
			"union kind=inner SigninLogs, AADNonInteractiveUserSignInLogs | where ResultType == 0", 1, 1,
			"unsupported in per-record rules: union kind=inner"},
		{"a query of only let statements has no rows",
			"let x = 1;\nlet y = 2;", 2, 11,
			"the query has no tabular expression"},
		{"an unknown function is named",
			"SigninLogs | where frobnicate(Location)", 1, 20,
			"unknown function 'frobnicate'"},
		{"function names are case-sensitive",
			"SigninLogs | where IsEmpty(Location)", 1, 20,
			"unknown function 'IsEmpty' (function names are case-sensitive: write isempty)"},
		{"a wrong argument count is refused",
			"SigninLogs | where isempty(Location, 1)", 1, 20,
			"isempty takes 1 argument(s), not 2"},
		{"a bad regular expression is refused",
			`SigninLogs | where Location matches regex "a("`, 1, 43,
			"bad regular expression"},
		{"parse_user_agent needs a parser the engine lacks",
			"SigninLogs | extend ua = parse_user_agent(UserAgent, 'browser')", 1, 26,
			"unsupported in per-record rules: parse_user_agent (needs a user-agent parser, not available yet)"},
		{"a where on a non-bool is refused",
			"SigninLogs | where Location", 1, 20,
			"where needs a bool predicate, not string"},
		{"adding strings suggests strcat",
			"SigninLogs | where Location + 'x' == 'NLx'", 1, 29,
			"operator '+' not defined for string and string (use strcat to join strings)"},
		{"in with a subquery needs another table",
			"SigninLogs | where UserPrincipalName in (AADNonInteractiveUserSignInLogs | project UserPrincipalName)", 1, 42,
			"unsupported in per-record rules: in with a tabular subquery"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = CompileAll(q, catalog, testOptions())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("CompileAll error = %v, want *Error", err)
			}
			if e.Line != tc.line || e.Column != tc.col || !strings.HasPrefix(e.Msg, tc.msg) {
				t.Errorf("got %d:%d %q\nwant %d:%d %q...", e.Line, e.Column, e.Msg, tc.line, tc.col, tc.msg)
			}
		})
	}
}

// TestEndpointCallComparisonsTheStreamCanDecideAreDecidedAsDefenderWould checks the uses of
// EndpointCall that the stream decides as Defender would: a direct
// comparison with the one value it derives, and output. Each query compiles
// and is run on a sign-in the stream derives as "Cmsi:Cmsi" and on one it
// derives as "" (every other sign-in), with the answer Defender gives.
func TestEndpointCallComparisonsTheStreamCanDecideAreDecidedAsDefenderWould(t *testing.T) {
	cases := []struct {
		query       string
		cmsi, empty bool   // whether each sign-in is kept
		out         string // an output column that carries EndpointCall unchanged
	}{
		{`AADSignInEventsBeta | where EndpointCall == "Cmsi:Cmsi"`, true, false, ""},
		{`AADSignInEventsBeta | where EndpointCall != "Cmsi:Cmsi"`, false, true, ""},
		{`AADSignInEventsBeta | where EndpointCall =~ "cmsi:cmsi"`, true, false, ""},
		{`AADSignInEventsBeta | where EndpointCall !~ "CMSI:CMSI"`, false, true, ""},
		{`AADSignInEventsBeta | where "Cmsi:Cmsi" == EndpointCall`, true, false, ""},
		{`AADSignInEventsBeta | where (EndpointCall) == "Cmsi:Cmsi"`, true, false, ""},
		{`AADSignInEventsBeta | where EndpointCall in ("Cmsi:Cmsi")`, true, false, ""},
		{`AADSignInEventsBeta | where EndpointCall !in ("Cmsi:Cmsi")`, false, true, ""},
		{`AADSignInEventsBeta | where EndpointCall in~ ("cmsi:cmsi")`, true, false, ""},
		{`AADSignInEventsBeta | where EndpointCall !in~ ("cmsi:cmsi")`, false, true, ""},
		{`let v = dynamic(["Cmsi:Cmsi"]); AADSignInEventsBeta | where EndpointCall in (v)`, true, false, ""},
		{`let c = "Cmsi:Cmsi"; AADSignInEventsBeta | where EndpointCall == c`, true, false, ""},
		{`AADSignInEventsBeta | where iff(EndpointCall == "Cmsi:Cmsi", 1, 0) == 1`, true, false, ""},
		{`AADSignInEventsBeta | project EndpointCall, AccountUpn`, true, true, "EndpointCall"},
		{`AADSignInEventsBeta | project E = EndpointCall | where E == "Cmsi:Cmsi"`, true, false, "E"},
		{`AADSignInEventsBeta | extend E = EndpointCall | where E =~ "Cmsi:Cmsi"`, true, false, "E"},
		{`AADSignInEventsBeta | project-rename E = EndpointCall | where E in ("Cmsi:Cmsi")`, true, false, "E"},
		{`AADSignInEventsBeta | project-reorder EndpointCall | project-away Timestamp`, true, true, "EndpointCall"},
		{`AADSignInEventsBeta | where column_ifexists("EndpointCall", "") == "Cmsi:Cmsi"`, true, false, ""},
	}
	signIn := func(t *testing.T, endpoint string) *table.Row {
		return mkRow(t, signInEventsBeta, map[string]table.Value{
			"Timestamp":    dt("2025-02-14T11:58:03Z"),
			"AccountUpn":   table.Str("adele.vance@contoso.com"),
			"ErrorCode":    table.Int(0),
			"EndpointCall": table.Str(endpoint),
		})
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			p := mustCompile(t, tc.query)
			for _, r := range []struct {
				endpoint string
				want     bool
			}{{"Cmsi:Cmsi", tc.cmsi}, {"", tc.empty}} {
				row := signIn(t, r.endpoint)
				got, err := p.Match(row)
				if err != nil || got != r.want {
					t.Errorf("EndpointCall %q: Match = %v, %v; want %v", r.endpoint, got, err, r.want)
				}
				outs, err := p.Run(row)
				if err != nil || (len(outs) == 1) != r.want || len(outs) > 1 {
					t.Fatalf("EndpointCall %q: Run = %d rows, %v; want kept %v", r.endpoint, len(outs), err, r.want)
				}
				if tc.out == "" || len(outs) == 0 {
					continue
				}
				found := false
				for _, c := range outs[0].Columns {
					if c.Name == tc.out {
						found = true
						if c.Value != table.Str(r.endpoint) {
							t.Errorf("EndpointCall %q: output %s = %+v, want it unchanged", r.endpoint, c.Name, c.Value)
						}
					}
				}
				if !found {
					t.Errorf("EndpointCall %q: no output column %s", r.endpoint, tc.out)
				}
			}
		})
	}
}

// TestEndpointCallUsesTheStreamCannotDecideAreRefused checks every other
// use of EndpointCall in an expression: the stream only derives
// "Cmsi:Cmsi" (and "" otherwise), so another literal, another operator or
// a function of the column would not be decided as Defender decides it.
// The message quotes the user's literal as written.
func TestEndpointCallUsesTheStreamCannotDecideAreRefused(t *testing.T) {
	const pre = `not evaluable on this stream: EndpointCall can only be derived as "Cmsi:Cmsi" here (every other sign-in reads ""), so `
	const post = ` would never be decided honestly; compare EndpointCall itself with ==, =~ or in against "Cmsi:Cmsi" (or !=, !~, !in), or output it unchanged`
	cases := []struct {
		where string
		col   int
		use   string
	}{
		{`EndpointCall == "Login:Reprocess"`, 42, `'EndpointCall == "Login:Reprocess"'`},
		{`"Login:Reprocess" == EndpointCall`, 47, `'EndpointCall == "Login:Reprocess"'`},
		{`EndpointCall != "OAuth2:Token"`, 42, `'EndpointCall != "OAuth2:Token"'`},
		{`EndpointCall == "cmsi:cmsi"`, 42, `'EndpointCall == "cmsi:cmsi"'`},
		{`EndpointCall == ""`, 42, `'EndpointCall == ""'`},
		{`EndpointCall =~ "login:login"`, 42, `'EndpointCall =~ "login:login"'`},
		{`EndpointCall == AccountUpn`, 42, `'EndpointCall == AccountUpn'`},
		{`EndpointCall in ("Login:Login", "SAS:EndAuth")`, 42, `'EndpointCall in ("Login:Login", "SAS:EndAuth")'`},
		{`EndpointCall in ("Cmsi:Cmsi", "Login:Reprocess")`, 42, `'EndpointCall in ("Cmsi:Cmsi", "Login:Reprocess")'`},
		{`EndpointCall !in~ ("login:login")`, 42, `'EndpointCall !in~ ("login:login")'`},
		{`EndpointCall in (AccountUpn)`, 42, `'EndpointCall in (...)'`},
		{`EndpointCall contains "Login"`, 42, `'EndpointCall contains "Login"'`},
		{`EndpointCall has "Login"`, 42, `'EndpointCall has "Login"'`},
		{`EndpointCall has "Cmsi:cmsi"`, 42, `'EndpointCall has "Cmsi:cmsi"'`},
		{`EndpointCall !startswith_cs "Cmsi"`, 42, `'EndpointCall !startswith_cs "Cmsi"'`},
		{`EndpointCall matches regex "^Login"`, 42, `'EndpointCall matches regex "^Login"'`},
		{`EndpointCall has_any ("Login", "OAuth2")`, 42, `'EndpointCall has_any ("Login", "OAuth2")'`},
		{`EndpointCall > "A"`, 42, `'EndpointCall > ...'`},
		{`EndpointCall between ("A" .. "Z")`, 42, `'EndpointCall between (...)'`},
		{`tolower(EndpointCall) == "login:login"`, 37, `EndpointCall inside tolower()`},
		{`isempty(EndpointCall)`, 37, `EndpointCall inside isempty()`},
		{`strcat(EndpointCall, "") == "Login:login"`, 36, `EndpointCall inside strcat()`},
		{`iff(EndpointCall has "Login", 1, 0) == 1`, 46, `'EndpointCall has "Login"'`},
		{`"Login:login" in (EndpointCall)`, 47, `EndpointCall in an expression`},
		{`EndpointCall`, 29, `EndpointCall in an expression`},
		{`* has "Login"`, 31, `'* has "Login"' (it searches EndpointCall too)`},
	}
	for _, tc := range cases {
		t.Run(tc.where, func(t *testing.T) {
			checkCompileError(t, "AADSignInEventsBeta | where "+tc.where, 1, tc.col, pre+tc.use+post)
		})
	}
	// A copy of the column keeps the restriction.
	for _, tc := range []struct {
		query     string
		line, col int
		msg       string
	}{
		{"AADSignInEventsBeta | extend E = EndpointCall | where E == 'Login:login'", 1, 57,
			`not evaluable on this stream: E (EndpointCall) can only be derived as "Cmsi:Cmsi" here`},
		{"AADSignInEventsBeta | project-rename E = EndpointCall | where E has 'Login'", 1, 65,
			`not evaluable on this stream: E (EndpointCall) can only be derived as "Cmsi:Cmsi" here`},
		{"AADSignInEventsBeta | extend E = tolower(EndpointCall)", 1, 42,
			pre + `EndpointCall inside tolower()`},
		{"AADSignInEventsBeta | project E = strlen(EndpointCall)", 1, 42,
			pre + `EndpointCall inside strlen()`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			checkCompileError(t, tc.query, tc.line, tc.col, tc.msg)
		})
	}
}

// checkCompileError compiles a query and checks its error's place and
// message (msg is a prefix of the message).
func checkCompileError(t *testing.T, query string, line, col int, msg string) {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	_, err = Compile(q, catalog, testOptions())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Compile error = %v, want *Error", err)
	}
	if e.Line != line || e.Column != col || !strings.HasPrefix(e.Msg, msg) {
		t.Errorf("got %d:%d %q\nwant %d:%d %q...", e.Line, e.Column, e.Msg, line, col, msg)
	}
}

// TestSyntaxErrorsNameTheirPlace checks Parse errors.
func TestSyntaxErrorsNameTheirPlace(t *testing.T) {
	cases := []struct {
		name      string
		query     string
		line, col int
		msg       string
	}{
		{"a misspelt operator", "SigninLogs\n| whre ResultType == 0", 2, 3, "unknown query operator 'whre'"},
		{"operator names are case-sensitive", "SigninLogs | WHERE ResultType == 0", 1, 14, "unknown query operator 'WHERE' (operator names are case-sensitive: write where)"},
		{"an unclosed string", "SigninLogs | where Location == 'NL", 1, 32, "string literal is not closed"},
		{"an unclosed parenthesis", "SigninLogs | where (ResultType == 0", 1, 36, "expected ')' to close the parenthesis, found end of query"},
		{"a missing pipe", "SigninLogs where ResultType == 0", 1, 12, "expected '|' before the operator where"},
		{"a bad timespan unit", "SigninLogs | where TimeGenerated > ago(1.5x)", 1, 40, `"1.5x" is not a number or a timespan`},
		{"a bad datetime", "SigninLogs | where TimeGenerated > datetime(yesterday)", 1, 36, "datetime(yesterday): not a date and time"},
		{"a dangling operator", "SigninLogs | where ResultType ==", 1, 33, "expected an expression, found the end of the query"},
		{"an unknown character", "SigninLogs | where ResultType == #0", 1, 34, "unexpected character '#'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.query)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error = %v, want *Error", err)
			}
			if e.Line != tc.line || e.Column != tc.col || !strings.HasPrefix(e.Msg, tc.msg) {
				t.Errorf("got %d:%d %q\nwant %d:%d %q...", e.Line, e.Column, e.Msg, tc.line, tc.col, tc.msg)
			}
			if want := e.Msg; !strings.HasSuffix(e.Error(), want) || !strings.HasPrefix(e.Error(), strings.Split(e.Error(), ":")[0]+":") {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
}

// TestNegationsThatAreNotKQLAreRefused checks the negated forms that
// Microsoft's parser refuses (!matches regex, !has_any, !has_all): they are
// syntax errors that say how to write the negation.
func TestNegationsThatAreNotKQLAreRefused(t *testing.T) {
	cases := []struct {
		query string
		col   int
		msg   string
	}{
		{`SigninLogs | where IPAddress !matches regex "^10\\."`, 30,
			"'!matches regex' is not KQL: write not(IPAddress matches regex ...)"},
		{`SigninLogs | where UserAgent !has_any ("linux", "mac")`, 30,
			"'!has_any' is not KQL: write not(UserAgent has_any (...))"},
		{`SigninLogs | where UserAgent !has_all ("linux", "mac")`, 30,
			"'!has_all' is not KQL: write not(UserAgent has_all (...))"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			_, err := Parse(tc.query)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error = %v, want *Error", err)
			}
			if e.Line != 1 || e.Column != tc.col || e.Msg != tc.msg {
				t.Errorf("got %d:%d %q\nwant 1:%d %q", e.Line, e.Column, e.Msg, tc.col, tc.msg)
			}
		})
	}
}

// TestEndpointCallComparisonsDecideOnTheDerivedValue runs the accepted
// forms on a device-code row ("Cmsi:Cmsi") and on any other row ("").
func TestEndpointCallComparisonsDecideOnTheDerivedValue(t *testing.T) {
	for _, tc := range []struct {
		query      string
		cmsi, none bool
	}{
		{`AADSignInEventsBeta | where EndpointCall == "Cmsi:Cmsi"`, true, false},
		{`AADSignInEventsBeta | where EndpointCall != "Cmsi:Cmsi"`, false, true},
		{`AADSignInEventsBeta | where EndpointCall in~ ("cmsi:cmsi")`, true, false},
		{`AADSignInEventsBeta | where EndpointCall !in ("Cmsi:Cmsi")`, false, true},
		{`AADSignInEventsBeta | extend E = EndpointCall | where E =~ "CMSI:cmsi"`, true, false},
		{`AADSignInEventsBeta | project-rename E = EndpointCall | where "Cmsi:Cmsi" != E`, false, true},
	} {
		t.Run(tc.query, func(t *testing.T) {
			p := mustCompile(t, tc.query)
			for _, c := range []struct {
				v    string
				want bool
			}{{"Cmsi:Cmsi", tc.cmsi}, {"", tc.none}} {
				got, err := p.Match(mkRow(t, signInEventsBeta, map[string]table.Value{"EndpointCall": table.Str(c.v)}))
				if err != nil {
					t.Fatal(err)
				}
				if got != c.want {
					t.Errorf("EndpointCall %q: got %v, want %v", c.v, got, c.want)
				}
			}
		})
	}
}
