// Package config reads the `streamhunt run` configuration: one YAML file with
// ${ENV} expansion, defaults in one place, and every mistake reported at
// start, all at once, naming its key.
package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"go.yaml.in/yaml/v3"

	"github.com/streamhunt/streamhunt/internal/ops"
	"github.com/streamhunt/streamhunt/sink/deadletter"
	"github.com/streamhunt/streamhunt/sink/fanout"
)

// Defaults applied to zero fields.
const (
	DefaultConsumerGroup      = azeventhubs.DefaultConsumerGroup
	DefaultStartPosition      = "latest"
	DefaultLoadBalancing      = "balanced"
	DefaultUpdateInterval     = 10 * time.Second
	DefaultOwnershipExpiry    = 60 * time.Second
	DefaultMemoryBudget       = 256 << 20
	DefaultMaxEventBytes      = 1 << 20
	DefaultReceiveWait        = time.Second
	DefaultPartitionRefresh   = time.Minute
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = 10 * time.Second
	DefaultShutdownTimeout    = 30 * time.Second
	DefaultContainer          = "streamhunt-checkpoints"
)

// Config is the whole run configuration.
type Config struct {
	Source      Source      `yaml:"source"`
	Checkpoints Checkpoints `yaml:"checkpoints"`
	Processing  Processing  `yaml:"processing"`
	Rules       Rules       `yaml:"rules"`
	// Sinks are the `sinks:` and `allowlists:` sections (sink/fanout).
	Sinks fanout.Config `yaml:",inline"`
	// DeadLetter is where undecodable bodies and rejected findings go: a
	// directory (dir), a file, or a blob container (blob).
	DeadLetter deadletter.Config `yaml:"deadLetter"`
	Ops        ops.Config        `yaml:"ops"`
}

// Source says which event hubs to read and how.
type Source struct {
	// ConnectionString is an Event Hubs connection string, with or without
	// EntityPath. Use ${ENV}; it is never logged.
	ConnectionString string `yaml:"connectionString"`
	// Namespace is the namespace (name or FQDN) for Entra ID authentication
	// through DefaultAzureCredential (workload identity, managed identity).
	Namespace string `yaml:"namespace"`
	// Hubs are the event hubs to read, in the same namespace.
	Hubs []string `yaml:"hubs"`
	// ConsumerGroup defaults to $Default.
	ConsumerGroup string `yaml:"consumerGroup"`
	// StartPosition applies to partitions without a checkpoint: latest,
	// earliest, or an RFC 3339 time.
	StartPosition string `yaml:"startPosition"`
	// LoadBalancing is balanced (one partition per round) or greedy.
	LoadBalancing string `yaml:"loadBalancing"`
	// UpdateInterval is the load-balancing period.
	UpdateInterval time.Duration `yaml:"updateInterval"`
	// OwnershipExpiry is how long a claim lasts without renewal.
	OwnershipExpiry time.Duration `yaml:"ownershipExpiry"`
	// MemoryBudget bounds the bodies held in memory; prefetch is derived from it.
	MemoryBudget ByteSize `yaml:"memoryBudget"`
	// MaxEventBytes is the largest body expected (1 MiB on Standard tiers).
	MaxEventBytes ByteSize `yaml:"maxEventBytes"`
	// ReceiveWait is how long one receive waits for a full batch.
	ReceiveWait time.Duration `yaml:"receiveWait"`
	// PartitionRefresh is how often the partition count is checked, so that
	// partitions added to a hub are read without a restart.
	PartitionRefresh time.Duration `yaml:"partitionRefresh"`

	// FullyQualifiedNamespace is derived from ConnectionString or Namespace.
	FullyQualifiedNamespace string `yaml:"-"`
	// EntityPath is the connection string's EntityPath, if any.
	EntityPath string `yaml:"-"`
	// Start is StartPosition parsed: Earliest, Latest or a time.
	Start StartPosition `yaml:"-"`
}

// StartPosition is where a partition without a checkpoint starts.
type StartPosition struct {
	Earliest bool
	Time     time.Time // zero unless a time was given
}

// Latest reports whether the position is the end of the partition.
func (s StartPosition) Latest() bool { return !s.Earliest && s.Time.IsZero() }

