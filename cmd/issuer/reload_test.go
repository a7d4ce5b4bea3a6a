package main_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// prodServer is the binary serving a configuration file, for the reload
// tests.
type prodServer struct {
	*proc
	path, base string
	client     *http.Client
}

// reloadConfig is a production configuration with the given clients
// (YAML list entries), listening on a free port of its own choosing.
func reloadConfig(clients string) string {
	return `issuer: https://127.0.0.1
listen: 127.0.0.1:0
tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}
keys: {dir: keys, propagation: 10s, rotate_every: 1h}
audiences:
  - {name: "https://api.test"}
log: {format: json}
clients:
` + clients
}

// clientEntry is a client_credentials client entry with secret sec.
func clientEntry(id, sec string) string {
	return fmt.Sprintf("  - {id: %s, secret_hash: %q, grant_types: [client_credentials], scopes: [read], default_scopes: [read]}\n", id, secret.NewSHA256(sec))
}

var listeningLine = regexp.MustCompile(`"addr":"(127\.0\.0\.1:\d+)"[^\n]*"message":"listening"`)

// startProd writes config and runs "issuer serve --config" on it.
func startProd(t *testing.T, config string) *prodServer {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "issuer.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem")
	if _, err := devtls.Ensure(cert, key, devtls.DefaultHosts, time.Now()); err != nil {
		t.Fatal(err)
	}
	p := start(t, nil, "serve", "--config", path)
	m := p.waitStderr(listeningLine, 15*time.Second)
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &prodServer{proc: p, path: path, base: "https://" + m[1], client: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 8},
	}}
}

