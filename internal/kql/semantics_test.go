package kql

import (
	"strings"
	"testing"
	"time"

	"github.com/streamhunt/streamhunt/internal/table"
)

// TestPredicatesMeanWhatTheyMeanInKusto runs one where clause over the
// realistic device-code row and checks whether Kusto would keep the row.
func TestPredicatesMeanWhatTheyMeanInKusto(t *testing.T) {
	cases := []struct {
		name  string
		where string
		want  bool
	}{
		{"== on strings is case-sensitive", `AuthenticationProtocol == "deviceCode"`, true},
		{"== on strings does not ignore case", `AuthenticationProtocol == "devicecode"`, false},
		{"=~ ignores case", `AuthenticationProtocol =~ "DEVICECODE"`, true},
		{"!~ is the negation of =~", `AuthenticationProtocol !~ "DEVICECODE"`, false},
		{"!= on strings is case-sensitive", `AuthenticationProtocol != "devicecode"`, true},
		{"<> is a synonym of !=", `AuthenticationProtocol <> "devicecode"`, true},
		{"a numeric string ResultType equals the number", `ResultType == 0`, true},
		{"a numeric string ResultType is unequal to another number", `ResultType == 50126`, false},
		{"a numeric string ResultType != another number is true", `ResultType != 50126`, true},
		{"ResultType in a list of numbers compares numerically", `ResultType in (50126, 0)`, true},
		{"ResultType !in a list of numbers compares numerically", `ResultType !in (50126, 0)`, false},
		{"ResultType compared with a string is a string comparison", `ResultType == "0"`, true},
		{"a dynamic number equals a long", `Status.errorCode == 0`, true},
		{"a dynamic bool equals false", `DeviceDetail.isCompliant == false`, true},
		{"a dynamic bool equals the text false", `DeviceDetail.isCompliant == "false"`, true},
		{"a dynamic string equals a string", `LocationDetails.countryOrRegion == "NL"`, true},
		{"a dynamic string is case-sensitive under ==", `LocationDetails.countryOrRegion == "nl"`, false},
		{"a nested dynamic member compares as a number", `LocationDetails.geoCoordinates.latitude > 52`, true},
		{"bracket member access with double quotes", `LocationDetails["city"] == "Amsterdam"`, true},
		{"bracket member access with single quotes", `LocationDetails['city'] == "Amsterdam"`, true},
		{"a missing dynamic member is null so == is false", `DeviceDetail.trustType == "Hybrid"`, false},
		{"a missing dynamic member is null and null != a value is true", `DeviceDetail.trustType != "Hybrid"`, true},
		{"isempty is true for an empty dynamic string", `isempty(DeviceDetail.deviceId)`, true},
		{"isempty is true for a missing member", `isempty(DeviceDetail.trustType)`, true},
		{"isempty is false for a present member", `isempty(DeviceDetail.operatingSystem)`, false},
		{"isnotempty is true for a present member", `isnotempty(DeviceDetail.operatingSystem)`, true},
		{"isempty is true for an empty string column", `isempty(ResultDescription)`, true},
		{"isempty is false for parse_json of an empty array", `isempty(parse_json("[]"))`, false},
		{"isempty is false for parse_json of an empty object", `isempty(parse_json("{}"))`, false},
		{"isnull is false for an empty string column: strings are never null", `isnull(ResultDescription)`, false},
		{"isnull is true for a missing dynamic member", `isnull(DeviceDetail.trustType)`, true},
		{"a string column compared with the text [] works", `NetworkLocationDetails == "[]"`, true},
		{"has matches a whole term ignoring case", `Location has "nl"`, true},
		{"has matches one word of several", `UserAgent has "windows"`, true},
		{"has does not match part of a term", `UserAgent has "Window"`, false},
		{"!has is the negation of has", `UserAgent !has "Window"`, true},
		{"has_cs is case-sensitive", `UserAgent has_cs "windows"`, false},
		{"contains matches any substring ignoring case", `UserAgent contains "WINDOW"`, true},
		{"!contains negates contains", `UserAgent !contains "linux"`, true},
		{"contains_cs is case-sensitive", `UserAgent contains_cs "WINDOW"`, false},
		{"startswith ignores case", `UserPrincipalName startswith "ADELE."`, true},
		{"!startswith negates startswith", `UserPrincipalName !startswith "adele."`, false},
		{"endswith ignores case", `UserPrincipalName endswith "@CONTOSO.COM"`, true},
		{"!endswith negates endswith", `UserPrincipalName !endswith "@fabrikam.com"`, true},
		{"has_any matches when one term is present", `UserAgent has_any ("linux", "win64")`, true},
		{"has_any is false when no term is present", `UserAgent has_any ("linux", "mac")`, false},
		{"has_all needs every term", `UserAgent has_all ("windows", "x64", "linux")`, false},
		{"has_all is true when every term is present", `UserAgent has_all ("windows", "x64")`, true},
		{"in is case-sensitive", `AppDisplayName in ("microsoft azure cli")`, false},
		{"in~ ignores case", `AppDisplayName in~ ("microsoft azure cli", "Other")`, true},
		{"!in~ negates in~", `AppDisplayName !in~ ("MICROSOFT AZURE CLI")`, false},
		{"between includes its bounds", `DurationMs between (0 .. 10)`, true},
		{"!between excludes the range", `DurationMs !between (0 .. 10)`, false},
		{"between on datetimes with ago", `TimeGenerated between (ago(1h) .. now())`, true},
		{"a datetime is later than ago(1d)", `TimeGenerated > ago(1d)`, true},
		{"a datetime is not later than ago(1m)", `TimeGenerated > ago(1m)`, false},
		{"a datetime literal compares", `TimeGenerated >= datetime(2025-02-14)`, true},
		{"a quoted datetime literal compares", `TimeGenerated < datetime("2025-02-14T11:59:00Z")`, true},
		{"matches regex uses RE2", `IPAddress matches regex @"^203\.0\.113\.\d+$"`, true},
		{"and short-circuits to false", `ResultType == 1 and AuthenticationProtocol == "deviceCode"`, false},
		{"or is true when one side is", `ResultType == 1 or AuthenticationProtocol == "deviceCode"`, true},
		{"not() negates", `not(AuthenticationProtocol == "deviceCode")`, false},
		{"not() of null == a value is true", `not(DeviceDetail.trustType == "x")`, true},
		{"not() of null is null and drops the row", `not(bool(null))`, false},
		{"arithmetic follows precedence", `DurationMs + 2 * 3 == 6`, true},
		{"modulo works on longs", `7 % 3 == 1`, true},
		{"a timespan literal in hours", `1.5h == 90m`, true},
		{"time() gives a timespan", `time(1d) == 24h`, true},
		{"a timespan of ticks", `1tick * 10000000 == 1s`, true},
		{"toint of a numeric string", `toint(ResultType) == 0`, true},
		{"tolong of a dynamic number", `tolong(Status.errorCode) < 1`, true},
		{"tostring of a dynamic string is its raw text", `tostring(DeviceDetail.operatingSystem) == "Windows 10"`, true},
		{"tostring of a dynamic object is compact JSON", `tostring(LocationDetails.geoCoordinates) == '{"latitude":52.37,"longitude":4.89}'`, true},
		{"tostring of parsed JSON with white space is compact", `tostring(parse_json('{ "a" : [ 1, "b c" ] }')) == '{"a":[1,"b c"]}'`, true},
		{"tolower lowers", `tolower(AppDisplayName) == "microsoft azure cli"`, true},
		{"toupper raises", `toupper(Location) == "NL"`, true},
		{"strcat joins", `strcat(Location, "-", LocationDetails.city) == "NL-Amsterdam"`, true},
		{"strlen counts characters", `strlen(Location) == 2`, true},
		{"substring slices", `substring(UserPrincipalName, 0, 5) == "adele"`, true},
		{"substring with a huge length takes the rest", `substring(Location, 1, 9223372036854775807) == "L"`, true},
		{"split returns an array that can be indexed", `tostring(split(UserPrincipalName, "@")[1]) == "contoso.com"`, true},
		{"split with .[n] access", `tostring(split(UserPrincipalName, "@").[0]) == "adele.vance"`, true},
		{"extract takes a capture group", `extract(@"@(.+)$", 1, UserPrincipalName) == "contoso.com"`, true},
		{"case picks the first true branch", `case(ResultType == 1, "a", ResultType == 0, "b", "c") == "b"`, true},
		{"iff picks the then value", `iff(IsInteractive, "yes", "no") == "yes"`, true},
		{"coalesce skips empty values", `coalesce(ResultDescription, Location) == "NL"`, true},
		{"array_length counts elements", `array_length(parse_json(NetworkLocationDetails)) == 0`, true},
		{"parse_json of a string column gives dynamic access", `parse_json('{"a":{"b":[1,2,3]}}').a.b[2] == 3`, true},
		{"a negative index counts from the end", `dynamic([1,2,3])[-1] == 3`, true},
		{"dayofweek returns a timespan of days since Sunday", `dayofweek(TimeGenerated) == 5d`, true},
		{"hourofday returns the hour", `hourofday(TimeGenerated) == 11`, true},
		{"startofday truncates", `startofday(TimeGenerated) == datetime(2025-02-14)`, true},
		{"bin floors a datetime", `bin(TimeGenerated, 1h) == datetime(2025-02-14 11:00)`, true},
		{"replace_string replaces every occurrence", `replace_string(Location, "N", "X") == "XL"`, true},
		{"indexof finds a substring", `indexof(UserPrincipalName, "@") == 11`, true},
		{"a verbatim string keeps backslashes", `@"a\b" == "a\\b"`, true},
		{"an obfuscated string is a plain string", `h"NL" == Location`, true},
		{"adjacent strings concatenate", `"N" "L" == Location`, true},
		{"bag_has_key finds a property", `bag_has_key(DeviceDetail, "browser")`, true},
		{"a dynamic bool can be a predicate", `DeviceDetail.isManaged == false and not(DeviceDetail.isCompliant)`, true},
		{"a bracket-quoted column name", `['AuthenticationProtocol'] == "deviceCode"`, true},
		{"comments may appear inside an operator", "ResultType == 0 // success\n and Location == 'NL'", true},
		{"a long compared with a real", `DurationMs == 0.0`, true},
		{"a dynamic array in literal", `Location in (dynamic(["NL", "BE"]))`, true},
		{"in with a dynamic member on the left", `LocationDetails.countryOrRegion in ("NL", "BE")`, true},
		{"a null literal compares as null", `Location == null`, false},
		{"a bool column compares with 1", `IsInteractive == 1`, true},
		{"* contains searches every column", `* contains "contoso.COM"`, true},
		{"* has is false when no column has the term", `* has "fabrikam"`, false},
		{"datetime_part takes a part name in any case", `datetime_part("Hour", TimeGenerated) == 11`, true},
		{"format_timespan prints the day of week as a number", `toint(format_timespan(dayofweek(TimeGenerated), 'd')) == 5`, true},
		{"format_timespan prints hours and minutes", `format_timespan(90m, 'hh:mm') == "01:30"`, true},
		{"a constant in a list of columns is compared per row", `"Microsoft Azure CLI" in (AppDisplayName, AppId)`, true},
		{"a constant not in a list of columns", `"Microsoft Office" in (AppDisplayName, AppId)`, false},
		{"a constant !in a list of columns", `"Microsoft Office" !in (AppDisplayName, AppId)`, true},
		{"a constant in~ a list of columns ignores case", `"MICROSOFT AZURE CLI" in~ (AppId, AppDisplayName)`, true},
		{"a constant in a list mixing columns and constants", `"NL" in ("BE", Location)`, true},
		{"a constant in a constant list is folded", `"NL" in ("BE", "NL")`, true},
		{"a constant between column bounds", `0 between (DurationMs .. DurationMs)`, true},
		{"format_datetime prints a date", `format_datetime(TimeGenerated, 'yyyy-MM-dd HH:mm:ss.fff') == "2025-02-14 11:58:03.123"`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, "SigninLogs | where "+tc.where)
			row := deviceCodeRow(t)
			got, err := p.Match(row)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("where %s: Match = %v, want %v", tc.where, got, tc.want)
			}
			outs, err := p.Run(row)
			if err != nil {
				t.Fatal(err)
			}
			if (len(outs) == 1) != tc.want {
				t.Errorf("where %s: Run gave %d rows, want match=%v", tc.where, len(outs), tc.want)
			}
		})
	}
}

