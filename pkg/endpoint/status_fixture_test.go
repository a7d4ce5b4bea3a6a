package endpoint_test

// The fixture of the status list and key delivery tests (SPEC §9): the
// token fixture's clients, rings, clock and store, served by Servers that
// publish status lists and key deliveries, with a signing ring and
// resource servers holding key pairs.

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

const (
	statusPath   = "/statuslists"
	keysPath     = "/resource-keys"
	statusTTL    = 30 * time.Second
	statusPrefix = testIssuer + statusPath + "/"
	// sizeLog2 keeps the fixture's lists small: 2^8 entries.
	sizeLog2 = 8
)

// statusPaths are the fixture's endpoint paths.
var statusPaths = func() endpoint.Paths {
	p := endpoint.DefaultPaths
	p.JWKS, p.StatusLists, p.ResourceKeys = "/jwks.json", statusPath, keysPath
	return p
}()

type statusFixture struct {
	*fixture
	signing    *keys.Ring
	alloc      *endpoint.LocalStatusAllocator
	issuerKeys *jws.KeySet
	// rsKeys are the resource servers' key pairs: "rs" (both audiences),
	// "rs-other" (otherAud), "rs-keys" (apiAud, keys only, no secret).
	rsKeys map[string]*keys.Recipient
}

// newStatusFixture builds the token fixture and replaces its Server by one
// that publishes status lists (2^8 entries each) and key deliveries.
func newStatusFixture(t testing.TB, opts ...endpoint.Option) *statusFixture {
	t.Helper()
	f := &statusFixture{fixture: newFixture(t), rsKeys: map[string]*keys.Recipient{}}
	set, err := keys.NewSetFromPolicy(keys.SigningRing, t0.Add(-time.Hour),
		keys.Policy{Alg: keys.ES256, RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 25 * time.Hour})
	require.NoError(t, err)
	f.signing = keys.NewRing(set)
	doc, err := keys.ExportJWKS(set, t0)
	require.NoError(t, err)
	f.issuerKeys, err = jws.ParseKeySet(doc)
	require.NoError(t, err)
	for _, id := range []string{"rs", "rs-other", "rs-keys"} {
		crv := keys.CurveP256
		if id == "rs-other" {
			crv = keys.CurveX25519
		}
		f.rsKeys[id], err = keys.GenerateRecipient(crv, false)
		require.NoError(t, err)
	}
	f.alloc = f.newAllocator(t)
	f.srv = f.replica(t, f.alloc, opts...)
	clients := append(standardClients(t),
		&endpoint.Client{ // the implicit grant
			ID: "implicit", Public: true, RedirectURIs: []string{spaRedirect},
			ResponseTypes: []endpoint.ResponseType{endpoint.ResponseToken},
			Scopes:        []string{"read"}, DefaultScopes: []string{"read"},
		},
		&endpoint.Client{ // the password grant without refresh tokens
			ID: "pwonly", Secret: mustHash(t, secret.NewSHA256(backendSecret)),
			GrantTypes: []endpoint.GrantType{endpoint.GrantPassword},
			Scopes:     []string{"read"}, DefaultScopes: []string{"read"},
		})
	f.setClients(clients...)
	return f
}

func (f *statusFixture) newAllocator(t testing.TB) *endpoint.LocalStatusAllocator {
	t.Helper()
	a, err := endpoint.NewStatusAllocator(f.store, statusPrefix, endpoint.WithStatusListSize(sizeLog2))
	require.NoError(t, err)
	return a
}

