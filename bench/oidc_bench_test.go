package bench

// OpenID Connect costs (SPEC §11), figures and command in RESULTS-oidc.md:
//
//   - BenchmarkIDToken: making one signed ID token per algorithm of the
//     signing ring, the way pkg/endpoint makes it (the claims appended to a
//     buffer, at_hash over the access token, pkg/jws's AppendSign with the
//     ring's key) beside go-jose v4 (a jose.Signer built once, its jwt
//     builder serializing the same claims, at_hash computed the same way);
//   - BenchmarkCodeExchange: Server.Token redeeming an authorization code
//     in-process, with the openid scope (the ID token and the UserInfo proof
//     on top of the access and refresh tokens) beside without.

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"runtime"
	"strconv"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// idTokenAccess stands for the access token issued beside the ID token.
const idTokenAccess = "eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoiazEiLCJ0eXAiOiJhdCtqd3QifQ.bench.bench.bench.bench"

// idClaims are an ID token's claims for go-jose's jwt builder.
type idClaims struct {
	jwt.Claims
	AuthTime      int64    `json:"auth_time"`
	Nonce         string   `json:"nonce"`
	AZP           string   `json:"azp"`
	AtHash        string   `json:"at_hash"`
	AMR           []string `json:"amr"`
	SID           string   `json:"sid"`
	Name          string   `json:"name"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
}

// atHash is the at_hash of Core §3.1.3.6 for alg, written out here so the
// go-jose side does the same work independently of pkg/endpoint.
func atHash(alg keys.Alg, tok string) string {
	if alg == keys.EdDSA {
		s := sha512.Sum512([]byte(tok))
		return base64.RawURLEncoding.EncodeToString(s[:32])
	}
	s := sha256.Sum256([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(s[:16])
}

// appendIDToken makes an ID token as pkg/endpoint does: the claims
// appended to a buffer, then jws.AppendSign with the ring's key.
func appendIDToken(dst []byte, k *keys.Key, now time.Time) ([]byte, error) {
	p := make([]byte, 0, 512)
	p = append(p, `{"iss":`...)
	p = jsonenc.AppendString(p, benchIssuer)
	p = append(p, `,"sub":"u-1001","aud":"webapp","exp":`...)
	p = strconv.AppendInt(p, now.Add(10*time.Minute).Unix(), 10)
	p = append(p, `,"iat":`...)
	p = strconv.AppendInt(p, now.Unix(), 10)
	p = append(p, `,"auth_time":`...)
	p = strconv.AppendInt(p, now.Add(-time.Minute).Unix(), 10)
	p = append(p, `,"nonce":"n-0S6_WzA2Mj","azp":"webapp","at_hash":`...)
	p = jsonenc.AppendString(p, endpoint.AtHash(k.Algorithm(), idTokenAccess))
	p = append(p, `,"amr":["pwd"],"sid":"ozuU87PBfAzAPOOQGkE-ZA","name":"Alice Liddell","email":"alice@example.com","email_verified":true}`...)
	return jws.AppendSign(dst, k, jws.Protected{Type: "JWT"}, p)
}

// BenchmarkIDToken signs one ID token per iteration.
func BenchmarkIDToken(b *testing.B) {
	for _, alg := range []keys.Alg{keys.ES256, keys.EdDSA, keys.RS256} {
		priv, k := signKey(b, alg)
		joseSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: priv},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.ID))
		if err != nil {
			b.Fatal(err)
		}
		joseToken := func(now time.Time) (string, error) {
			c := idClaims{
				Claims: jwt.Claims{Issuer: benchIssuer, Subject: "u-1001", Audience: jwt.Audience{"webapp"},
					Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute)), IssuedAt: jwt.NewNumericDate(now)},
				AuthTime: now.Add(-time.Minute).Unix(), Nonce: "n-0S6_WzA2Mj", AZP: "webapp",
				AtHash: atHash(alg, idTokenAccess), AMR: []string{"pwd"}, SID: "ozuU87PBfAzAPOOQGkE-ZA",
				Name: "Alice Liddell", Email: "alice@example.com", EmailVerified: true,
			}
			return jwt.Signed(joseSigner).Claims(c).Serialize()
		}
		// Both tokens verify with the public key and hold the same claims.
		now := time.Now()
		ours, err := appendIDToken(nil, k, now)
		if err != nil {
			b.Fatal(err)
		}
		theirs, err := joseToken(now)
		if err != nil {
			b.Fatal(err)
		}
		pub, err := jws.NewPublicKey(k.Public(), k.ID, string(alg))
		if err != nil {
			b.Fatal(err)
		}
		var c1, c2 map[string]any
		for tok, dst := range map[string]*map[string]any{string(ours): &c1, theirs: &c2} {
			v, err := jws.Verify(tok, []string{string(alg)}, pub, jws.WithType("JWT"))
			if err != nil {
				b.Fatalf("%s: %v", alg, err)
			}
			if err := json.Unmarshal(v.Payload, dst); err != nil {
				b.Fatal(err)
			}
		}
		j1, _ := json.Marshal(c1)
		j2, _ := json.Marshal(c2)
		if string(j1) != string(j2) {
			b.Fatalf("%s: the two ID tokens differ:\n%s\n%s", alg, j1, j2)
		}
		b.Run("impl=jws/alg="+string(alg), func(b *testing.B) {
			buf := make([]byte, 0, 2048)
			cpuLoop(b, func() error {
				var err error
				buf, err = appendIDToken(buf[:0], k, time.Now())
				return err
			})
		})
		b.Run("impl=gojose/alg="+string(alg), func(b *testing.B) {
			cpuLoop(b, func() error {
				_, err := joseToken(time.Now())
				return err
			})
		})
	}
}

// oidcBenchServer is an OpenID Provider with one confidential client and
// an approving resource owner, for minting codes.
func oidcBenchServer(b *testing.B) *endpoint.Server {
	b.Helper()
	now := time.Now()
	lc := keys.Lifecycle{Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour), Retires: now.Add(24 * time.Hour), Expires: now.Add(48 * time.Hour)}
	ring := func(name string, alg keys.Alg) *keys.Ring {
		k, err := keys.Generate(alg, lc)
		if err != nil {
			b.Fatal(err)
		}
		set, err := keys.NewSet(name, k)
		if err != nil {
			b.Fatal(err)
		}
		return keys.NewRing(set)
	}
	h, err := secret.Parse(secret.NewSHA256(epSecret))
	if err != nil {
		b.Fatal(err)
	}
	clients, err := endpoint.NewStaticClients(&endpoint.Client{ID: "web", Secret: h, RedirectURIs: []string{epRedirect},
		GrantTypes: []endpoint.GrantType{endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken},
		Scopes:     []string{"openid", "profile", "email"}})
	if err != nil {
		b.Fatal(err)
	}
	st, err := memory.New(memory.WithMaxEntries(10_000_000))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	users := endpoint.UserClaims{"name": json.RawMessage(`"Alice Liddell"`), "email": json.RawMessage(`"alice@example.com"`),
		"email_verified": json.RawMessage(`true`)}
	srv, err := endpoint.New(benchIssuer, endpoint.Rings{Internal: ring(keys.InternalRing, keys.A256KW),
		Audiences: map[string]*keys.Ring{benchAudience: ring(benchAudience, keys.A256KW)}, Default: benchAudience},
		clients, st, endpoint.WithOpenID(endpoint.OpenID{Signing: ring(keys.SigningRing, keys.ES256), Claims: claimsOf(users)}),
		endpoint.WithLifetimes(10*time.Minute, 24*time.Hour, 10*time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// claimsOf is a UserClaimsSource giving every user c.
type claimsOf endpoint.UserClaims

func (c claimsOf) UserClaims(context.Context, string) (endpoint.UserClaims, error) {
	return endpoint.UserClaims(c), nil
}

// BenchmarkCodeExchange redeems one authorization code per iteration
// (codes minted before the timer starts), with and without openid.
func BenchmarkCodeExchange(b *testing.B) {
	approve := endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
		return endpoint.Approve(endpoint.Grant{Subject: "u-1001", AuthTime: time.Now(), AMR: []string{"pwd"}, SessionID: "s"}), nil
	})
	for _, tc := range []struct{ name, scope string }{{"openid=without", "profile email"}, {"openid=with", "openid profile email"}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := oidcBenchServer(b)
			q := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {epRedirect},
				"scope": {tc.scope}, "state": {"s"}, "nonce": {"n-0S6_WzA2Mj"}}.Encode()
			codes := make([]string, b.N)
			for i := range codes {
				resp, res := srv.HandleAuthorize(context.Background(), &endpoint.Request{Method: "GET", URI: "/authorize?" + q, Secure: true,
					Header: endpoint.Headers{}}, approve)
				if res.Err != nil {
					b.Fatal(res.Err)
				}
				u, _ := url.Parse(resp.Header.Get("Location"))
				codes[i] = url.QueryEscape(u.Query().Get("code"))
			}
			want := tc.name == "openid=with"
			// CPU of this thread per exchange, as cpuLoop reports it, for
			// figures a busy machine does not inflate.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			b.ResetTimer()
			start := threadCPU()
			defer func() {
				if end := threadCPU(); start >= 0 && end >= 0 && b.N > 0 {
					b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
				}
			}()
			for i := range b.N {
				resp, res := srv.Token(context.Background(), epRequest("/token", "grant_type=authorization_code&redirect_uri="+url.QueryEscape(epRedirect)+"&code="+codes[i], "web"))
				if res.Err != nil {
					b.Fatal(res.Err)
				}
				if got := jsonMember(resp.Body, "id_token") != ""; got != want {
					b.Fatalf("id_token issued: %v, want %v", got, want)
				}
			}
		})
	}
}