// waitStderr waits until the process's log matches re and returns the
// submatches.
func (p *proc) waitStderr(re *regexp.Regexp, within time.Duration) []string {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			return m
		}
		select {
		case <-p.exited:
			p.t.Fatalf("issuer exited (%d) before logging %s\nstderr:\n%s", p.exitCode, re, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.t.Fatalf("timed out waiting for %s in the log\nstderr:\n%s", re, p.stderr)
	return nil
}

// countStderr counts the log lines matching re.
func (p *proc) countStderr(re *regexp.Regexp) int {
	return len(re.FindAllString(p.stderr.String(), -1))
}

// rewrite replaces the configuration file atomically, as an operator's
// editor or configuration management would.
func (s *prodServer) rewrite(t *testing.T, config string) {
	t.Helper()
	tmp := s.path + ".new"
	if err := os.WriteFile(tmp, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		t.Fatal(err)
	}
}

// hup sends SIGHUP and waits for the n-th log line matching done.
func (s *prodServer) hup(t *testing.T, done *regexp.Regexp, n int) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.countStderr(done) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after SIGHUP\nstderr:\n%s", done, s.stderr)
		}
		select {
		case <-s.exited:
			t.Fatalf("SIGHUP ended the issuer (exit %d)\nstderr:\n%s", s.exitCode, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *prodServer) token(id, sec string) (int, string, error) {
	r, _ := http.NewRequest("POST", s.base+"/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
	resp, err := s.client.Do(r)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, readAllString(resp))
	return resp.StatusCode, b.String(), nil
}

func readAllString(resp *http.Response) string {
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

var (
	reloadedLine   = regexp.MustCompile(`"message":"configuration reloaded"`)
	reloadFailLine = regexp.MustCompile(`[^\n]*"message":"configuration reload failed[^\n]*`)
)

// TestSIGHUPReload drives the real binary: a client added by editing the
// file and sending SIGHUP gets tokens at once; a broken file and SIGHUP
// leave the running clients working and the log says why, naming the
// key; the process never exits on SIGHUP.
func TestSIGHUPReload(t *testing.T) {
	const oldSecret, newSecret = "old-client-secret-0123456789abcdef", "new-client-secret-0123456789abcdef"
	s := startProd(t, reloadConfig(clientEntry("old", oldSecret)))
	if code, body, err := s.token("old", oldSecret); err != nil || code != 200 {
		t.Fatalf("the configured client: %d %s %v", code, body, err)
	}
	if code, _, _ := s.token("new", newSecret); code != 401 {
		t.Fatalf("the client not yet added: %d, want 401", code)
	}

	s.rewrite(t, reloadConfig(clientEntry("old", oldSecret)+clientEntry("new", newSecret)))
	s.hup(t, reloadedLine, 1)
	if code, body, err := s.token("new", newSecret); err != nil || code != 200 {
		t.Fatalf("the client added by SIGHUP: %d %s %v", code, body, err)
	}
	if code, _, _ := s.token("old", oldSecret); code != 200 {
		t.Fatalf("the old client after the reload: %d", code)
	}

	// A broken file: an unknown grant type in a third client.
	s.rewrite(t, reloadConfig(clientEntry("old", oldSecret)+clientEntry("new", newSecret)+
		"  - {id: broken, secret_hash: \"sha256$"+strings.Repeat("0", 64)+"\", grant_types: [implicit]}\n"))
	s.hup(t, reloadFailLine, 1)
	for _, c := range [][2]string{{"old", oldSecret}, {"new", newSecret}} {
		if code, body, err := s.token(c[0], c[1]); err != nil || code != 200 {
			t.Fatalf("client %s after a failed reload: %d %s %v", c[0], code, body, err)
		}
	}
	line := reloadFailLine.FindString(s.stderr.String())
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("the failure is not a JSON log line: %q", line)
	}
	if !strings.Contains(fmt.Sprint(m["errors"]), "clients[2].grant_types[0]") || m["level"] != "error" {
		t.Fatalf("the failure does not name the key: %v", m)
	}
	select {
	case <-s.exited:
		t.Fatalf("the issuer exited after SIGHUP: %d", s.exitCode)
	default:
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", code, s.stderr)
	}
	assertNoSecret(t, s.stderr.String(), oldSecret, newSecret)
}

// TestSIGHUPUnderLoad: SIGHUP while clients keep requesting tokens loses
// no request: every request across ten reloads is answered 200.
func TestSIGHUPUnderLoad(t *testing.T) {
	const sec = "load-client-secret-0123456789abcdef"
	configs := []string{
		reloadConfig(clientEntry("load", sec)),
		reloadConfig(clientEntry("load", sec) + clientEntry("extra", "extra-secret-0123456789abcdef")),
	}
	s := startProd(t, configs[0])
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 5000; n++ { // bounded in count, and by stop in time
				select {
				case <-stop:
					return
				default:
				}
				code, body, err := s.token("load", sec)
				if err != nil || code != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s %v", code, body, err))
					continue
				}
				ok.Add(1)
			}
		}()
	}
	for i := 1; i <= 10; i++ {
		s.rewrite(t, configs[i%2])
		s.hup(t, reloadedLine, i)
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("%d requests failed (first: %v), %d answered 200, across 10 SIGHUP reloads", failed.Load(), firstErr.Load(), ok.Load())
	}
	t.Logf("%d token requests across 10 SIGHUP reloads, all 200", ok.Load())
	if code := s.stop(); code != 0 {
		t.Fatalf("exit code %d\n%s", code, s.stderr)
	}
}

func assertNoSecret(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if strings.Contains(text, sec) {
			t.Errorf("the log contains a secret (%.8s...)", sec)
		}
	}
}

// TestSIGHUPDevServer: the dev server has no file to reload; SIGHUP is
// logged and ignored, and the server keeps serving (it once died of it).
func TestSIGHUPDevServer(t *testing.T) {
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitStderr(regexp.MustCompile(`SIGHUP: the dev server has no configuration file to reload; ignored`), 10*time.Second)
	code, _, body := d.call(t, nil, "POST", "/token", url.Values{"grant_type": {"client_credentials"}}, basic("demo", d.secret))
	if code != 200 {
		t.Fatalf("token after SIGHUP: %d %s", code, body)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
