package server_test

// The login page (internal/login) as Build wires it: the resource owner of
// /authorize, with the configured users, the trusted header and the shared
// key, driven in-process through the App's Handler.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/login"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// verifier is a PKCE code_verifier whose S256 challenge is
// WuYLu9dZlvpRi1QPQ7SjbNzFXP1u16cDzk9P91Y-c8M (RFC 7636 §4.2).
const verifier = "dBjftJeZ4CVP-mJ92K0pQ6WAOgNtI4QJw1MXHNEDdq0"

const (
	loginIssuer    = "https://issuer.test"
	loginAudience  = "https://api.test"
	alicePassword  = "correct horse battery staple 42"
	firstSecret    = "first-party-secret-0123456789abcdef"
	loginCallback  = "https://app.test/cb"
	loginKeyBase64 = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=" // 32 bytes
)

// loginYAML is a configuration with the login page: users, the trusted
// header from loopback, a consent client (backend) and a first-party one
// (first). TLS is terminated by a proxy on loopback.
func loginYAML(dir, extraLogin string) string {
	// store: memory, because TestLoginKeySharedByReplicas builds two Apps
	// on one data_dir, and two processes cannot share one file store.
	return `issuer: ` + loginIssuer + `
listen: 127.0.0.1:0
data_dir: ` + dir + `
store: memory
trusted_proxies: [127.0.0.1/32]
audiences: [{name: "` + loginAudience + `"}]
login:
  trusted_header: X-Remote-User
  trusted_proxies: [127.0.0.1/32]
` + extraLogin + `clients:
  - id: ` + testClientID + `
    secret_hash: "` + secret.NewSHA256(testSecret) + `"
    grant_types: [authorization_code, refresh_token, password, client_credentials]
    redirect_uris: ["` + loginCallback + `"]
    scopes: [read, write]
    default_scopes: [read]
  - id: first
    secret_hash: "` + secret.NewSHA256(firstSecret) + `"
    grant_types: [authorization_code]
    redirect_uris: ["` + loginCallback + `"]
    scopes: [read]
    default_scopes: [read]
    skip_consent: true
users:
  - {username: alice, id: u-1001, password_hash: "` + secret.NewSHA256(alicePassword) + `"}
`
}

// loginApp is an App built from loginYAML, served in-process.
type loginApp struct {
	app    *server.App
	log    *syncBuf
	opener *crypttoken.Opener
}

func newLoginApp(t *testing.T, dir, extraLogin string, o server.Options) *loginApp {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg, err := config.Parse([]byte(loginYAML(dir, extraLogin)), "login.yaml")
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuf{}
	o.Log = zerolog.New(log)
	app, err := server.Build(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	ring, ok := app.Keys.Ring(loginAudience)
	if !ok {
		t.Fatal("no audience ring")
	}
	op, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: loginIssuer, Audience: loginAudience})
	if err != nil {
		t.Fatal(err)
	}
	return &loginApp{app: app, log: log, opener: op}
}

// get runs an authorization request from loopback (the TLS proxy), with
// the given extra headers.
func (a *loginApp) get(q url.Values, header map[string]string) *fasthttp.Response {
	h := map[string]string{"X-Forwarded-Proto": "https"}
	for k, v := range header {
		h[k] = v
	}
	return do(a.app.Handler.ServeFastHTTP, req{method: "GET", uri: "/authorize?" + q.Encode(), header: h})
}

