package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josecipher "github.com/go-jose/go-jose/v4/cipher"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/jws"
)

const (
	testIssuer = "https://issuer.example.com"
	testRS     = "rs-orders"
	otherAud   = "https://billing.example.com"
)

// deliveryFixture is an issuer (a signing key, its public JWK Set) and a
// resource server (its key pair) with a delivery of two audiences.
type deliveryFixture struct {
	rs, rsPublic *Recipient
	signer       *Key
	issuerKeys   *jws.KeySet
	d            *Delivery
}

func newDeliveryFixture(t testing.TB, crv string) *deliveryFixture {
	t.Helper()
	rs, err := GenerateRecipient(crv, false)
	require.NoError(t, err)
	f := &deliveryFixture{rs: rs, rsPublic: rs.Public()}
	f.signer = mustSigningKey(t, "sig-1", ES256, lc(-time.Hour, -time.Hour, 24*time.Hour, 48*time.Hour))
	f.issuerKeys = issuerKeySet(t, f.signer)
	f.d = &Delivery{
		Issuer: testIssuer, ResourceServer: testRS, IssuedAt: t0, Expiry: t0.Add(time.Hour),
		Audiences: map[string]*Set{
			"https://api.example.com": sampleSet(t),
			otherAud: mustSet(t, otherAud,
				mustKey(t, "b-expired", A256KW, 9, lc(-48*time.Hour, -47*time.Hour, -25*time.Hour, -time.Minute)),
				mustKey(t, "b-active", A256KW, 8, lc(-time.Hour, -time.Hour, time.Hour, 2*time.Hour))),
		},
	}
	return f
}

// issuerKeySet is the issuer's published JWK Set of the given signing keys.
func issuerKeySet(t testing.TB, keys ...*Key) *jws.KeySet {
	t.Helper()
	doc, err := ExportJWKS(mustSet(t, SigningRing, keys...), t0)
	require.NoError(t, err)
	ks, err := jws.ParseKeySet(doc)
	require.NoError(t, err)
	return ks
}

func (f *deliveryFixture) want() DeliveryExpected {
	return DeliveryExpected{Issuer: testIssuer, ResourceServer: testRS, Time: func() time.Time { return t0 }}
}

func (f *deliveryFixture) seal(t testing.TB) string {
	t.Helper()
	tok, err := SealDelivery(f.d, f.signer, f.rsPublic)
	require.NoError(t, err)
	return tok
}

// TestDeliveryRoundTrip seals deliveries to P-256 and X25519 resource
// servers (whose key pairs went through their JWK Sets) and opens them:
// every audience arrives with the keys that open at iat and their
// lifecycle, nothing else.
func TestDeliveryRoundTrip(t *testing.T) {
	for _, crv := range []string{CurveP256, CurveX25519} {
		t.Run(crv, func(t *testing.T) {
			f := newDeliveryFixture(t, crv)
			priv, err := f.rs.PrivateJWKS()
			require.NoError(t, err)
			rsSide, err := ParsePrivateRecipient(priv)
			require.NoError(t, err)
			issuerSide, err := ParseRecipient(f.rs.PublicJWKS())
			require.NoError(t, err)
			require.True(t, issuerSide.Equal(f.rsPublic))
			require.False(t, issuerSide.HasPrivate())

			tok, err := SealDelivery(f.d, f.signer, issuerSide)
			require.NoError(t, err)
			require.Equal(t, 4, strings.Count(tok, "."), "a compact JWE")
			require.NotContains(t, tok, b64(material(2)), "key material in clear")
			got, err := OpenDelivery(tok, rsSide, f.issuerKeys, f.want())
			require.NoError(t, err)
			require.Equal(t, testIssuer, got.Issuer)
			require.Equal(t, testRS, got.ResourceServer)
			require.True(t, got.IssuedAt.Equal(t0) && got.Expiry.Equal(t0.Add(time.Hour)))
			require.Len(t, got.Audiences, 2)
			requireSameSet(t, sampleSet(t), withCreatedAtActivation(t, got.Audiences["https://api.example.com"], sampleSet(t)))
			b := got.Audiences[otherAud]
			require.Equal(t, []string{"b-active"}, kids(b), "an expired key is not delivered")
			k, _ := b.Lookup("b-active")
			require.Equal(t, material(8), k.Material())
			require.Equal(t, StateActive, k.State(t0))
		})
	}
}

