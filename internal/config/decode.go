package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/streamhunt/streamhunt/internal/textdist"
)

// decode fills c from the document root and returns every decoding problem,
// each naming its key path and line: unknown keys (with the closest valid
// key), values of the wrong type (with how to write them), keys set twice,
// and the environment problems expandNode found. It first walks the node
// tree against c's yaml tags, removing each offending key or list item, and
// then decodes what is left, so that the semantic checks still see every
// value that was written correctly.
//
// reported holds the key paths that have a problem here, so that Validate's
// complaint about the same key is not repeated.
func decode(root *yaml.Node, c *Config, env map[*yaml.Node][]string, expanded map[*yaml.Node]bool) (errs []error, reported map[string]bool) {
	d := &decoder{env: env, expanded: expanded, reported: map[string]bool{}, seen: map[visit]bool{}}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		top := root.Content[0]
		for top.Kind == yaml.AliasNode && top.Alias != nil {
			top = top.Alias
		}
		switch {
		case top.Kind == yaml.MappingNode:
			d.walk(top, reflect.TypeOf(c).Elem(), "")
		case top.ShortTag() != "!!null":
			d.fail("", top, "the configuration must be a mapping of sections (source:, checkpoints:, sinks:, deadLetter:, ...)")
			root.Content = nil
		}
	}
	// Environment problems in keys or in parts removed above.
	var rest []*yaml.Node
	for n := range d.env {
		rest = append(rest, n)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Line < rest[j].Line })
	for _, n := range rest {
		for _, msg := range d.env[n] {
			d.fail("", n, "%s", msg)
		}
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		if err := root.Decode(c); err != nil {
			// The walk should have removed everything the decoder refuses;
			// whatever it missed is still reported, in the decoder's words.
			var te *yaml.TypeError
			if errors.As(err, &te) {
				for _, e := range te.Errors {
					d.errs = append(d.errs, errors.New(e))
				}
			} else {
				d.errs = append(d.errs, fmt.Errorf("line 1: %w", err))
			}
		}
	}
	return d.errs, d.reported
}

// envUnder reports the environment problems in a value that is dropped,
// naming the key it was written under.
func (d *decoder) envUnder(n *yaml.Node, path string) {
	if msgs, ok := d.env[n]; ok {
		delete(d.env, n)
		for _, msg := range msgs {
			d.fail(path, n, "%s", msg)
		}
	}
	for _, c := range n.Content {
		d.envUnder(c, path)
	}
}

type visit struct {
	n *yaml.Node
	t reflect.Type
}

type decoder struct {
	errs     []error
	reported map[string]bool
	env      map[*yaml.Node][]string
	// expanded holds the scalars that ${NAME} references were expanded in.
	expanded map[*yaml.Node]bool
	// seen bounds the work on documents that reuse anchors (aliases): each
	// node is checked once per type, and its problems reported once.
	seen map[visit]bool
}

func (d *decoder) fail(path string, n *yaml.Node, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if path == "" {
		d.errs = append(d.errs, fmt.Errorf("line %d: %s", n.Line, msg))
		return
	}
	d.errs = append(d.errs, fmt.Errorf("%s: line %d: %s", path, n.Line, msg))
	d.reported[path] = true
}