// Checkpoints says where checkpoints and ownership are kept: a blob
// container (connectionString or accountUrl) or, for development, a directory.
type Checkpoints struct {
	ConnectionString string `yaml:"connectionString"`
	AccountURL       string `yaml:"accountUrl"`
	Container        string `yaml:"container"`
	// Dir keeps checkpoints in a local directory instead (one replica, or
	// replicas on one machine).
	Dir string `yaml:"dir"`
	// Every is how many processed events make a checkpoint write due.
	Every int `yaml:"every"`
	// Interval is how long acknowledged progress may wait before it is written.
	Interval time.Duration `yaml:"interval"`
}

// Processing tunes delivery.
type Processing struct {
	// ShutdownTimeout bounds how long SIGTERM waits for in-flight findings.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
}

// Rules chooses the detection rules.
type Rules struct {
	// Builtin includes the built-in pack (default true).
	Builtin *bool `yaml:"builtin"`
	// Paths are rule files, directories or globs.
	Paths []string `yaml:"paths"`
}

// ByteSize is a size in bytes written as 1048576, 512KiB, 256MiB or 1GiB
// (KB/MB/GB mean the same powers of 1024).
type ByteSize int64

// UnmarshalYAML parses a size.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// ParseByteSize parses 1048576, 512KiB, 256MiB, 1GiB (or KB/MB/GB).
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size such as 256MiB", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return ByteSize(n * mult), nil
}

// Load reads, expands and validates the file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	c, err := Parse(data, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("configuration %s:\n%w", path, err)
	}
	return c, nil
}

// Parse decodes YAML, expanding ${NAME} (and ${NAME:-default}) in values
// from lookup, then validates. Only the braced form is expanded, so that
// `$Default` stays a consumer group name. Every problem is reported at
// once, decoding and semantic alike, each naming its key.
func Parse(data []byte, lookup func(string) (string, bool)) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	env := map[*yaml.Node][]string{}
	expanded := map[*yaml.Node]bool{}
	expandNode(&root, lookup, env, expanded)
	var c Config
	errs, reported := decode(&root, &c, env, expanded)
	for _, err := range flatten(c.Validate()) {
		key, _, _ := strings.Cut(err.Error(), ":")
		if !reported[key] {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &c, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandNode expands ${NAME} in every scalar under n, records which
// scalars it changed, and records, by node, the references that have no
// value.
func expandNode(n *yaml.Node, lookup func(string) (string, bool), problems map[*yaml.Node][]string, expanded map[*yaml.Node]bool) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		expanded[n] = true
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			v, ok := lookup(m[1])
			if ok && v != "" {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			if ok {
				problems[n] = append(problems[n], fmt.Sprintf("environment variable %s is set but empty (referenced as %s); give it a value, or write ${%s:-default} to fall back to a default", m[1], ref, m[1]))
			} else {
				problems[n] = append(problems[n], fmt.Sprintf("environment variable %s is not set (referenced as %s)", m[1], ref))
			}
			return ""
		})
		// A plain scalar that held a reference resolved as a string; decode
		// gives it the type its key needs (every: ${N} is a number).
		if n.Tag != "" && n.Tag != "!!str" && n.Style == 0 {
			n.Tag = ""
		}
	}
	for _, c := range n.Content {
		expandNode(c, lookup, problems, expanded)
	}
}

