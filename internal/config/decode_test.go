package config_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streamhunt/streamhunt/internal/config"
)

// valid is a minimal configuration that passes; the tests below change one
// thing at a time.
const valid = "source:\n  namespace: n\n  hubs: [h]\ncheckpoints:\n  dir: /tmp/cp\nsinks:\n  - name: out\n    stdout: {}\ndeadLetter:\n  dir: /tmp/dl\n"

func TestDecodeErrorsNameTheKeyPathTheLineAndAFix(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "a misspelt key suggests the closest one, with its path",
			yaml: "source:\n  conectionString: x\n  namespace: n\n  hubs: [h]\n" + valid[len("source:\n  namespace: n\n  hubs: [h]\n"):],
			want: []string{"source.conectionString: line 2: unknown key; did you mean source.connectionString?"},
		},
		{
			name: "a key in the wrong case suggests the right case",
			yaml: valid + "ops:\n  LogLevel: debug\n",
			want: []string{"ops.LogLevel: line 12: unknown key; did you mean ops.logLevel?"},
		},
		{
			name: "an unknown sink kind names the sink and lists the kinds",
			yaml: strings.Replace(valid, "    stdout: {}\n", "    stdout: {}\n  - name: events\n    kafka: {brokers: [b]}\n", 1),
			want: []string{"sinks.events.kafka: line 10: unknown key; valid keys here: name, stdout, file, webhook, blob, logAnalytics, route, minimize"},
		},
		{
			name: "a key one level too high suggests where it belongs",
			yaml: strings.Replace(valid, "deadLetter:\n  dir: /tmp/dl\n", "deadLetter:\n  container: dl\n", 1),
			want: []string{"deadLetter.container: line 10: unknown key; did you mean deadLetter.blob.container?"},
		},
		{
			name: "a section given twice names both lines",
			yaml: valid + "source:\n  updateInterval: 10s\n",
			want: []string{"source: line 11: set twice (first at line 1)"},
		},
		{
			name: "a duration without a unit says to write one",
			yaml: strings.Replace(valid, "  hubs: [h]\n", "  hubs: [h]\n  updateInterval: 10\n", 1),
			want: []string{"source.updateInterval: line 4: 10 has no unit; write a duration with a unit, e.g. 10s"},
		},
		{
			name: "a duration that is not one says how to write it",
			yaml: strings.Replace(valid, "  hubs: [h]\n", "  hubs: [h]\n  receiveWait: a while\n", 1),
			want: []string{`source.receiveWait: line 4: "a while" is not a duration; write a duration with a unit, e.g. 10s`},
		},
		{
			name: "a size that is not one says how to write it",
			yaml: strings.Replace(valid, "  hubs: [h]\n", "  hubs: [h]\n  memoryBudget: lots\n", 1),
			want: []string{`source.memoryBudget: line 4: "lots" is not a size such as 256MiB`},
		},
		{
			name: "a scalar where a list belongs",
			yaml: strings.Replace(valid, "  hubs: [h]\n", "  hubs: h\n", 1),
			want: []string{`source.hubs: line 3: expected a list, found "h"`},
		},
		{
			name: "a number where true or false belongs, in a sink",
			yaml: strings.Replace(valid, "    stdout: {}\n", "    file: {path: /tmp/f, noSync: 3}\n", 1),
			want: []string{`sinks.out.file.noSync: line 8: expected true or false, found "3"`},
		},
		{
			name: "a list where a mapping belongs, in a list item without a name",
			yaml: valid + "allowlists:\n  - users: [a@b.c]\n    route: [x]\n",
			want: []string{"allowlists[0].route: line 13: unknown key"},
		},
		{
			name: "a key set twice names both lines",
			yaml: strings.Replace(valid, "  hubs: [h]\n", "  hubs: [h]\n  hubs: [g]\n", 1),
			want: []string{"source.hubs: line 4: set twice (first at line 3)"},
		},
		{
			name: "a document that is not a mapping",
			yaml: "- source\n",
			want: []string{"line 1: the configuration must be a mapping of sections (source:, checkpoints:, sinks:, deadLetter:, ...)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml), env(nil))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, internal := range []string{"config.", "fanout.", "time.Duration", "!!", "not found in type", "cannot unmarshal"} {
				if strings.Contains(err.Error(), internal) && !strings.Contains(strings.Join(tt.want, ""), internal) {
					t.Errorf("error shows Go or YAML internals (%q):\n%v", internal, err)
				}
			}
		})
	}
}

