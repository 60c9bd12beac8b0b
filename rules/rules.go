// Package rules loads detection rules: the built-in pack embedded in the
// binary and the user's files. A rule is a .kql file, a Sentinel
// analytic-rule YAML (query, severity, tactics, techniques, entityMappings),
// or a Markdown file with KQL code blocks. Loading reads text and metadata;
// the pipeline compiles the queries.
package rules

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rule is one detection rule.
type Rule struct {
	// ID is unique in a rule set: the file name without its extension, or
	// `file#n` for the n-th query of a file with several.
	ID          string
	Name        string
	Description string
	// Severity is informational, low, medium or high (lower case).
	Severity   string
	Tactics    []string
	Techniques []string
	// Source names where the rule's query comes from (for the built-in pack,
	// the seed document).
	Source string
	// Query is the KQL text, verbatim.
	Query string
	// File is where the rule was read ("builtin/<name>" for the pack), and
	// Line the 1-based line of the file where Query starts, so that compile
	// errors can name file:line:column.
	File string
	Line int
	// Entities maps output columns to entities (Sentinel entityMappings).
	Entities []EntityMapping
	// Builtin is true for rules of the embedded pack.
	Builtin bool
}

// EntityMapping maps one output column to an entity field, as Sentinel's
// entityMappings do (entityType Account, identifier FullName, column UserPrincipalName).
type EntityMapping struct {
	EntityType string
	Identifier string
	Column     string
}

// Version is a short hash of the rule's query text: findings carry it, so a
// changed rule is visible in its output.
func (r Rule) Version() string {
	h := sha256.Sum256([]byte(r.Query))
	return hex.EncodeToString(h[:8])
}

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtin returns the embedded rule pack, sorted by id.
func Builtin() ([]Rule, error) {
	entries, err := fs.ReadDir(builtinFS, "builtin")
	if err != nil {
		return nil, err
	}
	var out []Rule
	for _, e := range entries {
		b, err := builtinFS.ReadFile("builtin/" + e.Name())
		if err != nil {
			return nil, err
		}
		rs, err := parseFile("builtin/"+e.Name(), b)
		if err != nil {
			return nil, fmt.Errorf("built-in rule pack is broken (a build defect): %w", err)
		}
		for i := range rs {
			rs[i].Builtin = true
		}
		out = append(out, rs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Load reads the user's rules from files, directories and globs; see
// LoadWithWarnings. It drops the warnings.
func Load(paths ...string) ([]Rule, error) {
	rs, _, err := LoadWithWarnings(paths...)
	return rs, err
}

// LoadWithWarnings reads the user's rules from files, directories
// (recursively: .kql, .yaml, .yml, .md) and globs.
//
// In a directory, every entry whose name starts with "." is skipped, file or
// directory: Kubernetes mounts a ConfigMap as hidden `..<timestamp>/` and
// `..data` entries next to one symlink per key, and editors and git leave
// hidden files. Symlinks are followed, to files and to directories.
//
// A path that does not exist or a glob that matches nothing is an error; a
// directory without any rule file is not (an empty ConfigMap must not stop
// the service) but is returned as a warning for the caller to print.
func LoadWithWarnings(paths ...string) ([]Rule, []string, error) {
	var out []Rule
	var warnings []string
	for _, p := range paths {
		files, warns, err := expand(p)
		if err != nil {
			return nil, nil, err
		}
		warnings = append(warnings, warns...)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, fmt.Errorf("cannot read rule file %q: %w", f, err)
			}
			rs, err := parseFile(f, b)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, rs...)
		}
	}
	return out, warnings, nil
}

