package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
)

const serveHelp = `usage: issuer serve [--config FILE] [--data-dir DIR] [--listen ADDR] [--grace DUR]
       issuer serve --check [--config FILE]

Runs the token service until SIGTERM or SIGINT, then stops accepting
connections and lets in-flight requests finish (at most --grace).

SIGHUP reloads the configuration file while serving: clients, users and
audiences take effect for new requests (requests in flight finish as they
began; a new audience's key ring is created), and the key ring files are
re-read at once. Every other setting (listen, tls, store, keys, tokens,
limits, login, log, metrics, ...) keeps its running value until a restart;
the log names those that changed. A file that fails to load or validate
changes nothing: the issuer keeps serving and logs why, naming the key.

--check loads and validates the configuration (the file, or without
--config the dev set-up) as serve would — including the TLS certificate
and key, the secret hashes, the key-encryption key and the login key —
prints a summary and exits: 0 if the issuer would start with it, 2 if not.
It opens no port and writes nothing.

Without --config it runs a complete DEV SERVER: under the data directory
(--data-dir, else $ISSUER_DATA_DIR, else ./.issuer-dev) it creates once, and
reuses on later starts, a self-signed TLS certificate for 127.0.0.1 and
localhost (tls/cert.pem, tls/key.pem), the key rings (keys/) and the login
page's key (login.key). It registers:

  - a confidential demo client "demo" (client_credentials,
    authorization_code, refresh_token; scopes read and write; the consent
    page is shown) whose secret is generated afresh on every start;
  - a first-party public client "demo-cli" (authorization_code with PKCE,
    refresh_token; no consent page) for the trusted-header curl below;
  - a public OpenID Connect client "demo-oidc" (PKCE; scopes openid,
    profile, email, address, phone; redirect URI
    http://127.0.0.1:5556/callback, that of examples/oidc-rp), and "demo"
    may ask for the OpenID scopes too;
  - a demo user "alice" whose password is generated afresh on every start,
    with standard claims (name, email, ...) for ID tokens and /userinfo.

Both clients redirect to /demo/callback on the issuer itself, a page that
shows the code. The secret and the password are printed on standard output
with the exact commands that use them: a curl that gets a token, the
/authorize URL to open in a browser and the curl that exchanges its code,
and a curl that gets a code without a browser; only their hashes are kept
(sha256 for the secret, bcrypt for the password), in issuer.dev.yaml, the
dev configuration written to the data directory for "issuer token inspect"
and "issuer keys". The issuer URL follows the listen address
(https://127.0.0.1:8443 by default; port 0 picks a free port). At
/authorize the login page signs users in; the X-Remote-User header also
names the user, believed from loopback addresses only
(login.trusted_header), with the consent page for clients other than
first-party ones.

With --config it runs in production from that file (see the configuration
reference); ISSUER_LISTEN, ISSUER_DATA_DIR and ISSUER_STORE override the
file, and --listen and --data-dir override those.

Logs go to standard error: JSON lines, or a console format on a terminal
(log.format). Nothing secret is ever logged.

flags:
  --config FILE     configuration file (production mode)
  --data-dir DIR    data directory (overrides data_dir / $ISSUER_DATA_DIR)
  --listen ADDR     host:port to listen on (overrides listen / $ISSUER_LISTEN)
  --grace DUR       how long shutdown waits for in-flight requests (default 30s)
  --check           validate the configuration and exit (0 valid, 2 not)

exit codes: 0 stopped by a signal (or --check passed), 1 runtime error (the
address in use, say), 2 usage or config error (a missing certificate file
too)
`

// DevDataDir is the dev server's default data directory.
const DevDataDir = ".issuer-dev"

// DevUserHeader is the header that names the user at the dev server's
// /authorize, believed from loopback addresses only.
const DevUserHeader = "X-Remote-User"

// DevConfigFile is the dev configuration written into the data directory.
const DevConfigFile = "issuer.dev.yaml"

// DevCLIClientID is the dev server's first-party public client, used by
// the trusted-header curl of the banner.
const DevCLIClientID = "demo-cli"

// DevCallbackPath is the path, on the issuer, of the dev clients' redirect
// URI, answered with a page that shows the code (server.HandlerOptions
// DemoCallback).
const DevCallbackPath = "/demo/callback"

