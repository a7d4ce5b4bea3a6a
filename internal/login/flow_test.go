package login_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/login"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// checkPageHeaders asserts the security headers every page carries.
func checkPageHeaders(t *testing.T, resp *endpoint.Response) {
	t.Helper()
	h := endpoint.Headers(resp.Header)
	want := map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "style-src 'sha256-", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy %q allows more than it should", csp)
	}
	if h.Get("Location") != "" {
		t.Errorf("a page carries Location %q", h.Get("Location"))
	}
}

func TestLoginConsentCodeFlow(t *testing.T) {
	f := newFixture(t, fxOptions{})
	b := f.browser()

	q := codeQuery("webapp", fxWebappCB, "profile read write", "st-123")
	q.Set("unknown_param", "kept") // RFC 6749 §3.1: unknown parameters are ignored, and carried along
	page := b.get(t, q)
	if page.Status != 200 {
		t.Fatalf("login page status %d:\n%s", page.Status, page.Body)
	}
	checkPageHeaders(t, page)
	setCookie := endpoint.Headers(page.Header).Get("Set-Cookie")
	for _, attr := range []string{login.CookieName + "=", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(setCookie, attr) {
			t.Errorf("Set-Cookie %q lacks %q", setCookie, attr)
		}
	}
	if strings.Contains(setCookie, "Domain") {
		t.Errorf("a __Host- cookie must have no Domain: %q", setCookie)
	}
	if csp := endpoint.Headers(page.Header).Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example.com;") {
		t.Errorf("CSP form-action does not admit the redirect origin: %q", csp)
	}
	for _, s := range []string{`<label for="username">`, `autocomplete="username"`, `<label for="password">`,
		`autocomplete="current-password"`, `action="/authorize"`, `method="post"`} {
		if !strings.Contains(string(page.Body), s) {
			t.Errorf("login page lacks %s", s)
		}
	}
	fields := form(t, page)
	for k, v := range q {
		if fields.Get(k) != v[0] {
			t.Errorf("hidden field %s = %q, want %q", k, fields.Get(k), v[0])
		}
	}

	fields.Set("username", "alice")
	fields.Set("password", fxAlicePassword)
	consent := b.post(t, fields)
	if consent.Status != 200 {
		t.Fatalf("consent page status %d:\n%s", consent.Status, consent.Body)
	}
	checkPageHeaders(t, consent)
	body := string(consent.Body)
	if strings.Contains(body, fxAlicePassword) || strings.Contains(body, `name="password"`) {
		t.Fatal("the consent page carries the password")
	}
	for _, s := range []string{"webapp", "app.example.com", "profile", "read", "write", "Read your data", "alice", `value="allow"`, `value="deny"`,
		`<strong id="resource">` + fxAPI + `</strong>`} { // the resource (audience) asked for
		if !strings.Contains(body, s) {
			t.Errorf("consent page lacks %q", s)
		}
	}
	cf := form(t, consent)
	if cf.Get("login_ticket") == "" {
		t.Fatal("consent form has no login ticket")
	}
	cf.Set("login_action", "allow")
	redirect := b.post(t, cf)
	u := location(t, redirect)
	if got := u.Scheme + "://" + u.Host + u.Path; got != fxWebappCB {
		t.Fatalf("redirected to %s", got)
	}
	if u.Query().Get("state") != "st-123" || u.Query().Get("code") == "" {
		t.Fatalf("callback query %q", u.RawQuery)
	}
	claims := f.exchange(t, "webapp", fxWebappCB, u.Query().Get("code"))
	if claims.Subject != "u-1001" || claims.ClientID != "webapp" || claims.Scope != "profile read write" {
		t.Errorf("access token sub=%q client_id=%q scope=%q", claims.Subject, claims.ClientID, claims.Scope)
	}
	if claims.AuthTime.IsZero() {
		t.Error("access token has no auth_time")
	}
	if got, want := f.kinds(), []login.EventKind{login.EventLogin, login.EventConsent}; !slices.Equal(got, want) {
		t.Errorf("audit events %v, want %v", got, want)
	}
}

func TestSkipConsentClient(t *testing.T) {
	f := newFixture(t, fxOptions{})
	b := f.browser()
	fields := form(t, b.get(t, codeQuery("first", fxFirstCB, "", "s1")))
	fields.Set("username", "bob")
	fields.Set("password", fxBobPassword)
	u := location(t, b.post(t, fields))
	if u.Host != "first.example.com" || u.Query().Get("state") != "s1" {
		t.Fatalf("redirect %s", u)
	}
	c := f.exchange(t, "first", fxFirstCB, u.Query().Get("code"))
	if c.Subject != "u-1002" || c.Scope != "read" {
		t.Errorf("sub=%q scope=%q", c.Subject, c.Scope)
	}
}

