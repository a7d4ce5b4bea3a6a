package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The YAML is decoded in two steps: yaml.v3 parses the text into a node
// tree, and decoder walks that tree into the Config by reflection. Doing the
// second step here rather than with yaml's own Decode (even with
// KnownFields) lets every error name the full key path and line, lets a
// duplicate key be an error, keeps secret values out of type errors, and
// leaves keys that are absent at their defaults.

// aliasAllowance bounds the extra nodes that aliases may add to a document
// when they are expanded, so that nested aliases ("billion laughs") cannot
// make decoding run away; without aliases every node is visited once.
const aliasAllowance = 100_000

// nodeBudget returns how many node visits decoding doc may take: its own
// nodes plus aliasAllowance.
func nodeBudget(doc *yaml.Node) int {
	n, stack := 0, []*yaml.Node{doc}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		if top.Kind != yaml.AliasNode {
			stack = append(stack, top.Content...)
		}
	}
	return n + aliasAllowance
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	prefixType   = reflect.TypeFor[netip.Prefix]()
	byteSizeType = reflect.TypeFor[ByteSize]()
	hashType     = reflect.TypeFor[Hash]()
	jsonType     = reflect.TypeFor[JSON]()
	storeType    = reflect.TypeFor[Store]()
)

// sensitive reports whether values of type t must never appear in messages.
func sensitive(t reflect.Type) bool { return t == hashType || t == storeType }

type decoder struct {
	source string
	errs   *errList
	pos    map[string]int // key path -> line
	budget int
}

func (d *decoder) errf(kind error, line int, path, format string, args ...any) {
	d.errs.add(&Error{Source: d.source, Line: line, Path: path, Msg: fmt.Sprintf(format, args...), Kind: kind})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses data into a single document node.
func parseYAML(data []byte, source string) (root *yaml.Node, err error) {
	// yaml.v3 reports errors by panicking internally and recovering; this
	// guard makes sure no panic escapes from a parser bug on hostile input.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &Error{Source: source, Msg: "the YAML parser failed on this input", Kind: ErrSyntax}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Source: source, Msg: "empty configuration", Kind: ErrSyntax}
		}
		return nil, syntaxError(err, source)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(err, source)
	default:
		return nil, &Error{Source: source, Line: extra.Line, Msg: "more than one YAML document (\"---\"); put everything in one", Kind: ErrSyntax}
	}
	return &doc, nil
}

func syntaxError(err error, source string) *Error {
	msg := err.Error()
	e := &Error{Source: source, Msg: strings.TrimPrefix(msg, "yaml: "), Kind: ErrSyntax}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	return e
}

// decodeRoot decodes the document into c. It returns false if the
// document is not a mapping or is too large to decode, so that nothing
// useful can follow.
func (d *decoder) decodeRoot(doc *yaml.Node, c *Config) bool {
	n := doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			d.errf(ErrSyntax, n.Line, "", "empty configuration")
			return false
		}
		n = n.Content[0]
	}
	if n = d.deref(n); n == nil {
		return false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		d.errf(ErrSyntax, n.Line, "", "empty configuration")
		return false
	}
	if n.Kind != yaml.MappingNode {
		d.errf(ErrSyntax, n.Line, "", "the configuration must be a mapping of keys (issuer: ..., listen: ...), not %s", describe(n))
		return false
	}
	d.decode(n, reflect.ValueOf(c).Elem(), "")
	return d.budget > 0
}

// deref follows aliases, charging the budget; it returns nil when the
// budget is spent (the error is recorded once).
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 100 {
			d.errf(ErrSyntax, n.Line, "", "alias chain too long")
			return nil
		}
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	d.budget--
	if d.budget == 0 {
		d.errf(ErrSyntax, n.Line, "", "configuration too large: aliases expand to more than %d extra nodes", aliasAllowance)
	}
	if d.budget <= 0 {
		return nil
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decode stores n into v. A null leaves v unchanged, so absent and null keys
// keep their defaults.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	t := v.Type()
	switch {
	case t == durationType:
		d.decodeDuration(n, v, path)
		return
	case t == prefixType:
		d.decodePrefix(n, v, path)
		return
	case t == byteSizeType:
		d.decodeByteSize(n, v, path)
		return
	case t == jsonType:
		d.decodeJSON(n, v, path)
		return
	}
	switch t.Kind() {
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string", sensitive(t)); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		s, ok := d.scalar(n, path, "true or false", false)
		if !ok {
			return
		}
		b, err := strconv.ParseBool(s)
		if n.ShortTag() != "!!bool" || err != nil {
			d.errf(ErrInvalid, n.Line, path, "want true or false, got %q", s)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		s, ok := d.scalar(n, path, "an integer", false)
		if !ok {
			return
		}
		i, err := strconv.ParseInt(s, 0, 64)
		if n.ShortTag() != "!!int" || err != nil || v.OverflowInt(i) {
			d.errf(ErrInvalid, n.Line, path, "want an integer, got %q", s)
			return
		}
		v.SetInt(i)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errf(ErrInvalid, n.Line, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			d.pos[p] = item.Line
			d.decode(item, s.Index(i), p)
		}
		v.Set(s)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	default:
		// Unreachable for Config's field types; a test decodes every field.
		d.errf(ErrInvalid, n.Line, path, "unsupported field type %s", t)
	}
}

// scalar returns n's value if n is a scalar, else records a type error.
func (d *decoder) scalar(n *yaml.Node, path, want string, secret bool) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errf(ErrInvalid, n.Line, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	if n.ShortTag() == "!!binary" {
		what := "binary data"
		if !secret {
			what = fmt.Sprintf("%s %q", what, n.Value)
		}
		d.errf(ErrInvalid, n.Line, path, "want %s, got %s", want, what)
		return "", false
	}
	return n.Value, true
}

// decodeJSON stores a YAML mapping or list as its JSON encoding, and a
// string as it is (JSON written as a string); validation parses it.
func (d *decoder) decodeJSON(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode {
		if s, ok := d.scalar(n, path, "a mapping or a JSON string", false); ok {
			v.SetString(s)
		}
		return
	}
	if d.budget -= nodeCount(n); d.budget < 0 {
		d.errf(ErrInvalid, n.Line, path, "too large")
		return
	}
	var x any
	if err := n.Decode(&x); err != nil {
		d.errf(ErrInvalid, n.Line, path, "want a mapping or a JSON string: %v", err)
		return
	}
	b, err := json.Marshal(x)
	if err != nil {
		d.errf(ErrInvalid, n.Line, path, "cannot be written as JSON: %v", err)
		return
	}
	v.SetString(string(b))
}

// nodeCount counts the nodes under n, aliases not expanded.
func nodeCount(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += nodeCount(k)
	}
	return c
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a duration", false)
	if !ok {
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.errf(ErrInvalid, n.Line, path, "want a duration such as \"30s\", \"10m\" or \"720h\" (units ns, us, ms, s, m, h), got %q", s)
		return
	}
	v.SetInt(int64(dur))
}

