package table

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/testenv"
)

// TestSchemasKeepEveryColumnAndTypeOfMicrosofts2024Pages checks the schemas
// against the Log Analytics table pages of 2024 saved in the shared samples:
// Microsoft only added columns since, so every 2024 column must be here
// with the same type (less the workspace columns the stream cannot know).
func TestSchemasKeepEveryColumnAndTypeOfMicrosofts2024Pages(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t), "samples", "ms-docs-log-analytics-tables")
	pages := map[string]*Table{
		"signinlogs-include.md":                      SigninLogs,
		"aadnoninteractiveusersigninlogs-include.md": AADNonInteractiveUserSignInLogs,
		"aadserviceprincipalsigninlogs-include.md":   AADServicePrincipalSignInLogs,
		"aadmanagedidentitysigninlogs-include.md":    AADManagedIdentitySignInLogs,
	}
	for page, tb := range pages {
		data, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		n := 0
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, "|")
			if len(f) < 4 || !strings.HasPrefix(line, "| ") {
				continue
			}
			name, typ := strings.TrimSpace(f[1]), strings.TrimSpace(f[2])
			if name == "Column" || strings.HasPrefix(name, "---") {
				continue
			}
			n++
			switch name {
			case "TenantId", "_BilledSize", "_IsBillable":
				if _, ok := tb.Index(name); ok {
					t.Errorf("%s has %s, which the stream cannot know", tb.Name, name)
				}
				continue
			}
			i, ok := tb.Index(name)
			if !ok {
				t.Errorf("%s lacks %s (%s on Microsoft's 2024 page)", tb.Name, name, typ)
				continue
			}
			if got := tb.Columns[i].Type.String(); got != typ {
				t.Errorf("%s.%s is %s, Microsoft's page says %s", tb.Name, name, got, typ)
			}
		}
		if n < 30 {
			t.Errorf("%s: read only %d columns; has the page's format changed?", page, n)
		}
	}
}
