package crypttoken

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// signedFixture is an audience ring plus the issuer's signing ring, a
// Sealer that signs, and Openers that require signatures or not.
type signedFixture struct {
	*fixture
	signKey  *keys.Key
	signRing *keys.Ring
	signer   *Sealer // signs, then encrypts
	strict   *Opener // WithSignedTokens
	lenient  *Opener // no signature required
}

func newSignedFixture(t testing.TB, alg keys.Alg, sigAlg keys.Alg) *signedFixture {
	t.Helper()
	f := &signedFixture{fixture: newFixture(t, alg)}
	var err error
	if f.signKey, err = keys.Generate(sigAlg, testLifecycle()); err != nil {
		t.Fatal(err)
	}
	set, err := keys.NewSet(keys.SigningRing, f.signKey)
	if err != nil {
		t.Fatal(err)
	}
	f.signRing = keys.NewRing(set)
	if f.signer, err = NewSealer(f.ring, WithClock(testClock), WithSigningRing(f.signRing)); err != nil {
		t.Fatal(err)
	}
	src, err := RingKeys(f.signRing, testClock)
	if err != nil {
		t.Fatal(err)
	}
	exp := Expected{Issuer: testIssuer, Audience: testAudience}
	f.strict = f.newOpener(t, exp, WithSignedTokens(src))
	f.lenient = f.newOpener(t, exp)
	return f
}

