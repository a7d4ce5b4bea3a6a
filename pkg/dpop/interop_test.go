package dpop_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/pkg/dpop"
)

// TestGoJoseProofsVerify: proofs that go-jose builds (EmbedJWK, its own
// header layout) verify here, for every algorithm, with go-jose's
// thumbprint.
func TestGoJoseProofsVerify(t *testing.T) {
	v := verifier(t)
	for _, k := range clientKeys(t) {
		t.Run(k.alg, func(t *testing.T) {
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.alg), Key: k.priv},
				(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
			if err != nil {
				t.Fatal(err)
			}
			claims, _ := json.Marshal(map[string]any{"jti": "gj-1", "htm": "POST", "htu": tokenURL, "iat": testNow.Unix()})
			obj, err := s.Sign(claims)
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := obj.CompactSerialize()
			p, err := v.Verify(context.Background(), []string{tok}, dpop.Request{Method: "POST", URI: tokenURL})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := (&jose.JSONWebKey{Key: k.priv.Public()}).Thumbprint(crypto.SHA256)
			if p.JKT != base64.RawURLEncoding.EncodeToString(want) {
				t.Fatalf("jkt %s, go-jose %x", p.JKT, want)
			}
		})
	}
}

// TestGoJoseVerifiesOurProofs: go-jose verifies what NewProof builds with
// the key in its jwk header, and reads its claims.
func TestGoJoseVerifiesOurProofs(t *testing.T) {
	for _, k := range clientKeys(t) {
		t.Run(k.alg, func(t *testing.T) {
			tok := proof(t, k, dpop.Claims{Method: "GET", URI: apiURL + "?x=1", AccessToken: "at", Nonce: "n-1"})
			obj, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(k.alg)})
			if err != nil {
				t.Fatal(err)
			}
			h := obj.Signatures[0].Protected
			if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || h.ExtraHeaders[jose.HeaderType] != "dpop+jwt" {
				t.Fatalf("header %+v", h)
			}
			payload, err := obj.Verify(h.JSONWebKey)
			if err != nil {
				t.Fatal(err)
			}
			var c map[string]any
			_ = json.Unmarshal(payload, &c)
			if c["htu"] != apiURL || c["htm"] != "GET" || c["ath"] != dpop.AccessTokenHash("at") || c["nonce"] != "n-1" {
				t.Fatalf("claims %v", c)
			}
		})
	}
}