func TestWrongPassword(t *testing.T) {
	tests := []struct {
		name, username, password string
	}{
		{name: "known user, wrong password", username: "alice", password: "Tr0ub4dor&3"},
		{name: "unknown user", username: "mallory", password: fxAlicePassword},
		{name: "other user's password", username: "bob", password: fxAlicePassword},
		{name: "username differs in case", username: "Alice", password: fxAlicePassword},
	}
	var bodies []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fxOptions{})
			b := f.browser()
			fields := form(t, b.get(t, codeQuery("webapp", fxWebappCB, "", "s")))
			fields.Set("username", tt.username)
			fields.Set("password", tt.password)
			resp := b.post(t, fields)
			if resp.Status != 200 {
				t.Fatalf("status %d, want the login form again (200)", resp.Status)
			}
			checkPageHeaders(t, resp)
			body := string(resp.Body)
			if !strings.Contains(body, "Wrong username or password.") || !strings.Contains(body, `role="alert"`) {
				t.Errorf("no generic error message:\n%s", body)
			}
			if strings.Contains(body, tt.password) {
				t.Error("the page echoes the password")
			}
			form(t, resp) // the form is there to try again
			if got := f.kinds(); !slices.Equal(got, []login.EventKind{login.EventLoginFailed}) {
				t.Errorf("audit events %v", got)
			}
			for _, e := range f.events {
				if e.Username != "" {
					t.Errorf("a failed attempt's event carries username %q", e.Username)
				}
			}
			// Same page for known and unknown users, but for the username echoed.
			bodies = append(bodies, strings.ReplaceAll(hiddenRE.ReplaceAllString(body, ""), `value="`+tt.username+`"`, ""))
		})
	}
	for i := 1; i < len(bodies); i++ {
		if bodies[i] != bodies[0] {
			t.Errorf("%q answers a different page than %q: user enumeration", tests[i].name, tests[0].name)
		}
	}
}

func TestEmptyCredentials(t *testing.T) {
	f := newFixture(t, fxOptions{})
	b := f.browser()
	fields := form(t, b.get(t, codeQuery("webapp", fxWebappCB, "", "s")))
	fields.Set("username", "alice")
	resp := b.post(t, fields)
	if resp.Status != 200 || !strings.Contains(string(resp.Body), "Enter your username and password.") {
		t.Fatalf("status %d:\n%s", resp.Status, resp.Body)
	}
	if len(f.kinds()) != 0 {
		t.Errorf("an empty password counted as an attempt: %v", f.kinds())
	}
}

func TestCSRF(t *testing.T) {
	q := codeQuery("webapp", fxWebappCB, "read", "state-A")
	other := codeQuery("webapp", fxWebappCB, "read write", "state-A") // another request: more scope
	tests := []struct {
		name string
		// mutate changes the login form or the browser before posting.
		mutate func(t *testing.T, f *fixture, b *browser, fields url.Values)
		status int
		err    error
	}{
		{name: "valid", mutate: func(*testing.T, *fixture, *browser, url.Values) {}, status: 200},
		{name: "token missing", status: 403, err: login.ErrCSRFMissing,
			mutate: func(_ *testing.T, _ *fixture, _ *browser, v url.Values) { v.Del("login_csrf") }},
		{name: "cookie missing (cross-site POST under SameSite=Lax)", status: 403, err: login.ErrCSRFMissing,
			mutate: func(_ *testing.T, _ *fixture, b *browser, _ url.Values) { delete(b.cookies, login.CookieName) }},
		{name: "token of another browser", status: 403, err: login.ErrCSRFInvalid,
			mutate: func(t *testing.T, f *fixture, _ *browser, v url.Values) {
				v.Set("login_csrf", form(t, f.browser().get(t, q)).Get("login_csrf"))
			}},
		{name: "token altered", status: 403, err: login.ErrCSRFInvalid,
			mutate: func(_ *testing.T, _ *fixture, _ *browser, v url.Values) {
				tok := []byte(v.Get("login_csrf"))
				tok[20] ^= 'A' ^ 'B'
				if tok[20] == v.Get("login_csrf")[20] {
					tok[20] = 'C'
				}
				v.Set("login_csrf", string(tok))
			}},
		{name: "token garbage", status: 403, err: login.ErrCSRFInvalid,
			mutate: func(_ *testing.T, _ *fixture, _ *browser, v url.Values) { v.Set("login_csrf", "not-a-token") }},
		{name: "cookie garbage", status: 403, err: login.ErrCSRFMissing,
			mutate: func(_ *testing.T, _ *fixture, b *browser, _ url.Values) { b.cookies[login.CookieName] = "x" }},
		{name: "token expired", status: 403, err: login.ErrCSRFExpired,
			mutate: func(_ *testing.T, f *fixture, _ *browser, _ url.Values) {
				f.clock.Add(login.DefaultCSRFTTL + time.Second)
			}},
		{name: "token replayed with other parameters", status: 403, err: login.ErrCSRFInvalid,
			mutate: func(_ *testing.T, _ *fixture, _ *browser, v url.Values) {
				for k, val := range other {
					v[k] = val
				}
			}},
		{name: "token replayed with another state", status: 403, err: login.ErrCSRFInvalid,
			mutate: func(_ *testing.T, _ *fixture, _ *browser, v url.Values) { v.Set("state", "state-B") }},
		{name: "token replayed with a parameter added", status: 403, err: login.ErrCSRFInvalid,
			mutate: func(_ *testing.T, _ *fixture, _ *browser, v url.Values) { v.Set("prompt", "none") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fxOptions{})
			b := f.browser()
			fields := form(t, b.get(t, q))
			fields.Set("username", "alice")
			fields.Set("password", fxAlicePassword)
			tt.mutate(t, f, b, fields)
			resp := b.post(t, fields)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d:\n%s", resp.Status, tt.status, resp.Body)
			}
			checkPageHeaders(t, resp) // never a redirect
			if tt.err == nil {
				return
			}
			if strings.Contains(string(resp.Body), "login_csrf") {
				t.Error("a rejected form is answered with a fresh form")
			}
			last := f.events[len(f.events)-1]
			if last.Kind != login.EventFormRejected || !errors.Is(last.Err, tt.err) {
				t.Errorf("event %v %v, want %v %v", last.Kind, last.Err, login.EventFormRejected, tt.err)
			}
		})
	}
}

