package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzDecodeAgreesWithStrictDecoding checks the walk against the YAML
// decoder with KnownFields: a document the decoder refuses must get at
// least one problem from the walk, one it accepts none, and what the walk
// leaves must always decode, so that no decoder message (Go type names,
// !!int) reaches the operator.
func FuzzDecodeAgreesWithStrictDecoding(f *testing.F) {
	for _, name := range []string{"run.yaml", "errors.yaml"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "config", name)); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"source:\n  conectionString: x\n  hubs: h\n  updateInterval: 10\n  memoryBudget: lots\n",
		"sinks:\n  - name: a\n    kafka: {}\n    webhook: {url: u, headers: {a: [1]}, retry: {maxBackoff: 2}}\n",
		"source: &s\n  namespace: n\n  <<: {hubs: [h], bogus: 1}\nprocessing: *s\n",
		"ops:\n  failAfter: 1.5\n  failAfter: 2\nrules: {builtin: yes, paths: [a, {b: c}]}\n",
		"deadLetter:\n  blob: {container: c, accountUrl: [x]}\n",
		"- a\n", "", "~\n", "source: 3\n", "? [a]\n: b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var strict Config
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		strictErr := dec.Decode(&strict)
		if errors.Is(strictErr, io.EOF) {
			strictErr = nil
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return
		}
		var c Config
		errs, _ := decode(&root, &c, nil, nil)
		for _, e := range errs {
			if strings.Contains(e.Error(), "excessive aliasing") {
				return
			}
			// The decoder's messages start with the line; the walk's with
			// the key, which may hold anything.
			if !strings.HasPrefix(e.Error(), "line ") {
				continue
			}
			for _, internal := range []string{"!!", "cannot unmarshal", "in type", "already"} {
				if strings.Contains(e.Error(), internal) {
					t.Fatalf("the decoder's message %q reached the operator; the walk missed it\n%s", e, data)
				}
			}
		}
		if strictErr == nil {
			errs = slices.DeleteFunc(errs, func(e error) bool {
				// Stricter than the decoder, which skips an empty key silently.
				return strings.Contains(e.Error(), "a key is missing before the colon")
			})
		}
		if strictErr == nil && len(errs) > 0 {
			t.Fatalf("the decoder accepts the document, the walk reports %v\n%s", errors.Join(errs...), data)
		}
		if strictErr != nil && len(errs) == 0 {
			t.Fatalf("the decoder refuses the document (%v), the walk reports nothing\n%s", strictErr, data)
		}
	})
}
