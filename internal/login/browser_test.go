package login_test

// A real browser walks the authorization-code flow through the login and
// consent pages (SPEC §5: "tested in a real headless browser"): headless
// Chromium, driven over the DevTools protocol by chromedp, against an HTTPS
// server on 127.0.0.1 that mounts the authorization endpoint with the Page
// and a client callback.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sealedtoken/issuer/internal/browsertest"
	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// handle adapts an endpoint call to net/http.
func handle(fn func(ctx context.Context, r *endpoint.Request) *endpoint.Response) http.HandlerFunc {
	return func(w http.ResponseWriter, hr *http.Request) {
		body, err := io.ReadAll(io.LimitReader(hr.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		var addr netip.Addr
		if ap, err := netip.ParseAddrPort(hr.RemoteAddr); err == nil {
			addr = ap.Addr().Unmap()
		}
		resp := fn(hr.Context(), &endpoint.Request{
			Method: hr.Method, URI: hr.RequestURI, Secure: hr.TLS != nil,
			RemoteAddr: addr, Header: hr.Header, Body: body,
		})
		for _, f := range resp.Header {
			w.Header().Add(f.Name, f.Value)
		}
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	}
}

// browserServer starts the issuer's HTTPS server and, on another port (so
// another origin, as a real client is), the client's callback. It returns
// the fixture, the issuer's base URL, the callback URL and a count of the
// callback's hits.
func browserServer(t *testing.T) (*fixture, string, string, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	client := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!DOCTYPE html><title>Callback</title><h1 id="done">Callback reached</h1>`)
	}))
	callback := "https://" + client.Listener.Addr().String() + "/callback" // the listener is bound: its port is known
	client.StartTLS()
	t.Cleanup(client.Close)

	f := newFixture(t, fxOptions{callback: callback})
	mux := http.NewServeMux()
	mux.Handle("/authorize", handle(func(ctx context.Context, r *endpoint.Request) *endpoint.Response {
		resp, _ := f.srv.HandleAuthorize(ctx, r, f.page)
		return resp
	}))
	issuer := httptest.NewTLSServer(mux)
	t.Cleanup(issuer.Close)
	return f, issuer.URL, callback, &hits
}

func TestBrowserAuthorizationCodeFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f, base, callback, hits := browserServer(t)
	bctx := browsertest.New(t, ctx)

	// signIn opens the authorization URL in a new tab and submits the
	// login form.
	signIn := func(t *testing.T, q url.Values, user, password string) context.Context {
		t.Helper()
		tab, closeTab := chromedp.NewContext(bctx)
		t.Cleanup(closeTab)
		// The first run on a context opens its tab for the context's
		// lifetime, so it must not carry a step's timeout (the 60 s of
		// the whole test bound it).
		if err := chromedp.Do(tab); err != nil {
			t.Fatalf("open a tab: %v", err)
		}
		browsertest.Step(t, tab, "open the login page",
			chromedp.Navigate(base+"/authorize?"+q.Encode()),
			chromedp.WaitVisible(chromedp.CSS("#username")),
		)
		title := browsertest.Get(t, tab, "read the title", chromedp.Title())
		// The inline style applies: the CSP admits it by its hash.
		radius := browsertest.Get(t, tab, "read the style", chromedp.Evaluate[string](
			`getComputedStyle(document.querySelector("main")).borderTopLeftRadius`))
		if !strings.HasPrefix(title, "Sign in") || radius != "12px" {
			t.Errorf("login page title %q, main border radius %q (style blocked?)", title, radius)
		}
		browsertest.Step(t, tab, "sign in",
			chromedp.SendKeys(chromedp.CSS("#username"), user),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#sign-in")),
		)
		return tab
	}
	// landed waits for the callback and returns its query.
	landed := func(t *testing.T, tab context.Context) url.Values {
		t.Helper()
		browsertest.Step(t, tab, "reach the callback", chromedp.WaitVisible(chromedp.CSS("#done")))
		loc := browsertest.Get(t, tab, "read the location", chromedp.Location())
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Scheme + "://" + u.Host + u.Path; got != callback {
			t.Fatalf("landed on %s, want %s", got, callback)
		}
		return u.Query()
	}

	t.Run("login, consent, code, token", func(t *testing.T) {
		q := codeQuery("webapp", callback, "profile read write", "browser-state-1")
		tab := signIn(t, q, "alice", fxAlicePassword)
		browsertest.Step(t, tab, "see the consent page", chromedp.WaitVisible(chromedp.CSS("#allow")))
		scopes := browsertest.Get(t, tab, "read the scopes", chromedp.Text(chromedp.CSS("fieldset")))
		client := browsertest.Get(t, tab, "read the client", chromedp.Text(chromedp.CSS("#client")))
		host := browsertest.Get(t, tab, "read the redirect host", chromedp.Text(chromedp.CSS("#redirect-host")))
		resource := browsertest.Get(t, tab, "read the resource", chromedp.Text(chromedp.CSS("#resource")))
		if resource != fxAPI {
			t.Errorf("consent page names the resource %q, want %q", resource, fxAPI)
		}
		html := browsertest.Get(t, tab, "read the page", chromedp.OuterHTML(chromedp.CSS("html")))
		for _, sc := range []string{"profile", "read", "write"} {
			if !strings.Contains(scopes, sc) {
				t.Errorf("consent page lists %q, missing %q", scopes, sc)
			}
		}
		if client != "webapp" || "https://"+host+"/callback" != callback {
			t.Errorf("consent page: client %q, redirect host %q", client, host)
		}
		if strings.Contains(html, fxAlicePassword) {
			t.Error("the consent page carries the password")
		}
		browsertest.Step(t, tab, "uncheck write and allow",
			chromedp.Click(chromedp.CSS(`input[value="write"]`)),
			chromedp.Click(chromedp.CSS("#allow")),
		)
		got := landed(t, tab)
		if got.Get("state") != "browser-state-1" || got.Get("code") == "" {
			t.Fatalf("callback query %v", got)
		}
		c := f.exchange(t, "webapp", callback, got.Get("code"))
		if c.Subject != "u-1001" || c.Scope != "profile read" || c.ClientID != "webapp" {
			t.Errorf("access token sub=%q scope=%q client_id=%q", c.Subject, c.Scope, c.ClientID)
		}
	})

	t.Run("skip_consent client goes straight to the callback", func(t *testing.T) {
		q := codeQuery("first", callback, "profile", "browser-state-2")
		tab := signIn(t, q, "bob", fxBobPassword)
		got := landed(t, tab)
		if got.Get("state") != "browser-state-2" || got.Get("code") == "" {
			t.Fatalf("callback query %v", got)
		}
		c := f.exchange(t, "first", callback, got.Get("code"))
		if c.Subject != "u-1002" || c.Scope != "profile" {
			t.Errorf("access token sub=%q scope=%q", c.Subject, c.Scope)
		}
	})

	t.Run("deny redirects access_denied", func(t *testing.T) {
		q := codeQuery("webapp", callback, "read", "browser-state-3")
		tab := signIn(t, q, "alice", fxAlicePassword)
		browsertest.Step(t, tab, "deny", chromedp.WaitVisible(chromedp.CSS("#deny")), chromedp.Click(chromedp.CSS("#deny")))
		got := landed(t, tab)
		if got.Get("error") != "access_denied" || got.Get("code") != "" || got.Get("state") != "browser-state-3" {
			t.Fatalf("callback query %v", got)
		}
	})

	t.Run("wrong password shows the error and does not redirect", func(t *testing.T) {
		before := hits.Load()
		const wrong = "not-the-password-77"
		q := codeQuery("webapp", callback, "", "browser-state-4")
		tab := signIn(t, q, "alice", wrong)
		browsertest.Step(t, tab, "see the error", chromedp.WaitVisible(chromedp.CSS("#login-error")))
		msg := browsertest.Get(t, tab, "read the error", chromedp.Text(chromedp.CSS("#login-error")))
		loc := browsertest.Get(t, tab, "read the location", chromedp.Location())
		html := browsertest.Get(t, tab, "read the page", chromedp.OuterHTML(chromedp.CSS("html")))
		username := browsertest.Get(t, tab, "read the username", chromedp.Value(chromedp.CSS("#username")))
		if !strings.Contains(msg, "Wrong username or password") {
			t.Errorf("error message %q", msg)
		}
		if u, _ := url.Parse(loc); u == nil || u.Path != "/authorize" {
			t.Errorf("location %q, want the authorization endpoint", loc)
		}
		if strings.Contains(html, wrong) {
			t.Error("the page echoes the password")
		}
		if username != "alice" {
			t.Errorf("username field %q, want it kept", username)
		}
		if hits.Load() != before {
			t.Error("the callback was reached")
		}
	})
}
