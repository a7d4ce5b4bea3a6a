package endpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
)

func TestTokenHooks(t *testing.T) {
	errDenied := errors.New("policy store says no")
	tests := []struct {
		name  string
		hooks endpoint.Hooks
		body  string
		auth  reqOpt
		check func(t *testing.T, f *fixture, resp *endpoint.Response, res endpoint.Result)
	}{
		{
			name: "ValidateTokenRequest sees the validated request and its credentials",
			hooks: endpoint.Hooks{ValidateTokenRequest: func(_ context.Context, tr *endpoint.TokenRequest) error {
				if tr.GrantType != endpoint.GrantClientCredentials || tr.Client.ID != "backend" ||
					tr.AuthMethod != endpoint.AuthSecretBasic || tr.Audience != apiAud || tr.Subject != "backend" ||
					strings.Join(tr.Scopes, " ") != "read" || tr.Credentials["tenant"] != "t-1" || tr.Params.Get("x") != "y" {
					return fmt.Errorf("unexpected request %+v", *tr)
				}
				return nil
			}},
			body: form("grant_type", "client_credentials", "x", "y"),
			auth: basic("backend", backendSecret),
			check: func(t *testing.T, _ *fixture, resp *endpoint.Response, _ endpoint.Result) {
				require.Equal(t, 200, resp.Status, "body %s", resp.Body)
			},
		},
		{
			name: "ValidateTokenRequest *Error is sent as it is",
			hooks: endpoint.Hooks{ValidateTokenRequest: func(context.Context, *endpoint.TokenRequest) error {
				return fmt.Errorf("wrapped: %w", endpoint.NewError(endpoint.InvalidScope, "tenant may not ask for write"))
			}},
			body: ccBody, auth: basic("backend", backendSecret),
			check: func(t *testing.T, _ *fixture, resp *endpoint.Response, res endpoint.Result) {
				assert.Equal(t, 400, resp.Status)
				assert.Equal(t, "tenant may not ask for write", body(t, resp)["error_description"])
				assert.ErrorIs(t, res.Err, endpoint.InvalidScope)
			},
		},
		{
			name: "ValidateTokenRequest plain error is server_error with the cause unsent",
			hooks: endpoint.Hooks{ValidateTokenRequest: func(context.Context, *endpoint.TokenRequest) error {
				return errDenied
			}},
			body: ccBody, auth: basic("backend", backendSecret),
			check: func(t *testing.T, _ *fixture, resp *endpoint.Response, res endpoint.Result) {
				assert.Equal(t, 500, resp.Status)
				assert.NotContains(t, string(resp.Body), "policy store")
				assert.ErrorIs(t, res.Err, errDenied, "the cause is kept for the log")
			},
		},
		{
			name: "ValidateTokenRequest moving the audience to an unknown one is server_error, not a panic",
			hooks: endpoint.Hooks{ValidateTokenRequest: func(_ context.Context, tr *endpoint.TokenRequest) error {
				tr.Audience = "https://nowhere.example.com"
				return nil
			}},
			body: ccBody, auth: basic("backend", backendSecret),
			check: func(t *testing.T, _ *fixture, resp *endpoint.Response, _ endpoint.Result) {
				assert.Equal(t, 500, resp.Status)
				assert.Equal(t, "server_error", body(t, resp)["error"])
			},
		},
		{
			name: "AccessClaims adds a claim and narrows the scope; the response states the scope",
			hooks: endpoint.Hooks{AccessClaims: func(_ context.Context, _ *endpoint.TokenRequest, c *crypttoken.Claims) error {
				c.Extra = map[string]json.RawMessage{"tenant": json.RawMessage(`"t-1"`)}
				c.Scope = "read"
				c.Audience[0] = "mutated" // its own copy: the server's shared slice is untouched
				c.Audience = []string{apiAud}
				return nil
			}},
			body: form("grant_type", "client_credentials", "scope", "read write"), auth: basic("backend", backendSecret),
			check: func(t *testing.T, f *fixture, resp *endpoint.Response, _ endpoint.Result) {
				tk := mustTokens(t, resp)
				assert.Equal(t, "read", tk.Scope)
				c, err := f.openAccess(apiAud, tk.Access)
				require.NoError(t, err)
				assert.JSONEq(t, `"t-1"`, string(c.Extra["tenant"]))
				// The next token, with no hook change, still has the right aud.
				c2, err := f.openAccess(apiAud, f.backendToken())
				require.NoError(t, err)
				assert.Equal(t, []string{apiAud}, c2.Audience)
				// Introspection shows the extra claim.
				m := body(t, f.introspect(form("token", tk.Access), asRS()))
				assert.Equal(t, "t-1", m["tenant"])
			},
		},
		{
			name: "AccessClaims error is answered and no token is issued",
			hooks: endpoint.Hooks{AccessClaims: func(context.Context, *endpoint.TokenRequest, *crypttoken.Claims) error {
				return endpoint.NewError(endpoint.AccessDenied, "no")
			}},
			body: ccBody, auth: basic("backend", backendSecret),
			check: func(t *testing.T, _ *fixture, resp *endpoint.Response, res endpoint.Result) {
				assert.Equal(t, 400, resp.Status)
				assert.Empty(t, res.JTI)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, endpoint.WithHooks(tc.hooks))
			resp, res := f.srv.Token(t.Context(), request("/token", tc.body, tc.auth, credentials(map[string]any{"tenant": "t-1"})))
			tc.check(t, f, resp, res)
		})
	}
}

