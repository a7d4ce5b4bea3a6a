package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// craft signs arbitrary header fields and claims with k, its public JWK in
// the header unless jwk says otherwise ("-" for none).
func craft(t testing.TB, k clientKey, typ, jwk, claims string) string {
	t.Helper()
	s, err := jws.NewSigner(k.alg, k.priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if jwk == "" {
		b, err := jws.AppendPublicJWK(nil, k.priv.Public(), "", "")
		if err != nil {
			t.Fatal(err)
		}
		jwk = string(b)
	}
	var extra []jws.Member
	if jwk != "-" {
		extra = []jws.Member{{Name: "jwk", Value: []byte(jwk)}}
	}
	tok, err := jws.Sign(s, jws.Protected{Type: typ, Extra: extra}, []byte(claims))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func iat(d time.Duration) string { return strconv.FormatInt(testNow.Add(d).Unix(), 10) }

// TestVerifyRFC9449 checks RFC 9449 §4.3, rule by rule, each with the
// typed error it gives, at the token endpoint and at a resource server.
func TestVerifyRFC9449(t *testing.T) {
	es := keyFor(t, jws.ES256)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey := clientKey{jws.ES256, other}
	jkt := thumbprint(t, es)
	const at = "eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIn0.x.y.z.w"
	good := `{"jti":"j-1","htm":"POST","htu":"` + tokenURL + `","iat":` + iat(0) + `}`
	ecPriv := es.priv.(*ecdsa.PrivateKey)
	raw, _ := ecPriv.PublicKey.Bytes()
	privJWK := `{"kty":"EC","crv":"P-256","x":"` + base64.RawURLEncoding.EncodeToString(raw[1:33]) + `","y":"` +
		base64.RawURLEncoding.EncodeToString(raw[33:]) + `","d":"` + base64.RawURLEncoding.EncodeToString(ecPriv.D.FillBytes(make([]byte, 32))) + `"}`
	post := dpop.Request{Method: "POST", URI: tokenURL}
	rs := dpop.Request{Method: "GET", URI: apiURL, AccessToken: at, JKT: jkt}

	tests := []struct {
		name    string
		headers []string
		req     dpop.Request
		want    error // nil: accepted
	}{
		{name: "RFC 9449 §4.3: a valid proof at the token endpoint", headers: []string{proof(t, es, dpop.Claims{Method: "POST", URI: tokenURL})}, req: post},
		{name: "RFC 9449 §4.3 (1): no DPoP header", headers: nil, req: post, want: dpop.ErrMissing},
		{name: "RFC 9449 §4.3 (1): two DPoP headers", headers: []string{proof(t, es, dpop.Claims{Method: "POST", URI: tokenURL}), proof(t, es, dpop.Claims{Method: "POST", URI: tokenURL})}, req: post, want: dpop.ErrMultiple},
		{name: "RFC 9449 §4.3 (2): not a JWT", headers: []string{"not-a-jwt"}, req: post, want: dpop.ErrMalformed},
		{name: "RFC 9449 §4.3 (2): an encrypted JWT", headers: []string{at}, req: post, want: dpop.ErrMalformed},
		{name: "RFC 9449 §4.3 (3): jti required", headers: []string{craft(t, es, "dpop+jwt", "", `{"htm":"POST","htu":"`+tokenURL+`","iat":`+iat(0)+`}`)}, req: post, want: dpop.ErrClaims},
		{name: "RFC 9449 §4.3 (3): htm required", headers: []string{craft(t, es, "dpop+jwt", "", `{"jti":"j","htu":"`+tokenURL+`","iat":`+iat(0)+`}`)}, req: post, want: dpop.ErrClaims},
		{name: "RFC 9449 §4.3 (3): htu required", headers: []string{craft(t, es, "dpop+jwt", "", `{"jti":"j","htm":"POST","iat":`+iat(0)+`}`)}, req: post, want: dpop.ErrClaims},
		{name: "RFC 9449 §4.3 (3): iat required", headers: []string{craft(t, es, "dpop+jwt", "", `{"jti":"j","htm":"POST","htu":"`+tokenURL+`"}`)}, req: post, want: dpop.ErrClaims},
		{name: "RFC 9449 §4.3 (3): iat a NumericDate", headers: []string{craft(t, es, "dpop+jwt", "", `{"jti":"j","htm":"POST","htu":"`+tokenURL+`","iat":"`+iat(0)+`"}`)}, req: post, want: dpop.ErrClaims},
		{name: "RFC 9449 §4.3 (3): jti bounded", headers: []string{craft(t, es, "dpop+jwt", "", `{"jti":"`+strings.Repeat("j", 257)+`","htm":"POST","htu":"`+tokenURL+`","iat":`+iat(0)+`}`)}, req: post, want: dpop.ErrClaims},
		{name: "RFC 9449 §4.3 (3): a repeated claim", headers: []string{craft(t, es, "dpop+jwt", "", `{"jti":"j","htm":"GET","htm":"POST","htu":"`+tokenURL+`","iat":`+iat(0)+`}`)}, req: post, want: dpop.ErrClaims},
		{name: "RFC 9449 §4.3 (4): typ dpop+jwt required", headers: []string{craft(t, es, "JWT", "", good)}, req: post, want: jws.ErrType},
		{name: "RFC 9449 §4.3 (4): typ missing", headers: []string{craft(t, es, "", "", good)}, req: post, want: jws.ErrType},
		{name: "RFC 9449 §4.3 (5): alg none", headers: []string{base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"dpop+jwt"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(good)) + "."}, req: post, want: jws.ErrAlgorithm},
		{name: "RFC 9449 §4.3 (5): a symmetric alg", headers: []string{hs256Proof(t, good)}, req: post, want: jws.ErrAlgorithm},
		{name: "RFC 9449 §4.3 (6): no jwk header", headers: []string{craft(t, es, "dpop+jwt", "-", good)}, req: post, want: dpop.ErrKey},
		{name: "RFC 9449 §4.3 (6): signed by another key than the jwk", headers: []string{craft(t, otherKey, "dpop+jwt", publicJWK(t, es), good)}, req: post, want: jws.ErrSignature},
		{name: "RFC 9449 §4.3 (7): a private key in jwk", headers: []string{craft(t, es, "dpop+jwt", privJWK, good)}, req: post, want: jws.ErrPrivateKey},
		{name: "RFC 9449 §4.3 (8): htm differs", headers: []string{proof(t, es, dpop.Claims{Method: "GET", URI: tokenURL})}, req: post, want: dpop.ErrMethod},
		{name: "RFC 9449 §4.3 (8): htm is case-sensitive", headers: []string{proof(t, es, dpop.Claims{Method: "post", URI: tokenURL})}, req: post, want: dpop.ErrMethod},
		{name: "RFC 9449 §4.3 (9): htu of another endpoint", headers: []string{proof(t, es, dpop.Claims{Method: "POST", URI: "https://issuer.example.com/par"})}, req: post, want: dpop.ErrURI},
		{name: "RFC 9449 §4.3 (9): htu of another host", headers: []string{proof(t, es, dpop.Claims{Method: "POST", URI: "https://evil.example.com/token"})}, req: post, want: dpop.ErrURI},
		{name: "RFC 9449 §4.3 (9): htu over http", headers: []string{proof(t, es, dpop.Claims{Method: "POST", URI: "http://issuer.example.com/token"})}, req: post, want: dpop.ErrURI},
		{name: "RFC 9449 §4.3 (9): query and fragment ignored", headers: []string{craft(t, es, "dpop+jwt", "", `{"jti":"j","htm":"POST","htu":"`+tokenURL+`?a=1#f","iat":`+iat(0)+`}`)}, req: dpop.Request{Method: "POST", URI: tokenURL + "?b=2"}},
		{name: "RFC 9449 §4.3 (9): scheme and host case, default port", headers: []string{craft(t, es, "dpop+jwt", "", `{"jti":"j","htm":"POST","htu":"HTTPS://Issuer.Example.COM:443/token","iat":`+iat(0)+`}`)}, req: post},
		{name: "RFC 9449 §4.3 (9): a trailing slash is kept", headers: []string{proof(t, es, dpop.Claims{Method: "POST", URI: tokenURL + "/"})}, req: post, want: dpop.ErrURI},
		{name: "RFC 9449 §4.3 (9): path case is kept", headers: []string{proof(t, es, dpop.Claims{Method: "POST", URI: "https://issuer.example.com/Token"})}, req: post, want: dpop.ErrURI},
		{name: "RFC 9449 §4.3 (11): iat at the edge of the past window", headers: []string{proof(t, es, dpop.Claims{Method: "POST", URI: tokenURL, IssuedAt: testNow.Add(-60 * time.Second)})}, req: post},
		{name: "RFC 9449 §4.3 (11): iat too old", headers: []string{proof(t, es, dpop.Claims{Method: "POST", URI: tokenURL, IssuedAt: testNow.Add(-61 * time.Second)})}, req: post, want: dpop.ErrIssuedAt},
		{name: "RFC 9449 §4.3 (11): iat within the skew", headers: []string{proof(t, es, dpop.Claims{Method: "POST", URI: tokenURL, IssuedAt: testNow.Add(10 * time.Second)})}, req: post},
		{name: "RFC 9449 §4.3 (11): iat in the future", headers: []string{proof(t, es, dpop.Claims{Method: "POST", URI: tokenURL, IssuedAt: testNow.Add(11 * time.Second)})}, req: post, want: dpop.ErrIssuedAt},
		{name: "RFC 9449 §4.3 (12): a valid proof at a resource server", headers: []string{proof(t, es, dpop.Claims{Method: "GET", URI: apiURL, AccessToken: at})}, req: rs},
		{name: "RFC 9449 §4.3 (12): ath required with an access token", headers: []string{proof(t, es, dpop.Claims{Method: "GET", URI: apiURL})}, req: rs, want: dpop.ErrTokenHash},
		{name: "RFC 9449 §4.3 (12): ath of another token", headers: []string{proof(t, es, dpop.Claims{Method: "GET", URI: apiURL, AccessToken: at + "x"})}, req: rs, want: dpop.ErrTokenHash},
		{name: "RFC 9449 §4.3 (12): the key bound to the token", headers: []string{proof(t, otherKey, dpop.Claims{Method: "GET", URI: apiURL, AccessToken: at})}, req: rs, want: dpop.ErrKeyBinding},
		{name: "RFC 9449 §10: dpop_jkt binding at the token endpoint", headers: []string{proof(t, otherKey, dpop.Claims{Method: "POST", URI: tokenURL})}, req: dpop.Request{Method: "POST", URI: tokenURL, JKT: jkt}, want: dpop.ErrKeyBinding},
	}
	v := verifier(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.headers, tt.req)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if p.JKT != jkt || p.ID == "" || p.IssuedAt.IsZero() {
					t.Fatalf("proof %+v", p)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !errors.Is(err, dpop.ErrInvalidProof) || dpop.ErrorCode(err) != dpop.CodeInvalidProof {
				t.Fatalf("error %v is not an invalid_dpop_proof", err)
			}
		})
	}
}