// decodePrefix accepts a CIDR ("10.0.0.0/8") or a single address, which
// stands for itself (/32 or /128). A CIDR with host bits set is refused: it
// is almost always a typo for a different network.
func (d *decoder) decodePrefix(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a CIDR", false)
	if !ok {
		return
	}
	p, err := parsePrefix(s)
	if err != nil {
		d.errf(ErrInvalid, n.Line, path, "%v", err)
		return
	}
	v.Set(reflect.ValueOf(p))
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("want a CIDR such as \"10.0.0.0/8\" or an IP address, got %q", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("want a CIDR such as \"10.0.0.0/8\" or an IP address, got %q", s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is an IPv4-mapped IPv6 CIDR; write the IPv4 form", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; did you mean %q?", s, m.String())
	}
	return p, nil
}

func (d *decoder) decodeByteSize(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a size", false)
	if !ok {
		return
	}
	b, err := parseByteSize(s)
	if err != nil {
		d.errf(ErrInvalid, n.Line, path, "%v", err)
		return
	}
	v.SetInt(int64(b))
}

func parseByteSize(s string) (ByteSize, error) {
	num, mult := s, int64(1)
	for _, u := range append(byteUnits, struct {
		suffix string
		size   int64
	}{"B", 1}) {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.size
			break
		}
	}
	i, err := strconv.ParseInt(num, 10, 64)
	if err != nil || i < 0 || i > (1<<62)/mult {
		return 0, fmt.Errorf("want a size in bytes such as 65536 or \"64KiB\" (suffixes B, KiB, MiB, GiB), got %q", s)
	}
	return ByteSize(i * mult), nil
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errf(ErrInvalid, n.Line, path, "want a mapping of keys, got %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind == yaml.AliasNode {
			kn = kn.Alias
		}
		if kn == nil || kn.Kind != yaml.ScalarNode {
			line := n.Line
			if kn != nil {
				line = kn.Line
			}
			d.errf(ErrInvalid, line, path, "keys must be plain strings")
			continue
		}
		key := kn.Value
		kp := join(path, key)
		if key == "<<" && kn.ShortTag() == "!!merge" {
			d.errf(ErrInvalid, kn.Line, kp, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if first, dup := seen[key]; dup {
			d.errf(ErrInvalid, kn.Line, kp, "duplicate key (first given on line %d)", first)
			continue
		}
		seen[key] = kn.Line
		idx, ok := fields[key]
		if !ok {
			d.errs.add(&Error{Source: d.source, Line: kn.Line, Path: kp, Msg: suggest(v.Type(), key), Kind: ErrUnknownKey})
			continue
		}
		d.pos[kp] = kn.Line
		d.decode(vn, v.Field(idx), kp)
	}
}

// describe names the kind of a node for type errors, without its value.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		}
		return "a string"
	}
	return "a document"
}

// fieldsOf maps the yaml names of t's fields to their indexes.
func fieldsOf(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// suggest returns a "(did you mean ...?)" hint for an unknown key in a
// mapping of type t: the closest key at that level, or the full path of a
// key with that name elsewhere (a key put at the wrong level).
func suggest(t reflect.Type, key string) string {
	best, bestDist := "", 1<<30
	for name := range fieldsOf(t) {
		if dd := editDistance(strings.ToLower(key), name); dd < bestDist || dd == bestDist && name < best {
			best, bestDist = name, dd
		}
	}
	if best != "" && bestDist <= 1 {
		return fmt.Sprintf("(did you mean %q?)", best)
	}
	for _, p := range keyPaths() {
		if p[strings.LastIndexByte(p, '.')+1:] == key {
			return fmt.Sprintf("(did you mean %q?)", p)
		}
	}
	if best != "" && (bestDist <= 2 || bestDist <= len(key)/3) {
		return fmt.Sprintf("(did you mean %q?)", best)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20 // not worth suggesting; bounds the work
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// keyPaths lists every key path of Config in declaration order, with "[]"
// for list elements: "issuer", "tls", "tls.cert_file", "clients[].id", ...
func keyPaths() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			p := join(prefix, name)
			out = append(out, p)
			ft := f.Type
			switch {
			case ft.Kind() == reflect.Struct && ft != prefixType:
				walk(ft, p)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && ft.Elem() != prefixType:
				walk(ft.Elem(), p+"[]")
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out
}
