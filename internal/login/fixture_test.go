package login_test

// The flow tests' fixture: an endpoint.Server with a few clients, a Page
// over two users, a settable clock for the Page, and helpers that play a
// browser (a cookie jar, form extraction, posting back).

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/login"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

const (
	fxIssuer = "https://issuer.example.com"
	fxAPI    = "https://api.example.com"

	fxWebappCB = "https://app.example.com/callback"
	fxFirstCB  = "https://first.example.com/cb"
	fxEvilCB   = "https://evil.example.com/cb"

	fxWebappSecret = "webapp-secret-0123456789"

	fxAlicePassword = "correct horse battery staple"
	fxBobPassword   = "bob-password-42"

	// fxVerifier is RFC 7636 Appendix B's code_verifier.
	fxVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

	// fxEvilID is a client id and fxEvilScope a scope that would run a
	// script if the pages did not escape them.
	fxEvilID    = `<script>alert("id")</script>`
	fxEvilScope = `<script>alert(1)</script>`
)

// fxChallenge is the S256 code_challenge of fxVerifier.
var fxChallenge = func() string {
	s := sha256.Sum256([]byte(fxVerifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}()

// fixture is a server, a page and what the tests observe.
type fixture struct {
	srv    *endpoint.Server
	page   *login.Page
	api    *crypttoken.Opener
	clock  *clock
	mu     sync.Mutex
	events []login.Event
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func ring(t testing.TB, name string) *keys.Ring {
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

func hash(t testing.TB, s string) secret.Hash {
	t.Helper()
	h, err := secret.Parse(secret.NewSHA256(s))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fxOptions adjusts the fixture.
type fxOptions struct {
	limiter *secret.Limiter
	header  string
	proxies []netip.Prefix
	// forwarders are the endpoint's trusted proxies, whose
	// X-Forwarded-For gives the page the client's address.
	forwarders []netip.Prefix
	callback   string // extra redirect URI for the webapp and first clients
	// proxySubjects maps trusted-header names with login.ProxySubjects
	// over the fixture's users and client ids.
	proxySubjects bool
}

func newFixture(t testing.TB, o fxOptions) *fixture {
	t.Helper()
	code := []endpoint.GrantType{endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken}
	webappCB, firstCB := []string{fxWebappCB}, []string{fxFirstCB}
	if o.callback != "" {
		webappCB = append(webappCB, o.callback)
		firstCB = append(firstCB, o.callback)
	}
	clients, err := endpoint.NewStaticClients(
		&endpoint.Client{ID: "webapp", Secret: hash(t, fxWebappSecret), RedirectURIs: webappCB, GrantTypes: code,
			Scopes: []string{"profile", "read", "write"}, DefaultScopes: []string{"profile"}},
		&endpoint.Client{ID: "first", Public: true, RedirectURIs: firstCB, GrantTypes: code,
			Scopes: []string{"profile", "read"}, DefaultScopes: []string{"read"}, SkipConsent: true},
		&endpoint.Client{ID: fxEvilID, Public: true, RedirectURIs: []string{fxEvilCB}, GrantTypes: code,
			Scopes: []string{fxEvilScope, "read"}, DefaultScopes: []string{fxEvilScope}},
	)
	if err != nil {
		t.Fatal(err)
	}
	apiRing := ring(t, "api")
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	srv, err := endpoint.New(fxIssuer, endpoint.Rings{
		Internal:  ring(t, "internal"),
		Audiences: map[string]*keys.Ring{fxAPI: apiRing},
		Default:   fxAPI,
	}, clients, st, endpoint.WithTrustedProxies(o.forwarders...))
	if err != nil {
		t.Fatal(err)
	}
	api, err := crypttoken.NewOpener(apiRing, crypttoken.Expected{Issuer: fxIssuer, Audience: fxAPI})
	if err != nil {
		t.Fatal(err)
	}
	users, err := login.NewUsers([]login.User{
		{Username: "alice", ID: "u-1001", Hash: hash(t, fxAlicePassword)},
		{Username: "bob", ID: "u-1002", Hash: hash(t, fxBobPassword)},
	}, secret.NewVerifier(secret.VerifierConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	// The page's clock starts a minute ahead: secret.Limiter counts time
	// from its construction (inside login.New, after this line) and treats
	// earlier instants as blocked.
	f := &fixture{srv: srv, api: api, clock: &clock{t: time.Now().Add(time.Minute)}}
	cfg := login.Config{
		Issuer:         "Example Issuer",
		Users:          users,
		Limiter:        o.limiter,
		ClientAddr:     srv.ClientAddr,
		TrustedHeader:  o.header,
		TrustedProxies: o.proxies,
		Now:            f.clock.Now,
		ScopeDescriptions: map[string]string{
			"read": "Read your data",
		},
		Audit: func(_ context.Context, e login.Event) {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
		},
	}
	if o.proxySubjects {
		cfg.ProxySubject = login.ProxySubjects(users, []string{"webapp", "first", fxEvilID})
	}
	if f.page, err = login.New(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

// kinds returns the kinds of the audit events so far.
func (f *fixture) kinds() []login.EventKind {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]login.EventKind, len(f.events))
	for i, e := range f.events {
		out[i] = e.Kind
	}
	return out
}

// browser is one user agent: a peer address, optional extra headers and a
// cookie jar (the CSRF and device cookies).
type browser struct {
	f       *fixture
	addr    netip.Addr
	cookies map[string]string // name -> value
	extra   endpoint.Headers
}

func (f *fixture) browser() *browser {
	return &browser{f: f, addr: netip.MustParseAddr("192.0.2.10"), cookies: map[string]string{}}
}

// cookieHeader is the Cookie header the browser sends, "" for none.
func (b *browser) cookieHeader() string {
	names := make([]string, 0, len(b.cookies))
	for n := range b.cookies {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, n+"="+b.cookies[n])
	}
	return strings.Join(parts, "; ")
}

func (b *browser) headers(contentType string) endpoint.Headers {
	h := append(endpoint.Headers(nil), b.extra...)
	if c := b.cookieHeader(); c != "" {
		h = append(h, endpoint.HeaderField{Name: "Cookie", Value: c})
	}
	if contentType != "" {
		h = append(h, endpoint.HeaderField{Name: "Content-Type", Value: contentType})
	}
	return h
}

// keep stores the cookies a response sets.
func (b *browser) keep(resp *endpoint.Response) {
	for _, h := range resp.Header {
		if strings.EqualFold(h.Name, "Set-Cookie") {
			nv, _, _ := strings.Cut(h.Value, ";")
			name, value, _ := strings.Cut(nv, "=")
			b.cookies[name] = value
		}
	}
}

// get sends GET /authorize?query.
func (b *browser) get(t testing.TB, query url.Values) *endpoint.Response {
	t.Helper()
	r := &endpoint.Request{Method: "GET", URI: "/authorize?" + query.Encode(), Secure: true,
		RemoteAddr: b.addr, Header: b.headers("")}
	resp, _ := b.f.srv.HandleAuthorize(context.Background(), r, b.f.page)
	b.keep(resp)
	return resp
}

// post sends POST /authorize with form.
func (b *browser) post(t testing.TB, form url.Values) *endpoint.Response {
	t.Helper()
	r := &endpoint.Request{Method: "POST", URI: "/authorize", Secure: true, RemoteAddr: b.addr,
		Header: b.headers("application/x-www-form-urlencoded"), Body: []byte(form.Encode())}
	resp, _ := b.f.srv.HandleAuthorize(context.Background(), r, b.f.page)
	b.keep(resp)
	return resp
}

var (
	hiddenRE   = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	checkboxRE = regexp.MustCompile(`<input type="checkbox" id="[^"]*" name="([^"]*)" value="([^"]*)" checked>`)
)

// form returns the hidden fields and checked checkboxes of a page, as a
// browser would submit them.
func form(t testing.TB, resp *endpoint.Response) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(string(resp.Body), -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	for _, m := range checkboxRE.FindAllStringSubmatch(string(resp.Body), -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if v.Get("login_csrf") == "" {
		t.Fatalf("page has no form:\n%s", resp.Body)
	}
	return v
}

// codeQuery is an authorization-code request for client with PKCE S256.
func codeQuery(client, redirect, scope, state string) url.Values {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {client},
		"redirect_uri":          {redirect},
		"state":                 {state},
		"code_challenge":        {fxChallenge},
		"code_challenge_method": {"S256"},
	}
	if scope != "" {
		q.Set("scope", scope)
	}
	return q
}

// location parses a redirect's Location.
func location(t testing.TB, resp *endpoint.Response) *url.URL {
	t.Helper()
	if resp.Status != 302 {
		t.Fatalf("status %d, want 302; body:\n%s", resp.Status, resp.Body)
	}
	u, err := url.Parse(endpoint.Headers(resp.Header).Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// exchange redeems code at the token endpoint for client (public, or
// webapp with its secret) and opens the access token.
func (f *fixture) exchange(t testing.TB, client, redirect, code string) *crypttoken.Claims {
	t.Helper()
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {redirect},
		"client_id":     {client},
		"code_verifier": {fxVerifier},
	}
	if client == "webapp" {
		form.Set("client_secret", fxWebappSecret)
	}
	r := &endpoint.Request{Method: "POST", URI: "/token", Secure: true, RemoteAddr: netip.MustParseAddr("192.0.2.99"),
		Header: endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}},
		Body:   []byte(form.Encode())}
	resp, res := f.srv.Token(context.Background(), r)
	if resp.Status != 200 {
		t.Fatalf("token endpoint: %d %s (%v)", resp.Status, resp.Body, res.Err)
	}
	tok := jsonField(t, resp.Body, "access_token")
	c, err := f.api.Open(tok)
	if err != nil {
		t.Fatalf("open access token: %v", err)
	}
	return c
}

// jsonField returns a string member of a JSON object.
func jsonField(t testing.TB, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	s, _ := m[name].(string)
	if s == "" {
		t.Fatalf("no %q in %s", name, body)
	}
	return s
}
