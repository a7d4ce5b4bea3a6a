package jws_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/pkg/jws"
)

func mustMarshalPKIX(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestGoJoseVerifiesOurs: go-jose verifies what we sign, for every
// algorithm, and reads our header as we wrote it.
func TestGoJoseVerifiesOurs(t *testing.T) {
	for _, f := range testFixtures(t) {
		t.Run(f.alg, func(t *testing.T) {
			tok := f.sign(t, jws.Protected{Type: "JWT"}, `{"iss":"https://issuer.example.com","sub":"u-1"}`)
			obj, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{f.jose})
			if err != nil {
				t.Fatal(err)
			}
			payload, err := obj.Verify(f.joseVerifyKey())
			if err != nil {
				t.Fatal(err)
			}
			h := obj.Signatures[0].Protected
			if string(payload) != `{"iss":"https://issuer.example.com","sub":"u-1"}` || h.KeyID != f.kid || h.ExtraHeaders[jose.HeaderType] != "JWT" {
				t.Fatalf("go-jose read %s, header %+v", payload, h)
			}
			// And go-jose refuses it tampered.
			bad := tok[:len(tok)-4] + "AAAA"
			if obj, err := jose.ParseSigned(bad, []jose.SignatureAlgorithm{f.jose}); err == nil {
				if _, err := obj.Verify(f.joseVerifyKey()); err == nil {
					t.Fatal("go-jose verified a tampered token")
				}
			}
		})
	}
}

// TestWeVerifyGoJose: we verify what go-jose signs (its own header member
// order and encoding), for every algorithm, and refuse it tampered.
func TestWeVerifyGoJose(t *testing.T) {
	for _, f := range testFixtures(t) {
		t.Run(f.alg, func(t *testing.T) {
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: f.jose, Key: f.joseSigningKey()},
				(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", f.kid))
			if err != nil {
				t.Fatal(err)
			}
			obj, err := s.Sign([]byte(`{"sub":"gj"}`))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := obj.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			got, err := jws.Verify(tok, []string{f.alg}, allKeys(t), jws.WithType("JWT"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Payload) != `{"sub":"gj"}` || got.Header.KeyID != f.kid {
				t.Fatalf("verified %+v %s", got.Header, got.Payload)
			}
			bad := tok[:len(tok)-4] + "AAAA"
			if _, err := jws.Verify(bad, []string{f.alg}, allKeys(t)); !errors.Is(err, jws.ErrSignature) {
				t.Fatalf("tampered: %v, want ErrSignature", err)
			}
		})
	}
}

// TestWeVerifyGoJoseEmbeddedJWK: go-jose's EmbedJWK (the shape of a DPoP
// proof) verifies through EmbeddedJWK, for every asymmetric algorithm.
func TestWeVerifyGoJoseEmbeddedJWK(t *testing.T) {
	for _, f := range testFixtures(t) {
		if f.pub == nil {
			continue
		}
		t.Run(f.alg, func(t *testing.T) {
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: f.jose, Key: f.joseSigningKey()},
				(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
			if err != nil {
				t.Fatal(err)
			}
			obj, err := s.Sign([]byte(`{"htm":"GET"}`))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := obj.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			got, err := jws.Verify(tok, []string{f.alg}, jws.EmbeddedJWK, jws.WithType("dpop+jwt"))
			if err != nil {
				t.Fatal(err)
			}
			k, err := got.Header.EmbeddedKey()
			if err != nil {
				t.Fatal(err)
			}
			want, err := (&jose.JSONWebKey{Key: f.pub}).Thumbprint(cryptoSHA256)
			if err != nil {
				t.Fatal(err)
			}
			if tp, _ := k.Thumbprint(); tp != enc.EncodeToString(want) {
				t.Fatalf("thumbprint %s, go-jose %s", tp, enc.EncodeToString(want))
			}
		})
	}
}
