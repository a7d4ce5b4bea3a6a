package crypttoken

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonscan"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// withPart returns tok with its part i replaced by s.
func withPart(tok string, i int, s string) string {
	p := strings.Split(tok, ".")
	p[i] = s
	return strings.Join(p, ".")
}

// part returns part i of tok.
func part(tok string, i int) string { return strings.Split(tok, ".")[i] }

// tamper flips the lowest bit of decoded byte at of part i and re-encodes
// the part canonically, so that only the cryptography can notice.
func tamper(t testing.TB, tok string, i, at int) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part(tok, i))
	if err != nil {
		t.Fatal(err)
	}
	if at < 0 {
		at += len(b)
	}
	b[at] ^= 1
	return withPart(tok, i, base64.RawURLEncoding.EncodeToString(b))
}

func b64s(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// openSentinels are the errors Open can return; the table below must reach
// each of them.
var openSentinels = []error{
	ErrMalformed, ErrAlgorithm, ErrCompression, ErrCritical, ErrUnknownKey,
	ErrDecrypt, ErrType, ErrExpired, ErrNotYetValid, ErrIssuedInFuture,
	ErrIssuer, ErrAudience, ErrMissingClaim,
}

func TestOpenRejects(t *testing.T) {
	kw := newFixture(t, keys.A256KW)
	dir := newFixture(t, keys.Direct)
	kwTok := kw.seal(t, TypeAccess, accessClaims())
	dirTok := dir.seal(t, TypeAccess, accessClaims())
	kwHdr := headerJSON(kw.key, TypeAccess)
	dirHdr := headerJSON(dir.key, TypeAccess)

	expiredLC := keys.Lifecycle{
		Created: testNow.Add(-3 * time.Hour), Activates: testNow.Add(-3 * time.Hour),
		Retires: testNow.Add(-2 * time.Hour), Expires: testNow.Add(-time.Minute),
	}
	expired, err := keys.NewKey("k-expired", keys.A256KW, testMaterial(9), expiredLC)
	if err != nil {
		t.Fatal(err)
	}
	// A ring holding the fixture's keys plus an expired one.
	both := testRing(t, kw.key, dir.key, expired)
	bothOpener, err := NewOpener(both, Expected{Issuer: testIssuer, Audience: testAudience}, WithClock(testClock))
	if err != nil {
		t.Fatal(err)
	}
	kwOnly, err := NewOpener(both, Expected{}, WithClock(testClock), WithAlgorithms(keys.A256KW))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		opener *Opener // nil: bothOpener
		token  string
		want   error
	}{
		// Shape (RFC 7516 §7.1).
		{name: "empty", token: "", want: ErrMalformed},
		{name: "four parts", token: strings.Join(strings.Split(kwTok, ".")[:4], "."), want: ErrMalformed},
		{name: "six parts", token: kwTok + ".", want: ErrMalformed},
		{name: "six parts inside", token: withPart(kwTok, 1, part(kwTok, 1)+"."), want: ErrMalformed},
		{name: "JWS compact (three parts)", token: b64s(`{"alg":"HS256"}`) + ".e30.c2ln", want: ErrMalformed},
		{name: "longer than max size", token: kwTok + strings.Repeat("A", 9000), want: ErrMalformed},
		{name: "header not base64url", token: withPart(kwTok, 0, "eyJ*"), want: ErrMalformed},
		{name: "header standard base64 alphabet", token: withPart(kwTok, 0, strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte(kwHdr+"??>")), "=", "")), want: ErrMalformed},
		{name: "header with padding", token: withPart(kwTok, 0, base64.URLEncoding.EncodeToString([]byte(kwHdr+" "))), want: ErrMalformed},
		{name: "header with newline", token: withPart(kwTok, 0, part(kwTok, 0)[:8]+"\n"+part(kwTok, 0)[8:]), want: ErrMalformed},
		{name: "header with CRLF", token: withPart(kwTok, 0, part(kwTok, 0)[:8]+"\r\n"+part(kwTok, 0)[8:]), want: ErrMalformed},
		{name: "header of impossible length", token: withPart(kwTok, 0, part(kwTok, 0)+pad1(part(kwTok, 0))), want: ErrMalformed},
		{name: "header too long", token: withPart(kwTok, 0, b64s(`{"alg":"A256KW","x":"`+strings.Repeat("x", 600)+`"}`)), want: ErrMalformed},
		{name: "header not JSON", token: withPart(kwTok, 0, b64s(`alg=A256KW`)), want: ErrMalformed},
		{name: "header JSON array", token: withPart(kwTok, 0, b64s(`["A256KW"]`)), want: ErrMalformed},
		{name: "header trailing data", token: withPart(kwTok, 0, b64s(kwHdr+"{}")), want: ErrMalformed},
		{name: "header duplicate alg", token: withPart(kwTok, 0, b64s(`{"alg":"dir","alg":"A256KW","enc":"A256GCM","kid":"k-A256KW","typ":"at+jwt"}`)), want: ErrMalformed},
		{name: "header alg not a string", token: withPart(kwTok, 0, b64s(`{"alg":1,"enc":"A256GCM"}`)), want: ErrMalformed},
		{name: "IV too short", token: withPart(kwTok, 2, part(kwTok, 2)[:15]), want: ErrMalformed},
		{name: "IV too long", token: withPart(kwTok, 2, part(kwTok, 2)+"AAAA"), want: ErrMalformed},
		{name: "IV not base64url", token: withPart(kwTok, 2, "!"+part(kwTok, 2)[1:]), want: ErrMalformed},
		{name: "tag with non-zero trailing bits", token: withPart(kwTok, 4, part(kwTok, 4)[:21]+nextChar(part(kwTok, 4)[21:])), want: ErrMalformed},
		{name: "tag too short", token: withPart(kwTok, 4, part(kwTok, 4)[:21]), want: ErrMalformed},
		{name: "tag with padding", token: withPart(kwTok, 4, part(kwTok, 4)[:20]+"=="), want: ErrMalformed},
		{name: "tag with newline", token: withPart(kwTok, 4, part(kwTok, 4)[:10]+"\n"+part(kwTok, 4)[11:]), want: ErrMalformed},
		{name: "encrypted key too short", token: withPart(kwTok, 1, part(kwTok, 1)[:53]), want: ErrMalformed},
		{name: "encrypted key missing", token: withPart(kwTok, 1, ""), want: ErrMalformed},
		{name: "encrypted key with newline", token: withPart(kwTok, 1, part(kwTok, 1)[:20]+"\n"+part(kwTok, 1)[21:]), want: ErrMalformed},
		{name: "dir with encrypted key", token: withPart(dirTok, 1, part(kwTok, 1)), want: ErrMalformed},
		{name: "ciphertext with newline", token: withPart(kwTok, 3, part(kwTok, 3)[:40]+"\n"+part(kwTok, 3)[40:]), want: ErrMalformed},
		{name: "ciphertext with CR at the end", token: withPart(kwTok, 3, part(kwTok, 3)+"\r"), want: ErrMalformed},
		{name: "ciphertext with padding", token: withPart(kwTok, 3, part(kwTok, 3)+"="), want: ErrMalformed},
		{name: "ciphertext of impossible length", token: withPart(kwTok, 3, part(kwTok, 3)+pad1(part(kwTok, 3))), want: ErrMalformed},
		{name: "ciphertext with space", token: withPart(kwTok, 3, " "+part(kwTok, 3)), want: ErrMalformed},
		{name: "claims not JSON", token: forge(t, kw.key, kwHdr, `iss=x`), want: ErrMalformed},
		{name: "claims JSON array", token: forge(t, kw.key, kwHdr, `[]`), want: ErrMalformed},
		{name: "claims empty", token: forge(t, dir.key, dirHdr, ``), want: ErrMalformed},
		{name: "claims duplicate exp", token: forge(t, kw.key, kwHdr, claimsJSON(`,"exp":1800000000`)), want: ErrMalformed},
		{name: "claims exp not a number", token: forge(t, kw.key, kwHdr, `{"exp":"1700000600"}`), want: ErrMalformed},

		// Algorithms (RFC 8725 §3.1, §3.2; SPEC §3).
		{name: "alg none", token: forge(t, dir.key, strings.Replace(dirHdr, `"dir"`, `"none"`, 1), claimsJSON("")), want: ErrAlgorithm},
		{name: "alg RSA-OAEP", token: forge(t, kw.key, strings.Replace(kwHdr, `"A256KW"`, `"RSA-OAEP"`, 1), claimsJSON("")), want: ErrAlgorithm},
		{name: "alg A128KW", token: forge(t, kw.key, strings.Replace(kwHdr, `"A256KW"`, `"A128KW"`, 1), claimsJSON("")), want: ErrAlgorithm},
		{name: "alg PBES2", token: forge(t, kw.key, strings.Replace(kwHdr, `"A256KW"`, `"PBES2-HS512+A256KW"`, 1), claimsJSON("")), want: ErrAlgorithm},
		{name: "alg lower case", token: forge(t, kw.key, strings.Replace(kwHdr, `"A256KW"`, `"a256kw"`, 1), claimsJSON("")), want: ErrAlgorithm},
		{name: "alg missing", token: forge(t, kw.key, strings.Replace(kwHdr, `"alg":"A256KW",`, ``, 1), claimsJSON("")), want: ErrAlgorithm},
		{name: "enc A128GCM", token: forge(t, kw.key, strings.Replace(kwHdr, `"A256GCM"`, `"A128GCM"`, 1), claimsJSON("")), want: ErrAlgorithm},
		{name: "enc A256CBC-HS512", token: forge(t, kw.key, strings.Replace(kwHdr, `"A256GCM"`, `"A256CBC-HS512"`, 1), claimsJSON("")), want: ErrAlgorithm},
		{name: "enc missing", token: forge(t, kw.key, strings.Replace(kwHdr, `"enc":"A256GCM",`, ``, 1), claimsJSON("")), want: ErrAlgorithm},
		{name: "dir header on an A256KW key", token: forge(t, dir.key, strings.Replace(dirHdr, dir.key.ID, kw.key.ID, 1), claimsJSON("")), want: ErrAlgorithm},
		{name: "A256KW header on a dir key", token: forge(t, kw.key, strings.Replace(kwHdr, kw.key.ID, dir.key.ID, 1), claimsJSON("")), want: ErrAlgorithm},
		{name: "dir refused by WithAlgorithms(A256KW)", opener: kwOnly, token: dirTok, want: ErrAlgorithm},
		{name: "zip", token: forge(t, kw.key, strings.Replace(kwHdr, `}`, `,"zip":"DEF"}`, 1), claimsJSON("")), want: ErrCompression},
		{name: "crit", token: forge(t, kw.key, strings.Replace(kwHdr, `}`, `,"crit":["exp"],"exp":1}`, 1), claimsJSON("")), want: ErrCritical},

		// Keys (SPEC §4).
		{name: "unknown kid", token: forge(t, kw.key, strings.Replace(kwHdr, kw.key.ID, "nobody", 1), claimsJSON("")), want: ErrUnknownKey},
		{name: "kid missing", token: forge(t, kw.key, strings.Replace(kwHdr, `"kid":"`+kw.key.ID+`",`, ``, 1), claimsJSON("")), want: ErrUnknownKey},
		{name: "kid of an expired key", token: forge(t, expired, headerJSON(expired, TypeAccess), claimsJSON("")), want: ErrUnknownKey},

		// Cryptography: one opaque error (RFC 7516 §11.4, §11.5).
		{name: "header member added", token: withPart(kwTok, 0, b64s(strings.Replace(kwHdr, `}`, `,"x":1}`, 1))), want: ErrDecrypt},
		{name: "header typ case changed", token: withPart(kwTok, 0, b64s(strings.Replace(kwHdr, "at+jwt", "AT+JWT", 1))), want: ErrDecrypt},
		{name: "header from another token", token: withPart(kwTok, 0, part(kw.seal(t, TypeRefresh, accessClaims()), 0)), want: ErrDecrypt},
		{name: "encrypted key tampered", token: tamper(t, kwTok, 1, 0), want: ErrDecrypt},
		{name: "encrypted key tampered at the end", token: tamper(t, kwTok, 1, -1), want: ErrDecrypt},
		{name: "encrypted key from another token", token: withPart(kwTok, 1, part(kw.seal(t, TypeAccess, accessClaims()), 1)), want: ErrDecrypt},
		{name: "IV tampered", token: tamper(t, kwTok, 2, 5), want: ErrDecrypt},
		{name: "ciphertext tampered", token: tamper(t, kwTok, 3, 0), want: ErrDecrypt},
		{name: "ciphertext truncated", token: withPart(kwTok, 3, reencode(t, part(kwTok, 3), func(b []byte) []byte { return b[:len(b)-3] })), want: ErrDecrypt},
		{name: "ciphertext extended", token: withPart(kwTok, 3, reencode(t, part(kwTok, 3), func(b []byte) []byte { return append(b, 0) })), want: ErrDecrypt},
		{name: "tag tampered", token: tamper(t, kwTok, 4, -1), want: ErrDecrypt},
		{name: "dir header tampered", token: withPart(dirTok, 0, b64s(strings.Replace(dirHdr, `}`, ` }`, 1))), want: ErrDecrypt},
		{name: "dir IV tampered", token: tamper(t, dirTok, 2, 0), want: ErrDecrypt},
		{name: "dir ciphertext tampered", token: tamper(t, dirTok, 3, 3), want: ErrDecrypt},
		{name: "dir tag tampered", token: tamper(t, dirTok, 4, 15), want: ErrDecrypt},
		{name: "wrong key, same kid", token: forge(t, testKey(t, kw.key.ID, keys.A256KW, 8), kwHdr, claimsJSON("")), want: ErrDecrypt},
		{name: "dir wrong key, same kid", token: forge(t, testKey(t, dir.key.ID, keys.Direct, 8), dirHdr, claimsJSON("")), want: ErrDecrypt},

		// Token type (RFC 9068 §4, RFC 8725 §3.11).
		{name: "refresh token to an access opener", token: kw.seal(t, TypeRefresh, accessClaims()), want: ErrType},
		{name: "code to an access opener", token: dir.seal(t, TypeCode, accessClaims()), want: ErrType},
		{name: "typ missing", token: forge(t, kw.key, strings.Replace(kwHdr, `,"typ":"at+jwt"`, ``, 1), claimsJSON("")), want: ErrType},
		{name: "typ JWT", token: forge(t, kw.key, strings.Replace(kwHdr, `at+jwt`, `JWT`, 1), claimsJSON("")), want: ErrType},
		{name: "typ with another media prefix", token: forge(t, kw.key, strings.Replace(kwHdr, `at+jwt`, `text/at+jwt`, 1), claimsJSON("")), want: ErrType},

		// Claims (RFC 7519 §4.1; RFC 9068 §4).
		{name: "exp missing", token: forge(t, kw.key, kwHdr, `{"iss":"`+testIssuer+`","aud":"`+testAudience+`"}`), want: ErrMissingClaim},
		{name: "exp null", token: forge(t, kw.key, kwHdr, `{"iss":"`+testIssuer+`","aud":"`+testAudience+`","exp":null}`), want: ErrMissingClaim},
		{name: "issuer differs", token: forge(t, kw.key, kwHdr, strings.Replace(claimsJSON(""), testIssuer, "https://evil.example.com", 1)), want: ErrIssuer},
		{name: "issuer differs in case", token: forge(t, kw.key, kwHdr, strings.Replace(claimsJSON(""), testIssuer, strings.ToUpper(testIssuer), 1)), want: ErrIssuer},
		{name: "issuer missing", token: forge(t, kw.key, kwHdr, `{"aud":"`+testAudience+`","exp":1700000600}`), want: ErrIssuer},
		{name: "audience string differs", token: forge(t, kw.key, kwHdr, strings.Replace(claimsJSON(""), testAudience, "https://other.example.com", 1)), want: ErrAudience},
		{name: "audience array without ours", token: forge(t, kw.key, kwHdr, strings.Replace(claimsJSON(""), `"`+testAudience+`"`, `["https://a.example.com","https://b.example.com"]`, 1)), want: ErrAudience},
		{name: "audience empty array", token: forge(t, kw.key, kwHdr, strings.Replace(claimsJSON(""), `"`+testAudience+`"`, `[]`, 1)), want: ErrAudience},
		{name: "audience missing", token: forge(t, kw.key, kwHdr, `{"iss":"`+testIssuer+`","exp":1700000600}`), want: ErrAudience},
		{name: "expired", token: forge(t, kw.key, kwHdr, strings.Replace(claimsJSON(""), "1700000600", "1699999999", 1)), want: ErrExpired},
		{name: "not yet valid", token: forge(t, kw.key, kwHdr, claimsJSON(`,"nbf":1700000001`)), want: ErrNotYetValid},
		{name: "issued in the future", token: forge(t, kw.key, kwHdr, strings.Replace(claimsJSON(""), "1700000000", "1700000001", 1)), want: ErrIssuedInFuture},
	}
	reached := map[error]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opener
			if o == nil {
				o = bothOpener
			}
			c, err := o.Open(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open() error = %v, want %v", err, tt.want)
			}
			if c != nil {
				t.Fatalf("Open() returned claims with error %v", err)
			}
			for _, other := range openSentinels {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
			if strings.Contains(err.Error(), tt.token) && tt.token != "" {
				t.Errorf("error %q echoes the token", err)
			}
			reached[tt.want] = true
		})
	}
	for _, s := range openSentinels {
		if !reached[s] {
			t.Errorf("no test reaches %v", s)
		}
	}
	// The valid tokens themselves open, with both the fixture's openers
	// and the shared one.
	for _, tok := range []string{kwTok, dirTok} {
		if _, err := bothOpener.Open(tok); err != nil {
			t.Errorf("valid token: %v", err)
		}
	}
}