// withCreatedAtActivation returns want's lifecycle view of got: a delivery
// carries no "created", so an opened key is created when it activates.
func withCreatedAtActivation(t *testing.T, got, want *Set) *Set {
	t.Helper()
	keys := make([]*Key, 0, got.Len())
	for _, k := range got.Keys() {
		w, ok := want.Lookup(k.ID)
		require.True(t, ok, k.ID)
		require.True(t, k.Created.Equal(k.Activates), "created = activates")
		c, err := k.withLifecycle(w.Lifecycle())
		require.NoError(t, err)
		keys = append(keys, c)
	}
	return mustSet(t, got.Name(), keys...)
}

// craftJWE encrypts plaintext to the first key of to as ECDH-ES+A256KW,
// A256GCM, with the header a delivery has, changed by edit: the attacker's
// tool for the rows of TestOpenDeliveryRules.
func craftJWE(t testing.TB, to *Recipient, plaintext []byte, edit func(h map[string]any)) string {
	t.Helper()
	k := to.enc[0]
	eph, err := k.pub.Curve().GenerateKey(rand.Reader)
	require.NoError(t, err)
	z, err := eph.ECDH(k.pub)
	require.NoError(t, err)
	var epk map[string]any
	require.NoError(t, json.Unmarshal((&agreementKey{crv: k.crv, pub: eph.PublicKey()}).appendEPK(nil), &epk))
	h := map[string]any{"alg": AlgECDHESA256KW, "enc": "A256GCM", "cty": "JWT", "kid": k.kid, "epk": epk}
	if edit != nil {
		edit(h)
	}
	hb, err := json.Marshal(h)
	require.NoError(t, err)
	header := jweB64.EncodeToString(hb)
	block, _ := aes.NewCipher(concatKDF(z, nil, nil))
	cek := make([]byte, 32)
	_, _ = rand.Read(cek)
	wrapped, err := josecipher.KeyWrap(block, cek)
	require.NoError(t, err)
	cb, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(cb)
	iv := make([]byte, 12)
	_, _ = rand.Read(iv)
	sealed := gcm.Seal(nil, iv, plaintext, []byte(header))
	return strings.Join([]string{header, jweB64.EncodeToString(wrapped), jweB64.EncodeToString(iv),
		jweB64.EncodeToString(sealed[:len(sealed)-16]), jweB64.EncodeToString(sealed[len(sealed)-16:])}, ".")
}

// signedClaims returns the delivery's claims as a JWS of typ, signed by s,
// after edit changed them.
func signedClaims(t testing.TB, f *deliveryFixture, s jws.Signer, typ string, edit func(c map[string]any)) []byte {
	t.Helper()
	raw, err := DeliveryClaims(f.d)
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(raw, &c))
	if edit != nil {
		edit(c)
	}
	payload, err := json.Marshal(c)
	require.NoError(t, err)
	tok, err := jws.Sign(s, jws.Protected{Type: typ}, payload)
	require.NoError(t, err)
	return []byte(tok)
}

// replacePart replaces part i of a compact serialization.
func replacePart(tok string, i int, v string) string {
	p := strings.Split(tok, ".")
	p[i] = v
	return strings.Join(p, ".")
}

// flipPart flips one bit in the middle of part i of a compact JWE.
func flipPart(tok string, i int) string {
	p := strings.Split(tok, ".")
	b, _ := jweB64.DecodeString(p[i])
	b[len(b)/2] ^= 1
	p[i] = jweB64.EncodeToString(b)
	return strings.Join(p, ".")
}

