package ops

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// Redacted replaces every secret the Redactor finds.
const Redacted = "REDACTED"

// minSecretLen is the shortest configured secret the Redactor replaces:
// shorter values cannot be told apart from ordinary text.
const minSecretLen = 4

// secretPatterns find credentials by their shape, whether or not they were
// configured: connection-string keys (Event Hubs, Storage, service
// principals), SAS signatures in URLs and connection strings, bearer tokens
// and JWTs. Group 1 is kept; the rest of the match becomes REDACTED.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)(\b(?:SharedAccessKey|AccountKey|SharedAccessSignature|ClientSecret|client_secret|Password|AccessKey)\s*=\s*)[^;"'\s&]+`),
	regexp.MustCompile(`(?i)(\bsig=)[^&;"'\s]+`),
	regexp.MustCompile(`(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]+=*`),
	regexp.MustCompile(`()\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`),
}

// Redactor removes secrets from text: configured values, and anything that
// looks like a key, a SAS signature or a token.
type Redactor struct {
	values *strings.Replacer
}

// NewRedactor returns a Redactor for the given secret values (values shorter
// than 4 characters are ignored). A connection string or a SAS URL counts
// by its secret parts only (key, signature), so that the namespace, account
// and container stay readable in the log; any other value counts whole. Each
// value is also matched in its JSON-escaped form, as it appears inside a
// JSON log line.
func NewRedactor(secrets ...string) *Redactor {
	seen := map[string]bool{}
	var forms []string
	for _, s := range secretParts(secrets) {
		if len(s) < minSecretLen {
			continue
		}
		for _, f := range []string{s, jsonEscaped(s)} {
			if !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	// Longest first, so that a secret containing another is replaced whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	r := &Redactor{}
	if len(forms) > 0 {
		pairs := make([]string, 0, 2*len(forms))
		for _, f := range forms {
			pairs = append(pairs, f, Redacted)
		}
		r.values = strings.NewReplacer(pairs...)
	}
	return r
}

// jsonEscaped returns s as it appears inside a JSON string written by zap
// (which, unlike encoding/json's default, leaves <, > and & alone).
func jsonEscaped(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	q := strings.TrimSpace(b.String())
	return q[1 : len(q)-1]
}

// secretParts splits connection strings and SAS URLs into the values that
// are secret; other values are kept whole.
func secretParts(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		var parts []string
		for _, p := range secretPatterns[:2] {
			for _, m := range p.FindAllStringSubmatchIndex(s, -1) {
				if v := s[m[3]:m[1]]; !strings.EqualFold(v, "SharedAccessSignature") {
					// (a SAS connection string's value starts with that word;
					// its signature is caught by the sig= pattern)
					parts = append(parts, v)
				}
			}
		}
		if len(parts) == 0 {
			parts = []string{s}
		}
		out = append(out, parts...)
	}
	return out
}

// Redact returns s with every secret replaced by REDACTED.
func (r *Redactor) Redact(s string) string {
	if r != nil && r.values != nil {
		s = r.values.Replace(s)
	}
	if !mayHoldSecret(s) {
		return s
	}
	for _, p := range secretPatterns {
		s = p.ReplaceAllString(s, "${1}"+Redacted)
	}
	return s
}

// mayHoldSecret is a cheap test that skips the patterns for most lines.
func mayHoldSecret(s string) bool {
	return strings.Contains(s, "=") || strings.Contains(s, "eyJ") ||
		strings.Contains(s, "earer") || strings.Contains(s, "EARER")
}