// nextChar returns the base64url character after c: for the last
// character of a segment, the same data bits with a trailing bit set.
func nextChar(c string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return string(alphabet[strings.Index(alphabet, c)+1])
}

// reencode decodes the base64url segment s, edits it and encodes it again.
func reencode(t testing.TB, s string, edit func([]byte) []byte) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(edit(b))
}

// pad1 returns the characters to add to s to make its length 1 modulo 4,
// which no base64 encoding has.
func pad1(s string) string {
	return strings.Repeat("A", (5-len(s)%4)%4)
}

func TestSentinelsDistinct(t *testing.T) {
	all := append(slicesClone(openSentinels), ErrRevoked, ErrStatusUnknown, ErrNoStatus, ErrSignature,
		ErrNoKey, ErrKeyExhausted, ErrClaims, ErrConfig)
	for i, a := range all {
		if !strings.HasPrefix(a.Error(), "crypttoken: ") {
			t.Errorf("%q lacks the package prefix", a)
		}
		for j, b := range all {
			if i != j && (errors.Is(a, b) || a.Error() == b.Error()) {
				t.Errorf("%v and %v are not distinct", a, b)
			}
		}
	}
}

func slicesClone(s []error) []error { return append([]error(nil), s...) }

func TestOpenTimeBoundaries(t *testing.T) {
	f := newFixture(t, keys.A256KW)
	at := func(d time.Duration) time.Time { return testNow.Add(d) }
	tests := []struct {
		name   string
		leeway time.Duration
		edit   func(c *Claims)
		want   error
	}{
		{name: "exp one second ahead", edit: func(c *Claims) { c.Expiry = at(time.Second) }},
		{name: "exp now is expired (RFC 7519 §4.1.4: now must be before exp)", edit: func(c *Claims) { c.Expiry = at(0) }, want: ErrExpired},
		{name: "exp now within 1s leeway", leeway: time.Second, edit: func(c *Claims) { c.Expiry = at(0) }},
		{name: "exp 1s ago at 1s leeway is expired", leeway: time.Second, edit: func(c *Claims) { c.Expiry = at(-time.Second) }, want: ErrExpired},
		{name: "exp 29s ago within 30s leeway", leeway: 30 * time.Second, edit: func(c *Claims) { c.Expiry = at(-29 * time.Second) }},
		{name: "nbf now (RFC 7519 §4.1.5: on or after nbf)", edit: func(c *Claims) { c.NotBefore = at(0) }},
		{name: "nbf one second ahead", edit: func(c *Claims) { c.NotBefore = at(time.Second) }, want: ErrNotYetValid},
		{name: "nbf one second ahead within 1s leeway", leeway: time.Second, edit: func(c *Claims) { c.NotBefore = at(time.Second) }},
		{name: "nbf two seconds ahead at 1s leeway", leeway: time.Second, edit: func(c *Claims) { c.NotBefore = at(2 * time.Second) }, want: ErrNotYetValid},
		{name: "iat now", edit: func(c *Claims) { c.IssuedAt = at(0) }},
		{name: "iat one second ahead", edit: func(c *Claims) { c.IssuedAt = at(time.Second) }, want: ErrIssuedInFuture},
		{name: "iat one second ahead within 1s leeway", leeway: time.Second, edit: func(c *Claims) { c.IssuedAt = at(time.Second) }},
		{name: "iat two seconds ahead at 1s leeway", leeway: time.Second, edit: func(c *Claims) { c.IssuedAt = at(2 * time.Second) }, want: ErrIssuedInFuture},
		{name: "iat long ago", edit: func(c *Claims) { c.IssuedAt = at(-24 * time.Hour) }},
		{name: "audience array holding ours", edit: func(c *Claims) { c.Audience = []string{"https://a.example.com", testAudience} }},
		{name: "audience array of one", edit: func(c *Claims) { c.Audience = []string{testAudience} }},
		{name: "audience differs in case", edit: func(c *Claims) { c.Audience = []string{strings.ToUpper(testAudience)} }, want: ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := accessClaims()
			tt.edit(c)
			tok := f.seal(t, TypeAccess, c)
			o := f.newOpener(t, Expected{Issuer: testIssuer, Audience: testAudience, Leeway: tt.leeway})
			got, err := o.Open(tok)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open() error = %v, want %v", err, tt.want)
			}
			if err == nil && !got.Expiry.Equal(c.Expiry) {
				t.Errorf("exp = %v, want %v", got.Expiry, c.Expiry)
			}
		})
	}
}

