package pipeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/internal/testenv"
)

// sampleBodies reads every file RECORDS.txt lists and splits it into bodies:
// the whole file when it is one JSON value, else one body per line.
func sampleBodies(t *testing.T) map[string][][]byte {
	t.Helper()
	dir := filepath.Join(testenv.SharedDir(t), "samples")
	list, err := os.ReadFile(filepath.Join(dir, "RECORDS.txt"))
	if err != nil {
		// ../shared is here (SharedDir skips when it is not): a samples list
		// missing from it is a broken checkout, not a reason to pass.
		t.Fatalf("../shared is present but its samples list is not: %v", err)
	}
	out := map[string][][]byte{}
	for _, name := range strings.Split(string(list), "\n") {
		name = strings.TrimSpace(name)
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("RECORDS.txt lists %s: %v", name, err)
		}
		if json.Valid(data) {
			out[name] = [][]byte{data}
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				out[name] = append(out[name], append([]byte(nil), line...))
			}
		}
	}
	return out
}

func TestEverySampleRecordDecodesWithoutADeadLetter(t *testing.T) {
	d := NewDecoder(needAll(), DecodeOptions{})
	records := 0
	for name, bodies := range sampleBodies(t) {
		for i, b := range bodies {
			dc := decodeWith(t, d, b, Source{File: name, Line: i + 1})
			records += dc.res.Records
			if len(dc.res.DeadLetters) != 0 || len(dc.res.SkippedCategories) != 0 || dc.res.Repaired != "" {
				t.Errorf("%s body %d: %+v", name, i+1, dc.res)
			}
			if dc.res.Records > 0 && len(dc.rows) == 0 {
				t.Errorf("%s body %d: no rows", name, i+1)
			}
		}
	}
	// 38 full records and 11 time-format fragments (samples/PROVENANCE.md).
	if records != 49 {
		t.Errorf("decoded %d sample records, want 49", records)
	}
}