// devPasswordCost is the bcrypt cost of the demo user's password hash.
//
// Decision: bcrypt rather than sha256$, although the generated password
// has 144 bits of entropy and sha256$ would be safe: issuer.dev.yaml is the
// configuration developers copy from, and a user's password there should
// show the hash that human-chosen passwords need. Cost 10 costs about 50 ms
// once at start and once per sign-in (the verifier caches successes).
const devPasswordCost = 10

func runServe(ctx context.Context, args []string, env Env) error {
	fs := newFlags("serve")
	cfgPath := fs.String("config", "", "")
	dataDir := fs.String("data-dir", "", "")
	listenAddr := fs.String("listen", "", "")
	grace := fs.Duration("grace", 30*time.Second, "")
	check := fs.Bool("check", false, "")
	if err := parse(fs, args, serveHelp, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve takes no arguments, got %q", fs.Arg(0))
	}
	if *grace <= 0 {
		return usagef("--grace must be positive")
	}
	// Flags override the environment, which overrides the file.
	osenv := env.Getenv
	env.Getenv = func(k string) string {
		switch {
		case k == config.EnvListen && *listenAddr != "":
			return *listenAddr
		case k == config.EnvDataDir && *dataDir != "":
			return *dataDir
		}
		return osenv(k)
	}
	if *check {
		return checkConfig(*cfgPath, env)
	}
	// SIGHUP is caught from here on, so that one arriving during start-up
	// does not end the process (its default action); it is acted upon once
	// the service runs.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if *cfgPath == "" {
		return serveDev(ctx, env, *grace, hup)
	}
	cfg, err := loadConfig(*cfgPath, env)
	if err != nil {
		return err
	}
	ln, err := listen(cfg.Listen)
	if err != nil {
		return err
	}
	reload := func() (*config.Config, error) { return loadConfig(*cfgPath, env) }
	return serveConfig(ctx, cfg, ln, env, *grace, server.Options{}, nil, hup, reload)
}

// listen listens on addr; an address in use says how to pick another.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("listen: %w: another process listens on %s; choose another address with --listen HOST:PORT or ISSUER_LISTEN=HOST:PORT (make run LISTEN=HOST:PORT), or port 0 for a free one", err, addr)
	case err != nil:
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// checkConfig is serve --check: it loads the configuration (the file, or
// the dev set-up) and runs server.Check on it, printing a summary.
func checkConfig(path string, env Env) error {
	var cfg *config.Config
	var err error
	if path == "" {
		dir := env.Getenv(config.EnvDataDir)
		if dir == "" {
			dir = DevDataDir
		}
		if dir, err = filepath.Abs(dir); err != nil {
			return err
		}
		if cfg, err = config.Dev(dir, config.WithEnv(env.Getenv)); err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "dev configuration OK: data dir %s, listen %s (the dev server creates its certificate, key rings and demo client on start)\n", dir, cfg.Listen)
		return nil
	}
	if cfg, err = loadConfig(path, env); err != nil {
		return err
	}
	if err := server.Check(cfg, env.Getenv); err != nil {
		return err
	}
	tlsNote := "plain HTTP behind a TLS-terminating proxy"
	if cfg.TLS.CertFile != "" {
		tlsNote = "TLS " + cfg.TLS.CertFile
	}
	fmt.Fprintf(env.Stdout, "configuration OK: %s\n  issuer %s, listen %s (%s), store %s\n  %d audiences, %d clients, %d users\n",
		path, cfg.Issuer, cfg.Listen, tlsNote, cfg.Store, len(cfg.Audiences), len(cfg.Clients), len(cfg.Users))
	return nil
}

