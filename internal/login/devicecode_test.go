package login_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/login"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// newDeviceFixture is a server with a device client "tv" (public, scopes
// read and write) and a page that serves the verification page over it.
func newDeviceFixture(t testing.TB, o fxOptions) *fixture {
	t.Helper()
	clients, err := endpoint.NewStaticClients(
		&endpoint.Client{ID: "tv", Public: true,
			GrantTypes: []endpoint.GrantType{endpoint.GrantDeviceCode},
			Scopes:     []string{"read", "write"}, DefaultScopes: []string{"read", "write"}, SkipConsent: true},
		&endpoint.Client{ID: fxEvilID, Public: true,
			GrantTypes: []endpoint.GrantType{endpoint.GrantDeviceCode},
			Scopes:     []string{fxEvilScope}, DefaultScopes: []string{fxEvilScope}},
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
		Internal: ring(t, "internal"), Audiences: map[string]*keys.Ring{fxAPI: apiRing}, Default: fxAPI,
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
	f := &fixture{srv: srv, api: api, clock: &clock{t: time.Now().Add(time.Minute)}}
	cfg := login.Config{
		Issuer: "Example Issuer", Users: users, Limiter: o.limiter, ClientAddr: srv.ClientAddr,
		TrustedHeader: o.header, TrustedProxies: o.proxies, Now: f.clock.Now,
		DeviceFlow: srv,
		Audit: func(_ context.Context, e login.Event) {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
		},
	}
	if o.proxySubjects {
		cfg.ProxySubject = login.ProxySubjects(users, []string{"tv"})
	}
	if f.page, err = login.New(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

// deviceCode is a device authorization of tv.
type deviceCode struct {
	Device, User, Complete string
}

func (f *fixture) startDevice(t testing.TB, client string, scope string) deviceCode {
	t.Helper()
	v := url.Values{"client_id": {client}}
	if scope != "" {
		v.Set("scope", scope)
	}
	r := &endpoint.Request{Method: "POST", URI: "/device_authorization", Secure: true, RemoteAddr: netip.MustParseAddr("198.51.100.1"),
		Header: endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}, Body: []byte(v.Encode())}
	resp, res := f.srv.DeviceAuthorization(context.Background(), r)
	if resp.Status != 200 {
		t.Fatalf("device authorization: %d %s (%v)", resp.Status, resp.Body, res.Err)
	}
	var m map[string]any
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		t.Fatal(err)
	}
	return deviceCode{Device: m["device_code"].(string), User: m["user_code"].(string), Complete: m["verification_uri_complete"].(string)}
}

// poll polls the token endpoint once for tv.
func (f *fixture) poll(t testing.TB, dc deviceCode) (int, map[string]any) {
	t.Helper()
	v := url.Values{"grant_type": {string(endpoint.GrantDeviceCode)}, "device_code": {dc.Device}, "client_id": {"tv"}}
	r := &endpoint.Request{Method: "POST", URI: "/token", Secure: true, RemoteAddr: netip.MustParseAddr("198.51.100.1"),
		Header: endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}, Body: []byte(v.Encode())}
	resp, _ := f.srv.Token(context.Background(), r)
	var m map[string]any
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		t.Fatal(err)
	}
	return resp.Status, m
}

// deviceGet sends GET /device?query.
func (b *browser) deviceGet(t testing.TB, query url.Values) *endpoint.Response {
	t.Helper()
	uri := "/device"
	if len(query) > 0 {
		uri += "?" + query.Encode()
	}
	resp, _ := b.f.page.ServeDevice(context.Background(), &endpoint.Request{Method: "GET", URI: uri, Secure: true,
		RemoteAddr: b.addr, Header: b.headers("")})
	b.keep(resp)
	return resp
}

