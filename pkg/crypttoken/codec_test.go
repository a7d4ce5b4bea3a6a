package crypttoken

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonscan"
)

// claimsEqual compares claims field by field, times with Equal.
func claimsEqual(a, b *Claims) bool {
	if a.Issuer != b.Issuer || a.Subject != b.Subject || a.ID != b.ID ||
		a.ClientID != b.ClientID || a.Scope != b.Scope || a.FamilyID != b.FamilyID ||
		a.Generation != b.Generation || a.Resource != b.Resource ||
		a.RedirectURI != b.RedirectURI || a.CodeChallenge != b.CodeChallenge ||
		a.CodeChallengeMethod != b.CodeChallengeMethod ||
		a.Status != b.Status || a.Confirmation != b.Confirmation {
		return false
	}
	if len(a.Audience) != len(b.Audience) {
		return false
	}
	for i := range a.Audience {
		if a.Audience[i] != b.Audience[i] {
			return false
		}
	}
	for _, p := range [][2]time.Time{{a.Expiry, b.Expiry}, {a.NotBefore, b.NotBefore}, {a.IssuedAt, b.IssuedAt}, {a.AuthTime, b.AuthTime}} {
		if !p[0].Equal(p[1]) {
			return false
		}
	}
	if len(a.Extra) != len(b.Extra) {
		return false
	}
	for k, v := range a.Extra {
		w, ok := b.Extra[k]
		if !ok || string(v) != string(w) {
			return false
		}
	}
	return true
}

// fullClaims sets every field, as a code or refresh token would.
func fullClaims() *Claims {
	return &Claims{
		Issuer: testIssuer, Subject: "u-1001", Audience: []string{"https://a.example.com", "https://b.example.com"},
		Expiry: testNow.Add(time.Minute), NotBefore: testNow.Add(-time.Second), IssuedAt: testNow,
		ID: "jti", ClientID: "webapp", Scope: "read write", AuthTime: testNow.Add(-time.Hour),
		FamilyID: "fam-1", Generation: math.MaxUint64, Resource: "https://api.example.com",
		RedirectURI: "https://app.example.com/cb?x=1&y=2", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Status:              StatusRef{Index: 1<<20 - 1, URI: "https://issuer.example.com/statuslists/a-1"},
		Confirmation:        Confirmation{JKT: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", X5TS256: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"},
		Extra: map[string]json.RawMessage{
			"acr": json.RawMessage(`"urn:mace:incommon:iap:silver"`), "roles": json.RawMessage(`["a","b"]`),
			"act": json.RawMessage(`{"sub":"svc-a","act":{"sub":"svc-b"}}`),
			"n":   json.RawMessage(`-1.5e3`), "ok": json.RawMessage(`true`), "nil": json.RawMessage(`null`),
		},
	}
}

func TestClaimsRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		claims *Claims
	}{
		{name: "empty", claims: &Claims{}},
		{name: "access token", claims: accessClaims()},
		{name: "every field, refresh and code fields, extras", claims: fullClaims()},
		{name: "escapes", claims: &Claims{Subject: "q\"b\\s/\b\f\n\r\t\x00\x1f\x7f", Scope: "<>&\u2028\u2029"}},
		{name: "unicode", claims: &Claims{Subject: "Zoë Ångström", ClientID: "клиент", Scope: "日本語"}},
		{name: "astral plane", claims: &Claims{Subject: "😀𝄞", Issuer: "\U0010FFFF"}},
		{name: "single audience", claims: &Claims{Audience: []string{"x"}}},
		{name: "status at index 0 (draft-ietf-oauth-status-list §6.1)", claims: &Claims{Status: StatusRef{URI: "https://i.example/s/1"}}},
		{name: "cnf jkt alone (RFC 9449 §6.1)", claims: &Claims{Confirmation: Confirmation{JKT: "abc"}}},
		{name: "cnf x5t#S256 alone (RFC 8705 §3.1)", claims: &Claims{Confirmation: Confirmation{X5TS256: "abc"}}},
		{name: "empty-string audiences in an array", claims: &Claims{Audience: []string{"a", ""}}},
		{name: "negative and distant dates", claims: &Claims{Expiry: time.Unix(jsonscan.MaxNumericDate, 0), NotBefore: time.Unix(jsonscan.MinNumericDate, 0), IssuedAt: time.Unix(-1, 0)}},
		{name: "unix epoch is a present claim", claims: &Claims{Expiry: time.Unix(0, 0)}},
		{name: "long string", claims: &Claims{Scope: strings.Repeat("scope ", 1000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := appendClaims(nil, tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(b) {
				t.Fatalf("invalid JSON %s", b)
			}
			// encoding/json reads the same values.
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if tt.claims.Subject != "" && m["sub"] != tt.claims.Subject {
				t.Errorf("encoding/json reads sub %q, want %q", m["sub"], tt.claims.Subject)
			}
			var got Claims
			if err := parseClaims(b, &got); err != nil {
				t.Fatalf("parse %s: %v", b, err)
			}
			if !claimsEqual(&got, tt.claims) {
				t.Errorf("round trip of %s:\n got %+v\nwant %+v", b, got, *tt.claims)
			}
			// Encoding is deterministic.
			b2, _ := appendClaims(nil, &got)
			if string(b2) != string(b) {
				t.Errorf("re-encoding differs:\n%s\n%s", b, b2)
			}
		})
	}
}

func TestClaimsEncodeInvalidUTF8(t *testing.T) {
	b, err := appendClaims(nil, &Claims{Subject: "a\xffb\xc3"})
	if err != nil {
		t.Fatal(err)
	}
	var got Claims
	if err := parseClaims(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Subject != "a\uFFFDb\uFFFD" {
		t.Errorf("sub = %q, want invalid bytes replaced by U+FFFD", got.Subject)
	}
}

func TestParseClaims(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		ok    bool
		check func(t *testing.T, c *Claims)
	}{
		{name: "empty object", in: `{}`, ok: true},
		{name: "white space everywhere", in: " \t\r\n{ \"sub\" : \"a\" , \"exp\" : 5 , \"aud\" : [ \"x\" , \"y\" ] }\n ", ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Subject != "a" || c.Expiry.Unix() != 5 || len(c.Audience) != 2 {
					t.Errorf("%+v", c)
				}
			}},
		{name: "escapes decoded", in: `{"sub":"\"\\\/\b\f\n\r\tA\u00e9\u20ac"}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Subject != "\"\\/\b\f\n\r\tAé€" {
					t.Errorf("sub = %q", c.Subject)
				}
			}},
		{name: "surrogate pair", in: `{"sub":"\ud83d\ude00x"}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Subject != "😀x" {
					t.Errorf("sub = %q", c.Subject)
				}
			}},
		{name: "lone high surrogate", in: `{"sub":"\ud83dx"}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Subject != "\uFFFDx" {
					t.Errorf("sub = %q", c.Subject)
				}
			}},
		{name: "high surrogate then a plain escape", in: `{"sub":"\ud83d\u0041"}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Subject != "\uFFFDA" {
					t.Errorf("sub = %q", c.Subject)
				}
			}},
		{name: "lone low surrogate", in: `{"sub":"\ude00"}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Subject != "\uFFFD" {
					t.Errorf("sub = %q", c.Subject)
				}
			}},
		{name: "escaped member name", in: `{"\u0073ub":"a"}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Subject != "a" {
					t.Errorf("sub = %q", c.Subject)
				}
			}},
		{name: "raw UTF-8", in: `{"sub":"Zoë 😀"}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Subject != "Zoë 😀" {
					t.Errorf("sub = %q", c.Subject)
				}
			}},
		{name: "null members are absent", in: `{"iss":null,"sub":null,"aud":null,"exp":null,"nbf":null,"gen":null,"scope":null}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if !claimsEqual(c, &Claims{}) {
					t.Errorf("%+v", c)
				}
			}},
		{name: "fractional date truncated", in: `{"exp":1700000000.999,"nbf":-1.5}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Expiry.Unix() != 1700000000 || c.NotBefore.Unix() != -1 {
					t.Errorf("exp %d nbf %d", c.Expiry.Unix(), c.NotBefore.Unix())
				}
			}},
		{name: "exponent date", in: `{"exp":1.7E9,"iat":17e8}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Expiry.Unix() != 1700000000 || c.IssuedAt.Unix() != 1700000000 {
					t.Errorf("exp %d", c.Expiry.Unix())
				}
			}},
		{name: "largest date", in: `{"exp":253402300799}`, ok: true},
		{name: "smallest date", in: `{"exp":-62135596799}`, ok: true},
		{name: "date past year 9999", in: `{"exp":253402300800}`},
		{name: "date before year 1", in: `{"exp":-62135596800}`},
		{name: "huge integer date", in: `{"exp":123456789012345678901234567890}`},
		{name: "huge exponent date", in: `{"exp":1e400}`},
		{name: "huge fractional date", in: `{"exp":253402300800.5}`},
		{name: "date as string", in: `{"exp":"1700000000"}`},
		{name: "date with leading zero", in: `{"exp":01}`},
		{name: "date with plus", in: `{"exp":+1}`},
		{name: "date bare minus", in: `{"exp":-}`},
		{name: "date bare fraction", in: `{"exp":1.}`},
		{name: "date NaN", in: `{"exp":NaN}`},
		{name: "gen max", in: `{"gen":18446744073709551615}`, ok: true},
		{name: "gen overflow", in: `{"gen":18446744073709551616}`},
		{name: "gen negative", in: `{"gen":-1}`},
		{name: "gen fraction", in: `{"gen":1.0}`},
		{name: "aud empty array", in: `{"aud":[]}`, ok: true},
		{name: "aud holds a number", in: `{"aud":["a",1]}`},
		{name: "aud trailing comma", in: `{"aud":["a",]}`},
		{name: "aud object", in: `{"aud":{}}`},
		{name: "duplicate registered member", in: `{"sub":"a","sub":"b"}`},
		{name: "duplicate after null", in: `{"sub":null,"sub":"b"}`},
		{name: "duplicate escaped member", in: `{"sub":"a","\u0073ub":"b"}`},
		{name: "duplicate extra member", in: `{"x":1,"x":1}`},
		{name: "raw invalid UTF-8", in: "{\"sub\":\"a\xffb\"}"},
		{name: "raw invalid UTF-8 in a long string", in: "{\"sub\":\"abcdefghijklmnop\xc3\"}"},
		{name: "invalid UTF-8 in a name", in: "{\"s\xffb\":1}"},
		{name: "control character", in: "{\"sub\":\"a\nb\"}"},
		{name: "DEL is allowed", in: "{\"sub\":\"a\x7fb\"}", ok: true},
		{name: "bad escape", in: `{"sub":"\x"}`},
		{name: "short unicode escape", in: `{"sub":"\u12"}`},
		{name: "bad hex", in: `{"sub":"\u12g4"}`},
		{name: "surrogate then bad escape", in: `{"sub":"\ud83d\u12"}`},
		{name: "unterminated string", in: `{"sub":"abc`},
		{name: "unterminated escape", in: `{"sub":"abc\`},
		{name: "trailing data", in: `{}{}`},
		{name: "trailing NUL", in: "{}\x00"},
		{name: "array", in: `[]`},
		{name: "string", in: `"a"`},
		{name: "empty", in: ``},
		{name: "missing colon", in: `{"sub" "a"}`},
		{name: "missing comma", in: `{"sub":"a" "iss":"b"}`},
		{name: "trailing comma", in: `{"sub":"a",}`},
		{name: "leading comma", in: `{,"sub":"a"}`},
		{name: "single quotes", in: `{'sub':'a'}`},
		{name: "unquoted name", in: `{sub:"a"}`},
		{name: "extra values of every kind", in: `{"a":{"b":[1,-2.5e-3,true,false,null,"x",{}]},"c":[],"d":"\u00e9"}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if string(c.Extra["a"]) != `{"b":[1,-2.5e-3,true,false,null,"x",{}]}` || string(c.Extra["d"]) != `"\u00e9"` {
					t.Errorf("extra = %s", c.Extra)
				}
			}},
		{name: "extra nesting at the limit", in: `{"x":` + strings.Repeat("[", jsonscan.MaxDepth+1) + strings.Repeat("]", jsonscan.MaxDepth+1) + `}`, ok: true},
		{name: "extra nesting too deep", in: `{"x":` + strings.Repeat("[", jsonscan.MaxDepth+2) + strings.Repeat("]", jsonscan.MaxDepth+2) + `}`},
		{name: "extra bad literal", in: `{"x":tru}`},
		{name: "status list draft §6.1 example", in: `{"status":{"status_list":{"idx":0,"uri":"https://example.com/statuslists/1"}}}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Status != (StatusRef{Index: 0, URI: "https://example.com/statuslists/1"}) {
					t.Errorf("status = %+v", c.Status)
				}
			}},
		{name: "status with another mechanism beside status_list", in: `{"status":{"other":{"a":[1]},"status_list":{"uri":"u","idx":7,"x":null}}}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Status != (StatusRef{Index: 7, URI: "u"}) {
					t.Errorf("status = %+v", c.Status)
				}
			}},
		{name: "status without status_list is no status", in: `{"status":{}}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if !c.Status.IsZero() {
					t.Errorf("status = %+v", c.Status)
				}
			}},
		{name: "status_list without idx", in: `{"status":{"status_list":{"uri":"u"}}}`},
		{name: "status_list without uri", in: `{"status":{"status_list":{"idx":1}}}`},
		{name: "status_list empty uri", in: `{"status":{"status_list":{"idx":1,"uri":""}}}`},
		{name: "status_list negative idx", in: `{"status":{"status_list":{"idx":-1,"uri":"u"}}}`},
		{name: "status_list fractional idx", in: `{"status":{"status_list":{"idx":1.5,"uri":"u"}}}`},
		{name: "status_list idx as string", in: `{"status":{"status_list":{"idx":"1","uri":"u"}}}`},
		{name: "status_list duplicate idx", in: `{"status":{"status_list":{"idx":1,"idx":2,"uri":"u"}}}`},
		{name: "status_list twice", in: `{"status":{"status_list":{"idx":1,"uri":"u"},"status_list":{"idx":2,"uri":"v"}}}`},
		{name: "status as array", in: `{"status":[]}`},
		{name: "status twice", in: `{"status":{},"status":{}}`},
		{name: "cnf jkt and x5t#S256", in: `{"cnf":{"jkt":"a","x5t#S256":"b"}}`, ok: true,
			check: func(t *testing.T, c *Claims) {
				if c.Confirmation != (Confirmation{JKT: "a", X5TS256: "b"}) {
					t.Errorf("cnf = %+v", c.Confirmation)
				}
			}},
		{name: "cnf with an unknown method fails closed (RFC 7800 §3.1)", in: `{"cnf":{"jwk":{"kty":"EC"}}}`},
		{name: "cnf with a known and an unknown method", in: `{"cnf":{"jkt":"a","kid":"b"}}`},
		{name: "cnf empty object", in: `{"cnf":{}}`},
		{name: "cnf empty jkt", in: `{"cnf":{"jkt":""}}`},
		{name: "cnf duplicate jkt", in: `{"cnf":{"jkt":"a","jkt":"b"}}`},
		{name: "cnf jkt not a string", in: `{"cnf":{"jkt":1}}`},
		{name: "extra object missing value", in: `{"x":{"a":}}`},
		{name: "extra array unterminated", in: `{"x":[1,2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Claims
			err := parseClaims([]byte(tt.in), &c)
			if (err == nil) != tt.ok {
				t.Fatalf("parseClaims(%q) error = %v, want ok %v", tt.in, err, tt.ok)
			}
			if tt.ok && tt.check != nil {
				tt.check(t, &c)
			}
			// Whatever parses is valid JSON to encoding/json too.
			if err == nil && !json.Valid([]byte(tt.in)) {
				t.Errorf("accepted what encoding/json rejects")
			}
		})
	}
}

