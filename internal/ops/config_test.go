package ops

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestValidateFillsDefaultsIntoAnEmptyConfig(t *testing.T) {
	var c Config
	if err := c.Validate(); err != nil {
		t.Fatalf("an empty ops config should be valid: %v", err)
	}
	want := Config{Listen: ":9090", LogLevel: "info", LogFormat: "auto", StuckAfter: 5 * time.Minute,
		SilenceAfter: 30 * time.Minute, FailAfter: 3, FailWindow: time.Minute}
	if c != want {
		t.Errorf("defaults = %+v, want %+v", c, want)
	}
}

func TestValidateReportsEveryBadKeyAtOnce(t *testing.T) {
	c := Config{Listen: "9090", LogLevel: "loud", LogFormat: "xml", StuckAfter: -time.Second, FailAfter: -1, FailWindow: -time.Second}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted an invalid config")
	}
	for _, key := range []string{"ops.listen", "ops.logLevel", "ops.logFormat", "ops.stuckAfter", "ops.failAfter", "ops.failWindow"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

func TestConfigDecodesFromYAMLWithDurationsAsText(t *testing.T) {
	var c Config
	src := "listen: 127.0.0.1:9100\nlogLevel: debug\nlogFormat: json\nstuckAfter: 2m\nsilenceAfter: 1h\nfailAfter: 5\nfailWindow: 45s\n"
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := Config{Listen: "127.0.0.1:9100", LogLevel: "debug", LogFormat: "json", StuckAfter: 2 * time.Minute,
		SilenceAfter: time.Hour, FailAfter: 5, FailWindow: 45 * time.Second}
	if c != want {
		t.Errorf("decoded %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