// devicePost sends POST /device with form.
func (b *browser) devicePost(t testing.TB, form url.Values) *endpoint.Response {
	t.Helper()
	resp, _ := b.f.page.ServeDevice(context.Background(), &endpoint.Request{Method: "POST", URI: "/device", Secure: true,
		RemoteAddr: b.addr, Header: b.headers("application/x-www-form-urlencoded"), Body: []byte(form.Encode())})
	b.keep(resp)
	return resp
}

// enterCode goes from the code form to the page after posting code.
func (b *browser) enterCode(t testing.TB, code string) *endpoint.Response {
	t.Helper()
	page := b.deviceGet(t, nil)
	if page.Status != 200 || !strings.Contains(string(page.Body), `id="code-form"`) {
		t.Fatalf("code form: %d\n%s", page.Status, page.Body)
	}
	v := form(t, page)
	v.Set("user_code", code)
	return b.devicePost(t, v)
}

// signIn posts the login form of page with a password.
func (b *browser) signIn(t testing.TB, page *endpoint.Response, user, password string) *endpoint.Response {
	t.Helper()
	if !strings.Contains(string(page.Body), `id="login-form"`) {
		t.Fatalf("no login form: %d\n%s", page.Status, page.Body)
	}
	v := form(t, page)
	v.Set("username", user)
	v.Set("password", password)
	return b.devicePost(t, v)
}

// decide posts the consent form of page with action.
func (b *browser) decide(t testing.TB, page *endpoint.Response, action string, drop ...string) *endpoint.Response {
	t.Helper()
	if !strings.Contains(string(page.Body), `id="consent-form"`) {
		t.Fatalf("no consent form: %d\n%s", page.Status, page.Body)
	}
	v := form(t, page)
	for _, d := range drop {
		for k, vals := range v {
			if strings.HasPrefix(k, "login_scope_") && vals[0] == d {
				v.Del(k)
			}
		}
	}
	v.Set("login_action", action)
	return b.devicePost(t, v)
}

