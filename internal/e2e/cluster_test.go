package e2e

// The SPEC §9 cluster: one redis-server, two issuer replicas with their
// rings in that Redis (keys.store: redis) and data directories of their
// own — no shared key directory —, a TCP load balancer in front of them
// whose address is the issuer URL, and the example resource server,
// started with nothing but the issuer URL, its id and its key. The
// audience is signed (audiences[].sign), so the resource server also
// verifies the issuer's signature in every token, across rotations of the
// signing ring.

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/redis/redistest"
)

const (
	e2eAudience = "https://orders.e2e.test"
	e2eRS       = "orders-api"
	e2eUser     = "alice"
	e2eUserID   = "u-alice"
)

type cluster struct {
	t         *testing.T
	dir       string
	redis     *redistest.Server
	cfgPath   string
	env       []string // ISSUER_KEK
	issuer    string   // https://<load balancer>
	lb        *balancer
	replicas  []*replica
	cert      string // the issuers' certificate, which the resource server trusts (SSL_CERT_FILE)
	client    *http.Client
	secret    string // the client's secret
	password  string // alice's
	rsKeyFile string
	rs        *proc
	rsBase    string // http://127.0.0.1:<port> of the resource server
	listTTL   time.Duration
	prop      time.Duration
	// Tokens the revocation step leaves for the restart step.
	revokedTokens, validTokens []string
}

type replica struct {
	name string
	base string // https://127.0.0.1:<port>, its own address
	dir  string // its own data_dir
	addr string
	*proc
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().String()
}

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	_, err := rand.Read(b)
	must(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

// startCluster starts Redis, the two replicas behind the balancer, and
// returns once both are ready. The resource server is started by startRS.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), redis: redistest.Start(t), listTTL: 2 * time.Second, prop: 5 * time.Second}
	c.cert = filepath.Join(c.dir, "tls", "cert.pem")
	key := filepath.Join(c.dir, "tls", "key.pem")
	_, err := devtls.Ensure(c.cert, key, devtls.DefaultHosts, time.Now())
	must(t, err)
	pem, err := os.ReadFile(c.cert)
	must(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c.client = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16,
	}}
	t.Cleanup(c.client.CloseIdleConnections)
	kek := make([]byte, 32)
	_, err = rand.Read(kek)
	must(t, err)
	c.env = []string{"ISSUER_KEK=" + base64.StdEncoding.EncodeToString(kek)}
	c.secret, c.password = randomSecret(t), randomSecret(t)

	// The resource server's key pair, made as the README says: `issuer rs
	// new` writes the private JWK Set for the resource server and prints
	// the entry for the issuer's configuration.
	c.rsKeyFile = filepath.Join(c.dir, "rs", "rs-key.json")
	must(t, os.MkdirAll(filepath.Dir(c.rsKeyFile), 0o700))
	out := run(t, issuerBin, nil, "rs", "new", "--id", e2eRS, "--audience", e2eAudience, "--out", c.rsKeyFile)
	i := strings.Index(out, "  - id:")
	if i < 0 {
		t.Fatalf("issuer rs new printed no configuration entry:\n%s", out)
	}
	rsEntry := out[i:]

	addrs := []string{freeAddr(t), freeAddr(t)}
	c.lb = newBalancer(t, addrs)
	c.issuer = "https://" + c.lb.addr
	c.cfgPath = filepath.Join(c.dir, "issuer.yaml")
	cfg := fmt.Sprintf(`# One configuration for both replicas: ISSUER_LISTEN and ISSUER_DATA_DIR differ.
issuer: %s
listen: 127.0.0.1:1
tls: {cert_file: %s, key_file: %s}
keys: {store: redis, kek_env: ISSUER_KEK, alg: A256KW, rotate_every: 1m, propagation: %s}
tokens: {access_ttl: 10m, refresh_ttl: 720h, code_ttl: 1m, leeway: 30s, status_list_ttl: %s}
store: %s
audiences:
  - {name: %q, default: true, sign: true}
log: {level: info, format: json}
rate_limit: {client_writes: 1000000}
clients:
  - id: backend
    secret_hash: %q
    grant_types: [client_credentials, password, refresh_token]
    scopes: [read, write]
    default_scopes: [read]
users:
  - {username: %s, id: %s, password_hash: %q}
resource_servers:
%s`, c.issuer, c.cert, key, c.prop, c.listTTL, c.redis.URL, e2eAudience, secret.NewSHA256(c.secret),
		e2eUser, e2eUserID, secret.NewSHA256(c.password), rsEntry)
	must(t, os.WriteFile(c.cfgPath, []byte(cfg), 0o600))
	for i, addr := range addrs {
		r := &replica{name: string(rune('A' + i)), base: "https://" + addr, addr: addr, dir: filepath.Join(c.dir, "replica-"+string(rune('a'+i)))}
		must(t, os.MkdirAll(r.dir, 0o700))
		c.replicas = append(c.replicas, r)
		c.startReplica(r)
	}
	for _, r := range c.replicas {
		c.waitReady(r)
	}
	return c
}