// replica builds another Server over the fixture's store, rings and
// clients: another replica of the issuer when alloc is another allocator.
func (f *statusFixture) replica(t testing.TB, alloc endpoint.StatusAllocator, opts ...endpoint.Option) *endpoint.Server {
	t.Helper()
	rs := []*endpoint.ResourceServer{
		{ID: "rs", Secret: mustHash(t, secret.NewSHA256(rsSecret)), Audiences: []string{apiAud, otherAud}, Keys: f.rsKeys["rs"].Public()},
		{ID: "rs-other", Secret: mustHash(t, secret.NewSHA256(rsOtherSecret)), Audiences: []string{otherAud}, Keys: f.rsKeys["rs-other"].Public()},
		{ID: "rs-keys", Audiences: []string{apiAud}, Keys: f.rsKeys["rs-keys"].Public()},
		{ID: "rs-secret", Secret: mustHash(t, secret.NewSHA256(rsSecret)), Audiences: []string{apiAud}},
	}
	all := []endpoint.Option{
		endpoint.WithClock(f.clock.Now),
		endpoint.WithLifetimes(accessTTL, refreshTTL, codeTTL),
		endpoint.WithLeeway(leeway),
		endpoint.WithVerifier(f.verifier),
		endpoint.WithLimiter(f.limiter),
		endpoint.WithUsers(f.users),
		endpoint.WithResourceServers(rs...),
		endpoint.WithPaths(statusPaths),
	}
	if alloc != nil {
		all = append(all, endpoint.WithStatusLists(alloc, statusTTL))
	}
	srv, err := endpoint.New(testIssuer,
		endpoint.Rings{Internal: f.internal, Audiences: f.rings, Default: apiAud, Signing: f.signing},
		f.clients, f.store, append(all, opts...)...)
	require.NoError(t, err)
	return srv
}

// get sends a GET (or another method) to path on srv.
func get(srv *endpoint.Server, path string, opts ...reqOpt) (*endpoint.Response, endpoint.Result) {
	r := &endpoint.Request{Method: "GET", URI: path, Secure: true, Header: endpoint.Headers{}}
	for _, o := range opts {
		o(r)
	}
	if strings.HasPrefix(path, keysPath) {
		return srv.ResourceKeys(context.Background(), r)
	}
	return srv.StatusList(context.Background(), r)
}

// statusOf returns the status entry of an access token of aud.
func (f *statusFixture) statusOf(t testing.TB, aud, tok string) crypttoken.StatusRef {
	t.Helper()
	c, err := f.openAccess(aud, tok)
	require.NoError(t, err)
	require.False(t, c.Status.IsZero(), "the access token carries no status")
	return c.Status
}

// listToken fetches the Status List Token at ref's URI from srv and
// verifies it as a resource server would, at the fixture's clock.
func (f *statusFixture) listToken(t testing.TB, srv *endpoint.Server, uri string) (*statuslist.Token, *endpoint.Response) {
	t.Helper()
	path := strings.TrimPrefix(uri, testIssuer)
	resp, _ := get(srv, path)
	require.Equal(t, 200, resp.Status, "GET %s: %s", path, resp.Body)
	require.Equal(t, statuslist.MediaType, hdr(resp, "Content-Type"))
	v, err := statuslist.NewVerifier(f.issuerKeys, statuslist.WithClock(f.clock.Now), statuslist.WithIssuer(testIssuer))
	require.NoError(t, err)
	tok, err := v.Verify(string(resp.Body), uri)
	require.NoError(t, err)
	return tok, resp
}

// revoked reports whether ref's bit is set in the list srv publishes.
func (f *statusFixture) revoked(t testing.TB, srv *endpoint.Server, ref crypttoken.StatusRef) bool {
	t.Helper()
	tok, _ := f.listToken(t, srv, ref.URI)
	st, err := tok.List.Get(ref.Index)
	require.NoError(t, err)
	return st == statuslist.Invalid
}

// authorizeCode runs the authorization endpoint for client (a confidential
// web client of webRedirect) and returns the code it issues.
func (f *statusFixture) authorizeCode(t testing.TB, client string) string {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {webRedirect},
		"scope": {"profile"}, "state": {"s"}}
	resp, res := f.srv.HandleAuthorize(context.Background(),
		&endpoint.Request{Method: "GET", URI: "/authorize?" + q.Encode(), Secure: true, Header: endpoint.Headers{}},
		endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
			return endpoint.Approve(endpoint.Grant{Subject: userID}), nil
		}))
	require.Nil(t, res.Err)
	require.Equal(t, 302, resp.Status)
	loc, err := url.Parse(hdr(resp, "Location"))
	require.NoError(t, err)
	code := loc.Query().Get("code")
	require.NotEmpty(t, code)
	return code
}

// exchangeCode redeems a code of client issued for webRedirect.
func (f *statusFixture) exchangeCode(code, client, secret string) *endpoint.Response {
	return f.token(form("grant_type", "authorization_code", "code", code, "redirect_uri", webRedirect), basic(client, secret))
}
