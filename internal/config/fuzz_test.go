package config

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics; every error is a set of *Error values
// wrapping a sentinel; and a configuration that parses is valid and survives
// a Marshal/Parse round trip unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(specSample(f)))
	f.Add([]byte(baseYAML()))
	f.Add(Example())
	f.Add([]byte("issuer: https://a.example\ntls: {cert_file: a, key_file: b}\naudiences: [{name: \"https://x.example\"}]\n"))
	f.Add([]byte("clients:\n  - &c {id: a, redirect_uris: [x, x]}\n  - *c\n"))
	f.Add([]byte("tls:\n  <<: {cert_file: a}\n"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Add([]byte("limits: {max_body_bytes: 64KiB, max_conns_per_ip: 0x10}\ntrusted_proxies: [10.0.0.1, \"::/0\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml", WithBaseDir("/srv"))
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a Config with an error")
			}
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			problems(t, err)
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
		out, err := Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		c2, err := Parse(out, "marshalled.yaml", WithBaseDir("/elsewhere"))
		if err != nil {
			t.Fatalf("Parse(Marshal(c)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the config\nfirst:  %#v\nsecond: %#v\n%s", c, c2, out)
		}
	})
}
