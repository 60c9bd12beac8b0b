package loganalytics

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink/sinktest"
)

// FuzzSplit: for any finding sizes and limit, every request body is a JSON
// array within the limit, and every finding is sent exactly once, in order,
// or set apart as too big.
func FuzzSplit(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 0, 50}, uint16(4000))
	f.Add([]byte{255, 255, 255}, uint16(1500))
	f.Add([]byte{}, uint16(100))
	f.Fuzz(func(t *testing.T, sizes []byte, limit uint16) {
		if len(sizes) > 64 {
			sizes = sizes[:64]
		}
		s := &Sink{cfg: Config{MaxRequestBytes: int(limit) + 2}.withDefaults(), now: time.Now}
		fs := make([]pipeline.Finding, len(sizes))
		for i, n := range sizes {
			fs[i] = sinktest.Finding(i)
			fs[i].Columns = append(fs[i].Columns, pipeline.Column{Name: "Pad", Type: table.TypeString, Value: table.Str(strings.Repeat("é", int(n)*8))})
		}
		chunks, tooBig, err := s.split(fs)
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, c := range chunks {
			if len(c.body) > s.cfg.MaxRequestBytes {
				t.Fatalf("a body of %d bytes is over the %d limit", len(c.body), s.cfg.MaxRequestBytes)
			}
			var rows []map[string]any
			if err := json.Unmarshal(c.body, &rows); err != nil || len(rows) != len(c.findings) {
				t.Fatalf("body is not an array of %d rows: %v", len(c.findings), err)
			}
			for i, r := range rows {
				if r["FindingId"] != c.findings[i].FindingID {
					t.Fatalf("row %d is %v, want %s", i, r["FindingId"], c.findings[i].FindingID)
				}
				order = append(order, c.findings[i].FindingID)
			}
		}
		big := map[string]bool{}
		for _, b := range tooBig {
			big[b.FindingID] = true
		}
		j := 0
		for _, fd := range fs {
			if big[fd.FindingID] {
				continue
			}
			if j >= len(order) || order[j] != fd.FindingID {
				t.Fatalf("finding %s missing or out of order", fd.FindingID)
			}
			j++
		}
		if j != len(order) {
			t.Fatalf("%d rows sent for %d findings", len(order), j)
		}
	})
}