// serveConfig builds and runs the service with the options o (Log,
// Getenv and Version are set here); banner, if set, is printed once the
// service is ready to accept connections. Each signal on hup reloads the
// configuration with reload (App.Reload); with reload nil (the dev
// server, which has no file) it is logged and ignored.
func serveConfig(ctx context.Context, cfg *config.Config, ln net.Listener, env Env, grace time.Duration, o server.Options, banner func(),
	hup <-chan os.Signal, reload func() (*config.Config, error)) error {
	defer ln.Close()
	lw := server.NewLogWriter(env.Stderr, 100*time.Millisecond)
	defer lw.Close()
	log, err := server.NewLogger(lw, cfg.Log.Level, cfg.Log.Format, isTerminal(env.Stderr))
	if err != nil {
		return err
	}
	// go-redis's own messages (a dial failing during an outage) become
	// JSON lines of this log, never plain text on standard error.
	server.RouteRedisLogs(log, redisPassword(cfg.Store))
	// /authorize is served by the login page (server.DefaultOwner).
	o.Log, o.Getenv, o.Version = log, env.Getenv, version()
	o.RequestLines = server.JSONLines(lw, cfg.Log.Format, isTerminal(env.Stderr))
	if pct, set := server.ApplyRuntime(cfg, env.Getenv); set {
		log.Debug().Int("gc_percent", pct).Msg("garbage collector target set (limits.gc_percent)")
	}
	app, err := server.Build(ctx, cfg, o)
	if err != nil {
		return err
	}
	defer app.Close()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case <-hup:
				if reload == nil {
					log.Warn().Str("component", "config").Msg("SIGHUP: the dev server has no configuration file to reload; ignored")
					continue
				}
				_ = app.Reload(runCtx, reload) // logged by Reload
			}
		}
	}()
	if banner != nil {
		banner()
	}
	return app.Run(ctx, ln, grace)
}

// redisPassword is the password of a Redis store URL, to be scrubbed from
// go-redis's messages; "" for none.
func redisPassword(s config.Store) string {
	u, err := url.Parse(string(s))
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}

// serveDev runs the dev server (SPEC §6: "issuer serve" with no arguments).
//
// Decision: the demo client's secret and the demo user's password are
// regenerated on every start and printed then; only their hashes are
// written (in issuer.dev.yaml). Keeping them across restarts would mean
// storing them in plain text, and the dev server is restarted rarely
// enough that fresh commands are no burden. The login key, which protects
// nothing a restart should invalidate, is kept (login.key, mode 0600).
//
// Decision: the trusted header implies consent only for skip_consent
// clients (internal/login's rule: a third-party client is never granted
// without the user's consent). The banner's browser flow therefore uses
// "demo", which shows the consent page, and its trusted-header curl uses
// the first-party public client "demo-cli", which gets a code at once.
func serveDev(ctx context.Context, env Env, grace time.Duration, hup <-chan os.Signal) error {
	dir := env.Getenv(config.EnvDataDir)
	if dir == "" {
		dir = DevDataDir
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	addr := env.Getenv(config.EnvListen)
	if addr == "" {
		addr = config.DefaultListen
	}
	// Listen first, so that port 0 yields the real port before the issuer
	// URL, which follows it, is fixed.
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	overrides := func(k string) string {
		switch k {
		case config.EnvListen:
			return ln.Addr().String()
		case config.EnvDataDir:
			return dir
		}
		return env.Getenv(k)
	}
	cfg, err := config.Dev(dir, config.WithEnv(overrides))
	if err != nil {
		ln.Close()
		return err
	}
	d, err := newDevSecrets()
	if err != nil {
		ln.Close()
		return err
	}
	cfg.Clients = append(cfg.Clients, demoClient(cfg.Issuer, config.Hash(secret.NewSHA256(d.secret))), demoCLIClient(cfg.Issuer))
	cfg.Clients = append(cfg.Clients, demoOIDCClient(cfg.Issuer)) // SPEC §11 (serve_oidc.go)
	cfg.Users = append(cfg.Users, demoUser(config.Hash(d.passwordHash)))
	// Users sign in on the login page, or are taken from a header that is
	// believed from loopback only: on a dev machine, whoever can reach
	// 127.0.0.1 is the developer.
	cfg.Login = config.Login{TrustedHeader: DevUserHeader, TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"),
	}, KeyFile: filepath.Join(dir, config.DevLoginKeyFile)}
	cfg.Login.SessionTTL, cfg.Login.ConsentTTL = config.DefaultSessionTTL, config.DefaultConsentTTL // SPEC §11
	if err := cfg.Validate(); err != nil {
		ln.Close()
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		ln.Close()
		return err
	}
	if err := ensureLoginKey(cfg.Login.KeyFile); err != nil {
		ln.Close()
		return err
	}
	hosts := append([]string(nil), devtls.DefaultHosts...)
	if h := issuerHost(cfg.Issuer); h != "" {
		hosts = append(hosts, h)
	}
	if _, err := devtls.Ensure(cfg.TLS.CertFile, cfg.TLS.KeyFile, hosts, time.Now()); err != nil {
		ln.Close()
		return err
	}
	devCfg := filepath.Join(dir, DevConfigFile)
	if err := writeDevConfig(devCfg, cfg); err != nil {
		ln.Close()
		return err
	}
	banner := func() { printBanner(env.Stdout, cfg, dir, devCfg, d) }
	return serveConfig(ctx, cfg, ln, env, grace, server.Options{DemoCallback: DevCallbackPath}, banner, hup, nil)
}

