package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
)

// benchBody builds a realistic Event Hubs body: 40 records (~4 KB each) in
// the {"records":[...]} envelope, 30 interactive and 10 non-interactive,
// each with its own id, from the project's fixtures.
func benchBody(b *testing.B) []byte {
	b.Helper()
	si, err := os.ReadFile(filepath.Join("testdata", "signin-devicecode-unmanaged.json"))
	if err != nil {
		b.Fatal(err)
	}
	ni, err := os.ReadFile(filepath.Join("testdata", "noninteractive-devicecodeflow.json"))
	if err != nil {
		b.Fatal(err)
	}
	si, ni = bytes.TrimSpace(si), bytes.TrimSpace(ni)
	var body bytes.Buffer
	body.WriteString(`{"records":[`)
	for i := 0; i < 40; i++ {
		if i > 0 {
			body.WriteString(",")
		}
		rec, oldID := si, "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e00"
		if i%4 == 3 {
			rec, oldID = ni, "2e3f4051-6b7c-4d8e-9fa0-1b2c3d4e5f00"
		}
		body.Write(bytes.ReplaceAll(rec, []byte(oldID), []byte(fmt.Sprintf("%s%02d", oldID[:len(oldID)-2], i))))
	}
	body.WriteString("]}")
	return body.Bytes()
}

// seedNeed is what the seed rule's two forms read to decide a match.
func seedNeed() Need {
	return Need{
		table.SigninLogs:          needCols(table.SigninLogs, "ResultType", "AuthenticationProtocol", "DeviceDetail"),
		table.AADSignInEventsBeta: needCols(table.AADSignInEventsBeta, "ErrorCode", "EndpointCall", "AadDeviceId"),
	}
}

func BenchmarkDecode(b *testing.B) {
	body := benchBody(b)
	src := Source{EventHub: "insights-logs-signinlogs", Partition: "0"}
	b.Run("seed-columns", func(b *testing.B) {
		d := NewDecoder(seedNeed(), DecodeOptions{})
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.Decode(body, src, func(*Record, *table.Row) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("all-columns", func(b *testing.B) {
		d := NewDecoder(needAll(), DecodeOptions{})
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.Decode(body, src, func(*Record, *table.Row) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeFull-every-record", func(b *testing.B) {
		d := NewDecoder(Need{table.SigninLogs: nil, table.AADNonInteractiveUserSignInLogs: nil}, DecodeOptions{})
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			_, err := d.Decode(body, src, func(rec *Record, row *table.Row) error {
				_, err := d.DecodeFull(rec, row.Table)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-map", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
}
