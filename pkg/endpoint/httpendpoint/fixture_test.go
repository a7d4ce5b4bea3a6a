package httpendpoint_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/endpoint/httpendpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

const (
	apiAud        = "https://api.example.com"
	backendSecret = "backend-secret-0123456789abcdef"
	webappSecret  = "p+ss:w%rd é/?" // needs RFC 6749 §2.3.1 form-urlencoding
	rsSecret      = "resource-server-secret-0123456789"
	spaRedirect   = "http://127.0.0.1:3000/cb"
	webRedirect   = "https://app.example.com/cb"
	userID        = "u-1001"
)

func testRing(t testing.TB, name string) *keys.Ring {
	t.Helper()
	now := time.Now()
	material := sha256.Sum256([]byte("httpendpoint " + name))
	k, err := keys.NewKey("kid-"+name[len(name)-3:], keys.A256KW, material[:], keys.Lifecycle{
		Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour), Retires: now.Add(24 * time.Hour), Expires: now.Add(48 * time.Hour),
	})
	require.NoError(t, err)
	set, err := keys.NewSet(name, k)
	require.NoError(t, err)
	return keys.NewRing(set)
}

func hash(t testing.TB, s string) secret.Hash {
	t.Helper()
	h, err := secret.Parse(secret.NewSHA256(s))
	require.NoError(t, err)
	return h
}

// newServer returns an endpoint.Server for issuer with a machine client
// (backend), a public SPA (spa), a confidential web app (webapp) and a
// resource server (rs).
func newServer(t testing.TB, issuer string, opts ...endpoint.Option) *endpoint.Server {
	t.Helper()
	clients, err := endpoint.NewStaticClients(
		&endpoint.Client{
			ID: "backend", Secret: hash(t, backendSecret),
			GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
			Scopes:     []string{"read", "write"}, DefaultScopes: []string{"read"},
		},
		&endpoint.Client{
			ID: "spa", Public: true, RedirectURIs: []string{spaRedirect},
			GrantTypes: []endpoint.GrantType{endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken},
			Scopes:     []string{"profile", "read"}, DefaultScopes: []string{"profile"},
		},
		&endpoint.Client{
			ID: "webapp", Secret: hash(t, webappSecret), RedirectURIs: []string{webRedirect},
			GrantTypes: []endpoint.GrantType{endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken},
			Scopes:     []string{"profile", "read"}, DefaultScopes: []string{"profile"},
		},
	)
	require.NoError(t, err)
	st, err := memory.New(memory.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	srv, err := endpoint.New(issuer, endpoint.Rings{
		Internal:  testRing(t, keys.InternalRing),
		Audiences: map[string]*keys.Ring{apiAud: testRing(t, apiAud)},
		Default:   apiAud,
	}, clients, st, append([]endpoint.Option{endpoint.WithResourceServers(
		&endpoint.ResourceServer{ID: "rs", Secret: hash(t, rsSecret), Audiences: []string{apiAud}},
	)}, opts...)...)
	require.NoError(t, err)
	return srv
}

// autoGrant approves every authorization request for userID, as a
// ResourceOwner whose user is always logged in and always consents.
var autoGrant = endpoint.ResourceOwnerFunc(func(_ context.Context, _ *endpoint.Request, _ *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
	return endpoint.Approve(endpoint.Grant{Subject: userID, AuthTime: time.Now().Truncate(time.Second)}), nil
})

// newTLS mounts every endpoint of srv (with autoGrant deciding for users)
// on a TLS test server.
func newTLS(t testing.TB, srv *endpoint.Server, opts ...httpendpoint.Option) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	httpendpoint.Register(mux, srv, append(opts, httpendpoint.WithResourceOwner(autoGrant))...)
	ts := httptest.NewTLSServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// noRedirects returns a copy of ts's client that does not follow
// redirects, to read the authorization endpoint's Location.
func noRedirects(ts *httptest.Server) *http.Client {
	c := *ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}
