package login_test

// Single sign-on, remembered consent, the OpenID request parameters the
// page honours and RP-Initiated Logout (SPEC §11), played by the fake
// browser of fixture_test.go against a page with a store and an OpenID
// Provider.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/login"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

const ssoLoggedOut = "https://app.example.com/signed-out"

// flakyStore fails GetRecord, PutRecord and DeleteRecord while down is set.
type flakyStore struct {
	store.Store
	down atomic.Bool
}

func (s *flakyStore) fail() error {
	if s.down.Load() {
		return store.ErrUnavailable
	}
	return nil
}

func (s *flakyStore) GetRecord(ctx context.Context, ns, key string) ([]byte, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.GetRecord(ctx, ns, key)
}

func (s *flakyStore) PutRecord(ctx context.Context, ns, key string, v []byte, exp time.Time) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.PutRecord(ctx, ns, key, v, exp)
}

func (s *flakyStore) DeleteRecord(ctx context.Context, ns, key string) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.DeleteRecord(ctx, ns, key)
}

// ssoFixture is an OpenID Provider and its login page with sessions and
// remembered consent.
type ssoFixture struct {
	*fixture
	store *flakyStore
	tokST *memory.Store
}

// newSSO builds the fixture; with proxyAMR, the trusted header
// X-Remote-User is believed from the browsers' network and its users get
// that amr.
func newSSO(t testing.TB, proxyAMR ...string) *ssoFixture {
	t.Helper()
	code := []endpoint.GrantType{endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken}
	oidc := []string{"openid", "profile", "read", "write"}
	clients, err := endpoint.NewStaticClients(
		&endpoint.Client{ID: "webapp", Secret: hash(t, fxWebappSecret), RedirectURIs: []string{fxWebappCB}, GrantTypes: code,
			Scopes: oidc, DefaultScopes: []string{"openid"}, PostLogoutRedirectURIs: []string{ssoLoggedOut}},
		&endpoint.Client{ID: "first", Public: true, RedirectURIs: []string{fxFirstCB}, GrantTypes: code,
			Scopes: oidc, DefaultScopes: []string{"openid"}, SkipConsent: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mem.Close() })
	st := &flakyStore{Store: mem}
	f := &fixture{clock: &clock{t: time.Now().Add(time.Minute)}}
	sk, err := keys.Generate(keys.ES256, keys.Lifecycle{Created: time.Now().Add(-time.Hour), Activates: time.Now().Add(-time.Hour),
		Retires: time.Now().Add(24 * time.Hour), Expires: time.Now().Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.NewSet(keys.SigningRing, sk)
	if err != nil {
		t.Fatal(err)
	}
	apiRing := ring(t, "api")
	users, err := login.NewUsers([]login.User{
		{Username: "alice", ID: "u-1001", Hash: hash(t, fxAlicePassword), Claims: endpoint.UserClaims{"name": json.RawMessage(`"Alice"`)}},
		{Username: "bob", ID: "u-1002", Hash: hash(t, fxBobPassword)},
	}, secret.NewVerifier(secret.VerifierConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	f.srv, err = endpoint.New(fxIssuer, endpoint.Rings{Internal: ring(t, "internal"), Audiences: map[string]*keys.Ring{fxAPI: apiRing}, Default: fxAPI},
		clients, mem, endpoint.WithClock(f.clock.Now), endpoint.WithOpenID(endpoint.OpenID{Signing: keys.NewRing(set), Claims: users}))
	if err != nil {
		t.Fatal(err)
	}
	if f.api, err = crypttoken.NewOpener(apiRing, crypttoken.Expected{Issuer: fxIssuer, Audience: fxAPI, Time: f.clock.Now}); err != nil {
		t.Fatal(err)
	}
	cfg := login.Config{
		Issuer: "Example Issuer", Users: users, ClientAddr: f.srv.ClientAddr, Now: f.clock.Now, Store: st,
		Audit: func(_ context.Context, e login.Event) {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
		},
	}
	if len(proxyAMR) > 0 {
		cfg.TrustedHeader, cfg.TrustedProxies, cfg.ProxyAMR = "X-Remote-User", []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, proxyAMR
		cfg.ProxySubject = login.ProxySubjects(users, []string{"webapp", "first"})
	}
	f.page, err = login.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &ssoFixture{fixture: f, store: st, tokST: mem}
}

// oidcQuery is an OpenID authorization request for client.
func oidcQuery(client, redirect string, extra ...string) url.Values {
	q := codeQuery(client, redirect, "openid profile", "st")
	q.Set("nonce", "n-1")
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

// signIn runs a password login for webapp in b (login form, then consent
// allowed) and returns the code's redirect.
func (f *ssoFixture) signIn(t testing.TB, b *browser, user, password string, extra ...string) *url.URL {
	t.Helper()
	resp := b.get(t, oidcQuery("webapp", fxWebappCB, extra...))
	if !isLoginForm(resp) {
		t.Fatalf("want the login form, got %d:\n%s", resp.Status, resp.Body)
	}
	v := form(t, resp)
	v.Set("username", user)
	v.Set("password", password)
	resp = b.post(t, v)
	if resp.Status == 302 {
		return location(t, resp)
	}
	if !isConsentForm(resp) {
		t.Fatalf("want the consent form after login, got %d:\n%s", resp.Status, resp.Body)
	}
	return f.allow(t, b, resp)
}

// allow submits a consent form as shown.
func (f *ssoFixture) allow(t testing.TB, b *browser, consent *endpoint.Response) *url.URL {
	t.Helper()
	v := form(t, consent)
	v.Set("login_action", "allow")
	return location(t, b.post(t, v))
}

func isLoginForm(r *endpoint.Response) bool {
	return r.Status == 200 && strings.Contains(string(r.Body), `id="login-form"`)
}

func isConsentForm(r *endpoint.Response) bool {
	return r.Status == 200 && strings.Contains(string(r.Body), `id="consent-form"`)
}

// idToken exchanges a code of client and returns the ID token's claims
// (unverified: pkg/endpoint's tests verify them) and the raw token.
func (f *ssoFixture) idToken(t testing.TB, client, redirect string, loc *url.URL) (map[string]any, string) {
	t.Helper()
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", loc)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {client}, "code_verifier": {fxVerifier}}
	if client == "webapp" {
		form.Set("client_secret", fxWebappSecret)
	}
	r := &endpoint.Request{Method: "POST", URI: "/token", Secure: true,
		Header: endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}, Body: []byte(form.Encode())}
	resp, _ := f.srv.Token(context.Background(), r)
	if resp.Status != 200 {
		t.Fatalf("token: %d %s", resp.Status, resp.Body)
	}
	raw := jsonField(t, resp.Body, "id_token")
	seg := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(seg[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	return m, raw
}

// endSession sends the end-session request in b.
func (b *browser) endSession(t testing.TB, method string, params url.Values) *endpoint.Response {
	t.Helper()
	r := &endpoint.Request{Method: method, URI: "/end_session", Secure: true, RemoteAddr: b.addr}
	if method == "GET" {
		r.URI += "?" + params.Encode()
		r.Header = b.headers("")
	} else {
		r.Header = b.headers("application/x-www-form-urlencoded")
		r.Body = []byte(params.Encode())
	}
	resp, _ := b.f.srv.HandleEndSession(context.Background(), r, b.f.page)
	b.keep(resp)
	return resp
}

func setCookie(r *endpoint.Response, name string) string {
	for _, h := range r.Header {
		if strings.EqualFold(h.Name, "Set-Cookie") && strings.HasPrefix(h.Value, name+"=") {
			return h.Value
		}
	}
	return ""
}

// TestSSOSecondClientWithoutPassword: a password login starts a session;
// within it, a first-party client gets a code at once and a third-party
// one the consent page, neither the password (SPEC §11).
func TestSSOSecondClientWithoutPassword(t *testing.T) {
	f := newSSO(t)
	b := f.browser()
	loc := f.signIn(t, b, "alice", fxAlicePassword)
	if b.cookies[login.SessionCookieName] == "" {
		t.Fatal("the login set no session cookie")
	}
	claims, _ := f.idToken(t, "webapp", fxWebappCB, loc)
	if claims["sub"] != "u-1001" || claims["sid"] == nil || claims["nonce"] != "n-1" {
		t.Fatalf("ID token of the password login: %v", claims)
	}
	loginTime := claims["auth_time"]

	f.clock.Add(10 * time.Minute)
	resp := b.get(t, oidcQuery("first", fxFirstCB, "nonce", "n-2"))
	second, _ := f.idToken(t, "first", fxFirstCB, location(t, resp))
	if second["sub"] != "u-1001" || second["auth_time"] != loginTime || second["sid"] != claims["sid"] || second["nonce"] != "n-2" {
		t.Fatalf("Core §2: the second client's ID token must state the first login: %v vs %v", second, claims)
	}
	if amr, _ := second["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
		t.Fatalf("amr %v", second["amr"])
	}
	kinds := f.kinds()
	if kinds[len(kinds)-1] != login.EventSession {
		t.Fatalf("events %v: the session sign-in is audited", kinds)
	}
	// Another browser has no session.
	if resp := f.browser().get(t, oidcQuery("first", fxFirstCB)); !isLoginForm(resp) {
		t.Fatalf("a browser without the cookie: %d", resp.Status)
	}
	// The session lasts login.DefaultSessionTTL from the login, not more.
	f.clock.Add(login.DefaultSessionTTL)
	if resp := b.get(t, oidcQuery("first", fxFirstCB)); !isLoginForm(resp) {
		t.Fatalf("an expired session still signs in: %d", resp.Status)
	}
}

// TestSSOPromptMaxAgeHints covers what the page makes of the OpenID
// parameters with a session (Core §3.1.2.1, §3.1.2.6).
func TestSSOPromptMaxAgeHints(t *testing.T) {
	f := newSSO(t)
	b := f.browser()
	first := f.signIn(t, b, "alice", fxAlicePassword)
	_, aliceHint := f.idToken(t, "webapp", fxWebappCB, first)
	bobHint := func() string {
		bb := f.browser()
		loc := f.signIn(t, bb, "bob", fxBobPassword)
		_, h := f.idToken(t, "webapp", fxWebappCB, loc)
		return h
	}()
	f.clock.Add(2 * time.Minute)
	rows := []struct {
		name   string
		client string
		extra  []string
		want   string // "code", "login", "consent" or an error code
	}{
		{"Core §3.1.2.1: a session signs in a first-party client", "first", nil, "code"},
		{"Core §3.1.2.1: prompt=none with a session gets a code", "first", []string{"prompt", "none"}, "code"},
		{"Core §3.1.2.1: prompt=login forces the password", "first", []string{"prompt", "login"}, "login"},
		{"Core §3.1.2.1: prompt=select_account is taken as login", "first", []string{"prompt", "select_account"}, "login"},
		{"Core §3.1.2.1: max_age=0 forces the password", "first", []string{"max_age", "0"}, "login"},
		{"Core §3.1.2.1: a login older than max_age forces the password", "first", []string{"max_age", "60"}, "login"},
		{"Core §3.1.2.1: a login within max_age signs in", "first", []string{"max_age", "3600"}, "code"},
		{"Core §3.1.2.6: prompt=none and max_age exceeded is login_required", "first", []string{"prompt", "none", "max_age", "60"}, "login_required"},
		{"Core §3.1.2.1: id_token_hint of the session's user signs in", "webapp", []string{"id_token_hint", aliceHint, "prompt", "none"}, "code"},
		{"Core §3.1.2.1: id_token_hint of another user forces the password", "webapp", []string{"id_token_hint", bobHint}, "login"},
		{"Core §3.1.2.6: id_token_hint of another user with prompt=none is login_required", "webapp", []string{"id_token_hint", bobHint, "prompt", "none"}, "login_required"},
		{"Core §3.1.2.1: prompt=consent forces the consent page over remembered consent", "webapp", []string{"prompt", "consent"}, "consent"},
		{"Core §3.1.2.1: consent remembered from the first login", "webapp", nil, "code"},
		{"Core §3.1.2.6: prompt=none where consent is needed is consent_required", "webapp", []string{"prompt", "none", "scope", "openid write"}, "consent_required"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			cb := fxWebappCB
			if r.client == "first" {
				cb = fxFirstCB
			}
			resp := b.get(t, oidcQuery(r.client, cb, r.extra...))
			switch r.want {
			case "code":
				if loc := location(t, resp); loc.Query().Get("code") == "" {
					t.Fatalf("redirect %s", loc)
				}
			case "login":
				if !isLoginForm(resp) {
					t.Fatalf("want the login form, got %d:\n%s", resp.Status, resp.Body)
				}
			case "consent":
				if !isConsentForm(resp) {
					t.Fatalf("want the consent form, got %d", resp.Status)
				}
				if strings.Contains(string(resp.Body), `type="password"`) {
					t.Fatal("the consent page asks for the password")
				}
			default:
				loc := location(t, resp)
				if got := loc.Query().Get("error"); got != r.want || loc.Query().Get("state") != "st" {
					t.Fatalf("redirect %s, want error %s", loc, r.want)
				}
			}
		})
	}
	t.Run("Core §3.1.2.1: a login as another user than id_token_hint names is login_required", func(t *testing.T) {
		resp := b.get(t, oidcQuery("webapp", fxWebappCB, "id_token_hint", bobHint))
		v := form(t, resp)
		v.Set("username", "alice")
		v.Set("password", fxAlicePassword)
		resp = b.post(t, v)
		if isConsentForm(resp) {
			v = form(t, resp)
			v.Set("login_action", "allow")
			resp = b.post(t, v)
		}
		if got := location(t, resp).Query().Get("error"); got != "login_required" {
			t.Fatalf("error %q", got)
		}
	})
	t.Run("Core §3.1.2.1: login_hint prefills the username", func(t *testing.T) {
		resp := f.browser().get(t, oidcQuery("first", fxFirstCB, "login_hint", `bob"><script>`))
		if !strings.Contains(string(resp.Body), `value="bob&#34;&gt;&lt;script&gt;"`) {
			t.Fatalf("login_hint not prefilled (escaped):\n%s", resp.Body)
		}
	})
	t.Run("Core §3.1.2.6: prompt=none without a session is login_required, no page", func(t *testing.T) {
		resp := f.browser().get(t, oidcQuery("first", fxFirstCB, "prompt", "none"))
		if got := location(t, resp).Query().Get("error"); got != "login_required" {
			t.Fatalf("error %q", got)
		}
	})
}

// TestRememberedConsent: consent is remembered per user and client, a
// request within it skips the page, a wider one shows it, and a denial
// forgets it (SPEC §11).
func TestRememberedConsent(t *testing.T) {
	f := newSSO(t)
	b := f.browser()
	f.signIn(t, b, "alice", fxAlicePassword, "scope", "openid read")
	get := func(scope string) *endpoint.Response {
		return b.get(t, oidcQuery("webapp", fxWebappCB, "scope", scope))
	}
	if resp := get("openid read"); resp.Status != 302 {
		t.Fatalf("the same request asks again: %d", resp.Status)
	}
	if resp := get("openid"); resp.Status != 302 {
		t.Fatalf("a narrower request asks again: %d", resp.Status)
	}
	resp := get("openid read write")
	if !isConsentForm(resp) {
		t.Fatalf("a wider request is not asked: %d", resp.Status)
	}
	// Uncheck write: only openid and read stay remembered.
	v := form(t, resp)
	for k, vals := range v {
		if strings.HasPrefix(k, "login_scope_") && vals[0] == "write" {
			v.Del(k)
		}
	}
	v.Set("login_action", "allow")
	location(t, b.post(t, v))
	if resp := get("openid read write"); !isConsentForm(resp) {
		t.Fatal("a scope left unchecked was remembered")
	}
	// Bob's consent is his own.
	bb := f.browser()
	resp = bb.get(t, oidcQuery("webapp", fxWebappCB, "scope", "openid read"))
	v = form(t, resp)
	v.Set("username", "bob")
	v.Set("password", fxBobPassword)
	if resp = bb.post(t, v); !isConsentForm(resp) {
		t.Fatal("alice's consent applied to bob")
	}
	// Deny: the consent is revoked, the next request asks again.
	resp = get("openid read write")
	v = form(t, resp)
	v.Set("login_action", "deny")
	if got := location(t, b.post(t, v)).Query().Get("error"); got != "access_denied" {
		t.Fatalf("deny: %q", got)
	}
	if resp := get("openid read"); !isConsentForm(resp) {
		t.Fatal("consent still remembered after the user denied a request")
	}
}

// TestLogout covers RP-Initiated Logout with the page's sessions: who may
// log out without confirmation, the redirect, and that a logged-out
// session cookie replayed signs in no more.
func TestLogout(t *testing.T) {
	t.Run("RP-Initiated §2: a hint for the session's user logs out at once and redirects with the state", func(t *testing.T) {
		f := newSSO(t)
		b := f.browser()
		_, hint := f.idToken(t, "webapp", fxWebappCB, f.signIn(t, b, "alice", fxAlicePassword))
		stolen := b.cookies[login.SessionCookieName]
		resp := b.endSession(t, "GET", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {ssoLoggedOut}, "state": {"bye"}})
		if loc := location(t, resp); loc.String() != ssoLoggedOut+"?state=bye" {
			t.Fatalf("redirect %s", loc)
		}
		if c := setCookie(resp, login.SessionCookieName); !strings.Contains(c, "Max-Age=0") {
			t.Fatalf("the session cookie is not cleared: %q", c)
		}
		if k := f.kinds(); k[len(k)-1] != login.EventLogout {
			t.Fatalf("events %v", k)
		}
		if resp := b.get(t, oidcQuery("first", fxFirstCB)); !isLoginForm(resp) {
			t.Fatalf("after logout the password is not asked: %d", resp.Status)
		}
		// The attacker (or the browser's history) replays the cookie.
		b.cookies[login.SessionCookieName] = stolen
		if resp := b.get(t, oidcQuery("first", fxFirstCB)); !isLoginForm(resp) {
			t.Fatal("a logged-out session cookie signed in again")
		}
		if got := location(t, b.get(t, oidcQuery("first", fxFirstCB, "prompt", "none"))).Query().Get("error"); got != "login_required" {
			t.Fatalf("prompt=none with the replayed cookie: %q", got)
		}
		// The victim signs in again: a new session, which works.
		f.signIn(t, b, "alice", fxAlicePassword)
		if resp := b.get(t, oidcQuery("first", fxFirstCB)); resp.Status != 302 {
			t.Fatalf("the new session does not sign in: %d", resp.Status)
		}
	})
	t.Run("CSRF: without a hint a confirmation page; a forged POST is refused; the user's click logs out", func(t *testing.T) {
		f := newSSO(t)
		b := f.browser()
		f.signIn(t, b, "alice", fxAlicePassword)
		resp := b.endSession(t, "GET", url.Values{"client_id": {"webapp"}, "post_logout_redirect_uri": {ssoLoggedOut}})
		if resp.Status != 200 || !strings.Contains(string(resp.Body), `id="logout-form"`) || !strings.Contains(string(resp.Body), `action="/end_session"`) {
			t.Fatalf("want the confirmation page, got %d:\n%s", resp.Status, resp.Body)
		}
		// An attacker's page posts the confirmation without the token.
		forged := url.Values{"client_id": {"webapp"}, "post_logout_redirect_uri": {ssoLoggedOut}, "login_action": {"logout"}}
		if resp := b.endSession(t, "POST", forged); resp.Status != 403 {
			t.Fatalf("a forged confirmation: %d", resp.Status)
		}
		if resp := b.get(t, oidcQuery("first", fxFirstCB)); resp.Status != 302 {
			t.Fatal("the forged confirmation logged the victim out")
		}
		// "Stay signed in".
		v := form(t, resp)
		v.Set("login_action", "stay")
		if resp := b.endSession(t, "POST", v); resp.Status != 200 || !strings.Contains(string(resp.Body), "still signed in") {
			t.Fatalf("stay: %d", resp.Status)
		}
		if resp := b.get(t, oidcQuery("first", fxFirstCB)); resp.Status != 302 {
			t.Fatal("stay logged out")
		}
		v.Set("login_action", "logout")
		if loc := location(t, b.endSession(t, "POST", v)); loc.String() != ssoLoggedOut {
			t.Fatalf("confirmed logout redirect %s", loc)
		}
		if resp := b.get(t, oidcQuery("first", fxFirstCB)); !isLoginForm(resp) {
			t.Fatal("still signed in after a confirmed logout")
		}
	})
	t.Run("CSRF: a hint of another user asks for confirmation", func(t *testing.T) {
		f := newSSO(t)
		attacker := f.browser()
		_, bobHint := f.idToken(t, "webapp", fxWebappCB, f.signIn(t, attacker, "bob", fxBobPassword))
		victim := f.browser()
		f.signIn(t, victim, "alice", fxAlicePassword)
		resp := victim.endSession(t, "GET", url.Values{"id_token_hint": {bobHint}, "post_logout_redirect_uri": {ssoLoggedOut}})
		if resp.Status != 200 || !strings.Contains(string(resp.Body), `id="logout-form"`) {
			t.Fatalf("the attacker's hint logged the victim out: %d", resp.Status)
		}
	})
	t.Run("RP-Initiated §3: an unregistered URI gets the signed-out page", func(t *testing.T) {
		f := newSSO(t)
		b := f.browser()
		_, hint := f.idToken(t, "webapp", fxWebappCB, f.signIn(t, b, "alice", fxAlicePassword))
		resp := b.endSession(t, "GET", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example.com/"}})
		if resp.Status != 200 || !strings.Contains(string(resp.Body), "signed out") || endpoint.Headers(resp.Header).Get("Location") != "" {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
	})
	t.Run("a browser without a session is signed out at once", func(t *testing.T) {
		f := newSSO(t)
		resp := f.browser().endSession(t, "GET", url.Values{"client_id": {"webapp"}, "post_logout_redirect_uri": {ssoLoggedOut}})
		if loc := location(t, resp); loc.String() != ssoLoggedOut {
			t.Fatalf("redirect %s", loc)
		}
	})
	t.Run("a store outage keeps the session and says so: no silent logout that did not happen", func(t *testing.T) {
		f := newSSO(t)
		b := f.browser()
		_, hint := f.idToken(t, "webapp", fxWebappCB, f.signIn(t, b, "alice", fxAlicePassword))
		f.store.down.Store(true)
		resp := b.endSession(t, "GET", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {ssoLoggedOut}})
		if resp.Status != 503 || endpoint.Headers(resp.Header).Get("Location") != "" {
			t.Fatalf("logout with the store down: %d", resp.Status)
		}
		f.store.down.Store(false)
		if resp := b.get(t, oidcQuery("first", fxFirstCB)); resp.Status != 302 {
			t.Fatal("the session was lost")
		}
	})
}

// TestSessionConfig checks the page's session and consent settings.
func TestSessionConfig(t *testing.T) {
	users, _ := login.NewUsers([]login.User{{Username: "a", ID: "u", Hash: hash(t, "p")}}, nil)
	for _, r := range []struct {
		name string
		cfg  login.Config
		ok   bool
	}{
		{"defaults", login.Config{Users: users}, true},
		{"sessions disabled", login.Config{Users: users, SessionTTL: -1, ConsentTTL: -1}, true},
		{"a session TTL under a minute", login.Config{Users: users, SessionTTL: time.Second}, false},
		{"a session TTL over MaxSessionTTL", login.Config{Users: users, SessionTTL: login.MaxSessionTTL + time.Hour}, false},
		{"an empty ProxyAMR value", login.Config{Users: users, ProxyAMR: []string{""}}, false},
		{"EndSessionPath not a path", login.Config{Users: users, EndSessionPath: "//evil"}, false},
	} {
		t.Run(r.name, func(t *testing.T) {
			_, err := login.New(r.cfg)
			if (err == nil) != r.ok {
				t.Fatalf("err %v", err)
			}
		})
	}
}

// TestSSOTrustedHeader: a user from the authenticating proxy gets the amr
// the operator declared (login.trusted_amr), no session of the page's own,
// no auth_time, and so login_required for a max_age (Core §3.1.2.1: the
// page cannot tell when the proxy authenticated the user).
func TestSSOTrustedHeader(t *testing.T) {
	f := newSSO(t, "mfa", "hwk")
	b := f.browser()
	b.extra = endpoint.Headers{{Name: "X-Remote-User", Value: "alice"}}
	resp := b.get(t, oidcQuery("first", fxFirstCB))
	claims, _ := f.idToken(t, "first", fxFirstCB, location(t, resp))
	if amr, _ := claims["amr"].([]any); len(amr) != 2 || amr[0] != "mfa" || amr[1] != "hwk" {
		t.Fatalf("amr %v", claims["amr"])
	}
	if claims["sub"] != "u-1001" || claims["auth_time"] != nil || claims["sid"] != nil {
		t.Fatalf("claims %v", claims)
	}
	if setCookie(resp, login.SessionCookieName) != "" {
		t.Fatal("a proxy user got a session cookie")
	}
	if got := location(t, b.get(t, oidcQuery("first", fxFirstCB, "max_age", "600"))).Query().Get("error"); got != "login_required" {
		t.Fatalf("max_age for a proxy user: %q", got)
	}
}