// post submits a form to /authorize with the browser's cookie.
func (a *loginApp) post(form url.Values, cookie string, header map[string]string) *fasthttp.Response {
	h := map[string]string{"X-Forwarded-Proto": "https", "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
	for k, v := range header {
		h[k] = v
	}
	return do(a.app.Handler.ServeFastHTTP, req{method: "POST", uri: "/authorize", body: form.Encode(), header: h})
}

// exchange redeems code for client and opens the access token.
func (a *loginApp) exchange(t *testing.T, client, clientSecret, code string, form url.Values) *crypttoken.Claims {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("grant_type", "authorization_code")
	form.Set("code", code)
	return a.token(t, client, clientSecret, form)
}

// token posts form to /token with Basic authentication and opens the
// access token it gets.
func (a *loginApp) token(t *testing.T, client, clientSecret string, form url.Values) *crypttoken.Claims {
	t.Helper()
	resp := do(a.app.Handler.ServeFastHTTP, req{method: "POST", uri: "/token", body: form.Encode(), header: map[string]string{
		"Content-Type":      "application/x-www-form-urlencoded",
		"Authorization":     "Basic " + base64.StdEncoding.EncodeToString([]byte(client+":"+clientSecret)),
		"X-Forwarded-Proto": "https",
	}})
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(resp.Body(), &body); err != nil || body.AccessToken == "" {
		t.Fatalf("token: %d %s", resp.StatusCode(), resp.Body())
	}
	c, err := a.opener.Open(body.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	cookieValue = regexp.MustCompile(`^(__Host-login-csrf=[^;]+)`)
)

// formOf returns the hidden fields of the page's form.
func formOf(t *testing.T, resp *fasthttp.Response) url.Values {
	t.Helper()
	f := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(string(resp.Body()), -1) {
		f.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if f.Get("login_csrf") == "" {
		t.Fatalf("no form with a CSRF token: %d %s", resp.StatusCode(), resp.Body())
	}
	return f
}

// cookieOf returns the "name=value" of the CSRF cookie the page sets.
func cookieOf(t *testing.T, resp *fasthttp.Response) string {
	t.Helper()
	m := cookieValue.FindStringSubmatch(string(resp.Header.Peek("Set-Cookie")))
	if m == nil {
		t.Fatalf("no CSRF cookie: %s", resp.Header.Peek("Set-Cookie"))
	}
	return m[1]
}

func codeOf(t *testing.T, resp *fasthttp.Response) url.Values {
	t.Helper()
	if resp.StatusCode() != 302 {
		t.Fatalf("status %d, want a redirect: %s", resp.StatusCode(), resp.Body())
	}
	u, err := url.Parse(string(resp.Header.Peek("Location")))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// TestLoginPageTrustedHeader ports the assertions of the former
// server.TrustedHeader owner to the login page that replaced it. Two
// behaviours changed on purpose: a request without the header (or from an
// untrusted address) gets the login form instead of an access_denied
// redirect, and a header user's grant carries no auth_time (the proxy does
// not say when the user authenticated). A name with a space is now a valid
// subject (login accepts printable UTF-8 names, as the users list does).
func TestLoginPageTrustedHeader(t *testing.T) {
	a := newLoginApp(t, "", "", server.Options{})
	tests := []struct {
		name    string
		remote  string
		client  string
		user    string // X-Remote-User; "" sends none
		want    string // "code", "consent", "login", "403", "no code"
		wantSub string
	}{
		{name: "configured user from the proxy gets a code as its user id", remote: "127.0.0.1", client: "first", user: "alice", want: "code", wantSub: "u-1001"},
		{name: "unknown user from the proxy is its own subject", remote: "127.0.0.1", client: "first", user: "bob", want: "code", wantSub: "bob"},
		{name: "user name with a space is its own subject", remote: "127.0.0.1", client: "first", user: "bob smith", want: "code", wantSub: "bob smith"},
		{name: "consent client: the header user gets the consent page", remote: "127.0.0.1", client: testClientID, user: "alice", want: "consent"},
		{name: "header from an untrusted address is ignored", remote: "10.0.0.7", client: "first", user: "alice", want: "no code"},
		{name: "missing header: the login form", remote: "127.0.0.1", client: "first", want: "login"},
		{name: "user name with a control character is refused", remote: "127.0.0.1", client: "first", user: "bob\x01", want: "403"},
		{name: "user name equal to a client id is refused (RFC 9068 §5)", remote: "127.0.0.1", client: "first", user: testClientID, want: "403"},
		{name: "unlisted name equal to a user id is refused", remote: "127.0.0.1", client: "first", user: "u-1001", want: "403"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.user != "" {
				h["X-Remote-User"] = tt.user
			}
			// The peer must be a trusted proxy for X-Forwarded-Proto too;
			// from elsewhere the request is TLS-checked by the endpoint.
			if tt.remote == "127.0.0.1" {
				h["X-Forwarded-Proto"] = "https"
			}
			q := url.Values{"response_type": {"code"}, "client_id": {tt.client}, "state": {"s1"},
				"code_challenge": {"WuYLu9dZlvpRi1QPQ7SjbNzFXP1u16cDzk9P91Y-c8M"}, "code_challenge_method": {"S256"}}
			resp := do(a.app.Handler.ServeFastHTTP, req{method: "GET", uri: "/authorize?" + q.Encode(), header: h, remote: tt.remote})
			loc := string(resp.Header.Peek("Location"))
			body := string(resp.Body())
			switch tt.want {
			case "no code":
				if strings.Contains(loc, "code=") {
					t.Fatalf("untrusted peer got a code: %s", loc)
				}
			case "login":
				if resp.StatusCode() != 200 || !strings.Contains(body, `id="password"`) {
					t.Fatalf("status %d, want the login form: %s", resp.StatusCode(), body)
				}
			case "consent":
				if resp.StatusCode() != 200 || !strings.Contains(body, `value="allow"`) || strings.Contains(body, `id="password"`) {
					t.Fatalf("status %d, want the consent form: %s", resp.StatusCode(), body)
				}
			case "403":
				if resp.StatusCode() != 403 || loc != "" {
					t.Fatalf("status %d Location %q, want a 403 page and no redirect", resp.StatusCode(), loc)
				}
			case "code":
				got := codeOf(t, resp)
				if got.Get("state") != "s1" {
					t.Errorf("state not echoed: %s", loc)
				}
				c := a.exchange(t, "first", firstSecret, got.Get("code"), url.Values{"code_verifier": {verifier}})
				if c.Subject != tt.wantSub || !c.AuthTime.IsZero() {
					t.Fatalf("sub = %q auth_time %v, want %q without auth_time", c.Subject, c.AuthTime, tt.wantSub)
				}
			}
		})
	}
}

// TestLoginPageFormFlow: sign in with the form, consent with a scope
// unchecked, get a code, exchange it; the same users serve the password
// grant; the log has the login page's audit lines and no password.
func TestLoginPageFormFlow(t *testing.T) {
	a := newLoginApp(t, "", "", server.Options{})
	q := url.Values{"response_type": {"code"}, "client_id": {testClientID}, "scope": {"read write"}, "state": {"st"}}
	page := a.get(q, nil)
	if page.StatusCode() != 200 || !strings.Contains(string(page.Header.ContentType()), "text/html") {
		t.Fatalf("login page: %d %s", page.StatusCode(), page.Body())
	}
	if csp := string(page.Header.Peek("Content-Security-Policy")); !strings.Contains(csp, "form-action") {
		t.Errorf("login page CSP %q", csp)
	}
	cookie := cookieOf(t, page)
	f := formOf(t, page)
	if !strings.Contains(string(page.Body()), `action="/authorize"`) {
		t.Errorf("the form does not post to /authorize")
	}

	// A wrong password: the form again, counted, not logged.
	f.Set("username", "alice")
	f.Set("password", "wrong-"+alicePassword)
	again := a.post(f, cookie, nil)
	if again.StatusCode() != 200 || !strings.Contains(string(again.Body()), "Wrong username or password") {
		t.Fatalf("wrong password: %d %s", again.StatusCode(), again.Body())
	}

	f = formOf(t, again)
	f.Set("username", "alice")
	f.Set("password", alicePassword)
	consent := a.post(f, cookie, nil)
	if consent.StatusCode() != 200 || !strings.Contains(string(consent.Body()), `value="allow"`) {
		t.Fatalf("consent page: %d %s", consent.StatusCode(), consent.Body())
	}
	cf := formOf(t, consent)
	cf.Set("login_action", "allow")
	cf.Set("login_scope_0", "read") // write left unchecked
	got := codeOf(t, a.post(cf, cookie, nil))
	if got.Get("state") != "st" {
		t.Errorf("state %q", got.Get("state"))
	}
	c := a.exchange(t, testClientID, testSecret, got.Get("code"), nil)
	if c.Subject != "u-1001" || c.Scope != "read" || c.AuthTime.IsZero() {
		t.Fatalf("sub %q scope %q auth_time %v", c.Subject, c.Scope, c.AuthTime)
	}

	// The password grant uses the same users.
	pc := a.token(t, testClientID, testSecret, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword}})
	if pc.Subject != "u-1001" {
		t.Fatalf("password grant sub %q", pc.Subject)
	}

	logText, _ := a.log.snapshot()
	for _, want := range []string{`"component":"login","event":"login_failed"`, `"event":"login"`, `"user":"alice"`, `"event":"consent"`, `"scope":"read"`} {
		if !strings.Contains(logText, want) {
			t.Errorf("the log lacks %s:\n%s", want, logText)
		}
	}
	if strings.Contains(logText, alicePassword) {
		t.Fatal("the log contains the password")
	}
	metrics := do(a.app.Handler.ServeFastHTTP, req{method: "GET", uri: "/metrics"})
	for _, want := range []string{`issuer_login_events_total{event="login"} 1`, `issuer_login_events_total{event="login_failed"} 1`, `issuer_login_events_total{event="consent_denied"} 0`} {
		if !strings.Contains(string(metrics.Body()), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestLoginKeySharedByReplicas: two Apps built with one login.key_file (or
// one login.key_env) accept each other's forms, as replicas behind a load
// balancer must; with a random key per process they do not.
func TestLoginKeySharedByReplicas(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "login.key")
	if err := os.WriteFile(keyFile, []byte(loginKeyBase64+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "TEST_LOGIN_KEY" {
			return loginKeyBase64
		}
		return ""
	}
	tests := []struct {
		name       string
		extraA     string
		extraB     string
		wantStatus int // of replica B's answer to replica A's form
	}{
		{name: "shared key_file: the form works on the other replica", extraA: "  key_file: " + keyFile + "\n", extraB: "  key_file: " + keyFile + "\n", wantStatus: 200},
		{name: "key_file and key_env holding the same key", extraA: "  key_file: " + keyFile + "\n", extraB: "  key_env: TEST_LOGIN_KEY\n", wantStatus: 200},
		{name: "random key per process: CSRF fails on the other replica", wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir() // both replicas share the key rings, as they would
			a := newLoginApp(t, dir, tt.extraA, server.Options{Getenv: env})
			b := newLoginApp(t, dir, tt.extraB, server.Options{Getenv: env})
			page := a.get(url.Values{"response_type": {"code"}, "client_id": {testClientID}}, nil)
			f := formOf(t, page)
			f.Set("username", "alice")
			f.Set("password", alicePassword)
			resp := b.post(f, cookieOf(t, page), nil)
			if resp.StatusCode() != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode(), tt.wantStatus, resp.Body())
			}
		})
	}
}

func TestLoginKeyErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte(base64.StdEncoding.EncodeToString(make([]byte, 16))), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		extra    string
		getenv   func(string) string
		wantText string
		wantErr  error
	}{
		{name: "missing key_file", extra: "  key_file: " + filepath.Join(dir, "nope.key") + "\n", wantText: "login.key_file", wantErr: os.ErrNotExist},
		{name: "key_file too short", extra: "  key_file: " + short + "\n", wantText: "login.key_file", wantErr: login.ErrKey},
		{name: "key_file is a directory", extra: "  key_file: " + dir + "\n", wantText: "not a regular file"},
		{name: "key_env not set", extra: "  key_env: TEST_LOGIN_KEY\n", getenv: func(string) string { return "" }, wantText: "login.key_env names TEST_LOGIN_KEY, which is not set"},
		{name: "key_env not base64", extra: "  key_env: TEST_LOGIN_KEY\n", getenv: func(string) string { return "a passphrase, not a key, of some length" }, wantText: "login.key_env TEST_LOGIN_KEY", wantErr: login.ErrKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(loginYAML(t.TempDir(), tt.extra)), "login.yaml")
			if err != nil {
				t.Fatal(err)
			}
			app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.Nop(), Getenv: tt.getenv})
			if err == nil {
				_ = app.Close()
				t.Fatal("Build succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantText) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("error %q, want %q wrapping %v", err, tt.wantText, tt.wantErr)
			}
		})
	}
}

