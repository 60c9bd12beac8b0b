package kql

import (
	"strconv"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
)

// TestIPAndDynamicFunctionsFollowTheKustoDocs runs every example of the
// reference pages of the functions added for IP addresses, arrays, bags,
// datetime_diff, round and gettype (learn.microsoft.com/kusto/query/...),
// each as a predicate that must hold for the test sign-in (IPAddress is
// 203.0.113.7).
func TestIPAndDynamicFunctionsFollowTheKustoDocs(t *testing.T) {
	for _, where := range []string{
		// ipv4_is_in_range
		`ipv4_is_in_range("192.168.1.1", "192.168.1.1")`,
		`ipv4_is_in_range("192.168.1.1", "192.168.1.255/24")`,
		`ipv4_is_in_range("192.168.1.6", "192.168.1.1/24")`,
		`not(ipv4_is_in_range("192.168.1.1", "192.168.2.1/24"))`,
		`isnull(ipv4_is_in_range("192.168.1.256", "192.168.1.1/24"))`,
		`isnull(ipv4_is_in_range("192.168.1.1", "192.168.1.1/33"))`,
		`ipv4_is_in_range(IPAddress, "203.0.113.0/24")`,
		`not(ipv4_is_in_range(IPAddress, "198.51.100.0/24"))`,
		// ipv4_is_in_any_range
		`ipv4_is_in_any_range("192.168.1.6", "192.168.1.1/24", "10.0.0.1/8", "127.1.0.1/16")`,
		`not(ipv4_is_in_any_range("192.168.1.1", "192.168.2.1/24", "10.0.0.1/8", "127.1.0.1/16"))`,
		`ipv4_is_in_any_range("127.0.0.1", dynamic(["127.0.0.1", "192.168.1.1"]))`,
		`ipv4_is_in_any_range("10.1.2.3", dynamic(["192.168.1.1/16", "127.0.0.1/8", "10.0.0.1/8"]))`,
		`not(ipv4_is_in_any_range("123.1.11.21", dynamic(["192.168.1.1/16", "127.0.0.1/8", "10.0.0.1/8"])))`,
		`ipv4_is_in_any_range(IPAddress, "10.0.0.0/8", "203.0.113.0/24")`,
		// ipv4_is_private
		`ipv4_is_private("192.168.1.1/24") == true`,
		`ipv4_is_private("10.1.2.3/24") == true`,
		`ipv4_is_private("202.1.2.3") == false`,
		`ipv4_is_private("127.0.0.1") == false`,
		`ipv4_is_private("10.1.2.3")`,
		`ipv4_is_private("172.16.0.1") and ipv4_is_private("172.31.255.255") and not(ipv4_is_private("172.32.0.0"))`,
		`isnull(ipv4_is_private("not an address"))`,
		`not(ipv4_is_private(IPAddress))`,
		// ipv4_is_match
		`ipv4_is_match("192.168.1.1/24", "192.168.1.255")`,
		`ipv4_is_match("192.168.1.0", "192.168.1.0")`,
		`ipv4_is_match("192.168.1.1", "192.168.1.255/24")`,
		`ipv4_is_match("192.168.1.1/30", "192.168.1.255/24")`,
		`ipv4_is_match("192.168.1.1", "192.168.1.0", 31)`,
		`ipv4_is_match("192.168.1.1/24", "192.168.1.255", 31)`,
		`ipv4_is_match("192.168.1.1", "192.168.1.255", 24)`,
		`ipv4_is_match("127.0.0.1", "127.0.0.1")`,
		`not(ipv4_is_match("192.168.1.1", "192.168.1.255"))`,
		`isnull(ipv4_is_match("192.168.1.1", "x"))`,
		// ipv4_compare
		`ipv4_compare("192.168.1.0", "192.168.1.0") == 0`,
		`ipv4_compare("192.168.1.1/24", "192.168.1.255") == 0`,
		`ipv4_compare("192.168.1.1", "192.168.1.255/24") == 0`,
		`ipv4_compare("192.168.1.1/30", "192.168.1.255/24") == 0`,
		`ipv4_compare("192.168.1.1", "192.168.1.0", 31) == 0`,
		`ipv4_compare("192.168.1.1/24", "192.168.1.255", 31) == 0`,
		`ipv4_compare("192.168.1.1", "192.168.1.255", 24) == 0`,
		`ipv4_compare("127.0.0.1", "127.0.0.1") == 0`,
		`ipv4_compare("192.168.1.1", "192.168.1.255") == -1`,
		`ipv4_compare("192.168.1.255", "192.168.1.1") == 1`,
		`ipv4_compare("200.0.0.1", "10.0.0.1") == 1`,
		`isnull(ipv4_compare("192.168.1.1", "192.168.1"))`,
		// parse_ipv4
		`parse_ipv4("192.168.1.1") == 3232235777`,
		`parse_ipv4("192.168.1.1/24") == 3232235776`,
		`parse_ipv4("255.255.255.255/31") == 4294967294`,
		`isnull(parse_ipv4("192.168.1"))`,
		`parse_ipv4(IPAddress) == 3405803783`,
		// has_ipv4, has_any_ipv4, has_ipv4_prefix, has_any_ipv4_prefix
		`has_ipv4("05:04:54 127.0.0.1 GET /favicon.ico 404", "127.0.0.1")`,
		`not(has_ipv4("05:04:54 127.0.0.256 GET /favicon.ico 404", "127.0.0.256"))`,
		`not(has_ipv4("05:04:54127.0.0.1 GET /favicon.ico 404", "127.0.0.1"))`,
		`has_ipv4("These requests came from: 192.168.1.1, 10.1.1.115 and 10.1.1.201", "10.1.1.115")`,
		`not(has_ipv4("from 10.1.1.115", "10.1.1.11"))`,
		`has_ipv4(strcat("client ", IPAddress, " via proxy"), IPAddress)`,
		`has_any_ipv4("05:04:54 127.0.0.1 GET /favicon.ico 404", "127.0.0.1", "127.0.0.2")`,
		`has_any_ipv4("05:04:54 127.0.0.1 GET /favicon.ico 404", dynamic(["127.0.0.1", "127.0.0.2"]))`,
		`not(has_any_ipv4("05:04:54 127.0.0.256 GET /favicon.ico 404", dynamic(["127.0.0.256", "192.168.1.1"])))`,
		`not(has_any_ipv4("05:04:54127.0.0.1 GET /favicon.ico 404", "127.0.0.1", "192.168.1.1"))`,
		`has_ipv4_prefix("05:04:54 127.0.0.1 GET /favicon.ico 404", "127.0.")`,
		`not(has_ipv4_prefix("05:04:54 127.0.0.1 GET /favicon.ico 404", "127.0"))`,
		`not(has_ipv4_prefix("05:04:54 127.0.0.256 GET /favicon.ico 404", "127.0."))`,
		`not(has_ipv4_prefix("05:04:54127.0.0.1 GET /favicon.ico 404", "127.0."))`,
		`has_ipv4_prefix("05:04:54 127.0.0.1 GET /favicon.ico 404", "127.0.0.1")`,
		`has_any_ipv4_prefix("05:04:54 127.0.0.1 GET /favicon.ico 404", "127.0.", "192.168.")`,
		`has_any_ipv4_prefix("05:04:54 127.0.0.1 GET /favicon.ico 404", dynamic(["127.0.", "192.168."]))`,
		`not(has_any_ipv4_prefix("05:04:54 127.0.0.1 GET /favicon.ico 404", "127.0"))`,
		`not(has_any_ipv4_prefix("05:04:54127.0.0.1 GET /favicon.ico 404", "127.0.", "192."))`,
		// ipv6_is_match
		`ipv6_is_match("192.168.1.1", "192.168.1.1")`,
		`ipv6_is_match("192.168.1.1/24", "192.168.1.255")`,
		`ipv6_is_match("192.168.1.1", "192.168.1.255/24")`,
		`ipv6_is_match("192.168.1.1/30", "192.168.1.255/24")`,
		`ipv6_is_match("fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7994")`,
		`ipv6_is_match("fe80::85d:e82c:9446:7994/120", "fe80::85d:e82c:9446:7998")`,
		`ipv6_is_match("fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7998/120")`,
		`ipv6_is_match("fe80::85d:e82c:9446:7994/120", "fe80::85d:e82c:9446:7998/120")`,
		`ipv6_is_match("192.168.1.1", "::ffff:c0a8:0101")`,
		`ipv6_is_match("192.168.1.1/24", "::ffff:c0a8:01ff")`,
		`ipv6_is_match("::ffff:c0a8:0101", "192.168.1.255/24")`,
		`ipv6_is_match("::192.168.1.1/30", "192.168.1.255/24")`,
		`ipv6_is_match("192.168.1.1", "192.168.1.0", 31)`,
		`ipv6_is_match("192.168.1.1/24", "192.168.1.255", 31)`,
		`ipv6_is_match("192.168.1.1", "192.168.1.255", 24)`,
		`ipv6_is_match("fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7995", 127)`,
		`ipv6_is_match("fe80::85d:e82c:9446:7994/127", "fe80::85d:e82c:9446:7998", 120)`,
		`ipv6_is_match("fe80::85d:e82c:9446:7994/120", "fe80::85d:e82c:9446:7998", 127)`,
		`ipv6_is_match("192.168.1.1/24", "::ffff:c0a8:01ff", 127)`,
		`ipv6_is_match("::ffff:c0a8:0101", "192.168.1.255", 120)`,
		`ipv6_is_match("::192.168.1.1/30", "192.168.1.255/24", 127)`,
		`not(ipv6_is_match("fe80::1", "fe80::2"))`,
		`isnull(ipv6_is_match("fe80::1", "not an address"))`,
		// datetime_diff
		`datetime_diff('year', datetime(2017-01-01), datetime(2000-12-31)) == 17`,
		`datetime_diff('quarter', datetime(2017-07-01), datetime(2017-03-30)) == 2`,
		`datetime_diff('month', datetime(2017-01-01), datetime(2015-12-30)) == 13`,
		`datetime_diff('week', datetime(2017-10-29 00:00), datetime(2017-09-30 23:59)) == 5`,
		`datetime_diff('day', datetime(2017-10-29 00:00), datetime(2017-09-30 23:59)) == 29`,
		`datetime_diff('hour', datetime(2017-10-31 01:00), datetime(2017-10-30 23:59)) == 2`,
		`datetime_diff('minute', datetime(2017-10-30 23:05:01), datetime(2017-10-30 23:00:59)) == 5`,
		`datetime_diff('second', datetime(2017-10-30 23:00:10.100), datetime(2017-10-30 23:00:00.900)) == 10`,
		`datetime_diff('millisecond', datetime(2017-10-30 23:00:00.200100), datetime(2017-10-30 23:00:00.100900)) == 100`,
		`datetime_diff('microsecond', datetime(2017-10-30 23:00:00.1009001), datetime(2017-10-30 23:00:00.1008009)) == 100`,
		`datetime_diff('nanosecond', datetime(2017-10-30 23:00:00.0000000), datetime(2017-10-30 23:00:00.0000007)) == -700`,
		`datetime_diff('Day', TimeGenerated, datetime(2025-02-13 23:00)) == 1`,
		`datetime_diff('week', datetime(1969-12-28), datetime(1969-12-27)) == 1`,
		`isnull(datetime_diff('day', datetime(null), TimeGenerated))`,
		// bag_pack, pack, pack_dictionary
		`tostring(bag_pack("Level", "Information", "ProcessID", 1234, "Data", bag_pack("url", "www.bing.com"))) == '{"Level":"Information","ProcessID":1234,"Data":{"url":"www.bing.com"}}'`,
		`bag_pack("Dest", 100, "Text", "Hi").Dest == 100 and bag_pack("Dest", 100, "Text", "Hi").Text == "Hi"`,
		`tostring(pack("a", 1, "b", true)) == '{"a":1,"b":true}'`,
		`tostring(pack_dictionary("a", 1.5)) == '{"a":1.5}'`,
		`tostring(bag_pack("ip", IPAddress, "t", datetime(2025-01-02))) == '{"ip":"203.0.113.7","t":"2025-01-02T00:00:00.0000000Z"}'`,
		`tostring(bag_pack("os", DeviceDetail.operatingSystem)) == '{"os":"Windows 10"}'`,
		// extract_all
		`tostring(extract_all(@"(\d+)", "a set of numbers: 123, 567 and 789")) == '["123","567","789"]'`,
		`tostring(extract_all(@"([\da-f]{2})", "82b8be2d-dfa7-4bd1-8f63-24ad26d31449")) == '["82","b8","be","2d","df","a7","4b","d1","8f","63","24","ad","26","d3","14","49"]'`,
		`tostring(extract_all(@"(\w)(\w+)(\w)", "82b8be2d-dfa7-4bd1-8f63-24ad26d31449")) == '[["8","2b8be2","d"],["d","fa","7"],["4","bd","1"],["8","f6","3"],["2","4ad26d3144","9"]]'`,
		`tostring(extract_all(@"(\w)(\w+)(\w)", dynamic([1,3]), "82b8be2d-dfa7-4bd1-8f63-24ad26d31449")) == '[["8","d"],["d","7"],["4","1"],["8","3"],["2","9"]]'`,
		`tostring(extract_all(@"(?P<first>\w)(?P<middle>\w+)(?P<last>\w)", dynamic(['first',2,'last']), "82b8be2d-dfa7-4bd1-8f63-24ad26d31449")) == '[["8","2b8be2","d"],["d","fa","7"],["4","bd","1"],["8","f6","3"],["2","4ad26d3144","9"]]'`,
		`isnull(extract_all(@"(\d+)", "no digits"))`,
		`tostring(extract_all(@"(\d+)", IPAddress)) == '["203","0","113","7"]'`,
		// array_index_of, set_has_element
		`array_index_of(dynamic(["this", "is", "an", "example", "an", "example"]), "an") == 2`,
		`array_index_of(dynamic(["this", "is", "an", "example", "an", "example"]), "example", 1, 3) == 3`,
		`array_index_of(dynamic(["this", "is", "an", "example", "an", "example"]), "example", 1, 2) == -1`,
		`array_index_of(dynamic(["this", "is", "an", "example", "an", "example"]), "is", 2, 4) == -1`,
		`array_index_of(dynamic(["this", "is", "an", "example", "an", "example"]), "example", 2, -1) == 3`,
		`array_index_of(dynamic(["this", "is", "an", "example", "an", "example"]), "an", 1, -1, 2) == 4`,
		`array_index_of(dynamic(["this", "is", "an", "example", "an", "example"]), "an", 1, -1, 3) == -1`,
		`array_index_of(dynamic(["this", "is", "an", "example", "an", "example"]), "an", -3) == 4`,
		`array_index_of(dynamic(["this", "is", "an", "example", "an", "example"]), "is", -4) == -1`,
		`isnull(array_index_of(dynamic(["a"]), "a", 0, -2))`,
		`isnull(array_index_of(dynamic(["a"]), "a", 0, -1, -1))`,
		`array_index_of(dynamic([1, 2, 3]), 2) == 1`,
		`array_index_of(dynamic([1, 2, 3]), "2") == -1`,
		`array_index_of(split(IPAddress, "."), "113") == 2`,
		`set_has_element(dynamic(["this", "is", "an", "example"]), "example")`,
		`not(set_has_element(dynamic(["this", "is", "an", "example"]), "Example"))`,
		`set_has_element(dynamic([1, 2.5, true]), 2.5) and set_has_element(dynamic([1, 2.5, true]), true)`,
		// round
		`round(2.98765, 3) == 2.988`,
		`round(2.15, 1) == 2.2`,
		`round(2.15) == 2`,
		`round(-50.55, -2) == -100`,
		`round(21.5, -1) == 20`,
		`round(15, -1) == 20 and round(-15, -1) == -20 and round(14, -1) == 10 and round(7) == 7`,
		`round(2.5) == 3 and round(-2.5) == -3`,
		`isnull(round(real(null)))`,
		// gettype
		`gettype("a") == "string"`,
		`gettype(111) == "long"`,
		`gettype(1==1) == "bool"`,
		`gettype(now()) == "datetime"`,
		`gettype(1s) == "timespan"`,
		`gettype(parse_json('1')) == "int"`,
		`gettype(parse_json(' "abc" ')) == "string"`,
		`gettype(parse_json(' {"abc":1} ')) == "dictionary"`,
		`gettype(parse_json(' [1, 2, 3] ')) == "array"`,
		`gettype(123.45) == "real"`,
		`gettype(guid(12e8b78d-55b4-46ae-b068-26d7a0080254)) == "guid"`,
		`gettype(parse_json('')) == "null"`,
		`gettype(toint(1)) == "int" and gettype(DurationMs) == "long" and gettype(DeviceDetail.isCompliant) == "bool"`,
		`gettype(parse_json('12345678901')) == "long" and gettype(parse_json('1.5')) == "real"`,
		// array_length, strcat_array
		`array_length(dynamic([1, 2, 3, "four"])) == 4`,
		`isnull(array_length(dynamic({"a": 1})))`,
		`strcat_array(dynamic([1, 2, 3]), "->") == "1->2->3"`,
		`strcat_array(dynamic([1, 2, 3]), '"') == '1"2"3'`,
		`strcat_array(dynamic(["a", ["b"], {"c": 1}, null, true]), ",") == 'a,["b"],{"c":1},,true'`,
		`strcat_array(split(IPAddress, "."), "-") == "203-0-113-7"`,
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

// TestFunctionArgumentsAreCheckedAsKustoChecksThem checks the argument
// errors Microsoft's analyzer reports for these functions.
func TestFunctionArgumentsAreCheckedAsKustoChecksThem(t *testing.T) {
	for _, tc := range []struct{ expr, msg string }{
		{`ipv4_is_private(123)`, "ipv4_is_private: argument 1 must be a string, not long"},
		{`ipv4_is_match(IPAddress, "1.2.3.4", "24")`, "ipv4_is_match: argument 3 must be an int or long, not string"},
		{`ipv4_is_match(IPAddress, "1.2.3.4", 24.0)`, "ipv4_is_match: argument 3 must be an int or long, not real"},
		{`datetime_diff("day", "2020-01-01", TimeGenerated)`, "datetime_diff: argument 2 must be a datetime, not string"},
		{`datetime_diff("days", TimeGenerated, TimeGenerated)`, "datetime_diff: the period must be one of year, quarter, month, week, day, hour, minute, second, millisecond, microsecond or nanosecond"},
		{`datetime_diff(UserPrincipalName, TimeGenerated, TimeGenerated)`, "datetime_diff: the period must be a constant string"},
		{`bag_pack("a")`, "bag_pack takes 2 to 64 arguments, not 1"},
		{`bag_pack("a", 1, "b")`, "bag_pack takes an even number of arguments (key, value, ...), not 3"},
		{`bag_pack(1, 1)`, "bag_pack: argument 1 must be a string, not long"},
		{`extract_all("(x)", 1)`, "extract_all: argument 2 must be a string, not long"},
		{`extract_all("x", UserAgent)`, "extract_all needs a regular expression with 1 to 16 capture groups"},
		{`extract_all(UserAgent, UserAgent)`, "extract_all needs a constant regular expression"},
		{`array_index_of(IPAddress, "x")`, "array_index_of: argument 1 must be a dynamic array, not string"},
		{`round("1.5")`, "round: argument 1 must be a number, not string"},
		{`round(1.5, 1.0)`, "round: argument 2 must be an int or long, not real"},
		{`set_has_element(IPAddress, 1)`, "set_has_element: argument 1 must be a dynamic array, not string"},
		{`strcat_array(IPAddress, ",")`, "strcat_array: argument 1 must be a dynamic array, not string"},
		{`array_length(IPAddress)`, "array_length: argument 1 must be a dynamic array, not string"},
		{`has_any_ipv4(IPAddress, 1)`, "has_any_ipv4: argument 2 must be a string or a dynamic array, not long"},
		{`parse_ipv4(1)`, "parse_ipv4: argument 1 must be a string, not long"},
		{`round(TimeGenerated)`, "round: argument 1 must be a number, not datetime"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			q, err := Parse("SigninLogs | project a = " + tc.expr)
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

// TestFunctionResultTypesAgreeWithMicrosoftsAnalyzer compiles a call of
// each function and compares its result type, and whether it is accepted,
// with Kusto.Language's semantic analysis.
func TestFunctionResultTypesAgreeWithMicrosoftsAnalyzer(t *testing.T) {
	t.Parallel()
	exprs := []string{
		`ipv4_is_in_range(IPAddress, "10.0.0.0/8")`, `ipv4_is_in_any_range(IPAddress, "10.0.0.0/8", "192.168.0.0/16")`,
		`ipv4_is_in_any_range(IPAddress, dynamic(["10.0.0.0/8"]))`, `ipv4_is_private(IPAddress)`, `ipv4_is_private(DeviceDetail.ip)`,
		`ipv4_is_match(IPAddress, "1.2.3.4")`, `ipv4_is_match(IPAddress, "1.2.3.4", 24)`, `ipv4_compare(IPAddress, "1.2.3.4")`,
		`ipv4_compare(IPAddress, "1.2.3.4", 8)`, `parse_ipv4(IPAddress)`, `has_ipv4(UserAgent, IPAddress)`,
		`has_any_ipv4(UserAgent, "1.2.3.4", "5.6.7.8")`, `has_any_ipv4(UserAgent, dynamic(["1.2.3.4"]))`,
		`has_ipv4_prefix(UserAgent, "10.")`, `has_any_ipv4_prefix(UserAgent, "10.", "192.168.")`, `ipv6_is_match(IPAddress, "::1")`,
		`ipv6_is_match(IPAddress, "::1", 64)`, `datetime_diff("day", TimeGenerated, now())`, `datetime_diff("Week", TimeGenerated, now())`,
		`bag_pack("a", 1, "b", IPAddress)`, `bag_pack(UserPrincipalName, 1)`, `pack("a", 1)`, `pack_dictionary("a", 1)`,
		`extract_all(@"(\d+)", IPAddress)`, `extract_all(@"(\d)(\d)", dynamic([1]), IPAddress)`, `array_index_of(DeviceDetail, "x")`,
		`array_index_of(DeviceDetail, "x", 1, 2, 3)`, `set_has_element(DeviceDetail, 1)`, `round(1.5)`, `round(15, -1)`,
		`round(toint(3))`, `round(DurationMs, 2)`, `gettype(1)`, `gettype(DeviceDetail)`, `array_length(DeviceDetail)`,
		`strcat_array(DeviceDetail, ",")`,
		// refused by both
		`ipv4_is_private(123)`, `ipv4_is_match(IPAddress, "1.2.3.4", "24")`, `ipv4_is_match(IPAddress, "1.2.3.4", 24.0)`,
		`datetime_diff("day", "2020-01-01", TimeGenerated)`, `datetime_diff("days", TimeGenerated, TimeGenerated)`,
		`datetime_diff(UserPrincipalName, TimeGenerated, TimeGenerated)`, `bag_pack("a")`, `bag_pack("a", 1, "b")`, `bag_pack(1, 1)`,
		`extract_all("(x)", 1)`, `extract_all(UserPrincipalName, IPAddress)`, `array_index_of(IPAddress, "x")`, `round("1.5")`,
		`round(1.5, 1.0)`, `set_has_element(IPAddress, 1)`, `strcat_array(IPAddress, ",")`, `array_length(IPAddress)`,
		`has_any_ipv4(IPAddress, 1)`, `parse_ipv4(1)`, `round(TimeGenerated)`,
	}
	queries := map[string]string{}
	for i, e := range exprs {
		queries["f"+strconv.Itoa(i)] = "SigninLogs | project a = " + e
	}
	verdicts := runOracleWith(t, queries, table.Tables())
	for i, e := range exprs {
		v := verdicts["f"+strconv.Itoa(i)]
		pq, err := Parse(queries["f"+strconv.Itoa(i)])
		var progs []*Program
		if err == nil {
			progs, err = CompileAll(pq, CatalogFunc(table.Lookup), Options{})
		}
		if (err == nil) != v.OK {
			t.Errorf("%s: Compile = %v, but Microsoft's analyzer says ok=%v (%s)", e, err, v.OK, v.Error)
			continue
		}
		if err != nil {
			continue
		}
		got := progs[0].out[0].typ.String()
		if want := strings.TrimPrefix(v.Columns, "a:"); got != want {
			t.Errorf("%s: result type %s, Microsoft's analyzer says %s", e, got, want)
		}
	}
}
