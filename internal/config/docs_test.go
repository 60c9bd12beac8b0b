package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/streamhunt/streamhunt/internal/ops"
	"github.com/streamhunt/streamhunt/rules"
	"github.com/streamhunt/streamhunt/sink/blob"
	"github.com/streamhunt/streamhunt/sink/fanout"
	"github.com/streamhunt/streamhunt/sink/loganalytics"
	"github.com/streamhunt/streamhunt/sink/stdout"
	"github.com/streamhunt/streamhunt/sink/webhook"
)

var configDocs = []string{"configuration.md", "sinks.md", "operations.md"}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// keyContexts are the places a dotted key in the docs may start from: the
// whole file, one sink, or one sink kind (retry.giveUpAfter).
var keyContexts = []reflect.Type{
	reflect.TypeOf(Config{}),
	reflect.TypeOf(fanout.Named{}),
	reflect.TypeOf(webhook.Config{}),
	reflect.TypeOf(blob.Config{}),
	reflect.TypeOf(loganalytics.Config{}),
	reflect.TypeOf(stdout.Config{}),
}

// dottedKey is a backticked a.b.c, optionally followed by ": value".
var (
	backticked = regexp.MustCompile("`([^`\n]+)`")
	dottedKey  = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z][A-Za-z0-9_-]*)+)(?::.*)?$`)
)

// resolve reports whether the key path segs exists under t. A list of
// named items (sinks) takes the item's name as a segment.
func resolve(t reflect.Type, segs []string) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if len(segs) == 0 {
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		if reflect.PointerTo(t).Implements(unmarshalerType) {
			return false
		}
		for _, f := range fieldsOf(t) {
			if f.key == segs[0] {
				return resolve(f.typ, segs[1:])
			}
		}
	case reflect.Slice:
		e := t.Elem()
		for e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		if e.Kind() == reflect.Struct {
			for _, f := range fieldsOf(e) {
				if f.key == "name" {
					return resolve(e, segs[1:])
				}
			}
		}
		return resolve(e, segs)
	case reflect.Map:
		return resolve(t.Elem(), segs[1:])
	}
	return false
}

// TestEveryConfigKeyTheDocsNameExists checks each backticked a.b.c in the
// configuration docs whose first part is a configuration key (of the file,
// of a sink, or of a sink kind) against the structs the file decodes into.
// Other dotted names (file names, host names) start with something that is
// no key, and Go identifiers (path.Match) end with a capital; both are
// skipped.
func TestEveryConfigKeyTheDocsNameExists(t *testing.T) {
	checked := 0
	for _, doc := range configDocs {
		for _, m := range backticked.FindAllStringSubmatch(readDoc(t, doc), -1) {
			k := dottedKey.FindStringSubmatch(m[1])
			if k == nil {
				continue
			}
			segs := strings.Split(k[1], ".")
			if last := segs[len(segs)-1]; last[0] >= 'A' && last[0] <= 'Z' {
				continue // a Go identifier: path.Match, fanout.Config
			}
			isKey, ok := false, false
			for _, ctx := range keyContexts {
				for _, f := range fieldsOf(ctx) {
					if strings.EqualFold(f.key, segs[0]) {
						isKey = true
					}
				}
				ok = ok || resolve(ctx, segs)
			}
			if !isKey {
				continue
			}
			checked++
			if !ok {
				t.Errorf("docs/%s names `%s`, which is no configuration key", doc, k[1])
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d keys checked: the extraction no longer finds them", checked)
	}
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// docEnv gives every ${NAME} in the examples a value of the right shape.
func docEnv(name string) (string, bool) {
	switch {
	case strings.Contains(name, "EVENTHUB"):
		return "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=a2V5", true
	case strings.Contains(name, "STORAGE") || strings.Contains(name, "BLOB"):
		return "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net", true
	}
	return "a-secret-of-some-length-0123456789", true
}

// TestTheDocsYAMLExamplesAreValid decodes every YAML example in the
// configuration docs without a problem, as a whole file (validated too,
// and its rule globs checked against the built-in rules), as part of one,
// or as part of a sink or sink kind.
func TestTheDocsYAMLExamplesAreValid(t *testing.T) {
	builtin, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{ops.SilenceRuleID}
	for _, r := range builtin {
		ids = append(ids, r.ID)
	}
	for _, doc := range configDocs {
		for i, m := range yamlBlock.FindAllStringSubmatch(readDoc(t, doc), -1) {
			text := m[1]
			if strings.HasPrefix(text, "source:") {
				c, err := Parse([]byte(text), docEnv)
				if err != nil {
					t.Errorf("docs/%s example %d:\n%v", doc, i+1, err)
					continue
				}
				if err := CheckRuleGlobs(c, ids); err != nil {
					t.Errorf("docs/%s example %d:\n%v", doc, i+1, err)
				}
				continue
			}
			var problems []string
			valid := false
			for _, ctx := range keyContexts {
				var root yaml.Node
				if err := yaml.Unmarshal([]byte(text), &root); err != nil {
					t.Fatalf("docs/%s example %d is not YAML: %v", doc, i+1, err)
				}
				env := map[*yaml.Node][]string{}
				expanded := map[*yaml.Node]bool{}
				expandNode(&root, docEnv, env, expanded)
				v := reflect.New(ctx)
				d := &decoder{env: env, expanded: expanded, reported: map[string]bool{}, seen: map[visit]bool{}}
				d.walk(root.Content[0], ctx, "")
				if len(d.errs) > 0 {
					problems = append(problems, ctx.String()+": "+strings.ReplaceAll(joinErrs(d.errs), "\n", "; "))
					continue
				}
				valid = true
				if ctx == keyContexts[0] {
					c := v.Interface().(*Config)
					if err := root.Decode(c); err != nil {
						t.Fatal(err)
					}
					if err := c.Sinks.CheckRuleGlobs(ids); err != nil {
						t.Errorf("docs/%s example %d:\n%v", doc, i+1, err)
					}
				}
				break
			}
			if !valid {
				t.Errorf("docs/%s example %d fits no part of the configuration:\n%s", doc, i+1, strings.Join(problems, "\n"))
			}
		}
	}
}

func joinErrs(errs []error) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}
