package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamhunt/streamhunt/internal/config"
	"github.com/streamhunt/streamhunt/internal/testenv"
)

const (
	ehConn      = "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=c2VjcmV0a2V5MTIzNDU2Nzg5MA=="
	storageConn = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=YWNjb3VudGtleQ==;EndpointSuffix=core.windows.net"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "testdata", "config", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTheExampleConfigurationLoadsWithSecretsFromTheEnvironment(t *testing.T) {
	c, err := config.Parse(readFixture(t, "run.yaml"), env(map[string]string{
		"EVENTHUB_CONNECTION_STRING": ehConn, "STORAGE_CONNECTION_STRING": storageConn,
		"WEBHOOK_SECRET": "webhook-signing-secret", "SOAR_TOKEN": "soar-token",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sinks.Sinks) != 2 || c.Sinks.Sinks[0].Webhook == nil || c.DeadLetter.Blob == nil {
		t.Errorf("sinks %+v, dead letters %+v: the webhook and file sinks and the blob dead letters were not read", c.Sinks, c.DeadLetter)
	}
	if c.Source.ConnectionString != ehConn || c.Checkpoints.ConnectionString != storageConn {
		t.Fatalf("connection strings not expanded: %q %q", c.Source.ConnectionString, c.Checkpoints.ConnectionString)
	}
	if c.Source.FullyQualifiedNamespace != "myns.servicebus.windows.net" {
		t.Errorf("namespace %q", c.Source.FullyQualifiedNamespace)
	}
	if c.Source.ConsumerGroup != "$Default" {
		t.Errorf("consumer group %q: $Default must not be expanded as a variable", c.Source.ConsumerGroup)
	}
	if len(c.Source.Hubs) != 2 || c.Source.OwnershipExpiry != time.Minute || c.Source.MemoryBudget != 256<<20 {
		t.Errorf("source %+v", c.Source)
	}
	secrets := strings.Join(c.Secrets(), "\n")
	for _, s := range []string{"c2VjcmV0a2V5MTIzNDU2Nzg5MA==", "YWNjb3VudGtleQ==", ehConn, "webhook-signing-secret", "Bearer soar-token"} {
		if !strings.Contains(secrets, s) {
			t.Errorf("Secrets() misses %q, so the logger would not redact it", s)
		}
	}
}

func TestEveryErrorIsReportedAtOnceNamingItsKey(t *testing.T) {
	_, err := config.Parse(readFixture(t, "errors.yaml"), env(nil))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, key := range []string{
		"source.connectionString:", "source.hubs:", "source.startPosition:", "source.loadBalancing:",
		"source.ownershipExpiry:", "checkpoints.dir:", "checkpoints.every:", "deadLetter.file, dir, blob:",
		"sinks.soc.webhook.", "deadLetter.",
	} {
		if !strings.Contains(msg, key) {
			t.Errorf("error does not name %s:\n%s", key, msg)
		}
	}
	if strings.Contains(msg, "not-a-connection-string") {
		t.Errorf("error repeats the connection string value, which could be a secret:\n%s", msg)
	}
}

// Field report 8 (open-telemetry/opentelemetry-collector-contrib#38487): an unset startPosition is latest.
// Field report 25 (elastic/beats#43715): a connection string with EntityPath names the hub, agrees with it, or fails at start naming both.
func TestParse(t *testing.T) {
	base := "checkpoints:\n  dir: /tmp/cp\nsinks:\n  - name: out\n    stdout: {}\ndeadLetter:\n  dir: /tmp/dl\n"
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c *config.Config)
	}{
		{
			name: "defaults fill every unset value",
			yaml: "source:\n  connectionString: " + ehConn + "\n  hubs: [insights-logs-signinlogs]\n" + base,
			check: func(t *testing.T, c *config.Config) {
				s := c.Source
				if s.ConsumerGroup != "$Default" || !s.Start.Latest() || s.LoadBalancing != "balanced" ||
					s.UpdateInterval != 10*time.Second || s.OwnershipExpiry != time.Minute || s.MemoryBudget != 256<<20 ||
					c.Checkpoints.Every != 1000 || c.Checkpoints.Interval != 10*time.Second || !*c.Rules.Builtin {
					t.Errorf("defaults: %+v %+v", s, c.Checkpoints)
				}
			},
		},
		{
			name: "a connection string with EntityPath names the hub",
			yaml: "source:\n  connectionString: " + ehConn + ";EntityPath=insights-logs-signinlogs\n" + base,
			check: func(t *testing.T, c *config.Config) {
				if len(c.Source.Hubs) != 1 || c.Source.Hubs[0] != "insights-logs-signinlogs" {
					t.Errorf("hubs %v", c.Source.Hubs)
				}
			},
		},
		{
			name: "a connection string with EntityPath agrees with the configured hub",
			yaml: "source:\n  connectionString: " + ehConn + ";EntityPath=insights-logs-signinlogs\n  hubs: [insights-logs-signinlogs]\n" + base,
		},
		{
			name:    "an EntityPath that differs from the configured hub is an error at start",
			yaml:    "source:\n  connectionString: " + ehConn + ";EntityPath=insights-logs-signinlogs\n  hubs: [insights-logs-auditlogs]\n" + base,
			wantErr: `source.hubs[0]: "insights-logs-auditlogs" differs from the connection string's EntityPath "insights-logs-signinlogs"`,
		},
		{
			name: "a namespace name authenticates with Entra ID and gets its domain",
			yaml: "source:\n  namespace: myns\n  hubs: [h]\n" + base,
			check: func(t *testing.T, c *config.Config) {
				if c.Source.FullyQualifiedNamespace != "myns.servicebus.windows.net" {
					t.Errorf("namespace %q", c.Source.FullyQualifiedNamespace)
				}
			},
		},
		{
			name: "a start time is parsed as UTC",
			yaml: "source:\n  namespace: myns\n  hubs: [h]\n  startPosition: 2026-03-01T10:00:00+01:00\n" + base,
			check: func(t *testing.T, c *config.Config) {
				if !c.Source.Start.Time.Equal(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) {
					t.Errorf("start %v", c.Source.Start.Time)
				}
			},
		},
		{
			name: "earliest is a start position",
			yaml: "source:\n  namespace: myns\n  hubs: [h]\n  startPosition: earliest\n" + base,
			check: func(t *testing.T, c *config.Config) {
				if !c.Source.Start.Earliest {
					t.Error("not earliest")
				}
			},
		},
		{
			name:    "an unset environment variable is named",
			yaml:    "source:\n  connectionString: ${EH_CONN}\n  hubs: [h]\n" + base,
			wantErr: "environment variable EH_CONN is not set",
		},
		{
			name: "a default after :- is used when the variable is unset",
			yaml: "source:\n  namespace: ${EH_NS:-fallbackns}\n  hubs: [h]\n" + base,
			check: func(t *testing.T, c *config.Config) {
				if c.Source.Namespace != "fallbackns" {
					t.Errorf("namespace %q", c.Source.Namespace)
				}
			},
		},
		{
			name:    "an unknown key is an error",
			yaml:    "source:\n  namespace: n\n  hubs: [h]\n  hub: typo\n" + base,
			wantErr: "source.hub: line 4: unknown key; did you mean source.hubs?",
		},
		{
			name:    "a negative duration is an error naming its key",
			yaml:    "source:\n  namespace: n\n  hubs: [h]\n  receiveWait: -1s\n" + base,
			wantErr: "source.receiveWait: -1s is negative",
		},
		{
			name:    "a memory budget smaller than two events is an error",
			yaml:    "source:\n  namespace: n\n  hubs: [h]\n  memoryBudget: 1MiB\n" + base,
			wantErr: "source.memoryBudget",
		},
		{
			name:    "both connection string and namespace is an error",
			yaml:    "source:\n  namespace: n\n  connectionString: " + ehConn + "\n  hubs: [h]\n" + base,
			wantErr: "source.connectionString, source.namespace: set only one",
		},
		{
			name:    "no rules at all is an error",
			yaml:    "source:\n  namespace: n\n  hubs: [h]\nrules:\n  builtin: false\n" + base,
			wantErr: "rules: builtin is false",
		},
		{
			name:    "ops errors are reported with the others",
			yaml:    "source:\n  namespace: n\n  hubs: [h]\nops:\n  logLevel: loud\n" + base,
			wantErr: "ops.logLevel",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.yaml), env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want config.ByteSize
	}{{"1048576", 1 << 20}, {"512KiB", 512 << 10}, {"256MiB", 256 << 20}, {"1GiB", 1 << 30}, {"2MB", 2 << 20}}
	for _, tt := range tests {
		t.Run(tt.in+" is parsed", func(t *testing.T) {
			got, err := config.ParseByteSize(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if _, err := config.ParseByteSize("lots"); err == nil {
		t.Error("\"lots\" parsed as a size")
	}
}

func TestRuleGlobsThatMatchNoLoadedRuleAreReportedWithTheKnownIds(t *testing.T) {
	text := "source:\n  namespace: n\n  hubs: [h]\ncheckpoints:\n  dir: /tmp/cp\ndeadLetter:\n  dir: /tmp/dl\n" +
		"sinks:\n  - name: soc-teams\n    stdout: {}\n    route: {rules: [\"builtin/*\"]}\n  - name: ops\n    stdout: {}\n    route: {rules: [streamhunt-silence]}\n" +
		"allowlists:\n  - appIds: [a]\n    rules: [entra-device-code-unmanaged*]\n"
	c, err := config.Parse([]byte(text), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"entra-device-code-unmanaged", "entra-device-code-unmanaged-risky"}
	err = config.CheckRuleGlobs(c, ids)
	want := `sinks.soc-teams.route.rules: "builtin/*" matches no loaded rule; the rule ids are entra-device-code-unmanaged, entra-device-code-unmanaged-risky, streamhunt-silence`
	if err == nil || err.Error() != want {
		t.Fatalf("CheckRuleGlobs = %v, want exactly\n%s", err, want)
	}
	c.Ops.SilenceAfter = -1
	if err := config.CheckRuleGlobs(c, ids); err == nil || !strings.Contains(err.Error(), `sinks.ops.route.rules: "streamhunt-silence" matches no loaded rule`) {
		t.Errorf("with the silence detector off, a route to its finding gets nothing; CheckRuleGlobs = %v", err)
	}
}
