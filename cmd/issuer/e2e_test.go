package main_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sealedtoken/issuer/internal/browsertest"
)

// secrets records every secret, password, code and token the test hands
// to or receives from the server, and every error body it gets, for the
// SPEC §8 "nothing secret leaks" scan.
type secrets struct {
	values      map[string]string // value -> what it is
	errorBodies []string
}

func (s *secrets) add(what, v string) {
	if v != "" {
		s.values[v] = what
	}
}

// call sends a request and returns status, headers and body; error bodies
// are kept for the leak scan.
func (d *devServer) call(t *testing.T, s *secrets, method, path string, form url.Values, header map[string]string) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequest(method, d.issuer+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	resp, err := d.client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := readAll(t, resp.Body)
	if resp.StatusCode >= 400 && s != nil {
		s.errorBodies = append(s.errorBodies, b)
	}
	return resp.StatusCode, resp.Header, b
}

// bannerCount is how often the banner prints v: the demo secret in its two
// curl lines (client_credentials and the code exchange), the demo password
// and the PKCE verifier once; anything else never.
func (d *devServer) bannerCount(v string) int {
	switch v {
	case d.secret:
		return 2
	case d.password, d.verifier:
		return 1
	}
	return 0
}

// assertNoLeak checks that the process's log (stderr) contains none of
// values, and its stdout none beyond the banner's printing of the demo
// secret, password and verifier.
func assertNoLeak(t *testing.T, d *devServer, values ...string) {
	t.Helper()
	for _, v := range values {
		if v == "" {
			continue
		}
		if strings.Contains(d.stderr.String(), v) {
			t.Errorf("the log contains a secret or token (%.8s...)", v)
		}
		if n := strings.Count(d.stdout.String(), v); n > d.bannerCount(v) {
			t.Errorf("stdout contains a secret or token (%.8s...) %d times", v, n)
		}
	}
}

var (
	hiddenInput = regexp.MustCompile(`<input type="(?:hidden|checkbox)"(?: id="[^"]*")? name="([^"]*)" value="([^"]*)"`)
	csrfCookie  = regexp.MustCompile(`^(__Host-login-csrf=[^;]+)`)
)

