package pipeline

import (
	"encoding/json"
	"testing"

	"github.com/streamhunt/streamhunt/rules"
)

// JSON has no infinity or NaN: a real column holding one is written as the
// string Kusto prints for it ("Infinity", "-Infinity", "NaN"), not as null,
// and tostring() of a large real uses Kusto's "1E+20" form.
func TestInfiniteRealsAreWrittenAsKustoNamesThem(t *testing.T) {
	rs := []rules.Rule{{ID: "inf", Severity: "medium", Query: `SigninLogs | where UserPrincipalName == "ada@contoso.example"
| project a = 1.0/0.0, b = real(+inf), c = real(-inf), d = real(nan), e = tostring(1e20), f = tostring(1.0/0.0), g = 2.5`}}
	p, err := New(rs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := p.Process(Event{Body: fixture(t, "signin-devicecode-unmanaged.json"), Source: Source{EventHub: "h", Partition: "0"}})
	if len(res.Findings) == 0 {
		t.Fatal("no finding")
	}
	b, err := json.Marshal(res.Findings[0].Columns)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":"Infinity","b":"Infinity","c":"-Infinity","d":"NaN","e":"1E+20","f":"Infinity","g":2.5}`
	if string(b) != want {
		t.Errorf("columns %s, want %s", b, want)
	}
}