// Merge joins rule lists and reports every id that appears twice.
func Merge(lists ...[]Rule) ([]Rule, error) {
	seen := map[string]string{}
	var out []Rule
	var dups []string
	for _, l := range lists {
		for _, r := range l {
			if prev, ok := seen[r.ID]; ok {
				dups = append(dups, fmt.Sprintf("rule id %q is defined twice (%s and %s): rename one file or give the rule its own id", r.ID, prev, r.File))
				continue
			}
			seen[r.ID] = r.File
			out = append(out, r)
		}
	}
	if len(dups) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(dups, "; "))
	}
	return out, nil
}

func isRuleFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".kql", ".yaml", ".yml", ".md":
		return true
	}
	return false
}

func isHidden(name string) bool { return strings.HasPrefix(name, ".") }

// expand turns one user path into rule files, in a stable order.
func expand(p string) (files, warnings []string, err error) {
	if strings.ContainsAny(p, "*?[") {
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, nil, fmt.Errorf("bad glob %q: %w", p, err)
		}
		// As in a shell, `*` does not match a hidden name unless the
		// pattern asks for one (so `cm/*` skips a ConfigMap's `..data`).
		hiddenOK := isHidden(filepath.Base(p))
		var n int
		for _, f := range m {
			if isHidden(filepath.Base(f)) && !hiddenOK {
				continue
			}
			n++
			sub, ws, err := expand(f)
			if err != nil {
				return nil, nil, err
			}
			files = append(files, sub...)
			warnings = append(warnings, ws...)
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("glob %q matches no file", p)
		}
		return files, warnings, nil
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("rule path %q: %w", p, err)
	}
	if !fi.IsDir() {
		return []string{p}, nil, nil
	}
	if err := walkRules(p, map[string]bool{}, &files); err != nil {
		return nil, nil, fmt.Errorf("cannot read rule directory %q: %w", p, err)
	}
	if len(files) == 0 {
		warnings = append(warnings, fmt.Sprintf("rule directory %q holds no rule file (.kql, .yaml, .yml or .md; names starting with \".\" are skipped)", p))
	}
	return files, warnings, nil
}

// walkRules appends the rule files under dir, skipping hidden entries and
// following symlinks; seen holds the real paths of the directories already
// walked, so a symlink loop or a second link to one directory reads it once.
func walkRules(dir string, seen map[string]bool, out *[]string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	if seen[real] {
		return nil
	}
	seen[real] = true
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if isHidden(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(path)
			if err != nil {
				if isRuleFile(e.Name()) {
					return fmt.Errorf("rule file %q: %w", path, err)
				}
				continue // a dangling link that is no rule file
			}
			isDir = fi.IsDir()
		}
		switch {
		case isDir:
			if err := walkRules(path, seen, out); err != nil {
				return err
			}
		case isRuleFile(e.Name()):
			*out = append(*out, path)
		}
	}
	return nil
}

