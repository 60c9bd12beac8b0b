package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/internal/config"
)

// FuzzParse checks that no configuration text makes Parse panic, and that
// whatever it accepts is usable: hubs, a namespace and checkpoints are set.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"run.yaml", "errors.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "config", name))
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("source:\n  namespace: ${NS:-n}\n  hubs: [h]\ncheckpoints:\n  dir: /tmp/x\nsinks:\n  - name: out\n    stdout: {}\ndeadLetter:\n  dir: /tmp/dl\n"))
	lookup := func(k string) (string, bool) {
		if k == "SET" {
			return "value: with: colons # and a comment", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, lookup)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if len(c.Source.Hubs) == 0 || c.Source.FullyQualifiedNamespace == "" || (c.Checkpoints.Dir == "" && c.Checkpoints.Container == "") {
			t.Fatalf("accepted an unusable configuration: %+v", c)
		}
	})
}

func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"256MiB", "1GiB", "512KiB", "1048576", "2MB", "", "-1", "9999999999999GiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := config.ParseByteSize(s)
		if err == nil && n < 0 {
			t.Fatalf("%q parsed as a negative size %d", s, n)
		}
	})
}
