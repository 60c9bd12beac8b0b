// Package rules loads detection rules: the built-in pack embedded in the
// binary and the user's files. A rule is a .kql file, a Sentinel
// analytic-rule YAML (query, severity, tactics, techniques, entityMappings),
// or a Markdown file with KQL code blocks. Loading reads text and metadata;
// the pipeline compiles the queries.
package rules

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rule is one detection rule.
type Rule struct {
	// ID is unique in a rule set: the file name without its extension; in a
	// file with several rules, the rule's own id (Markdown: `id=NAME` on the
	// ```kql line; YAML: the document's `id:`) or else `file#n` for the n-th.
	ID string
	// SentinelID is the `id:` of a Sentinel analytic-rule YAML (a GUID), kept
	// so that a finding can be traced to the Sentinel rule it mirrors.
	SentinelID  string
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
	// Indent is how many columns precede the query text on each of its lines
	// in File (a YAML block's indentation), so that column c of the query is
	// column c+Indent of the file. See Position.
	Indent int
	// Entities maps output columns to entities (Sentinel entityMappings).
	Entities []EntityMapping
	// Builtin is true for rules of the embedded pack.
	Builtin bool

	idFrom idOrigin // how ID was chosen, so a clash can say how to fix it
	idLine int      // for idOwn: the line of File that sets the id
}

type idOrigin int

const (
	idFile     idOrigin = iota // the file name
	idOwn                      // the rule's own id
	idPosition                 // file#n
)

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

// Position maps a 1-based line and column of Query to the line and column
// of File.
func (r Rule) Position(line, col int) (fileLine, fileCol int) {
	return r.Line + line - 1, col + r.Indent
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

// Merge joins rule lists and reports every id that appears twice, with the
// change that would resolve each clash.
func Merge(lists ...[]Rule) ([]Rule, error) {
	seen := map[string]Rule{}
	var out []Rule
	var dups []string
	for _, l := range lists {
		for _, r := range l {
			if prev, ok := seen[r.ID]; ok {
				dups = append(dups, fmt.Sprintf("rule id %q is defined twice (%s and %s): %s", r.ID, prev.File, r.File, clashAdvice(prev, r)))
				continue
			}
			seen[r.ID] = r
			out = append(out, r)
		}
	}
	if len(dups) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(dups, "; "))
	}
	return out, nil
}

// clashAdvice says what would give one of two rules another id.
func clashAdvice(a, b Rule) string {
	if a.File == b.File && a.idFrom == idFile && b.idFrom == idFile {
		return "the file is loaded twice; give each file or directory once"
	}
	var fixes []string
	for _, r := range []Rule{a, b} {
		switch {
		case r.Builtin:
			continue
		case r.idFrom == idOwn:
			fixes = append(fixes, fmt.Sprintf("change the id at %s:%d", r.File, r.idLine))
		case r.idFrom == idPosition:
			fixes = append(fixes, fmt.Sprintf("give the rule at %s:%d its own id", r.File, r.Line))
		default:
			fixes = append(fixes, "rename "+r.File)
		}
	}
	if len(fixes) == 2 && strings.HasPrefix(fixes[0], "rename ") && strings.HasPrefix(fixes[1], "rename ") {
		fixes[1] = strings.TrimPrefix(fixes[1], "rename ")
	}
	advice := strings.Join(fixes, " or ")
	if a.Builtin || b.Builtin {
		advice = "the built-in pack has this id: " + advice
	}
	return advice
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

// parseYAML reads a Sentinel analytic-rule YAML: one rule, or several as
// YAML documents separated by `---`.
func parseYAML(file string, b []byte) ([]Rule, error) {
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: invalid YAML: %w", file, err)
		}
		if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
			continue // an empty document, as after a trailing `---`
		}
		docs = append(docs, &doc)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no `query:` key; a rule YAML needs the KQL under query", file)
	}
	lines := strings.Split(string(b), "\n")
	var out []Rule
	for n, doc := range docs {
		where := file
		if len(docs) > 1 {
			where = fmt.Sprintf("%s:%d", file, doc.Content[0].Line)
		}
		var sr sentinelRule
		if err := doc.Decode(&sr); err != nil {
			return nil, fmt.Errorf("%s: not a Sentinel analytic rule: %w", where, err)
		}
		if strings.TrimSpace(sr.Query) == "" {
			return nil, fmt.Errorf("%s: no `query:` key; a rule YAML needs the KQL under query", where)
		}
		sev, err := normSeverity(sr.Severity)
		if err != nil {
			return nil, fmt.Errorf("%s: severity: %w", where, err)
		}
		r := Rule{
			ID: baseID(file), SentinelID: strings.TrimSpace(sr.ID), Name: sr.Name,
			Description: strings.TrimSpace(sr.Description), Severity: sev,
			Tactics: sr.Tactics, Techniques: append(sr.RelevantTechniques, sr.Techniques...),
			Source: sr.Source, Query: sr.Query, File: file, Line: 1,
		}
		var idNode *yaml.Node
		if m := doc.Content[0]; m.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(m.Content); i += 2 {
				switch m.Content[i].Value {
				case "query":
					r.Line, r.Indent = queryPosition(m.Content[i], m.Content[i+1], lines)
				case "id":
					idNode = m.Content[i+1]
				}
			}
		}
		if len(docs) > 1 {
			// Several rules in one file: a document's own id is stabler than
			// its position.
			if r.SentinelID != "" {
				r.ID, r.idFrom, r.idLine = r.SentinelID, idOwn, idNode.Line
			} else {
				r.ID, r.idFrom = fmt.Sprintf("%s#%d", baseID(file), n+1), idPosition
			}
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
		out = append(out, r)
	}
	return out, nil
}

