package fanout

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/streamhunt/streamhunt/sink/blob"
	"github.com/streamhunt/streamhunt/sink/loganalytics"
	"github.com/streamhunt/streamhunt/sink/stdout"
	"github.com/streamhunt/streamhunt/sink/webhook"
)

// Config is the sinks section of streamhunt's configuration: several named
// sinks, each with its route and data minimisation, and the allowlists
// that keep known-benign findings from the notification sinks.
type Config struct {
	Sinks      []Named     `yaml:"sinks"`
	Allowlists []Allowlist `yaml:"allowlists"`
}

// Named is one sink: a name (for metrics, logs and errors) and exactly one
// of the sink kinds.
type Named struct {
	Name         string               `yaml:"name"`
	Stdout       *stdout.Config       `yaml:"stdout"`
	File         *stdout.Config       `yaml:"file"`
	Webhook      *webhook.Config      `yaml:"webhook"`
	Blob         *blob.Config         `yaml:"blob"`
	LogAnalytics *loganalytics.Config `yaml:"logAnalytics"`
	// Route chooses which findings the sink gets (default: all).
	Route Route `yaml:"route"`
	// Minimize omits or hashes columns before findings leave.
	Minimize Minimize `yaml:"minimize"`
}

// Kind returns the sink kind that is set ("stdout", "file", "webhook",
// "blob", "logAnalytics"), or "" when none or several are.
func (n Named) Kind() string {
	var kinds []string
	if n.Stdout != nil {
		kinds = append(kinds, "stdout")
	}
	if n.File != nil {
		kinds = append(kinds, "file")
	}
	if n.Webhook != nil {
		kinds = append(kinds, "webhook")
	}
	if n.Blob != nil {
		kinds = append(kinds, "blob")
	}
	if n.LogAnalytics != nil {
		kinds = append(kinds, "logAnalytics")
	}
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

// Route selects findings by rule id and severity.
type Route struct {
	// Rules are globs over rule ids (path.Match syntax:
	// entra-device-code-*); empty means every rule.
	Rules []string `yaml:"rules"`
	// ExcludeRules are globs of rule ids the sink never gets.
	ExcludeRules []string `yaml:"excludeRules"`
	// MinSeverity is the lowest severity sent: informational, low, medium
	// or high (default: all).
	MinSeverity string `yaml:"minSeverity"`
}

// Minimize is per-sink data minimisation. The named columns are omitted
// or replaced by an HMAC-SHA256 of their lower-cased value under HashKey
// ("hmac:" and 32 hex digits): equal values still correlate, but nobody
// without the key can reverse them by trying a dictionary of names. The
// value is also removed or replaced in the finding's entities and inside
// its dynamic columns.
type Minimize struct {
	Omit    []string `yaml:"omit"`
	Hash    []string `yaml:"hash"`
	HashKey string   `yaml:"hashKey"`
}

// Allowlist keeps findings of the matching rules about known-benign
// activity from the notification sinks (webhook, Teams, Slack); archive
// sinks (blob, Log Analytics, files) still receive them, so the record
// stays complete for hunting. Within an entry, a finding must match every
// kind that is set (appIds and users: this user with this app), and any
// value within a kind.
type Allowlist struct {
	// Rules are globs over rule ids; empty means every rule.
	Rules []string `yaml:"rules"`
	// AppIDs match the AppId column (case-insensitive).
	AppIDs []string `yaml:"appIds"`
	// Users match the UserPrincipalName column or an account entity
	// (case-insensitive).
	Users []string `yaml:"users"`
	// IPRanges are CIDR prefixes or addresses matching the IPAddress
	// column or an ip entity.
	IPRanges []string `yaml:"ipRanges"`
	// Reason is why, for whoever reads the configuration later.
	Reason string `yaml:"reason"`
}

var severities = map[string]int{"informational": 0, "low": 1, "medium": 2, "high": 3}

var sinkName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Validate reports every configuration error at once, each naming its key
// (sinks.NAME.webhook.url: ...).
func (c Config) Validate() error {
	var errs []error
	add := func(key string, err error) {
		if err == nil {
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				errs = append(errs, fmt.Errorf("%s%w", key, e))
			}
			return
		}
		errs = append(errs, fmt.Errorf("%s%w", key, err))
	}
	if len(c.Sinks) == 0 {
		errs = append(errs, errors.New("sinks: at least one sink is needed"))
	}
	seen := map[string]bool{}
	for i, n := range c.Sinks {
		key := fmt.Sprintf("sinks[%d].", i)
		if n.Name != "" {
			key = "sinks." + n.Name + "."
		}
		switch {
		case n.Name == "":
			errs = append(errs, fmt.Errorf("%sname: every sink needs a name", key))
		case !sinkName.MatchString(n.Name):
			errs = append(errs, fmt.Errorf("%sname: use letters, digits, '-', '_' and '.'", key))
		case seen[n.Name]:
			errs = append(errs, fmt.Errorf("%sname: another sink has this name", key))
		}
		seen[n.Name] = true
		switch n.Kind() {
		case "stdout":
			add(key+"stdout.", n.Stdout.Validate())
			if !n.Stdout.IsStdout() {
				errs = append(errs, fmt.Errorf("%sstdout.path: use file: for a file", key))
			}
		case "file":
			add(key+"file.", n.File.Validate())
			if n.File.IsStdout() {
				errs = append(errs, fmt.Errorf("%sfile.path: must name a file", key))
			}
		case "webhook":
			add(key+"webhook.", n.Webhook.Validate())
		case "blob":
			add(key+"blob.", n.Blob.Validate())
		case "logAnalytics":
			add(key+"logAnalytics.", n.LogAnalytics.Validate())
		default:
			errs = append(errs, fmt.Errorf("%s: set exactly one of stdout, file, webhook, blob, logAnalytics", strings.TrimSuffix(key, ".")))
		}
		add(key+"route.", n.Route.validate())
		add(key+"minimize.", n.Minimize.validate())
	}
	for i, a := range c.Allowlists {
		add(fmt.Sprintf("allowlists[%d].", i), a.validate())
	}
	return errors.Join(errs...)
}