// consentPage signs alice in and returns the browser and the consent form.
func consentPage(t *testing.T, f *fixture, q url.Values) (*browser, url.Values) {
	t.Helper()
	b := f.browser()
	fields := form(t, b.get(t, q))
	fields.Set("username", "alice")
	fields.Set("password", fxAlicePassword)
	resp := b.post(t, fields)
	if resp.Status != 200 {
		t.Fatalf("consent page status %d:\n%s", resp.Status, resp.Body)
	}
	return b, form(t, resp)
}

func TestConsent(t *testing.T) {
	q := codeQuery("webapp", fxWebappCB, "profile read write", "s")
	tests := []struct {
		name      string
		mutate    func(v url.Values)
		wantScope string // scope of the issued token; "" when no code
		wantError string // error= of the redirect
	}{
		{name: "all scopes allowed by default", mutate: func(url.Values) {}, wantScope: "profile read write"},
		{name: "one scope unchecked narrows the grant",
			mutate: func(v url.Values) { v.Del("login_scope_1") }, wantScope: "profile write"},
		{name: "a scope not requested cannot be added",
			mutate: func(v url.Values) { v.Set("login_scope_3", "admin"); v.Del("login_scope_2") }, wantScope: "profile read"},
		{name: "a checkbox renamed to another requested scope counts for nothing",
			mutate: func(v url.Values) { v.Set("login_scope_0", "write"); v.Del("login_scope_2") }, wantScope: "read"},
		{name: "RFC 6749 §4.1.2.1 nothing checked is access_denied",
			mutate:    func(v url.Values) { v.Del("login_scope_0"); v.Del("login_scope_1"); v.Del("login_scope_2") },
			wantError: "access_denied"},
		{name: "RFC 6749 §4.1.2.1 Deny is access_denied",
			mutate: func(v url.Values) { v.Set("login_action", "deny") }, wantError: "access_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fxOptions{})
			b, cf := consentPage(t, f, q)
			cf.Set("login_action", "allow")
			tt.mutate(cf)
			u := location(t, b.post(t, cf))
			got := u.Query()
			if got.Get("state") != "s" || got.Get("iss") != fxIssuer {
				t.Errorf("redirect %s lacks state or iss", u)
			}
			if tt.wantError != "" {
				if got.Get("error") != tt.wantError || got.Get("code") != "" {
					t.Fatalf("redirect %s, want error=%s", u, tt.wantError)
				}
				return
			}
			c := f.exchange(t, "webapp", fxWebappCB, got.Get("code"))
			if c.Scope != tt.wantScope {
				t.Errorf("scope %q, want %q", c.Scope, tt.wantScope)
			}
		})
	}
}