// TestOpenDeliveryRules attacks OpenDelivery one rule at a time: each row
// forges, alters or misdirects a delivery, and the resource server must
// refuse it with the error that names the rule, while the genuine
// delivery still opens.
func TestOpenDeliveryRules(t *testing.T) {
	f := newDeliveryFixture(t, CurveP256)
	other := newDeliveryFixture(t, CurveP256)                                                       // another resource server, another issuer key
	x := newDeliveryFixture(t, CurveX25519)                                                         // an X25519 resource server
	forger := mustSigningKey(t, "sig-1", ES256, lc(-time.Hour, -time.Hour, time.Hour, 2*time.Hour)) // same kid, another key
	good := f.seal(t)
	inner := func(s jws.Signer, typ string, edit func(c map[string]any)) []byte {
		return signedClaims(t, f, s, typ, edit)
	}
	lowOrder := make([]byte, 32) // the X25519 point 0: every shared secret is zero
	tests := []struct {
		name  string
		tok   string
		rs    *Recipient
		want  []error
		clock time.Time
	}{
		{name: "SPEC §9: the genuine delivery opens", tok: good},
		{name: "SPEC §9: a delivery for another resource server does not decrypt", tok: other.seal(t), want: []error{ErrDeliveryDecrypt}},
		{name: "SPEC §9: replayed to a resource server sharing the key: sub names another (RFC 7519 §4.1.2)",
			tok: craftJWE(t, f.rsPublic, inner(f.signer, DeliveryType, func(c map[string]any) { c["sub"] = "rs-billing" }), nil), want: []error{ErrDeliveryRecipient}},
		{name: "RFC 7516 §5.2 step 16: a flipped ciphertext bit", tok: flipPart(good, 3), want: []error{ErrDeliveryDecrypt}},
		{name: "RFC 7516 §5.2 step 16: a flipped tag bit", tok: flipPart(good, 4), want: []error{ErrDeliveryDecrypt}},
		{name: "RFC 7516 §5.2 step 10: a flipped wrapped-key bit", tok: flipPart(good, 1), want: []error{ErrDeliveryDecrypt}},
		{name: "RFC 7516 §5.2 step 14: another IV", tok: flipPart(good, 2), want: []error{ErrDeliveryDecrypt}},
		{name: "RFC 7516 §5.2 step 14: the header is authenticated (kid removed)", tok: replacePart(good, 0, headerWithout(t, good, "cty", "JWT")), want: []error{ErrDeliveryDecrypt}},
		{name: "RFC 7516 §9: not five parts", tok: strings.Join(strings.Split(good, ".")[:4], "."), want: []error{ErrDeliveryFormat}},
		{name: "RFC 7518 §4.6: alg ECDH-ES (direct) refused", tok: craftJWE(t, f.rsPublic, []byte(f.seal(t)), func(h map[string]any) { h["alg"] = "ECDH-ES" }), want: []error{ErrDeliveryFormat}},
		{name: "RFC 7518 §4.5: alg dir refused", tok: craftJWE(t, f.rsPublic, nil, func(h map[string]any) { h["alg"] = "dir"; delete(h, "epk") }), want: []error{ErrDeliveryFormat}},
		{name: "RFC 7518 §5.1: enc A128CBC-HS256 refused", tok: craftJWE(t, f.rsPublic, nil, func(h map[string]any) { h["enc"] = "A128CBC-HS256" }), want: []error{ErrDeliveryFormat}},
		{name: "RFC 7516 §4.1.3: zip refused (compression before encryption leaks)", tok: craftJWE(t, f.rsPublic, nil, func(h map[string]any) { h["zip"] = "DEF" }), want: []error{ErrDeliveryFormat}},
		{name: "RFC 7516 §4.1.13: crit refused", tok: craftJWE(t, f.rsPublic, nil, func(h map[string]any) { h["crit"] = []string{"exp"}; h["exp"] = 1 }), want: []error{ErrDeliveryFormat}},
		{name: "RFC 7518 §4.6.1.1: no epk", tok: craftJWE(t, f.rsPublic, nil, func(h map[string]any) { delete(h, "epk") }), want: []error{ErrDeliveryFormat}},
		{name: "RFC 7518 §4.6.1.1: epk with a private member", tok: craftJWE(t, f.rsPublic, nil, func(h map[string]any) { h["epk"].(map[string]any)["d"] = b64(make([]byte, 32)) }), want: []error{ErrDeliveryFormat}},
		{name: "RFC 7518 §4.6.1.1: epk off the curve", tok: craftJWE(t, f.rsPublic, nil, func(h map[string]any) { h["epk"].(map[string]any)["y"] = b64(make([]byte, 32)) }), want: []error{ErrDeliveryDecrypt}},
		{name: "RFC 7748 §6.1: X25519 epk of low order", rs: x.rs, tok: craftJWE(t, x.rsPublic, []byte(x.seal(t)), func(h map[string]any) { h["epk"].(map[string]any)["x"] = b64(lowOrder) }), want: []error{ErrDeliveryDecrypt}},
		{name: "RFC 7518 §4.6: epk on another curve than the key", tok: replacePart(good, 0, strings.Split(x.seal(t), ".")[0]), want: []error{ErrDeliveryDecrypt}},
		{name: "RFC 7516 §4.1.6: a kid the resource server does not hold", tok: craftJWE(t, f.rsPublic, nil, func(h map[string]any) { h["kid"] = "enc-unknown" }), want: []error{ErrDeliveryDecrypt}},
		{name: "RFC 7519 §5.2: cty other than JWT", tok: craftJWE(t, f.rsPublic, inner(f.signer, DeliveryType, nil), func(h map[string]any) { h["cty"] = "json" }), want: []error{ErrDeliveryFormat}},
		{name: "RFC 7519 §5.2: no cty", tok: craftJWE(t, f.rsPublic, inner(f.signer, DeliveryType, nil), func(h map[string]any) { delete(h, "cty") }), want: []error{ErrDeliveryFormat}},
		{name: "RFC 7519 §11.2: encrypted but not signed (the JSON claims inside)", tok: craftJWE(t, f.rsPublic, mustClaims(t, f), nil), want: []error{ErrDeliverySignature, jws.ErrMalformed}},
		{name: "RFC 7515 §10.7: signed by a key with the issuer's kid, not the issuer's key", tok: craftJWE(t, f.rsPublic, inner(forger, DeliveryType, nil), nil), want: []error{ErrDeliverySignature, jws.ErrSignature}},
		{name: "RFC 7515 §4.1.4: signed by a key the issuer does not publish", tok: craftJWE(t, f.rsPublic, inner(other.signerWithKID(t, "sig-2"), DeliveryType, nil), nil), want: []error{ErrDeliverySignature, jws.ErrUnknownKey}},
		{name: "RFC 8725 §3.11: typ JWT is not rs-keys+jwt", tok: craftJWE(t, f.rsPublic, inner(f.signer, "JWT", nil), nil), want: []error{ErrDeliverySignature, jws.ErrType}},
		{name: "draft-ietf-oauth-status-list §5.1: a Status List Token is not a delivery", tok: craftJWE(t, f.rsPublic, inner(f.signer, "statuslist+jwt", nil), nil), want: []error{ErrDeliverySignature, jws.ErrType}},
		{name: "RFC 7519 §4.1.4: expired", tok: good, clock: t0.Add(2 * time.Hour), want: []error{ErrDeliveryExpired, jws.ErrExpired}},
		{name: "RFC 7519 §4.1.6: issued in the future", tok: good, clock: t0.Add(-time.Hour), want: []error{ErrDeliveryClaims, jws.ErrIssuedInFuture}},
		{name: "RFC 7519 §4.1.6: no iat", tok: craftJWE(t, f.rsPublic, inner(f.signer, DeliveryType, func(c map[string]any) { delete(c, "iat") }), nil), want: []error{ErrDeliveryClaims}},
		{name: "RFC 7519 §4.1.4: no exp", tok: craftJWE(t, f.rsPublic, inner(f.signer, DeliveryType, func(c map[string]any) { delete(c, "exp") }), nil), want: []error{ErrDeliveryClaims}},
		{name: "RFC 7519 §4.1.1: another issuer", tok: craftJWE(t, f.rsPublic, inner(f.signer, DeliveryType, func(c map[string]any) { c["iss"] = "https://evil.example" }), nil), want: []error{ErrDeliveryClaims, jws.ErrIssuer}},
		{name: "SPEC §9: no keys claim", tok: craftJWE(t, f.rsPublic, inner(f.signer, DeliveryType, func(c map[string]any) { delete(c, "keys") }), nil), want: []error{ErrDeliveryClaims}},
		{name: "SPEC §9: the internal ring is never delivered", tok: craftJWE(t, f.rsPublic, inner(f.signer, DeliveryType, func(c map[string]any) {
			c["keys"].(map[string]any)[InternalRing] = c["keys"].(map[string]any)[otherAud]
		}), nil), want: []error{ErrDeliveryFormat, ErrRingName}},
		{name: "SPEC §9: a key without its lifecycle", tok: craftJWE(t, f.rsPublic, inner(f.signer, DeliveryType, func(c map[string]any) {
			delete(c["keys"].(map[string]any)[otherAud].(map[string]any)["keys"].([]any)[0].(map[string]any), "expires")
		}), nil), want: []error{ErrDeliveryFormat, ErrFormat}},
		{name: "SPEC §4: a lifecycle out of order", tok: craftJWE(t, f.rsPublic, inner(f.signer, DeliveryType, func(c map[string]any) {
			c["keys"].(map[string]any)[otherAud].(map[string]any)["keys"].([]any)[0].(map[string]any)["retires"] = 1
		}), nil), want: []error{ErrDeliveryFormat, ErrLifecycle}},
		{name: "RFC 7517 §4.1: a signing key among the audience's keys", tok: craftJWE(t, f.rsPublic, inner(f.signer, DeliveryType, func(c map[string]any) {
			c["keys"].(map[string]any)[otherAud].(map[string]any)["keys"].([]any)[0].(map[string]any)["kty"] = "EC"
		}), nil), want: []error{ErrDeliveryFormat, ErrFormat}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, want := f.rs, f.want()
			if tt.rs != nil {
				rs = tt.rs
			}
			if !tt.clock.IsZero() {
				want.Time = func() time.Time { return tt.clock }
			}
			d, err := OpenDelivery(tt.tok, rs, f.issuerKeys, want)
			if tt.want == nil {
				require.NoError(t, err)
				require.NotEmpty(t, d.Audiences)
				return
			}
			require.Nil(t, d)
			require.ErrorIs(t, err, ErrDelivery, "every delivery error matches ErrDelivery")
			for _, w := range tt.want {
				require.ErrorIs(t, err, w)
			}
			require.NotContains(t, err.Error(), b64(material(2)), "the error quotes key material")
		})
	}
	// The victim after the attacks: the genuine delivery still opens.
	_, err := OpenDelivery(good, f.rs, f.issuerKeys, f.want())
	require.NoError(t, err)
}

