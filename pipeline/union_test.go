package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streamhunt/streamhunt/rules"
)

// A union rule over the two user sign-in tables runs on each of its tables
// under the one rule id: records of both tables are flagged, each finding
// naming its table.
func TestAUnionRuleFlagsRecordsOfEachOfItsTables(t *testing.T) {
	rs := []rules.Rule{{ID: "both", Severity: "medium", File: "both.kql", Line: 1,
		Query: `union isfuzzy=true withsource=SourceTable SigninLogs, AADNonInteractiveUserSignInLogs
| where UserPrincipalName == "ada@contoso.example"
| project SourceTable, UserPrincipalName, IPAddress`}}
	p, err := New(rs, Options{Now: func() time.Time { return time.Date(2025, 3, 4, 10, 20, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got := len(p.Rules()); got != 1 {
		t.Fatalf("%d rules, want 1", got)
	}
	r := p.Rules()[0]
	var tables []string
	for _, prog := range r.Programs() {
		tables = append(tables, prog.Table().Name)
	}
	if strings.Join(tables, ",") != "SigninLogs,AADNonInteractiveUserSignInLogs" {
		t.Errorf("programs read %v, want SigninLogs and AADNonInteractiveUserSignInLogs", tables)
	}
	if r.Program() != r.Programs()[0] {
		t.Error("Program() is not the first of Programs()")
	}
	seen := map[string]string{}
	for _, name := range []string{"signin-devicecode-unmanaged.json", "noninteractive-devicecodeflow.json"} {
		for _, f := range p.Process(Event{Body: fixture(t, name), Source: Source{EventHub: "h", Partition: "0"}}).Findings {
			if f.RuleID != "both" {
				t.Errorf("finding of rule %q, want both", f.RuleID)
			}
			src, _ := f.Columns.Get("SourceTable")
			if src.S != f.Table {
				t.Errorf("SourceTable %q in a finding of table %s", src.S, f.Table)
			}
			if prev, dup := seen[f.FindingID]; dup {
				t.Errorf("finding id %s given twice (%s and %s)", f.FindingID, prev, f.Table)
			}
			seen[f.FindingID] = f.Table
		}
	}
	perTable := map[string]int{}
	for _, tb := range seen {
		perTable[tb]++
	}
	if perTable["SigninLogs"] == 0 || perTable["AADNonInteractiveUserSignInLogs"] == 0 {
		t.Errorf("findings per table %v, want findings of both tables", perTable)
	}
}

// A union that reads one table twice gives each leg's rows their own row
// indexes, so their findings keep distinct ids, as Kusto gives the row twice.
func TestAUnionOfOneTableTwiceGivesDistinctFindings(t *testing.T) {
	rs := []rules.Rule{{ID: "twice", Severity: "medium", Query: `union SigninLogs, (SigninLogs | where ResultType == "0") | where UserPrincipalName == "ada@contoso.example"`}}
	p, err := New(rs, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	res := p.Process(Event{Body: fixture(t, "signin-devicecode-unmanaged.json"), Source: Source{EventHub: "h", Partition: "0"}})
	ids := map[string]bool{}
	for _, f := range res.Findings {
		if ids[f.FindingID] {
			t.Errorf("finding id %s given twice", f.FindingID)
		}
		ids[f.FindingID] = true
	}
	if len(res.Findings) < 2 {
		t.Errorf("%d findings, want the sign-in from each leg", len(res.Findings))
	}
}

// What union cannot do per record is refused with a message that names the
// fix, and never an internal API.
func TestUnionFormsThatCannotRunAreRefusedPlainly(t *testing.T) {
	for _, tt := range []struct{ query, want string }{
		{"union kind=inner SigninLogs, AADNonInteractiveUserSignInLogs | where ResultType == 0", "kind=inner"},
		{"let both = union SigninLogs, AADNonInteractiveUserSignInLogs; both | where ResultType == 0", "union"},
	} {
		_, err := New([]rules.Rule{{ID: "r", File: "r.kql", Line: 1, Query: tt.query}}, Options{})
		var ces CompileErrors
		if !errors.As(err, &ces) || len(ces) != 1 {
			t.Fatalf("%q: err %v, want one compile error", tt.query, err)
		}
		msg := ces[0].Error()
		if !strings.Contains(msg, tt.want) || strings.Contains(msg, "CompileAll") {
			t.Errorf("%q: %s; want a message about %s that does not name CompileAll", tt.query, msg, tt.want)
		}
	}
}