// TestHookRefusalSpendsNothing: a ValidateTokenRequest refusal (here a
// transient failure) neither redeems the code nor rotates the refresh
// family, so the client can retry; the store is changed only when the
// tokens are ready to send.
func TestHookRefusalSpendsNothing(t *testing.T) {
	var refuse atomic.Bool
	f := newFixture(t, endpoint.WithHooks(endpoint.Hooks{ValidateTokenRequest: func(context.Context, *endpoint.TokenRequest) error {
		if refuse.Load() {
			return fmt.Errorf("policy service: %w", context.DeadlineExceeded) // answered 503
		}
		return nil
	}}))
	c := f.code("webapp")
	exchange := form("grant_type", "authorization_code", "code", c, "redirect_uri", webRedirect, "code_verifier", verifierS256)
	refuse.Store(true)
	calls := f.store.calls.Load()
	assert.Equal(t, 503, f.token(exchange, webAuth).Status)
	assert.Equal(t, calls, f.store.calls.Load(), "no store call before the hook agreed")
	refuse.Store(false)
	tk := mustTokens(t, f.token(exchange, webAuth))

	refresh := form("grant_type", "refresh_token", "refresh_token", tk.Refresh)
	refuse.Store(true)
	assert.Equal(t, 503, f.token(refresh, webAuth).Status)
	refuse.Store(false)
	next := mustTokens(t, f.token(refresh, webAuth)) // not taken for a reuse
	assert.Equal(t, true, body(t, f.introspect(form("token", next.Access), asRS()))["active"])
}

// TestTokenResultHoldsNoSecret checks that the Result, meant for logs,
// names clients and token ids but never holds a secret, code or token.
func TestTokenResultHoldsNoSecret(t *testing.T) {
	f := newFixture(t)
	c := f.code("webapp")
	resp, res := f.srv.Token(t.Context(), request("/token", form("grant_type", "authorization_code", "code", c,
		"redirect_uri", webRedirect, "code_verifier", verifierS256), webAuth))
	tk := mustTokens(t, resp)
	dump := fmt.Sprintf("%+v %#v", res, res)
	for _, s := range []string{webappSecret, c, verifierS256, tk.Access, tk.Refresh} {
		assert.NotContains(t, dump, s)
	}
	at, err := f.openAccess(apiAud, tk.Access)
	require.NoError(t, err)
	assert.Equal(t, endpoint.Result{ClientID: "webapp", GrantType: endpoint.GrantAuthorizationCode, Audience: apiAud, JTI: at.ID, RefreshIssued: true}, res)

	// A failure's Result and body hold none of them either.
	resp, res = f.srv.Token(t.Context(), request("/token", form("grant_type", "authorization_code", "code", c,
		"redirect_uri", webRedirect, "code_verifier", verifierS256), basic("webapp", "wrong "+webappSecret)))
	assert.Equal(t, 401, resp.Status)
	dump = fmt.Sprintf("%+v %s", res, resp.Body)
	for _, s := range []string{webappSecret, c, verifierS256} {
		assert.NotContains(t, dump, s)
	}
}