// queryPosition returns the line of the file where the query value starts,
// and how many columns precede the query text on each of its lines.
func queryPosition(key, v *yaml.Node, lines []string) (line, indent int) {
	switch v.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The text starts on the line after `query: |`, indented by the
		// block's indentation: an explicit indicator (`|2`) relative to the
		// key's, else that of the first non-blank line.
		line = v.Line + 1
		if v.Line-1 < len(lines) {
			hdr := lines[v.Line-1]
			if v.Column-1 < len(hdr) {
				hdr = hdr[v.Column-1:]
			}
			for _, c := range hdr[min(1, len(hdr)):] {
				if c >= '1' && c <= '9' {
					return line, key.Column - 1 + int(c-'0')
				}
				if c != '-' && c != '+' {
					break
				}
			}
		}
		for i := v.Line; i < len(lines); i++ {
			l := strings.TrimRight(lines[i], "\r")
			if strings.TrimSpace(l) != "" {
				return line, len(l) - len(strings.TrimLeft(l, " "))
			}
		}
		return line, 0
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		return v.Line, v.Column // the text starts after the quote
	}
	return v.Line, v.Column - 1
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
// Markdown file as a rule: one block gives the file's id; with several, a
// block's own id (```kql id=NAME) or else file#1, file#2, ...
func parseMarkdown(file, text string) ([]Rule, error) {
	lines := strings.Split(text, "\n")
	type block struct {
		line int // of the first query line; the fence is line-1
		id   string
		text string
	}
	var blocks []block
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		if !strings.HasPrefix(l, "```") {
			continue
		}
		info := strings.Fields(strings.TrimPrefix(l, "```"))
		j := i + 1
		for j < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[j]), "```") {
			j++
		}
		if len(info) > 0 && (strings.EqualFold(info[0], "kql") || strings.EqualFold(info[0], "kusto")) {
			bl := block{line: i + 2}
			for _, w := range info[1:] {
				if v, ok := strings.CutPrefix(w, "id="); ok {
					bl.id = strings.Trim(v, `"'`)
					if bl.id == "" {
						return nil, fmt.Errorf("%s:%d: empty id= on the code block", file, i+1)
					}
				}
			}
			body := make([]string, 0, j-i-1)
			for _, bl := range lines[i+1 : min(j, len(lines))] {
				body = append(body, strings.TrimRight(bl, "\r"))
			}
			bl.text = strings.Join(body, "\n")
			blocks = append(blocks, bl)
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
		r := Rule{ID: baseID(file), Severity: "medium", Query: bl.text, File: file, Line: bl.line, Source: file}
		switch {
		case len(blocks) == 1:
		case bl.id != "":
			r.ID, r.idFrom, r.idLine = bl.id, idOwn, bl.line-1
		default:
			r.ID, r.idFrom = fmt.Sprintf("%s#%d", r.ID, n+1), idPosition
		}
		r.Name = title
		if r.Name == "" {
			r.Name = r.ID
		}
		out = append(out, r)
	}
	return out, nil
}