// devSecrets are what the dev server generates on every start.
type devSecrets struct {
	secret       string // the demo client's secret
	password     string // the demo user's password
	passwordHash string // its bcrypt hash
	verifier     string // a PKCE code_verifier for the demo-cli curl (RFC 7636 §4.1)
	challenge    string // its S256 code_challenge (RFC 7636 §4.2)
}

func newDevSecrets() (*devSecrets, error) {
	var d devSecrets
	var err error
	if d.secret, err = secret.NewClientSecret(); err != nil {
		return nil, err
	}
	var pw [18]byte // 144 bits, 24 characters of base64url
	if _, err := rand.Read(pw[:]); err != nil {
		return nil, err
	}
	d.password = base64.RawURLEncoding.EncodeToString(pw[:])
	if d.passwordHash, err = secret.NewBcrypt(d.password, devPasswordCost); err != nil {
		return nil, err
	}
	var v [32]byte
	if _, err := rand.Read(v[:]); err != nil {
		return nil, err
	}
	d.verifier = base64.RawURLEncoding.EncodeToString(v[:])
	sum := sha256.Sum256([]byte(d.verifier))
	d.challenge = base64.RawURLEncoding.EncodeToString(sum[:])
	return &d, nil
}

// demoClient is the dev server's confidential demo client: the consent
// page is shown (skip_consent false), so that a developer sees it. It may
// ask for the OpenID Connect scopes too (serve_oidc.go).
func demoClient(issuer string, hash config.Hash) config.Client {
	c := config.DemoClient(hash)
	c.GrantTypes = []string{config.GrantClientCredentials, config.GrantAuthorizationCode, config.GrantRefreshToken}
	c.ResponseTypes = []string{config.ResponseCode}
	c.RedirectURIs = []string{strings.TrimSuffix(issuer, "/") + DevCallbackPath}
	withOpenID(&c, issuer)
	return c
}

// demoCLIClient is the dev server's first-party public client: no secret
// (PKCE required), no consent page, so that the trusted header alone gets a
// code; and the device authorization grant (RFC 8628), as a command-line
// tool or a TV would use it (its verification page always asks for
// consent).
func demoCLIClient(issuer string) config.Client {
	return config.Client{
		ID:            DevCLIClientID,
		Public:        true,
		RedirectURIs:  []string{strings.TrimSuffix(issuer, "/") + DevCallbackPath},
		GrantTypes:    []string{config.GrantAuthorizationCode, config.GrantRefreshToken, config.GrantDeviceCode},
		ResponseTypes: []string{config.ResponseCode},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read"},
		SkipConsent:   true,
	}
}

// ensureLoginKey creates the dev server's login key file, 32 random bytes
// in base64, mode 0600, unless it exists; an existing file is left for
// server.Build to read (and to refuse if it is unusable).
func ensureLoginKey(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("login key: %w", err)
	}
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		f.Close()
		return err
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key[:]) + "\n")
	clear(key[:])
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("login key: %w", err)
	}
	return nil
}

func issuerHost(issuer string) string {
	rest := strings.TrimPrefix(issuer, "https://")
	if h, _, err := net.SplitHostPort(rest); err == nil {
		return strings.Trim(h, "[]")
	}
	return strings.Trim(rest, "[]/")
}

// writeDevConfig writes the dev configuration (mode 0600: it holds the
// demo secret's hash).
func writeDevConfig(path string, cfg *config.Config) error {
	data, err := config.Marshal(cfg)
	if err != nil {
		return err
	}
	header := "# Written by \"issuer serve\" in dev mode on every start; edits are overwritten.\n" +
		"# Use it with: issuer token inspect --config " + path + " TOKEN\n"
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append([]byte(header), data...), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// selfCommand is the shell command by which a user in the current
// directory runs this binary:
// "issuer" when that name on PATH is this executable, else its path,
// relative to the working directory when it lies below it (make run starts
// ./bin/issuer), else absolute. Under "go run" the executable is a
// temporary file, so it falls back to "go run ./cmd/issuer".
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "issuer"
	}
	if onPath, err := exec.LookPath("issuer"); err == nil {
		if a, b := realPath(onPath), realPath(exe); a != "" && a == b {
			return "issuer"
		}
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/issuer"
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, exe); err == nil && !strings.HasPrefix(rel, "..") {
			return shellQuote("." + string(filepath.Separator) + rel)
		}
	}
	return shellQuote(exe)
}