func TestSampleRecordsGiveTheValuesTheSourcesShow(t *testing.T) {
	d := NewDecoder(needAll(), DecodeOptions{})
	rows := map[string]decoded{}
	for name, bodies := range sampleBodies(t) {
		for _, b := range bodies {
			dc := decodeWith(t, d, b, Source{File: name})
			prev := rows[name]
			prev.rows = append(prev.rows, dc.rows...)
			rows[name] = prev
		}
	}
	find := func(t *testing.T, file, tbl, id string) map[string]table.Value {
		t.Helper()
		for name, dc := range rows {
			if strings.HasSuffix(name, file) {
				return dc.row(t, tbl, id)
			}
		}
		t.Fatalf("no sample %s", file)
		return nil
	}
	const sekoia = "DERIVED_raw_messages_from_azure-ad_tests.ndjson"
	const dcode = "44444444-4444-4444-4444-444444444444" // sign-in_activity4
	tests := []struct {
		name            string
		file, tbl, id   string
		col             string
		want            table.Value
		wantNonEmptyDev bool
	}{
		{"SEKOIA activity4 is a device-code sign-in", sekoia, "SigninLogs", dcode, "AuthenticationProtocol", table.Str("deviceCode"), false},
		{"SEKOIA activity4 comes from a registered device", sekoia, "SigninLogs", dcode, "DeviceDetail", table.Value{}, true},
		{"SEKOIA activity4 in Defender is the Cmsi step", sekoia, "AADSignInEventsBeta", dcode, "EndpointCall", table.Str("Cmsi:Cmsi"), false},
		{"SEKOIA activity4 in Defender succeeded", sekoia, "AADSignInEventsBeta", dcode, "ErrorCode", table.Int(0), false},
		{"the docs sample is a KMSI interrupt", "EXCERPT_reference-azure-monitor-sign-ins-log-schema.sample.json", "SigninLogs", "0231f922-93fa-4005-bb11-b344eca03c01", "ResultType", table.Str("50140"), false},
		{"a lower-case Informational level", "test-alternative-time-and-duration-as-string.log", "AADServicePrincipalSignInLogs", "", "Level", table.Str("Informational"), false},
		{"a string durationMs", "test-alternative-time-and-duration-as-string.log", "AADServicePrincipalSignInLogs", "", "DurationMs", table.Long(0), false},
		{"a US-format time", "test-alternative-time-and-duration-as-string.log", "AADServicePrincipalSignInLogs", "", "TimeGenerated", ts("2025-11-14T01:48:53Z"), false},
		{"MicrosoftServicePrincipalSignInLogs keeps its category in the SP table", "test-signinlogs-raw.log", "AADServicePrincipalSignInLogs", "msp", "Category", table.Str("MicrosoftServicePrincipalSignInLogs"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var row map[string]table.Value
			switch tt.id {
			case "":
				row = onlyRow(t, rows, tt.file, tt.tbl)
			case "msp":
				row = rowWhere(t, rows, tt.file, tt.tbl, "Category", "MicrosoftServicePrincipalSignInLogs")
			default:
				row = find(t, tt.file, tt.tbl, tt.id)
			}
			got := row[tt.col]
			if tt.wantNonEmptyDev {
				var dev struct{ DeviceID string }
				if err := json.Unmarshal([]byte(got.S), &dev); err != nil || got.K != table.KindDynamic || dev.DeviceID == "" {
					t.Errorf("DeviceDetail = %+v: want a deviceId", got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("%s = %+v, want %+v", tt.col, got, tt.want)
			}
		})
	}
	if v := find(t, sekoia, "AADSignInEventsBeta", dcode)["AadDeviceId"]; v.S == "" {
		t.Errorf("SEKOIA activity4 AadDeviceId is empty")
	}
}

func onlyRow(t *testing.T, rows map[string]decoded, file, tbl string) map[string]table.Value {
	t.Helper()
	return rowWhere(t, rows, file, tbl, "", "")
}

func rowWhere(t *testing.T, rows map[string]decoded, file, tbl, col, val string) map[string]table.Value {
	t.Helper()
	for name, dc := range rows {
		if !strings.HasSuffix(name, file) {
			continue
		}
		for _, r := range dc.rows {
			if r.table == tbl && (col == "" || r.vals[col].S == val) {
				return r.vals
			}
		}
	}
	t.Fatalf("no %s row in %s", tbl, file)
	return nil
}

// kindsOf lists the value kinds a column of each type may hold.
var kindsOf = map[table.Type][]table.Kind{
	table.TypeString:   {table.KindString},
	table.TypeDynamic:  {table.KindDynamic, table.KindNull},
	table.TypeLong:     {table.KindLong, table.KindNull},
	table.TypeInt:      {table.KindInt, table.KindNull},
	table.TypeBool:     {table.KindBool, table.KindNull},
	table.TypeDateTime: {table.KindDateTime, table.KindNull},
	table.TypeReal:     {table.KindReal, table.KindNull},
}

func TestDecodeFullOfEverySampleGivesColumnsOfTheirDeclaredTypes(t *testing.T) {
	d := NewDecoder(needAll(), DecodeOptions{})
	rows := 0
	for name, bodies := range sampleBodies(t) {
		for _, b := range bodies {
			_, err := d.Decode(b, Source{File: name}, func(rec *Record, row *table.Row) error {
				full, err := d.DecodeFull(rec, row.Table)
				if err != nil {
					return err
				}
				rows++
				for i, c := range row.Table.Columns {
					v := full.Vals[i]
					if !containsKind(kindsOf[c.Type], v.K) {
						t.Errorf("%s %s.%s (%s) holds kind %d", name, row.Table.Name, c.Name, c.Type, v.K)
					}
					if v.K == table.KindDynamic && !json.Valid([]byte(v.S)) {
						t.Errorf("%s %s.%s holds invalid JSON %q", name, row.Table.Name, c.Name, v.S)
					}
					if v != row.Vals[i] {
						t.Errorf("%s %s.%s: Decode gave %+v, DecodeFull %+v", name, row.Table.Name, c.Name, row.Vals[i], v)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	if rows == 0 {
		t.Fatal("no rows")
	}
}

func containsKind(ks []table.Kind, k table.Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
