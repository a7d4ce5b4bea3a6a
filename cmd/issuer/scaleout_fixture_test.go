package main_test

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/redis/redistest"
)

// The scale-out fixture (SPEC §7): one redis-server and two issuer
// processes, A and B, started from ONE configuration file. They differ
// only in their listen address (ISSUER_LISTEN), as replicas behind a load
// balancer do; they share the keys.dir, the TLS certificate and the Redis
// store, and both issue tokens with the same "iss" (the issuer URL names
// A's port: a real deployment names the load balancer).

const (
	scaleAudience = "https://api.scale.test"
	scaleRedirect = "https://app.scale.test/cb"
	scaleUser     = "X-Remote-User"
)

// scaleOptions vary the fixture.
type scaleOptions struct {
	// redisArgs are passed to redis-server after redistest's defaults.
	redisArgs []string
	// propagation is keys.propagation (default 3s); keys.rotate_every is
	// the configuration's minimum, 1m, so no rotation happens on schedule
	// during a test and every rotation is one the test asks for.
	propagation time.Duration
	// clients are YAML list entries appended to the configuration's
	// clients (indented as list items under "clients:").
	clients string
}

// scaleCluster is a running Redis with two issuer replicas on it.
type scaleCluster struct {
	redis    *redistest.Server
	dir      string
	cfgPath  string
	issuer   string // the "iss" of every token: https://127.0.0.1:<A's port>
	a, b     *scaleReplica
	client   *http.Client
	certPool *x509.CertPool
	// webSecret is the secret of "webapp" (authorization_code,
	// refresh_token, client_credentials); rsSecret that of "rs", the
	// registered resource server of the audience, which introspects.
	webSecret, rsSecret string
	propagation         time.Duration
	// clients are scaleOptions.clients.
	clients string
}

// scaleReplica is one issuer process.
type scaleReplica struct {
	name string
	base string // https://127.0.0.1:<port>
	*proc
}

// startScaleCluster starts Redis and the two replicas, and returns once
// both answer /readyz 200. Everything is stopped when t ends.
func startScaleCluster(t *testing.T, o scaleOptions) *scaleCluster {
	t.Helper()
	c := newScaleBase(t, o)
	c.redis = redistest.Start(t, o.redisArgs...)
	addrA, addrB := scaleFreeAddr(t), scaleFreeAddr(t)
	c.writeConfig(t, addrA, c.redis.URL)
	// Both start at once, as replicas of one deployment do: key ring
	// creation is create-only, so they end up sharing one ring.
	c.a = c.startReplica(t, "A", addrA)
	c.b = c.startReplica(t, "B", addrB)
	for _, r := range c.replicas() {
		c.waitReady(t, r, 20*time.Second)
	}
	return c
}

