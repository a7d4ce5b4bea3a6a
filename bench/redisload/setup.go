package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// clientID is the confidential client that exchanges the codes.
const clientID = "bench-webapp"

// issuer is one issuer under test: a name, its store and its address.
type issuer struct {
	name      string
	store     string // "memory", "file" or the Redis URL
	addr      string
	app       *server.App
	issuerURL string
	audience  string
	codeTTL   time.Duration
	sealer    *crypttoken.Sealer // the internal ring's, for minting codes
	stop      context.CancelFunc
	done      chan error
	logWriter *server.LogWriter
	logFile   *os.File
}

// env holds the two issuers (on the memory store, and on the store under
// test: Redis or the file store), the Redis started for the latter, and
// what the load generator needs.
type env struct {
	dir       string
	tlsClient *tls.Config
	auth      string
	memory    *issuer
	other     *issuer
	redisProc *redisProc // nil with -store file or when -redis named an existing server
}

func setup(ctx context.Context, o options) (*env, error) {
	dir, err := os.MkdirTemp("", "redisload-")
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
	otherStore := config.StoreFile
	if o.store == "redis" {
		redisURL := o.redisURL
		if redisURL == "" {
			if e.redisProc, err = startRedis(ctx, o.redisBin, filepath.Join(dir, "redis"), o.aof); err != nil {
				return nil, err
			}
			redisURL = e.redisProc.url
		}
		otherStore = config.Store(redisURL)
	}
	sec, err := secret.NewClientSecret()
	if err != nil {
		return nil, err
	}
	e.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+sec))
	// Codes are minted just before the run that uses them (warm-up and
	// measured run each mint their own) and must outlive minting and the
	// run, but no longer: a store remembers each redeemed code until its
	// exp plus the leeway, and at tens of thousands of exchanges a second
	// the defaults (60 s + 30 s) would fill the memory store's code table
	// (1,000,000 entries) within half a minute, after which it answers 503.
	// Both issuers get the same lifetimes, so the comparison stays fair.
	codeTTL := min(10*time.Minute, max(o.duration, o.warmup)+5*time.Second)
	if e.memory, err = startIssuer(ctx, "memory", config.StoreMemory, filepath.Join(dir, "memory"), sec, codeTTL); err != nil {
		return nil, err
	}
	if e.other, err = startIssuer(ctx, o.store, otherStore, filepath.Join(dir, o.store+"-issuer"), sec, codeTTL); err != nil {
		return nil, err
	}
	// One certificate per issuer; trust both.
	pool := x509.NewCertPool()
	for _, is := range []*issuer{e.memory, e.other} {
		pem, err := os.ReadFile(is.app.Config.TLS.CertFile)
		if err != nil {
			return nil, err
		}
		pool.AppendCertsFromPEM(pem)
	}
	e.tlsClient = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	ok = true
	return e, nil
}