// consent answers the consent page that a GET /authorize (status, header,
// body) showed, as a browser would: it posts the page's form back (every
// scope checkbox left checked) with the CSRF cookie the page set, the given
// action ("allow" or "deny") and the extra headers, and returns the
// Location of the redirect.
func (d *devServer) consent(t *testing.T, s *secrets, status int, hdr http.Header, body, action string, extra map[string]string) *url.URL {
	t.Helper()
	if status != 200 || !strings.Contains(body, `value="allow"`) {
		t.Fatalf("want the consent page, got %d %s", status, body)
	}
	m := csrfCookie.FindStringSubmatch(hdr.Get("Set-Cookie"))
	if m == nil {
		t.Fatalf("the consent page set no CSRF cookie: %q", hdr.Get("Set-Cookie"))
	}
	form := url.Values{}
	for _, f := range hiddenInput.FindAllStringSubmatch(body, -1) {
		form.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	form.Set("login_action", action)
	h := map[string]string{"Cookie": m[1]}
	for k, v := range extra {
		h[k] = v
	}
	st, rh, rb := d.call(t, s, "POST", "/authorize", form, h)
	if st != 302 {
		t.Fatalf("consent: %d %s", st, rb)
	}
	loc, err := url.Parse(rh.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// raw sends request bytes as they are over a fresh TLS connection and
// returns what the server answers before it closes the connection.
func (d *devServer) raw(t *testing.T, request string) string {
	t.Helper()
	u, _ := url.Parse(d.issuer)
	pool := d.client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(conn)
	return string(got)
}

func basic(id, secret string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}
}

func jsonField(t *testing.T, body, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	s, _ := m[field].(string)
	return s
}

// TestDevServerEndToEnd runs the real binary in dev mode, runs the curl
// command it prints, inspects the token with the binary, drives every
// route and grant, and finally scans everything the server printed and
// every error body for the secrets, codes and tokens handled.
func TestDevServerEndToEnd(t *testing.T) {
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	s := &secrets{values: map[string]string{}}
	s.add("demo client secret", d.secret)

	// 1. The printed curl command, run as printed (SPEC §6).
	var tokenJSON string
	if _, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command("sh", "-c", d.curl+" --silent --show-error").CombinedOutput()
		if err != nil {
			t.Fatalf("the printed curl failed: %v\n%s", err, out)
		}
		tokenJSON = string(out)
	} else {
		_, _, tokenJSON = d.call(t, s, "POST", "/token", url.Values{"grant_type": {"client_credentials"}}, basic("demo", d.secret))
	}
	access := jsonField(t, tokenJSON, "access_token")
	if access == "" || jsonField(t, tokenJSON, "token_type") != "Bearer" {
		t.Fatalf("the curl command got no token: %s", tokenJSON)
	}
	s.add("access token (client_credentials)", access)

	// 2. issuer token inspect on it, by argument and from standard input.
	for _, args := range [][]string{{"token", "inspect", "--config", d.devConfig, access}, {"token", "inspect", "--config", d.devConfig, "-"}} {
		code, out, errOut := runBinary(t, access+"\n", args...)
		if code != 0 {
			t.Fatalf("token inspect: exit %d: %s", code, errOut)
		}
		var got struct{ Claims map[string]any }
		if err := json.Unmarshal([]byte(out), &got); err != nil || got.Claims["client_id"] != "demo" || got.Claims["sub"] != "demo" || got.Claims["iss"] != d.issuer {
			t.Fatalf("inspect output: %v\n%s", err, out)
		}
	}
	if code, _, errOut := runBinary(t, "", "token", "inspect", "--config", d.devConfig, access[:len(access)-4]+"AAAA"); code != 1 || !strings.Contains(errOut, "crypttoken:") {
		t.Fatalf("inspect of a tampered token: exit %d %s", code, errOut)
	}

	// 3. Every route answers.
	routes := []struct {
		name, method, path string
		form               url.Values
		header             map[string]string
		wantStatus         int
		wantBody           string
	}{
		{name: "metadata", method: "GET", path: "/.well-known/oauth-authorization-server", wantStatus: 200, wantBody: `"token_endpoint":"` + d.issuer + `/token"`},
		{name: "healthz", method: "GET", path: "/healthz", wantStatus: 200, wantBody: "ok"},
		{name: "readyz", method: "GET", path: "/readyz", wantStatus: 200, wantBody: "ready"},
		{name: "metrics", method: "GET", path: "/metrics", wantStatus: 200, wantBody: `issuer_tokens_issued_total{type="access"}`},
		{name: "not found", method: "GET", path: "/nope", wantStatus: 404, wantBody: "not_found"},
		{name: "wrong method", method: "GET", path: "/token", wantStatus: 405, wantBody: "invalid_request"},
		{name: "introspection of the token", method: "POST", path: "/introspect", form: url.Values{"token": {access}}, header: basic("demo", d.secret), wantStatus: 200, wantBody: `"active":true`},
		{name: "wrong client secret", method: "POST", path: "/token", form: url.Values{"grant_type": {"client_credentials"}}, header: basic("demo", "wrong-"+d.secret), wantStatus: 401, wantBody: "invalid_client"},
	}
	s.add("wrong client secret", "wrong-"+d.secret)
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			code, _, body := d.call(t, s, r.method, r.path, r.form, r.header)
			if code != r.wantStatus || !strings.Contains(body, r.wantBody) {
				t.Fatalf("%s %s = %d %s, want %d with %s", r.method, r.path, code, body, r.wantStatus, r.wantBody)
			}
		})
	}

	// Plain HTTP to the TLS port gets no token: the handshake fails.
	t.Run("plain HTTP to the TLS port", func(t *testing.T) {
		plain := &http.Client{Timeout: 5 * time.Second}
		resp, err := plain.Post("http://"+strings.TrimPrefix(d.issuer, "https://")+"/token", "application/x-www-form-urlencoded",
			strings.NewReader("grant_type=client_credentials&client_id=demo&client_secret="+url.QueryEscape(d.secret)))
		if err == nil {
			b := readAll(t, resp.Body)
			resp.Body.Close()
			if strings.Contains(b, "access_token") {
				t.Fatalf("plain HTTP got a token: %d %s", resp.StatusCode, b)
			}
		}
	})

	// 4. Authorization code flow with PKCE, refresh, replay, revocation.
	// The trusted header names the user; "demo" is not first-party, so the
	// user consents on the consent page, as a browser would.
	s.add("demo user password", d.password)
	alice := map[string]string{"X-Remote-User": "alice"}
	verifier := strings.Repeat("v3rifier-", 6)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	s.add("PKCE verifier", verifier)
	code, hdr, body := d.call(t, s, "GET", "/authorize?"+url.Values{
		"response_type": {"code"}, "client_id": {"demo"}, "state": {"st-1"}, "scope": {"read write"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}.Encode(), nil, alice)
	loc := d.consent(t, s, code, hdr, body, "allow", alice)
	if loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" || loc.Path != "/demo/callback" {
		t.Fatalf("authorize redirect %q", loc)
	}
	authCode := loc.Query().Get("code")
	s.add("authorization code", authCode)
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {authCode}, "code_verifier": {verifier}}
	code, _, body = d.call(t, s, "POST", "/token", exchange, basic("demo", d.secret))
	if code != 200 {
		t.Fatalf("code exchange: %d %s", code, body)
	}
	userAccess, refresh := jsonField(t, body, "access_token"), jsonField(t, body, "refresh_token")
	if refresh == "" {
		t.Fatalf("no refresh token: %s", body)
	}
	s.add("access token (code)", userAccess)
	s.add("refresh token", refresh)
	// The header's "alice" is the configured user: her id is the subject.
	if code, out, errOut := runBinary(t, "", "token", "inspect", "--config", d.devConfig, userAccess); code != 0 || !strings.Contains(out, `"sub": "u-alice"`) {
		t.Fatalf("inspect of the user's token: %d %s %s", code, out, errOut)
	}
	if code, _, body = d.call(t, s, "POST", "/token", exchange, basic("demo", d.secret)); code != 400 || !strings.Contains(body, "invalid_grant") {
		t.Fatalf("code replay: %d %s", code, body)
	}
	// The replay revoked the family: the refresh token is dead too.
	if code, _, body = d.call(t, s, "POST", "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, basic("demo", d.secret)); code != 400 {
		t.Fatalf("refresh after code replay: %d %s", code, body)
	}
	// A fresh grant, for a user the proxy vouches for who is not in the
	// users list: refresh rotates; revoke the new refresh token.
	bob := map[string]string{"X-Remote-User": "bob"}
	code, hdr, body = d.call(t, s, "GET", "/authorize?"+url.Values{"response_type": {"code"}, "client_id": {"demo"}}.Encode(), nil, bob)
	loc = d.consent(t, s, code, hdr, body, "allow", bob)
	code2 := loc.Query().Get("code")
	s.add("authorization code 2", code2)
	if code, _, body = d.call(t, s, "POST", "/token", url.Values{"grant_type": {"authorization_code"}, "code": {code2}}, basic("demo", d.secret)); code != 200 {
		t.Fatalf("second exchange: %d %s", code, body)
	}
	rt2 := jsonField(t, body, "refresh_token")
	s.add("refresh token 2", rt2)
	s.add("access token 2", jsonField(t, body, "access_token"))
	if code, _, body = d.call(t, s, "POST", "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}}, basic("demo", d.secret)); code != 200 {
		t.Fatalf("refresh: %d %s", code, body)
	}
	rt3 := jsonField(t, body, "refresh_token")
	s.add("refresh token 3", rt3)
	s.add("access token 3", jsonField(t, body, "access_token"))
	if code, _, body = d.call(t, s, "POST", "/revoke", url.Values{"token": {rt3}}, basic("demo", d.secret)); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code, _, body = d.call(t, s, "POST", "/introspect", url.Values{"token": {rt3}}, basic("demo", d.secret)); code != 200 || !strings.Contains(body, `"active":false`) {
		t.Fatalf("introspect after revoke: %d %s", code, body)
	}

	// Malformed requests carrying secrets (issue 8): fasthttp's parse
	// errors used to quote them into the log. Sent raw over TLS, as no
	// HTTP client would send them.
	t.Run("malformed requests", func(t *testing.T) {
		cred := base64.StdEncoding.EncodeToString([]byte("demo:" + d.secret))
		s.add("Basic credentials of the demo client", cred)
		host := strings.TrimPrefix(d.issuer, "https://")
		for _, raw := range []string{
			"POST /token HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Basic " + cred + "\x00\r\nContent-Length: 0\r\n\r\n",
			"POST /token HTTP/1.1\r\nHost: " + host + "\r\nclient_secret " + d.secret + "\r\nContent-Length: 0\r\n\r\n",
			"POST /token?client_secret=" + url.QueryEscape(d.secret) + "\r\n\r\n",
			"POST /token HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Basic " + cred + "\r\nContent-Length: x\r\n\r\n",
		} {
			got := d.raw(t, raw)
			if !strings.HasPrefix(got, "HTTP/1.1 4") {
				t.Errorf("a malformed request got %.40q, want a 4xx", got)
			}
			s.errorBodies = append(s.errorBodies, got)
		}
	})

	// 5. Shut down and scan.
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d\n%s", code, d.stderr)
	}
	logText := d.stderr.String()
	if !strings.Contains(logText, `"endpoint":"token"`) || !strings.Contains(logText, `"jti":"`) {
		t.Fatalf("the log lacks request lines:\n%s", logText)
	}
	stdout := d.stdout.String()
	if n := strings.Count(stdout, d.secret); n != 2 {
		t.Errorf("the demo secret appears %d times on stdout, want exactly twice (the two curl lines that use it)", n)
	}
	if n := strings.Count(stdout, d.password); n != 1 {
		t.Errorf("the demo password appears %d times on stdout, want exactly once", n)
	}
	for v, what := range s.values {
		if strings.Contains(logText, v) {
			t.Errorf("the log contains the %s", what)
		}
		if strings.Count(stdout, v) > d.bannerCount(v) {
			t.Errorf("stdout contains the %s", what)
		}
		for _, b := range s.errorBodies {
			if strings.Contains(b, v) {
				t.Errorf("an error body contains the %s: %s", what, b)
			}
		}
	}
	if len(s.errorBodies) < 4 {
		t.Errorf("only %d error bodies scanned", len(s.errorBodies))
	}
}

