package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/bench/internal/loadkit"
	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// The roles a tokenload process plays, chosen by the environment.
const (
	roleEnv      = "TOKENLOAD_ROLE"
	roleToken    = "token"    // the token server
	roleBaseline = "baseline" // the bare fasthttp handler
	roleLoad     = "load"     // a load generator run
)

// Settings passed to the children in their environment.
const (
	envDir     = "TOKENLOAD_DIR"     // the data directory of the token server (certificate, rings)
	envSecret  = "TOKENLOAD_SECRET"  // the demo client's secret
	envBody    = "TOKENLOAD_BODY"    // the baseline's body size
	envAddr    = "TOKENLOAD_ADDR"    // the generator's target
	envTLS     = "TOKENLOAD_TLS"     // "1": the generator speaks TLS
	envConns   = "TOKENLOAD_CONNS"   // the generator's connections
	envRunFor  = "TOKENLOAD_RUN_FOR" // the generator's run length
	envTokens  = "TOKENLOAD_TOKENS"  // the generator's request count (instead of a duration)
	envDPoP    = "TOKENLOAD_DPOP"    // the generator's DPoP proof algorithm; empty: none
	envIssuer  = "TOKENLOAD_ISSUER"  // the token server's issuer URL (a DPoP proof's htu)
	envProfile = "TOKENLOAD_CPUPROF" // the token server's CPU profile file
	envBursts  = "TOKENLOAD_BURSTS"  // "1": the generator runs a burst per duration read from standard input
	envAlg     = "TOKENLOAD_ALG"     // the token server's keys.alg
	envGC      = "TOKENLOAD_GC"      // the token server's limits.gc_percent; empty: the default
	envLog     = "TOKENLOAD_LOG"     // the token server's log.level; empty: the default
	envWork    = "TOKENLOAD_WORK"    // the baseline's busy work per request (-calibrate); empty: none
)

// serverInfo is what a server child prints on its first line of output.
type serverInfo struct {
	TLS   string `json:"tls"`
	Plain string `json:"plain"`
	// The token server's settings as it applied them.
	Alg       string `json:"alg,omitempty"`
	GCPercent int    `json:"gc_percent,omitempty"`
	LogLevel  string `json:"log_level,omitempty"`
}

// loadResult is what a generator child prints.
type loadResult struct {
	OK      int64   `json:"ok"`
	Seconds float64 `json:"seconds"`
	Err     string  `json:"err,omitempty"`
}

// runRole runs this process as a child and returns its exit code.
func runRole(role string) int {
	var err error
	switch role {
	case roleToken:
		err = serveToken()
	case roleBaseline:
		err = serveBaseline()
	case roleLoad:
		err = generate()
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tokenload %s: %v\n", role, err)
		return 1
	}
	return 0
}

// serveUntilDone announces info and serves until standard input closes
// (the orchestrator exits or closes it) or SIGTERM.
func serveUntilDone(info serverInfo) {
	b, _ := json.Marshal(info)
	fmt.Println(string(b))
	done := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-done:
	case <-sig:
	}
}