func (f *deliveryFixture) signerWithKID(t testing.TB, kid string) *Key {
	k := mustSigningKey(t, kid, ES256, lc(-time.Hour, -time.Hour, time.Hour, 2*time.Hour))
	f.issuerKeys = issuerKeySet(t, k)
	return k
}

func mustClaims(t testing.TB, f *deliveryFixture) []byte {
	b, err := DeliveryClaims(f.d)
	require.NoError(t, err)
	return b
}

// headerWithout returns the protected header of tok with member name set
// to value, base64url-encoded: an altered header.
func headerWithout(t testing.TB, tok, name, value string) string {
	raw, err := jweB64.DecodeString(strings.Split(tok, ".")[0])
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(raw, &h))
	h[name] = value
	delete(h, "kid")
	b, _ := json.Marshal(h)
	return jweB64.EncodeToString(b)
}

// TestSealDeliveryRefuses checks that SealDelivery never puts the internal
// ring or the signing ring into a delivery.
func TestSealDeliveryRefuses(t *testing.T) {
	f := newDeliveryFixture(t, CurveP256)
	internal := mustSet(t, InternalRing, mustKey(t, "i", A256KW, 5, lc(-time.Hour, -time.Hour, time.Hour, 2*time.Hour)))
	tests := []struct {
		name string
		aud  map[string]*Set
		want error
	}{
		{name: "SPEC §3: the internal ring under its own name", aud: map[string]*Set{InternalRing: internal}, want: ErrExportInternal},
		{name: "SPEC §3: the internal ring under an audience's name", aud: map[string]*Set{"https://api.example.com": internal}, want: ErrExportInternal},
		{name: "SPEC §4: the signing ring's private keys", aud: map[string]*Set{"https://api.example.com": mustSet(t, SigningRing, f.signer)}, want: ErrKeyKind},
		{name: "SPEC §9: a nil ring", aud: map[string]*Set{"https://api.example.com": nil}, want: ErrNilKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := *f.d
			d.Audiences = tt.aud
			_, err := SealDelivery(&d, f.signer, f.rsPublic)
			require.ErrorIs(t, err, tt.want)
		})
	}
	_, err := SealDelivery(f.d, f.signer, nil)
	require.ErrorIs(t, err, ErrNoEncryptionKey)
	_, err = OpenDelivery(f.seal(t), f.rsPublic, f.issuerKeys, f.want())
	require.ErrorIs(t, err, ErrCannotSign, "the issuer's public half cannot open")
}