// TestDevRestartReusesState restarts the dev server on the same data
// directory: the certificate and key rings are reused (a token from the
// first run still opens), the demo secret is new.
func TestDevRestartReusesState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d1 := startDev(t, dir)
	cert1, _ := os.ReadFile(d1.certFile)
	_, _, body := d1.call(t, nil, "POST", "/token", url.Values{"grant_type": {"client_credentials"}}, basic("demo", d1.secret))
	tok := jsonField(t, body, "access_token")
	if code := d1.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	d2 := startDev(t, dir)
	defer d2.stop()
	cert2, _ := os.ReadFile(d2.certFile)
	if string(cert1) != string(cert2) {
		t.Error("the certificate was regenerated")
	}
	if d1.secret == d2.secret {
		t.Error("the demo secret was not regenerated")
	}
	// The issuer URL changed (new free port), so inspect with a ring file.
	rings, _ := filepath.Glob(filepath.Join(dir, "keys", "https-api.example.com-*.json"))
	if len(rings) != 1 {
		t.Fatalf("ring files: %v", rings)
	}
	if code, _, errOut := runBinary(t, "", "token", "inspect", "--ring", rings[0], tok); code != 0 {
		t.Fatalf("a token of the first run does not open after restart: %s", errOut)
	}
	if code, _, body := d2.call(t, nil, "POST", "/token", url.Values{"grant_type": {"client_credentials"}}, basic("demo", d1.secret)); code != 401 {
		t.Fatalf("the old demo secret still works: %d %s", code, body)
	}
}