// serveToken is the token server: the real service from a dev
// configuration under envDir, on a TLS and a plain listener.
func serveToken() error {
	dir := os.Getenv(envDir)
	lnTLS, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	lnPlain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cfg, err := config.Dev(dir, config.WithEnv(func(k string) string {
		if k == config.EnvListen {
			return lnTLS.Addr().String()
		}
		return ""
	}))
	if err != nil {
		return err
	}
	cfg.Clients = append(cfg.Clients, config.DemoClient(config.Hash(secret.NewSHA256(os.Getenv(envSecret)))))
	// The memory store: a client_credentials token writes nothing to the
	// store, but a DPoP proof is recorded (RFC 9449 §11.1), and the
	// measure is of CPU, not of the disk's fsync (docs/STORE.md has that).
	cfg.Store = config.StoreMemory
	if a := os.Getenv(envAlg); a != "" {
		cfg.Keys.Alg = a // Validate refuses anything but A256KW and dir
	}
	if l := os.Getenv(envLog); l != "" {
		cfg.Log.Level = l
	}
	if g := os.Getenv(envGC); g != "" {
		if cfg.Limits.GCPercent, err = strconv.Atoi(g); err != nil {
			return fmt.Errorf("bad %s: %w", envGC, err)
		}
	}
	// The plain listener stands behind a TLS-terminating proxy on loopback.
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if _, err := devtls.Ensure(cfg.TLS.CertFile, cfg.TLS.KeyFile, devtls.DefaultHosts, time.Now()); err != nil {
		return err
	}
	stop, err := startProfile()
	if err != nil {
		return err
	}
	defer stop()
	logFile, err := os.Create(filepath.Join(dir, "requests.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	lw := server.NewLogWriter(logFile, 100*time.Millisecond)
	defer lw.Close()
	ctx := context.Background()
	gcPercent, _ := server.ApplyRuntime(cfg, os.Getenv)            // as issuer serve does: limits.gc_percent
	log, err := server.NewLogger(lw, cfg.Log.Level, "json", false) // as issuer serve makes it
	if err != nil {
		return err
	}
	app, err := server.Build(ctx, cfg, server.Options{Log: log, RequestLines: server.JSONLines(lw, "json", false)})
	if err != nil {
		return err
	}
	defer app.Close()
	rctx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- app.Run(rctx, lnTLS, 10*time.Second) }()
	plain := server.NewServer(app.Handler.ServeFastHTTP, server.Limits{}, nil, zerolog.Nop())
	go func() { _ = plain.Serve(lnPlain) }()
	serveUntilDone(serverInfo{TLS: lnTLS.Addr().String(), Plain: lnPlain.Addr().String(), Alg: cfg.Keys.Alg, GCPercent: gcPercent, LogLevel: cfg.Log.Level})
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	_ = plain.Shutdown(sctx)
	cancel()
	return <-ran
}

// startProfile starts the CPU profile envProfile names, if any, and
// returns what stops it.
func startProfile() (stop func(), err error) {
	p := os.Getenv(envProfile)
	if p == "" {
		return func() {}, nil
	}
	f, err := os.Create(p)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// serveBaseline is the bare handler: a fixed body of envBody bytes with
// the token response's headers, on a TLS listener with the token server's
// TLS configuration and certificate, and on a plain one.
func serveBaseline() error {
	dir := os.Getenv(envDir)
	size, err := strconv.Atoi(os.Getenv(envBody))
	if err != nil || size <= 0 {
		return fmt.Errorf("bad %s", envBody)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem"))
	if err != nil {
		return err
	}
	var work time.Duration
	if w := os.Getenv(envWork); w != "" {
		if work, err = time.ParseDuration(w); err != nil || work < 0 {
			return fmt.Errorf("bad %s %q", envWork, w)
		}
	}
	body := make([]byte, size)
	for i := range body {
		body[i] = 'x'
	}
	bare := func(ctx *fasthttp.RequestCtx) {
		if work > 0 {
			busy(work)
		}
		ctx.SetStatusCode(200)
		ctx.Response.Header.Add("Content-Type", "application/json;charset=UTF-8")
		ctx.Response.Header.Add("Cache-Control", "no-store")
		ctx.Response.Header.Add("Pragma", "no-cache")
		ctx.SetBody(body)
	}
	lnTLS, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	lnPlain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	stop, err := startProfile()
	if err != nil {
		return err
	}
	defer stop()
	st := server.NewServer(bare, server.Limits{}, server.TLSConfig(cert), zerolog.Nop())
	sp := server.NewServer(bare, server.Limits{}, nil, zerolog.Nop())
	go func() { _ = st.Serve(lnTLS) }()
	go func() { _ = sp.Serve(lnPlain) }()
	serveUntilDone(serverInfo{TLS: lnTLS.Addr().String(), Plain: lnPlain.Addr().String()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(st.Shutdown(ctx), sp.Shutdown(ctx))
}

// tokenRequest is the client_credentials request every run sends; over
// plain HTTP it carries X-Forwarded-Proto as a TLS-terminating proxy's
// request would (to both servers alike).
func tokenRequest(secret string, plain bool) *fasthttp.Request {
	req := fasthttp.AcquireRequest()
	req.Header.SetMethod("POST")
	if plain {
		req.SetRequestURI("http://127.0.0.1/token")
	} else {
		req.SetRequestURI("https://127.0.0.1/token")
	}
	req.Header.SetContentType("application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("demo:"+secret)))
	if plain {
		req.Header.Set("X-Forwarded-Proto", "https")
	}
	req.SetBodyString("grant_type=client_credentials&scope=read")
	return req
}

// clientTLS returns the TLS configuration trusting the token server's
// certificate under dir.
func clientTLS(dir string) (*tls.Config, error) {
	pem, err := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, nil
}

// generate is the load generator: envConns goroutines, each on its own
// keep-alive connection, send the token request to envAddr for envRunFor
// (or until envTokens requests were answered, bounded by envRunFor), and
// the result is printed as JSON. Any answer but 200 ends the run. With
// envBursts it instead keeps its connections and runs one such burst per
// duration read from standard input, printing a result line for each,
// until standard input closes.
func generate() error {
	conns, _ := strconv.Atoi(os.Getenv(envConns))
	runFor, err := time.ParseDuration(os.Getenv(envRunFor))
	if err != nil || conns <= 0 {
		return fmt.Errorf("bad %s or %s", envConns, envRunFor)
	}
	tokens, _ := strconv.ParseInt(os.Getenv(envTokens), 10, 64)
	plain := os.Getenv(envTLS) != "1"
	var tlsConf *tls.Config
	if !plain {
		if tlsConf, err = clientTLS(os.Getenv(envDir)); err != nil {
			return err
		}
	}
	c := loadkit.Client(os.Getenv(envAddr), conns, tlsConf)
	defer c.CloseIdleConnections()
	proofs, err := newProver(os.Getenv(envDPoP), os.Getenv(envIssuer)+"/token")
	if err != nil {
		return err
	}
	l := &loader{c: c, conns: conns, secret: os.Getenv(envSecret), plain: plain, proofs: proofs}
	if os.Getenv(envBursts) != "1" {
		printResult(l.run(runFor, tokens))
		return nil
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		d, err := time.ParseDuration(in.Text())
		if err != nil {
			return fmt.Errorf("burst length %q: %w", in.Text(), err)
		}
		printResult(l.run(d, 0))
	}
	return in.Err()
}

func printResult(res loadResult) {
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
}

// loader sends token requests over a client's keep-alive connections.
type loader struct {
	c      *fasthttp.HostClient
	conns  int
	secret string
	plain  bool
	proofs *prover
}

// run sends requests on every connection for runFor, or until tokens were
// answered when tokens > 0.
func (l *loader) run(runFor time.Duration, tokens int64) loadResult {
	var ok, issued atomic.Int64
	var firstErr atomic.Value
	stop := time.Now().Add(runFor)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < l.conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := tokenRequest(l.secret, l.plain), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for time.Now().Before(stop) && (tokens == 0 || issued.Add(1) <= tokens) {
				if l.proofs != nil {
					p, err := l.proofs.proof()
					if err != nil {
						firstErr.CompareAndSwap(nil, err.Error())
						return
					}
					req.Header.Set("DPoP", p)
				}
				if err := l.c.DoTimeout(req, resp, 10*time.Second); err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
					return
				}
				if resp.StatusCode() != 200 {
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d: %s", resp.StatusCode(), resp.Body()))
					return
				}
				if l.proofs != nil && !bytes.Contains(resp.Body(), []byte(`"token_type":"DPoP"`)) {
					firstErr.CompareAndSwap(nil, "a DPoP request got a token that is not DPoP-bound: "+string(resp.Body()))
					return
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	res := loadResult{OK: ok.Load(), Seconds: time.Since(start).Seconds()}
	if e, _ := firstErr.Load().(string); e != "" {
		res.Err = e
	}
	return res
}

// busy spins on the calling goroutine for d of wall time, reading the
// monotonic clock in a loop: d of CPU unless the thread is preempted, work
// that touches no memory and allocates nothing, the cheapest kind a
// handler can do (-calibrate).
func busy(d time.Duration) {
	for t0 := time.Now(); time.Since(t0) < d; {
	}
}
