package jws_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/jws"
)

var enc = base64.RawURLEncoding

// craft builds a compact JWS from a literal header and payload, signed by
// f's signer over exactly those bytes.
func craft(t testing.TB, f *fixture, header, payload string) string {
	t.Helper()
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	sig, err := f.signer.Sign([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

func allKeys(t testing.TB) *jws.KeySet {
	t.Helper()
	var ks []*jws.Key
	for _, f := range testFixtures(t) {
		ks = append(ks, f.key)
	}
	set, err := jws.NewKeySet(ks...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestRoundTrip: every algorithm signs and verifies, header and payload
// intact.
func TestRoundTrip(t *testing.T) {
	for _, f := range testFixtures(t) {
		t.Run(f.alg, func(t *testing.T) {
			tok := f.sign(t, jws.Protected{Type: "JWT", ContentType: "x", Extra: []jws.Member{{Name: "n", Value: []byte(` { "a" : [1, 2] } `)}}}, `{"sub":"u"}`)
			got, err := jws.Verify(tok, []string{f.alg}, allKeys(t), jws.WithType("JWT"))
			if err != nil {
				t.Fatal(err)
			}
			h := got.Header
			if h.Algorithm != f.alg || h.KeyID != f.kid || h.Type != "JWT" || h.ContentType != "x" || string(got.Payload) != `{"sub":"u"}` || got.Key != f.key {
				t.Fatalf("verified %+v %s", h, got.Payload)
			}
			if v, ok := h.Member("n"); !ok || string(v) != `{"a":[1,2]}` {
				t.Fatalf("extra member = %s, %v", v, ok)
			}
			if _, ok := h.Member("absent"); ok {
				t.Fatal("absent member found")
			}
		})
	}
}

// TestVerifyRules: RFC 7515 §5.2, RFC 7518 §3 and RFC 8725 §3, rule by
// rule, each with the typed error it must give.
func TestVerifyRules(t *testing.T) {
	es := fixtureFor(t, jws.ES256)
	hs := fixtureFor(t, jws.HS256)
	rs := fixtureFor(t, jws.RS256)
	ed := fixtureFor(t, jws.EdDSA)
	good := craft(t, es, `{"alg":"ES256","kid":"k-ES256","typ":"JWT"}`, `{}`)
	parts := strings.Split(good, ".")
	other, _ := ecdsa.GenerateKey(es.pub.(*ecdsa.PublicKey).Curve, rand.Reader)
	otherSigner, _ := jws.NewSigner(jws.ES256, other, "k-ES256")
	otherFix := &fixture{alg: jws.ES256, signer: otherSigner}
	rsOnlyRS256, _ := jws.NewPublicKey(rs.pub, "rs-restricted", jws.RS256)
	ps := fixtureFor(t, jws.PS256)
	psSigner, _ := jws.NewSigner(jws.PS256, ps.priv, "rs-restricted")
	psFix := &fixture{alg: jws.PS256, signer: psSigner}

	all := jws.AsymmetricAlgorithms
	tests := []struct {
		name  string
		token string
		algs  []string
		keys  jws.KeySource
		opts  []jws.Option
		want  error // nil: verifies
	}{
		{name: "RFC 7515 §7.1: a well-formed token verifies", token: good},
		{name: "RFC 7515 §7.1: two parts", token: parts[0] + "." + parts[1], want: jws.ErrMalformed},
		{name: "RFC 7515 §7.1: four parts", token: good + ".x", want: jws.ErrMalformed},
		{name: "RFC 7515 §2: padding is not base64url", token: good + "==", want: jws.ErrMalformed},
		{name: "RFC 7515 §2: standard-alphabet characters", token: parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+/", want: jws.ErrMalformed},
		{name: "RFC 7515 §7.1: a line break inside a part", token: parts[0][:4] + "\n" + parts[0][4:] + "." + parts[1] + "." + parts[2], want: jws.ErrMalformed},
		{name: "RFC 7515 §2: e31 decodes like e30 but is not canonical", token: parts[0] + "." + "e31" + "." + parts[2], want: jws.ErrMalformed},
		{name: "RFC 7515 §7.1: empty payload (detached content unsupported)", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256"}`, ``), want: jws.ErrMalformed},
		{name: "RFC 7515 §5.2 step 3: header not JSON", token: craft(t, es, `{alg:ES256}`, `{}`), want: jws.ErrMalformed},
		{name: "RFC 7515 §5.2 step 3: header a JSON array", token: craft(t, es, `["ES256"]`, `{}`), want: jws.ErrMalformed},
		{name: "RFC 7515 §5.2 step 3: trailing data after the header", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256"}{}`, `{}`), want: jws.ErrMalformed},
		{name: "RFC 7515 §5.2 step 4: duplicate alg", token: craft(t, es, `{"alg":"HS256","kid":"k-ES256","alg":"ES256"}`, `{}`), want: jws.ErrMalformed},
		{name: "RFC 7515 §5.2 step 4: duplicate unknown member", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","x":1,"x":2}`, `{}`), want: jws.ErrMalformed},
		{name: "RFC 7515 §4.1.1: alg missing", token: craft(t, es, `{"kid":"k-ES256"}`, `{}`), want: jws.ErrAlgorithm},
		{name: "RFC 7515 §4.1.1: alg not a string", token: craft(t, es, `{"alg":1,"kid":"k-ES256"}`, `{}`), want: jws.ErrMalformed},
		{name: "RFC 8725 §3.2: alg none with an empty signature", token: enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".", want: jws.ErrAlgorithm},
		{name: "RFC 8725 §3.1: alg outside the allow-list", token: craft(t, hs, `{"alg":"HS256","kid":"k-HS256"}`, `{}`), algs: []string{jws.ES256}, want: jws.ErrAlgorithm},
		{name: "RFC 7515 §4.1.1: alg is case-sensitive", token: craft(t, es, `{"alg":"es256","kid":"k-ES256"}`, `{}`), want: jws.ErrAlgorithm},
		{name: "RFC 7515 §4.1.11: crit not understood", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","crit":["exp"],"exp":1}`, `{}`), want: jws.ErrCritical},
		{name: "RFC 7515 §4.1.11: crit understood and present", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","crit":["exp"],"exp":1}`, `{}`), opts: []jws.Option{jws.WithCritical("exp")}},
		{name: "RFC 7515 §4.1.11: crit lists an absent member", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","crit":["exp"]}`, `{}`), opts: []jws.Option{jws.WithCritical("exp")}, want: jws.ErrCritical},
		{name: "RFC 7515 §4.1.11: crit empty", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","crit":[]}`, `{}`), want: jws.ErrCritical},
		{name: "RFC 7515 §4.1.11: crit lists a registered parameter", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","crit":["alg"]}`, `{}`), want: jws.ErrCritical},
		{name: "RFC 7515 §4.1.11: crit not an array", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","crit":"exp","exp":1}`, `{}`), want: jws.ErrCritical},
		{name: "RFC 7797 §3: b64 false is not supported", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","b64":false,"crit":["b64"]}`, `{}`), opts: []jws.Option{jws.WithCritical("b64")}, want: jws.ErrCritical},
		{name: "RFC 7515 §4.1.9: typ differs", token: good, opts: []jws.Option{jws.WithType("dpop+jwt")}, want: jws.ErrType},
		{name: "RFC 7515 §4.1.9: typ missing", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256"}`, `{}`), opts: []jws.Option{jws.WithType("JWT")}, want: jws.ErrType},
		{name: "RFC 7515 §4.1.9: typ compared ignoring case", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","typ":"DPoP+JWT"}`, `{}`), opts: []jws.Option{jws.WithType("dpop+jwt")}},
		{name: "RFC 7515 §4.1.9: application/ prefix omitted or not", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","typ":"Application/dpop+jwt"}`, `{}`), opts: []jws.Option{jws.WithType("dpop+jwt")}},
		{name: "RFC 7515 §4.1.9: another media type prefix", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","typ":"text/dpop+jwt"}`, `{}`), opts: []jws.Option{jws.WithType("dpop+jwt")}, want: jws.ErrType},
		{name: "RFC 7515 §4.1.4: unknown kid", token: craft(t, es, `{"alg":"ES256","kid":"nope"}`, `{}`), want: jws.ErrUnknownKey},
		{name: "RFC 7515 §4.1.4: no kid, several keys", token: craft(t, es, `{"alg":"ES256"}`, `{}`), want: jws.ErrUnknownKey},
		{name: "RFC 7515 §4.1.4: no kid, the only key", token: craft(t, es, `{"alg":"ES256"}`, `{}`), keys: es.key},
		{name: "RFC 8725 §3.1: ES256 header naming an RSA key", token: craft(t, es, `{"alg":"ES256","kid":"k-RS256"}`, `{}`), want: jws.ErrKeyType},
		{name: "RFC 8725 §3.1: EdDSA header naming an EC key", token: craft(t, ed, `{"alg":"EdDSA","kid":"k-ES256"}`, `{}`), want: jws.ErrKeyType},
		{name: "RFC 7517 §4.4: key restricted to RS256, token PS256", token: craft(t, psFix, `{"alg":"PS256","kid":"rs-restricted"}`, `{}`), keys: rsOnlyRS256, want: jws.ErrKeyType},
		{name: "RFC 7515 §4.1.3: a jwk header never selects the key", token: craft(t, otherFix, `{"alg":"ES256","kid":"k-ES256","jwk":`+publicJWK(t, &other.PublicKey)+`}`, `{}`), want: jws.ErrSignature},
		{name: "RFC 7515 §4.1.2: jku is never fetched", token: craft(t, otherFix, `{"alg":"ES256","kid":"k-ES256","jku":"https://attacker.example/jwks"}`, `{}`), want: jws.ErrSignature},
		{name: "RFC 7515 §5.2 step 8: signature by another key", token: craft(t, otherFix, `{"alg":"ES256","kid":"k-ES256"}`, `{}`), want: jws.ErrSignature},
		{name: "RFC 7518 §3.4: ECDSA signature in ASN.1 form", token: derSigned(t, es, parts[0]+"."+parts[1]), want: jws.ErrSignature},
		{name: "RFC 7518 §3.4: ECDSA signature of the wrong size", token: parts[0] + "." + parts[1] + "." + shorten(parts[2]), want: jws.ErrSignature},
		{name: "RFC 7518 §3.2: HS256 verifies with its secret", token: craft(t, hs, `{"alg":"HS256","kid":"k-HS256"}`, `{}`), algs: []string{jws.HS256}},
		{name: "size bound", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256"}`, `{"x":"`+strings.Repeat("a", jws.DefaultMaxSize)+`"}`), want: jws.ErrMalformed},
		{name: "raised size bound", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256"}`, `{"x":"`+strings.Repeat("a", jws.DefaultMaxSize)+`"}`), opts: []jws.Option{jws.WithMaxSize(1 << 20)}},
		{name: "header size bound", token: craft(t, es, `{"alg":"ES256","kid":"k-ES256","x":"`+strings.Repeat("a", 9000)+`"}`, `{}`), want: jws.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			algs := tt.algs
			if algs == nil {
				algs = all
			}
			keys := tt.keys
			if keys == nil {
				keys = allKeys(t)
			}
			_, err := jws.Verify(tt.token, algs, keys, tt.opts...)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// derSigned signs input with f's ECDSA key in ASN.1 DER form, as a careless
// implementation would.
func derSigned(t testing.TB, f *fixture, input string) string {
	t.Helper()
	d := sha256.Sum256([]byte(input))
	der, err := ecdsa.SignASN1(rand.Reader, f.priv.(*ecdsa.PrivateKey), d[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(der)
}

func publicJWK(t testing.TB, pub any) string {
	t.Helper()
	b, err := jws.AppendPublicJWK(nil, pub, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTamperedRefused: a change to the signature, the header or the
// payload of a valid token is refused with a typed error, for every
// algorithm; the untouched token still verifies.
func TestTamperedRefused(t *testing.T) {
	for _, f := range testFixtures(t) {
		t.Run(f.alg, func(t *testing.T) {
			tok := f.sign(t, jws.Protected{Type: "JWT"}, `{"sub":"alice","admin":false}`)
			p := strings.Split(tok, ".")
			algs := []string{f.alg}
			tampered := map[string]string{
				"signature": p[0] + "." + p[1] + "." + flip(p[2]),
				"header":    enc.EncodeToString([]byte(`{"alg":"`+f.alg+`","kid":"`+f.kid+`","typ":"at+jwt"}`)) + "." + p[1] + "." + p[2],
				"payload":   p[0] + "." + enc.EncodeToString([]byte(`{"sub":"alice","admin":true}`)) + "." + p[2],
				"truncated": p[0] + "." + p[1] + "." + shorten(p[2]),
			}
			for part, bad := range tampered {
				if _, err := jws.Verify(bad, algs, f.key); !errors.Is(err, jws.ErrSignature) {
					t.Errorf("tampered %s: error %v, want ErrSignature", part, err)
				}
			}
			if _, err := jws.Verify(tok, algs, f.key); err != nil {
				t.Fatalf("the original no longer verifies: %v", err)
			}
		})
	}
}

// shorten drops the last byte of a base64url part.
func shorten(s string) string {
	b, err := enc.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return enc.EncodeToString(b[:len(b)-1])
}

// flip changes one character in the middle of a base64url part to another
// base64url character, keeping it canonical.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestAttackHMACWithPublicKey: the classic key confusion. The attacker
// knows the issuer's published RSA and EC keys and signs HS256 tokens with
// every encoding of them as the secret; even a verifier whose allow-list
// wrongly holds HS256 next to RS256 refuses them all (RFC 8725 §3.1), and
// then still accepts the victim's genuine RS256 token.
func TestAttackHMACWithPublicKey(t *testing.T) {
	rs := fixtureFor(t, jws.RS256)
	es := fixtureFor(t, jws.ES256)
	set := allKeys(t)
	v, err := jws.NewVerifier([]string{jws.RS256, jws.ES256, jws.HS256}, set)
	if err != nil {
		t.Fatal(err)
	}
	var secrets [][]byte
	for _, pub := range []any{rs.pub, es.pub} {
		jwk := publicJWK(t, pub)
		der := mustMarshalPKIX(t, pub)
		secrets = append(secrets, []byte(jwk), der, pemOf(der))
	}
	for _, kid := range []string{"k-RS256", "k-ES256"} {
		for _, secret := range secrets {
			s, err := jws.NewSigner(jws.HS256, secret, kid)
			if err != nil {
				t.Fatal(err)
			}
			forged, err := jws.Sign(s, jws.Protected{}, []byte(`{"sub":"admin"}`))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(forged); !errors.Is(err, jws.ErrKeyType) {
				t.Fatalf("forged HS256 token with kid %s: error %v, want ErrKeyType", kid, err)
			}
		}
	}
	victim := rs.sign(t, jws.Protected{}, `{"sub":"victim"}`)
	if tok, err := v.Verify(victim); err != nil || string(tok.Payload) != `{"sub":"victim"}` {
		t.Fatalf("the genuine token: %v", err)
	}
}

// TestAttackNone: "none" can be neither configured nor smuggled in.
func TestAttackNone(t *testing.T) {
	if _, err := jws.NewVerifier([]string{"none"}, allKeys(t)); !errors.Is(err, jws.ErrConfig) {
		t.Fatalf("NewVerifier(none): %v, want ErrConfig", err)
	}
	if _, err := jws.NewVerifier(nil, allKeys(t)); !errors.Is(err, jws.ErrConfig) {
		t.Fatalf("NewVerifier(no algorithms): %v, want ErrConfig", err)
	}
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		forged := enc.EncodeToString([]byte(`{"alg":"`+alg+`"}`)) + "." + enc.EncodeToString([]byte(`{"sub":"admin"}`)) + "."
		if _, err := jws.Verify(forged, jws.AsymmetricAlgorithms, allKeys(t)); !errors.Is(err, jws.ErrAlgorithm) {
			t.Fatalf("alg %s: %v, want ErrAlgorithm", alg, err)
		}
	}
	es := fixtureFor(t, jws.ES256)
	if _, err := jws.Verify(es.sign(t, jws.Protected{}, `{}`), jws.AsymmetricAlgorithms, allKeys(t)); err != nil {
		t.Fatal(err)
	}
}

// TestEmbeddedJWK: a self-signed token verifies with the key in its own
// header, and a private key there is refused.
func TestEmbeddedJWK(t *testing.T) {
	ed := fixtureFor(t, jws.EdDSA)
	s, _ := jws.NewSigner(jws.EdDSA, ed.priv, "")
	tok, err := jws.Sign(s, jws.Protected{Type: "dpop+jwt", Extra: []jws.Member{{Name: "jwk", Value: []byte(publicJWK(t, ed.pub))}}}, []byte(`{"htm":"POST"}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := jws.Verify(tok, []string{jws.EdDSA}, jws.EmbeddedJWK, jws.WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := got.Header.EmbeddedKey()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := jws.ThumbprintString(ed.pub)
	if tp, _ := k.Thumbprint(); tp != want {
		t.Fatalf("thumbprint %s, want %s", tp, want)
	}
	priv := `{"kty":"OKP","crv":"Ed25519","x":"` + enc.EncodeToString(ed.pub.(ed25519.PublicKey)) + `","d":"` + enc.EncodeToString(ed.priv.(ed25519.PrivateKey).Seed()) + `"}`
	bad := craft(t, ed, `{"alg":"EdDSA","typ":"dpop+jwt","jwk":`+priv+`}`, `{}`)
	if _, err := jws.Verify(bad, []string{jws.EdDSA}, jws.EmbeddedJWK); !errors.Is(err, jws.ErrPrivateKey) {
		t.Fatalf("private jwk: %v, want ErrPrivateKey", err)
	}
	none := craft(t, ed, `{"alg":"EdDSA","typ":"dpop+jwt"}`, `{}`)
	if _, err := jws.Verify(none, []string{jws.EdDSA}, jws.EmbeddedJWK); !errors.Is(err, jws.ErrUnknownKey) {
		t.Fatalf("no jwk: %v, want ErrUnknownKey", err)
	}
}

func TestParseUnverified(t *testing.T) {
	es := fixtureFor(t, jws.ES256)
	tok := es.sign(t, jws.Protected{Type: "JWT"}, `{"iss":"c1"}`)
	h, payload, err := jws.ParseUnverified(tok)
	if err != nil || h.KeyID != es.kid || string(payload) != `{"iss":"c1"}` {
		t.Fatalf("ParseUnverified = %+v %s %v", h, payload, err)
	}
	if _, _, err := jws.ParseUnverified("a.b"); !errors.Is(err, jws.ErrMalformed) {
		t.Fatalf("two parts: %v", err)
	}
}

// TestSignRefusesBadHeaders: Sign never writes a header a verifier would
// misread.
func TestSignRefusesBadHeaders(t *testing.T) {
	es := fixtureFor(t, jws.ES256)
	tests := []struct {
		name  string
		extra []jws.Member
	}{
		{"alg comes from the signer", []jws.Member{{Name: "alg", Value: []byte(`"none"`)}}},
		{"kid comes from the signer", []jws.Member{{Name: "kid", Value: []byte(`"x"`)}}},
		{"no critical extensions", []jws.Member{{Name: "crit", Value: []byte(`["x"]`)}}},
		{"no unencoded payloads", []jws.Member{{Name: "b64", Value: []byte(`false`)}}},
		{"twice", []jws.Member{{Name: "x", Value: []byte(`1`)}, {Name: "x", Value: []byte(`2`)}}},
		{"invalid JSON", []jws.Member{{Name: "x", Value: []byte(`{`)}}},
		{"empty name", []jws.Member{{Name: "", Value: []byte(`1`)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := jws.Sign(es.signer, jws.Protected{Extra: tt.extra}, []byte(`{}`)); !errors.Is(err, jws.ErrConfig) {
				t.Fatalf("Sign: %v, want ErrConfig", err)
			}
		})
	}
}

// TestNewSignerRefusesMismatchedKeys: RFC 8725 §3.1 on the signing side.
func TestNewSignerRefusesMismatchedKeys(t *testing.T) {
	es := fixtureFor(t, jws.ES256)
	es384 := fixtureFor(t, jws.ES384)
	rs := fixtureFor(t, jws.RS256)
	ed := fixtureFor(t, jws.EdDSA)
	tests := []struct {
		name string
		alg  string
		key  any
	}{
		{"ES256 with an RSA key", jws.ES256, rs.priv},
		{"ES256 with a P-384 key", jws.ES256, es384.priv},
		{"RS256 with an EC key", jws.RS256, es.priv},
		{"EdDSA with an EC key", jws.EdDSA, es.priv},
		{"HS256 with a private key", jws.HS256, ed.priv},
		{"HS256 with a short secret", jws.HS256, []byte("short")},
		{"ES256 with a byte slice", jws.ES256, hmacSecret},
		{"none", "none", es.priv},
		{"unknown algorithm", "ES512", es.priv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := jws.NewSigner(tt.alg, tt.key, ""); !errors.Is(err, jws.ErrConfig) {
				t.Fatalf("NewSigner: %v, want ErrConfig", err)
			}
		})
	}
}