// newScaleBase makes the fixture's data directory, TLS certificate, login
// key, client secrets and HTTP client, without starting anything.
func newScaleBase(t *testing.T, o scaleOptions) *scaleCluster {
	t.Helper()
	if o.propagation == 0 {
		o.propagation = 3 * time.Second
	}
	c := &scaleCluster{dir: t.TempDir(), propagation: o.propagation, clients: o.clients}
	cert, key := filepath.Join(c.dir, "tls", "cert.pem"), filepath.Join(c.dir, "tls", "key.pem")
	if _, err := devtls.Ensure(cert, key, devtls.DefaultHosts, time.Now()); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	c.certPool = x509.NewCertPool()
	if !c.certPool.AppendCertsFromPEM(pem) {
		t.Fatal("bad certificate")
	}
	c.client = &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: c.certPool},
			MaxIdleConnsPerHost: 16,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(c.client.CloseIdleConnections)
	c.webSecret, c.rsSecret = scaleSecret(t), scaleSecret(t)

	// The login page's CSRF and ticket key: one file for every replica, so
	// that a form one replica renders is accepted by the other.
	var loginKey [32]byte
	if _, err := rand.Read(loginKey[:]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "login.key"), []byte(base64.StdEncoding.EncodeToString(loginKey[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// writeConfig writes the configuration file every replica starts from:
// the issuer URL names addrA, the store is storeValue ("file", "memory" or
// a Redis URL).
func (c *scaleCluster) writeConfig(t *testing.T, addrA, storeValue string) {
	t.Helper()
	c.issuer = "https://" + addrA
	c.cfgPath = filepath.Join(c.dir, "issuer.yaml")
	cfg := fmt.Sprintf(`# Shared by both replicas; ISSUER_LISTEN gives each its address.
issuer: %s
listen: %s
data_dir: %s
tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}
keys: {dir: keys, alg: A256KW, rotate_every: 1m, propagation: %s}
tokens: {access_ttl: 10m, refresh_ttl: 720h, code_ttl: 1m, leeway: 30s}
store: %s
audiences:
  - {name: %q, default: true}
login:
  trusted_header: %s
  trusted_proxies: [127.0.0.1/32]
  key_file: login.key
log: {level: info, format: json}
# The load loop refreshes far more new grants for its one user than a
# person would; the per-client quota is not what this test is about.
rate_limit: {client_writes: 1000000}
clients:
  - id: webapp
    secret_hash: %q
    redirect_uris: [%q]
    grant_types: [authorization_code, refresh_token, client_credentials]
    response_types: [code]
    scopes: [read, write]
    default_scopes: [read]
    skip_consent: true
%sresource_servers:
  - id: rs
    audiences: [%q]
    secret_hash: %q
`, c.issuer, addrA, c.dir, c.propagation, storeValue, scaleAudience, scaleUser,
		secret.NewSHA256(c.webSecret), scaleRedirect, c.clients, scaleAudience, secret.NewSHA256(c.rsSecret))
	if err := os.WriteFile(c.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (c *scaleCluster) startReplica(t *testing.T, name, addr string) *scaleReplica {
	t.Helper()
	p := start(t, []string{"ISSUER_LISTEN=" + addr, "ISSUER_STORE=", "ISSUER_DATA_DIR="}, "serve", "--config", c.cfgPath)
	return &scaleReplica{name: name, base: "https://" + addr, proc: p}
}

// replicas returns the running replicas: A, and B unless the fixture has
// one replica only.
func (c *scaleCluster) replicas() []*scaleReplica {
	if c.b == nil {
		return []*scaleReplica{c.a}
	}
	return []*scaleReplica{c.a, c.b}
}

// other returns the replica that is not r.
func (c *scaleCluster) other(r *scaleReplica) *scaleReplica {
	if r == c.a {
		return c.b
	}
	return c.a
}

// waitReady polls /readyz until it answers 200.
func (c *scaleCluster) waitReady(t *testing.T, r *scaleReplica, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := "no answer"
	for time.Now().Before(deadline) {
		select {
		case <-r.exited:
			t.Fatalf("replica %s exited (%d)\nstderr:\n%s", r.name, r.exitCode, r.stderr)
		default:
		}
		status, body, err := c.do(r, "GET", "/readyz", nil, nil)
		if err == nil && status == 200 {
			return
		}
		last = fmt.Sprintf("%d %s %v", status, body, err)
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("replica %s not ready within %s: %s\nstderr:\n%s", r.name, within, last, r.stderr)
}

// do sends one request to r. It is safe for concurrent use.
func (c *scaleCluster) do(r *scaleReplica, method, path string, form url.Values, header map[string]string) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, r.base+path, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s on %s: %w", method, path, r.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	if method == "GET" && strings.HasPrefix(path, "/authorize") {
		// The code travels in Location; return it as the body.
		return resp.StatusCode, resp.Header.Get("Location"), nil
	}
	return resp.StatusCode, string(b), nil
}

// call is do for the test goroutine: a transport error fails the test.
func (c *scaleCluster) call(t *testing.T, r *scaleReplica, method, path string, form url.Values, header map[string]string) (int, string) {
	t.Helper()
	status, body, err := c.do(r, method, path, form, header)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// authorize runs /authorize on r for user, approved by the trusted header
// (the client skips consent), and returns the code.
func (c *scaleCluster) authorize(r *scaleReplica, user string) (string, error) {
	q := url.Values{"response_type": {"code"}, "client_id": {"webapp"}, "state": {"s-" + user}, "scope": {"read write"}}
	status, loc, err := c.do(r, "GET", "/authorize?"+q.Encode(), nil, map[string]string{scaleUser: user})
	if err != nil {
		return "", err
	}
	u, perr := url.Parse(loc)
	if status != 302 || perr != nil || u.Query().Get("code") == "" {
		return "", fmt.Errorf("authorize on %s: %d, Location %q", r.name, status, loc)
	}
	if got := u.Query().Get("iss"); got != c.issuer {
		return "", fmt.Errorf("authorize on %s: iss %q, want %q", r.name, got, c.issuer)
	}
	return u.Query().Get("code"), nil
}

func (c *scaleCluster) mustAuthorize(t *testing.T, r *scaleReplica, user string) string {
	t.Helper()
	code, err := c.authorize(r, user)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// token posts a grant to r's token endpoint as webapp.
func (c *scaleCluster) token(r *scaleReplica, form url.Values) (int, string, error) {
	return c.do(r, "POST", "/token", form, basic("webapp", c.webSecret))
}

func (c *scaleCluster) exchange(r *scaleReplica, code string) (int, string, error) {
	return c.token(r, url.Values{"grant_type": {"authorization_code"}, "code": {code}})
}

func (c *scaleCluster) refresh(r *scaleReplica, rt string) (int, string, error) {
	return c.token(r, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

func (c *scaleCluster) clientCredentials(r *scaleReplica) (int, string, error) {
	return c.token(r, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
}

// introspect asks r about tok as the resource server "rs", or as webapp
// (the only client a refresh token is shown active to).
func (c *scaleCluster) introspect(r *scaleReplica, tok string, asWebapp bool) (int, string, error) {
	auth := basic("rs", c.rsSecret)
	if asWebapp {
		auth = basic("webapp", c.webSecret)
	}
	return c.do(r, "POST", "/introspect", url.Values{"token": {tok}}, auth)
}

// mustTokens expects a 200 token response and returns its access and
// refresh tokens.
func mustTokens(t *testing.T, what string, status int, body string, err error) (access, refresh string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if status != 200 {
		t.Fatalf("%s: %d %s", what, status, body)
	}
	return jsonField(t, body, "access_token"), jsonField(t, body, "refresh_token")
}

// wantOAuthError expects an RFC 6749 §5.2 error response.
func wantOAuthError(t *testing.T, what string, wantStatus int, wantCode string, status int, body string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var e struct {
		Error string `json:"error"`
	}
	if status != wantStatus || json.Unmarshal([]byte(body), &e) != nil || e.Error != wantCode {
		t.Fatalf("%s: %d %s; want %d %s", what, status, body, wantStatus, wantCode)
	}
}

// wantActive expects an introspection answer with active = want.
func wantActive(t *testing.T, what string, want bool, status int, body string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	active, ok := introspectionActive(status, body)
	if !ok || active != want {
		t.Fatalf("%s: %d %s; want active %v", what, status, body, want)
	}
}

// introspectionActive reads RFC 7662 §2.2's "active" member.
func introspectionActive(status int, body string) (active, ok bool) {
	var r struct {
		Active *bool `json:"active"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &r) != nil || r.Active == nil {
		return false, false
	}
	return *r.Active, true
}

// tokenField reads a string member of a token response without a
// *testing.T (for goroutines).
func tokenField(body, field string) string {
	var m map[string]any
	if json.Unmarshal([]byte(body), &m) != nil {
		return ""
	}
	s, _ := m[field].(string)
	return s
}

// kidOf returns the kid of a compact JWE's protected header.
func kidOf(tok string) string {
	h, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	if json.Unmarshal(raw, &hdr) != nil {
		return ""
	}
	return hdr.Kid
}

// jweInLog matches a compact JWE (a token or code) as it would appear in
// a log line: every one of ours starts with the base64url of `{"`.
var jweInLog = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{10,}\.`)

// stop shuts both replicas down with SIGTERM, expects exit code 0, and
// scans what they logged for client secrets and for any token or code
// (SPEC §8: nothing secret leaks, replicas included).
func (c *scaleCluster) stop(t *testing.T) {
	t.Helper()
	// Close the client's keep-alive connections first, as a load balancer
	// drains a replica. (Connections that never sent a request, which Go's
	// transport dials as spares under concurrency, no longer hold up the
	// graceful shutdown: internal/server closes them at once.)
	c.client.CloseIdleConnections()
	for _, r := range c.replicas() {
		_ = r.cmd.Process.Signal(os.Interrupt)
	}
	for _, r := range c.replicas() {
		if code := r.wait(); code != 0 {
			t.Errorf("replica %s exited %d\nstderr:\n%s", r.name, code, r.stderr)
		}
		logText := r.stderr.String() + r.stdout.String()
		if !strings.Contains(logText, `"endpoint":"`) {
			t.Errorf("replica %s logged no request", r.name)
		}
		for what, v := range map[string]string{"webapp secret": c.webSecret, "rs secret": c.rsSecret} {
			if strings.Contains(logText, v) {
				t.Errorf("replica %s logged the %s", r.name, what)
			}
		}
		if m := jweInLog.FindString(logText); m != "" {
			t.Errorf("replica %s logged a token or code (%.12s...)", r.name, m)
		}
	}
}

// scaleSecret returns a fresh high-entropy client secret.
func scaleSecret(t *testing.T) string {
	t.Helper()
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// scaleFreeAddr returns a 127.0.0.1 address whose port was free a moment
// ago. Another process may take it before the issuer binds it; the
// replica then fails to start and the test says so.
func scaleFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// failures collects failures from concurrent workers: all are counted,
// the first few kept in full.
type failures struct {
	mu    sync.Mutex
	n     int
	first []error
}

func (f *failures) add(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if len(f.first) < 10 {
		f.first = append(f.first, fmt.Errorf(format, args...))
	}
}

// report returns the count and the first failures.
func (f *failures) report() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n, errors.Join(f.first...)
}