// TestDeliveryGoJose checks the delivery against go-jose, an independent
// implementation: go-jose decrypts ours (P-256; go-jose has no X25519
// ECDH-ES) and verifies the JWS inside with the published key, and we open
// a delivery go-jose encrypted.
func TestDeliveryGoJose(t *testing.T) {
	f := newDeliveryFixture(t, CurveP256)
	ecPriv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), f.rs.enc[0].priv.Bytes())
	require.NoError(t, err)

	jwe, err := jose.ParseEncrypted(f.seal(t), []jose.KeyAlgorithm{jose.ECDH_ES_A256KW}, []jose.ContentEncryption{jose.A256GCM})
	require.NoError(t, err)
	require.Equal(t, "JWT", jwe.Header.ExtraHeaders["cty"])
	require.Equal(t, f.rs.KeyID(), jwe.Header.KeyID)
	signed, err := jwe.Decrypt(ecPriv)
	require.NoError(t, err)
	jwsTok, err := jose.ParseSigned(string(signed), []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	require.Equal(t, DeliveryType, jwsTok.Signatures[0].Header.ExtraHeaders["typ"])
	payload, err := jwsTok.Verify(f.signer.Public())
	require.NoError(t, err)
	var c struct {
		Iss, Sub string
		Keys     map[string]struct {
			Keys []map[string]any `json:"keys"`
		}
	}
	require.NoError(t, json.Unmarshal(payload, &c))
	require.Equal(t, testIssuer, c.Iss)
	require.Equal(t, testRS, c.Sub)
	first := c.Keys[otherAud].Keys[0]
	require.Equal(t, "b-active", first["kid"])
	require.InDelta(t, float64(t0.Add(2*time.Hour).Unix()), first["expires"], 0)
	var jwk jose.JSONWebKey
	raw, _ := json.Marshal(first)
	require.NoError(t, jwk.UnmarshalJSON(raw), "go-jose reads a delivered JWK")
	require.Equal(t, material(8), jwk.Key)

	// go-jose encrypts a delivery we signed; we open it.
	inner := signedClaims(t, f, f.signer, DeliveryType, nil)
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.ECDH_ES_A256KW, Key: &ecPriv.PublicKey, KeyID: f.rs.KeyID()},
		(&jose.EncrypterOptions{}).WithContentType("JWT"))
	require.NoError(t, err)
	obj, err := enc.Encrypt(inner)
	require.NoError(t, err)
	tok, err := obj.CompactSerialize()
	require.NoError(t, err)
	d, err := OpenDelivery(tok, f.rs, f.issuerKeys, f.want())
	require.NoError(t, err)
	require.Len(t, d.Audiences, 2)
}