// TestLoginKeyFileModeWarning: a key file readable by others is used, with
// a warning in the log.
func TestLoginKeyFileModeWarning(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "login.key")
	if err := os.WriteFile(keyFile, []byte(loginKeyBase64), 0o644); err != nil {
		t.Fatal(err)
	}
	a := newLoginApp(t, "", "  key_file: "+keyFile+"\n", server.Options{})
	if got, _ := a.log.snapshot(); !strings.Contains(got, "chmod 600") || strings.Contains(got, loginKeyBase64) {
		t.Fatalf("log: %s", got)
	}
}

// TestNoLoginWithoutUsersOrHeader: with neither users nor a trusted header
// there is no login page, and authorization requests are refused
// access_denied (the dev configuration of the app tests has none).
func TestNoLoginWithoutUsersOrHeader(t *testing.T) {
	deps := server.OwnerDeps{Config: &config.Config{Issuer: loginIssuer}}
	owner, err := server.DefaultOwner(deps)
	if err != nil || owner != nil {
		t.Fatalf("DefaultOwner = %v, %v; want nil, nil", owner, err)
	}
}

// TestAuthorizeDeadline: the owner of /authorize runs under a context with
// a deadline (AuthorizeTimeout) derived from the base context, so a wait
// for the hash concurrency cap ends.
func TestAuthorizeDeadline(t *testing.T) {
	type seen struct {
		deadline time.Time
		err      error
	}
	got := make(chan seen, 1)
	owner := endpoint.ResourceOwnerFunc(func(ctx context.Context, _ *endpoint.Request, _ *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
		d, _ := ctx.Deadline()
		<-ctx.Done() // a verifier waiting for a slot
		got <- seen{d, ctx.Err()}
		return endpoint.Interact(&endpoint.Response{Status: 503, Body: []byte("busy")}), nil
	})
	f := newFixture(t, fixtureOpts{owner: owner})
	h := server.NewHandler(f.ep, server.HandlerOptions{Owner: owner, AuthorizeTimeout: 100 * time.Millisecond})
	start := time.Now()
	resp := do(h.ServeFastHTTP, req{method: "GET", uri: "/authorize?response_type=code&client_id=" + testClientID, header: map[string]string{"X-Forwarded-Proto": "https"}})
	elapsed := time.Since(start)
	s := <-got
	if resp.StatusCode() != 503 || !errors.Is(s.err, context.DeadlineExceeded) {
		t.Fatalf("status %d, ctx err %v", resp.StatusCode(), s.err)
	}
	if s.deadline.IsZero() || s.deadline.Sub(start) > time.Second || elapsed > 5*time.Second {
		t.Fatalf("deadline %v after start, request took %v", s.deadline.Sub(start), elapsed)
	}
	if server.DefaultAuthorizeTimeout != 10*time.Second {
		t.Errorf("DefaultAuthorizeTimeout = %v", server.DefaultAuthorizeTimeout)
	}
}