func (c *cluster) startReplica(r *replica) {
	c.t.Helper()
	env := append([]string{"ISSUER_LISTEN=" + r.addr, "ISSUER_DATA_DIR=" + r.dir, "ISSUER_STORE="}, c.env...)
	r.proc = startProc(c.t, "issuer "+r.name, issuerBin, env, "serve", "--config", c.cfgPath)
}

func (c *cluster) waitReady(r *replica) {
	c.t.Helper()
	r.waitFor(c.t, 30*time.Second, "ready", func() bool {
		resp, err := c.client.Get(r.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// post sends a form to r with the client's Basic credentials.
func (c *cluster) post(r *replica, path string, form url.Values) (int, map[string]any, error) {
	req, err := http.NewRequest("POST", r.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("backend", c.secret)
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, m, nil
}

// tokens runs a grant on r and returns the access and refresh tokens.
func (c *cluster) tokens(r *replica, form url.Values) (access, refresh string, err error) {
	code, m, err := c.post(r, "/token", form)
	if err != nil {
		return "", "", err
	}
	if code != 200 {
		return "", "", fmt.Errorf("token on %s: %d %v", r.name, code, m)
	}
	access, _ = m["access_token"].(string)
	refresh, _ = m["refresh_token"].(string)
	return access, refresh, nil
}

func (c *cluster) clientToken(r *replica) (string, error) {
	a, _, err := c.tokens(r, url.Values{"grant_type": {"client_credentials"}})
	return a, err
}

func (c *cluster) mustClientToken(r *replica) string {
	c.t.Helper()
	a, err := c.clientToken(r)
	must(c.t, err)
	return a
}

// revoke revokes token at r (RFC 7009).
func (c *cluster) revoke(r *replica, token, hint string) {
	c.t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	req, err := http.NewRequest("POST", r.base+"/revoke", strings.NewReader(form.Encode()))
	must(c.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("backend", c.secret)
	resp, err := c.client.Do(req)
	must(c.t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		c.t.Fatalf("revoke on %s: %d %s", r.name, resp.StatusCode, body)
	}
}

// startRS starts the example resource server with the issuer URL, its id
// and its key file, trusting the issuers' certificate, and waits until it
// serves.
func (c *cluster) startRS() {
	c.t.Helper()
	addr := freeAddr(c.t)
	c.rsBase = "http://" + addr
	env := []string{"SSL_CERT_FILE=" + c.cert, "SSL_CERT_DIR=/nonexistent"}
	c.rs = startProc(c.t, "resource server", rsBin, env, "-issuer", c.issuer, "-id", e2eRS, "-key", c.rsKeyFile, "-listen", addr)
	c.rs.waitFor(c.t, 30*time.Second, "serving", func() bool {
		status, _, err := c.callRS(http.DefaultClient, "")
		return err == nil && status == 401
	})
}

// callRS calls the resource server with token and returns the status and
// body.
func (c *cluster) callRS(hc *http.Client, token string) (int, string, error) {
	req, err := http.NewRequest("GET", c.rsBase+"/orders", nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// balancer is a TCP load balancer: each connection goes to the next
// backend in turn (TLS passes through). It stops with the test.
type balancer struct {
	addr     string
	ln       net.Listener
	backends []string
	next     atomic.Uint64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

func newBalancer(t *testing.T, backends []string) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	b := &balancer{addr: ln.Addr().String(), ln: ln, backends: backends, conns: map[net.Conn]bool{}}
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(b.close)
	return b
}

func (b *balancer) serve() {
	defer b.wg.Done()
	for {
		in, err := b.ln.Accept()
		if err != nil {
			return
		}
		backend := b.backends[b.next.Add(1)%uint64(len(b.backends))]
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			out, err := net.DialTimeout("tcp", backend, 2*time.Second)
			if err != nil {
				in.Close()
				return
			}
			b.track(in, out)
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
			go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
			<-done
			in.Close()
			out.Close()
			<-done
			b.untrack(in, out)
		}()
	}
}

func (b *balancer) track(cs ...net.Conn) {
	b.mu.Lock()
	for _, c := range cs {
		b.conns[c] = true
	}
	b.mu.Unlock()
}

func (b *balancer) untrack(cs ...net.Conn) {
	b.mu.Lock()
	for _, c := range cs {
		delete(b.conns, c)
	}
	b.mu.Unlock()
}

func (b *balancer) close() {
	b.ln.Close()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}