// TestParseRecipient reads resource servers' JWK Sets as the issuer's
// configuration holds them, one rule per row; a refused set's error names
// the key and the member.
func TestParseRecipient(t *testing.T) {
	p256, err := GenerateRecipient(CurveP256, true)
	require.NoError(t, err)
	x25519, err := GenerateRecipient(CurveX25519, false)
	require.NoError(t, err)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(p256.PublicJWKS(), &set))
	enc, sig := set.Keys[0], set.Keys[1]
	privJWKS, err := p256.PrivateJWKS()
	require.NoError(t, err)
	var priv struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(privJWKS, &priv))
	with := func(base map[string]any, edit func(k map[string]any)) map[string]any {
		c := map[string]any{}
		for k, v := range base {
			c[k] = v
		}
		edit(c)
		return c
	}
	doc := func(keys ...map[string]any) []byte {
		b, err := json.Marshal(map[string]any{"keys": keys})
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name       string
		data       []byte
		want       error
		field, kid string
	}{
		{name: "SPEC §9: an EC P-256 enc key and an ES256 sig key", data: p256.PublicJWKS()},
		{name: "RFC 8037 §2: an OKP X25519 enc key", data: x25519.PublicJWKS()},
		{name: "RFC 8037 §2: X25519 without use or alg is an enc key", data: doc(with(x25519PublicKey(t, x25519), func(k map[string]any) { delete(k, "use"); delete(k, "alg") }))},
		{name: "RFC 7518 §6.2.2.1: a private enc key", data: doc(priv.Keys[0]), want: ErrFormat, field: "d", kid: p256.KeyID()},
		{name: "RFC 7518 §6.2.2.1: a private sig key", data: doc(enc, priv.Keys[1]), want: ErrFormat, field: "d"},
		{name: "RFC 7518 §6.4.1: a symmetric k", data: doc(enc, map[string]any{"kty": "oct", "kid": "s", "k": b64(material(1))}), want: ErrFormat, field: "k", kid: "s"},
		{name: "SPEC §9: no enc key", data: doc(sig), want: ErrNoEncryptionKey, field: "keys"},
		{name: "SPEC §9: an RSA enc key", data: doc(map[string]any{"kty": "RSA", "kid": "r", "use": "enc", "n": "AQAB", "e": "AQAB"}), want: ErrKeyType, field: "kty", kid: "r"},
		{name: "SPEC §9: an EC P-384 enc key", data: doc(with(enc, func(k map[string]any) { k["crv"] = "P-384" })), want: ErrKeyType, field: "crv"},
		{name: "RFC 7518 §4.6: an enc key for ECDH-ES+A128KW", data: doc(with(enc, func(k map[string]any) { k["alg"] = "ECDH-ES+A128KW" })), want: ErrAlg, field: "alg"},
		{name: "RFC 7517 §4.5: an enc key without kid", data: doc(with(enc, func(k map[string]any) { delete(k, "kid") })), want: ErrFormat, field: "kid"},
		{name: "RFC 7517 §5: two keys with one kid", data: doc(enc, with(x25519PublicKey(t, x25519), func(k map[string]any) { k["kid"] = enc["kid"] })), want: ErrDuplicateKeyID, field: "kid"},
		{name: "RFC 7518 §6.2.1.2: x of 31 bytes", data: doc(with(enc, func(k map[string]any) { k["x"] = b64(make([]byte, 31)) })), want: ErrKeyType, field: "x"},
		{name: "SEC 1 §3.2.2: a point off P-256", data: doc(with(enc, func(k map[string]any) { k["y"] = b64(make([]byte, 32)) })), want: ErrKeyType, field: "x"},
		{name: "RFC 7517 §4.2: use of a signing algorithm's key is neither enc nor sig", data: doc(enc, with(sig, func(k map[string]any) { k["use"] = "wrap" })), want: ErrFormat, field: "use"},
		{name: "RFC 7517 §5: not a JWK Set", data: []byte(`[]`), want: ErrFormat},
		{name: "RFC 7517 §5: too many keys", data: doc(manyKeys(enc, MaxRecipientKeys+1)...), want: ErrFormat, field: "keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRecipient(tt.data)
			if tt.want == nil {
				require.NoError(t, err)
				require.NotEmpty(t, r.KeyID())
				return
			}
			require.ErrorIs(t, err, tt.want)
			var pe *ParseError
			require.True(t, errors.As(err, &pe), "a *ParseError: %v", err)
			require.Equal(t, tt.field, pe.Field, err.Error())
			if tt.kid != "" {
				require.Equal(t, tt.kid, pe.KeyID, err.Error())
				require.Contains(t, err.Error(), tt.kid, "the message names the key")
			}
			require.NotContains(t, err.Error(), fmt.Sprint(priv.Keys[0]["d"]), "the message quotes the private key")
		})
	}
	// A sig key in a private set is the resource server's own; it opens
	// with the enc key.
	r, err := ParsePrivateRecipient(privJWKS)
	require.NoError(t, err)
	require.True(t, r.HasPrivate())
	_, err = ParsePrivateRecipient(p256.PublicJWKS())
	require.ErrorIs(t, err, ErrFormat, "a public set holds no d")
	mismatch := with(priv.Keys[0], func(k map[string]any) { k["d"] = x25519PrivateD(t) })
	_, err = ParsePrivateRecipient(doc(mismatch))
	require.ErrorIs(t, err, ErrKeyType, "d of another key")
}