func (f *signedFixture) sealSigned(t testing.TB, c *Claims) string {
	t.Helper()
	tok, err := f.signer.Seal(TypeAccess, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// decryptJWE returns the plaintext of tok under f's key (the fixture's
// Opener cannot: it would parse it).
func (f *signedFixture) plaintext(t testing.TB, tok string) string {
	t.Helper()
	p := strings.Split(tok, ".")
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	aead := f.key.AEAD()
	if f.key.Alg == keys.A256KW {
		var cek [cekSize]byte
		var blk [blockSize]byte
		if !keyUnwrap(f.key.Block(), &cek, (*[wrappedSize]byte)(dec(p[1])), &blk) {
			t.Fatal("unwrap failed")
		}
		var err error
		if aead, err = newGCM(cek[:]); err != nil {
			t.Fatal(err)
		}
	}
	pt, err := aead.Open(nil, dec(p[2]), append(dec(p[3]), dec(p[4])...), []byte(p[0]))
	if err != nil {
		t.Fatal(err)
	}
	return string(pt)
}

// TestSignedRoundTrip: every signing algorithm of the ring, both
// key-management algorithms; the nested form of RFC 7519 §11.2.
func TestSignedRoundTrip(t *testing.T) {
	for _, alg := range []keys.Alg{keys.A256KW, keys.Direct} {
		for _, sigAlg := range []keys.Alg{keys.ES256, keys.EdDSA, keys.RS256} {
			t.Run(string(alg)+"/"+string(sigAlg), func(t *testing.T) {
				f := newSignedFixture(t, alg, sigAlg)
				want := accessClaims()
				want.Status = StatusRef{Index: 3, URI: testListURI}
				tok := f.sealSigned(t, want)

				hdr, err := base64.RawURLEncoding.DecodeString(part(tok, 0))
				if err != nil {
					t.Fatal(err)
				}
				if wantHdr := strings.TrimSuffix(headerJSON(f.key, TypeAccess), "}") + `,"cty":"JWT"}`; string(hdr) != wantHdr {
					t.Errorf("JWE header %s, want %s (RFC 7519 §5.2)", hdr, wantHdr)
				}
				// The plaintext is a JWS of typ at+jwt by the signing key.
				inner := f.plaintext(t, tok)
				src, _ := RingKeys(f.signRing, testClock)
				js, err := jws.Verify(inner, []string{string(sigAlg)}, src, jws.WithType(string(TypeAccess)))
				if err != nil {
					t.Fatalf("inner JWS: %v", err)
				}
				if js.Header.KeyID != f.signKey.ID {
					t.Errorf("inner kid %q, want %q", js.Header.KeyID, f.signKey.ID)
				}
				for name, o := range map[string]*Opener{"strict": f.strict, "lenient": f.lenient} {
					got, err := o.Open(tok)
					if err != nil {
						t.Fatalf("%s Open: %v", name, err)
					}
					if got.Subject != want.Subject || got.Scope != want.Scope || got.Status != want.Status || !got.Expiry.Equal(want.Expiry) {
						t.Errorf("%s: claims %+v, want %+v", name, got, want)
					}
				}
			})
		}
	}
}

// TestSignedAttack: a resource server holding the audience key (it can
// seal anything) forges tokens for its peers. An Opener requiring signed
// tokens refuses every forgery, and the victim's genuine token still opens.
func TestSignedAttack(t *testing.T) {
	f := newSignedFixture(t, keys.A256KW, keys.ES256)
	victim := f.sealSigned(t, accessClaims())
	hdr := strings.TrimSuffix(headerJSON(f.key, TypeAccess), "}") + `,"cty":"JWT"}`
	claims := claimsJSON(`,"scope":"admin"`)

	attackerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(alg string, key any, kid, typ, payload string) string {
		t.Helper()
		s, err := jws.NewSigner(alg, key, kid)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jws.Sign(s, jws.Protected{Type: typ}, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	issuerSigned := func(typ, payload string) string {
		t.Helper()
		tok, err := jws.Sign(f.signKey, jws.Protected{Type: typ}, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	genuineInner := f.plaintext(t, victim)
	p := strings.Split(genuineInner, ".")
	widened := p[0] + "." + b64s(claims) + "." + p[2]
	otherAud := issuerSigned("at+jwt", strings.Replace(claimsJSON(""), testAudience, "https://other.example.com", 1))

	tests := []struct {
		name  string
		token string
		want  error
		also  error // the pkg/jws sentinel wrapped, if any
	}{
		{name: "unsigned token (plain claims)", token: forge(t, f.key, headerJSON(f.key, TypeAccess), claims), want: ErrSignature},
		{name: "self-signed with the issuer's kid", token: forge(t, f.key, hdr, sign(jws.ES256, attackerKey, f.signKey.ID, "at+jwt", claims)), want: ErrSignature, also: jws.ErrSignature},
		{name: "self-signed with a kid of its own", token: forge(t, f.key, hdr, sign(jws.ES256, attackerKey, "attacker", "at+jwt", claims)), want: ErrSignature, also: jws.ErrUnknownKey},
		{name: "RFC 8725 §2.1 alg none", token: forge(t, f.key, hdr, b64s(`{"alg":"none","kid":"`+f.signKey.ID+`","typ":"at+jwt"}`)+"."+b64s(claims)+"."), want: ErrSignature, also: jws.ErrAlgorithm},
		{name: "RFC 8725 §2.1 HS256 keyed with a guess", token: forge(t, f.key, hdr, sign(jws.HS256, make([]byte, 32), f.signKey.ID, "at+jwt", claims)), want: ErrSignature, also: jws.ErrAlgorithm},
		{name: "genuine signature, claims widened", token: forge(t, f.key, hdr, widened), want: ErrSignature, also: jws.ErrSignature},
		{name: "RFC 8725 §3.11 the issuer's ID token re-sealed", token: forge(t, f.key, hdr, issuerSigned("JWT", claims)), want: ErrSignature, also: jws.ErrType},
		{name: "RFC 8725 §3.11 the issuer's status list token re-sealed", token: forge(t, f.key, hdr, issuerSigned("statuslist+jwt", claims)), want: ErrSignature, also: jws.ErrType},
		{name: "RFC 8725 §3.11 untyped JWS by the issuer", token: forge(t, f.key, hdr, issuerSigned("", claims)), want: ErrSignature, also: jws.ErrType},
		{name: "RFC 9068 §4 a genuine token of another audience re-sealed", token: forge(t, f.key, hdr, otherAud), want: ErrAudience},
		{name: "RFC 7519 §5.2 cty other than JWT", token: forge(t, f.key, strings.Replace(hdr, `"JWT"`, `"json"`, 1), genuineInner), want: ErrType},
		{name: "nested content that is not a JWS", token: forge(t, f.key, hdr, claims), want: ErrSignature, also: jws.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.strict.Open(tt.token)
			if !errors.Is(err, tt.want) || c != nil {
				t.Fatalf("Open = %v, %v; want %v", c, err, tt.want)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("error %v does not wrap %v", err, tt.also)
			}
			if _, err := f.strict.Open(victim); err != nil {
				t.Fatalf("victim after the attack: %v", err)
			}
		})
	}
	// Without WithSignedTokens the same forgeries pass: what the option buys.
	if _, err := f.lenient.Open(forge(t, f.key, hdr, sign(jws.ES256, attackerKey, f.signKey.ID, "at+jwt", claims))); err != nil {
		t.Errorf("lenient opener refused a self-signed forgery (%v); the attack table proves nothing", err)
	}
}

// TestSignedRotation: the Opener follows the signing ring as it is
// swapped; a token signed by a key no longer published is refused.
func TestSignedRotation(t *testing.T) {
	f := newSignedFixture(t, keys.Direct, keys.ES256)
	old := f.sealSigned(t, accessClaims())
	next, err := keys.Generate(keys.ES256, keys.Lifecycle{
		Created: testNow.Add(-time.Minute), Activates: testNow.Add(-time.Second),
		Retires: testNow.Add(time.Hour), Expires: testNow.Add(2 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.NewSet(keys.SigningRing, f.signKey, next)
	if err != nil {
		t.Fatal(err)
	}
	f.signRing.Store(set)
	fresh := f.sealSigned(t, accessClaims())
	if strings.Contains(f.plaintext(t, fresh), f.signKey.ID) {
		t.Fatal("the new token is not signed by the newly active key")
	}
	for _, tok := range []string{old, fresh} {
		if _, err := f.strict.Open(tok); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	only, err := keys.NewSet(keys.SigningRing, next)
	if err != nil {
		t.Fatal(err)
	}
	f.signRing.Store(only)
	if _, err := f.strict.Open(old); !errors.Is(err, ErrSignature) || !errors.Is(err, jws.ErrUnknownKey) {
		t.Fatalf("token of a removed key: %v, want ErrSignature (jws.ErrUnknownKey)", err)
	}
}

func TestSignedConfig(t *testing.T) {
	f := newSignedFixture(t, keys.A256KW, keys.ES256)
	src, _ := RingKeys(f.signRing, nil)
	tests := []struct {
		name string
		do   func() error
	}{
		{name: "sealer nil signing ring", do: func() error { _, err := NewSealer(f.ring, WithSigningRing(nil)); return err }},
		{name: "sealer signing ring of symmetric keys", do: func() error { _, err := NewSealer(f.ring, WithSigningRing(f.ring)); return err }},
		{name: "opener with WithSigningRing", do: func() error { _, err := NewOpener(f.ring, Expected{}, WithSigningRing(f.signRing)); return err }},
		{name: "opener nil key source", do: func() error { _, err := NewOpener(f.ring, Expected{}, WithSignedTokens(nil)); return err }},
		{name: "sealer with WithSignedTokens", do: func() error { _, err := NewSealer(f.ring, WithSignedTokens(src)); return err }},
		{name: "RingKeys nil ring", do: func() error { _, err := RingKeys(nil, nil); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, ErrConfig) {
				t.Fatalf("error = %v, want ErrConfig", err)
			}
		})
	}
	// No active signing key: the seal fails, it is never sent unsigned.
	lc := testLifecycle()
	lc.Retires, lc.Expires = testNow.Add(-time.Minute), testNow.Add(time.Hour)
	retired, err := keys.Generate(keys.ES256, lc)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := keys.NewSet(keys.SigningRing, retired)
	f.signRing.Store(set)
	if tok, err := f.signer.Seal(TypeAccess, accessClaims()); !errors.Is(err, ErrNoKey) || tok != "" {
		t.Fatalf("Seal without an active signing key = %q, %v; want ErrNoKey", tok, err)
	}
}

// TestSignedTokensIf: the requirement follows its condition token by token
// (an issuer turning audiences[].sign on or off while resource servers
// run).
func TestSignedTokensIf(t *testing.T) {
	f := newSignedFixture(t, keys.A256KW, keys.EdDSA)
	src, _ := RingKeys(f.signRing, testClock)
	var required atomic.Bool
	o := f.newOpener(t, Expected{Issuer: testIssuer, Audience: testAudience}, WithSignedTokensIf(src, required.Load))
	unsigned := f.seal(t, TypeAccess, accessClaims())
	signed := f.sealSigned(t, accessClaims())
	hdr := strings.TrimSuffix(headerJSON(f.key, TypeAccess), "}") + `,"cty":"JWT"}`
	forged := forge(t, f.key, hdr, b64s(`{"alg":"none","typ":"at+jwt"}`)+"."+b64s(claimsJSON(""))+".")

	for _, tt := range []struct {
		name     string
		required bool
		token    string
		want     error
	}{
		{name: "not required: unsigned opens", token: unsigned},
		{name: "not required: signed opens", token: signed},
		{name: "not required: an unverified nested JWS opens, as without the option", token: forged},
		{name: "required: unsigned refused", required: true, token: unsigned, want: ErrSignature},
		{name: "required: signed opens", required: true, token: signed},
		{name: "required: forged nested refused", required: true, token: forged, want: ErrSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			required.Store(tt.required)
			_, err := o.Open(tt.token)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := NewOpener(f.ring, Expected{}, WithSignedTokensIf(src, nil)); !errors.Is(err, ErrConfig) {
		t.Errorf("nil condition: %v", err)
	}
}