// TestStringValuesFollowKustoRules checks the string rules on rows built
// for the purpose.
func TestStringValuesFollowKustoRules(t *testing.T) {
	cases := []struct {
		name  string
		where string
		loc   string
		want  bool
	}{
		{"has matches a term after a space", `Location has "america"`, "North America", true},
		{"has does not match inside a word", `Location has "admin"`, "sysadmin", false},
		{"has matches a term next to punctuation", `Location has "admin"`, "it-admin.team", true},
		{"has with punctuation matches the phrase", `Location has "Cmsi:cmsi"`, "Cmsi:Cmsi", true},
		{"hasprefix matches the start of a term", `Location hasprefix "adm"`, "it-admin", true},
		{"hassuffix matches the end of a term", `Location hassuffix "min"`, "it-admin x", true},
		{"a string that is not a number is unequal to 0", `Location == 0`, "abc", false},
		{"a string that is not a number is != 0", `Location != 0`, "abc", true},
		{"an empty string is unequal to 0", `Location == 0`, "", false},
		{"a string holding a real equals a long", `Location == 1`, "1.0", true},
		{"=~ ignores case of non-ASCII letters", `Location =~ "ÉCOLE"`, "école", true},
		{"contains ignores case of non-ASCII letters", `Location contains "ÉCO"`, "une école", true},
		{"has matches non-ASCII terms", `Location has "münchen"`, "Flughafen München", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, "SigninLogs | where "+tc.where)
			got, err := p.Match(mkRow(t, signinLogs, map[string]table.Value{"Location": table.Str(tc.loc)}))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%q where %s: got %v, want %v", tc.loc, tc.where, got, tc.want)
			}
		})
	}
}