func baseID(file string) string {
	b := filepath.Base(file)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

func parseFile(file string, b []byte) ([]Rule, error) {
	text := strings.TrimPrefix(string(b), "\ufeff")
	switch strings.ToLower(filepath.Ext(file)) {
	case ".kql":
		if strings.TrimSpace(stripComments(text)) == "" {
			return nil, fmt.Errorf("%s:1:1: the file holds no query", file)
		}
		return []Rule{{ID: baseID(file), Name: baseID(file), Severity: "medium", Query: text, File: file, Line: 1, Source: file}}, nil
	case ".yaml", ".yml":
		return parseYAML(file, []byte(text))
	case ".md":
		return parseMarkdown(file, text)
	}
	return nil, fmt.Errorf("%s: not a rule file (want .kql, .yaml, .yml or .md)", file)
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "//"); i >= 0 {
			l = l[:i]
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// sentinelRule is the part of a Sentinel analytic-rule YAML that streamhunt reads.
type sentinelRule struct {
	ID                 string   `yaml:"id"`
	Name               string   `yaml:"name"`
	Description        string   `yaml:"description"`
	Severity           string   `yaml:"severity"`
	Tactics            []string `yaml:"tactics"`
	RelevantTechniques []string `yaml:"relevantTechniques"`
	Techniques         []string `yaml:"techniques"`
	Source             string   `yaml:"source"`
	Query              string   `yaml:"query"`
	EntityMappings     []struct {
		EntityType    string `yaml:"entityType"`
		FieldMappings []struct {
			Identifier string `yaml:"identifier"`
			ColumnName string `yaml:"columnName"`
		} `yaml:"fieldMappings"`
	} `yaml:"entityMappings"`
}

func parseYAML(file string, b []byte) ([]Rule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", file, err)
	}
	var sr sentinelRule
	if err := doc.Decode(&sr); err != nil {
		return nil, fmt.Errorf("%s: not a Sentinel analytic rule: %w", file, err)
	}
	if strings.TrimSpace(sr.Query) == "" {
		return nil, fmt.Errorf("%s: no `query:` key; a rule YAML needs the KQL under query", file)
	}
	line := 1
	if len(doc.Content) == 1 {
		m := doc.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "query" {
				v := m.Content[i+1]
				line = v.Line
				if v.Style == yaml.LiteralStyle || v.Style == yaml.FoldedStyle {
					line++ // the text starts on the line after `query: |`
				}
			}
		}
	}
	sev, err := normSeverity(sr.Severity)
	if err != nil {
		return nil, fmt.Errorf("%s: severity: %w", file, err)
	}
	r := Rule{
		ID: baseID(file), Name: sr.Name, Description: strings.TrimSpace(sr.Description), Severity: sev,
		Tactics: sr.Tactics, Techniques: append(sr.RelevantTechniques, sr.Techniques...),
		Source: sr.Source, Query: sr.Query, File: file, Line: line,
	}
	if r.Name == "" {
		r.Name = r.ID
	}
	if r.Source == "" {
		r.Source = file
	}
	for _, em := range sr.EntityMappings {
		for _, fm := range em.FieldMappings {
			r.Entities = append(r.Entities, EntityMapping{EntityType: em.EntityType, Identifier: fm.Identifier, Column: fm.ColumnName})
		}
	}
	return []Rule{r}, nil
}

func normSeverity(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "medium", nil
	case "informational", "info":
		return "informational", nil
	case "low":
		return "low", nil
	case "medium":
		return "medium", nil
	case "high":
		return "high", nil
	case "critical":
		return "high", nil
	}
	return "", fmt.Errorf("%q is not one of informational, low, medium, high", s)
}

// parseMarkdown takes every ```kql (or ```KQL, ```kusto) code block of a
// Markdown file as a rule: one block gives the file's id, several give file#1, file#2, ...
func parseMarkdown(file, text string) ([]Rule, error) {
	lines := strings.Split(text, "\n")
	type block struct {
		line int
		text string
	}
	var blocks []block
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		if !strings.HasPrefix(l, "```") {
			continue
		}
		lang := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(l, "```")))
		j := i + 1
		for j < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[j]), "```") {
			j++
		}
		if lang == "kql" || lang == "kusto" {
			body := make([]string, 0, j-i-1)
			for _, bl := range lines[i+1 : min(j, len(lines))] {
				body = append(body, strings.TrimRight(bl, "\r"))
			}
			blocks = append(blocks, block{line: i + 2, text: strings.Join(body, "\n")})
		}
		i = j
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%s: no ```kql code block found", file)
	}
	title := ""
	for _, l := range lines {
		if t, ok := strings.CutPrefix(strings.TrimSpace(l), "# "); ok {
			title = strings.TrimSpace(t)
			break
		}
	}
	var out []Rule
	for n, bl := range blocks {
		id := baseID(file)
		if len(blocks) > 1 {
			id = fmt.Sprintf("%s#%d", id, n+1)
		}
		name := title
		if name == "" {
			name = id
		}
		out = append(out, Rule{ID: id, Name: name, Severity: "medium", Query: bl.text, File: file, Line: bl.line, Source: file})
	}
	return out, nil
}