// startIssuer builds and runs an issuer on a free loopback port.
func startIssuer(ctx context.Context, name string, store config.Store, dir, clientSecret string, codeTTL time.Duration) (*issuer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	is := &issuer{name: name, store: string(store), addr: ln.Addr().String(), codeTTL: codeTTL}
	fail := func(err error) (*issuer, error) {
		ln.Close()
		is.close()
		return nil, fmt.Errorf("%s issuer: %w", name, err)
	}
	cfg, err := config.Dev(dir, config.WithEnv(func(k string) string {
		if k == config.EnvListen {
			return is.addr
		}
		return ""
	}))
	if err != nil {
		return fail(err)
	}
	cfg.Store = store
	cfg.Tokens.CodeTTL = codeTTL
	cfg.Tokens.Leeway = time.Second
	cfg.Clients = []config.Client{{
		ID:            clientID,
		SecretHash:    config.Hash(secret.NewSHA256(clientSecret)),
		RedirectURIs:  []string{"https://app.bench.test/cb"},
		GrantTypes:    []string{config.GrantAuthorizationCode, config.GrantRefreshToken},
		ResponseTypes: []string{config.ResponseCode},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read"},
		SkipConsent:   true,
	}}
	// The codes are minted, not logged in for, but a client with the
	// authorization_code grant needs a way to log in: a proxy header.
	cfg.Login = config.Login{TrustedHeader: "X-Remote-User", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	if _, err := devtls.Ensure(cfg.TLS.CertFile, cfg.TLS.KeyFile, devtls.DefaultHosts, time.Now()); err != nil {
		return fail(err)
	}
	if is.logFile, err = os.Create(filepath.Join(dir, "requests.log")); err != nil {
		return fail(err)
	}
	is.logWriter = server.NewLogWriter(is.logFile, 100*time.Millisecond)
	if is.app, err = server.Build(ctx, cfg, server.Options{Log: zerolog.New(is.logWriter).Hook(server.Timestamp), RequestLines: is.logWriter}); err != nil {
		return fail(err)
	}
	if err := is.app.Ready(ctx); err != nil {
		return fail(fmt.Errorf("not ready: %w", err))
	}
	ring, ok := is.app.Keys.Ring(keys.InternalRing)
	if !ok {
		return fail(errors.New("no internal ring"))
	}
	if is.sealer, err = crypttoken.NewSealer(ring); err != nil {
		return fail(err)
	}
	is.issuerURL = cfg.Issuer
	is.audience, _ = cfg.DefaultAudience()
	rctx, cancel := context.WithCancel(context.Background())
	is.stop, is.done = cancel, make(chan error, 1)
	go func() { is.done <- is.app.Run(rctx, ln, 10*time.Second) }()
	return is, nil
}

// mint seals n authorization codes for the bench client the way
// /authorize does (pkg/endpoint issueCode): iss, sub, aud = the issuer,
// exp, iat, jti, client_id, scope, auth_time, a fresh refresh family and
// the audience; no redirect_uri (the request sent none) and no PKCE. It
// uses every CPU.
func (is *issuer) mint(n int) ([]string, error) {
	codes := make([]string, n)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	now := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				fid, err := crypttoken.NewID()
				if err != nil {
					errs[w] = err
					return
				}
				c := crypttoken.Claims{
					Issuer:   is.issuerURL,
					Subject:  "u-" + strconv.Itoa(i%1000),
					Audience: []string{is.issuerURL},
					Expiry:   now.Add(is.codeTTL),
					IssuedAt: now,
					ClientID: clientID,
					Scope:    "read write",
					AuthTime: now,
					FamilyID: fid,
					Resource: is.audience,
				}
				if codes[i], err = is.sealer.Seal(crypttoken.TypeCode, &c); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return codes, errors.Join(errs...)
}

func (is *issuer) close() {
	if is.stop != nil {
		is.stop()
		<-is.done
	}
	if is.app != nil {
		_ = is.app.Close()
	}
	if is.logWriter != nil {
		_ = is.logWriter.Close()
	}
	if is.logFile != nil {
		_ = is.logFile.Close()
	}
}

func (e *env) close() {
	for _, is := range []*issuer{e.memory, e.other} {
		if is != nil {
			is.close()
		}
	}
	if e.redisProc != nil {
		e.redisProc.stop()
	}
	_ = os.RemoveAll(e.dir)
}

// redisProc is a redis-server this program started.
type redisProc struct {
	url    string
	addr   string
	cmd    *exec.Cmd
	exited chan struct{}
	aof    string
}

// startRedis starts redis-server on a free 127.0.0.1 port with data in
// dir and persistence as aof says, and waits until it answers PING.
func startRedis(ctx context.Context, bin, dir, aof string) (*redisProc, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%w: install redis-server (apt-get install -y redis-server) or pass -redis URL", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	persist := []string{"--appendonly", "no"}
	if aof != "no" {
		persist = []string{"--appendonly", "yes", "--appendfsync", aof}
	}
	var lastErr error
	// A port found free may be taken before redis-server binds it.
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--dir", dir,
			"--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log")}, persist...)
		cmd := exec.Command(path, args...)
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		r := &redisProc{addr: "127.0.0.1:" + port, url: "redis://127.0.0.1:" + port + "/0", cmd: cmd, exited: make(chan struct{}), aof: aof}
		go func() {
			_ = cmd.Wait()
			close(r.exited)
		}()
		if lastErr = r.waitPing(ctx, 10*time.Second); lastErr == nil {
			return r, nil
		}
		r.stop()
	}
	return nil, fmt.Errorf("redis-server did not start: %w", lastErr)
}

func (r *redisProc) waitPing(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		select {
		case <-r.exited:
			return errors.New("redis-server exited at start")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		c, err := net.DialTimeout("tcp", r.addr, 500*time.Millisecond)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
			_, err = c.Write([]byte("PING\r\n"))
			var line string
			if err == nil {
				line, err = bufio.NewReader(c).ReadString('\n')
			}
			c.Close()
			if err == nil && strings.TrimSpace(line) == "+PONG" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PING answer from %s within %s", r.addr, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisProc) stop() {
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
}

// cpuTime returns the process's user plus system CPU time from
// /proc/PID/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux), or
// 0 where /proc is unavailable.
func (r *redisProc) cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(r.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is parenthesized and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	// After the name: state is field 3, utime field 14, stime field 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}