func TestOpenExpected(t *testing.T) {
	f := newFixture(t, keys.Direct)
	refresh := f.seal(t, TypeRefresh, accessClaims())
	tests := []struct {
		name string
		exp  Expected
		tok  string
		want error
	}{
		{name: "zero Expected accepts any issuer and audience", exp: Expected{}, tok: f.seal(t, TypeAccess, &Claims{Expiry: testNow.Add(time.Minute)})},
		{name: "zero Expected wants an access token", exp: Expected{}, tok: refresh, want: ErrType},
		{name: "refresh opener opens refresh tokens", exp: Expected{Type: TypeRefresh}, tok: refresh},
		{name: "refresh opener refuses access tokens", exp: Expected{Type: TypeRefresh}, tok: f.seal(t, TypeAccess, accessClaims()), want: ErrType},
		{name: "code opener refuses refresh tokens", exp: Expected{Type: TypeCode}, tok: refresh, want: ErrType},
		{name: "Expected.Time overrides the clock", exp: Expected{Time: func() time.Time { return testNow.Add(11 * time.Minute) }}, tok: f.seal(t, TypeAccess, accessClaims()), want: ErrExpired},
		{name: "Expected.Time also decides key expiry", exp: Expected{Time: func() time.Time { return testNow.Add(3 * time.Hour) }}, tok: f.seal(t, TypeAccess, accessClaims()), want: ErrUnknownKey},
		{name: "application/ prefix in typ", exp: Expected{}, tok: forge(t, f.key, strings.Replace(headerJSON(f.key, TypeAccess), "at+jwt", "application/AT+JWT", 1), claimsJSON(""))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := f.newOpener(t, tt.exp)
			_, err := o.Open(tt.tok)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	f := newFixture(t, keys.A256KW)
	empty := keys.NewRing(nil)
	tests := []struct {
		name string
		do   func() error
	}{
		{name: "sealer nil ring", do: func() error { _, err := NewSealer(nil); return err }},
		{name: "sealer empty ring", do: func() error { _, err := NewSealer(empty); return err }},
		{name: "sealer nil option", do: func() error { _, err := NewSealer(f.ring, nil); return err }},
		{name: "sealer nil clock", do: func() error { _, err := NewSealer(f.ring, WithClock(nil)); return err }},
		{name: "sealer with an opener option", do: func() error { _, err := NewSealer(f.ring, WithMaxSize(1024)); return err }},
		{name: "sealer with algorithms", do: func() error { _, err := NewSealer(f.ring, WithAlgorithms(keys.Direct)); return err }},
		{name: "sealer over the signing ring", do: func() error {
			set, err := keys.NewSetFromPolicy(keys.SigningRing, testNow, keys.Policy{Alg: keys.ES256, RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: time.Hour})
			if err != nil {
				return err
			}
			_, err = NewSealer(keys.NewRing(set))
			return err
		}},
		{name: "opener nil ring", do: func() error { _, err := NewOpener(nil, Expected{}); return err }},
		{name: "opener bad type", do: func() error { _, err := NewOpener(f.ring, Expected{Type: "JWT"}); return err }},
		{name: "opener negative leeway", do: func() error { _, err := NewOpener(f.ring, Expected{Leeway: -time.Second}); return err }},
		{name: "opener huge leeway", do: func() error { _, err := NewOpener(f.ring, Expected{Leeway: time.Hour}); return err }},
		{name: "opener no algorithms", do: func() error { _, err := NewOpener(f.ring, Expected{}, WithAlgorithms()); return err }},
		{name: "opener algorithm none", do: func() error { _, err := NewOpener(f.ring, Expected{}, WithAlgorithms("none")); return err }},
		{name: "opener max size too small", do: func() error { _, err := NewOpener(f.ring, Expected{}, WithMaxSize(10)); return err }},
		{name: "opener max size too large", do: func() error { _, err := NewOpener(f.ring, Expected{}, WithMaxSize(2<<20)); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, ErrConfig) {
				t.Fatalf("error = %v, want ErrConfig", err)
			}
		})
	}
}

func TestSealErrors(t *testing.T) {
	f := newFixture(t, keys.A256KW)
	pending, err := keys.NewKey("k-pending", keys.A256KW, testMaterial(3), keys.Lifecycle{
		Created: testNow, Activates: testNow.Add(time.Hour), Retires: testNow.Add(2 * time.Hour), Expires: testNow.Add(3 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	noActive, err := NewSealer(testRing(t, pending), WithClock(testClock))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		sealer *Sealer
		typ    Type
		claims *Claims
		want   error
	}{
		{name: "unknown type", typ: "JWT", claims: accessClaims(), want: ErrClaims},
		{name: "empty type", typ: "", claims: accessClaims(), want: ErrClaims},
		{name: "nil claims", typ: TypeAccess, want: ErrClaims},
		{name: "no exp", typ: TypeAccess, claims: &Claims{Subject: "x"}, want: ErrClaims},
		{name: "exp after year 9999", typ: TypeAccess, claims: &Claims{Expiry: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, want: ErrClaims},
		{name: "nbf in year 0", typ: TypeAccess, claims: &Claims{Expiry: testNow, NotBefore: time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC)}, want: ErrClaims},
		{name: "extra shadows iss", typ: TypeAccess, claims: &Claims{Expiry: testNow, Extra: map[string]json.RawMessage{"iss": []byte(`"x"`)}}, want: ErrClaims},
		{name: "extra not JSON", typ: TypeAccess, claims: &Claims{Expiry: testNow, Extra: map[string]json.RawMessage{"x": []byte(`{`)}}, want: ErrClaims},
		{name: "extra empty", typ: TypeAccess, claims: &Claims{Expiry: testNow, Extra: map[string]json.RawMessage{"x": nil}}, want: ErrClaims},
		{name: "no active key", sealer: noActive, typ: TypeAccess, claims: accessClaims(), want: ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.sealer
			if s == nil {
				s = f.sealer
			}
			dst := []byte("prefix")
			out, err := s.AppendSeal(dst, tt.typ, tt.claims)
			if !errors.Is(err, tt.want) {
				t.Fatalf("AppendSeal() error = %v, want %v", err, tt.want)
			}
			if string(out) != "prefix" {
				t.Errorf("AppendSeal() changed dst on error: %q", out)
			}
			if tok, err := s.Seal(tt.typ, tt.claims); tok != "" || !errors.Is(err, tt.want) {
				t.Errorf("Seal() = %q, %v", tok, err)
			}
		})
	}
}

// TestSealRefusesExhaustedDirKey: a dir key that has sealed keys.SealLimit
// tokens seals no more (SPEC §3, NIST SP 800-38D §8.3), while an A256KW key
// has no such bound.
func TestSealRefusesExhaustedDirKey(t *testing.T) {
	f := newFixture(t, keys.Direct)
	key, err := f.ring.Load().Sealing(testNow)
	if err != nil {
		t.Fatal(err)
	}
	key.AddSealed(keys.SealLimit - 1 - key.Sealed())
	c := &Claims{Expiry: testNow.Add(time.Minute)}
	if _, err := f.sealer.Seal(TypeAccess, c); err != nil {
		t.Fatalf("seal number SealLimit: %v", err)
	}
	if _, err := f.sealer.Seal(TypeAccess, &Claims{Expiry: testNow.Add(time.Minute)}); !errors.Is(err, ErrKeyExhausted) {
		t.Fatalf("seal beyond SealLimit: err = %v, want ErrKeyExhausted", err)
	}

	kw := newFixture(t, keys.A256KW)
	kwKey, _ := kw.ring.Load().Sealing(testNow)
	kwKey.AddSealed(keys.SealLimit)
	if _, err := kw.sealer.Seal(TypeAccess, &Claims{Expiry: testNow.Add(time.Minute)}); err != nil {
		t.Fatalf("A256KW key past SealLimit: %v", err)
	}
}

func TestSealFillsIDAndIssuedAt(t *testing.T) {
	f := newFixture(t, keys.A256KW)
	c := &Claims{Expiry: testNow.Add(time.Minute)}
	tok := f.seal(t, TypeAccess, c)
	if len(c.ID) != 22 || !c.IssuedAt.Equal(testNow) {
		t.Fatalf("Seal left jti %q, iat %v", c.ID, c.IssuedAt)
	}
	got, err := f.newOpener(t, Expected{}).Open(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || !got.IssuedAt.Equal(testNow) {
		t.Errorf("opened jti %q iat %v, want %q %v", got.ID, got.IssuedAt, c.ID, testNow)
	}
	// Fresh jti, IV and content key every time.
	seen := map[string]bool{}
	for range 200 {
		c := &Claims{Expiry: testNow.Add(time.Minute)}
		tok := f.seal(t, TypeAccess, c)
		for _, s := range []string{c.ID, part(tok, 1), part(tok, 2)} {
			if seen[s] {
				t.Fatalf("repeated value %q", s)
			}
			seen[s] = true
		}
	}
}

func TestAppendSeal(t *testing.T) {
	for _, alg := range []keys.Alg{keys.A256KW, keys.Direct} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, alg)
			out, err := f.sealer.AppendSeal([]byte("Bearer "), TypeAccess, accessClaims())
			if err != nil {
				t.Fatal(err)
			}
			tok, ok := strings.CutPrefix(string(out), "Bearer ")
			if !ok {
				t.Fatalf("prefix lost: %q", out)
			}
			if _, err := f.opener.Open(tok); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestHeaderCache(t *testing.T) {
	f := newFixture(t, keys.A256KW)
	o := f.newOpener(t, Expected{})
	// Failed opens cache nothing, not even headers that parse.
	if _, err := o.Open(tamper(t, f.seal(t, TypeAccess, accessClaims()), 3, 0)); !errors.Is(err, ErrDecrypt) {
		t.Fatal(err)
	}
	if _, err := o.Open(f.seal(t, TypeRefresh, accessClaims())); !errors.Is(err, ErrType) {
		t.Fatal(err)
	}
	if m := o.headers.Load(); m != nil && len(*m) != 0 {
		t.Fatalf("cache holds %d headers after failures", len(*m))
	}
	for range 3 {
		if _, err := o.Open(f.seal(t, TypeAccess, accessClaims())); err != nil {
			t.Fatal(err)
		}
	}
	if m := o.headers.Load(); m == nil || len(*m) != 1 {
		t.Fatalf("cache = %v, want one header", m)
	}
	// A cached header still needs its key: remove the key from the ring.
	tok := f.seal(t, TypeAccess, accessClaims())
	other := testKey(t, "k-other", keys.A256KW, 1)
	set, err := keys.NewSet(testAudience, other)
	if err != nil {
		t.Fatal(err)
	}
	f.ring.Store(set)
	if _, err := o.Open(tok); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("cached header with its key gone: %v", err)
	}
	// The cache is bounded.
	for i := range maxCachedHeaders + 5 {
		o.remember(string(rune('a'+i%26))+strings.Repeat("x", i), openHeader{})
	}
	if m := o.headers.Load(); len(*m) > maxCachedHeaders {
		t.Fatalf("cache grew to %d", len(*m))
	}
}

// TestOpenRetainsNothing: Open's input may view a buffer the caller reuses
// (fasthttp's): overwriting it afterwards changes neither the claims nor
// the header cache.
func TestOpenRetainsNothing(t *testing.T) {
	for _, alg := range []keys.Alg{keys.A256KW, keys.Direct} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, alg)
			tok := f.seal(t, TypeAccess, fullClaims())
			o := f.newOpener(t, Expected{Issuer: testIssuer})
			buf := []byte(tok)
			c, err := o.Open(jsonscan.View(buf))
			if err != nil {
				t.Fatal(err)
			}
			for i := range buf {
				buf[i] = 'x'
			}
			want := fullClaims()
			want.Audience = c.Audience // fullClaims has two; compared below
			if !claimsEqual(c, want) || len(c.Audience) != 2 || c.Audience[1] != "https://b.example.com" {
				t.Fatalf("claims changed with the input buffer: %+v", c)
			}
			for seg := range *o.headers.Load() {
				if seg != part(tok, 0) {
					t.Fatalf("cached header key changed with the input buffer: %q", seg)
				}
			}
			// A bad token's error does not view the input either.
			bad := []byte(forge(t, f.key, strings.Replace(headerJSON(f.key, TypeAccess), f.key.ID, "unknown-kid", 1), claimsJSON("")))
			_, err = o.Open(jsonscan.View(bad))
			msg := err.Error()
			for i := range bad {
				bad[i] = 'x'
			}
			if err.Error() != msg || !strings.Contains(msg, "unknown-kid") {
				t.Fatalf("error changed with the input buffer: %q then %q", msg, err)
			}
		})
	}
}

// TestRoundTripEveryType seals claims with every field, refresh-token and
// code fields included, as each token type with each algorithm, and opens
// them with an Opener of that type.
func TestRoundTripEveryType(t *testing.T) {
	for _, alg := range []keys.Alg{keys.A256KW, keys.Direct} {
		f := newFixture(t, alg)
		for _, typ := range types {
			t.Run(string(alg)+"/"+string(typ), func(t *testing.T) {
				want := fullClaims()
				tok := f.seal(t, typ, want)
				got, err := f.newOpener(t, Expected{Type: typ, Issuer: testIssuer, Audience: "https://b.example.com"}).Open(tok)
				if err != nil {
					t.Fatal(err)
				}
				if !claimsEqual(got, want) {
					t.Fatalf("got %+v\nwant %+v", got, want)
				}
			})
		}
	}
}