func TestDevicePageFlow(t *testing.T) {
	t.Run("RFC 8628 §3.3 enter the code, sign in, consent, and the device gets its token", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		dc := f.startDevice(t, "tv", "")
		b := f.browser()
		loginPage := b.enterCode(t, strings.ToLower(strings.ReplaceAll(dc.User, "-", " ")))
		body := string(loginPage.Body)
		if loginPage.Status != 200 || !strings.Contains(body, dc.User) || !strings.Contains(body, `id="client">tv<`) {
			t.Fatalf("login page does not name the client and the code (RFC 8628 §5.4):\n%s", body)
		}
		consent := b.signIn(t, loginPage, "alice", fxAlicePassword)
		cb := string(consent.Body)
		if !strings.Contains(cb, `id="code">`+dc.User+`<`) || !strings.Contains(cb, `id="user">alice<`) {
			t.Fatalf("consent page does not repeat the code (RFC 8628 §5.4):\n%s", cb)
		}
		done := b.decide(t, consent, "allow")
		if done.Status != 200 || !strings.Contains(string(done.Body), "Device connected") {
			t.Fatalf("result page: %d\n%s", done.Status, done.Body)
		}
		st, m := f.poll(t, dc)
		if st != 200 {
			t.Fatalf("token: %d %v", st, m)
		}
		c, err := f.api.Open(m["access_token"].(string))
		if err != nil || c.Subject != "u-1001" || c.ClientID != "tv" || c.Scope != "read write" {
			t.Fatalf("token claims %+v, %v", c, err)
		}
		if c.AuthTime.IsZero() {
			t.Error("no auth_time: the user signed in with a password")
		}
		if got := f.kinds(); strings.Join(kindStrings(got), ",") != "login,consent" {
			t.Errorf("audit events %v", got)
		}
	})
	t.Run("RFC 8628 §3.3.1 verification_uri_complete skips typing the code", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		dc := f.startDevice(t, "tv", "read")
		u, err := url.Parse(dc.Complete)
		if err != nil {
			t.Fatal(err)
		}
		b := f.browser()
		page := b.deviceGet(t, u.Query())
		consent := b.signIn(t, page, "alice", fxAlicePassword)
		if done := b.decide(t, consent, "allow"); done.Status != 200 {
			t.Fatalf("%d\n%s", done.Status, done.Body)
		}
		if st, _ := f.poll(t, dc); st != 200 {
			t.Fatalf("token: %d", st)
		}
	})
	t.Run("RFC 8628 §3.3 the user may narrow the scope", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		dc := f.startDevice(t, "tv", "read write")
		b := f.browser()
		consent := b.signIn(t, b.enterCode(t, dc.User), "alice", fxAlicePassword)
		b.decide(t, consent, "allow", "write")
		_, m := f.poll(t, dc)
		if m["scope"] != "read" {
			t.Fatalf("scope %v", m)
		}
	})
	t.Run("RFC 8628 §3.5 deny: the device is told access_denied", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		dc := f.startDevice(t, "tv", "")
		b := f.browser()
		consent := b.signIn(t, b.enterCode(t, dc.User), "alice", fxAlicePassword)
		done := b.decide(t, consent, "deny")
		if done.Status != 200 || !strings.Contains(string(done.Body), "Device not connected") {
			t.Fatalf("%d\n%s", done.Status, done.Body)
		}
		if _, m := f.poll(t, dc); m["error"] != "access_denied" {
			t.Fatalf("%v", m)
		}
	})
	t.Run("RFC 8628 §3.3 a code is decided once: a second approval is refused", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		dc := f.startDevice(t, "tv", "")
		alice, bob := f.browser(), f.browser()
		bob.addr = netip.MustParseAddr("192.0.2.77")
		aliceConsent := alice.signIn(t, alice.enterCode(t, dc.User), "alice", fxAlicePassword)
		bobConsent := bob.signIn(t, bob.enterCode(t, dc.User), "bob", fxBobPassword)
		if done := alice.decide(t, aliceConsent, "allow"); done.Status != 200 {
			t.Fatalf("%d", done.Status)
		}
		late := bob.decide(t, bobConsent, "allow")
		if late.Status == 200 {
			t.Fatalf("bob approved an approved code:\n%s", late.Body)
		}
		_, m := f.poll(t, dc)
		c, err := f.api.Open(m["access_token"].(string))
		if err != nil || c.Subject != "u-1001" {
			t.Fatalf("the token is alice's: %+v %v", c, err)
		}
	})
	t.Run("RFC 8628 §5.4 a SkipConsent client still gets the consent page", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		dc := f.startDevice(t, "tv", "") // tv is SkipConsent
		b := f.browser()
		page := b.signIn(t, b.enterCode(t, dc.User), "alice", fxAlicePassword)
		if !strings.Contains(string(page.Body), `id="consent-form"`) {
			t.Fatalf("no consent form:\n%s", page.Body)
		}
	})
	t.Run("a wrong password shows the login form again", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		dc := f.startDevice(t, "tv", "")
		b := f.browser()
		again := b.signIn(t, b.enterCode(t, dc.User), "alice", "wrong")
		if again.Status != 200 || !strings.Contains(string(again.Body), "Wrong username or password.") {
			t.Fatalf("%d\n%s", again.Status, again.Body)
		}
		consent := b.signIn(t, again, "alice", fxAlicePassword)
		b.decide(t, consent, "allow")
		if st, _ := f.poll(t, dc); st != 200 {
			t.Fatal(st)
		}
	})
	t.Run("a user from the trusted proxy goes straight to consent", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{header: "X-Remote-User", proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, proxySubjects: true})
		dc := f.startDevice(t, "tv", "")
		b := f.browser()
		b.addr = netip.MustParseAddr("10.1.2.3")
		b.extra = endpoint.Headers{{Name: "X-Remote-User", Value: "bob"}}
		consent := b.enterCode(t, dc.User)
		b.decide(t, consent, "allow")
		_, m := f.poll(t, dc)
		if c, err := f.api.Open(m["access_token"].(string)); err != nil || c.Subject != "u-1002" {
			t.Fatalf("%+v %v", c, err)
		}
	})
}