var (
	durationType    = reflect.TypeOf(time.Duration(0))
	byteSizeType    = reflect.TypeOf(ByteSize(0))
	nodeType        = reflect.TypeOf(yaml.Node{})
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

// walk checks n against t and reports whether n may stay in the tree.
func (d *decoder) walk(n *yaml.Node, t reflect.Type, path string) bool {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	v := visit{n, t}
	if ok, done := d.seen[v]; done {
		return ok
	}
	d.seen[v] = true
	ok := d.check(n, t, path)
	d.seen[v] = ok
	return ok
}

func (d *decoder) check(n *yaml.Node, t reflect.Type, path string) bool {
	if msgs, ok := d.env[n]; ok {
		delete(d.env, n)
		for _, msg := range msgs {
			d.fail(path, n, "%s", msg)
		}
		return false // so that the default applies, and nothing else is said about it
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.ShortTag() == "!!null" || t == nodeType || t.Kind() == reflect.Interface {
		return true
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t == durationType || scalarKind(t.Kind()) {
		return d.scalar(n, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		return d.structMapping(n, t, path)
	case reflect.Map:
		return d.mapping(n, t, path)
	case reflect.Slice, reflect.Array:
		return d.sequence(n, t, path)
	}
	return true
}

func scalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func (d *decoder) scalar(n *yaml.Node, t reflect.Type, path string) bool {
	custom := reflect.PointerTo(t).Implements(unmarshalerType) && t != byteSizeType
	if n.Kind != yaml.ScalarNode && !custom {
		d.fail(path, n, "expected %s, found %s", want(t), found(n))
		return false
	}
	// The decoder's own rules decide; the message is ours.
	err := n.Decode(reflect.New(t).Interface())
	if err == nil {
		return true
	}
	if d.expanded[n] && n.Kind == yaml.ScalarNode && n.Style == 0 && n.Tag == "!!str" {
		// `every: ${N}` parsed as a string before N was known: read the
		// value as if it had been written in its place.
		n.Tag = ""
		if err = n.Decode(reflect.New(t).Interface()); err == nil {
			return true
		}
		n.Tag = "!!str"
	}
	switch {
	case t == durationType && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float"):
		d.fail(path, n, "%s has no unit; write a duration with a unit, e.g. %ss", n.Value, n.Value)
	case t == durationType:
		d.fail(path, n, "%q is not a duration; write a duration with a unit, e.g. 10s", n.Value)
	case t == byteSizeType:
		if _, perr := ParseByteSize(n.Value); perr != nil {
			d.fail(path, n, "%v", perr)
		} else {
			d.fail(path, n, "expected %s, found %s", want(t), found(n))
		}
	case custom:
		d.fail(path, n, "%v", err)
	default:
		d.fail(path, n, "expected %s, found %s", want(t), found(n))
	}
	return false
}

// want describes what a value of type t is written as.
func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration with a unit, e.g. 10s"
	case t == byteSizeType:
		return "a size such as 256MiB"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a single value"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct:
		return "a mapping of keys"
	case reflect.Map:
		return "a mapping"
	}
	return "a value"
}

// found describes what was written.
func found(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// isMerge reports whether k is the YAML merge key (<<).
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge")
}

// merged walks the value of a merge key: a mapping or a list of mappings,
// merged into the mapping that holds it.
func (d *decoder) merged(v *yaml.Node, t reflect.Type, path string) bool {
	for v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		return d.walk(v, t, path)
	case yaml.SequenceNode:
		ok := true
		for _, m := range v.Content {
			for m.Kind == yaml.AliasNode && m.Alias != nil {
				m = m.Alias
			}
			if m.Kind != yaml.MappingNode {
				d.fail(join(path, "<<"), m, "a merge takes a mapping or a list of mappings")
				return false
			}
			ok = d.walk(m, t, path) && ok
		}
		return ok
	}
	d.fail(join(path, "<<"), v, "a merge takes a mapping or a list of mappings")
	return false
}

// field is one key of a struct, inline structs flattened in.
type field struct {
	key string
	typ reflect.Type
}

// fieldsOf lists the keys of struct type t as the YAML decoder sees them.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		if strings.Contains(","+flags+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, fieldsOf(ft)...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, field{key: name, typ: f.Type})
	}
	return out
}

func (d *decoder) structMapping(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "expected %s, found %s", want(t), found(n))
		return false
	}
	fields := fieldsOf(t)
	byKey := make(map[string]field, len(fields))
	for _, f := range fields {
		byKey[f.key] = f
	}
	first := map[string]int{}
	kept := make([]*yaml.Node, 0, len(n.Content))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			if d.merged(v, t, path) {
				kept = append(kept, k, v)
			}
			continue
		}
		kr := k
		for kr.Kind == yaml.AliasNode && kr.Alias != nil {
			kr = kr.Alias
		}
		if kr.Kind != yaml.ScalarNode {
			d.fail(path, k, "a key must be a name, found %s", found(kr))
			continue
		}
		if kr.ShortTag() == "!!null" {
			// The decoder would skip it silently.
			d.fail(path, k, "a key is missing before the colon")
			d.envUnder(v, path)
			continue
		}
		key := join(path, kr.Value)
		f, ok := byKey[kr.Value]
		if !ok {
			delete(d.env, kr)
			d.fail(key, k, "unknown key; %s", suggest(path, kr.Value, t))
			d.envUnder(v, key)
			continue
		}
		if line, dup := first[kr.Value]; dup {
			d.fail(key, k, "set twice (first at line %d)", line)
			d.envUnder(v, key)
			continue
		}
		first[kr.Value] = k.Line
		if !d.walk(v, f.typ, key) {
			continue
		}
		kept = append(kept, k, v)
	}
	n.Content = kept
	return true
}

