package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// devRun is an App built from a dev configuration and running.
type devRun struct {
	base   string // the issuer URL
	addr   string // host:port it listens on
	pool   *x509.CertPool
	client *http.Client
	app    *server.App
	log    *syncBuf

	stopOnce sync.Once
	cancel   context.CancelFunc
	ran      chan error
	runErr   error
}

// stop cancels Run's context and returns what Run returned; later calls
// return the same.
func (d *devRun) stop() error {
	d.stopOnce.Do(func() {
		d.cancel()
		d.runErr = <-d.ran
	})
	return d.runErr
}

// devConfig is a validated dev configuration in a temp dir, listening on
// listen, with store st ("" = memory), its TLS certificate created.
func devConfig(t *testing.T, listen, st string) *config.Config {
	t.Helper()
	env := map[string]string{config.EnvListen: listen}
	if st != "" {
		env[config.EnvStore] = st
	}
	cfg, err := config.Dev(t.TempDir(), config.WithEnv(func(k string) string { return env[k] }))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clients = append(cfg.Clients, config.DemoClient(config.Hash(secret.NewSHA256(testSecret))))
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := devtls.Ensure(cfg.TLS.CertFile, cfg.TLS.KeyFile, devtls.DefaultHosts, time.Now()); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startDevApp builds an App from a dev configuration in a temp dir,
// listening on a free port, with store st ("" = the default, file), and runs it
// until the test ends or stop is called.
func startDevApp(t *testing.T, st string) *devRun {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := devConfig(t, ln.Addr().String(), st)
	d := &devRun{base: cfg.Issuer, addr: ln.Addr().String(), log: &syncBuf{}, ran: make(chan error, 1)}
	d.app, err = server.Build(context.Background(), cfg, server.Options{Log: zerolog.New(d.log), StoreWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var ctx context.Context
	ctx, d.cancel = context.WithCancel(context.Background())
	go func() { d.ran <- d.app.Run(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		_ = d.app.Close()
	})
	pem, err := os.ReadFile(cfg.TLS.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	d.pool = x509.NewCertPool()
	d.pool.AppendCertsFromPEM(pem)
	d.client = httpsClient(d.pool, 0)
	return d
}

// devApp is startDevApp for tests that need only the usual handles.
func devApp(t *testing.T, st string) (base string, client *http.Client, app *server.App, log *syncBuf) {
	t.Helper()
	d := startDevApp(t, st)
	return d.base, d.client, d.app, d.log
}

func post(t *testing.T, c *http.Client, u string, form url.Values, basic bool) (int, string) {
	t.Helper()
	r, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("demo:"+testSecret)))
	}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBuildAndRun(t *testing.T) {
	base, c, app, _ := devApp(t, "")
	if code, body := post(t, c, base+"/token", url.Values{"grant_type": {"client_credentials"}}, true); code != 200 || !strings.Contains(body, "access_token") {
		t.Fatalf("token: %d %s", code, body)
	}
	if code, _ := get(t, c, base+"/readyz"); code != 200 {
		t.Fatalf("readyz = %d", code)
	}
	_, metrics := get(t, c, base+"/metrics")
	for _, want := range []string{`issuer_key_ring_active_key_age_seconds{ring="internal"}`, `issuer_key_ring_keys{ring="https://api.example.com",state="active"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The ring files exist, one per audience and the internal ring.
	for _, n := range app.Keys.Names() {
		if _, err := os.Stat(app.Keys.Path(n)); err != nil {
			t.Errorf("ring %s: %v", n, err)
		}
	}
	if filepath.Dir(app.Keys.Path("internal")) != app.Config.Keys.Dir {
		t.Errorf("ring files not in keys.dir")
	}
}

// TestRedisUnreachable: with the store down, client_credentials keeps
// working, grants and endpoints that need the store answer 503
// temporarily_unavailable, and /readyz reports not ready.
func TestRedisUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now
	base, c, _, log := devApp(t, "redis://"+dead+"/0")

	code, body := post(t, c, base+"/token", url.Values{"grant_type": {"client_credentials"}}, true)
	if code != 200 {
		t.Fatalf("client_credentials with the store down: %d %s", code, body)
	}
	var tok struct{ AccessToken string }
	tok.AccessToken = between(body, `"access_token":"`, `"`)
	if code, body := post(t, c, base+"/revoke", url.Values{"token": {tok.AccessToken}}, true); code != 503 || !strings.Contains(body, "temporarily_unavailable") {
		t.Fatalf("revoke with the store down: %d %s", code, body)
	}
	if code, body := post(t, c, base+"/introspect", url.Values{"token": {tok.AccessToken}}, true); code != 503 || !strings.Contains(body, "temporarily_unavailable") {
		t.Fatalf("introspect with the store down: %d %s", code, body)
	}
	if code, _ := get(t, c, base+"/readyz"); code != 503 {
		t.Fatalf("readyz with the store down = %d, want 503", code)
	}
	if code, _ := get(t, c, base+"/healthz"); code != 200 {
		t.Fatalf("healthz = %d, want 200: the process is up", code)
	}
	_, metrics := get(t, c, base+"/metrics")
	if strings.Contains(metrics, "issuer_store_errors_total 0") {
		t.Error("store errors not counted")
	}
	if got, _ := log.snapshot(); !strings.Contains(got, "redis unreachable") {
		t.Errorf("the log does not say redis is unreachable:\n%s", got)
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return ""
}

// TestRunShutdownUnusedConnections: Run's graceful shutdown (SIGTERM in
// cmd/issuer) ends as soon as the in-flight request is answered, however
// many connections sit open without a request: a bare TCP connection (a
// TLS handshake not started), a completed TLS handshake with no request
// (a load balancer's spare connection), a stalled handshake, an idle
// keep-alive connection. Before the fix they held it for
// limits.read_timeout (10 s), past the 5 s grace, and Run failed.
func TestRunShutdownUnusedConnections(t *testing.T) {
	d := startDevApp(t, "")
	unused := openUnused(t, d.addr, "demo", d.pool)

	conn, err := tls.Dial("tcp", d.addr, &tls.Config{RootCAs: d.pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head, body := tokenRequestHead(d.addr, "demo", false)
	beginSlowRequest(t, conn, head, body)

	stopped := make(chan error, 1)
	go func() { stopped <- d.stop() }()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-stopped:
		t.Fatalf("Run returned %v with a request in flight", err)
	default:
	}
	finishSlowRequest(t, conn, body)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(shutdownBound):
		t.Fatalf("Run still draining %v after the last request was answered (limits.read_timeout %v)", shutdownBound, d.app.Config.Limits.ReadTimeout)
	}
	checkClosedByServer(t, unused)
	if got, _ := d.log.snapshot(); !strings.Contains(got, `"message":"stopped"`) {
		t.Errorf("no stop line in the log:\n%s", got)
	}
}

// TestMemoryStoreEntries: limits.memory_store_entries bounds the memory
// store's tables (a redeemed-code table at its bound refuses the next code
// with ErrFull, answered 503), and /metrics shows the entries and the
// bound.
func TestMemoryStoreEntries(t *testing.T) {
	const bound = 1000 // the least the configuration accepts
	// Build does not listen, so any address will do.
	cfg := devConfig(t, "127.0.0.1:8443", "memory")
	cfg.Limits.MemoryStoreEntries = bound
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	app, err := server.Build(context.Background(), cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	exp := time.Now().Add(time.Minute)
	for i := range bound {
		if err := app.Store.RedeemCode(context.Background(), "code-"+strconv.Itoa(i), exp); err != nil {
			t.Fatalf("code %d of %d: %v", i+1, bound, err)
		}
	}
	if err := app.Store.RedeemCode(context.Background(), "one-too-many", exp); !errors.Is(err, memory.ErrFull) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("code %d with limits.memory_store_entries %d: %v, want memory.ErrFull (503)", bound+1, bound, err)
	}
	text := metricsText(t, app.Metrics)
	for _, want := range []string{
		`issuer_memory_store_entries{table="codes"} 1000`,
		`issuer_memory_store_entries{table="refresh_families"} 0`,
		`issuer_memory_store_entries{table="revoked_tokens"} 0`,
		"issuer_memory_store_max_entries 1000",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestTickIntervalWithinPropagation: for every propagation the
// configuration accepts (config.MinPropagation and up), replicas reload
// the rings at least twice within it, so a new key reaches them before
// it seals.
func TestTickIntervalWithinPropagation(t *testing.T) {
	tests := []struct {
		name        string
		propagation time.Duration
		want        time.Duration
	}{
		{name: "the minimum", propagation: config.MinPropagation, want: time.Second},
		{name: "the scale-out test's 3s", propagation: 3 * time.Second, want: time.Second},
		{name: "a tenth of 30s", propagation: 30 * time.Second, want: 3 * time.Second},
		{name: "the default 1h, capped at 1m", propagation: config.DefaultPropagation, want: time.Minute},
		{name: "a day, capped at 1m", propagation: 24 * time.Hour, want: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := server.TickInterval(tt.propagation)
			if got != tt.want {
				t.Errorf("TickInterval(%v) = %v, want %v", tt.propagation, got, tt.want)
			}
			if 2*got > tt.propagation {
				t.Errorf("TickInterval(%v) = %v: fewer than two reloads within the propagation time", tt.propagation, got)
			}
		})
	}
}