func TestBadConfigExitCode(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, config, wantStderr string
	}{
		{name: "unknown key is named", config: "issuer: https://a.test\nlisten: 127.0.0.1:0\naudiences: [{name: https://api.test}]\ntls: {cert_file: c.pem, key_file: k.pem}\ntokens: {acces_ttl: 5m}\n", wantStderr: "tokens.acces_ttl"},
		{name: "invalid value is named", config: "issuer: http://a.test\nlisten: 127.0.0.1:0\naudiences: [{name: https://api.test}]\ntls: {cert_file: c.pem, key_file: k.pem}\n", wantStderr: "issuer"},
		{name: "not YAML", config: "issuer: [\n", wantStderr: "config:"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "c"+strconv.Itoa(i)+".yaml")
			if err := os.WriteFile(p, []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := runBinary(t, "", "serve", "--config", p)
			if code != 2 || !strings.Contains(errOut, tt.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want 2 naming %q", code, errOut, tt.wantStderr)
			}
		})
	}
	if code, out, _ := runBinary(t, "", "version"); code != 0 || !strings.HasPrefix(out, "issuer v0.0.0-e2e") {
		t.Fatalf("version: %d %q", code, out)
	}
}

// TestGracefulShutdownWithSlowRequest sends a request whose body arrives
// slowly, sends SIGTERM in between, and checks the request still gets its
// token and the process then exits 0.
func TestGracefulShutdownWithSlowRequest(t *testing.T) {
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	u, _ := url.Parse(d.issuer)
	pool := d.client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	form := "grant_type=client_credentials&scope=read"
	head := "POST /token HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Authorization: " + basic("demo", d.secret)["Authorization"] + "\r\nContent-Length: " + strconv.Itoa(len(form)) + "\r\n\r\n"
	if _, err := io.WriteString(conn, head+form[:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	select {
	case <-d.exited:
		t.Fatalf("the issuer exited with a request in flight\n%s", d.stderr)
	default:
	}
	if _, err := io.WriteString(conn, form[10:]); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no response: %v\n%s", err, d.stderr)
	}
	body := readAll(t, resp.Body)
	if resp.StatusCode != 200 || jsonField(t, body, "access_token") == "" {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, body)
	}
	if code := d.wait(); code != 0 {
		t.Fatalf("exit code %d\n%s", code, d.stderr)
	}
	if !strings.Contains(d.stderr.String(), "draining") {
		t.Errorf("no shutdown line in the log")
	}
	assertNoLeak(t, d, d.secret, jsonField(t, body, "access_token"))
}