// CheckRuleGlobs reports every route and allowlist glob (rules,
// excludeRules) that matches none of the loaded rule ids, naming its key
// and listing the ids. Such a glob is almost always a mistake (a prefix
// such as builtin/ that rule ids do not have): a sink routed by it gets
// nothing, an allowlist limited by it allows nothing, and an exclusion
// excludes nothing. Invalid globs are Validate's to report.
func (c Config) CheckRuleGlobs(ids []string) error {
	known := knownIDs(ids)
	var errs []error
	check := func(key string, globs []string) {
		for _, g := range globs {
			if _, err := path.Match(g, ""); err != nil {
				continue
			}
			if !slices.ContainsFunc(ids, func(id string) bool { ok, _ := path.Match(g, id); return ok }) {
				errs = append(errs, fmt.Errorf("%s: %q matches no loaded rule; the rule ids are %s", key, g, known))
			}
		}
	}
	for i, n := range c.Sinks {
		key := fmt.Sprintf("sinks[%d].", i)
		if n.Name != "" {
			key = "sinks." + n.Name + "."
		}
		check(key+"route.rules", n.Route.Rules)
		check(key+"route.excludeRules", n.Route.ExcludeRules)
	}
	for i, a := range c.Allowlists {
		check(fmt.Sprintf("allowlists[%d].rules", i), a.Rules)
	}
	return errors.Join(errs...)
}

// knownIDs lists rule ids for an error message: sorted, and the first 20
// only when there are more.
func knownIDs(ids []string) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	s = slices.Compact(s)
	if len(s) == 0 {
		return "(none: no rule is loaded)"
	}
	const most = 20
	if len(s) > most {
		return fmt.Sprintf("%s, and %d more", strings.Join(s[:most], ", "), len(s)-most)
	}
	return strings.Join(s, ", ")
}

func validGlobs(key string, globs []string) []error {
	var errs []error
	for _, g := range globs {
		if _, err := path.Match(g, ""); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a valid glob", key, g))
		}
	}
	return errs
}

func (r Route) validate() error {
	errs := validGlobs("rules", r.Rules)
	errs = append(errs, validGlobs("excludeRules", r.ExcludeRules)...)
	if _, ok := severities[strings.ToLower(r.MinSeverity)]; r.MinSeverity != "" && !ok {
		errs = append(errs, fmt.Errorf("minSeverity: %q is not informational, low, medium or high", r.MinSeverity))
	}
	return errors.Join(errs...)
}

func (m Minimize) validate() error {
	var errs []error
	if len(m.Hash) > 0 && len(m.HashKey) < 16 {
		errs = append(errs, errors.New("hashKey: hashing needs a secret key of at least 16 characters (without one, hashes of user names can be reversed by trying a list of names)"))
	}
	for _, c := range m.Omit {
		for _, h := range m.Hash {
			if c == h {
				errs = append(errs, fmt.Errorf("omit, hash: %s is in both", c))
			}
		}
	}
	return errors.Join(errs...)
}

func (a Allowlist) validate() error {
	errs := validGlobs("rules", a.Rules)
	if len(a.AppIDs) == 0 && len(a.Users) == 0 && len(a.IPRanges) == 0 {
		errs = append(errs, errors.New("appIds, users, ipRanges: an allowlist entry needs at least one"))
	}
	for _, r := range a.IPRanges {
		if _, err := parsePrefix(r); err != nil {
			errs = append(errs, fmt.Errorf("ipRanges: %q is not a CIDR prefix or an IP address", r))
		}
	}
	return errors.Join(errs...)
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
