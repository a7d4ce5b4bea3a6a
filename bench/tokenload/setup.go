package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/bench/internal/loadkit"
	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// env holds the two servers under test.
type env struct {
	dir       string
	tokenAddr string
	baseAddr  string
	tlsClient *tls.Config
	auth      string
	bodySize  int
	stopToken context.CancelFunc
	tokenDone chan error
	baseline  *server.Server
	app       *server.App
	logWriter *server.LogWriter
	logFile   *os.File
}

func setup(ctx context.Context) (*env, error) {
	dir, err := os.MkdirTemp("", "tokenload-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir}
	ok := false
	defer func() {
		if !ok {
			e.close()
		}
	}()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg, err := config.Dev(dir, config.WithEnv(func(k string) string {
		if k == config.EnvListen {
			return ln.Addr().String()
		}
		return ""
	}))
	if err != nil {
		return nil, err
	}
	sec, err := secret.NewClientSecret()
	if err != nil {
		return nil, err
	}
	cfg.Clients = append(cfg.Clients, config.DemoClient(config.Hash(secret.NewSHA256(sec))))
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := devtls.Ensure(cfg.TLS.CertFile, cfg.TLS.KeyFile, devtls.DefaultHosts, time.Now()); err != nil {
		return nil, err
	}
	// Request logs go to a file through the same buffered writer the
	// binary uses for standard error.
	if e.logFile, err = os.Create(filepath.Join(dir, "requests.log")); err != nil {
		return nil, err
	}
	e.logWriter = server.NewLogWriter(e.logFile, 100*time.Millisecond)
	e.app, err = server.Build(ctx, cfg, server.Options{Log: zerolog.New(e.logWriter).With().Timestamp().Logger()})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	e.stopToken, e.tokenDone = cancel, make(chan error, 1)
	go func() { e.tokenDone <- e.app.Run(rctx, ln, 10*time.Second) }()
	e.tokenAddr = ln.Addr().String()

	pem, err := os.ReadFile(cfg.TLS.CertFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	e.tlsClient = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	e.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte("demo:"+sec))

	// One token response fixes the baseline's body size.
	c := loadkit.Client(e.tokenAddr, 1, e.tlsClient)
	req, resp := e.tokenRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := c.DoTimeout(req, resp, 5*time.Second); err != nil {
		return nil, fmt.Errorf("first token request: %w", err)
	}
	if resp.StatusCode() != 200 {
		return nil, fmt.Errorf("first token request: %d %s", resp.StatusCode(), resp.Body())
	}
	e.bodySize = len(resp.Body())
	c.CloseIdleConnections()

	// The baseline: same TLS configuration and certificate, a fixed body
	// of the same size, the same response headers.
	cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return nil, err
	}
	body := make([]byte, e.bodySize)
	for i := range body {
		body[i] = 'x'
	}
	bare := func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(200)
		ctx.Response.Header.Add("Content-Type", "application/json;charset=UTF-8")
		ctx.Response.Header.Add("Cache-Control", "no-store")
		ctx.Response.Header.Add("Pragma", "no-cache")
		ctx.SetBody(body)
	}
	bln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.baseline = server.NewServer(bare, server.Limits{}, server.TLSConfig(cert), zerolog.Nop())
	go func() { _ = e.baseline.Serve(bln) }()
	e.baseAddr = bln.Addr().String()
	ok = true
	return e, nil
}

// tokenRequest is a client_credentials request (the caller releases it
// never: it lives for the run).
func (e *env) tokenRequest() *fasthttp.Request {
	req := fasthttp.AcquireRequest()
	req.Header.SetMethod("POST")
	req.SetRequestURI("https://127.0.0.1/token")
	req.Header.SetContentType("application/x-www-form-urlencoded")
	req.Header.Set("Authorization", e.auth)
	req.SetBodyString("grant_type=client_credentials&scope=read")
	return req
}

func (e *env) close() {
	if e.stopToken != nil {
		e.stopToken()
		<-e.tokenDone
	}
	if e.app != nil {
		_ = e.app.Close()
	}
	if e.baseline != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = e.baseline.Shutdown(ctx)
		cancel()
	}
	if e.logWriter != nil {
		_ = e.logWriter.Close()
	}
	if e.logFile != nil {
		_ = e.logFile.Close()
	}
	_ = os.RemoveAll(e.dir)
}
