package jws_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/pkg/jws"
)

const cryptoSHA256 = crypto.SHA256

// rfc7638Key is the RSA key of RFC 7638 §3.1, whose thumbprint the RFC
// gives as rfc7638Thumbprint.
const (
	rfc7638N          = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfc7638JWK        = `{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

// TestThumbprintRFC7638Example: RFC 7638 §3.1's worked example.
func TestThumbprintRFC7638Example(t *testing.T) {
	k, err := jws.ParseJWK([]byte(rfc7638JWK))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := k.Thumbprint()
	if err != nil || tp != rfc7638Thumbprint {
		t.Fatalf("thumbprint %s, %v; RFC 7638 §3.1 gives %s", tp, err, rfc7638Thumbprint)
	}
	var gj jose.JSONWebKey
	if err := gj.UnmarshalJSON([]byte(rfc7638JWK)); err != nil {
		t.Fatal(err)
	}
	sum, _ := gj.Thumbprint(crypto.SHA256)
	if enc.EncodeToString(sum) != rfc7638Thumbprint {
		t.Fatal("go-jose disagrees with RFC 7638 §3.1")
	}
}

// TestThumbprintAgreesWithGoJose: for EC (both curves, keys with leading
// zero coordinates included), OKP and RSA keys, our thumbprint is
// go-jose's, and AppendPublicJWK writes a JWK go-jose reads as the same key.
func TestThumbprintAgreesWithGoJose(t *testing.T) {
	var pubs []crypto.PublicKey
	for _, f := range testFixtures(t) {
		if f.pub != nil {
			pubs = append(pubs, f.pub)
		}
	}
	for i := 0; i < 64; i++ { // enough to meet coordinates with leading zero bytes
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pubs = append(pubs, &k.PublicKey)
		p, _, _ := ed25519.GenerateKey(rand.Reader)
		pubs = append(pubs, p)
	}
	for _, pub := range pubs {
		want, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := jws.Thumbprint(pub)
		if err != nil || string(sum[:]) != string(want) {
			t.Fatalf("%T: thumbprint %x, %v; go-jose %x", pub, sum, err, want)
		}
		js, err := jws.AppendPublicJWK(nil, pub, "kid-1", "")
		if err != nil {
			t.Fatal(err)
		}
		var gj jose.JSONWebKey
		if err := gj.UnmarshalJSON(js); err != nil {
			t.Fatalf("go-jose cannot read %s: %v", js, err)
		}
		if gj.KeyID != "kid-1" || !gj.IsPublic() {
			t.Fatalf("go-jose read %+v", gj)
		}
		back, err := jws.ParseJWK(js)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
			t.Fatalf("ParseJWK(AppendPublicJWK) is another key")
		}
	}
	if _, err := jws.Thumbprint(hmacSecret); !errors.Is(err, jws.ErrInvalidKey) {
		t.Fatalf("thumbprint of a secret: %v", err)
	}
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestParseJWK: RFC 7517 §4, RFC 7518 §6 and RFC 8037 §2, rule by rule.
func TestParseJWK(t *testing.T) {
	es := fixtureFor(t, jws.ES256)
	p := es.pub.(*ecdsa.PublicKey)
	raw, _ := p.Bytes()
	x, y := b64u(raw[1:33]), b64u(raw[33:])
	ecJWK := func(extra string) string {
		return `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"` + extra + `}`
	}
	ed := fixtureFor(t, jws.EdDSA)
	edX := b64u(ed.pub.(ed25519.PublicKey))
	rs := fixtureFor(t, jws.RS256).pub.(*rsa.PublicKey)
	n := b64u(rs.N.Bytes())
	offCurve := append([]byte(nil), raw[33:]...)
	offCurve[31] ^= 1
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	cert := selfSigned(t, es.priv.(crypto.Signer))
	otherCert := selfSigned(t, fixtureFor(t, jws.ES384).priv.(crypto.Signer))

	tests := []struct {
		name string
		jwk  string
		want error // nil: parses
	}{
		{"RFC 7518 §6.2.1: EC P-256 public key", ecJWK(`,"kid":"a","use":"sig","alg":"ES256"`), nil},
		{"RFC 8037 §2: OKP Ed25519 public key", `{"kty":"OKP","crv":"Ed25519","x":"` + edX + `"}`, nil},
		{"RFC 7518 §6.3.1: RSA public key", `{"kty":"RSA","n":"` + n + `","e":"AQAB"}`, nil},
		{"RFC 7517 §4: unknown members are ignored", ecJWK(`,"activates":1700000000,"ext":{"a":[1]}`), nil},
		{"RFC 7518 §6.2.2.1: EC private member d", ecJWK(`,"d":"AAAA"`), jws.ErrPrivateKey},
		{"RFC 8037 §2: OKP private member d", `{"kty":"OKP","crv":"Ed25519","x":"` + edX + `","d":"AAAA"}`, jws.ErrPrivateKey},
		{"RFC 7518 §6.3.2: RSA private members", `{"kty":"RSA","n":"` + n + `","e":"AQAB","p":"AAAA"}`, jws.ErrPrivateKey},
		{"RFC 7518 §6.3.2.7: RSA oth", `{"kty":"RSA","n":"` + n + `","e":"AQAB","oth":[]}`, jws.ErrPrivateKey},
		{"RFC 7518 §6.4.1: a symmetric key is a secret", `{"kty":"oct","k":"AAAA"}`, jws.ErrPrivateKey},
		{"RFC 7517 §4.1: kty missing", `{"crv":"P-256","x":"` + x + `","y":"` + y + `"}`, jws.ErrInvalidKey},
		{"RFC 7517 §4.1: kty unknown", `{"kty":"XYZ"}`, jws.ErrUnsupportedKey},
		{"RFC 7518 §6.2.1.1: crv missing", `{"kty":"EC","x":"` + x + `","y":"` + y + `"}`, jws.ErrInvalidKey},
		{"RFC 7518 §6.2.1.1: P-521 unsupported", `{"kty":"EC","crv":"P-521","x":"` + x + `","y":"` + y + `"}`, jws.ErrUnsupportedKey},
		{"RFC 8037 §2: X25519 is a key-agreement key", `{"kty":"OKP","crv":"X25519","x":"` + edX + `"}`, jws.ErrUnsupportedKey},
		{"RFC 7518 §6.2.1.2: x shorter than the coordinate size", `{"kty":"EC","crv":"P-256","x":"` + b64u(raw[2:33]) + `","y":"` + y + `"}`, jws.ErrInvalidKey},
		{"RFC 7518 §6.2.1.2: x with padding", `{"kty":"EC","crv":"P-256","x":"` + base64.URLEncoding.EncodeToString(raw[1:33]) + `","y":"` + y + `"}`, jws.ErrInvalidKey},
		{"RFC 7518 §6.2.1.3: y missing", `{"kty":"EC","crv":"P-256","x":"` + x + `"}`, jws.ErrInvalidKey},
		{"SEC 1 §3.2.2: point off the curve", `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + b64u(offCurve) + `"}`, jws.ErrInvalidKey},
		{"RFC 8037 §2: Ed25519 x of the wrong size", `{"kty":"OKP","crv":"Ed25519","x":"` + edX[:20] + `"}`, jws.ErrInvalidKey},
		{"RFC 7518 §6.3.1.1: n with a leading zero", `{"kty":"RSA","n":"` + b64u(append([]byte{0}, rs.N.Bytes()...)) + `","e":"AQAB"}`, jws.ErrInvalidKey},
		{"RFC 7518 §6.3.1.2: e with a leading zero", `{"kty":"RSA","n":"` + n + `","e":"AAEAAQ"}`, jws.ErrInvalidKey},
		{"RFC 7518 §6.3.1.2: even exponent", `{"kty":"RSA","n":"` + n + `","e":"Ag"}`, jws.ErrUnsupportedKey},
		{"RFC 7518 §3.3: RSA below 2048 bits", `{"kty":"RSA","n":"` + b64u(small.N.Bytes()) + `","e":"AQAB"}`, jws.ErrUnsupportedKey},
		{"RFC 7517 §4.4: alg of another key type", ecJWK(`,"alg":"RS256"`), jws.ErrInvalidKey},
		{"RFC 7517 §4: member twice", ecJWK(`,"kid":"a","kid":"b"`), jws.ErrInvalidKey},
		{"RFC 7517 §4: member of the wrong type", ecJWK(`,"kid":1`), jws.ErrInvalidKey},
		{"RFC 7517 §4.3: key_ops not an array", ecJWK(`,"key_ops":"verify"`), jws.ErrInvalidKey},
		{"RFC 7517 §4.7: x5c holding the key", ecJWK(`,"x5c":["` + base64.StdEncoding.EncodeToString(cert) + `"]`), nil},
		{"RFC 7517 §4.7: x5c holding another key", ecJWK(`,"x5c":["` + base64.StdEncoding.EncodeToString(otherCert) + `"]`), jws.ErrInvalidKey},
		{"RFC 7517 §4.7: x5c in base64url", ecJWK(`,"x5c":["` + strings.TrimRight(base64.URLEncoding.EncodeToString(cert), "=") + `_"]`), jws.ErrInvalidKey},
		{"RFC 8259: not an object", `[]`, jws.ErrInvalidKey},
		{"RFC 8259: trailing data", ecJWK(``) + `x`, jws.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := jws.ParseJWK([]byte(tt.jwk))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				var gj jose.JSONWebKey
				if err := json.Unmarshal([]byte(tt.jwk), &gj); err == nil {
					if !gj.Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
						t.Fatal("go-jose reads another key")
					}
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func selfSigned(t testing.TB, priv crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestJWKUse: RFC 7517 §4.2, §4.3: a key marked for encryption never
// verifies a signature, even when it is the key the kid names.
func TestJWKUse(t *testing.T) {
	es := fixtureFor(t, jws.ES256)
	raw, _ := es.pub.(*ecdsa.PublicKey).Bytes()
	base := `{"kty":"EC","crv":"P-256","kid":"k-ES256","x":"` + b64u(raw[1:33]) + `","y":"` + b64u(raw[33:]) + `"`
	tok := es.sign(t, jws.Protected{}, `{}`)
	tests := []struct {
		name  string
		extra string
		ok    bool
	}{
		{"RFC 7517 §4.2: use sig", `,"use":"sig"`, true},
		{"RFC 7517 §4.2: use enc", `,"use":"enc"`, false},
		{"RFC 7517 §4.3: key_ops with verify", `,"key_ops":["verify"]`, true},
		{"RFC 7517 §4.3: key_ops without verify", `,"key_ops":["encrypt"]`, false},
		{"RFC 7517 §4.4: an encryption alg", `,"alg":"ECDH-ES+A256KW"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := jws.ParseJWK([]byte(base + tt.extra + `}`))
			if err != nil {
				t.Fatal(err)
			}
			_, err = jws.Verify(tok, []string{jws.ES256}, k)
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && !errors.Is(err, jws.ErrKeyType) {
				t.Fatalf("error %v, want ErrKeyType", err)
			}
		})
	}
}
