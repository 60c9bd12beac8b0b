package kql

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/internal/testenv"
)

// TestSeedQueriesCompileAgainstTheRealSchemas compiles the seed queries
// against the project's table schemas (internal/table), the catalog the
// pipeline uses.
func TestSeedQueriesCompileAgainstTheRealSchemas(t *testing.T) {
	for _, q := range []string{seedSentinel, seedDefender, strings.Replace(seedDefender, "AADSignInEventsBeta", "EntraIdSignInEvents", 1)} {
		pq, err := Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile(pq, CatalogFunc(table.Lookup), Options{})
		if err != nil {
			t.Errorf("%s: %v", firstLine(q), err)
			continue
		}
		if len(p.Columns()) != 3 {
			t.Errorf("%s: the filter reads %d columns, want 3", firstLine(q), len(p.Columns()))
		}
	}
}

// TestCompileCoverageOfTheRowLocalCorpus compiles every row-local public
// query against the real schemas and reports why the others fail.
func TestCompileCoverageOfTheRowLocalCorpus(t *testing.T) {
	shared := testenv.SharedDir(t)
	f, err := os.Open(filepath.Join(shared, "kql-corpus", "queries.jsonl"))
	if err != nil {
		// ../shared is here (SharedDir skips when it is not): a corpus
		// missing from it is a broken checkout, not a reason to pass.
		t.Fatalf("../shared is present but its corpus is not: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	n, ok := 0, 0
	reasons := map[string]int{}
	for sc.Scan() {
		var q corpusQuery
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			t.Fatal(err)
		}
		if q.Dup != "" || !q.MSOK || q.Class != "a-rowlocal" {
			continue
		}
		n++
		pq, err := Parse(q.Text)
		if err == nil {
			_, err = CompileAll(pq, CatalogFunc(table.Lookup), Options{})
		}
		if err == nil {
			ok++
			continue
		}
		msg := err.(*Error).Msg
		if os.Getenv("KQL_SHOW") != "" {
			t.Logf("%s: %v", q.ID, err)
		}
		if i := strings.Index(msg, " ("); i > 0 && strings.HasPrefix(msg, "unsupported") {
			msg = msg[:i]
		}
		if i := strings.Index(msg, "'"); i > 0 && !strings.HasPrefix(msg, "unsupported") {
			msg = msg[:i]
		}
		reasons[msg]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("row-local queries that compile against the real schemas: %d of %d", ok, n)
	// docs/kql.md quotes 93 of 98; fewer is a regression.
	if n == 0 {
		t.Fatal("the corpus holds no row-local query Microsoft accepts, so the coverage proves nothing")
	}
	if ok < 93 {
		t.Errorf("%d of %d row-local queries compile, want at least 93", ok, n)
	}
	var keys []string
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return reasons[keys[i]] > reasons[keys[j]] })
	for _, k := range keys {
		t.Logf("%3d  %s", reasons[k], k)
	}
}
