package bench

// DPoP proof verification (RFC 9449 §4.3), pkg/dpop beside go-jose doing
// the same checks: parse with the allow-list, typ, a public embedded JWK,
// the signature by it, the claims (jti, htm, htu without query, iat
// window, ath), the JWK thumbprint against the token's cnf.jkt. Neither
// uses a replay cache (that is a store round trip, the same for both).

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
)

const (
	dpopURI    = "https://api.example.com/v1/items"
	dpopMethod = "GET"
	dpopToken  = "eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoiazEiLCJ0eXAiOiJhdCtqd3QifQ.AAAA.BBBB.CCCC.DDDD"
)

// joseDPoP is the go-jose side: the same checks, written as a careful
// go-jose user writes them.
func joseDPoP(proof string, alg jose.SignatureAlgorithm, jkt string, now time.Time) error {
	obj, err := jose.ParseSigned(proof, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return err
	}
	h := obj.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "dpop+jwt") {
		return errors.New("typ")
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
		return errors.New("jwk")
	}
	payload, err := obj.Verify(h.JSONWebKey)
	if err != nil {
		return err
	}
	var c struct {
		JTI string `json:"jti"`
		HTM string `json:"htm"`
		HTU string `json:"htu"`
		IAT int64  `json:"iat"`
		ATH string `json:"ath"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return err
	}
	u, err := url.Parse(c.HTU)
	if err != nil {
		return err
	}
	u.RawQuery, u.Fragment = "", ""
	if c.JTI == "" || c.HTM != dpopMethod || !strings.EqualFold(u.Scheme+"://"+u.Host, "https://api.example.com") || u.Path != "/v1/items" {
		return errors.New("claims")
	}
	if iat := time.Unix(c.IAT, 0); iat.Before(now.Add(-time.Minute)) || iat.After(now.Add(10*time.Second)) {
		return errors.New("iat")
	}
	sum := sha256.Sum256([]byte(dpopToken))
	if c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
		return errors.New("ath")
	}
	tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return err
	}
	if base64.RawURLEncoding.EncodeToString(tp) != jkt {
		return errors.New("jkt")
	}
	return nil
}

func BenchmarkDPoPVerify(b *testing.B) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	v, err := dpop.NewVerifier()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		alg  string
		priv crypto.Signer
	}{{jws.ES256, ec}, {jws.EdDSA, ed}, {jws.PS256, rk}, {jws.RS256, rk}} {
		proof, err := dpop.NewProof(c.priv, c.alg, dpop.Claims{Method: dpopMethod, URI: dpopURI + "?page=2", AccessToken: dpopToken})
		if err != nil {
			b.Fatal(err)
		}
		jkt, _ := jws.ThumbprintString(c.priv.Public())
		req := dpop.Request{Method: dpopMethod, URI: dpopURI + "?page=2", AccessToken: dpopToken, JKT: jkt}
		values := []string{proof}
		b.Run("impl=dpop/alg="+c.alg, func(b *testing.B) {
			cpuLoop(b, func() error { _, err := v.Verify(context.Background(), values, req); return err })
		})
		b.Run("impl=gojose/alg="+c.alg, func(b *testing.B) {
			cpuLoop(b, func() error { return joseDPoP(proof, jose.SignatureAlgorithm(c.alg), jkt, time.Now()) })
		})
	}
}