func TestConsentTicket(t *testing.T) {
	q := codeQuery("webapp", fxWebappCB, "read", "s")
	tests := []struct {
		name   string
		mutate func(t *testing.T, f *fixture, b *browser, v url.Values)
		status int
		err    error
	}{
		{name: "ticket missing", status: 403, err: login.ErrTicketInvalid,
			mutate: func(_ *testing.T, _ *fixture, _ *browser, v url.Values) { v.Del("login_ticket") }},
		{name: "ticket forged", status: 403, err: login.ErrTicketInvalid,
			mutate: func(_ *testing.T, _ *fixture, _ *browser, v url.Values) {
				v.Set("login_ticket", strings.Repeat("A", len(v.Get("login_ticket"))))
			}},
		{name: "ticket of another request", status: 403, err: login.ErrTicketInvalid,
			mutate: func(t *testing.T, f *fixture, b *browser, v url.Values) {
				// Sign in for another state in the same browser; post that
				// ticket with this request's CSRF token and parameters.
				fields := form(t, b.get(t, codeQuery("webapp", fxWebappCB, "read", "other")))
				fields.Set("username", "bob")
				fields.Set("password", fxBobPassword)
				v.Set("login_ticket", form(t, b.post(t, fields)).Get("login_ticket"))
			}},
		{name: "ticket of another browser", status: 403, err: login.ErrCSRFInvalid,
			mutate: func(_ *testing.T, f *fixture, b *browser, _ url.Values) {
				b.cookies = map[string]string{} // a thief's browser: its own cookie, so the CSRF token fails first
				b.get(t, q)
			}},
		{name: "ticket expired: sign in again", status: 200, err: login.ErrTicketExpired,
			mutate: func(_ *testing.T, f *fixture, _ *browser, _ url.Values) {
				f.clock.Add(login.DefaultTicketTTL + time.Second)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fxOptions{})
			b, cf := consentPage(t, f, q)
			cf.Set("login_action", "allow")
			tt.mutate(t, f, b, cf)
			resp := b.post(t, cf)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d:\n%s", resp.Status, tt.status, resp.Body)
			}
			checkPageHeaders(t, resp)
			last := f.events[len(f.events)-1]
			if !errors.Is(last.Err, tt.err) {
				t.Errorf("event %v %v, want %v", last.Kind, last.Err, tt.err)
			}
			if tt.status == 200 && !strings.Contains(string(resp.Body), `id="password"`) {
				t.Errorf("an expired ticket does not lead back to the login form:\n%s", resp.Body)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	limiter := func() *secret.Limiter {
		return secret.NewLimiter(secret.LimiterConfig{Threshold: 3, Window: time.Minute, Block: time.Minute})
	}
	attempt := func(t *testing.T, b *browser, user, pass string) *endpoint.Response {
		t.Helper()
		fields := form(t, b.get(t, codeQuery("webapp", fxWebappCB, "", "s")))
		fields.Set("username", user)
		fields.Set("password", pass)
		return b.post(t, fields)
	}
	t.Run("per username", func(t *testing.T) {
		f := newFixture(t, fxOptions{limiter: limiter()})
		for i := range 3 {
			b := f.browser()
			b.addr = netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}) // each from its own address
			if resp := attempt(t, b, "alice", "wrong"); resp.Status != 200 {
				t.Fatalf("attempt %d: status %d", i, resp.Status)
			}
		}
		b := f.browser()
		resp := attempt(t, b, "alice", fxAlicePassword)
		if resp.Status != 429 {
			t.Fatalf("status %d, want 429 even for the right password while blocked", resp.Status)
		}
		checkPageHeaders(t, resp)
		if ra := endpoint.Headers(resp.Header).Get("Retry-After"); ra != "60" {
			t.Errorf("Retry-After %q, want 60", ra)
		}
		if !strings.Contains(string(resp.Body), "Try again in 60 seconds.") {
			t.Errorf("429 page:\n%s", resp.Body)
		}
		if resp := attempt(t, b, "bob", fxBobPassword); resp.Status != 200 || !strings.Contains(string(resp.Body), `value="allow"`) {
			t.Errorf("another user is blocked too: %d", resp.Status)
		}
		f.clock.Add(time.Minute + time.Second)
		if resp := attempt(t, b, "alice", fxAlicePassword); resp.Status != 200 || !strings.Contains(string(resp.Body), `value="allow"`) {
			t.Errorf("after the block: status %d", resp.Status)
		}
	})
	t.Run("per address", func(t *testing.T) {
		f := newFixture(t, fxOptions{limiter: limiter()})
		b := f.browser()
		for i, u := range []string{"u1", "u2", "u3"} {
			if resp := attempt(t, b, u, "wrong"); resp.Status != 200 {
				t.Fatalf("attempt %d: status %d", i, resp.Status)
			}
		}
		if resp := attempt(t, b, "bob", fxBobPassword); resp.Status != 429 {
			t.Fatalf("status %d, want 429 for the address", resp.Status)
		}
		other := f.browser()
		other.addr = netip.MustParseAddr("198.51.100.77")
		if resp := attempt(t, other, "bob", fxBobPassword); resp.Status != 200 {
			t.Errorf("another address is blocked too: %d", resp.Status)
		}
	})
	t.Run("address behind a trusted proxy is X-Forwarded-For", func(t *testing.T) {
		f := newFixture(t, fxOptions{limiter: limiter(), forwarders: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
		for i, u := range []string{"u1", "u2", "u3"} {
			b := f.browser()
			b.addr = netip.MustParseAddr("10.1.1.1")
			b.extra = endpoint.Headers{{Name: "X-Forwarded-For", Value: "203.0.113.9, 198.51.100.5"}}
			if resp := attempt(t, b, u, "wrong"); resp.Status != 200 {
				t.Fatalf("attempt %d: status %d", i, resp.Status)
			}
		}
		b := f.browser()
		b.addr = netip.MustParseAddr("10.1.1.1")
		b.extra = endpoint.Headers{{Name: "X-Forwarded-For", Value: "198.51.100.6"}}
		if resp := attempt(t, b, "bob", fxBobPassword); resp.Status != 200 {
			t.Errorf("another client behind the same proxy is blocked: %d", resp.Status)
		}
		b = f.browser() // a browser without bob's device cookie
		b.addr = netip.MustParseAddr("10.1.1.1")
		b.extra = endpoint.Headers{{Name: "X-Forwarded-For", Value: "198.51.100.5"}}
		if resp := attempt(t, b, "bob", fxBobPassword); resp.Status != 429 {
			t.Errorf("status %d, want 429 for the forwarded address", resp.Status)
		}
	})
	t.Run("X-Forwarded-For from an untrusted peer is ignored", func(t *testing.T) {
		f := newFixture(t, fxOptions{limiter: limiter(), forwarders: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
		for i, u := range []string{"u1", "u2", "u3"} {
			b := f.browser()
			b.addr = netip.MustParseAddr("203.0.113.50")
			b.extra = endpoint.Headers{{Name: "X-Forwarded-For", Value: "198.51.100." + strconv.Itoa(i)}}
			attempt(t, b, u, "wrong")
		}
		b := f.browser()
		b.addr = netip.MustParseAddr("203.0.113.50")
		if resp := attempt(t, b, "bob", fxBobPassword); resp.Status != 429 {
			t.Errorf("status %d: a spoofed X-Forwarded-For escaped the count of the real address", resp.Status)
		}
	})
}

// TestLockoutAttacks plays issue 8's attacks on the login page (part 2):
// the attacker guesses a user's password from addresses of its own, then
// the victim signs in from a browser or an address that signed in before,
// and gets in; a newcomer stays refused, so the attacker gained nothing.
func TestLockoutAttacks(t *testing.T) {
	limiter := func() *secret.Limiter {
		return secret.NewLimiter(secret.LimiterConfig{Threshold: 3, Window: time.Minute, Block: time.Minute})
	}
	attempt := func(t *testing.T, b *browser, user, pass string) *endpoint.Response {
		t.Helper()
		fields := form(t, b.get(t, codeQuery("webapp", fxWebappCB, "", "s")))
		fields.Set("username", user)
		fields.Set("password", pass)
		return b.post(t, fields)
	}
	signedIn := func(resp *endpoint.Response) bool {
		return resp.Status == 200 && strings.Contains(string(resp.Body), `value="allow"`)
	}
	// guess sends n wrong passwords for alice, each from its own address
	// (eight addresses, as in the issue), in fresh browsers.
	guess := func(t *testing.T, f *fixture, n int) {
		t.Helper()
		for i := range n {
			b := f.browser()
			b.addr = netip.AddrFrom4([4]byte{203, 0, 113, byte(i%8 + 1)})
			if resp := attempt(t, b, "alice", "guess-"+strconv.Itoa(i)); signedIn(resp) {
				t.Fatalf("guess %d signed in", i)
			}
		}
	}

	t.Run("issue 8: a browser with the device cookie is never locked out", func(t *testing.T) {
		f := newFixture(t, fxOptions{limiter: limiter()})
		victim := f.browser()
		if !signedIn(attempt(t, victim, "alice", fxAlicePassword)) {
			t.Fatal("first sign-in failed")
		}
		if victim.cookies[login.DeviceCookieName] == "" {
			t.Fatal("no device cookie after a sign-in")
		}
		victim.addr = netip.MustParseAddr("198.51.100.200") // the victim travels: a new address
		guess(t, f, 8)
		if resp := attempt(t, victim, "alice", fxAlicePassword); !signedIn(resp) {
			t.Fatalf("the victim's browser is locked out: %d", resp.Status)
		}
		newcomer := f.browser()
		newcomer.addr = netip.MustParseAddr("198.51.100.201")
		if resp := attempt(t, newcomer, "alice", fxAlicePassword); resp.Status != 429 {
			t.Errorf("a browser without the cookie: %d, want 429 (the guesses stay bounded)", resp.Status)
		}
	})
	t.Run("issue 8: an address that signed in before is never locked out", func(t *testing.T) {
		f := newFixture(t, fxOptions{limiter: limiter()})
		if !signedIn(attempt(t, f.browser(), "alice", fxAlicePassword)) {
			t.Fatal("first sign-in failed")
		}
		guess(t, f, 8)
		victim := f.browser() // cookies cleared, same address as before
		if resp := attempt(t, victim, "alice", fxAlicePassword); !signedIn(resp) {
			t.Fatalf("the victim's address is locked out: %d", resp.Status)
		}
	})
	t.Run("issue 8: a stolen or forged device cookie gives no extra guesses", func(t *testing.T) {
		f := newFixture(t, fxOptions{limiter: limiter()})
		victim := f.browser()
		attempt(t, victim, "alice", fxAlicePassword)
		thief := f.browser()
		thief.addr = netip.MustParseAddr("203.0.113.77")
		thief.cookies[login.DeviceCookieName] = victim.cookies[login.DeviceCookieName]
		for i := range 3 {
			attempt(t, thief, "alice", "guess-"+strconv.Itoa(i))
		}
		if resp := attempt(t, thief, "alice", "guess-x"); resp.Status != 429 {
			t.Errorf("the stolen cookie's fourth guess: %d, want 429", resp.Status)
		}
		if resp := attempt(t, victim, "alice", fxAlicePassword); !signedIn(resp) {
			t.Errorf("the victim, at its known address, is locked out by the thief's guesses: %d", resp.Status)
		}
		forger := f.browser()
		forger.addr = netip.MustParseAddr("203.0.113.78")
		for i := range 3 {
			forger.cookies[login.DeviceCookieName] = strings.Repeat("A", 53) + strconv.Itoa(i)
			attempt(t, forger, "alice", "forged-"+strconv.Itoa(i))
		}
		newcomer := f.browser()
		newcomer.addr = netip.MustParseAddr("198.51.100.33")
		if resp := attempt(t, newcomer, "alice", fxAlicePassword); resp.Status != 429 {
			t.Errorf("after guesses with forged cookies a newcomer gets %d, want 429: forged cookies escaped the count", resp.Status)
		}
	})
	t.Run("issue 8: a genuine sign-in does not reset the attacker's count", func(t *testing.T) {
		f := newFixture(t, fxOptions{limiter: limiter()})
		victim := f.browser()
		attempt(t, victim, "alice", fxAlicePassword)
		total, refused := 0, 0
		for round := range 4 {
			for i := range 3 {
				b := f.browser()
				b.addr = netip.AddrFrom4([4]byte{203, 0, 113, byte(10*round + i + 1)})
				total++
				if attempt(t, b, "alice", "guess").Status == 429 {
					refused++
				}
			}
			if !signedIn(attempt(t, victim, "alice", fxAlicePassword)) {
				t.Fatalf("round %d: the victim was refused", round)
			}
		}
		if checked := total - refused; checked > 3 {
			t.Errorf("%d guesses checked in four rounds within one window, want at most 3", checked)
		}
	})
	t.Run("issue 8: the device cookie is HttpOnly, Secure, __Host-", func(t *testing.T) {
		f := newFixture(t, fxOptions{limiter: limiter()})
		b := f.browser()
		fields := form(t, b.get(t, codeQuery("webapp", fxWebappCB, "", "s")))
		fields.Set("username", "alice")
		fields.Set("password", fxAlicePassword)
		r := &endpoint.Request{Method: "POST", URI: "/authorize", Secure: true, RemoteAddr: b.addr,
			Header: b.headers("application/x-www-form-urlencoded"), Body: []byte(fields.Encode())}
		resp, _ := f.srv.HandleAuthorize(context.Background(), r, f.page)
		var set string
		for _, h := range resp.Header {
			if h.Name == "Set-Cookie" && strings.HasPrefix(h.Value, login.DeviceCookieName+"=") {
				set = h.Value
			}
		}
		for _, attr := range []string{"; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax", "; Max-Age="} {
			if !strings.Contains(set, attr) {
				t.Errorf("device cookie %q lacks %q", set, attr)
			}
		}
		if strings.Contains(set, "alice") || strings.Contains(set, "u-1001") {
			t.Errorf("the device cookie names the user: %q", set)
		}
	})
}

func TestTrustedHeader(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name   string
		addr   string
		value  string // X-Remote-User; "" sends none
		client string
		want   string // "login", "consent", "code", "403"
	}{
		{name: "trusted proxy, first-party client: code at once", addr: "10.0.0.5", value: "carol", client: "first", want: "code"},
		{name: "trusted proxy, third-party client: consent", addr: "10.0.0.5", value: "carol", client: "webapp", want: "consent"},
		{name: "trusted proxy over IPv4-mapped IPv6", addr: "::ffff:10.0.0.5", value: "carol", client: "first", want: "code"},
		{name: "trusted IPv6 proxy", addr: "fd00::1", value: "carol", client: "first", want: "code"},
		{name: "untrusted peer: header ignored", addr: "192.0.2.10", value: "carol", client: "first", want: "login"},
		{name: "trusted proxy without the header: login form", addr: "10.0.0.5", client: "first", want: "login"},
		{name: "trusted proxy, control character in the user", addr: "10.0.0.5", value: "carol\x01", client: "first", want: "403"},
		{name: "trusted proxy, user too long", addr: "10.0.0.5", value: strings.Repeat("c", login.MaxUsernameLen+1), client: "first", want: "403"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fxOptions{header: "x-remote-user", proxies: proxies})
			b := f.browser()
			b.addr = netip.MustParseAddr(tt.addr)
			if tt.value != "" {
				b.extra = endpoint.Headers{{Name: "X-Remote-User", Value: tt.value}}
			}
			cb := fxWebappCB
			if tt.client == "first" {
				cb = fxFirstCB
			}
			resp := b.get(t, codeQuery(tt.client, cb, "", "s"))
			switch tt.want {
			case "code":
				u := location(t, resp)
				c := f.exchange(t, tt.client, cb, u.Query().Get("code"))
				if c.Subject != tt.value || !c.AuthTime.IsZero() {
					t.Errorf("sub %q auth_time %v, want %q and none", c.Subject, c.AuthTime, tt.value)
				}
			case "consent":
				if resp.Status != 200 || !strings.Contains(string(resp.Body), `value="allow"`) {
					t.Fatalf("status %d, want the consent form:\n%s", resp.Status, resp.Body)
				}
				cf := form(t, resp)
				cf.Set("login_action", "allow")
				u := location(t, b.post(t, cf))
				if c := f.exchange(t, tt.client, cb, u.Query().Get("code")); c.Subject != tt.value {
					t.Errorf("sub %q", c.Subject)
				}
			case "login":
				if resp.Status != 200 || !strings.Contains(string(resp.Body), `id="password"`) {
					t.Fatalf("status %d, want the login form", resp.Status)
				}
			case "403":
				if resp.Status != 403 {
					t.Fatalf("status %d, want 403", resp.Status)
				}
				checkPageHeaders(t, resp)
			}
		})
	}

	// cmd/issuer's rule (login.ProxySubjects): a configured username is
	// that user's id; other names are their own subject unless they are a
	// user id or a client id (RFC 9068 §5).
	mapped := []struct {
		name    string
		value   string
		client  string
		wantSub string // "" means refused with a 403 page
	}{
		{name: "configured user maps to the user id", value: "alice", client: "first", wantSub: "u-1001"},
		{name: "configured user through consent maps to the user id", value: "bob", client: "webapp", wantSub: "u-1002"},
		{name: "unlisted user is its own subject", value: "carol", client: "first", wantSub: "carol"},
		{name: "unlisted name equal to a user id is refused", value: "u-1002", client: "first"},
		{name: "name equal to a client id is refused (RFC 9068 §5)", value: "webapp", client: "first"},
	}
	for _, tt := range mapped {
		t.Run("ProxySubjects: "+tt.name, func(t *testing.T) {
			f := newFixture(t, fxOptions{header: "X-Remote-User", proxies: proxies, proxySubjects: true})
			b := f.browser()
			b.addr = netip.MustParseAddr("10.0.0.5")
			b.extra = endpoint.Headers{{Name: "X-Remote-User", Value: tt.value}}
			cb := fxFirstCB
			if tt.client == "webapp" {
				cb = fxWebappCB
			}
			resp := b.get(t, codeQuery(tt.client, cb, "", "s"))
			if tt.wantSub == "" {
				if resp.Status != 403 {
					t.Fatalf("status %d, want 403", resp.Status)
				}
				checkPageHeaders(t, resp)
				if k := f.kinds(); len(k) != 1 || k[0] != login.EventFormRejected {
					t.Fatalf("events %v, want one form_rejected", k)
				}
				return
			}
			if tt.client == "webapp" {
				cf := form(t, resp)
				cf.Set("login_action", "allow")
				resp = b.post(t, cf)
			}
			c := f.exchange(t, tt.client, cb, location(t, resp).Query().Get("code"))
			if c.Subject != tt.wantSub {
				t.Fatalf("sub %q, want %q", c.Subject, tt.wantSub)
			}
			f.mu.Lock()
			ev := f.events[0]
			f.mu.Unlock()
			if ev.Kind != login.EventProxyUser || ev.Username != tt.value || ev.Subject != tt.wantSub {
				t.Fatalf("event %+v, want proxy_user %q as %q", ev, tt.value, tt.wantSub)
			}
		})
	}

	t.Run("consent ticket of one proxy user refused for another", func(t *testing.T) {
		f := newFixture(t, fxOptions{header: "X-Remote-User", proxies: proxies})
		b := f.browser()
		b.addr = netip.MustParseAddr("10.0.0.5")
		b.extra = endpoint.Headers{{Name: "X-Remote-User", Value: "carol"}}
		cf := form(t, b.get(t, codeQuery("webapp", fxWebappCB, "", "s")))
		cf.Set("login_action", "allow")
		b.extra = endpoint.Headers{{Name: "X-Remote-User", Value: "dave"}}
		if resp := b.post(t, cf); resp.Status != 403 {
			t.Fatalf("status %d, want 403", resp.Status)
		}
	})
}

func TestTemplateEscaping(t *testing.T) {
	f := newFixture(t, fxOptions{})
	b := f.browser()
	q := codeQuery(fxEvilID, fxEvilCB, "", `"><script>alert(2)</script>`)
	page := b.get(t, q)
	if page.Status != 200 {
		t.Fatalf("status %d:\n%s", page.Status, page.Body)
	}
	fields := form(t, page)
	fields.Set("username", `<b>alice</b>"`)
	fields.Set("password", "wrong")
	again := b.post(t, fields)

	fields = form(t, again)
	fields.Set("username", "alice")
	fields.Set("password", fxAlicePassword)
	consent := b.post(t, fields)
	if consent.Status != 200 {
		t.Fatalf("status %d:\n%s", consent.Status, consent.Body)
	}
	for name, resp := range map[string]*endpoint.Response{"login": page, "login again": again, "consent": consent} {
		body := string(resp.Body)
		if strings.Contains(body, "<script") || strings.Contains(body, "<b>") {
			t.Errorf("%s page has unescaped markup:\n%s", name, body)
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s page does not show the escaped client id", name)
		}
	}
	// The escaped values still round-trip through the form.
	cf := form(t, consent)
	if cf.Get("client_id") != fxEvilID || cf.Get("login_scope_0") != fxEvilScope {
		t.Fatalf("round trip: client_id %q scope %q", cf.Get("client_id"), cf.Get("login_scope_0"))
	}
	cf.Set("login_action", "allow")
	u := location(t, b.post(t, cf))
	if u.Query().Get("state") != q.Get("state") {
		t.Errorf("state %q", u.Query().Get("state"))
	}
}

func TestPasswordNeverEchoed(t *testing.T) {
	f := newFixture(t, fxOptions{})
	b := f.browser()
	q := codeQuery("webapp", fxWebappCB, "", "s")
	q.Set("password", fxAlicePassword) // smuggled into the authorization URL
	q.Set("username", "alice")
	page := b.get(t, q)
	if strings.Contains(string(page.Body), fxAlicePassword) {
		t.Fatal("a password in the authorization URL is echoed into the login page")
	}
	fields := form(t, page)
	if fields.Has("password") {
		t.Fatal("the login form carries a password field from the URL")
	}
	fields.Set("username", "alice")
	fields.Set("password", fxAlicePassword)
	consent := b.post(t, fields)
	if consent.Status != 200 {
		t.Fatalf("status %d", consent.Status)
	}
	for _, h := range consent.Header {
		if strings.Contains(h.Value, fxAlicePassword) {
			t.Fatalf("header %s carries the password", h.Name)
		}
	}
	if strings.Contains(string(consent.Body), fxAlicePassword) {
		t.Fatal("the consent page carries the password")
	}
	for _, e := range f.events {
		if strings.Contains(strings.Join(append(e.Scopes, e.Username, e.Subject, e.ClientID), " "), fxAlicePassword) {
			t.Fatalf("event %+v carries the password", e)
		}
	}
}

func TestProxyOnlyConfig(t *testing.T) {
	page, err := login.New(login.Config{TrustedHeader: "X-Remote-User", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fxOptions{})
	f.page = page
	resp := f.browser().get(t, codeQuery("webapp", fxWebappCB, "", "s"))
	if resp.Status != 403 || strings.Contains(string(resp.Body), `id="password"`) {
		t.Fatalf("status %d, want 403 without a login form", resp.Status)
	}
}

func TestNew(t *testing.T) {
	users, err := login.NewUsers(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  login.Config
		ok   bool
	}{
		{name: "users only", cfg: login.Config{Users: users}, ok: true},
		{name: "nobody could sign in", cfg: login.Config{}},
		{name: "header without proxies", cfg: login.Config{TrustedHeader: "X-Remote-User"}},
		{name: "short key", cfg: login.Config{Users: users, Key: make([]byte, 16)}},
		{name: "32-byte key", cfg: login.Config{Users: users, Key: make([]byte, 32)}, ok: true},
		{name: "relative path", cfg: login.Config{Users: users, Path: "authorize"}},
		{name: "protocol-relative path", cfg: login.Config{Users: users, Path: "//evil.example/authorize"}},
		{name: "backslash path", cfg: login.Config{Users: users, Path: `/\evil.example`}},
		{name: "path with prefix", cfg: login.Config{Users: users, Path: "/tenant/authorize"}, ok: true},
		{name: "ticket TTL too long", cfg: login.Config{Users: users, TicketTTL: 2 * time.Hour}},
		{name: "invalid proxy prefix", cfg: login.Config{TrustedHeader: "X", TrustedProxies: []netip.Prefix{{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := login.New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "login: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestSharedKeyAcrossReplicas(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, fxOptions{})
	mk := func(k []byte) *login.Page {
		users, _ := login.NewUsers([]login.User{{Username: "alice", ID: "u-1001", Hash: hash(t, fxAlicePassword)}}, nil)
		p, err := login.New(login.Config{Users: users, Key: k})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b2, c := mk(key), mk(key), mk(nil)
	b := f.browser()
	f.page = a
	fields := form(t, b.get(t, codeQuery("webapp", fxWebappCB, "", "s")))
	fields.Set("username", "alice")
	fields.Set("password", fxAlicePassword)
	f.page = c // a replica with its own random key
	if resp := b.post(t, fields); resp.Status != 403 {
		t.Fatalf("replica with another key: status %d, want 403", resp.Status)
	}
	f.page = b2 // a replica with the shared key
	if resp := b.post(t, fields); resp.Status != 200 || !strings.Contains(string(resp.Body), `value="allow"`) {
		t.Fatalf("replica with the shared key: status %d", resp.Status)
	}
}

// authFunc adapts a function to endpoint.UserAuthenticator.
type authFunc func(ctx context.Context, username, password string) (string, error)

func (f authFunc) AuthenticateUser(ctx context.Context, username, password string) (string, error) {
	return f(ctx, username, password)
}

func TestAuthenticatorErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter string
		redirect   string // error= of the redirect, for status 302
	}{
		{name: "verifier busy: 503 page, password not counted", err: fmt.Errorf("wrapped: %w", secret.ErrBusy), status: 503, retryAfter: "1"},
		{name: "user store down: redirected temporarily_unavailable", err: fmt.Errorf("db: %w", context.DeadlineExceeded), status: 302, redirect: "temporarily_unavailable"},
		{name: "unexpected error: redirected server_error", err: errors.New("boom"), status: 302, redirect: "server_error"},
		{name: "empty id without error counts as wrong", err: nil, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fxOptions{})
			limiter := secret.NewLimiter(secret.LimiterConfig{Threshold: 1})
			page, err := login.New(login.Config{Limiter: limiter, Users: authFunc(func(context.Context, string, string) (string, error) {
				return "", tt.err
			})})
			if err != nil {
				t.Fatal(err)
			}
			f.page = page
			b := f.browser()
			fields := form(t, b.get(t, codeQuery("webapp", fxWebappCB, "", "s")))
			fields.Set("username", "alice")
			fields.Set("password", fxAlicePassword)
			resp := b.post(t, fields)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d:\n%s", resp.Status, tt.status, resp.Body)
			}
			switch tt.status {
			case 302:
				if got := location(t, resp).Query().Get("error"); got != tt.redirect {
					t.Errorf("error=%q, want %q", got, tt.redirect)
				}
			case 503:
				checkPageHeaders(t, resp)
				if ra := endpoint.Headers(resp.Header).Get("Retry-After"); ra != tt.retryAfter {
					t.Errorf("Retry-After %q", ra)
				}
				a, _, ok := limiter.Begin("user:alice", b.addr, "", true, f.clock.Now())
				a.Abandon()
				if !ok {
					t.Error("a password that was not checked counted as a failure")
				}
			case 200:
				if !strings.Contains(string(resp.Body), "Wrong username or password.") {
					t.Errorf("page:\n%s", resp.Body)
				}
			}
		})
	}
}

// TestUsersDecoy: an unknown user name costs one slow hash, like a wrong
// password, against a decoy nobody knows the secret of: a real user's
// password does not hit the verification cache under another name.
func TestUsersDecoy(t *testing.T) {
	enc, err := secret.NewBcrypt(fxAlicePassword, secret.MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	h, err := secret.Parse(enc)
	if err != nil {
		t.Fatal(err)
	}
	v := secret.NewVerifier(secret.VerifierConfig{})
	users, err := login.NewUsers([]login.User{{Username: "alice", ID: "u-1", Hash: h}}, v)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if id, err := users.AuthenticateUser(ctx, "alice", fxAlicePassword); err != nil || id != "u-1" {
		t.Fatalf("alice: %q %v", id, err)
	}
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", "alice", "wrong"},
		{"unknown user", "mallory", "wrong"},
		{"unknown user with alice's password", "mallory", fxAlicePassword},
	} {
		before := v.Stats().Computed
		if _, err := users.AuthenticateUser(ctx, tc.user, tc.password); !errors.Is(err, endpoint.ErrBadCredentials) {
			t.Errorf("%s: %v, want ErrBadCredentials", tc.name, err)
		}
		if n := v.Stats().Computed - before; n != 1 {
			t.Errorf("%s: %d slow hashes computed, want 1", tc.name, n)
		}
	}
}