func kindStrings(ks []login.EventKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

// TestDevicePageAttacks attacks the verification page: guessing codes,
// forging forms, replaying tickets, injecting markup; the victim still
// connects their device.
func TestDevicePageAttacks(t *testing.T) {
	t.Run("RFC 8628 §5.1 a flood of guesses is throttled, and the real user's code still works", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		dc := f.startDevice(t, "tv", "")
		attacker := f.browser()
		attacker.addr = netip.MustParseAddr("203.0.113.66")
		page := attacker.deviceGet(t, nil)
		v := form(t, page)
		var wrong, throttled int
		for i := range 60 {
			v.Set("user_code", fmt.Sprintf("BCDF-GH%c%c", endpoint.UserCodeAlphabet[i%20], endpoint.UserCodeAlphabet[i/20]))
			resp := attacker.devicePost(t, v)
			switch resp.Status {
			case 400:
				wrong++
			case 429:
				throttled++
				if endpoint.Headers(resp.Header).Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			default:
				t.Fatalf("guess %d: %d\n%s", i, resp.Status, resp.Body)
			}
		}
		if wrong != 10 || throttled != 50 {
			t.Fatalf("wrong %d, throttled %d", wrong, throttled)
		}
		victim := f.browser()
		consent := victim.signIn(t, victim.enterCode(t, dc.User), "alice", fxAlicePassword)
		victim.decide(t, consent, "allow")
		if st, _ := f.poll(t, dc); st != 200 {
			t.Fatalf("victim's device: %d", st)
		}
	})
	t.Run("a cross-site post without the CSRF cookie is refused", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		dc := f.startDevice(t, "tv", "")
		b := f.browser()
		page := b.enterCode(t, dc.User)
		v := form(t, page)
		v.Set("username", "alice")
		v.Set("password", fxAlicePassword)
		evil := f.browser() // no cookies
		if resp := evil.devicePost(t, v); resp.Status != 403 {
			t.Fatalf("%d", resp.Status)
		}
	})
	t.Run("a form's CSRF token is bound to its code", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		dc1, dc2 := f.startDevice(t, "tv", ""), f.startDevice(t, "tv", "")
		b := f.browser()
		v := form(t, b.enterCode(t, dc1.User))
		v.Set("user_code", dc2.User)
		v.Set("username", "alice")
		v.Set("password", fxAlicePassword)
		if resp := b.devicePost(t, v); resp.Status != 403 {
			t.Fatalf("%d", resp.Status)
		}
	})
	t.Run("a consent ticket works only in the browser that signed in", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		dc := f.startDevice(t, "tv", "")
		victim := f.browser()
		consent := victim.signIn(t, victim.enterCode(t, dc.User), "alice", fxAlicePassword)
		stolen := form(t, consent)
		thief := f.browser()
		thief.addr = netip.MustParseAddr("203.0.113.66")
		tv := form(t, thief.deviceGet(t, nil)) // the thief's own CSRF cookie
		stolen.Set("login_csrf", tv.Get("login_csrf"))
		stolen.Set("login_action", "allow")
		if resp := thief.devicePost(t, stolen); resp.Status != 403 {
			t.Fatalf("%d\n%s", resp.Status, resp.Body)
		}
		if _, m := f.poll(t, dc); m["error"] != "authorization_pending" {
			t.Fatalf("%v", m)
		}
	})
	t.Run("markup in a typed code or a client id is escaped", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		b := f.browser()
		resp := b.enterCode(t, `"><script>alert(1)</script>`)
		if strings.Contains(string(resp.Body), "<script>") {
			t.Fatalf("unescaped:\n%s", resp.Body)
		}
		dc := f.startDevice(t, fxEvilID, "")
		page := b.enterCode(t, dc.User)
		consent := b.signIn(t, page, "alice", fxAlicePassword)
		for _, p := range []*endpoint.Response{page, consent} {
			if strings.Contains(string(p.Body), "<script>") {
				t.Fatalf("unescaped:\n%s", p.Body)
			}
		}
	})
	t.Run("every page forbids framing, caching and scripts", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		resp := f.browser().deviceGet(t, nil)
		h := endpoint.Headers(resp.Header)
		for name, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
			if h.Get(name) != want {
				t.Errorf("%s = %q", name, h.Get(name))
			}
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("CSP %q", csp)
		}
	})
	t.Run("other methods are 405, bad forms 400", func(t *testing.T) {
		f := newDeviceFixture(t, fxOptions{})
		resp, _ := f.page.ServeDevice(context.Background(), &endpoint.Request{Method: "PUT", URI: "/device", Secure: true, Header: endpoint.Headers{}})
		if resp.Status != 405 {
			t.Fatal(resp.Status)
		}
		resp, _ = f.page.ServeDevice(context.Background(), &endpoint.Request{Method: "POST", URI: "/device", Secure: true,
			Header: endpoint.Headers{{Name: "Content-Type", Value: "text/plain"}}})
		if resp.Status != 400 {
			t.Fatal(resp.Status)
		}
		resp, _ = f.page.ServeDevice(context.Background(), &endpoint.Request{Method: "GET", URI: "/device?user_code=a&user_code=b", Secure: true, Header: endpoint.Headers{}})
		if resp.Status != 400 {
			t.Fatal(resp.Status)
		}
	})
	t.Run("without a device flow the page is 404", func(t *testing.T) {
		f := newFixture(t, fxOptions{})
		resp, _ := f.page.ServeDevice(context.Background(), &endpoint.Request{Method: "GET", URI: "/device", Secure: true, Header: endpoint.Headers{}})
		if resp.Status != 404 {
			t.Fatal(resp.Status)
		}
	})
}

