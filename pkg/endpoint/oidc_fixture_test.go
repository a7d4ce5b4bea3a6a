package endpoint_test

// The OpenID Provider's test fixture: a Server with a signing ring of a
// chosen algorithm, users' standard claims, OpenID clients, a settable
// clock, and helpers that run the code flow and take ID tokens apart with
// pkg/jws against the published JWK Set, as a relying party does. Names
// start with "oidc" so that they do not clash with the other fixtures.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

const (
	oidcIssuer   = "https://op.example.com"
	oidcAPI      = "https://api.example.com"
	oidcRPCB     = "https://rp.example.com/cb"
	oidcRP2CB    = "https://rp2.example.com/cb"
	oidcLoggedIn = "https://rp.example.com/signed-out"
	oidcRPSecret = "rp-secret-0123456789abcdef"
	oidcUser     = "u-alice"
	oidcVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	oidcChall    = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// oidcClaims are alice's standard claims.
var oidcClaims = endpoint.UserClaims{
	"name":                  json.RawMessage(`"Alice Liddell"`),
	"given_name":            json.RawMessage(`"Alice"`),
	"email":                 json.RawMessage(`"alice@example.com"`),
	"email_verified":        json.RawMessage(`true`),
	"phone_number":          json.RawMessage(`"+44 20 7946 0000"`),
	"phone_number_verified": json.RawMessage(`false`),
	"address":               json.RawMessage(`{"locality":"Oxford","country":"UK"}`),
	"locale":                json.RawMessage(`"en-GB"`),
}

// oidcUsers is a UserClaimsSource: alice has claims, "u-proxy" has none,
// "u-gone" no longer exists.
type oidcUsers struct{}

func (oidcUsers) UserClaims(_ context.Context, sub string) (endpoint.UserClaims, error) {
	switch sub {
	case oidcUser:
		return oidcClaims, nil
	case "u-gone":
		return nil, endpoint.ErrUnknownUser
	}
	return nil, nil
}

// oidcClock is a settable clock.
type oidcClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *oidcClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *oidcClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// oidcFixture is an OpenID Provider with its rings.
type oidcFixture struct {
	t        testing.TB
	clock    *oidcClock
	srv      *endpoint.Server
	signing  *keys.Ring
	internal *keys.Ring
	api      *keys.Ring
	store    *memory.Store
	// owner decides authorization requests; by default it approves for
	// alice, logged in a minute ago with a password, in session "sid-1".
	owner endpoint.ResourceOwner
}

// oidcT0 is the fixture's start, in whole seconds.
var oidcT0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func oidcRing(t testing.TB, name string, alg keys.Alg) *keys.Ring {
	t.Helper()
	k, err := keys.Generate(alg, keys.Lifecycle{
		Created: oidcT0.Add(-time.Hour), Activates: oidcT0.Add(-time.Hour),
		Retires: oidcT0.Add(30 * 24 * time.Hour), Expires: oidcT0.Add(60 * 24 * time.Hour),
	})
	require.NoError(t, err)
	set, err := keys.NewSet(name, k)
	require.NoError(t, err)
	return keys.NewRing(set)
}

// oidcClients are the fixture's clients: a confidential RP, a public RP
// (PKCE), a second RP, and a client without openid among its scopes.
func oidcClients(t testing.TB) *endpoint.StaticClients {
	t.Helper()
	h, err := secret.Parse(secret.NewSHA256(oidcRPSecret))
	require.NoError(t, err)
	code := []endpoint.GrantType{endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken, endpoint.GrantPassword}
	all := []string{"openid", "profile", "email", "address", "phone", "read"}
	cs, err := endpoint.NewStaticClients(
		&endpoint.Client{ID: "rp", Secret: h, RedirectURIs: []string{oidcRPCB}, GrantTypes: code,
			Scopes: all, DefaultScopes: []string{"openid"}, PostLogoutRedirectURIs: []string{oidcLoggedIn}},
		&endpoint.Client{ID: "rp2", Secret: h, RedirectURIs: []string{oidcRP2CB}, GrantTypes: code,
			Scopes: all, DefaultScopes: []string{"openid"}},
		&endpoint.Client{ID: "plain", Secret: h, RedirectURIs: []string{oidcRPCB}, GrantTypes: code,
			Scopes: []string{"read"}, DefaultScopes: []string{"read"}},
	)
	require.NoError(t, err)
	return cs
}

func newOIDC(t testing.TB, alg keys.Alg, opts ...endpoint.Option) *oidcFixture {
	t.Helper()
	f := &oidcFixture{t: t, clock: &oidcClock{now: oidcT0}}
	f.signing = oidcRing(t, keys.SigningRing, alg)
	f.internal = oidcRing(t, keys.InternalRing, keys.A256KW)
	f.api = oidcRing(t, oidcAPI, keys.A256KW)
	st, err := memory.New(memory.WithClock(f.clock.Now), memory.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	f.store = st
	opts = append([]endpoint.Option{
		endpoint.WithClock(f.clock.Now),
		endpoint.WithLifetimes(10*time.Minute, 24*time.Hour, time.Minute),
		endpoint.WithOpenID(endpoint.OpenID{Signing: f.signing, Claims: oidcUsers{}}),
		endpoint.WithPaths(endpoint.Paths{Authorize: "/authorize", Token: "/token", Introspect: "/introspect",
			Revoke: "/revoke", JWKS: "/jwks.json", UserInfo: "/userinfo", EndSession: "/end_session"}),
		endpoint.WithScopesSupported("openid", "profile", "email", "address", "phone", "read"),
		endpoint.WithUsers(oidcPasswords{}),
	}, opts...)
	f.srv, err = endpoint.New(oidcIssuer, endpoint.Rings{Internal: f.internal,
		Audiences: map[string]*keys.Ring{oidcAPI: f.api}, Default: oidcAPI}, oidcClients(t), st, opts...)
	require.NoError(t, err)
	f.owner = endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
		return endpoint.Approve(endpoint.Grant{Subject: oidcUser, AuthTime: f.clock.Now().Add(-time.Minute),
			AMR: []string{"pwd"}, SessionID: "sid-1"}), nil
	})
	return f
}