func TestDecodeAndSemanticProblemsAreAllReportedAtOnce(t *testing.T) {
	text := "source:\n" +
		"  conectionString: ${EH_CONN}\n" + // unknown key
		"  namespace: ${EMPTYV}\n" + // set but empty
		"  hubs: [h]\n" +
		"  updateInterval: 10\n" + // no unit
		"  loadBalancing: fastest\n" + // semantic
		"checkpoints:\n  dir: /tmp/cp\n  every: -1\n" + // semantic
		"sinks:\n  - name: out\n    kafka: {}\n" + // unknown kind
		"deadLetter:\n  dir: /tmp/dl\n"
	_, err := config.Parse([]byte(text), env(map[string]string{"EMPTYV": ""}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		"source.conectionString: line 2: unknown key; did you mean source.connectionString?",
		"source.conectionString: line 2: environment variable EH_CONN is not set",
		"source.namespace: line 3: environment variable EMPTYV is set but empty",
		"source.updateInterval: line 5:",
		"source.loadBalancing:",
		"checkpoints.every:",
		"sinks.out.kafka: line 12: unknown key",
		"sinks.out: set exactly one of",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

func TestAnEnvironmentVariableThatIsSetButEmptyIsToldApartFromAnUnsetOne(t *testing.T) {
	text := strings.Replace(valid, "namespace: n", "namespace: ${EMPTYV}", 1)
	_, err := config.Parse([]byte(text), env(map[string]string{"EMPTYV": ""}))
	want := "source.namespace: line 2: environment variable EMPTYV is set but empty (referenced as ${EMPTYV}); give it a value, or write ${EMPTYV:-default} to fall back to a default"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	if strings.Contains(err.Error(), "is not set") {
		t.Errorf("a set variable is reported as not set:\n%v", err)
	}
	_, err = config.Parse([]byte(text), env(nil))
	want = "source.namespace: line 2: environment variable EMPTYV is not set (referenced as ${EMPTYV})"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
}

func TestAValueFromTheEnvironmentTakesTheTypeItsKeyNeeds(t *testing.T) {
	text := "source:\n  namespace: n\n  hubs: [h]\n" +
		"checkpoints:\n  dir: /tmp/cp\n  every: ${N}\n  interval: ${D}\n" +
		"rules:\n  builtin: ${B}\n  paths:\n    - ${P}\n" +
		"ops:\n  listen: ${PORT}\n" +
		"sinks:\n  - name: out\n    stdout: {}\ndeadLetter:\n  dir: /tmp/dl\n"
	vars := map[string]string{"N": "5", "D": "3s", "B": "false", "P": "123", "PORT": ":9100"}
	c, err := config.Parse([]byte(text), env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if c.Checkpoints.Every != 5 || c.Checkpoints.Interval != 3*time.Second || *c.Rules.Builtin || c.Rules.Paths[0] != "123" || c.Ops.Listen != ":9100" {
		t.Errorf("decoded %+v %+v %q", c.Checkpoints, c.Rules, c.Ops.Listen)
	}
	vars["N"] = "many"
	_, err = config.Parse([]byte(text), env(vars))
	if want := `checkpoints.every: line 6: expected a whole number, found "many"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one containing %q", err, want)
	}
}

// keyFirst is how every line of a configuration error starts: the key (or
// keys, comma-separated), then a colon. A decoding error may instead start
// with its line when no key applies.
var keyFirst = regexp.MustCompile(`^(line \d+|[A-Za-z][A-Za-z0-9_.\[\]-]*(, [A-Za-z][A-Za-z0-9_.\[\]-]*)*): `)

func TestEveryErrorLineStartsWithItsKeyAndAColon(t *testing.T) {
	inputs := map[string]string{
		"errors.yaml":     string(readFixture(t, "errors.yaml")),
		"ops":             valid + "ops:\n  listen: \"9090\"\n  logLevel: loud\n  logFormat: xml\n  stuckAfter: -1s\n  failAfter: -1\n  failWindow: -1s\n",
		"rules":           valid + "rules:\n  builtin: false\n",
		"no deadLetter":   strings.Replace(valid, "deadLetter:\n  dir: /tmp/dl\n", "", 1),
		"deadLetter blob": strings.Replace(valid, "deadLetter:\n  dir: /tmp/dl\n", "deadLetter:\n  blob: {prefix: x}\n", 1),
		"sinks": strings.Replace(valid, "    stdout: {}\n", "    webhook: {url: x, retry: {initialBackoff: -1s, maxBackoff: -1s}}\n    route: {minSeverity: dire, rules: ['[']}\n    minimize: {hash: [a], omit: [a]}\n", 1) +
			"allowlists:\n  - reason: none\n",
		"decode": strings.Replace(valid, "  hubs: [h]\n", "  hubs: h\n  hub: x\n  receiveWait: 3\n", 1),
	}
	for name, text := range inputs {
		t.Run(name, func(t *testing.T) {
			_, err := config.Parse([]byte(text), env(nil))
			if err == nil {
				t.Fatal("no error")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !keyFirst.MatchString(line) {
					t.Errorf("line does not start with its key and a colon: %q\nwhole error:\n%v", line, err)
				}
			}
		})
	}
	_, err := config.Parse([]byte(inputs["ops"]), env(nil))
	if err == nil || !strings.Contains(err.Error(), `ops.listen: "9090" is not host:port`) {
		t.Errorf("error %v lacks ops.listen: \"9090\" is not host:port", err)
	}
}
