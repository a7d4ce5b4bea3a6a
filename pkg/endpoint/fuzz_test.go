package endpoint

// Fuzz targets for the parsers of the token endpoint. They live in the
// internal test package because parseBasic and peekKID are unexported;
// FuzzToken and FuzzIntrospect drive whole endpoints from package
// endpoint_test.

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzParseParams checks ParseParams against net/url.ParseQuery: where
// both accept the input, ParseParams holds exactly the names sent with a
// value, each with its one value (RFC 6749 §3.1: empty = omitted; a
// repeat is an error).
func FuzzParseParams(f *testing.F) {
	for _, s := range []string{
		"grant_type=client_credentials&scope=read+write",
		"a=1&a=2", "a=&a=2", "=x&y=", "a=%zz", "a%2=b", "&&&", "a=b;c=d",
		"client_id=my%3Aapp%2B1&client_secret=s%3Ae%2Bc%25r+t",
		"k=%E2%82%AC&k2=%C3", strings.Repeat("x=1&", 65),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, e := ParseParams(s)
		if e != nil {
			if e.Code != InvalidRequest || p.Len() != 0 {
				t.Fatalf("error %v with %d params", e, p.Len())
			}
			return
		}
		seen := map[string]bool{}
		p.Each(func(name, value string) {
			if name == "" || value == "" || seen[name] {
				t.Fatalf("param %q=%q (seen %v)", name, value, seen[name])
			}
			seen[name] = true
			if p.Get(name) != value || !p.Has(name) {
				t.Fatalf("Get(%q) = %q, want %q", name, p.Get(name), value)
			}
		})
		if strings.Contains(s, ";") {
			return // net/url refuses ';', the WHATWG form parser does not
		}
		q, err := url.ParseQuery(s)
		if err != nil {
			t.Fatalf("ParseParams accepted %q, net/url did not: %v", s, err)
		}
		for name, vals := range q {
			vals = slices.DeleteFunc(slices.Clone(vals), func(v string) bool { return v == "" })
			switch {
			case name == "" || len(vals) == 0:
				if p.Has(name) && name != "" {
					t.Fatalf("%q kept with no value", name)
				}
			case len(vals) > 1:
				t.Fatalf("%q repeated but accepted", name)
			case p.Get(name) != vals[0]:
				t.Fatalf("%q = %q, net/url %q", name, p.Get(name), vals[0])
			}
		}
	})
}

// FuzzParseBasic checks that parseBasic never panics, and that what it
// returns re-encodes (RFC 6749 §2.3.1: form-urlencode, then RFC 7617) to a
// header that parses back to the same id and secret — or, when escaping
// has grown the credentials past maxBasicCredentials (a raw non-ASCII
// byte is accepted, and becomes three bytes escaped), is refused.
func FuzzParseBasic(f *testing.F) {
	enc := func(id, sec string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec)))
	}
	for _, s := range []string{
		enc("backend", "secret"), enc("my:app+1", "s:e+c%r t"), enc("webapp", "p+ss:w%rd é/?"),
		"Basic Og==", "basic YTpi", "Basic  YTpi", "Bearer YTpi", "Basic", "Basic YTpi=", "Basic %%%%",
		"Basic " + base64.StdEncoding.EncodeToString([]byte("a%zz:b")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		id, sec, ok := parseBasic(h)
		if !ok {
			if id != "" || sec != "" {
				t.Fatalf("failure returned %q, %q", id, sec)
			}
			return
		}
		if id == "" {
			t.Fatal("empty client id accepted")
		}
		again := enc(id, sec)
		id2, sec2, ok := parseBasic(again)
		if len(again)-len("Basic ") > maxBasicCredentials {
			if ok {
				t.Fatalf("credentials of %d bytes accepted, more than %d", len(again)-len("Basic "), maxBasicCredentials)
			}
			return
		}
		if !ok || id2 != id || sec2 != sec {
			t.Fatalf("round trip of %q, %q gave %q, %q, %v", id, sec, id2, sec2, ok)
		}
	})
}

// FuzzParseScope checks RFC 6749 §3.3: every token returned is a
// scope-token, none twice, and the space-joined result parses to itself.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"read write", "read  read", " a ", `a"b`, "a\\b", "é", "\x21\x7e", "   ", strings.Repeat("s ", 3000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scopes, e := ParseScope(s)
		if e != nil {
			if e.Code != InvalidScope || scopes != nil {
				t.Fatalf("error %v with %v", e, scopes)
			}
			return
		}
		if s == "" {
			if scopes != nil {
				t.Fatalf("empty scope parsed to %v", scopes)
			}
			return
		}
		for i, sc := range scopes {
			if !validScopeToken(sc) || slices.Contains(scopes[:i], sc) {
				t.Fatalf("token %q in %v", sc, scopes)
			}
		}
		again, e := ParseScope(strings.Join(scopes, " "))
		if e != nil || !slices.Equal(again, scopes) {
			t.Fatalf("%v re-parsed to %v, %v", scopes, again, e)
		}
		if scopeDiffers(s, strings.Join(scopes, " ")) {
			t.Fatalf("%q differs from its own parse %v", s, scopes)
		}
	})
}

// FuzzPeekKID checks that reading a token's kid never panics and only
// succeeds on a header that decodes to JSON with a kid.
func FuzzPeekKID(f *testing.F) {
	hdr := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{
		hdr(`{"alg":"A256KW","enc":"A256GCM","kid":"k1","typ":"at+jwt"}`) + ".a.b.c.d",
		hdr(`{"kid":""}`) + ".", hdr(`{"kid":7}`) + ".", hdr(`[]`) + ".", "..", "", "x",
		strings.Repeat("A", 600) + ".",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		kid, ok := peekKID(tok)
		if ok != (kid != "") {
			t.Fatalf("kid %q, ok %v", kid, ok)
		}
		if ok && !strings.Contains(tok, ".") {
			t.Fatalf("kid from a token without a header segment: %q", tok)
		}
	})
}
