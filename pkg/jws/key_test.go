package jws_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// TestNewPublicKey: RFC 7518 §3.3, §3.4, RFC 8037 §3.1: which keys may
// verify at all.
func TestNewPublicKey(t *testing.T) {
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	es := fixtureFor(t, jws.ES256)
	rs := fixtureFor(t, jws.RS256)
	tests := []struct {
		name string
		pub  any
		alg  string
		want error
	}{
		{"RFC 7518 §3.4: P-256", es.pub, "", nil},
		{"RFC 7517 §4.4: restricted to its algorithm", es.pub, jws.ES256, nil},
		{"RFC 7517 §4.4: an algorithm of another type", es.pub, jws.RS256, jws.ErrInvalidKey},
		{"RFC 7517 §4.4: an unknown algorithm", es.pub, "ES512", jws.ErrInvalidKey},
		{"RFC 7518 §3.4: P-521 (ES512) is not supported", &p521.PublicKey, "", jws.ErrInvalidKey},
		{"RFC 7518 §3.3: RSA below 2048 bits", &small.PublicKey, "", jws.ErrInvalidKey},
		{"RFC 7518 §3.3: RSA 2048", rs.pub, jws.PS256, nil},
		{"an RSA key with an even exponent", &rsa.PublicKey{N: rs.pub.(*rsa.PublicKey).N, E: 4}, "", jws.ErrInvalidKey},
		{"a byte slice is no public key", hmacSecret, "", jws.ErrInvalidKey},
		{"a private key is no public key", es.priv, "", jws.ErrInvalidKey},
		{"nil", nil, "", jws.ErrInvalidKey},
		{"a nil *ecdsa.PublicKey", (*ecdsa.PublicKey)(nil), "", jws.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := jws.NewPublicKey(tt.pub, "k", tt.alg)
			if tt.want == nil {
				if err != nil || k.KeyID() != "k" || k.Algorithm() != tt.alg || k.Public() == nil {
					t.Fatalf("NewPublicKey: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := jws.NewHMACKey([]byte("short"), "h"); !errors.Is(err, jws.ErrInvalidKey) {
		t.Fatalf("short HMAC secret: %v", err)
	}
	h, err := jws.NewHMACKey(hmacSecret, "h")
	if err != nil || h.Public() != nil || h.Algorithm() != jws.HS256 {
		t.Fatalf("NewHMACKey: %v", err)
	}
	if _, err := h.Thumbprint(); !errors.Is(err, jws.ErrInvalidKey) {
		t.Fatalf("an HMAC key's thumbprint: %v", err)
	}
}

// TestKeyAsSource: a single Key is a KeySource for tokens of its kid or
// none.
func TestKeyAsSource(t *testing.T) {
	es := fixtureFor(t, jws.ES256)
	for kid, want := range map[string]error{"k-ES256": nil, "": nil, "other": jws.ErrUnknownKey} {
		k, err := es.key.VerificationKey(&jws.Header{KeyID: kid})
		if !errors.Is(err, want) || (want == nil && k != es.key) {
			t.Errorf("kid %q: %v", kid, err)
		}
	}
	if _, err := jws.NewKeySet(es.key, es.key); !errors.Is(err, jws.ErrConfig) {
		t.Fatalf("a repeated kid: %v", err)
	}
	if _, err := jws.NewKeySet(nil); !errors.Is(err, jws.ErrConfig) {
		t.Fatalf("a nil key: %v", err)
	}
	if _, err := jws.NewVerifier([]string{jws.ES256}, nil); !errors.Is(err, jws.ErrConfig) {
		t.Fatalf("no key source: %v", err)
	}
	for _, o := range []jws.Option{jws.WithType(""), jws.WithCritical("alg"), jws.WithMaxSize(1), jws.WithMaxSize(1 << 30)} {
		if _, err := jws.NewVerifier([]string{jws.ES256}, es.key, o); !errors.Is(err, jws.ErrConfig) {
			t.Errorf("bad option: %v", err)
		}
	}
}
