package bench

// The token endpoint with sender-constrained tokens and key-based client
// authentication (SPEC §10) beside the plain bearer token of the same
// client_credentials request, in process: Server.Token on a prepared
// endpoint.Request, the DPoP proofs (or client assertions) made before the
// timed loop, since each is single-use. Figures and the command are in
// RESULTS-bind.md.

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
	"net/url"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// bindKey is a client key of each algorithm.
func bindKey(b *testing.B, alg string) crypto.Signer {
	b.Helper()
	var k crypto.Signer
	var err error
	switch alg {
	case jws.ES256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jws.EdDSA:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// bindServer is an endpoint.Server with a sha256 client "sha" and a
// private_key_jwt client "pkjwt" registered with key (kid "k1"), over the
// memory store, which is also the DPoP replay cache; nonces, when set, are
// required.
func bindServer(b *testing.B, key crypto.Signer, alg string, nonces *dpop.Nonces) *endpoint.Server {
	b.Helper()
	now := time.Now()
	ring := func(name string) *keys.Ring {
		m := sha256.Sum256([]byte("bind bench " + name))
		k, err := keys.NewKey("k-"+base64.RawURLEncoding.EncodeToString(m[:6]), keys.A256KW, m[:], keys.Lifecycle{
			Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour), Retires: now.Add(24 * time.Hour), Expires: now.Add(48 * time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
		set, err := keys.NewSet(name, k)
		if err != nil {
			b.Fatal(err)
		}
		return keys.NewRing(set)
	}
	sha, err := secret.Parse(secret.NewSHA256(epSecret))
	if err != nil {
		b.Fatal(err)
	}
	pub, err := jws.NewPublicKey(key.Public(), "k1", alg)
	if err != nil {
		b.Fatal(err)
	}
	set, err := jws.NewKeySet(pub)
	if err != nil {
		b.Fatal(err)
	}
	cc := []endpoint.GrantType{endpoint.GrantClientCredentials}
	clients, err := endpoint.NewStaticClients(
		&endpoint.Client{ID: "sha", Secret: sha, GrantTypes: cc, Scopes: []string{"read"}, DefaultScopes: []string{"read"}},
		&endpoint.Client{ID: "pkjwt", GrantTypes: cc, Scopes: []string{"read"}, DefaultScopes: []string{"read"},
			Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKS: set}},
	)
	if err != nil {
		b.Fatal(err)
	}
	st, err := memory.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	var opts []endpoint.Option
	if nonces != nil {
		opts = append(opts, endpoint.WithDPoPNonces(nonces))
	}
	srv, err := endpoint.New(benchIssuer, endpoint.Rings{
		Internal:  ring(keys.InternalRing),
		Audiences: map[string]*keys.Ring{benchAudience: ring(benchAudience)},
		Default:   benchAudience,
	}, clients, st, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// proofs returns n DPoP proofs by key for the token endpoint, with nonce.
func proofs(b *testing.B, key crypto.Signer, alg, nonce string, n int) []string {
	b.Helper()
	out := make([]string, n)
	for i := range out {
		p, err := dpop.NewProof(key, alg, dpop.Claims{Method: "POST", URI: benchIssuer + "/token", Nonce: nonce})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = p
	}
	return out
}

// assertions returns n client assertions of pkjwt signed by key.
func assertions(b *testing.B, key crypto.Signer, alg string, n int) []string {
	b.Helper()
	s, err := jws.NewSigner(alg, key, "k1")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	out := make([]string, n)
	for i := range out {
		payload, _ := json.Marshal(map[string]any{"iss": "pkjwt", "sub": "pkjwt", "aud": benchIssuer,
			"iat": now.Unix(), "exp": now.Add(4 * time.Minute).Unix(), "jti": "bench-" + strconv.Itoa(i) + "-" + strconv.FormatInt(now.UnixNano(), 36)})
		if out[i], err = jws.Sign(s, jws.Protected{}, payload); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

// preparedLoop runs op(i) for i in [0, b.N) after prep(b.N) has made what
// each iteration consumes, with that preparation outside both the timer and
// the cpu-ns/op figure (the thread's CPU time per operation, as cpuLoop
// reports it).
func preparedLoop(b *testing.B, prep func(n int), op func(i int) error) {
	b.Helper()
	b.StopTimer()
	prep(b.N)
	runtime.GC()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.StartTimer()
	start := threadCPU()
	for i := 0; i < b.N; i++ {
		if err := op(i); err != nil {
			b.Fatal(err)
		}
	}
	end := threadCPU()
	b.StopTimer()
	if start >= 0 && end >= 0 && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkTokenBinding measures a client_credentials request of the token
// endpoint: binding=none is the baseline (client_secret_basic, a bearer
// token); binding=dpop adds a DPoP proof of each algorithm (its
// verification, the store's single-use check, a cnf.jkt in the token),
// binding=dpop-nonce a required server nonce too; auth=private_key_jwt
// authenticates with a client assertion instead of the secret (its
// verification and single-use jti).
func BenchmarkTokenBinding(b *testing.B) {
	ctx := context.Background()
	const form = "grant_type=client_credentials"
	b.Run("binding=none/auth=client_secret_basic", func(b *testing.B) {
		srv := bindServer(b, bindKey(b, jws.ES256), jws.ES256, nil)
		req := epRequest("/token", form, "sha")
		preparedLoop(b, func(int) {}, func(int) error {
			if resp, _ := srv.Token(ctx, req); resp.Status != 200 {
				return statusError(resp)
			}
			return nil
		})
	})
	for _, alg := range []string{jws.ES256, jws.EdDSA, jws.PS256, jws.RS256} {
		for _, withNonce := range []bool{false, true} {
			name := "binding=dpop/alg=" + alg
			if withNonce {
				if alg != jws.ES256 {
					continue
				}
				name = "binding=dpop-nonce/alg=" + alg
			}
			b.Run(name, func(b *testing.B) {
				key := bindKey(b, alg)
				var nonces *dpop.Nonces
				nonce := ""
				if withNonce {
					var err error
					if nonces, err = dpop.NewNonces(time.Minute, nil, []byte("bench nonce key 0123456789abcdef")); err != nil {
						b.Fatal(err)
					}
					nonce = nonces.Current()
				}
				srv := bindServer(b, key, alg, nonces)
				var ps []string
				req := epRequest("/token", form, "sha")
				req.Header = append(req.Header.(endpoint.Headers), endpoint.HeaderField{Name: "DPoP"})
				h := req.Header.(endpoint.Headers)
				preparedLoop(b, func(n int) { ps = proofs(b, key, alg, nonce, n) }, func(i int) error {
					h[len(h)-1].Value = ps[i]
					resp, _ := srv.Token(ctx, req)
					if resp.Status != 200 || jsonMember(resp.Body, "token_type") != "DPoP" {
						return statusError(resp)
					}
					return nil
				})
			})
		}
	}
	b.Run("binding=none/auth=private_key_jwt/alg=ES256", func(b *testing.B) {
		key := bindKey(b, jws.ES256)
		srv := bindServer(b, key, jws.ES256, nil)
		var as []string
		req := &endpoint.Request{Method: "POST", URI: "/token", Secure: true, RemoteAddr: epRequest("/", "", "sha").RemoteAddr,
			Header: endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}}
		preparedLoop(b, func(n int) { as = assertions(b, key, jws.ES256, n) }, func(i int) error {
			req.Body = append(req.Body[:0], "grant_type=client_credentials&client_assertion_type="+url.QueryEscape(endpoint.AssertionType)+"&client_assertion="...)
			req.Body = append(req.Body, as[i]...)
			if resp, _ := srv.Token(ctx, req); resp.Status != 200 {
				return statusError(resp)
			}
			return nil
		})
	})
}

type statusErr struct{ body string }

func (e statusErr) Error() string { return e.body }

func statusError(resp *endpoint.Response) error {
	return statusErr{strconv.Itoa(resp.Status) + ": " + string(resp.Body)}
}