// Validate fills defaults into zero fields and reports every invalid field
// at once, each error naming its key.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	s := &c.Source

	// Source and authentication.
	switch {
	case s.ConnectionString == "" && s.Namespace == "":
		add("source.connectionString, source.namespace: set one (namespace authenticates with Entra ID through DefaultAzureCredential)")
	case s.ConnectionString != "" && s.Namespace != "":
		add("source.connectionString, source.namespace: set only one")
	case s.ConnectionString != "":
		props, err := azeventhubs.ParseConnectionString(s.ConnectionString)
		if err != nil {
			// The parser's message may quote the string: keep secrets out.
			add("source.connectionString: not an Event Hubs connection string (Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=...;SharedAccessKey=...)")
		} else {
			s.FullyQualifiedNamespace = props.FullyQualifiedNamespace
			if props.EntityPath != nil {
				s.EntityPath = *props.EntityPath
			}
		}
	case s.Namespace != "":
		s.FullyQualifiedNamespace = s.Namespace
		if !strings.Contains(s.Namespace, ".") {
			s.FullyQualifiedNamespace = s.Namespace + ".servicebus.windows.net"
		}
	}
	if len(s.Hubs) == 0 && s.EntityPath != "" {
		s.Hubs = []string{s.EntityPath}
	}
	if len(s.Hubs) == 0 {
		add("source.hubs: name at least one event hub (diagnostic settings use insights-logs-signinlogs, insights-logs-noninteractiveusersigninlogs, ...)")
	}
	seen := map[string]bool{}
	for i, h := range s.Hubs {
		switch {
		case h == "":
			add("source.hubs[%d]: empty hub name", i)
		case seen[strings.ToLower(h)]:
			add("source.hubs[%d]: %q is listed twice", i, h)
		}
		seen[strings.ToLower(h)] = true
		if s.EntityPath != "" && !strings.EqualFold(h, s.EntityPath) {
			add("source.hubs[%d]: %q differs from the connection string's EntityPath %q; a connection string with EntityPath only grants that hub: remove EntityPath or use a namespace-level policy", i, h, s.EntityPath)
		}
	}
	if s.ConsumerGroup == "" {
		s.ConsumerGroup = DefaultConsumerGroup
	}
	if s.StartPosition == "" {
		s.StartPosition = DefaultStartPosition
	}
	switch strings.ToLower(s.StartPosition) {
	case "latest":
		s.Start = StartPosition{}
	case "earliest":
		s.Start = StartPosition{Earliest: true}
	default:
		t, err := time.Parse(time.RFC3339Nano, s.StartPosition)
		if err != nil {
			add("source.startPosition: %q is not latest, earliest or an RFC 3339 time such as 2026-01-02T15:04:05Z", s.StartPosition)
		}
		s.Start = StartPosition{Time: t.UTC()}
	}
	if s.LoadBalancing == "" {
		s.LoadBalancing = DefaultLoadBalancing
	}
	if s.LoadBalancing != "balanced" && s.LoadBalancing != "greedy" {
		add("source.loadBalancing: %q is not balanced or greedy", s.LoadBalancing)
	}
	defDur(&s.UpdateInterval, DefaultUpdateInterval)
	defDur(&s.OwnershipExpiry, DefaultOwnershipExpiry)
	defDur(&s.ReceiveWait, DefaultReceiveWait)
	defDur(&s.PartitionRefresh, DefaultPartitionRefresh)
	for _, d := range []struct {
		key string
		d   time.Duration
	}{{"updateInterval", s.UpdateInterval}, {"ownershipExpiry", s.OwnershipExpiry}, {"receiveWait", s.ReceiveWait}, {"partitionRefresh", s.PartitionRefresh}} {
		if d.d < 0 {
			add("source.%s: %s is negative", d.key, d.d)
		}
	}
	if s.OwnershipExpiry > 0 && s.UpdateInterval > 0 && s.OwnershipExpiry < 2*s.UpdateInterval {
		add("source.ownershipExpiry: %s must be at least twice source.updateInterval (%s), or claims expire between renewals", s.OwnershipExpiry, s.UpdateInterval)
	}
	if s.MemoryBudget == 0 {
		s.MemoryBudget = DefaultMemoryBudget
	}
	if s.MaxEventBytes == 0 {
		s.MaxEventBytes = DefaultMaxEventBytes
	}
	if s.MemoryBudget < 2*s.MaxEventBytes {
		add("source.memoryBudget: %d bytes cannot hold two events of source.maxEventBytes (%d)", s.MemoryBudget, s.MaxEventBytes)
	}

	// Checkpoints.
	k := &c.Checkpoints
	blobSet := k.ConnectionString != "" || k.AccountURL != ""
	switch {
	case !blobSet && k.Dir == "":
		add("checkpoints.connectionString, checkpoints.accountUrl, checkpoints.dir: set one (a storage account for production, dir for development)")
	case blobSet && k.Dir != "":
		add("checkpoints.dir: set either a storage account or dir, not both")
	case k.ConnectionString != "" && k.AccountURL != "":
		add("checkpoints.connectionString, checkpoints.accountUrl: set only one")
	case k.AccountURL != "":
		if u, err := url.Parse(k.AccountURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			add("checkpoints.accountUrl: %q is not a URL like https://ACCOUNT.blob.core.windows.net/", k.AccountURL)
		}
	case k.ConnectionString != "":
		if !strings.Contains(k.ConnectionString, "AccountName=") && !strings.Contains(k.ConnectionString, "BlobEndpoint=") {
			add("checkpoints.connectionString: not a storage connection string (no AccountName= or BlobEndpoint=)")
		}
	}
	if blobSet {
		if k.Container == "" {
			k.Container = DefaultContainer
		}
		if !validContainer(k.Container) {
			add("checkpoints.container: %q is not a container name (3-63 lower-case letters, digits and single hyphens)", k.Container)
		}
	}
	if k.Every == 0 {
		k.Every = DefaultCheckpointEvery
	}
	if k.Every < 0 {
		add("checkpoints.every: %d is negative", k.Every)
	}
	defDur(&k.Interval, DefaultCheckpointInterval)
	if k.Interval < 0 {
		add("checkpoints.interval: %s is negative", k.Interval)
	}

	defDur(&c.Processing.ShutdownTimeout, DefaultShutdownTimeout)
	if c.Processing.ShutdownTimeout < 0 {
		add("processing.shutdownTimeout: %s is negative", c.Processing.ShutdownTimeout)
	}
	if c.Rules.Builtin == nil {
		t := true
		c.Rules.Builtin = &t
	}
	if !*c.Rules.Builtin && len(c.Rules.Paths) == 0 {
		add("rules: builtin is false and no paths are given: there would be nothing to detect")
	}

	if c.DeadLetter == (deadletter.Config{}) {
		add("deadLetter: set dir, file or blob: where bodies that cannot be decoded, and findings a sink rejects for good, are kept")
	}
	addPrefixed(&errs, "deadLetter.", c.DeadLetter.Validate())
	addPrefixed(&errs, "", c.Sinks.Validate())

	addPrefixed(&errs, "", c.Ops.Validate())
	return errors.Join(errs...)
}