// TestCodeRedeemedOnce races many exchanges of one code: exactly one wins
// (RFC 6749 §4.1.2), and the losers revoke the winner's family.
func TestCodeRedeemedOnce(t *testing.T) {
	f := newFixture(t)
	c := f.code("webapp")
	const n = 16
	var wins atomic.Int32
	var refresh atomic.Value
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, _ := f.srv.Token(context.Background(), request("/token", form("grant_type", "authorization_code", "code", c,
				"redirect_uri", webRedirect, "code_verifier", verifierS256), webAuth))
			switch resp.Status {
			case 200:
				wins.Add(1)
				refresh.Store(mustTokens(t, resp).Refresh)
			case 400:
				assert.Equal(t, endpoint.InvalidGrant, errCode(t, resp))
			default:
				t.Errorf("status %d: %s", resp.Status, resp.Body)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load())
	resp := f.token(form("grant_type", "refresh_token", "refresh_token", refresh.Load().(string)), webAuth)
	assert.Equal(t, endpoint.InvalidGrant, errCode(t, resp), "the replays revoked the family")
}

// TestRefreshFamilyOutlivesItsTokens checks that the store remembers a
// rotated family for as long as any of its refresh tokens opens (exp plus
// the leeway). Generation 0 presented in its last second must be seen as a
// reuse; had the family been forgotten, the store would take it for the
// first use of a new family and a stolen, superseded token would refresh.
func TestRefreshFamilyOutlivesItsTokens(t *testing.T) {
	f := newFixture(t)
	tk := f.webTokens() // generation 0, exp t0+refreshTTL
	f.clock.Advance(time.Second)
	next := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth))
	f.clock.Advance(time.Second)
	mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", next.Refresh), webAuth))
	// Now t0+2s. Move to the last second in which generation 0 still opens.
	f.clock.Advance(refreshTTL + leeway - 3*time.Second)
	_, err := f.openRefresh(tk.Refresh)
	require.ErrorIs(t, err, crypttoken.ErrExpired, "sanity: past exp without leeway")
	f.mem.Sweep()
	resp := f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth)
	assert.Equal(t, endpoint.InvalidGrant, errCode(t, resp), "generation 0 replayed after generation 2 was issued")
}

func TestTokenNilHeaderIsRefused(t *testing.T) {
	f := newFixture(t)
	resp, res := f.srv.Token(t.Context(), &endpoint.Request{Method: "POST", URI: "/token", Secure: true, Body: []byte(ccBody)})
	assert.Equal(t, 400, resp.Status)
	assert.ErrorIs(t, res.Err, endpoint.InvalidRequest)
	resp, _ = f.srv.Introspect(t.Context(), &endpoint.Request{Method: "POST", URI: "/introspect", Secure: true})
	assert.Equal(t, 400, resp.Status)
	resp, _ = f.srv.Revoke(t.Context(), &endpoint.Request{Method: "POST", URI: "/revoke", Secure: true})
	assert.Equal(t, 400, resp.Status)
}

// TestTokenContextCancelled: a client gone away is not an internal error.
func TestTokenContextCancelled(t *testing.T) {
	slowUsers := endpoint.UserAuthenticator(usersFunc(func(ctx context.Context, _, _ string) (string, error) {
		return "", ctx.Err()
	}))
	f := newFixture(t, endpoint.WithUsers(slowUsers))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	resp, res := f.srv.Token(ctx, request("/token", form("grant_type", "password", "username", userName, "password", userPass), webAuth))
	assert.Equal(t, 503, resp.Status)
	assert.ErrorIs(t, res.Err, endpoint.TemporarilyUnavailable)
	assert.ErrorIs(t, res.Err, context.Canceled)
}