// TestLetBindingsAreUsableInRules checks scalar and dynamic let values.
func TestLetBindingsAreUsableInRules(t *testing.T) {
	cases := []struct {
		name  string
		query string
		want  bool
	}{
		{"a timespan let feeds ago", "let window = 5m;\nSigninLogs | where TimeGenerated > ago(window)", true},
		{"a dynamic let list feeds in", `let apps = dynamic(["Microsoft Azure CLI", "Azure PowerShell"]); SigninLogs | where AppDisplayName in (apps)`, true},
		{"a dynamic let list feeds has_any", `let words = dynamic(["linux", "win64"]); SigninLogs | where UserAgent has_any (words)`, true},
		{"a let list that does not contain the value", `let apps = dynamic(["Azure PowerShell"]); SigninLogs | where AppDisplayName in (apps)`, false},
		{"a string let compares", `let proto = "deviceCode"; SigninLogs | where AuthenticationProtocol == proto`, true},
		{"a tabular let is used as the source", "let base = SigninLogs | where ResultType == 0;\nbase | where Location == 'NL'", true},
		{"table() with a literal name is the source", `table("SigninLogs") | where Location == "NL"`, true},
		{"an unused let function does not matter", "let f = (x:string) { x };\nSigninLogs | where Location == 'NL'", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, tc.query)
			got, err := p.Match(deviceCodeRow(t))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func outNames(o Output) []string {
	var n []string
	for _, c := range o.Columns {
		n = append(n, c.Name)
	}
	return n
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOutputColumnsComeInTheQueryOrder checks the tabular operators that
// shape output rows.
func TestOutputColumnsComeInTheQueryOrder(t *testing.T) {
	cases := []struct {
		name  string
		query string
		want  []string
	}{
		{"project keeps only the named columns in order", `AADNonInteractiveUserSignInLogs | project UserPrincipalName, ResultType`,
			[]string{"UserPrincipalName", "ResultType"}},
		{"project can name computed columns", `AADNonInteractiveUserSignInLogs | project Who = UserPrincipalName, n = strlen(ResultType)`,
			[]string{"Who", "n"}},
		{"no project keeps every column and appends extended ones", `AADNonInteractiveUserSignInLogs | extend Os = tostring(todynamic(DeviceDetail).operatingSystem)`,
			[]string{"TimeGenerated", "ResultType", "DeviceDetail", "LocationDetails", "UserPrincipalName", "Os"}},
		{"extend of an existing column replaces it in place", `AADNonInteractiveUserSignInLogs | extend ResultType = toint(ResultType)`,
			[]string{"TimeGenerated", "ResultType", "DeviceDetail", "LocationDetails", "UserPrincipalName"}},
		{"project-reorder puts named columns first then the rest in order", `AADNonInteractiveUserSignInLogs | project-reorder UserPrincipalName, ResultType`,
			[]string{"UserPrincipalName", "ResultType", "TimeGenerated", "DeviceDetail", "LocationDetails"}},
		{"project-reorder accepts wildcards", `AADNonInteractiveUserSignInLogs | project-reorder *Detail*, UserPrincipalName`,
			[]string{"DeviceDetail", "LocationDetails", "UserPrincipalName", "TimeGenerated", "ResultType"}},
		{"project-away drops columns by pattern", `AADNonInteractiveUserSignInLogs | project-away *Detail*, TimeGenerated`,
			[]string{"ResultType", "UserPrincipalName"}},
		{"project-rename renames in place", `AADNonInteractiveUserSignInLogs | project-rename Upn = UserPrincipalName, When = TimeGenerated`,
			[]string{"When", "ResultType", "DeviceDetail", "LocationDetails", "Upn"}},
		{"project-keep keeps matching columns in table order", `AADNonInteractiveUserSignInLogs | project-keep UserPrincipalName, Time*`,
			[]string{"TimeGenerated", "UserPrincipalName"}},
		{"an unnamed dynamic path is named with underscores", `SigninLogs | project tostring(DeviceDetail.operatingSystem)`,
			[]string{"DeviceDetail_operatingSystem"}},
		{"take, sort and render do not change columns", `AADNonInteractiveUserSignInLogs | take 10 | sort by TimeGenerated desc | project ResultType | render table`,
			[]string{"ResultType"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, tc.query)
			row := mkRow(t, p.Table(), map[string]table.Value{})
			outs, err := p.Run(row)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != 1 {
				t.Fatalf("got %d output rows, want 1", len(outs))
			}
			if got := outNames(outs[0]); !equalStrings(got, tc.want) {
				t.Errorf("columns %v, want %v", got, tc.want)
			}
		})
	}
}

// TestOutputValuesKeepTheirKustoTypes checks what Run puts in the columns.
func TestOutputValuesKeepTheirKustoTypes(t *testing.T) {
	p := mustCompile(t, `SigninLogs
| extend Os = tostring(DeviceDetail.operatingSystem), Lat = LocationDetails.geoCoordinates.latitude, Code = toint(ResultType), Missing = DeviceDetail.nothing
| project Os, Lat, Code, Missing, ResultDescription, Geo = LocationDetails.geoCoordinates`)
	outs, err := p.Run(deviceCodeRow(t))
	if err != nil || len(outs) != 1 {
		t.Fatalf("Run: %v, %d rows", err, len(outs))
	}
	want := []OutputColumn{
		{"Os", table.TypeString, table.Str("Windows 10")},
		{"Lat", table.TypeDynamic, table.Dynamic("52.37")},
		{"Code", table.TypeInt, table.Int(0)},
		{"Missing", table.TypeDynamic, table.Null},
		{"ResultDescription", table.TypeString, table.Str("")},
		{"Geo", table.TypeDynamic, table.Dynamic(`{"latitude":52.37,"longitude":4.89}`)},
	}
	for i, w := range want {
		if got := outs[0].Columns[i]; got != w {
			t.Errorf("column %d = %+v, want %+v", i, got, w)
		}
	}
}

// TestIgnoredOperatorsAreReportedAsWarnings checks take/sort/render warnings.
func TestIgnoredOperatorsAreReportedAsWarnings(t *testing.T) {
	p := mustCompile(t, "SigninLogs | where ResultType == 0 | take 10 | sort by TimeGenerated desc | render table")
	w := p.Warnings()
	if len(w) != 3 {
		t.Fatalf("warnings %q, want 3 (take, sort, render)", w)
	}
	if w[0] != "1:38: take ignored: take/limit keeps every matching record in a stream" {
		t.Errorf("first warning %q", w[0])
	}
}

// TestIngestionTimeIsTheEvaluationTime checks the stream's stand-in for
// ingestion_time() and its warning.
func TestIngestionTimeIsTheEvaluationTime(t *testing.T) {
	p := mustCompile(t, "SigninLogs | where ingestion_time() > ago(1m) | extend Ingested = ingestion_time()")
	outs, err := p.Run(deviceCodeRow(t))
	if err != nil || len(outs) != 1 {
		t.Fatalf("Run = %d rows, %v", len(outs), err)
	}
	if got := outs[0].Columns[len(outs[0].Columns)-1].Value; got != table.DateTimeNanos(fixedNow.UnixNano()) {
		t.Errorf("ingestion_time() = %+v, want the clock's now", got)
	}
	if w := p.Warnings(); len(w) != 2 {
		t.Errorf("warnings %q, want one per ingestion_time()", w)
	}
}

// TestColumnsListsOnlyWhatTheFilterReads checks Program.Columns.
func TestColumnsListsOnlyWhatTheFilterReads(t *testing.T) {
	p := mustCompile(t, `SigninLogs
| extend Os = tostring(DeviceDetail.operatingSystem), Upn = tolower(UserPrincipalName)
| where ResultType == 0 and Os has "windows"
| project Upn, AppDisplayName`)
	var names []string
	for _, i := range p.Columns() {
		names = append(names, signinLogs.Columns[i].Name)
	}
	want := []string{"ResultType", "DeviceDetail"}
	if !equalStrings(names, want) {
		t.Errorf("Columns() = %v, want %v", names, want)
	}
	// Match must work on a row that holds only those columns.
	row := mkRow(t, signinLogs, map[string]table.Value{
		"ResultType":   table.Str("0"),
		"DeviceDetail": table.Dynamic(`{"operatingSystem":"Windows 11"}`),
	})
	ok, err := p.Match(row)
	if err != nil || !ok {
		t.Errorf("Match on a partial row = %v, %v; want true", ok, err)
	}
}

// TestMatchRejectsARowOfTheWrongShape checks the error for short rows.
func TestMatchRejectsARowOfTheWrongShape(t *testing.T) {
	p := mustCompile(t, "SigninLogs | where ResultType == 0")
	_, err := p.Match(&table.Row{Table: signinLogs, Vals: make([]table.Value, 2)})
	if err == nil {
		t.Fatal("Match accepted a row with 2 values for a 25-column table")
	}
}

// TestNowIsReadFromTheOptionsClock checks that ago() uses Options.Now.
func TestNowIsReadFromTheOptionsClock(t *testing.T) {
	q, err := Parse("SigninLogs | where TimeGenerated > ago(1h)")
	if err != nil {
		t.Fatal(err)
	}
	late := Options{Now: func() time.Time { return fixedNow.Add(2 * time.Hour) }}
	p, err := Compile(q, catalog, late)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := p.Match(deviceCodeRow(t)); ok {
		t.Error("a sign-in 2 hours before now matched ago(1h)")
	}
}

// TestNegatedOperatorsAreNegations checks that every negated operator is
// the negation of its positive form, on a right side that makes the
// positive form true and on one that makes it false.
func TestNegatedOperatorsAreNegations(t *testing.T) {
	cases := []struct {
		op, neg, left, yes, no string
	}{
		{"has", "!has", "UserAgent", `"windows"`, `"window"`},
		{"has", "nothas", "UserAgent", `"windows"`, `"window"`},
		{"has_cs", "!has_cs", "UserAgent", `"Windows"`, `"windows"`},
		{"contains", "!contains", "UserAgent", `"WINDOW"`, `"linux"`},
		{"contains", "notcontains", "UserAgent", `"WINDOW"`, `"linux"`},
		{"contains_cs", "!contains_cs", "UserAgent", `"Window"`, `"WINDOW"`},
		{"contains_cs", "notcontainscs", "UserAgent", `"Window"`, `"WINDOW"`},
		{"startswith", "!startswith", "UserPrincipalName", `"ADELE."`, `"bob"`},
		{"startswith_cs", "!startswith_cs", "UserPrincipalName", `"adele."`, `"ADELE."`},
		{"endswith", "!endswith", "UserPrincipalName", `"@CONTOSO.COM"`, `"@fabrikam.com"`},
		{"endswith_cs", "!endswith_cs", "UserPrincipalName", `"@contoso.com"`, `"@CONTOSO.COM"`},
		{"hasprefix", "!hasprefix", "UserAgent", `"win"`, `"indows"`},
		{"hasprefix_cs", "!hasprefix_cs", "UserAgent", `"Win"`, `"win"`},
		{"hassuffix", "!hassuffix", "UserAgent", `"DOWS"`, `"win"`},
		{"hassuffix_cs", "!hassuffix_cs", "UserAgent", `"dows"`, `"DOWS"`},
		{"==", "!=", "AuthenticationProtocol", `"deviceCode"`, `"devicecode"`},
		{"==", "<>", "AuthenticationProtocol", `"deviceCode"`, `"devicecode"`},
		{"=~", "!~", "AuthenticationProtocol", `"DEVICECODE"`, `"password"`},
		{"in", "!in", "AppDisplayName", `("Microsoft Azure CLI", "x")`, `("microsoft azure cli")`},
		{"in~", "!in~", "AppDisplayName", `("microsoft azure cli")`, `("Azure Portal")`},
		{"between", "!between", "DurationMs", `(0 .. 10)`, `(1 .. 10)`},
	}
	for _, tc := range cases {
		for _, rhs := range []string{tc.yes, tc.no} {
			want := rhs == tc.yes
			pos := tc.left + " " + tc.op + " " + rhs
			neg := tc.left + " " + tc.neg + " " + rhs
			t.Run(neg, func(t *testing.T) {
				for _, w := range []struct {
					where string
					want  bool
				}{{pos, want}, {neg, !want}} {
					got, err := mustCompile(t, "SigninLogs | where "+w.where).Match(deviceCodeRow(t))
					if err != nil {
						t.Fatal(err)
					}
					if got != w.want {
						t.Errorf("where %s: got %v, want %v", w.where, got, w.want)
					}
				}
			})
		}
	}
}

// TestNullComparisonsFollowKusto checks comparisons with a null operand on
// a row whose long, bool, datetime and dynamic columns are null, as
// Kusto's "Null values" page specifies: == of a null and a non-null value
// is false, != is true, and both give null for two nulls; other binary
// operators give null; where drops a null.
func TestNullComparisonsFollowKusto(t *testing.T) {
	cases := []struct {
		where string
		want  bool
	}{
		{`DurationMs == 5`, false},
		{`DurationMs != 5`, true},
		{`5 != DurationMs`, true},
		{`not(DurationMs == 5)`, true},
		{`not(DurationMs != 5)`, false},
		{`DurationMs == long(null)`, false},
		{`DurationMs != long(null)`, false},
		{`not(DurationMs == long(null))`, false},
		{`not(DurationMs != long(null))`, false},
		{`DurationMs < 5`, false},
		{`DurationMs >= 5`, false},
		{`not(DurationMs < 5)`, false},
		{`DurationMs between (1 .. 10)`, false},
		{`DurationMs !between (1 .. 10)`, false},
		{`DurationMs in (5, 6)`, false},
		{`DurationMs !in (5, 6)`, true},
		{`not(DurationMs in (5, 6))`, true},
		{`DurationMs in (5, long(null))`, false},
		{`DurationMs !in (5, long(null))`, false},
		{`IsInteractive == true`, false},
		{`IsInteractive != true`, true},
		{`IsInteractive != false`, true},
		{`not(IsInteractive)`, false},
		{`TimeGenerated == datetime(2025-01-01)`, false},
		{`TimeGenerated != datetime(2025-01-01)`, true},
		{`TimeGenerated > datetime(2025-01-01)`, false},
		{`TimeGenerated < datetime(2025-01-01)`, false},
		{`TimeGenerated > ago(1d)`, false},
		{`DeviceDetail.trustType == "Hybrid"`, false},
		{`DeviceDetail.trustType != "Hybrid"`, true},
		{`DeviceDetail.trustType =~ "hybrid"`, false},
		{`DeviceDetail.trustType !~ "hybrid"`, true},
		{`DeviceDetail.trustType in ("Hybrid", "AzureAD")`, false},
		{`DeviceDetail.trustType !in ("Hybrid", "AzureAD")`, true},
		{`DeviceDetail.trustType in~ ("hybrid")`, false},
		{`DeviceDetail.trustType !in~ ("hybrid")`, true},
		{`DeviceDetail.trustType == DeviceDetail.other`, false},
		{`DeviceDetail.trustType != DeviceDetail.other`, false},
		{`Status.errorCode != 0`, true},
		{`Status == dynamic(null)`, false},
		{`Status != dynamic(null)`, false},
		{`iff(DurationMs != 5, true, false)`, true},
		// Strings are never null: an absent string column is "".
		{`Location == ""`, true},
		{`Location != "NL"`, true},
		{`isnull(Location)`, false},
		{`Location == DeviceDetail.trustType`, false},
		{`Location != DeviceDetail.trustType`, true},
	}
	row := func(t *testing.T) *table.Row {
		return mkRow(t, signinLogs, map[string]table.Value{"DeviceDetail": table.Dynamic(`{}`)})
	}
	for _, tc := range cases {
		t.Run(tc.where, func(t *testing.T) {
			p := mustCompile(t, "SigninLogs | where "+tc.where)
			got, err := p.Match(row(t))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("where %s on nulls: got %v, want %v", tc.where, got, tc.want)
			}
		})
	}
}

// TestNullValuesPageExample runs the example of Kusto's "Null values" page
// (datatable(val:int)[5, int(null)] | extend ...) and checks its output
// table.
func TestNullValuesPageExample(t *testing.T) {
	p := mustCompile(t, `SigninLogs
| extend IsBiggerThan3 = DurationMs > 3
| extend IsBiggerThan3OrNull = DurationMs > 3 or isnull(DurationMs)
| extend IsEqualToNull = DurationMs == long(null)
| extend IsNotEqualToNull = DurationMs != long(null)
| project IsBiggerThan3, IsBiggerThan3OrNull, IsEqualToNull, IsNotEqualToNull`)
	for _, tc := range []struct {
		val  table.Value
		want []table.Value
	}{
		{table.Long(5), []table.Value{table.Bool(true), table.Bool(true), table.Bool(false), table.Bool(true)}},
		{table.Null, []table.Value{table.Null, table.Bool(true), table.Null, table.Null}},
	} {
		outs, err := p.Run(mkRow(t, signinLogs, map[string]table.Value{"DurationMs": tc.val}))
		if err != nil || len(outs) != 1 {
			t.Fatalf("Run = %d rows, %v", len(outs), err)
		}
		for i, w := range tc.want {
			if got := outs[0].Columns[i]; got.Value != w {
				t.Errorf("val %+v: %s = %+v, want %+v", tc.val, got.Name, got.Value, w)
			}
		}
	}
}

// TestWarningsAreExposedOnEveryProgram checks that Program.Warnings lists
// the ignored operators wherever they are written (a let function body, a
// union leg's pipeline) and returns a copy.
func TestWarningsAreExposedOnEveryProgram(t *testing.T) {
	p := mustCompile(t, "let f = () { SigninLogs | take 5 };\nf() | sort by TimeGenerated | extend t = ingestion_time()")
	w := p.Warnings()
	if len(w) != 3 || !strings.Contains(w[0], "take ignored") || !strings.Contains(w[1], "sort ignored") || !strings.Contains(w[2], "ingestion_time()") {
		t.Fatalf("warnings %q, want take, sort and ingestion_time", w)
	}
	w[0] = "changed"
	if p.Warnings()[0] == "changed" {
		t.Error("Warnings returned the program's own slice")
	}
	q, err := Parse("union SigninLogs, AADNonInteractiveUserSignInLogs | take 1")
	if err != nil {
		t.Fatal(err)
	}
	progs, err := CompileAll(q, catalog, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range progs {
		if w := p.Warnings(); len(w) != 1 || !strings.Contains(w[0], "take ignored") {
			t.Errorf("%s: warnings %q, want the take", p.Table().Name, w)
		}
	}
}

// TestTohexAndIndexofFollowTheKustoDocs runs the examples of the tohex()
// and indexof() reference pages.
func TestTohexAndIndexofFollowTheKustoDocs(t *testing.T) {
	for _, where := range []string{
		`tohex(256) == "100"`,
		`tohex(-256) == "ffffffffffffff00"`,
		`tohex(toint(-256), 8) == "ffffff00"`,
		`tohex(toint(-256)) == "ffffff00"`,
		`tohex(256, 8) == "00000100"`,
		`tohex(256, 2) == "100"`,
		`tohex(-256, 4) == "ffffffffffffff00"`,
		`tohex(1, 20) == "0000000000000001"`,
		`tohex(DurationMs, 4) == "0000"`,
		`indexof("abcdefg", "cde") == 2`,
		`indexof("abcdefg", "cde", 1, 4) == 2`,
		`indexof("abcdefg", "cde", 1, 2) == -1`,
		`indexof("abcdefg", "cde", 3, 4) == -1`,
		`indexof("abcdefg", "cde", -5) == 2`,
		`indexof(1234567, 5, 1, 4) == 4`,
		`indexof("abcdefg", "cde", 2, -1) == 2`,
		`indexof("abcdefgabcdefg", "cde", 1, 10, 2) == 9`,
		`indexof("abcdefgabcdefg", "cde", 1, -1, 3) == -1`,
		`indexof("abcdefgabcdefg", "cde", 0, -1, 2) == 9`,
		`isnull(indexof("abcdefg", "cde", 0, -2))`,
		`isnull(indexof("abcdefg", "cde", 0, -1, -1))`,
		`isnull(indexof("abcdefg", "cde", -8))`,
		`indexof("abcdefg", "cde", 8) == -1`,
		`indexof("éàbcbc", "bc", 0, -1, 2) == 4`,
		`indexof("éàbcbc", "bc", 3, 2) == -1`,
		`indexof(UserPrincipalName, ".", 0, -1, 2) == 19`,
	} {
		t.Run(where, func(t *testing.T) {
			ok, err := mustCompile(t, "SigninLogs | where "+where).Match(deviceCodeRow(t))
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Errorf("where %s is false", where)
			}
		})
	}
}
