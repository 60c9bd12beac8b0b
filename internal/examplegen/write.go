package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// hubFiles maps a category to the file of its Event Hub: diagnostic settings
// default to one hub per category, named insights-logs-<category>. The
// AuditLogs record rides on the sign-in hub. The non-interactive hub, the
// biggest, is written gzip-compressed to show that replay recognises gzip.
var hubFiles = []struct {
	file       string
	categories []string
	gzip       bool
}{
	{hubDir + "insights-logs-signinlogs.ndjson", []string{catInteractive, catAudit}, false},
	{hubDir + "insights-logs-noninteractiveusersigninlogs.ndjson.gz", []string{catNonInteractive}, true},
	{hubDir + "insights-logs-serviceprincipalsigninlogs.ndjson", []string{catServicePrincipal}, false},
	{hubDir + "insights-logs-managedidentitysigninlogs.ndjson", []string{catManagedIdentity}, false},
}

// hubDir holds the Event Hubs data, apart from the README and expected.json,
// so that `streamhunt replay examples/device-code-phishing/eventhubs/` reads
// only sign-in data.
const hubDir = "eventhubs/"

// expectedFile holds, for every built-in rule, the properties.id of each
// sign-in it must flag, in event time order.
const expectedFile = "expected.json"

// Body size bounds: records per Event Hubs message.
const (
	minBody = 5
	maxBody = 40
)

// scenario is the generated example: the records and the findings the
// built-in rules must produce on them.
type scenario struct {
	records  []*record
	expected map[string][]string
}

// build runs the story with the fixed seed.
func build() (*gen, *scenario) {
	g := newGen()
	g.setup()
	g.background()
	g.attack()

	byRole := map[string]*record{}
	for _, r := range g.records {
		if r.role != "" {
			if byRole[r.role] != nil {
				panic("duplicate role " + r.role)
			}
			byRole[r.role] = r
		}
	}
	ids := func(roles ...string) []string {
		out := make([]string, 0, len(roles))
		for _, role := range roles {
			out = append(out, byRole[role].id)
		}
		return out
	}
	all := ids(roleVictimOffice, roleVictimTeams, roleVictimBroker, roleOnboarding, roleVictimOffice2)
	return g, &scenario{
		records: g.records,
		expected: map[string][]string{
			"entra-device-code-unmanaged":           all,
			"entra-device-code-unmanaged-xdr":       all,
			"entra-device-code-unmanaged-no-broker": ids(roleVictimOffice, roleVictimTeams, roleVictimOffice2),
			"entra-device-code-unmanaged-risky":     ids(roleVictimTeams, roleVictimBroker),
		},
	}
}

// generate returns every file of the example, by name.
func generate() map[string][]byte {
	g, sc := build()
	files := map[string][]byte{}
	for _, h := range hubFiles {
		var recs []*record
		for _, r := range sc.records {
			for _, c := range h.categories {
				if r.category == c {
					recs = append(recs, r)
				}
			}
		}
		// Records reach the hub roughly in the order they were logged.
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].logged.Before(recs[j].logged) })
		var out bytes.Buffer
		for len(recs) > 0 {
			// Event Hubs bodies carry what the service had batched: 5 to 40
			// records here, never a tail of fewer than 5.
			rem := len(recs)
			n := minBody + g.r.IntN(maxBody-minBody+1)
			switch {
			case n >= rem, rem-n < minBody && rem <= maxBody:
				n = rem
			case rem-n < minBody:
				n = rem - minBody
			}
			out.WriteString(`{"records": [`)
			for i, r := range recs[:n] {
				if i > 0 {
					out.WriteString(",")
				}
				out.Write(r.encode())
			}
			out.WriteString("]}\n")
			recs = recs[n:]
		}
		data := out.Bytes()
		if h.gzip {
			data = gzipBytes(data)
		}
		files[h.file] = data
	}
	exp, err := json.MarshalIndent(sc.expected, "", "  ")
	if err != nil {
		panic(err)
	}
	files[expectedFile] = append(exp, '\n')
	return files
}

// gzipBytes compresses deterministically: no name, no modification time.
func gzipBytes(data []byte) []byte {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		panic(err)
	}
	zw.Header = gzip.Header{OS: 255}
	if _, err := zw.Write(data); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// writeAll writes the example's files into dir.
func writeAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := generate()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", n, err)
		}
	}
	return nil
}