// oidcPasswords is alice's password, for the password grant.
type oidcPasswords struct{}

func (oidcPasswords) AuthenticateUser(_ context.Context, u, p string) (string, error) {
	if u == "alice" && p == "wonderland" {
		return oidcUser, nil
	}
	return "", endpoint.ErrBadCredentials
}

// authorize sends GET /authorize with the query kv (name, value pairs) to
// the fixture's owner.
func (f *oidcFixture) authorize(kv ...string) (*endpoint.Response, endpoint.Result) {
	return f.srv.HandleAuthorize(context.Background(), azGet(azQuery(kv...)), f.owner)
}

// oidcRequest is the query of an OpenID authorization request of client
// rp, with extra parameters (name, value pairs) added or, for a name it
// has, replacing its value.
func oidcRequest(extra ...string) []string {
	q := []string{"response_type", "code", "client_id", "rp", "redirect_uri", oidcRPCB,
		"scope", "openid profile email", "state", "st-1", "nonce", "n-0S6_WzA2Mj",
		"code_challenge", oidcChall, "code_challenge_method", "S256"}
next:
	for i := 0; i+1 < len(extra); i += 2 {
		for j := 0; j+1 < len(q); j += 2 {
			if q[j] == extra[i] {
				q[j+1] = extra[i+1]
				continue next
			}
		}
		q = append(q, extra[i], extra[i+1])
	}
	return q
}

// location returns the redirect's parameters, failing unless resp is a
// redirect to oidcRPCB.
func (f *oidcFixture) location(resp *endpoint.Response) url.Values {
	f.t.Helper()
	require.Equal(f.t, 302, resp.Status, "body %s", resp.Body)
	loc, _ := azHeader(resp, "Location")
	u, err := url.Parse(loc)
	require.NoError(f.t, err)
	return u.Query()
}

// code runs an approved OpenID authorization request and returns the code.
func (f *oidcFixture) code(extra ...string) string {
	f.t.Helper()
	resp, res := f.authorize(oidcRequest(extra...)...)
	require.Nil(f.t, res.Err)
	q := f.location(resp)
	require.NotEmpty(f.t, q.Get("code"), "redirect %v", q)
	return q.Get("code")
}

// tokenResp is a token response.
type tokenResp struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
	IDToken string `json:"id_token"`
	Scope   string `json:"scope"`
	Error   string `json:"error"`
}