type usersFunc func(ctx context.Context, username, password string) (string, error)

func (f usersFunc) AuthenticateUser(ctx context.Context, u, p string) (string, error) {
	return f(ctx, u, p)
}

// TestTokenAfterKeyRotation: tokens sealed before a rotation still open,
// the new key seals, and refresh tokens of the old key still refresh.
func TestTokenAfterKeyRotation(t *testing.T) {
	f := newFixture(t)
	tk := f.webTokens()
	oldKid := kidOf(t, tk.Access)
	for name, ring := range map[string]*keys.Ring{apiAud: f.rings[apiAud], keys.InternalRing: f.internal} {
		old := ring.Load().Keys()[0]
		k, err := keys.Generate(keys.A256KW, keys.Lifecycle{Created: t0, Activates: t0.Add(time.Minute), Retires: t0.Add(48 * time.Hour), Expires: t0.Add(400 * 24 * time.Hour)})
		require.NoError(t, err)
		set, err := keys.NewSet(name, old, k)
		require.NoError(t, err)
		ring.Store(set)
	}
	f.clock.Advance(2 * time.Minute)
	next := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth))
	assert.NotEqual(t, oldKid, kidOf(t, next.Access), "the new key seals")
	assert.Equal(t, true, body(t, f.introspect(form("token", tk.Access), asRS()))["active"], "the old key still opens")
	assert.Equal(t, true, body(t, f.introspect(form("token", next.Access), asRS()))["active"])
}

// kidOf returns the kid of a compact JWE.
func kidOf(t testing.TB, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	var v struct {
		Kid string `json:"kid"`
	}
	raw, err := base64URL.DecodeString(h)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &v))
	return v.Kid
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	f := newFixture(t)
	rings := endpoint.Rings{Internal: f.internal, Audiences: f.rings, Default: apiAud}
	tests := []struct {
		name   string
		issuer string
		rings  endpoint.Rings
		opts   []endpoint.Option
	}{
		{name: "RFC 8414 §2 issuer must be https", issuer: "http://issuer.example.com", rings: rings},
		{name: "RFC 8414 §2 issuer without query", issuer: testIssuer + "?a=b", rings: rings},
		{name: "RFC 8414 §2 issuer without fragment", issuer: testIssuer + "#x", rings: rings},
		{name: "no internal ring", issuer: testIssuer, rings: endpoint.Rings{Audiences: f.rings}},
		{name: "no audience ring", issuer: testIssuer, rings: endpoint.Rings{Internal: f.internal}},
		{name: "default audience without a ring", issuer: testIssuer, rings: endpoint.Rings{Internal: f.internal, Audiences: f.rings, Default: "https://x"}},
		{name: "nil option", issuer: testIssuer, rings: rings, opts: []endpoint.Option{nil}},
		{name: "code lifetime over 10 minutes", issuer: testIssuer, rings: rings, opts: []endpoint.Option{endpoint.WithLifetimes(time.Minute, time.Hour, 11*time.Minute)}},
		{name: "negative leeway", issuer: testIssuer, rings: rings, opts: []endpoint.Option{endpoint.WithLeeway(-time.Second)}},
		{name: "path without a leading slash", issuer: testIssuer, rings: rings, opts: []endpoint.Option{endpoint.WithPaths(endpoint.Paths{Token: "token"})}},
		{name: "scope outside RFC 6749 §3.3", issuer: testIssuer, rings: rings, opts: []endpoint.Option{endpoint.WithScopesSupported("a b")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := endpoint.New(tc.issuer, tc.rings, f.clients, f.store, tc.opts...)
			assert.Error(t, err)
		})
	}
}