// TestLoginBusyIs503: with one hash slot and slow bcrypt user hashes,
// concurrent sign-ins that wait for the slot past AuthorizeTimeout get the
// 503 "try again" page with Retry-After, not an unbounded wait.
func TestLoginBusyIs503(t *testing.T) {
	if testing.Short() {
		t.Skip("computes bcrypt hashes")
	}
	bc, err := secret.NewBcrypt(alicePassword, 10) // about 50 ms to check, 0.7 s under -race
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	y := strings.Replace(loginYAML(dir, ""), secret.NewSHA256(alicePassword), bc, 1) + "limits: {hash_concurrency: 1}\n"
	cfg, err := config.Parse([]byte(y), "login.yaml")
	if err != nil {
		t.Fatal(err)
	}
	app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.Nop(), AuthorizeTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	a := &loginApp{app: app}
	page := a.get(url.Values{"response_type": {"code"}, "client_id": {testClientID}}, nil)
	cookie, form := cookieOf(t, page), formOf(t, page)
	const n = 4
	statuses := make(chan *fasthttp.Response, n)
	start := time.Now()
	for i := range n {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("username", "alice")
		f.Set("password", "wrong-password-"+string(rune('a'+i))) // distinct: no shared computation
		go func() { statuses <- a.post(f, cookie, nil) }()
	}
	busy := 0
	for range n {
		resp := <-statuses
		switch resp.StatusCode() {
		case 503:
			busy++
			if string(resp.Header.Peek("Retry-After")) == "" || !strings.Contains(string(resp.Body()), "busy") {
				t.Errorf("503 without Retry-After or message: %s", resp.Body())
			}
		case 200: // the one that got the slot: wrong password
		default:
			t.Errorf("status %d: %s", resp.StatusCode(), resp.Body())
		}
	}
	if busy == 0 {
		t.Fatal("no sign-in was answered 503 while the hash slot was taken")
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Fatalf("sign-ins took %v", el)
	}
}

