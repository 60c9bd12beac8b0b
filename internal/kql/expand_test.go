package kql

import (
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
)

// authDetails is AuthenticationDetails as Entra sends it: a JSON string.
const authDetails = `[{"authenticationStepDateTime":"2025-02-14T11:58:01Z","authenticationMethod":"Password","succeeded":true},{"authenticationStepDateTime":"2025-02-14T11:58:02Z","authenticationMethod":"Mobile app notification","succeeded":false},{"authenticationMethod":"Previously satisfied","succeeded":true}]`

func expandRow(t *testing.T, details string) *table.Row {
	r := deviceCodeRow(t)
	i, _ := signinLogs.Index("AuthenticationDetails")
	r.Vals[i] = table.Str(details)
	return r
}

// TestMvExpandGivesOneRowPerElement checks mv-expand as Kusto defines it.
func TestMvExpandGivesOneRowPerElement(t *testing.T) {
	cases := []struct {
		name    string
		query   string
		details string
		want    []string // the Method column of each output row
		match   bool
	}{
		{"each array element becomes a row",
			`SigninLogs | mv-expand d = todynamic(AuthenticationDetails) | extend Method = tostring(d.authenticationMethod)`,
			authDetails, []string{"Password", "Mobile app notification", "Previously satisfied"}, true},
		{"a where after the expansion keeps the matching elements",
			`SigninLogs | mv-expand d = todynamic(AuthenticationDetails) | where d.succeeded == false | extend Method = tostring(d.authenticationMethod)`,
			authDetails, []string{"Mobile app notification"}, true},
		{"no element passing the where drops the record",
			`SigninLogs | mv-expand d = todynamic(AuthenticationDetails) | where d.authenticationMethod == "FIDO2" | extend Method = tostring(d.authenticationMethod)`,
			authDetails, nil, false},
		{"an empty array gives no rows",
			`SigninLogs | mv-expand d = todynamic(AuthenticationDetails) | extend Method = tostring(d.authenticationMethod)`,
			`[]`, nil, false},
		{"a null value gives one row",
			`SigninLogs | mv-expand d = todynamic(AuthenticationDetails) | extend Method = tostring(d.authenticationMethod)`,
			``, []string{""}, true},
		{"limit caps the rows of a record",
			`SigninLogs | mv-expand d = todynamic(AuthenticationDetails) limit 2 | extend Method = tostring(d.authenticationMethod)`,
			authDetails, []string{"Password", "Mobile app notification"}, true},
		{"with_itemindex numbers the rows",
			`SigninLogs | mv-expand with_itemindex=i d = todynamic(AuthenticationDetails) | extend Method = strcat(i, ":", d.authenticationMethod)`,
			authDetails, []string{"0:Password", "1:Mobile app notification", "2:Previously satisfied"}, true},
		{"a property bag expands to one-property bags",
			`SigninLogs | mv-expand d = todynamic(AuthenticationDetails)[0] | extend Method = tostring(d)`,
			authDetails, []string{`{"authenticationStepDateTime":"2025-02-14T11:58:01Z"}`, `{"authenticationMethod":"Password"}`, `{"succeeded":true}`}, true},
		{"kind=array expands a bag to key-value pairs",
			`SigninLogs | mv-expand kind=array d = todynamic(AuthenticationDetails)[2] | extend Method = tostring(d[0])`,
			authDetails, []string{"authenticationMethod", "succeeded"}, true},
		{"two arrays expand in parallel, the shorter padded with null",
			`SigninLogs | mv-expand a = dynamic(["x", "y"]), b = dynamic([1]) | extend Method = strcat(a, "-", b)`,
			authDetails, []string{"x-1", "y-"}, true},
		{"to typeof casts and turns other types into null",
			`SigninLogs | mv-expand v = dynamic([1, "two", 3]) to typeof(long) | where isnotnull(v) | extend Method = tostring(v * 10)`,
			authDetails, []string{"10", "30"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, tc.query)
			row := expandRow(t, tc.details)
			ok, err := p.Match(row)
			if err != nil || ok != tc.match {
				t.Errorf("Match = %v, %v; want %v", ok, err, tc.match)
			}
			outs, err := p.Run(row)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range outs {
				v := o.Columns[len(o.Columns)-1]
				if v.Name != "Method" {
					t.Fatalf("last column %s, want Method", v.Name)
				}
				got = append(got, v.Value.S)
			}
			if !equalStrings(got, tc.want) {
				t.Errorf("rows %q, want %q", got, tc.want)
			}
		})
	}
}

// TestMvExpandReplacesTheExpandedColumn checks the output schema.
func TestMvExpandReplacesTheExpandedColumn(t *testing.T) {
	p := mustCompile(t, `SigninLogs | project UserPrincipalName, DeviceDetail | mv-expand with_itemindex=Index DeviceDetail | project-reorder Index`)
	outs, err := p.Run(deviceCodeRow(t))
	if err != nil || len(outs) != 5 {
		t.Fatalf("Run = %d rows, %v; want 5 (one per DeviceDetail property)", len(outs), err)
	}
	if names := outNames(outs[1]); !equalStrings(names, []string{"Index", "UserPrincipalName", "DeviceDetail"}) {
		t.Errorf("columns %v", names)
	}
	if got := outs[1].Columns[2].Value.S; got != `{"operatingSystem":"Windows 10"}` {
		t.Errorf("second row's DeviceDetail = %s", got)
	}
}

func BenchmarkMatchMvExpand(b *testing.B) {
	r := deviceCodeRow(b)
	i, _ := signinLogs.Index("AuthenticationDetails")
	r.Vals[i] = table.Str(authDetails)
	benchMatch(b, `SigninLogs | mv-expand d = todynamic(AuthenticationDetails) | where d.authenticationMethod == "FIDO2"`, r, false)
}