// token posts a token request as client rp (HTTP Basic).
func (f *oidcFixture) token(form ...string) (int, tokenResp) {
	f.t.Helper()
	r := request("/token", azQuery(form...), basic("rp", oidcRPSecret))
	resp, _ := f.srv.Token(context.Background(), r)
	var tr tokenResp
	require.NoError(f.t, json.Unmarshal(resp.Body, &tr), "body %s", resp.Body)
	return resp.Status, tr
}

// exchange redeems a code of rp and returns the tokens.
func (f *oidcFixture) exchange(code string) tokenResp {
	f.t.Helper()
	st, tr := f.token("grant_type", "authorization_code", "code", code, "redirect_uri", oidcRPCB, "code_verifier", oidcVerifier)
	require.Equal(f.t, 200, st, "error %s", tr.Error)
	return tr
}

// jwks returns the published JWK Set of the signing ring.
func (f *oidcFixture) jwks() *jws.KeySet {
	f.t.Helper()
	doc, err := keys.ExportJWKS(f.signing.Load(), f.clock.Now())
	require.NoError(f.t, err)
	set, err := jws.ParseKeySet(doc)
	require.NoError(f.t, err)
	return set
}

// idToken is a verified ID token taken apart.
type idToken struct {
	header jws.Header
	claims map[string]any
	raw    string
}

// verifyIDToken verifies tok as a relying party does (Core §3.1.3.7:
// signature with the published keys, the algorithm of the ring) and
// returns its header and claims.
func (f *oidcFixture) verifyIDToken(tok string) idToken {
	f.t.Helper()
	v, err := jws.Verify(tok, []string{string(f.signing.Load().Keys()[0].Alg)}, f.jwks(), jws.WithType("JWT"))
	require.NoError(f.t, err, "ID token does not verify")
	var m map[string]any
	require.NoError(f.t, json.Unmarshal(v.Payload, &m))
	return idToken{header: v.Header, claims: m, raw: tok}
}

// num returns a numeric claim as an int64.
func (t idToken) num(name string) int64 {
	f, _ := t.claims[name].(float64)
	return int64(f)
}

// sealForged seals an access token with the audience's key as a resource
// server holding that key could: any subject and scope, no UserInfo proof
// unless proof is set.
func (f *oidcFixture) sealForged(sub, scope, proof string) string {
	f.t.Helper()
	s, err := crypttoken.NewSealer(f.api, crypttoken.WithClock(f.clock.Now))
	require.NoError(f.t, err)
	now := f.clock.Now()
	c := &crypttoken.Claims{Issuer: oidcIssuer, Subject: sub, Audience: []string{oidcAPI},
		Expiry: now.Add(5 * time.Minute), IssuedAt: now, ClientID: "rp", Scope: scope}
	if proof != "" {
		c.Extra = map[string]json.RawMessage{endpoint.ClaimUserInfoProof: json.RawMessage(`"` + proof + `"`)}
	}
	tok, err := s.Seal(crypttoken.TypeAccess, c)
	require.NoError(f.t, err)
	return tok
}

// openAccess opens an access token with the audience's ring.
func (f *oidcFixture) openAccess(tok string) *crypttoken.Claims {
	f.t.Helper()
	o, err := crypttoken.NewOpener(f.api, crypttoken.Expected{Issuer: oidcIssuer, Audience: oidcAPI, Time: f.clock.Now})
	require.NoError(f.t, err)
	c, err := o.Open(tok)
	require.NoError(f.t, err)
	return c
}

// userinfo sends a request to the UserInfo endpoint.
func (f *oidcFixture) userinfo(r *endpoint.Request) (*endpoint.Response, map[string]any) {
	f.t.Helper()
	resp, res := f.srv.UserInfo(context.Background(), r)
	require.NotEqual(f.t, 500, resp.Status, "a 500: %s", resp.Body)
	if resp.Status >= 400 {
		require.NotNil(f.t, res.Err)
	}
	var m map[string]any
	if len(resp.Body) > 0 {
		require.NoError(f.t, json.Unmarshal(resp.Body, &m), "body %q", resp.Body)
	}
	return resp, m
}

// bearerGet is GET /userinfo with a Bearer token.
func bearerGet(tok string) *endpoint.Request {
	return &endpoint.Request{Method: "GET", URI: "/userinfo", Secure: true,
		Header: endpoint.Headers{{Name: "Authorization", Value: "Bearer " + tok}}}
}

// b64JSON decodes a base64url JSON segment.
func b64JSON(t testing.TB, seg string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// segments splits a compact JWS.
func segments(tok string) []string { return strings.Split(tok, ".") }
