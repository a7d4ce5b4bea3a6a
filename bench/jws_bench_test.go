package bench

// Side-by-side benchmarks of pkg/jws against go-jose v4: verifying one
// compact JWS per algorithm, the same token and the same key for both.
// Both do the same work: the algorithm allow-list, the "typ" header check,
// the key looked up by kid in a JWK Set, the signature. Neither parses
// the claims (that is BenchmarkJWTVerify).

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// jwsCase is one algorithm's token and keys, in both libraries' forms.
type jwsCase struct {
	alg    string
	jose   jose.SignatureAlgorithm
	token  string
	set    *jws.KeySet
	joseKS *jose.JSONWebKeySet
}

func jwsCases(b *testing.B) []jwsCase {
	b.Helper()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	payload, _ := (&jws.Claims{
		Issuer: benchIssuer, Subject: "u-1001", Audience: []string{benchAudience},
		IssuedAt: now, Expiry: now.Add(time.Hour), ID: "4sG1nqPXbLu9vW6QyGd1Xw",
	}).MarshalJSON()
	specs := []struct {
		alg  string
		jose jose.SignatureAlgorithm
		priv any
		pub  any
	}{
		{jws.ES256, jose.ES256, ec, &ec.PublicKey},
		{jws.ES384, jose.ES384, ec384, &ec384.PublicKey},
		{jws.EdDSA, jose.EdDSA, ed, ed.Public()},
		{jws.RS256, jose.RS256, rk, &rk.PublicKey},
		{jws.PS256, jose.PS256, rk, &rk.PublicKey},
		{jws.HS256, jose.HS256, secret, secret},
	}
	var out []jwsCase
	for _, s := range specs {
		kid := "bench-" + s.alg
		signer, err := jws.NewSigner(s.alg, s.priv, kid)
		if err != nil {
			b.Fatal(err)
		}
		tok, err := jws.Sign(signer, jws.Protected{Type: "JWT"}, payload)
		if err != nil {
			b.Fatal(err)
		}
		var key *jws.Key
		if s.alg == jws.HS256 {
			key, err = jws.NewHMACKey(secret, kid)
		} else {
			key, err = jws.NewPublicKey(s.pub, kid, "")
		}
		if err != nil {
			b.Fatal(err)
		}
		set, err := jws.NewKeySet(key)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, jwsCase{
			alg: s.alg, jose: s.jose, token: tok, set: set,
			joseKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: s.pub, KeyID: kid, Algorithm: s.alg, Use: "sig"}}},
		})
	}
	return out
}

// joseVerify is what a careful go-jose user writes to verify a JWS: parse
// with the allow-list, check typ, find the key by kid, verify.
func joseVerify(c *jwsCase) ([]byte, error) {
	obj, err := jose.ParseSigned(c.token, []jose.SignatureAlgorithm{c.jose})
	if err != nil {
		return nil, err
	}
	h := obj.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "JWT" {
		return nil, jose.ErrCryptoFailure
	}
	keys := c.joseKS.Key(h.KeyID)
	if len(keys) != 1 {
		return nil, jose.ErrCryptoFailure
	}
	return obj.Verify(keys[0].Key)
}

func BenchmarkJWSVerify(b *testing.B) {
	for _, c := range jwsCases(b) {
		v, err := jws.NewVerifier([]string{c.alg}, c.set, jws.WithType("JWT"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("impl=jws/alg="+c.alg, func(b *testing.B) {
			cpuLoop(b, func() error { _, err := v.Verify(c.token); return err })
		})
		b.Run("impl=gojose/alg="+c.alg, func(b *testing.B) {
			cpuLoop(b, func() error { _, err := joseVerify(&c); return err })
		})
	}
}

// BenchmarkJWTVerify adds the claims: parse and validate iss, aud, exp.
func BenchmarkJWTVerify(b *testing.B) {
	for _, c := range jwsCases(b) {
		if c.alg != jws.ES256 && c.alg != jws.HS256 {
			continue
		}
		v, err := jws.NewVerifier([]string{c.alg}, c.set, jws.WithType("JWT"))
		if err != nil {
			b.Fatal(err)
		}
		exp := jws.Expected{Issuer: benchIssuer, AnyAudience: []string{benchAudience}}
		b.Run("impl=jws/alg="+c.alg, func(b *testing.B) {
			cpuLoop(b, func() error {
				tok, err := v.Verify(c.token)
				if err != nil {
					return err
				}
				claims, err := jws.ParseClaims(tok.Payload)
				if err != nil {
					return err
				}
				return claims.Validate(exp)
			})
		})
		b.Run("impl=gojose/alg="+c.alg, func(b *testing.B) {
			cpuLoop(b, func() error {
				payload, err := joseVerify(&c)
				if err != nil {
					return err
				}
				var claims jwt.Claims
				if err := json.Unmarshal(payload, &claims); err != nil {
					return err
				}
				return claims.Validate(jwt.Expected{Issuer: benchIssuer, AnyAudience: jwt.Audience{benchAudience}})
			})
		})
	}
}