func (d *decoder) mapping(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "expected %s, found %s", want(t), found(n))
		return false
	}
	first := map[string]int{}
	kept := make([]*yaml.Node, 0, len(n.Content))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			if d.merged(v, t, path) {
				kept = append(kept, k, v)
			}
			continue
		}
		kr := k
		for kr.Kind == yaml.AliasNode && kr.Alias != nil {
			kr = kr.Alias
		}
		if kr.Kind != yaml.ScalarNode {
			d.fail(path, k, "a key must be a single value, found %s", found(kr))
			continue
		}
		key := join(path, kr.Value)
		if !d.walk(kr, t.Key(), key) {
			continue
		}
		if line, dup := first[kr.Value]; dup {
			d.fail(key, k, "set twice (first at line %d)", line)
			continue
		}
		first[kr.Value] = k.Line
		if !d.walk(v, t.Elem(), key) {
			continue
		}
		kept = append(kept, k, v)
	}
	n.Content = kept
	return true
}

func (d *decoder) sequence(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.SequenceNode {
		d.fail(path, n, "expected %s, found %s", want(t), found(n))
		return false
	}
	if t.Kind() == reflect.Array && len(n.Content) != t.Len() {
		d.fail(path, n, "expected a list of %d, found %d", t.Len(), len(n.Content))
		return false
	}
	kept := make([]*yaml.Node, 0, len(n.Content))
	for i, item := range n.Content {
		if d.walk(item, t.Elem(), itemPath(path, i, item, t.Elem())) {
			kept = append(kept, item)
		}
	}
	if t.Kind() == reflect.Array && len(kept) != len(n.Content) {
		return false
	}
	n.Content = kept
	return true
}

// itemPath names a list item as Validate does: by its name when it is a
// mapping with a name (sinks.soc), else by its index (allowlists[0]).
func itemPath(path string, i int, item *yaml.Node, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for item.Kind == yaml.AliasNode && item.Alias != nil {
		item = item.Alias
	}
	if t.Kind() == reflect.Struct && item.Kind == yaml.MappingNode {
		for _, f := range fieldsOf(t) {
			if f.key != "name" {
				continue
			}
			for j := 0; j+1 < len(item.Content); j += 2 {
				k, v := item.Content[j], item.Content[j+1]
				if k.Kind == yaml.ScalarNode && k.Value == "name" && v.Kind == yaml.ScalarNode && v.Value != "" && v.ShortTag() != "!!null" {
					return join(path, v.Value)
				}
			}
		}
	}
	return fmt.Sprintf("%s[%d]", path, i)
}

// suggest says what an unknown key under path probably meant: a key of the
// same mapping that is spelt almost the same, else a key of that name one
// or two levels further down, else the keys that are valid there.
func suggest(path, key string, t reflect.Type) string {
	fields := fieldsOf(t)
	best, bestD := "", 1<<30
	for _, f := range fields {
		if dist := textdist.Distance(strings.ToLower(key), strings.ToLower(f.key)); dist < bestD {
			best, bestD = f.key, dist
		}
	}
	if best != "" && nearEnough(len(key), bestD) {
		return "did you mean " + join(path, best) + "?"
	}
	var deeper []string
	var find func(t reflect.Type, path string, depth int)
	find = func(t reflect.Type, path string, depth int) {
		if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
			return
		}
		for _, f := range fieldsOf(t) {
			if depth > 0 && strings.EqualFold(f.key, key) {
				deeper = append(deeper, join(path, f.key))
			}
			ft := f.typ
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if depth < 2 && ft.Kind() == reflect.Struct {
				find(ft, join(path, f.key), depth+1)
			}
		}
	}
	find(t, path, 0)
	if len(deeper) > 0 && len(deeper) <= 3 {
		return "did you mean " + strings.Join(deeper, " or ") + "?"
	}
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return "valid keys here: " + strings.Join(keys, ", ")
}

// nearEnough reports whether an edit distance is small enough, for a key
// of length n, to be a typing mistake.
func nearEnough(n, dist int) bool {
	switch {
	case dist <= 1:
		return true
	case dist == 2:
		return n >= 6
	case dist == 3:
		return n >= 12
	}
	return false
}
