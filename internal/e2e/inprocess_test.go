package e2e

// The issuer's endpoints (pkg/endpoint over net/http) and the resource
// server's client (pkg/crypttoken/remote) against each other in one
// process: the documents the one publishes are the documents the other
// accepts.

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/remote"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/endpoint/httpendpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

const (
	inAud    = "https://orders.example.com"
	inRS     = "orders-api"
	inSecret = "in-process-client-secret-0123456789"
	inRSSec  = "in-process-rs-secret-0123456789abcd"
)

// inIssuer is an endpoint.Server with status lists and key deliveries,
// served over TLS.
type inIssuer struct {
	srv     *httptest.Server
	ep      *endpoint.Server
	aud     *keys.Ring
	signing *keys.Ring
	rsKey   []byte // the resource server's private JWK Set
}

func newInIssuer(t *testing.T, signed bool) *inIssuer {
	t.Helper()
	in := &inIssuer{}
	mux := http.NewServeMux()
	in.srv = httptest.NewUnstartedServer(mux)
	in.srv.StartTLS()
	t.Cleanup(in.srv.Close)
	issuer := in.srv.URL
	now := time.Now()
	pol := keys.Policy{RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: 2 * time.Hour}
	mk := func(name string, p keys.Policy) *keys.Ring {
		set, err := keys.NewSetFromPolicy(name, now.Add(-2*time.Minute), p)
		must(t, err)
		return keys.NewRing(set)
	}
	in.aud = mk(inAud, pol)
	sp := pol
	sp.Alg = keys.ES256
	in.signing = mk(keys.SigningRing, sp)
	rs, err := keys.GenerateRecipient(keys.CurveP256, false)
	must(t, err)
	in.rsKey, err = rs.PrivateJWKS()
	must(t, err)
	st, err := memory.New()
	must(t, err)
	t.Cleanup(func() { _ = st.Close() })
	hash := func(s string) secret.Hash {
		h, err := secret.Parse(secret.NewSHA256(s))
		must(t, err)
		return h
	}
	clients, err := endpoint.NewStaticClients(&endpoint.Client{
		ID: "backend", Secret: hash(inSecret), GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
		Scopes: []string{"read"}, DefaultScopes: []string{"read"},
	})
	must(t, err)
	alloc, err := endpoint.NewStatusAllocator(st, issuer+"/statuslists/", endpoint.WithStatusListSize(10))
	must(t, err)
	paths := endpoint.DefaultPaths
	paths.JWKS, paths.StatusLists, paths.ResourceKeys = "/jwks.json", "/statuslists", "/resource-keys"
	opts := []endpoint.Option{
		endpoint.WithPaths(paths),
		endpoint.WithStatusLists(alloc, time.Second),
		endpoint.WithResourceServers(&endpoint.ResourceServer{ID: inRS, Secret: hash(inRSSec), Audiences: []string{inAud}, Keys: rs.Public()}),
	}
	if signed {
		opts = append(opts, endpoint.WithSignedAudiences(inAud))
	}
	in.ep, err = endpoint.New(issuer, endpoint.Rings{
		Internal: mk(keys.InternalRing, pol), Audiences: map[string]*keys.Ring{inAud: in.aud}, Default: inAud, Signing: in.signing,
	}, clients, st, opts...)
	must(t, err)
	httpendpoint.Register(mux, in.ep)
	mux.HandleFunc("/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		b, err := keys.ExportJWKS(in.signing.Load(), time.Now())
		must(t, err)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(b)
	})
	return in
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// post sends a form to path with Basic credentials and returns the JSON
// answer.
func (in *inIssuer) post(t *testing.T, path string, form url.Values, id, sec string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", in.srv.URL+path, strings.NewReader(form.Encode()))
	must(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
	resp, err := in.srv.Client().Do(req)
	must(t, err)
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (in *inIssuer) token(t *testing.T) string {
	t.Helper()
	code, m := in.post(t, "/token", url.Values{"grant_type": {"client_credentials"}}, "backend", inSecret)
	if code != 200 {
		t.Fatalf("token: %d %v", code, m)
	}
	return m["access_token"].(string)
}

// TestRemoteAgainstTheEndpoints: the client reads the issuer's metadata,
// key delivery and status lists as pkg/endpoint publishes them; tokens
// open; a token revoked at /revoke is refused within the list's ttl plus
// one fetch; its neighbours are untouched; a signed audience's tokens
// are verified.
func TestRemoteAgainstTheEndpoints(t *testing.T) {
	for _, signed := range []bool{false, true} {
		t.Run(map[bool]string{false: "unsigned", true: "signed"}[signed], func(t *testing.T) {
			in := newInIssuer(t, signed)
			victim, other := in.token(t), in.token(t)
			var (
				mu       sync.Mutex
				reported []error
			)
			rs, err := remote.New(t.Context(), in.srv.URL, inRS, in.rsKey, remote.WithHTTPClient(in.srv.Client()),
				remote.WithOnError(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
			must(t, err)
			defer rs.Close()
			o, err := rs.Opener(inAud)
			must(t, err)
			for _, tok := range []string{victim, other} {
				c, err := o.Open(tok)
				if err != nil {
					t.Fatalf("the issuer's token: %v", err)
				}
				if c.Status.IsZero() {
					t.Fatal("the token carries no status")
				}
			}
			if code, m := in.post(t, "/revoke", url.Values{"token": {victim}}, "backend", inSecret); code != 200 {
				t.Fatalf("revoke: %d %v", code, m)
			}
			start := time.Now()
			deadline := start.Add(5 * time.Second)
			for {
				_, err := o.Open(victim)
				if errors.Is(err, crypttoken.ErrRevoked) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("revoked token still accepted after %s: %v", time.Since(start), err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("revocation seen after %s; ttl is 1 s", took)
			}
			if _, err := o.Open(other); err != nil {
				t.Errorf("another token after the revocation: %v", err)
			}
			if signed {
				forger, err := crypttoken.NewSealer(in.aud)
				must(t, err)
				c, _ := o.Open(other)
				c.ID, c.IssuedAt = "", time.Time{}
				forged, err := forger.Seal(crypttoken.TypeAccess, c)
				must(t, err)
				if _, err := o.Open(forged); !errors.Is(err, crypttoken.ErrSignature) {
					t.Errorf("a token forged with the audience key: %v, want ErrSignature", err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(reported) != 0 {
				t.Errorf("the client reported %v", reported)
			}
		})
	}
}