// TestOAuth2ClientCredentials gets a token with golang.org/x/oauth2.
func TestOAuth2ClientCredentials(t *testing.T) {
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	var tokens []string
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{ClientID: "demo", ClientSecret: d.secret, TokenURL: d.issuer + "/token", Scopes: []string{"read", "write"}, AuthStyle: style}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, d.client)
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("auth style %d: %v", style, err)
		}
		if tok.AccessToken == "" || tok.TokenType != "Bearer" || time.Until(tok.Expiry) < time.Minute {
			t.Fatalf("token %+v", tok)
		}
		tokens = append(tokens, tok.AccessToken)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	assertNoLeak(t, d, append(tokens, d.secret)...)
}

// TestPythonRequestsOAuthlib gets a token with Python's requests-oauthlib
// BackendApplicationClient, verifying the dev certificate.
func TestPythonRequestsOAuthlib(t *testing.T) {
	const py = "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import requests_oauthlib, oauthlib").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-requests-oauthlib missing and CI=true: %v %s", err, out)
		}
		t.Skip("install python3-requests-oauthlib (apt-get install -y python3-requests-oauthlib)")
	}
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	script := `
import os
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session
from requests.auth import HTTPBasicAuth
client = BackendApplicationClient(client_id="demo")
s = OAuth2Session(client=client)
tok = s.fetch_token(token_url=os.environ["TOKEN_URL"], auth=HTTPBasicAuth("demo", os.environ["SECRET"]), verify=os.environ["CA"], scope=["read"])
assert tok["token_type"] == "Bearer", tok
print(tok["access_token"])
`
	cmd := exec.Command(py, "-c", script)
	cmd.Env = append(os.Environ(), "TOKEN_URL="+d.issuer+"/token", "SECRET="+d.secret, "CA="+d.certFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("requests-oauthlib: %v\n%s", err, out)
	}
	tok := strings.TrimSpace(string(out))
	if code, _, errOut := runBinary(t, "", "token", "inspect", "--config", d.devConfig, tok); code != 0 {
		t.Fatalf("the token Python got does not open: %s", errOut)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	assertNoLeak(t, d, d.secret, tok)
}