func publicJWK(t testing.TB, k clientKey) string {
	b, err := jws.AppendPublicJWK(nil, k.priv.Public(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hs256Proof(t testing.TB, claims string) string {
	s, _ := jws.NewSigner(jws.HS256, []byte("0123456789abcdef0123456789abcdef"), "")
	tok, err := jws.Sign(s, jws.Protected{Type: "dpop+jwt", Extra: []jws.Member{{Name: "jwk", Value: []byte(`{"kty":"oct","k":"AAAA"}`)}}}, []byte(claims))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestEveryAlgorithm: proofs of each allowed algorithm verify and carry
// the key's thumbprint; the allow-list can narrow them.
func TestEveryAlgorithm(t *testing.T) {
	v := verifier(t)
	esOnly := verifier(t, dpop.WithAlgorithms(jws.ES256))
	for _, k := range clientKeys(t) {
		t.Run(k.alg, func(t *testing.T) {
			p := proof(t, k, dpop.Claims{Method: "POST", URI: tokenURL})
			got, err := v.Verify(context.Background(), []string{p}, dpop.Request{Method: "POST", URI: tokenURL})
			if err != nil {
				t.Fatal(err)
			}
			if got.JKT != thumbprint(t, k) || got.Method != "POST" || got.URI != tokenURL {
				t.Fatalf("proof %+v", got)
			}
			_, err = esOnly.Verify(context.Background(), []string{p}, dpop.Request{Method: "POST", URI: tokenURL})
			if (k.alg == jws.ES256) != (err == nil) {
				t.Fatalf("ES256-only verifier: %v", err)
			}
		})
	}
	p := proof(t, keyFor(t, jws.ES256), dpop.Claims{Method: "POST", URI: tokenURL})
	if _, err := v.Verify(context.Background(), []string{p}, dpop.Request{Method: "POST", URI: "/token"}); !errors.Is(err, dpop.ErrRequest) || dpop.ErrorCode(err) != "" {
		t.Fatalf("a relative request URI: %v (code %q), want ErrRequest and no proof error code", err, dpop.ErrorCode(err))
	}
	if _, err := dpop.NewVerifier(dpop.WithAlgorithms(jws.HS256)); err == nil {
		t.Fatal("HS256 accepted as a proof algorithm")
	}
}

// TestNonceRequired: RFC 9449 §8: with server nonces, a proof without one,
// with a stale or a forged one is use_dpop_nonce; with the current one it
// is accepted.
func TestNonceRequired(t *testing.T) {
	es := keyFor(t, jws.ES256)
	now := testNow
	clock := func() time.Time { return now }
	nonces, err := dpop.NewNonces(30*time.Second, clock, []byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, dpop.WithNonces(nonces), dpop.WithClock(clock))
	req := dpop.Request{Method: "POST", URI: tokenURL}
	stale := nonces.Current()
	now = now.Add(65 * time.Second) // two steps on
	tests := []struct {
		name  string
		nonce string
		ok    bool
	}{
		{"RFC 9449 §8: no nonce", "", false},
		{"RFC 9449 §8: the current nonce", nonces.Current(), true},
		{"RFC 9449 §8: a stale nonce", stale, false},
		{"RFC 9449 §8: a forged nonce", "AAAAAAAAAAAAAAAAAAAAAA", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := proof(t, es, dpop.Claims{Method: "POST", URI: tokenURL, Nonce: tt.nonce, IssuedAt: now})
			got, err := v.Verify(context.Background(), []string{p}, req)
			if tt.ok {
				if err != nil || got.Nonce != tt.nonce {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, dpop.ErrUseNonce) || dpop.ErrorCode(err) != dpop.CodeUseNonce {
				t.Fatalf("error %v, want use_dpop_nonce", err)
			}
		})
	}
}
