package pipeline

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
)

// addFixtureSeeds seeds a fuzz target with every fixture in testdata.
func addFixtureSeeds(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
}

// FuzzDecode checks that no body makes Decode panic, that a valid body is
// never repaired nor dead-lettered as invalid JSON, and that the result
// accounts for every record.
func FuzzDecode(f *testing.F) {
	addFixtureSeeds(f)
	d := NewDecoder(needAll(), DecodeOptions{MaxBodyBytes: 1 << 20})
	f.Fuzz(func(t *testing.T, body []byte) {
		rows := 0
		res, err := d.Decode(body, Source{}, func(rec *Record, row *table.Row) error {
			rows++
			if rec.RecordID == "" {
				t.Errorf("record %d has no RecordID", rec.Index)
			}
			if len(row.Vals) != len(row.Table.Columns) {
				t.Errorf("row of %d values for %d columns", len(row.Vals), len(row.Table.Columns))
			}
			full, err := d.DecodeFull(rec, row.Table)
			if err != nil {
				t.Errorf("DecodeFull of a record Decode accepted: %v", err)
				return nil
			}
			for i, c := range row.Table.Columns {
				if full.Vals[i] != row.Vals[i] {
					t.Errorf("%s.%s: Decode %+v, DecodeFull %+v", row.Table.Name, c.Name, row.Vals[i], full.Vals[i])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if json.Valid(body) && !deeperThan(body, DefaultMaxDepth-2) {
			if res.Repaired != "" {
				t.Errorf("a valid body was repaired (%s)", res.Repaired)
			}
			for _, dl := range res.DeadLetters {
				if dl.Reason == ReasonInvalidJSON {
					t.Errorf("a valid body got an invalid-json dead letter: %s", dl.Error)
				}
			}
		}
		perTable := 0
		for _, n := range res.PerTable {
			perTable += n
		}
		if perTable != rows {
			t.Errorf("PerTable counts %d rows, fn saw %d", perTable, rows)
		}
		if rows > 3*res.Records {
			t.Errorf("%d rows from %d records", rows, res.Records)
		}
	})
}

// deeperThan reports whether valid JSON b nests deeper than n.
func deeperThan(b []byte, n int) bool {
	depth, in := 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == '{' || c == '['):
			if depth++; depth > n {
				return true
			}
		case !in && (c == '}' || c == ']'):
			depth--
		}
	}
	return false
}

// FuzzDecodeKeepsTheGoodRecordsAroundABadOne puts fuzzed bytes between two
// good records of an envelope: whatever they are, when they are valid JSON
// or cannot swallow their neighbours (no quote, bracket or brace), both good
// records are decoded.
func FuzzDecodeKeepsTheGoodRecordsAroundABadOne(f *testing.F) {
	for _, s := range []string{`1`, `tru`, ``, ` `, `,,`, `{"time":"x"}`, `[]`, `null`, `227 B blob data`, "a\nb", `{"properties":{}}`} {
		f.Add([]byte(s))
	}
	d := NewDecoder(Need{table.SigninLogs: needCols(table.SigninLogs, "Id")}, DecodeOptions{})
	const g1 = `{"time":"2025-01-01T00:00:00Z","category":"SignInLogs","properties":{"id":"good-1","location":{"city":"A"}}}`
	const g2 = `{"time":"2025-01-01T00:00:00Z","category":"SignInLogs","properties":{"id":"good-2","deviceDetail":{"deviceId":""}}}`
	f.Fuzz(func(t *testing.T, x []byte) {
		body := []byte(`{"records":[` + g1 + `,` + string(x) + `,` + g2 + `]}`)
		var ids []string
		res, err := d.Decode(body, Source{}, func(rec *Record, row *table.Row) error {
			ids = append(ids, rec.RecordID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(x) && bytes.ContainsAny(x, "\"[]{}\\") {
			return
		}
		got := strings.Join(ids, ",")
		if !strings.HasPrefix(got, "good-1") || !strings.HasSuffix(got, "good-2") {
			t.Errorf("decoded %q around %q (dead letters %+v)", got, x, res.DeadLetters)
		}
	})
}

// FuzzScannerAgreesWithEncodingJSON checks the validating scanner against
// encoding/json on any input within the depth limit.
func FuzzScannerAgreesWithEncodingJSON(f *testing.F) {
	addFixtureSeeds(f)
	for _, s := range []string{`{"a":1e5}`, `-0.0e-1`, `"\ud800"`, `[1,]`, `01`, `"\x"`, "\"\x01\"", `{"a" 1}`, `  true `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if deeperThan(b, 100) {
			return
		}
		var s scanner
		s.reset(b, 200)
		end := s.value(s.ws(0), 0)
		ok := end >= 0 && s.ws(end) == len(b)
		if want := json.Valid(b); ok != want {
			t.Errorf("scanner says valid=%v, encoding/json %v, for %q (%v)", ok, want, b, s.err.Error())
		}
	})
}

// FuzzParseTime checks that no time text panics the parser and that what it
// accepts lies in Kusto's range at 100 ns precision.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2025-03-04T10:15:42.1234567Z", "11/14/2025 1:48:53 AM", "02/20/2026 14:54:26.123", "1/9/2007 10:41:00 AM +01:00", "2007-01-09T09:41:00", "2007-01-09T11:41:00+02:00", "12/31/9999 11:59:59 PM"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, ok := parseTime([]byte(s))
		if ok && ns%100 != 0 {
			t.Errorf("parseTime(%q) = %d, not a multiple of 100 ns", s, ns)
		}
	})
}