// TestDemoCallback: the dev server's callback page shows code, state and
// error escaped, with headers that keep the code out of caches, referrers
// and frames; without DemoCallback the path is a 404.
func TestDemoCallback(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	h := server.NewHandler(f.ep, server.HandlerOptions{DemoCallback: "/demo/callback"})
	tests := []struct {
		name       string
		handler    *server.Handler
		method     string
		query      string
		wantStatus int
		want       []string
		notWant    []string
	}{
		{name: "code and state", handler: h, method: "GET", query: "code=abc.def&state=xyz", wantStatus: 200,
			want: []string{`<pre id="code">abc.def</pre>`, `<code id="state">xyz</code>`}},
		{name: "error (RFC 6749 §4.1.2.1)", handler: h, method: "GET", query: "error=access_denied&error_description=the+user+said+no&state=s", wantStatus: 200,
			want: []string{`<code id="error">access_denied</code>`, `the user said no`}, notWant: []string{`id="code"`}},
		{name: "markup is escaped", handler: h, method: "GET", query: "code=%3Cscript%3Ealert(1)%3C%2Fscript%3E", wantStatus: 200,
			want: []string{"&lt;script&gt;"}, notWant: []string{"<script>"}},
		{name: "neither", handler: h, method: "GET", wantStatus: 200, want: []string{`id="empty"`}},
		{name: "POST refused", handler: h, method: "POST", wantStatus: 405},
		{name: "not served without the option", handler: f.h, method: "GET", query: "code=abc", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(tt.handler.ServeFastHTTP, req{method: tt.method, uri: "/demo/callback?" + tt.query})
			body := string(resp.Body())
			if resp.StatusCode() != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode(), tt.wantStatus, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %s:\n%s", w, body)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("body has %s:\n%s", w, body)
				}
			}
			if tt.wantStatus != 200 {
				return
			}
			for k, v := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
				"Content-Security-Policy": "default-src 'none'", "Content-Type": "text/html; charset=utf-8"} {
				if got := string(resp.Header.Peek(k)); !strings.Contains(got, v) {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}
