package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/secret"
)

const serveHelp = `usage: issuer serve [--config FILE] [--data-dir DIR] [--listen ADDR] [--grace DUR]

Runs the token service until SIGTERM or SIGINT, then stops accepting
connections and lets in-flight requests finish (at most --grace).

Without --config it runs a complete DEV SERVER: under the data directory
(--data-dir, else $ISSUER_DATA_DIR, else ./.issuer-dev) it creates once, and
reuses on later starts, a self-signed TLS certificate for 127.0.0.1 and
localhost (tls/cert.pem, tls/key.pem) and the key rings (keys/). It registers
a confidential demo client "demo" (client_credentials, authorization_code,
refresh_token; scopes read and write) whose secret is generated afresh on
every start and printed once on standard output, with the exact curl
command that gets a token; only the secret's sha256 hash is kept, in
issuer.dev.yaml, the dev configuration written to the data directory for
"issuer token inspect" and "issuer keys". The issuer URL follows the listen
address (https://127.0.0.1:8443 by default; port 0 picks a free port).
At /authorize the user is named by the X-Remote-User header, believed from
loopback addresses only (login.trusted_header).

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

exit codes: 0 stopped by a signal, 1 runtime error, 2 usage or config error
`

// DevDataDir is the dev server's default data directory.
const DevDataDir = ".issuer-dev"

// DevUserHeader is the header that names the user at the dev server's
// /authorize, believed from loopback addresses only.
const DevUserHeader = "X-Remote-User"

// DevConfigFile is the dev configuration written into the data directory.
const DevConfigFile = "issuer.dev.yaml"

func runServe(ctx context.Context, args []string, env Env) error {
	fs := newFlags("serve")
	cfgPath := fs.String("config", "", "")
	dataDir := fs.String("data-dir", "", "")
	listen := fs.String("listen", "", "")
	grace := fs.Duration("grace", 30*time.Second, "")
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
		case k == config.EnvListen && *listen != "":
			return *listen
		case k == config.EnvDataDir && *dataDir != "":
			return *dataDir
		}
		return osenv(k)
	}
	if *cfgPath == "" {
		return serveDev(ctx, env, *grace)
	}
	cfg, err := loadConfig(*cfgPath, env)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return serveConfig(ctx, cfg, ln, env, *grace, nil)
}

// serveConfig builds and runs the service; banner, if set, is printed once
// the service is ready to accept connections.
func serveConfig(ctx context.Context, cfg *config.Config, ln net.Listener, env Env, grace time.Duration, banner func()) error {
	defer ln.Close()
	lw := server.NewLogWriter(env.Stderr, 100*time.Millisecond)
	defer lw.Close()
	log, err := server.NewLogger(lw, cfg.Log.Level, cfg.Log.Format, isTerminal(env.Stderr))
	if err != nil {
		return err
	}
	// The login page (internal/login) plugs in here, as Options.Owner;
	// without it /authorize uses server.DefaultOwner (the trusted header).
	app, err := server.Build(ctx, cfg, server.Options{Log: log})
	if err != nil {
		return err
	}
	defer app.Close()
	if banner != nil {
		banner()
	}
	return app.Run(ctx, ln, grace)
}

// serveDev runs the dev server (SPEC §6: "issuer serve" with no arguments).
//
// Decision: the demo client's secret is regenerated on every start and
// printed then; only its hash is written (in issuer.dev.yaml). Keeping a
// secret across restarts would mean storing it in plain text, and the dev
// server is restarted rarely enough that a fresh curl line is no burden.
func serveDev(ctx context.Context, env Env, grace time.Duration) error {
	dir := env.Getenv(config.EnvDataDir)
	if dir == "" {
		dir = DevDataDir
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	listen := env.Getenv(config.EnvListen)
	if listen == "" {
		listen = config.DefaultListen
	}
	// Listen first, so that port 0 yields the real port before the issuer
	// URL, which follows it, is fixed.
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
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
	sec, err := secret.NewClientSecret()
	if err != nil {
		ln.Close()
		return err
	}
	cfg.Clients = append(cfg.Clients, demoClient(cfg.Issuer, config.Hash(secret.NewSHA256(sec))))
	// Users of the authorization code flow are taken from a header that is
	// believed from loopback only: on a dev machine, whoever can reach
	// 127.0.0.1 is the developer.
	cfg.Login = config.Login{TrustedHeader: DevUserHeader, TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"),
	}}
	if err := cfg.Validate(); err != nil {
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
	banner := func() { printBanner(env.Stdout, cfg, dir, devCfg, sec) }
	return serveConfig(ctx, cfg, ln, env, grace, banner)
}

// demoClient is the dev server's confidential demo client.
func demoClient(issuer string, hash config.Hash) config.Client {
	c := config.DemoClient(hash)
	c.GrantTypes = []string{config.GrantClientCredentials, config.GrantAuthorizationCode, config.GrantRefreshToken}
	c.ResponseTypes = []string{config.ResponseCode}
	c.RedirectURIs = []string{strings.TrimSuffix(issuer, "/") + "/demo/callback"}
	return c
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

// printBanner prints how to use the dev server. It is the only place the
// demo secret is ever written.
func printBanner(w io.Writer, cfg *config.Config, dir, devCfg, sec string) {
	cert := cfg.TLS.CertFile
	pem, _ := os.ReadFile(cert)
	fmt.Fprintf(w, `issuer dev server (no --config): NOT FOR PRODUCTION
  issuer       %s
  data dir     %s
  certificate  %s (self-signed, SHA-256 %s)
  demo client  id "demo", secret printed below; it is regenerated on every
               start and only its hash is kept (in %s)

Get a token:

  curl --cacert %s -u demo:%s -d grant_type=client_credentials %s/token

Inspect a token:

  issuer token inspect --config %s TOKEN

Authorization code flow: the user is named by the %s header, believed
from loopback only; the code arrives in the Location header:

  curl -si --cacert %s -H '%s: alice' '%s/authorize?response_type=code&client_id=demo&state=xyz'

`, cfg.Issuer, dir, cert, devtls.Fingerprint(pem), devCfg, shellQuote(cert), sec, cfg.Issuer, shellQuote(devCfg),
		DevUserHeader, shellQuote(cert), DevUserHeader, cfg.Issuer)
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