func x25519PublicKey(t testing.TB, r *Recipient) map[string]any {
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(r.PublicJWKS(), &set))
	return set.Keys[0]
}

func x25519PrivateD(t testing.TB) string {
	r, err := GenerateRecipient(CurveP256, false)
	require.NoError(t, err)
	return b64(r.enc[0].priv.Bytes())
}

func manyKeys(k map[string]any, n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		c := map[string]any{}
		for name, v := range k {
			c[name] = v
		}
		c["kid"] = fmt.Sprintf("k%d", i)
		out[i] = c
	}
	return out
}

// fuzzDeliveryFixture is a deliveryFixture with fixed keys, so that the
// committed seed deliveries decrypt and verify in every run.
func fuzzDeliveryFixture(t testing.TB) *deliveryFixture {
	t.Helper()
	d := make([]byte, 32)
	for i := range d {
		d[i] = byte(i + 1)
	}
	priv, err := ecdh.P256().NewPrivateKey(d)
	require.NoError(t, err)
	k := &agreementKey{kid: "enc-fuzz", crv: CurveP256, pub: priv.PublicKey(), priv: priv}
	rs := &Recipient{enc: []*agreementKey{k}, byID: map[string]*agreementKey{k.kid: k}}
	sd := make([]byte, 32)
	for i := range sd {
		sd[i] = byte(0x40 + i)
	}
	ec, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), sd)
	require.NoError(t, err)
	signer, err := NewSigningKey("sig-fuzz", ES256, ec, lc(-time.Hour, -time.Hour, 24*time.Hour, 48*time.Hour))
	require.NoError(t, err)
	f := newDeliveryFixture(t, CurveP256)
	f.rs, f.rsPublic, f.signer, f.issuerKeys = rs, rs.Public(), signer, issuerKeySet(t, signer)
	return f
}

