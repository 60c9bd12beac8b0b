package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/testenv"
)

// The README's first command replays the shipped example; the findings must
// be exactly the ones the example's expected.json lists.
func TestReadmeExampleRaisesExactlyTheExpectedFindings(t *testing.T) {
	root := testenv.RepoRoot(t)
	ex := filepath.Join(root, "examples", "device-code-phishing")
	b, err := os.ReadFile(filepath.Join(ex, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, dir, "replay", filepath.Join(ex, "eventhubs")+string(filepath.Separator))
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	got := map[string][]string{}
	for _, f := range findings(t, stdout) {
		got[f["ruleId"].(string)] = append(got[f["ruleId"].(string)], f["recordId"].(string))
	}
	for _, m := range []map[string][]string{got, want} {
		for k := range m {
			sort.Strings(m[k])
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings per rule:\n got %v\nwant %v", got, want)
	}
	for _, s := range []string{"dead letters: 0", "other categories", "AuditLogs 1"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("summary lacks %q:\n%s", s, stderr)
		}
	}
}
