package main_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/interop"
	"github.com/sealedtoken/issuer/internal/testbin"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// grantsServer is the issuer binary serving a configuration with a client
// for each SPEC §12 grant: "tv" (public, device grant), "parapp" (must
// push its authorization requests; first-party), "svc" (token exchange
// into the billing audience) and "backend" (client_credentials, whose
// tokens svc exchanges). Users come through the trusted header
// X-Remote-User from loopback, or sign in as alice.
type grantsServer struct {
	proc                           *proc
	issuer, cfgPath, certFile, dir string
	pool                           *x509.CertPool
	client                         *http.Client
	parSecret, svcSecret, ccSecret string
	alicePassword                  string
}

const (
	grantsAPI     = "https://api.grants.test"
	grantsBilling = "https://billing.grants.test"
	grantsCB      = "https://app.grants.test/cb"
)

func startGrantsServer(t *testing.T) *grantsServer {
	t.Helper()
	g := &grantsServer{dir: t.TempDir(), parSecret: scaleSecret(t), svcSecret: scaleSecret(t), ccSecret: scaleSecret(t), alicePassword: scaleSecret(t)}
	g.certFile = filepath.Join(g.dir, "tls", "cert.pem")
	if _, err := devtls.Ensure(g.certFile, filepath.Join(g.dir, "tls", "key.pem"), devtls.DefaultHosts, time.Now()); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(g.certFile)
	if err != nil {
		t.Fatal(err)
	}
	g.pool = x509.NewCertPool()
	g.pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: g.pool}}
	t.Cleanup(tr.CloseIdleConnections)
	g.client = &http.Client{Timeout: 15 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	addr := scaleFreeAddr(t)
	g.issuer = "https://" + addr
	g.cfgPath = filepath.Join(g.dir, "issuer.yaml")
	cfg := fmt.Sprintf(`issuer: %s
listen: %s
data_dir: %s
tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}
keys: {dir: keys, rotate_every: 1m, propagation: 3s}
store: memory
audiences:
  - {name: %q, default: true}
  - {name: %q}
login:
  trusted_header: X-Remote-User
  trusted_proxies: [127.0.0.1/32]
clients:
  - id: tv
    public: true
    grant_types: ["urn:ietf:params:oauth:grant-type:device_code", refresh_token]
    scopes: [read, write]
    default_scopes: [read]
  - id: parapp
    secret_hash: %q
    redirect_uris: [%q]
    grant_types: [authorization_code]
    scopes: [read]
    skip_consent: true
    require_pushed_authorization_requests: true
  - id: svc
    secret_hash: %q
    grant_types: ["urn:ietf:params:oauth:grant-type:token-exchange"]
    scopes: [read]
    token_exchange: {audiences: [%q]}
  - id: backend
    secret_hash: %q
    grant_types: [client_credentials]
    scopes: [read]
    default_scopes: [read]
users:
  - {username: alice, id: u-alice, password_hash: %q}
`, g.issuer, addr, g.dir, grantsAPI, grantsBilling,
		secret.NewSHA256(g.parSecret), grantsCB, secret.NewSHA256(g.svcSecret), grantsBilling,
		secret.NewSHA256(g.ccSecret), secret.NewSHA256(g.alicePassword))
	if err := os.WriteFile(g.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g.proc = start(t, []string{"ISSUER_LISTEN=", "ISSUER_STORE=", "ISSUER_DATA_DIR="}, "serve", "--config", g.cfgPath)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := g.client.Get(g.issuer + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case <-g.proc.exited:
			t.Fatalf("issuer exited (%d):\n%s", g.proc.exitCode, g.proc.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("issuer not ready: %v\n%s", err, g.proc.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return g
}

// inspect runs "issuer token inspect" on an access token and returns its
// claims.
func (g *grantsServer) inspect(t *testing.T, tok string) map[string]any {
	t.Helper()
	code, out, errOut := runBinary(t, "", "token", "inspect", "--config", g.cfgPath, tok)
	if code != 0 {
		t.Fatalf("token inspect: %d %s", code, errOut)
	}
	var v struct{ Claims map[string]any }
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return v.Claims
}

// alice is a browser whose requests the trusted proxy says come from alice.
func (g *grantsServer) alice(t *testing.T) *pageUser {
	return newPageUser(t, g.pool, map[string]string{"X-Remote-User": "alice"})
}

// TestOAuth2DeviceFlow: golang.org/x/oauth2's device flow support (RFC
// 8628: DeviceAuth, then DeviceAccessToken polling at the interval)
// against the binary, with the user approving on the verification page
// while it polls.
func TestOAuth2DeviceFlow(t *testing.T) {
	g := startGrantsServer(t)
	cfg := oauth2.Config{ClientID: "tv", Scopes: []string{"read"}, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: g.issuer + "/device_authorization", TokenURL: g.issuer + "/token",
	}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, g.client)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if da.VerificationURIComplete == "" || !strings.Contains(da.UserCode, "-") || da.Interval != 5 {
		t.Fatalf("device auth response %+v", da)
	}
	type polled struct {
		tok *oauth2.Token
		err error
	}
	done := make(chan polled, 1)
	go func() { // the device polls while the user approves
		tok, err := cfg.DeviceAccessToken(ctx, da)
		done <- polled{tok, err}
	}()
	time.Sleep(time.Second)
	if page := newPageUser(t, g.pool, nil).approveDevice(t, da.VerificationURIComplete, "alice", g.alicePassword, "allow"); !strings.Contains(page, "Device connected") {
		t.Fatalf("result page:\n%s", page)
	}
	p := <-done
	tok, err := p.tok, p.err
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" {
		t.Fatalf("token %+v", tok)
	}
	c := g.inspect(t, tok.AccessToken)
	if c["sub"] != "u-alice" || c["client_id"] != "tv" || c["scope"] != "read" {
		t.Fatalf("claims %v", c)
	}
	// x/oauth2 refreshes it like any token.
	fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || fresh.AccessToken == "" {
		t.Fatalf("refresh: %v", err)
	}
}

// nodeRun is a running grants12.mjs.
type nodeRun struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
	stdin io.WriteCloser
	errb  *testbin.Buffer
}

func (g *grantsServer) node(t *testing.T, node string, args ...string) *nodeRun {
	t.Helper()
	cmd := exec.Command(node, append([]string{filepath.Join(interop.NodeDir(), "grants12.mjs")}, args...)...)
	cmd.Dir = interop.NodeDir()
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+g.certFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &nodeRun{cmd: cmd, lines: bufio.NewScanner(out), stdin: stdin, errb: &testbin.Buffer{}}
	r.lines.Buffer(nil, 1<<20)
	cmd.Stderr = r.errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return r
}

// next decodes the script's next JSON line into v.
func (r *nodeRun) next(t *testing.T, v any) {
	t.Helper()
	done := make(chan bool, 1)
	go func() { done <- r.lines.Scan() }()
	select {
	case ok := <-done:
		if !ok {
			_ = r.cmd.Wait()
			t.Fatalf("openid-client script ended: %v\n%s", r.lines.Err(), r.errb)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("openid-client script silent for 60 s\n%s", r.errb)
	}
	if err := json.Unmarshal(r.lines.Bytes(), v); err != nil {
		t.Fatalf("%v: %s", err, r.lines.Bytes())
	}
}

// TestNodeOpenIDClientGrants: npm openid-client 6.9.0 against the binary,
// as a third-party application would use it: the device flow (it polls
// while the user approves), a pushed authorization request from a client
// that must push (RFC 9126), and token exchange through its generic grant
// function (RFC 8693).
func TestNodeOpenIDClientGrants(t *testing.T) {
	node := interop.RequireNode(t)
	g := startGrantsServer(t)

	t.Run("RFC 8628 device flow", func(t *testing.T) {
		r := g.node(t, node, "device", g.issuer, "tv")
		var da struct {
			UserCode                string `json:"user_code"`
			VerificationURIComplete string `json:"verification_uri_complete"`
		}
		r.next(t, &da)
		if page := g.alice(t).approveDevice(t, da.VerificationURIComplete, "", "", "allow"); !strings.Contains(page, "Device connected") {
			t.Fatalf("result page:\n%s", page)
		}
		var tok map[string]string
		r.next(t, &tok)
		if !strings.EqualFold(tok["token_type"], "bearer") || tok["refresh_token"] == "" {
			t.Fatalf("tokens %v", tok)
		}
		if c := g.inspect(t, tok["access_token"]); c["sub"] != "u-alice" || c["client_id"] != "tv" {
			t.Fatalf("claims %v", c)
		}
	})

	t.Run("RFC 9126 pushed authorization request", func(t *testing.T) {
		r := g.node(t, node, "par", g.issuer, "parapp", g.parSecret, grantsCB)
		var out map[string]string
		r.next(t, &out)
		u, err := url.Parse(out["url"])
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if !strings.HasPrefix(q.Get("request_uri"), "urn:ietf:params:oauth:request_uri:") || q.Get("client_id") != "parapp" || q.Has("redirect_uri") || q.Has("code_challenge") {
			t.Fatalf("the authorization URL is not a pushed request's: %s", u)
		}
		st, body, hdr := g.alice(t).do(t, "GET", u.String(), nil)
		if st != 302 {
			t.Fatalf("authorize: %d %s", st, body)
		}
		if _, err := io.WriteString(r.stdin, hdr.Get("Location")+"\n"); err != nil {
			t.Fatal(err)
		}
		r.next(t, &out)
		if c := g.inspect(t, out["access_token"]); c["sub"] != "u-alice" || c["client_id"] != "parapp" || c["scope"] != "read" {
			t.Fatalf("claims %v", c)
		}
		// The request_uri is spent (RFC 9126 §4), and parapp's plain
		// requests are refused (require_pushed_authorization_requests).
		if st, body, _ := g.alice(t).do(t, "GET", u.String(), nil); st != 400 || !strings.Contains(body, "invalid_request_uri") {
			t.Fatalf("reused request_uri: %d %s", st, body)
		}
		plain := g.issuer + "/authorize?" + url.Values{"client_id": {"parapp"}, "response_type": {"code"}, "redirect_uri": {grantsCB}, "scope": {"read"},
			"code_challenge": {strings.Repeat("A", 43)}, "code_challenge_method": {"S256"}}.Encode()
		if st, _, hdr := g.alice(t).do(t, "GET", plain, nil); st != 302 || !strings.Contains(hdr.Get("Location"), "error=invalid_request") {
			t.Fatalf("a plain request of a client that must push: %d %s", st, hdr.Get("Location"))
		}
	})

	t.Run("RFC 8693 token exchange through genericGrantRequest", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"backend"}, "client_secret": {g.ccSecret}}
		resp, err := g.client.PostForm(g.issuer+"/token", form)
		if err != nil {
			t.Fatal(err)
		}
		var cc map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&cc)
		resp.Body.Close()
		subject, _ := cc["access_token"].(string)
		if subject == "" {
			t.Fatalf("client_credentials: %v", cc)
		}
		r := g.node(t, node, "exchange", g.issuer, "svc", g.svcSecret, subject, grantsBilling)
		var out map[string]string
		r.next(t, &out)
		if out["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || out["refresh_token"] != "" {
			t.Fatalf("exchange response %v", out)
		}
		c := g.inspect(t, out["access_token"])
		if c["sub"] != "backend" || c["client_id"] != "svc" || c["aud"] != grantsBilling {
			t.Fatalf("claims %v", c)
		}
	})
	g.proc.stop()
	for _, v := range []string{g.parSecret, g.svcSecret, g.ccSecret, g.alicePassword} {
		if strings.Contains(g.proc.stderr.String(), v) || strings.Contains(g.proc.stdout.String(), v) {
			t.Errorf("the issuer printed a secret (%.6s...)", v)
		}
	}
}