// TestParseStringsAgainstEncodingJSON compares the string decoder with
// encoding/json on strings with escapes at every position around the
// 8-byte scanning blocks.
func TestParseStringsAgainstEncodingJSON(t *testing.T) {
	pieces := []string{`a`, `\"`, `\\`, `\n`, `\u00e9`, `é`, `😀`, `\ud83d\ude00`, `\ud800`, "\x7f", `/`}
	for n := range 20 {
		for _, p := range pieces {
			lit := `"` + strings.Repeat("x", n) + p + strings.Repeat("y", 20-n) + `"`
			d := jsonscan.New([]byte(lit))
			got, err := d.String()
			var want string
			if jerr := json.Unmarshal([]byte(lit), &want); jerr != nil || err != nil {
				t.Fatalf("%s: ours %v, encoding/json %v", lit, err, jerr)
			}
			if got != want || d.Offset() != len(lit) {
				t.Errorf("%s: got %q at %d, want %q", lit, got, d.Offset(), want)
			}
		}
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want header
		ok   bool
	}{
		{name: "ours", in: `{"alg":"A256KW","enc":"A256GCM","kid":"k1","typ":"at+jwt"}`, ok: true,
			want: header{alg: "A256KW", enc: "A256GCM", kid: "k1", typ: "at+jwt"}},
		{name: "any order, unknown members ignored", in: `{"typ":"at+jwt","x5u":"https://evil","jwk":{"kty":"oct"},"kid":"k","enc":"A256GCM","alg":"dir"}`, ok: true,
			want: header{alg: "dir", enc: "A256GCM", kid: "k", typ: "at+jwt"}},
		{name: "zip and crit flagged", in: `{"zip":"DEF","crit":[]}`, ok: true, want: header{zip: true, crit: true}},
		{name: "duplicate kid", in: `{"kid":"a","kid":"b"}`},
		{name: "kid not a string", in: `{"kid":null}`},
		{name: "not an object", in: `"x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHeader([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("error = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestScopes(t *testing.T) {
	tests := []struct {
		name  string
		scope string
		has   string
		want  bool
		list  []string
	}{
		{name: "first", scope: "read write", has: "read", want: true, list: []string{"read", "write"}},
		{name: "last", scope: "read write", has: "write", want: true, list: []string{"read", "write"}},
		{name: "prefix is not a match", scope: "read write", has: "rea", list: []string{"read", "write"}},
		{name: "case-sensitive (RFC 6749 §3.3)", scope: "Read", has: "read", list: []string{"Read"}},
		{name: "empty scope asked", scope: "read  write", has: "", list: []string{"read", "write"}},
		{name: "empty claim", scope: "", has: "read"},
		{name: "tab is not a separator", scope: "read\twrite", has: "read", list: []string{"read\twrite"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Claims{Scope: tt.scope}
			if got := c.HasScope(tt.has); got != tt.want {
				t.Errorf("HasScope(%q) = %v", tt.has, got)
			}
			if got := c.Scopes(); !reflect.DeepEqual(got, tt.list) {
				t.Errorf("Scopes() = %q, want %q", got, tt.list)
			}
		})
	}
}
