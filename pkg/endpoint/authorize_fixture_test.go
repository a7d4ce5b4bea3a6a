package endpoint_test

// The authorization endpoint's test fixture: a server with a set of clients
// covering every rule of RFC 6749 §3.1, §4.1 and §4.2, helpers that build
// requests and take responses apart. Names start with "az" so that they do
// not clash with the token endpoint's fixture in the same package.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

const (
	azIssuer = "https://issuer.example.com"
	azAPI    = "https://api.example.com"   // the default audience
	azOther  = "https://other.example.com" // a second resource server
	azNoRing = "https://norings.example.com"

	azWebappSecret = "webapp-secret-0123456789"
	azSingleSecret = "single-secret-0123456789"

	// azVerifier is RFC 7636 Appendix B's code_verifier, azChallenge its
	// S256 code_challenge.
	azVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	azChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// Redirect URIs registered by the fixture's clients.
const (
	azWebappCB      = "https://app.example.com/callback"
	azWebappQueryCB = "https://app.example.com/cb?tenant=acme&x=a%20b" // a registered query, kept
	azSingleCB      = "https://single.example.com/cb?keep=1"
	azSpaCB         = "http://127.0.0.1:3000/cb" // loopback, public client
	azJSCB          = "https://js.example.com/cb"
	azBothCB        = "https://both.example.com/cb"
	azCCCB          = "https://cc.example.com/cb"
	azLegacyCB      = "com.example.legacy:/cb" // public, allowed PKCE plain
)

// azRedirectURIs are all registered redirect URIs, for the fuzz target.
var azRedirectURIs = []string{azWebappCB, azWebappQueryCB, azSingleCB, azSpaCB, azJSCB, azBothCB, azCCCB, azLegacyCB}

// azFixture is a Server with its rings and store, and openers for what it
// issues.
type azFixture struct {
	srv   *endpoint.Server
	store *memory.Store
	codes *crypttoken.Opener // opens codes (internal ring)
	api   *crypttoken.Opener // opens access tokens for azAPI
	other *crypttoken.Opener // opens access tokens for azOther
}

func azRing(t testing.TB, name string) *keys.Ring {
	t.Helper()
	now := time.Now()
	k, err := keys.Generate(keys.A256KW, keys.Lifecycle{
		Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour),
		Retires: now.Add(24 * time.Hour), Expires: now.Add(48 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.NewSet(name, k)
	if err != nil {
		t.Fatal(err)
	}
	return keys.NewRing(set)
}

func azHash(t testing.TB, s string) secret.Hash {
	t.Helper()
	h, err := secret.Parse(secret.NewSHA256(s))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// azClients are the fixture's clients, one per situation the rules name.
func azClients(t testing.TB) *endpoint.StaticClients {
	t.Helper()
	code := []endpoint.GrantType{endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken}
	cs, err := endpoint.NewStaticClients(
		// A confidential web app with two redirect URIs, one with a query.
		&endpoint.Client{ID: "webapp", Secret: azHash(t, azWebappSecret),
			RedirectURIs: []string{azWebappCB, azWebappQueryCB}, GrantTypes: code,
			Scopes: []string{"profile", "read", "write"}, DefaultScopes: []string{"profile"}},
		// A confidential client with one redirect URI and no default scope.
		&endpoint.Client{ID: "single", Secret: azHash(t, azSingleSecret),
			RedirectURIs: []string{azSingleCB}, GrantTypes: code, Scopes: []string{"read", "write"}},
		// A public client: PKCE required.
		&endpoint.Client{ID: "spa", Public: true, RedirectURIs: []string{azSpaCB}, GrantTypes: code,
			Scopes: []string{"profile", "read"}, DefaultScopes: []string{"read"}},
		// A public implicit-grant client with two audiences.
		&endpoint.Client{ID: "js", Public: true, RedirectURIs: []string{azJSCB},
			ResponseTypes: []endpoint.ResponseType{endpoint.ResponseToken},
			Scopes:        []string{"read", "write"}, DefaultScopes: []string{"read"},
			Audiences: []string{azAPI, azOther}},
		// A client allowed both response types (hybrid still refused).
		&endpoint.Client{ID: "both", Secret: azHash(t, azSingleSecret), RedirectURIs: []string{azBothCB},
			GrantTypes:    []endpoint.GrantType{endpoint.GrantAuthorizationCode},
			ResponseTypes: []endpoint.ResponseType{endpoint.ResponseCode, endpoint.ResponseToken},
			Scopes:        []string{"read"}, DefaultScopes: []string{"read"}},
		// A client_credentials client that registered a redirect URI.
		&endpoint.Client{ID: "cconly", Secret: azHash(t, azSingleSecret), RedirectURIs: []string{azCCCB},
			GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
			Scopes:     []string{"read"}, DefaultScopes: []string{"read"}},
		// A public client allowed PKCE plain (a device that cannot hash).
		&endpoint.Client{ID: "legacy", Public: true, RedirectURIs: []string{azLegacyCB}, GrantTypes: code,
			Scopes: []string{"read"}, DefaultScopes: []string{"read"}, AllowPKCEPlain: true},
		// A code client that registered no redirect URI.
		&endpoint.Client{ID: "noredirect", Secret: azHash(t, azSingleSecret), GrantTypes: code,
			Scopes: []string{"read"}, DefaultScopes: []string{"read"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// newAZ builds the fixture. The server trusts X-Forwarded-Proto from
// 10.0.0.0/8 only.
func newAZ(t testing.TB, opts ...endpoint.Option) *azFixture {
	t.Helper()
	internal, api, other := azRing(t, "internal"), azRing(t, "api"), azRing(t, "other")
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	opts = append([]endpoint.Option{
		endpoint.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")),
		endpoint.WithVerifier(secret.NewVerifier(secret.VerifierConfig{})),
	}, opts...)
	srv, err := endpoint.New(azIssuer, endpoint.Rings{
		Internal:  internal,
		Audiences: map[string]*keys.Ring{azAPI: api, azOther: other},
		Default:   azAPI,
	}, azClients(t), st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	f := &azFixture{srv: srv, store: st}
	if f.codes, err = crypttoken.NewOpener(internal, crypttoken.Expected{Issuer: azIssuer, Audience: azIssuer, Type: crypttoken.TypeCode}); err != nil {
		t.Fatal(err)
	}
	if f.api, err = crypttoken.NewOpener(api, crypttoken.Expected{Issuer: azIssuer, Audience: azAPI, Type: crypttoken.TypeAccess}); err != nil {
		t.Fatal(err)
	}
	if f.other, err = crypttoken.NewOpener(other, crypttoken.Expected{Issuer: azIssuer, Audience: azOther, Type: crypttoken.TypeAccess}); err != nil {
		t.Fatal(err)
	}
	return f
}

// azGet is a GET /authorize over TLS with the raw query q.
func azGet(q string) *endpoint.Request {
	return &endpoint.Request{Method: "GET", URI: "/authorize?" + q, Secure: true, Header: endpoint.Headers{}}
}

// azPost is a POST /authorize over TLS with the form body b.
func azPost(uri, b string) *endpoint.Request {
	return &endpoint.Request{Method: "POST", URI: uri, Secure: true, Body: []byte(b),
		Header: endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}}
}

// azQuery encodes name, value pairs in the order given (url.Values would
// sort them). Values are form-encoded.
func azQuery(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

// azApprove approves every request for user u-1001.
var azApprove = endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
	return endpoint.Approve(endpoint.Grant{Subject: "u-1001", AuthTime: time.Now().Add(-time.Minute)}), nil
})

// azHeader returns the value of header name in resp, and whether it is set.
func azHeader(resp *endpoint.Response, name string) (string, bool) {
	for _, h := range resp.Header {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// azRedirect is a redirect response taken apart.
type azRedirect struct {
	base     string     // the Location up to the parameters added: the registered URI
	query    url.Values // the whole query of the Location
	fragment url.Values // the fragment, form-decoded; nil without one
	raw      string
}

// azParseLocation splits a Location into the registered URI it starts with
// (one of azRedirectURIs) and the parameters.
func azParseLocation(t testing.TB, loc string) azRedirect {
	t.Helper()
	r := azRedirect{raw: loc}
	for _, u := range azRedirectURIs {
		if strings.HasPrefix(loc, u) && len(loc) > len(u) && strings.ContainsRune("?&#", rune(loc[len(u)])) && len(u) > len(r.base) {
			r.base = u
		}
	}
	if r.base == "" {
		t.Fatalf("Location %q does not start with a registered redirect URI", loc)
	}
	beforeFrag, frag, hasFrag := strings.Cut(loc, "#")
	if hasFrag {
		v, err := url.ParseQuery(frag)
		if err != nil {
			t.Fatalf("fragment of %q: %v", loc, err)
		}
		r.fragment = v
	}
	_, q, _ := strings.Cut(beforeFrag, "?")
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatalf("query of %q: %v", loc, err)
	}
	r.query = v
	return r
}

// params returns the parameters the server added: the fragment's, or the
// query's.
func (r azRedirect) params() url.Values {
	if r.fragment != nil {
		return r.fragment
	}
	return r.query
}

// azS256 is the S256 code_challenge of verifier (RFC 7636 §4.2).
func azS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// azToken posts a token request; basic, if non-empty, is "id:secret".
func (f *azFixture) azToken(t testing.TB, basic string, form url.Values) (int, map[string]any) {
	t.Helper()
	r := &endpoint.Request{Method: "POST", URI: "/token", Secure: true, Body: []byte(form.Encode()),
		Header: endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}}
	if basic != "" {
		id, sec, _ := strings.Cut(basic, ":")
		cred := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(sec)))
		r.Header = append(r.Header.(endpoint.Headers), endpoint.HeaderField{Name: "Authorization", Value: "Basic " + cred})
	}
	resp, _ := f.srv.Token(context.Background(), r)
	var body map[string]any
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatalf("token response %d is not JSON: %v: %q", resp.Status, err, resp.Body)
	}
	return resp.Status, body
}

// azCode runs an approved authorization request and returns the code.
func (f *azFixture) azCode(t testing.TB, q string) string {
	t.Helper()
	resp, res := f.srv.HandleAuthorize(context.Background(), azGet(q), azApprove)
	if resp.Status != 302 || res.Err != nil {
		t.Fatalf("authorize: status %d, err %v, body %q", resp.Status, res.Err, resp.Body)
	}
	loc, _ := azHeader(resp, "Location")
	code := azParseLocation(t, loc).query.Get("code")
	if code == "" {
		t.Fatalf("no code in %q", loc)
	}
	return code
}
