// Package ops is what an operator sees of a running streamhunt: structured
// logs that never carry secrets, the /metrics, /healthz and /readyz
// endpoints, and the silence detector that notices when a sign-in category
// stops flowing (disabling diagnostic settings is MITRE T1562.008).
package ops

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Defaults applied by Validate to zero fields.
const (
	DefaultListen       = ":9090"
	DefaultLogLevel     = "info"
	DefaultLogFormat    = "auto"
	DefaultStuckAfter   = 5 * time.Minute
	DefaultSilenceAfter = 30 * time.Minute
	DefaultFailAfter    = 3
	DefaultFailWindow   = time.Minute
)

// Config is the `ops:` section of the run configuration.
type Config struct {
	// Listen is the address of the /metrics, /healthz and /readyz server.
	Listen string `yaml:"listen"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"logLevel"`
	// LogFormat is auto (console on a terminal, JSON otherwise), json or console.
	LogFormat string `yaml:"logFormat"`
	// StuckAfter is how long an owned partition with lag may receive nothing
	// before it counts as stuck and /readyz fails.
	StuckAfter time.Duration `yaml:"stuckAfter"`
	// SilenceAfter is how long a category that was flowing may send nothing
	// before the silence detector reports it. Negative disables the finding.
	SilenceAfter time.Duration `yaml:"silenceAfter"`
	// FailAfter is how many consecutive failed reports make a component
	// unhealthy for /readyz.
	FailAfter int `yaml:"failAfter"`
	// FailWindow is how long a component may keep failing (with no success
	// in between) before it is unhealthy, even with fewer than FailAfter reports.
	FailWindow time.Duration `yaml:"failWindow"`
}

// Validate fills the defaults into zero fields and reports every invalid
// field at once, naming its key under `ops:`.
func (c *Config) Validate() error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.LogFormat == "" {
		c.LogFormat = DefaultLogFormat
	}
	if c.StuckAfter == 0 {
		c.StuckAfter = DefaultStuckAfter
	}
	if c.SilenceAfter == 0 {
		c.SilenceAfter = DefaultSilenceAfter
	}
	if c.FailAfter == 0 {
		c.FailAfter = DefaultFailAfter
	}
	if c.FailWindow == 0 {
		c.FailWindow = DefaultFailWindow
	}

	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("ops.listen: %q is not host:port (for example \":9090\"): %w", c.Listen, err))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("ops.logLevel: %w", err))
	}
	switch strings.ToLower(c.LogFormat) {
	case "auto", "json", "console":
	default:
		errs = append(errs, fmt.Errorf("ops.logFormat: %q is not auto, json or console", c.LogFormat))
	}
	if c.StuckAfter < 0 {
		errs = append(errs, fmt.Errorf("ops.stuckAfter: %s is negative", c.StuckAfter))
	}
	if c.FailAfter < 1 {
		errs = append(errs, fmt.Errorf("ops.failAfter: %d must be at least 1", c.FailAfter))
	}
	if c.FailWindow < 0 {
		errs = append(errs, fmt.Errorf("ops.failWindow: %s is negative", c.FailWindow))
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy with the defaults filled in, for callers that
// did not run Validate.
func (c Config) withDefaults() Config {
	_ = c.Validate()
	return c
}
