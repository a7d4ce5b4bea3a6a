package bench

// Signing cost of the signing ring (SPEC §4, §11) per algorithm, side by
// side: pkg/keys' Key.Sign making a compact JWS of an ID token's claims
// (header and payload encoded per token, as a signer must), go-jose's
// signer making the same compact JWS with the same private key, and the
// floor: the standard library's signature primitive alone over the same
// signing input. Figures and the command are in RESULTS-sign.md.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// idTokenClaims is a typical ID token's payload (OpenID Connect Core §2).
var idTokenClaims = []byte(`{"iss":"https://issuer.example.com","sub":"u-1001","aud":"webapp","exp":1772370600,"iat":1772370000,` +
	`"auth_time":1772369990,"nonce":"n-0S6_WzA2Mj","azp":"webapp","at_hash":"77QmUPtjPfzWtF2AnpK9RQ","amr":["pwd"]}`)

// signKey returns a private key for alg and the same key as a signing Key.
func signKey(b *testing.B, alg keys.Alg) (crypto.Signer, *keys.Key) {
	b.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case keys.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case keys.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case keys.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, keys.RSABits)
	}
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	k, err := keys.NewSigningKey("bench-"+string(alg), alg, priv, keys.Lifecycle{
		Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour), Retires: now.Add(time.Hour), Expires: now.Add(2 * time.Hour),
	})
	if err != nil {
		b.Fatal(err)
	}
	return priv, k
}

// compactSign makes a compact JWS (RFC 7515 §7.1) of payload with k: the
// work pkg/jws does per token.
func compactSign(k *keys.Key, payload []byte) (string, error) {
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{k.Algorithm(), k.KeyID(), "JWT"})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := make([]byte, 0, enc.EncodedLen(len(hdr))+1+enc.EncodedLen(len(payload)))
	input = enc.AppendEncode(input, hdr)
	input = append(input, '.')
	input = enc.AppendEncode(input, payload)
	sig, err := k.Sign(input)
	if err != nil {
		return "", err
	}
	input = append(input, '.')
	return string(enc.AppendEncode(input, sig)), nil
}

// stdSign is the floor: the signature primitive over a signing input.
func stdSign(alg keys.Alg, priv crypto.Signer, input []byte) error {
	switch alg {
	case keys.EdDSA:
		_ = ed25519.Sign(priv.(ed25519.PrivateKey), input)
		return nil
	case keys.ES256:
		d := sha256.Sum256(input)
		_, err := ecdsa.SignASN1(rand.Reader, priv.(*ecdsa.PrivateKey), d[:])
		return err
	default:
		d := sha256.Sum256(input)
		_, err := rsa.SignPKCS1v15(nil, priv.(*rsa.PrivateKey), crypto.SHA256, d[:])
		return err
	}
}

func BenchmarkSign(b *testing.B) {
	for _, alg := range []keys.Alg{keys.ES256, keys.EdDSA, keys.RS256} {
		priv, key := signKey(b, alg)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: priv, KeyID: key.KeyID()}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			b.Fatal(err)
		}
		// Both make JWSs that go-jose verifies with the public key.
		ours, err := compactSign(key, idTokenClaims)
		if err != nil {
			b.Fatal(err)
		}
		obj, err := signer.Sign(idTokenClaims)
		if err != nil {
			b.Fatal(err)
		}
		theirs, err := obj.CompactSerialize()
		if err != nil {
			b.Fatal(err)
		}
		for _, tok := range []string{ours, theirs} {
			parsed, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := parsed.Verify(key.Public()); err != nil {
				b.Fatal(err)
			}
		}
		input := []byte(ours[:lastDot(ours)])

		b.Run("impl=keys/alg="+string(alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := compactSign(key, idTokenClaims); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("impl=gojose/alg="+string(alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				obj, err := signer.Sign(idTokenClaims)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := obj.CompactSerialize(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("impl=stdlib/alg="+string(alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := stdSign(alg, priv, input); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return 0
}
