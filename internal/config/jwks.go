package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

var jwkSetType = reflect.TypeFor[JWKSet]()

// maxJWKSetDepth bounds the nesting of a JWK Set in the configuration (a
// JWK Set is three levels deep).
const maxJWKSetDepth = 16

// decodeJWKSet reads a JWK Set written as a YAML mapping (JSON is YAML) or
// as a string of JSON, and stores it as canonical compact JSON (members
// sorted), so that Marshal writes it back alike. No message quotes the
// value: a private key pasted by mistake stays out of logs.
func (d *decoder) decodeJWKSet(n *yaml.Node, v reflect.Value, path string) {
	var val any
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" {
			d.errf(ErrInvalid, n.Line, path, "want a JWK Set (a mapping, or a string of JSON), got %s", describe(n))
			return
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(n.Value)))
		dec.UseNumber()
		if err := dec.Decode(&val); err != nil || dec.More() {
			d.errf(ErrInvalid, n.Line, path, "not a JSON object: want a JWK Set {\"keys\": [...]}")
			return
		}
	case yaml.MappingNode:
		var ok bool
		if val, ok = d.jsonValue(n, path, 0); !ok {
			return
		}
	default:
		d.errf(ErrInvalid, n.Line, path, "want a JWK Set (a mapping, or a string of JSON), got %s", describe(n))
		return
	}
	if _, isObject := val.(map[string]any); !isObject {
		d.errf(ErrInvalid, n.Line, path, "not a JSON object: want a JWK Set {\"keys\": [...]}")
		return
	}
	b, err := json.Marshal(val)
	if err != nil {
		d.errf(ErrInvalid, n.Line, path, "not representable as JSON")
		return
	}
	v.SetString(string(b))
}

// jsonValue converts a YAML node into the value encoding/json would decode
// from the same JSON, charging aliases to the budget.
func (d *decoder) jsonValue(n *yaml.Node, path string, depth int) (any, bool) {
	if n = d.deref(n); n == nil {
		return nil, false
	}
	if depth > maxJWKSetDepth {
		d.errf(ErrInvalid, n.Line, path, "nested more than %d levels", maxJWKSetDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := d.deref(n.Content[i])
			if k == nil || k.Kind != yaml.ScalarNode {
				d.errf(ErrInvalid, n.Line, path, "JSON member names must be strings")
				return nil, false
			}
			if _, dup := m[k.Value]; dup {
				d.errf(ErrInvalid, k.Line, path, "duplicate member %q", k.Value)
				return nil, false
			}
			val, ok := d.jsonValue(n.Content[i+1], path, depth+1)
			if !ok {
				return nil, false
			}
			m[k.Value] = val
		}
		return m, true
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, ok := d.jsonValue(c, path, depth+1)
			if !ok {
				return nil, false
			}
			list = append(list, val)
		}
		return list, true
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return n.Value, true
		case "!!bool":
			b, err := strconv.ParseBool(n.Value)
			return b, err == nil
		case "!!null":
			return nil, true
		case "!!int", "!!float":
			if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return json.Number(n.Value), true
			}
		}
		d.errf(ErrInvalid, n.Line, path, "a value that is not JSON (%s)", describe(n))
		return nil, false
	}
	d.errf(ErrInvalid, n.Line, path, "a value that is not JSON")
	return nil, false
}

// jwkSetNode writes a JWK Set as a YAML flow mapping, members sorted: it
// reads as the JSON it is. A value that is not JSON is written as a string.
func jwkSetNode(s string) *yaml.Node {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var val any
	if s == "" || dec.Decode(&val) != nil {
		return scalarNode("!!str", s)
	}
	n := jsonNode(val)
	n.Style = yaml.FlowStyle
	return n
}

func jsonNode(v any) *yaml.Node {
	switch x := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Style: yaml.DoubleQuotedStyle}, jsonNode(x[k]))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, e := range x {
			n.Content = append(n.Content, jsonNode(e))
		}
		return n
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x, Style: yaml.DoubleQuotedStyle}
	case json.Number:
		tag := "!!int"
		if _, err := strconv.ParseInt(string(x), 10, 64); err != nil {
			tag = "!!float"
		}
		return scalarNode(tag, string(x))
	case bool:
		return scalarNode("!!bool", strconv.FormatBool(x))
	}
	return scalarNode("!!null", "null")
}
