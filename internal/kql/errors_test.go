package kql

import (
	"errors"
	"strings"
	"testing"
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
		{"EndpointCall compared with a value the stream cannot know",
			`AADSignInEventsBeta | where EndpointCall == "Login:Reprocess"`, 1, 42,
			`not evaluable on this stream: EndpointCall can only be "Cmsi:Cmsi" or "" here`},
		{"a value the stream cannot know compared with EndpointCall",
			`AADSignInEventsBeta | where "Login:Reprocess" == EndpointCall`, 1, 47,
			`not evaluable on this stream: EndpointCall can only be "Cmsi:Cmsi" or "" here`},
		{"EndpointCall != a value the stream cannot know",
			`AADSignInEventsBeta | where EndpointCall != "OAuth2:Token"`, 1, 42,
			`not evaluable on this stream: EndpointCall can only be "Cmsi:Cmsi"`},
		{"EndpointCall in a list of values the stream cannot know",
			`AADSignInEventsBeta | where EndpointCall in ("Login:Login", "SAS:EndAuth")`, 1, 42,
			`not evaluable on this stream: EndpointCall can only be "Cmsi:Cmsi"`},
		{"EndpointCall contains a value the stream cannot know",
			`AADSignInEventsBeta | where EndpointCall contains "Consent"`, 1, 42,
			`not evaluable on this stream: EndpointCall can only be "Cmsi:Cmsi"`},
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
		{"union reads several tables",
			"union SigninLogs, AADNonInteractiveUserSignInLogs | where ResultType == 0", 1, 1,
			"unsupported in per-record rules: union (it reads several tables; compile it with CompileAll, which gives one program per table)"},
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
			_, err = Compile(q, catalog, testOptions())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile error = %v, want *Error", err)
			}
			if e.Line != tc.line || e.Column != tc.col || !strings.HasPrefix(e.Msg, tc.msg) {
				t.Errorf("got %d:%d %q\nwant %d:%d %q...", e.Line, e.Column, e.Msg, tc.line, tc.col, tc.msg)
			}
		})
	}
}

// TestEndpointCallComparisonsTheStreamCanDecideCompile checks that the
// honest forms of EndpointCall comparisons are accepted.
func TestEndpointCallComparisonsTheStreamCanDecideCompile(t *testing.T) {
	for _, where := range []string{
		`EndpointCall == "Cmsi:Cmsi"`,
		`EndpointCall != "Cmsi:Cmsi"`,
		`EndpointCall =~ "cmsi:cmsi"`,
		`EndpointCall has "Cmsi:cmsi"`,
		`EndpointCall == ""`,
		`isempty(EndpointCall)`,
		`EndpointCall in ("Cmsi:Cmsi", "Login:Reprocess")`,
	} {
		t.Run(where, func(t *testing.T) {
			mustCompile(t, "AADSignInEventsBeta | where "+where)
		})
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