// FuzzToken feeds arbitrary bodies and Authorization headers to the token
// endpoint: never a panic, never a 5xx except 503 from the store.
func FuzzToken(f *testing.F) {
	f.Add(ccBody, "Basic YmFja2VuZDpiYWNrZW5kLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm", false)
	f.Add(form("grant_type", "client_credentials", "client_id", "backend", "client_secret", backendSecret, "scope", "read write"), "", false)
	f.Add(form("grant_type", "authorization_code", "code", "a.b.c.d.e", "code_verifier", verifierS256, "client_id", "spa"), "", true)
	f.Add(form("grant_type", "refresh_token", "refresh_token", "eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoieCJ9....", "client_id", "spa"), "", false)
	f.Add(form("grant_type", "password", "username", userName, "password", userPass), "Basic d2ViYXBwOnArc3M6dyUyNXJkIMOpLz8=", false)
	f.Add("grant_type=%zz&&&=&scope=%20", "Basic Og==", false)
	f.Add(strings.Repeat("a=b&", 70), "Basic", false)
	f.Add("grant_type=client_credentials&resource=https%3A%2F%2Fother.example.com", "Basic bXklM0FhcHAlMkIxOnMlM0FlJTJCYyUyNXIrdA==", false)
	fx := newFixture(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body, authz string, storeDown bool) {
		fx.store.down.Store(storeDown)
		defer fx.store.down.Store(false)
		r := request("/token", body)
		if authz != "" {
			header("Authorization", authz)(r)
		}
		r.RemoteAddr = netip.AddrFrom4([4]byte{192, 0, 2, byte(len(body))}) // spread the limiter's address keys
		resp, res := fx.srv.Token(ctx, r)
		if resp.Status >= 500 && resp.Status != 503 {
			t.Fatalf("status %d for body %q: %s", resp.Status, body, resp.Body)
		}
		if resp.Status == 503 && !storeDown {
			// The only other 503 is a busy verifier, which a sha256 or
			// cached bcrypt secret never is.
			t.Fatalf("503 with the store up: %s", resp.Body)
		}
		if (resp.Status == 200) != (res.Err == nil) {
			t.Fatalf("status %d with Result.Err %v", resp.Status, res.Err)
		}
		if resp.Status != 200 {
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(resp.Body, &e); err != nil || e.Error == "" {
				t.Fatalf("error body %q is not RFC 6749 §5.2 JSON", resp.Body)
			}
		}
	})
}

// TestTokenVerifierBusyIs503: when every slow-hash slot is taken and none
// frees up within the verifier's MaxWait, the token endpoint answers 503
// temporarily_unavailable with Retry-After (SPEC §6: wrong secrets must not
// queue work without bound), and the client is not counted as failing.
func TestTokenVerifierBusyIs503(t *testing.T) {
	v := secret.NewVerifier(secret.VerifierConfig{MaxConcurrent: 1, MaxWait: 20 * time.Millisecond})
	f := newFixture(t, endpoint.WithVerifier(v))

	// Hold the only slot with a slow, uncacheable check: a wrong secret
	// against a cost-12 bcrypt hash (about 250 ms; far longer under -race).
	holder := mustHash(t, "$2a$12$XEHwXgWgtdcxmQq/Vj6/q.6cLxFFXwcFie867.jIMLwsXNF7/mD8.")
	held := make(chan struct{})
	go func() {
		defer close(held)
		_, _ = v.Verify(context.Background(), holder, "wrong")
	}()
	time.Sleep(50 * time.Millisecond) // the holder has the slot

	resp := f.token(ccBody, basic("slow", slowSecret))
	require.Equal(t, 503, resp.Status, "body %s", resp.Body)
	require.Equal(t, endpoint.TemporarilyUnavailable, errCode(t, resp))
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	<-held

	// Busy is not a failed authentication: the same request now succeeds.
	resp = f.token(ccBody, basic("slow", slowSecret))
	require.Equal(t, 200, resp.Status, "body %s", resp.Body)
}