// deliverySeeds are deliveries for fuzzDeliveryFixture: genuine ones and
// the attacks of TestOpenDeliveryRules.
func deliverySeeds(t testing.TB) []string {
	f := fuzzDeliveryFixture(t)
	good := f.seal(t)
	return []string{
		good,
		flipPart(good, 3),
		replacePart(good, 0, headerWithout(t, good, "cty", "JWT")),
		craftJWE(t, f.rsPublic, signedClaims(t, f, f.signer, DeliveryType, func(c map[string]any) { c["sub"] = "other" }), nil),
		craftJWE(t, f.rsPublic, signedClaims(t, f, f.signer, DeliveryType, func(c map[string]any) { delete(c, "keys") }), nil),
		craftJWE(t, f.rsPublic, mustClaims(t, f), nil),
		craftJWE(t, f.rsPublic, nil, func(h map[string]any) { h["zip"] = "DEF" }),
		"", "a.b.c.d.e", good[:len(good)/2],
	}
}

func recipientSeeds(t testing.TB) [][]byte {
	p, err := GenerateRecipient(CurveP256, true)
	require.NoError(t, err)
	x, err := GenerateRecipient(CurveX25519, false)
	require.NoError(t, err)
	priv, err := p.PrivateJWKS()
	require.NoError(t, err)
	return [][]byte{p.PublicJWKS(), x.PublicJWKS(), priv, []byte(`{"keys":[]}`),
		[]byte(`{"keys":[{"kty":"OKP","crv":"X25519","kid":"a","x":"` + b64(make([]byte, 32)) + `"}]}`),
		[]byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"a","use":"enc","x":"AA","y":"AA"}]}`)}
}

// TestDeliveryFuzzSeeds writes the seed corpora of FuzzOpenDelivery and
// FuzzParseRecipient with -update.
func TestDeliveryFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the seed corpora")
	}
	var toks [][]byte
	for _, s := range deliverySeeds(t) {
		toks = append(toks, []byte(s))
	}
	writeStringCorpus(t, "FuzzOpenDelivery", toks)
	writeCorpus(t, "FuzzParseRecipient", recipientSeeds(t))
}

func writeStringCorpus(t *testing.T, name string, seeds [][]byte) {
	dir := filepath.Join("testdata", "fuzz", name)
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for i, s := range seeds {
		body := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", s)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644))
	}
}

// FuzzOpenDelivery feeds arbitrary tokens to OpenDelivery: it never
// panics, every error matches ErrDelivery, and what opens is a delivery
// for this resource server whose keys open.
func FuzzOpenDelivery(f *testing.F) {
	fx := fuzzDeliveryFixture(f)
	want := fx.want()
	want.Time = func() time.Time { return t0 }
	f.Fuzz(func(t *testing.T, tok string) {
		d, err := OpenDelivery(tok, fx.rs, fx.issuerKeys, want)
		if err != nil {
			if d != nil || !errors.Is(err, ErrDelivery) {
				t.Fatalf("error %v (delivery %v) does not match ErrDelivery", err, d)
			}
			return
		}
		if d.ResourceServer != testRS || d.Issuer != testIssuer || d.Audiences == nil {
			t.Fatalf("opened %+v", d)
		}
		for name, s := range d.Audiences {
			if name == InternalRing || name == SigningRing || s.Signing() {
				t.Fatalf("delivered ring %q", name)
			}
		}
	})
}

// FuzzParseRecipient feeds arbitrary JWK Sets to ParseRecipient and
// ParsePrivateRecipient: they never panic, a public parse never holds a
// private key, and what parses writes a JWK Set that parses back equal.
func FuzzParseRecipient(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := ParseRecipient(data); err == nil {
			if r.HasPrivate() {
				t.Fatal("a public set yielded a private key")
			}
			back, err := ParseRecipient(r.PublicJWKS())
			if err != nil || !back.Equal(r) {
				t.Fatalf("round trip: %v", err)
			}
		}
		if r, err := ParsePrivateRecipient(data); err == nil {
			priv, err := r.PrivateJWKS()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParsePrivateRecipient(priv)
			if err != nil || !back.Equal(r) {
				t.Fatalf("private round trip: %v", err)
			}
		}
	})
}
