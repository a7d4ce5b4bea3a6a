package authheader

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestCredentials(t *testing.T) {
	both := []string{"Bearer", "DPoP"}
	tests := []struct {
		name          string
		values        []string
		schemes       []string
		scheme, token string
		err           error
	}{
		{name: "RFC 6750 §2.1 Bearer", values: []string{"Bearer abc.DEF-_~+/"}, schemes: both, scheme: "Bearer", token: "abc.DEF-_~+/"},
		{name: "RFC 9449 §7.1 DPoP", values: []string{"DPoP a.b.c"}, schemes: both, scheme: "DPoP", token: "a.b.c"},
		{name: "RFC 6750 §2.1 b64token ends in padding", values: []string{"Bearer abc=="}, schemes: both, scheme: "Bearer", token: "abc=="},
		{name: "RFC 9110 §11.1 scheme in any case, returned as asked", values: []string{"dPoP x"}, schemes: both, scheme: "DPoP", token: "x"},
		{name: "RFC 6750 §2.1 1*SP: several spaces", values: []string{"Bearer    abc"}, schemes: both, scheme: "Bearer", token: "abc"},
		{name: "a scheme not asked for", values: []string{"DPoP abc"}, schemes: []string{"Bearer"}, err: ErrAbsent},
		{name: "RFC 9110 §11.6.2 no Authorization field", schemes: both, err: ErrAbsent},
		{name: "another scheme", values: []string{"Basic abc"}, schemes: both, err: ErrAbsent},
		{name: "empty value", values: []string{""}, schemes: both, err: ErrAbsent},
		{name: "a longer scheme name", values: []string{"Bearerish abc"}, schemes: both, err: ErrAbsent},
		{name: "RFC 6750 §2.1 SP, not a tab, after the scheme", values: []string{"Bearer\tabc"}, schemes: both, err: ErrAbsent},
		{name: "the scheme alone", values: []string{"DPoP"}, schemes: both, scheme: "DPoP", err: ErrMalformed},
		{name: "the scheme and a space", values: []string{"Bearer "}, schemes: both, scheme: "Bearer", err: ErrMalformed},
		{name: "RFC 6750 §2.1 one b64token: two", values: []string{"Bearer a b"}, schemes: both, scheme: "Bearer", err: ErrMalformed},
		{name: "RFC 6750 §2.1 one b64token: a trailing space", values: []string{"Bearer abc "}, schemes: both, scheme: "Bearer", err: ErrMalformed},
		{name: "RFC 6750 §2.1 b64token: padding only", values: []string{"Bearer =="}, schemes: both, scheme: "Bearer", err: ErrMalformed},
		{name: "RFC 6750 §2.1 b64token: padding inside", values: []string{"Bearer a=b"}, schemes: both, scheme: "Bearer", err: ErrMalformed},
		{name: "RFC 6750 §2.1 b64token: a comma (auth-param list)", values: []string{"Bearer a,b"}, schemes: both, scheme: "Bearer", err: ErrMalformed},
		{name: "RFC 6750 §2.1 b64token: non-ASCII", values: []string{"Bearer é"}, schemes: both, scheme: "Bearer", err: ErrMalformed},
		{name: "RFC 9110 §5.3 Authorization is not a list: two fields", values: []string{"Bearer a", "Bearer a"}, schemes: both, err: ErrRepeated},
		{name: "RFC 9110 §5.3 two fields of other schemes", values: []string{"Basic a", "Basic b"}, schemes: both, err: ErrRepeated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, tok, err := Credentials(tt.values, tt.schemes...)
			if s != tt.scheme || tok != tt.token || !errors.Is(err, tt.err) {
				t.Fatalf("Credentials(%q, %q) = %q, %q, %v; want %q, %q, %v", tt.values, tt.schemes, s, tok, err, tt.scheme, tt.token, tt.err)
			}
		})
	}
}

// b64tokenRE is RFC 6750 §2.1's b64token, written as the grammar reads.
var b64tokenRE = regexp.MustCompile(`\A[A-Za-z0-9\-._~+/]+=*\z`)

func TestB64Token(t *testing.T) {
	for _, s := range []string{"a", "abc.DEF-_~+/", "x==", "0", "~"} {
		if !B64Token(s) || !b64tokenRE.MatchString(s) {
			t.Errorf("B64Token(%q) = false", s)
		}
	}
	for _, s := range []string{"", "=", "a=b", "a b", "a,b", "a\"", "é", "a\x00"} {
		if B64Token(s) || b64tokenRE.MatchString(s) {
			t.Errorf("B64Token(%q) = true", s)
		}
	}
}

// FuzzCredentials: Credentials never panics; it returns a token only for
// one field of a scheme asked for, and that token is one b64token that
// ends the field (the grammar, checked by a regular expression).
func FuzzCredentials(f *testing.F) {
	for _, s := range []string{"Bearer abc", "dpop  a.b.c==", "Basic x", "Bearer", "DPoP a b", "DPoPabc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if B64Token(v) != b64tokenRE.MatchString(v) {
			t.Fatalf("B64Token(%q) = %v, the grammar says otherwise", v, B64Token(v))
		}
		scheme, tok, err := Credentials([]string{v}, "Bearer", "DPoP")
		switch {
		case err == ErrMalformed:
			if tok != "" || (scheme != "Bearer" && scheme != "DPoP") || !strings.EqualFold(v[:len(scheme)], scheme) {
				t.Fatalf("Credentials(%q) = %q, %q, %v", v, scheme, tok, err)
			}
			return
		case err != nil:
			if tok != "" || scheme != "" || err != ErrAbsent {
				t.Fatalf("Credentials(%q) = %q, %q, %v", v, scheme, tok, err)
			}
			return
		}
		if (scheme != "Bearer" && scheme != "DPoP") || !b64tokenRE.MatchString(tok) || !strings.HasSuffix(v, tok) ||
			!strings.EqualFold(v[:len(scheme)+1], scheme+" ") || strings.TrimLeft(v[len(scheme):], " ") != tok {
			t.Fatalf("Credentials(%q) = %q, %q", v, scheme, tok)
		}
	})
}