// FuzzServeDevice sends arbitrary requests to the verification page: it
// never panics or answers 5xx, never reflects markup, and no request
// without the browser's cookie and a ticket decides the pending code.
func FuzzServeDevice(f *testing.F) {
	f.Add("GET", "/device?user_code=BCDF-GHJK", "", "")
	f.Add("POST", "/device", "user_code=BCDF-GHJK&login_csrf=AAAA", "__Host-login-csrf=AAAA")
	f.Add("POST", "/device", "user_code=x&username=alice&password=p&login_csrf=", "")
	f.Add("POST", "/device", "user_code=BCDFGHJK&login_action=allow&login_ticket=AAAA&login_scope_0=read", "a=b")
	f.Add("GET", "/device?user_code=%3Cscript%3E", "", "")
	f.Add("POST", "/device", "%zz=1", "")
	fx := newDeviceFixture(f, fxOptions{})
	dc := fx.startDevice(f, "tv", "")
	f.Fuzz(func(t *testing.T, method, uri, body, cookie string) {
		h := endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}
		if cookie != "" {
			h = append(h, endpoint.HeaderField{Name: "Cookie", Value: cookie})
		}
		resp, _ := fx.page.ServeDevice(context.Background(), &endpoint.Request{Method: method, URI: uri, Secure: true,
			RemoteAddr: netip.MustParseAddr("192.0.2.1"), Header: h, Body: []byte(body)})
		if resp.Status >= 500 {
			t.Fatalf("%s %q %q: %d\n%s", method, uri, body, resp.Status, resp.Body)
		}
		if strings.Contains(string(resp.Body), "<script") {
			t.Fatalf("reflected markup:\n%s", resp.Body)
		}
		dr, err := fx.srv.LookupUserCode(context.Background(), &endpoint.Request{RemoteAddr: netip.MustParseAddr("198.51.100.200")}, dc.User)
		if err != nil || dr == nil {
			t.Fatalf("the pending code was decided or lost: %v", err)
		}
	})
}
