package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/testbin"
)

// binary is the issuer binary TestMain builds once for every test.
var binary string

func TestMain(m *testing.M) {
	testbin.Main(m, func(dir string) (err error) {
		binary, err = testbin.Build(context.Background(), dir, "./cmd/issuer",
			"-ldflags", "-X github.com/sealedtoken/issuer/internal/cli.Version=v0.0.0-e2e")
		return err
	})
}

// proc is a running issuer binary.
type proc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr *testbin.Buffer
	exited         chan struct{}
	exitCode       int
}

// start runs the binary with args; the process is killed when t ends if
// it is still running.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, stdout: &testbin.Buffer{}, stderr: &testbin.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.exitCode = p.cmd.ProcessState.ExitCode()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitOutput waits until stdout matches re and returns the submatches.
func (p *proc) waitOutput(re *regexp.Regexp) []string {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.stdout.String()); m != nil {
			return m
		}
		select {
		case <-p.exited:
			p.t.Fatalf("issuer exited (%d) before printing %s\nstdout:\n%s\nstderr:\n%s", p.exitCode, re, p.stdout, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.t.Fatalf("timed out waiting for %s\nstdout:\n%s\nstderr:\n%s", re, p.stdout, p.stderr)
	return nil
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop() int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.wait()
}

func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.exitCode
	case <-time.After(30 * time.Second):
		p.t.Fatalf("issuer did not exit\nstderr:\n%s", p.stderr)
		return -1
	}
}

// runBinary runs the binary to completion.
func runBinary(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &out, &errb, strings.NewReader(stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Kill()
		case <-done:
		}
	}()
	_ = cmd.Run()
	close(done)
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// devServer is a dev-mode issuer on a free loopback port, with what its
// banner printed.
type devServer struct {
	*proc
	dir, issuer, curl, secret, certFile, devConfig string
	client                                         *http.Client

	// password is the demo user's password; browserURL the /authorize URL
	// to open in a browser; codeCurl the curl that exchanges its code
	// (with CODE in place of the code); cliAuthorizeCurl and cliCodeCurl
	// the trusted-header curl that gets a code for demo-cli and the curl
	// that exchanges it (CODE again); verifier the PKCE verifier of the
	// latter.
	password, browserURL, codeCurl, cliAuthorizeCurl, cliCodeCurl, verifier string
}

var (
	curlLine   = regexp.MustCompile(`(?m)^\s*(curl --cacert (\S+) -u demo:(\S+) -d grant_type=client_credentials (https://\S+)/token)\s*$`)
	configLine = regexp.MustCompile(`(?m)issuer token inspect --config (\S+) TOKEN`)

	passwordLine     = regexp.MustCompile(`(?m)^\s*demo user\s+"alice", password (\S+)\s*$`)
	browserLine      = regexp.MustCompile(`(?m)^\s*(https://\S+/authorize\?response_type=code&client_id=demo&\S+)\s*$`)
	codeCurlLine     = regexp.MustCompile(`(?m)^\s*(curl --cacert \S+ -u demo:\S+ -d grant_type=authorization_code -d code=CODE https://\S+/token)\s*$`)
	cliAuthorizeLine = regexp.MustCompile(`(?m)^\s*(curl -si --cacert \S+ -H 'X-Remote-User: alice' 'https://\S+/authorize\?\S+')\s*$`)
	cliCodeCurlLine  = regexp.MustCompile(`(?m)^\s*(curl --cacert \S+ -d grant_type=authorization_code -d client_id=demo-cli -d code_verifier=(\S+) -d code=CODE https://\S+/token)\s*$`)
)

func startDev(t *testing.T, dir string) *devServer {
	t.Helper()
	p := start(t, nil, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
	m := p.waitOutput(curlLine)
	d := &devServer{proc: p, dir: dir, curl: m[1], certFile: m[2], secret: m[3], issuer: m[4]}
	d.devConfig = p.waitOutput(configLine)[1]
	d.password = p.waitOutput(passwordLine)[1]
	d.browserURL = p.waitOutput(browserLine)[1]
	d.codeCurl = p.waitOutput(codeCurlLine)[1]
	d.cliAuthorizeCurl = p.waitOutput(cliAuthorizeLine)[1]
	m = p.waitOutput(cliCodeCurlLine)
	d.cliCodeCurl, d.verifier = m[1], m[2]
	pem, err := os.ReadFile(d.certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("bad certificate file")
	}
	d.client = &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return d
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
