package main_test

// The OpenID Provider against real relying parties (SPEC §11): go-oidc,
// npm openid-client, Python authlib, the example of examples/oidc-rp, and
// headless Chromium for single sign-on and logout, all against the dev
// binary.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sealedtoken/issuer/internal/browsertest"
	"github.com/sealedtoken/issuer/internal/interop"
	"github.com/sealedtoken/issuer/internal/testbin"
)

const (
	devOIDCClient = "demo-oidc"
	devRPRedirect = "http://127.0.0.1:5556/callback"
)

// userAgent is a cookie-keeping HTTP client that trusts the dev server's
// certificate and stops at redirects, like a browser whose every step the
// test controls.
type userAgent struct {
	c *http.Client
	d *devServer
}

func newUserAgent(t *testing.T, d *devServer) *userAgent {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &userAgent{d: d, c: &http.Client{
		Timeout:       10 * time.Second,
		Jar:           jar,
		Transport:     d.client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (u *userAgent) do(t *testing.T, method, target string, form url.Values) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := u.c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header, readAll(t, resp.Body)
}

// pageForm returns the hidden fields and checked boxes of a page's form.
func pageForm(body string) url.Values {
	v := url.Values{}
	for _, f := range hiddenInput.FindAllStringSubmatch(body, -1) {
		v.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return v
}

// authorize opens authURL and answers the login page (as alice, with
// password, when it asks) and the consent page (allow), and returns the
// redirect to the client with the number of password prompts seen.
func (u *userAgent) authorize(t *testing.T, authURL, password string) (*url.URL, int) {
	t.Helper()
	prompts := 0
	st, hdr, body := u.do(t, "GET", authURL, nil)
	for range 4 {
		if st == 302 {
			loc, err := url.Parse(hdr.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			return loc, prompts
		}
		if st != 200 {
			t.Fatalf("authorize: %d %s", st, body)
		}
		f := pageForm(body)
		switch {
		case strings.Contains(body, `id="login-form"`):
			prompts++
			f.Set("username", "alice")
			f.Set("password", password)
		case strings.Contains(body, `id="consent-form"`):
			f.Set("login_action", "allow")
		default:
			t.Fatalf("unexpected page: %s", body)
		}
		st, hdr, body = u.do(t, "POST", u.d.issuer+"/authorize", f)
	}
	t.Fatal("authorize: no redirect after four pages")
	return nil, 0
}

// tlsClient is an http.Client trusting the dev server's certificate.
func tlsClient(t *testing.T, d *devServer) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(d.certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// TestOIDCGoOIDC: github.com/coreos/go-oidc/v3 discovers the dev server,
// and verifies the ID token of a code flow with PKCE (signature from
// jwks_uri, iss, aud, exp, nonce, at_hash) and reads UserInfo.
func TestOIDCGoOIDC(t *testing.T) {
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	defer d.stop()
	// The banner names the discovery document and the example's command.
	out := d.stdout.String()
	if !strings.Contains(out, "the discovery document is at "+d.issuer+"/.well-known/openid-configuration") ||
		!strings.Contains(out, "go run ./examples/oidc-rp -issuer "+d.issuer+" -cacert "+d.certFile) {
		t.Fatalf("the banner lacks the OpenID Connect lines:\n%s", out)
	}
	ctx := oidc.ClientContext(context.Background(), tlsClient(t, d))
	provider, err := oidc.NewProvider(ctx, d.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: devOIDCClient, Endpoint: provider.Endpoint(), RedirectURL: devRPRedirect,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st-go", oidc.Nonce("nonce-go"), oauth2.S256ChallengeOption(verifier))
	loc, _ := newUserAgent(t, d).authorize(t, authURL, d.password)
	if loc.Query().Get("state") != "st-go" || loc.Query().Get("iss") != d.issuer {
		t.Fatalf("callback %s", loc)
	}
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: devOIDCClient}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc rejects the ID token: %v", err)
	}
	if idToken.Nonce != "nonce-go" || idToken.Subject != "u-alice" || idToken.Issuer != d.issuer {
		t.Fatalf("ID token %+v", idToken)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var claims struct {
		Email    string   `json:"email"`
		Verified bool     `json:"email_verified"`
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
	}
	if err := idToken.Claims(&claims); err != nil || claims.Email != "alice@example.com" || !claims.Verified || len(claims.AMR) != 1 || claims.AuthTime == 0 {
		t.Fatalf("claims %+v (%v)", claims, err)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != "u-alice" || info.Email != "alice@example.com" {
		t.Fatalf("userinfo %+v: %v", info, err)
	}
	// Tampered: go-oidc refuses it.
	if _, err := provider.Verifier(&oidc.Config{ClientID: devOIDCClient}).Verify(ctx, raw[:len(raw)-6]+"AAAAAA"); err == nil {
		t.Fatal("go-oidc accepted a tampered ID token")
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: "demo"}).Verify(ctx, raw); err == nil {
		t.Fatal("go-oidc accepted the ID token for another client")
	}
	assertNoLeak(t, d, tok.AccessToken, tok.RefreshToken, raw, loc.Query().Get("code"))
}

// TestOIDCNodeOpenIDClient: npm openid-client does discovery, the code
// flow with PKCE, ID token validation, UserInfo and a refresh.
func TestOIDCNodeOpenIDClient(t *testing.T) {
	node := interop.RequireNode(t)
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	defer d.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "oidc_rp.mjs")
	cmd.Dir = interop.NodeDir()
	cmd.Env = append(os.Environ(), "ISSUER="+d.issuer, "CLIENT_ID="+devOIDCClient, "REDIRECT_URI="+devRPRedirect,
		"SCOPE=openid profile email", "NODE_EXTRA_CA_CERTS="+d.certFile)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	var first struct{ Authorize string }
	if !lines.Scan() || json.Unmarshal(lines.Bytes(), &first) != nil || first.Authorize == "" {
		_ = cmd.Wait()
		t.Fatalf("openid-client: no authorization URL: %s", stderr.String())
	}
	loc, _ := newUserAgent(t, d).authorize(t, first.Authorize, d.password)
	fmt.Fprintln(stdin, loc.String())
	var result struct {
		IDToken   map[string]any `json:"id_token"`
		UserInfo  map[string]any `json:"userinfo"`
		Refreshed map[string]any `json:"refreshed"`
	}
	if !lines.Scan() || json.Unmarshal(lines.Bytes(), &result) != nil {
		_ = cmd.Wait()
		t.Fatalf("openid-client failed: %s", stderr.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("openid-client: %v\n%s", err, stderr.String())
	}
	if result.IDToken["sub"] != "u-alice" || result.IDToken["iss"] != d.issuer || result.IDToken["aud"] != devOIDCClient ||
		result.UserInfo["email"] != "alice@example.com" || result.UserInfo["name"] != "Alice Demo" || result.Refreshed["sub"] != "u-alice" {
		t.Fatalf("openid-client result %+v", result)
	}
}

// TestOIDCPythonAuthlib: Python authlib verifies the ID token against the
// published JWK Set, as a code-flow ID token (Core §3.1.3.7: iss, aud,
// exp, nonce, at_hash).
func TestOIDCPythonAuthlib(t *testing.T) {
	py := interop.RequirePython(t, "authlib")
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	defer d.stop()
	conf := oauth2.Config{ClientID: devOIDCClient, RedirectURL: devRPRedirect, Scopes: []string{"openid", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: d.issuer + "/authorize", TokenURL: d.issuer + "/token"}}
	verifier := oauth2.GenerateVerifier()
	loc, _ := newUserAgent(t, d).authorize(t, conf.AuthCodeURL("s", oauth2.SetAuthURLParam("nonce", "py-nonce"), oauth2.S256ChallengeOption(verifier)), d.password)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, tlsClient(t, d))
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	_, _, jwks := d.call(t, nil, "GET", "/jwks.json", nil, nil)
	script := `
import json, sys
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken
inp = json.load(sys.stdin)
keys = JsonWebKey.import_key_set(json.loads(inp["jwks"]))
claims = jwt.decode(inp["id_token"], keys, claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "value": inp["issuer"]}},
    claims_params={"nonce": "py-nonce", "client_id": "demo-oidc", "access_token": inp["access_token"]})
claims.validate()
bad = inp["id_token"][:-8] + "AAAAAAAA"
try:
    jwt.decode(bad, keys).validate()
    print("tampered accepted"); sys.exit(1)
except Exception:
    pass
print(json.dumps({"sub": claims["sub"], "email": claims["email"], "alg": claims.header["alg"]}))
`
	in, _ := json.Marshal(map[string]string{"jwks": jwks, "id_token": tok.Extra("id_token").(string),
		"access_token": tok.AccessToken, "issuer": d.issuer})
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"sub": "u-alice"`) || !strings.Contains(string(out), `"alg": "ES256"`) {
		t.Fatalf("authlib: %v\n%s", err, out)
	}
}

// TestOIDCExampleRP builds examples/oidc-rp, runs it against the dev
// binary with -once, and drives the login in headless Chromium: the
// README's relying-party example runs as written.
func TestOIDCExampleRP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	tab := browsertest.New(t, ctx)
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	defer d.stop()
	bin, err := testbin.Build(ctx, t.TempDir(), "./examples/oidc-rp")
	if err != nil {
		t.Fatal(err)
	}
	rp := exec.CommandContext(ctx, bin, "-issuer", d.issuer, "-cacert", d.certFile, "-once")
	var out strings.Builder
	stdout, _ := rp.StdoutPipe()
	rp.Stderr = os.Stderr
	if err := rp.Start(); err != nil {
		t.Fatal(err)
	}
	defer rp.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.Contains(lines.Text(), "listening: open http://127.0.0.1:5556/") {
		t.Fatalf("the example did not start: %q", lines.Text())
	}
	browsertest.Step(t, tab, "open the relying party, land on the login page",
		chromedp.Navigate("http://127.0.0.1:5556/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
	)
	browsertest.Step(t, tab, "sign in",
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), d.password),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#allow")),
	)
	browsertest.Step(t, tab, "allow, back at the relying party", chromedp.Click(chromedp.CSS("#allow")), chromedp.WaitVisible(chromedp.CSS("#result")))
	for lines.Scan() {
		out.WriteString(lines.Text() + "\n")
	}
	if err := rp.Wait(); err != nil {
		t.Fatalf("the example failed: %v\n%s", err, out.String())
	}
	var res struct {
		IDToken  map[string]any `json:"id_token"`
		UserInfo map[string]any `json:"userinfo"`
	}
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil || res.IDToken["sub"] != "u-alice" || res.UserInfo["email"] != "alice@example.com" {
		t.Fatalf("example output: %v\n%s", err, out.String())
	}
}

// TestOIDCBrowserSingleSignOnAndLogout: in headless Chromium, log in once,
// sign in to a second client without the password, log out (confirming on
// the page, as no id_token_hint is sent), and the next /authorize asks for
// the password again; prompt=none after the logout is login_required.
func TestOIDCBrowserSingleSignOnAndLogout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	tab := browsertest.New(t, ctx)
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	defer d.stop()
	cb := d.issuer + "/demo/callback"
	authz := func(client string, extra ...string) string {
		q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {cb}, "scope": {"openid profile"},
			"state": {"st"}, "nonce": {"n"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(strings.Repeat("v", 43))}, "code_challenge_method": {"S256"}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return d.issuer + "/authorize?" + q.Encode()
	}
	browsertest.Step(t, tab, "first client: the password",
		chromedp.Navigate(authz(devOIDCClient)),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), d.password),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#allow")),
		chromedp.Click(chromedp.CSS("#allow")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	browsertest.Step(t, tab, "second client: consent, no password",
		chromedp.Navigate(authz("demo")),
		chromedp.WaitVisible(chromedp.CSS("#allow")),
	)
	if n := browsertest.Get(t, tab, "count password fields", chromedp.Evaluate[int](`document.querySelectorAll('input[type=password]').length`)); n != 0 {
		t.Fatal("the second client's page asks for the password")
	}
	browsertest.Step(t, tab, "allow the second client", chromedp.Click(chromedp.CSS("#allow")), chromedp.WaitVisible(chromedp.CSS("#code")))
	browsertest.Step(t, tab, "the first client again: no page at all (consent remembered)",
		chromedp.Navigate(authz(devOIDCClient)), chromedp.WaitVisible(chromedp.CSS("#code")))
	end := d.issuer + "/end_session?" + url.Values{"client_id": {devOIDCClient}, "post_logout_redirect_uri": {cb}, "state": {"bye"}}.Encode()
	browsertest.Step(t, tab, "log out: confirm",
		chromedp.Navigate(end),
		chromedp.WaitVisible(chromedp.CSS("#logout")),
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#state")),
	)
	if loc := browsertest.Get(t, tab, "location", chromedp.Location()); !strings.HasPrefix(loc, cb+"?state=bye") {
		t.Fatalf("after logout at %s", loc)
	}
	browsertest.Step(t, tab, "prompt=none after logout: login_required",
		chromedp.Navigate(authz(devOIDCClient, "prompt", "none")),
		chromedp.WaitVisible(chromedp.CSS("#error")),
	)
	if e := browsertest.Get(t, tab, "read the error", chromedp.Text(chromedp.CSS("#error"))); e != "login_required" {
		t.Fatalf("prompt=none after logout: %q", e)
	}
	browsertest.Step(t, tab, "the next sign-in asks for the password",
		chromedp.Navigate(authz("demo")),
		chromedp.WaitVisible(chromedp.CSS("#password")),
	)
}