// TestDevPrintedCodeCurls runs the banner's trusted-header curl as printed:
// it gets a code for the first-party client demo-cli in the Location
// header, and the printed exchange curl, with that code in place of CODE,
// gets a token for the demo user.
func TestDevPrintedCodeCurls(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("curl missing under CI: %v", err)
		}
		t.Skip("install curl: apt-get install -y curl")
	}
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	out, err := exec.Command("sh", "-c", d.cliAuthorizeCurl+" --show-error").CombinedOutput()
	if err != nil {
		t.Fatalf("the printed authorize curl failed: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?mi)^location: (\S+)\s*$`).FindStringSubmatch(string(out))
	if m == nil || !strings.HasPrefix(string(out), "HTTP/") {
		t.Fatalf("no Location in:\n%s", out)
	}
	loc, err := url.Parse(m[1])
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "xyz" || loc.Path != "/demo/callback" {
		t.Fatalf("Location %q: no code", m[1])
	}
	code := loc.Query().Get("code")
	if strings.ContainsAny(code, " '\"$`\\;&|") {
		t.Fatalf("code %q is not shell-safe", code)
	}
	tok, err := exec.Command("sh", "-c", strings.Replace(d.cliCodeCurl, "code=CODE", "code="+code, 1)+" --silent --show-error").CombinedOutput()
	if err != nil {
		t.Fatalf("the printed exchange curl failed: %v\n%s", err, tok)
	}
	access := jsonField(t, string(tok), "access_token")
	if access == "" || jsonField(t, string(tok), "refresh_token") == "" {
		t.Fatalf("exchange: %s", tok)
	}
	codeOut, insp, errOut := runBinary(t, "", "token", "inspect", "--config", d.devConfig, access)
	var got struct{ Claims map[string]any }
	if codeOut != 0 || json.Unmarshal([]byte(insp), &got) != nil {
		t.Fatalf("inspect: %d %s %s", codeOut, insp, errOut)
	}
	if got.Claims["sub"] != "u-alice" || got.Claims["client_id"] != "demo-cli" || got.Claims["scope"] != "read" {
		t.Fatalf("claims %v", got.Claims)
	}
	// The code is single use: the printed exchange, run again, fails.
	again, _ := exec.Command("sh", "-c", strings.Replace(d.cliCodeCurl, "code=CODE", "code="+code, 1)+" --silent").CombinedOutput()
	if !strings.Contains(string(again), "invalid_grant") {
		t.Fatalf("second exchange of the code: %s", again)
	}
	if st := d.stop(); st != 0 {
		t.Fatalf("exit %d", st)
	}
	assertNoLeak(t, d, d.secret, d.password, d.verifier, code, access, jsonField(t, string(tok), "refresh_token"))
}

// TestDevServerBrowserLogin walks the dev server's login page in headless
// Chromium against the real binary (SPEC §5: the page is tested in a real
// browser): open the /authorize URL the banner prints, sign in as the demo
// user with the printed password, consent, land on the issuer's
// /demo/callback page, read the code there, exchange it with the printed
// demo secret, and open the access token with "issuer token inspect".
func TestDevServerBrowserLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bctx := browsertest.New(t, ctx)
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	s := &secrets{values: map[string]string{}}
	s.add("demo client secret", d.secret)
	s.add("demo user password", d.password)

	browsertest.Step(t, bctx, "open the login page",
		chromedp.Navigate(d.browserURL),
		chromedp.WaitVisible(chromedp.CSS("#username")),
	)
	if title := browsertest.Get(t, bctx, "read the title", chromedp.Title()); !strings.HasPrefix(title, "Sign in") {
		t.Errorf("login page title %q", title)
	}
	browsertest.Step(t, bctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), d.password),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#allow")),
	)
	scopes := browsertest.Get(t, bctx, "read the scopes", chromedp.Text(chromedp.CSS("fieldset")))
	client := browsertest.Get(t, bctx, "read the client", chromedp.Text(chromedp.CSS("#client")))
	if !strings.Contains(scopes, "read") || !strings.Contains(scopes, "write") || client != "demo" {
		t.Errorf("consent page: client %q, scopes %q", client, scopes)
	}
	if page := browsertest.Get(t, bctx, "read the consent page", chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(page, d.password) {
		t.Fatal("the consent page carries the password")
	}
	browsertest.Step(t, bctx, "allow", chromedp.Click(chromedp.CSS("#allow")), chromedp.WaitVisible(chromedp.CSS("#code")))
	loc := browsertest.Get(t, bctx, "read the location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != d.issuer+"/demo/callback" {
		t.Fatalf("landed on %q, want %s/demo/callback", loc, d.issuer)
	}
	code := strings.TrimSpace(browsertest.Get(t, bctx, "read the code", chromedp.Text(chromedp.CSS("#code"))))
	state := browsertest.Get(t, bctx, "read the state", chromedp.Text(chromedp.CSS("#state")))
	if code == "" || code != u.Query().Get("code") || state != "xyz" {
		t.Fatalf("callback page: code %q (URL has %q), state %q", code, u.Query().Get("code"), state)
	}
	s.add("authorization code", code)

	st, _, body := d.call(t, s, "POST", "/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}}, basic("demo", d.secret))
	if st != 200 {
		t.Fatalf("code exchange: %d %s", st, body)
	}
	access := jsonField(t, body, "access_token")
	s.add("access token", access)
	s.add("refresh token", jsonField(t, body, "refresh_token"))
	codeOut, out, errOut := runBinary(t, "", "token", "inspect", "--config", d.devConfig, access)
	var got struct{ Claims map[string]any }
	if codeOut != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("token inspect: %d %s %s", codeOut, out, errOut)
	}
	if got.Claims["sub"] != "u-alice" || got.Claims["client_id"] != "demo" || got.Claims["scope"] != "read write" || got.Claims["auth_time"] == nil {
		t.Fatalf("claims %v", got.Claims)
	}

	if st := d.stop(); st != 0 {
		t.Fatalf("exit %d", st)
	}
	logText := d.stderr.String()
	if !strings.Contains(logText, `"event":"login"`) || !strings.Contains(logText, `"event":"consent"`) {
		t.Errorf("the log lacks the login page's audit lines:\n%s", logText)
	}
	vals := []string{}
	for v := range s.values {
		vals = append(vals, v)
	}
	assertNoLeak(t, d, vals...)
	for v, what := range s.values {
		for _, b := range s.errorBodies {
			if strings.Contains(b, v) {
				t.Errorf("an error body contains the %s", what)
			}
		}
	}
}