func realPath(p string) string {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		return ""
	}
	return r
}

// printBanner prints how to use the dev server. It is the only place the
// demo secret and the demo password are ever written.
func printBanner(w io.Writer, cfg *config.Config, dir, devCfg string, d *devSecrets) {
	cert := cfg.TLS.CertFile
	pem, _ := os.ReadFile(cert)
	iss := cfg.Issuer
	fmt.Fprintf(w, `issuer dev server (no --config): NOT FOR PRODUCTION
  issuer       %s
  data dir     %s
  certificate  %s (self-signed, SHA-256 %s)
  demo client  id "demo", secret printed below; it is regenerated on every
               start and only its hash is kept (in %s)
  demo user    %q, password %s
               (regenerated on every start; only its bcrypt hash is kept)

Get a token:

  curl --cacert %s -u demo:%s -d grant_type=client_credentials %s/token

Inspect a token:

  %s token inspect --config %s TOKEN

Authorization code flow in a browser: open this URL (the certificate is
self-signed), sign in as %s with the password above, allow the request,
and the code shows on the demo client's callback page:

  %s/authorize?response_type=code&client_id=demo&scope=read+write&state=xyz

then exchange it within %s, with the code in place of CODE:

  curl --cacert %s -u demo:%s -d grant_type=authorization_code -d code=CODE %s/token

Authorization code flow without a browser: the %s header names the
user, believed from loopback only; the first-party public client %q
gets no consent page and uses PKCE; the code arrives in the Location header:

  curl -si --cacert %s -H '%s: %s' '%s/authorize?response_type=code&client_id=%s&state=xyz&code_challenge=%s&code_challenge_method=S256'
  curl --cacert %s -d grant_type=authorization_code -d client_id=%s -d code_verifier=%s -d code=CODE %s/token

Device flow (RFC 8628), as a TV or a command-line tool does it: ask for a code,

  curl --cacert %s -d client_id=%s -d scope=read %s/device_authorization

open its verification_uri_complete in a browser, sign in as %s and allow
(the page shows the user_code: check it matches), then poll every %d seconds
with the device_code in place of DEVICE_CODE until the token comes (before
that the answer is authorization_pending; the code lives %s):

  curl --cacert %s -d grant_type=%s -d client_id=%s -d device_code=DEVICE_CODE %s/token

`+openIDBanner, iss, dir, cert, devtls.Fingerprint(pem), devCfg,
		config.DemoUsername, d.password,
		shellQuote(cert), d.secret, iss,
		selfCommand(), shellQuote(devCfg),
		config.DemoUsername,
		iss,
		fmtTTL(cfg.Tokens.CodeTTL),
		shellQuote(cert), d.secret, iss,
		DevUserHeader, DevCLIClientID,
		shellQuote(cert), DevUserHeader, config.DemoUsername, iss, DevCLIClientID, d.challenge,
		shellQuote(cert), DevCLIClientID, d.verifier, iss,
		shellQuote(cert), DevCLIClientID, iss,
		config.DemoUsername, int(endpoint.DefaultPollInterval/time.Second), fmtTTL(cfg.Tokens.DeviceCodeTTL),
		shellQuote(cert), config.GrantDeviceCode, DevCLIClientID, iss,
		// OpenID Connect (openIDBanner)
		iss, endpointDiscovery, DevOIDCClientID, DevRPRedirect,
		iss, shellQuote(cert),
		iss,
		iss, DevOIDCClientID, url.QueryEscape(strings.TrimSuffix(iss, "/")+DevCallbackPath))
}

// fmtTTL formats a lifetime for the banner: "60s" rather than "1m0s".
func fmtTTL(d time.Duration) string {
	if d%time.Minute == 0 && d >= time.Minute {
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/._-:=@+,", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