// addPrefixed appends each error joined in err with the key prefix.
func addPrefixed(errs *[]error, prefix string, err error) {
	for _, e := range flatten(err) {
		*errs = append(*errs, fmt.Errorf("%s%w", prefix, e))
	}
}

// flatten lists the errors joined in err, however deeply.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func defDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

var containerName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)

func validContainer(s string) bool {
	return len(s) >= 3 && len(s) <= 63 && containerName.MatchString(s)
}

// Secrets returns the configured secret values (connection strings and the
// keys inside them), for the logger to redact.
func (c *Config) Secrets() []string {
	var out []string
	css := []string{c.Source.ConnectionString, c.Checkpoints.ConnectionString}
	if c.DeadLetter.Blob != nil {
		css = append(css, c.DeadLetter.Blob.ConnectionString)
	}
	for _, n := range c.Sinks.Sinks {
		if n.Webhook != nil {
			out = append(out, n.Webhook.Secret)
			for _, v := range n.Webhook.Headers {
				out = append(out, v) // Authorization and API-key headers
			}
		}
		if n.Blob != nil {
			css = append(css, n.Blob.ConnectionString)
		}
		out = append(out, n.Minimize.HashKey)
	}
	for _, cs := range css {
		if cs == "" {
			continue
		}
		out = append(out, cs)
		for _, part := range strings.Split(cs, ";") {
			k, v, ok := strings.Cut(part, "=")
			if ok && v != "" && (strings.EqualFold(k, "SharedAccessKey") || strings.EqualFold(k, "AccountKey") || strings.EqualFold(k, "SharedAccessSignature")) {
				out = append(out, v)
			}
		}
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	sort.Strings(out)
	return slices.Compact(out)
}

// CheckRuleGlobs reports every route and allowlist glob over rule ids
// (sinks.NAME.route.rules, route.excludeRules, allowlists[i].rules) that
// matches no loaded rule, naming its key and listing the ids. ids are the
// loaded rules' ids; the silence finding's id (streamhunt-silence) is known
// too while the silence detector is on. Call it after Parse (or Validate),
// once the rules are loaded.
func CheckRuleGlobs(c *Config, ids []string) error {
	if c.Ops.SilenceAfter > 0 {
		ids = append(slices.Clip(ids), ops.SilenceRuleID)
	}
	return c.Sinks.CheckRuleGlobs(ids)
}
