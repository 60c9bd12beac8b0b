package kql

import (
	"errors"
	"strings"
	"testing"
)

// TestComparisonsWithAStringConvertTheString checks the comparisons that
// Microsoft's analyzer accepts between a bool, datetime or timespan and a
// string: the string is converted (tobool, todatetime, totimespan) and the
// values compared; a string that does not convert is unequal.
func TestComparisonsWithAStringConvertTheString(t *testing.T) {
	row := deviceCodeRow(t) // IsInteractive true, TimeGenerated 2025-02-14T11:58:03.1234567Z
	for _, tc := range []struct {
		where string
		want  bool
	}{
		{`IsInteractive == "true"`, true},
		{`IsInteractive == "True"`, true},
		{`"true" == IsInteractive`, true},
		{`IsInteractive == "false"`, false},
		{`IsInteractive != "false"`, true},
		{`IsInteractive == "yes"`, false},
		{`IsInteractive != "yes"`, true},
		{`IsInteractive in ("false", "true")`, true},
		{`IsInteractive !in ("false")`, true},
		{`TimeGenerated == "2025-02-14T11:58:03.1234567Z"`, true},
		{`"2025-02-14 11:58:03.1234567" == TimeGenerated`, true},
		{`TimeGenerated == "2026-11-18"`, false},
		{`TimeGenerated != "2026-11-18"`, true},
		{`TimeGenerated in ("2026-11-18", "2025-02-14T11:58:03.1234567Z")`, true},
		{`TimeGenerated == "not a date"`, false},
		{`1h == "01:00:00"`, true},
		{`90m == "01:30:00"`, true},
		{`IsInteractive < true == false and IsInteractive > false`, true},
		{`DeviceDetail.isCompliant < 1`, true},
		{`Status.errorCode between (0 .. 1)`, true},
	} {
		t.Run(tc.where, func(t *testing.T) {
			ok, err := mustCompile(t, "SigninLogs | where "+tc.where).Match(row)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want {
				t.Errorf("Match = %v, want %v", ok, tc.want)
			}
		})
	}
}

// TestOrderingIsRefusedWhereKustoRefusesIt checks the ordering comparisons
// Microsoft's analyzer refuses: strings, guids, bools in between, and a
// dynamic value against anything but a number or another dynamic value.
func TestOrderingIsRefusedWhereKustoRefusesIt(t *testing.T) {
	for _, tc := range []struct{ where, msg string }{
		{`UserPrincipalName < "m"`, "operator '<' not defined for string and string"},
		{`UserPrincipalName >= AppDisplayName`, "operator '>=' not defined for string and string"},
		{`UserPrincipalName between ("a" .. "m")`, "between is not defined for string and string"},
		{`IsInteractive between (false .. true)`, "between is not defined for bool and bool"},
		{`DeviceDetail < "m"`, "operator '<' not defined for dynamic and string"},
		{`DeviceDetail.x < TimeGenerated`, "operator '<' not defined for dynamic and datetime"},
		{`DeviceDetail.x between ("a" .. "b")`, "between is not defined for dynamic and string"},
		{`toguid(AppId) < toguid(AppId)`, "operator '<' not defined for guid and guid"},
	} {
		t.Run(tc.where, func(t *testing.T) {
			q, err := Parse("SigninLogs | where " + tc.where)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Compile(q, catalog, testOptions())
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(e.Msg, tc.msg) {
				t.Errorf("Compile = %v, want %q", err, tc.msg)
			}
		})
	}
}

// TestInWithANullItemTestsEqualityItemByItem pins what in does with a null
// item: x in (a, b) is x == a or x == b under Kusto's null rules (== of a
// null and a non-null value is false, of two nulls null), so a null item
// never matches a non-null value, and only a null left side gives null.
func TestInWithANullItemTestsEqualityItemByItem(t *testing.T) {
	row := deviceCodeRow(t) // DurationMs 0
	for _, tc := range []struct {
		where string
		want  bool
	}{
		{`5 in (1, int(null))`, false},
		{`not(5 in (1, int(null)))`, true},
		{`isnotnull(5 in (1, int(null)))`, true},
		{`5 !in (1, int(null))`, true},
		{`5 in (5, int(null))`, true},
		{`DurationMs in (1, long(null)) == false`, true},
		{`isnull(long(null) in (1, long(null)))`, true},
		{`isnull(long(null) !in (1, long(null)))`, true},
		{`long(null) in (1, 2) == false`, true},
		{`long(null) !in (1, 2)`, true},
	} {
		t.Run(tc.where, func(t *testing.T) {
			ok, err := mustCompile(t, "SigninLogs | where "+tc.where).Match(row)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want {
				t.Errorf("Match = %v, want %v", ok, tc.want)
			}
		})
	}
}

// TestRealsPrintAsKustoPrintsThem checks tostring() of reals: Kusto's
// shortest form, with an exponent (E, two digits at least) from 1E+15 up
// and below 1E-04, and Infinity, -Infinity and NaN.
func TestRealsPrintAsKustoPrintsThem(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`tostring(1e20)`, "1E+20"},
		{`tostring(1.5e-7)`, "1.5E-07"},
		{`tostring(0.00001)`, "1E-05"},
		{`tostring(0.0001)`, "0.0001"},
		{`tostring(1e14)`, "100000000000000"},
		{`tostring(1e15)`, "1E+15"},
		{`tostring(1000000.0)`, "1000000"},
		{`tostring(123.45)`, "123.45"},
		{`tostring(-2.5)`, "-2.5"},
		{`tostring(1.0/0.0)`, "Infinity"},
		{`tostring(-1.0/0.0)`, "-Infinity"},
		{`tostring(real(nan))`, "NaN"},
		{`tostring(real(+inf))`, "Infinity"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			outs, err := mustCompile(t, "SigninLogs | project a = "+tc.expr).Run(deviceCodeRow(t))
			if err != nil || len(outs) != 1 {
				t.Fatalf("Run = %v, %v", outs, err)
			}
			if got := outs[0].Columns[0].Value.S; got != tc.want {
				t.Errorf("%s = %q, want %q", tc.expr, got, tc.want)
			}
		})
	}
}
