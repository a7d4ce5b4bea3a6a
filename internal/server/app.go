package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/login"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/file"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// LeaseName is the store lease that decides which replica rotates keys.
const LeaseName = "keys/rotate"

// ErrCertificate means the TLS certificate or key of tls.cert_file and
// tls.key_file cannot be loaded (a missing file, a key that does not match
// the certificate): a configuration error, exit code 2 for the CLI.
var ErrCertificate = errors.New("server: the TLS certificate or key cannot be loaded")

// OwnerDeps is what an Options.Owner factory may use to build the
// resource owner of /authorize (the login page).
type OwnerDeps struct {
	Config   *config.Config
	Endpoint *endpoint.Server
	// Users authenticates the configured users (the password grant uses
	// the same value); nil when there are none.
	Users *login.Users
	// Limiter throttles failed logins per user name and address (SPEC §6);
	// it is the token endpoint's limiter, so an address's failures count
	// across both.
	Limiter *secret.Limiter
	// Key is the login page's key from login.key_file or login.key_env;
	// nil when neither is configured (a random key per process).
	Key []byte
	// Metrics counts the login page's audit events; nil counts nothing.
	Metrics *Metrics
	Log     zerolog.Logger
	// Now is the clock (for auth_time).
	Now func() time.Time
	// Store keeps the login page's ended sessions and remembered consent
	// (SPEC §11).
	Store store.Store
}

// Options are the optional inputs of Build.
type Options struct {
	// Log is the server's logger; the zero Logger discards.
	Log zerolog.Logger
	// RequestLines is the writer under Log when Log writes JSON
	// (JSONLines), for HandlerOptions.RequestLines; nil otherwise.
	RequestLines io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Owner builds the resource owner of /authorize. Nil means
	// DefaultOwner, the built-in login page (internal/login).
	Owner func(OwnerDeps) (endpoint.ResourceOwner, error)
	// Getenv looks up the environment variables the configuration names
	// (keys.kek_env, login.key_env); nil means os.Getenv.
	Getenv func(string) string
	// AuthorizeTimeout bounds the handling of one /authorize request
	// (HandlerOptions.AuthorizeTimeout); 0 means DefaultAuthorizeTimeout.
	AuthorizeTimeout time.Duration
	// DemoCallback, if set, is the path of the dev server's demo callback
	// page (HandlerOptions.DemoCallback). Leave it empty in production.
	DemoCallback string
	// StoreWait bounds the first connection to Redis (default 3 s); an
	// unreachable Redis is then retried in the background.
	StoreWait time.Duration
	// Holder names this replica for the key-rotation lease; default
	// hostname, process id and a random suffix.
	Holder string
	// Version is the issuer's version, for the start-up log line and
	// issuer_build_info; empty means "(devel)".
	Version string
	// KeySetFetcher fetches the jwks_uri of clients (private_key_jwt,
	// self_signed_tls_client_auth) and of trusted issuers (JWT bearer
	// grant, token exchange); nil means an internal/jwksfetch Fetcher with
	// its production defaults (https only, public addresses only). Tests
	// pass one allowing loopback.
	KeySetFetcher endpoint.KeySetFetcher
}

// App is a configured issuer: everything Build wires from a
// configuration, ready to Run.
//
// Config and Endpoint are what Build made; after a configuration reload
// (Reload) the running ones are Current() and Handler.Endpoint().
type App struct {
	Config   *config.Config
	Endpoint *endpoint.Server
	Keys     *KeyRings
	Store    store.Store
	Metrics  *Metrics
	Handler  *Handler
	Server   *Server

	log     zerolog.Logger
	now     func() time.Time
	holder  string
	version string
	closer  func() error

	// What a reload rebuilds the endpoint server and the login page with.
	ownerFor func(OwnerDeps) (endpoint.ResourceOwner, error)
	verifier *secret.Verifier
	limiter  *secret.Limiter
	loginKey []byte
	// statusAlloc hands out status list entries (SPEC §9); one per
	// process, shared by every endpoint server a reload builds.
	statusAlloc *endpoint.LocalStatusAllocator
	// userCodes are the device flow's user-code guess limiters (per
	// address, global); they outlive reloads.
	userCodes [2]*secret.Limiter

	cur      atomic.Pointer[config.Config] // the configuration in force
	reloadMu sync.Mutex                    // one reload at a time

	// metricsServer serves /metrics on metrics.listen, if set.
	metricsServer *Server
	// leaseHeld is whether this replica held the rotation lease at its
	// last key step (keyLoop's goroutine only).
	leaseHeld bool

	// SPEC §10 (clientauth.go): what a reload builds client
	// authentication with, and whether the listener asks for client
	// certificates.
	getenv     func(string) string
	fetcher    endpoint.KeySetFetcher
	clientCAs  *x509.CertPool
	dpopNonces *dpop.Nonces
	wantCerts  atomic.Bool
}

// Build wires cfg (already validated by config.Load or Config.Validate)
// into an App: it loads or creates the key rings under keys.dir, connects
// the store, parses client and user hashes, reads the login page's key,
// builds the endpoint server, the resource owner (by default the login
// page), the handler and the HTTP server, and loads the TLS certificate.
// Close releases what Build opened.
func Build(ctx context.Context, cfg *config.Config, o Options) (_ *App, err error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.StoreWait <= 0 {
		o.StoreWait = 3 * time.Second
	}
	if o.Holder == "" {
		o.Holder = defaultHolder()
	}
	if o.Version == "" {
		o.Version = "(devel)"
	}
	a := &App{Config: cfg, log: o.Log, now: o.Now, holder: o.Holder, version: o.Version, closer: func() error { return nil }}
	a.cur.Store(cfg)
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	a.Metrics = NewMetrics(o.Version)
	// The certificate first: a configuration error is reported before
	// anything is written.
	var tlsConf *tls.Config
	if cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls.cert_file %s, tls.key_file %s: %w", ErrCertificate, cfg.TLS.CertFile, cfg.TLS.KeyFile, err)
		}
		tlsConf = TLSConfig(cert)
	}
	if err := a.setupClientAuth(cfg, o); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if tlsConf != nil {
		tlsConf = withClientCertificates(tlsConf, a.wantCerts.Load)
	}

	var mem *memory.Store
	switch {
	case cfg.Store.IsFile():
		// Run drains the HTTP server before it returns, and the caller
		// closes the App after Run: every acknowledged write is in the
		// file before Close stops the committer.
		fs, err := file.Open(ctx, cfg.StorePath, file.WithClock(o.Now))
		if err != nil {
			return nil, fmt.Errorf("server: store: %w", err)
		}
		a.Store, a.closer = fs, fs.Close
		a.log.Info().Str("component", "store").Str("file", cfg.StorePath).Msg("file store opened")
	case cfg.Store.IsMemory():
		// limits.memory_store_entries is validated (at least 1000); a zero
		// from a Config that skipped validation keeps the store's default.
		var bound memory.Option
		if n := cfg.Limits.MemoryStoreEntries; n > 0 {
			bound = memory.WithMaxEntries(n)
		}
		if mem, err = memory.New(memory.WithClock(o.Now), bound); err != nil {
			return nil, fmt.Errorf("server: store: %w", err)
		}
		a.Store, a.closer = mem, mem.Close
		a.log.Warn().Str("component", "store").
			Msg("store: memory forgets every redeemed code, refresh rotation and revocation when the process stops: after a restart revoked tokens are active again and rotated refresh tokens are refused; use store: file (the default) or Redis outside tests and benchmarks")
	default:
		rc, err := connectRedis(ctx, string(cfg.Store), o.StoreWait, 2*time.Second, a.log)
		if err != nil {
			return nil, fmt.Errorf("server: store: %w", err)
		}
		a.Store, a.closer = rc, rc.Close
	}

	// The key rings come after the store: with keys.store: redis they live
	// in it.
	var ringStorage keys.Storage
	if cfg.Keys.Store == config.KeyStoreRedis {
		rc, ok := a.Store.(*redisConn)
		if !ok {
			return nil, fmt.Errorf("%w: keys.store redis needs store to be a Redis URL", ErrConfig)
		}
		ringStorage = connRings{rc}
	} else if ringStorage, err = keys.NewDirStorage(cfg.Keys.Dir); err != nil {
		return nil, err
	}
	if a.Keys, err = NewKeyRingsWithStorage(cfg, o.Getenv, ringStorage, keys.WithClock(o.Now), keys.WithOnReload(a.ringReloaded)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	created, imported, err := a.Keys.Init(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: key rings: %w", err)
	}
	for _, n := range imported {
		a.log.Info().Str("component", "keys").Str("ring", n).Str("location", a.Keys.Path(n)).Msg("key ring imported from keys.dir")
	}
	for _, n := range created {
		a.log.Info().Str("component", "keys").Str("ring", n).Str("location", a.Keys.Path(n)).Msg("key ring created")
	}

	a.verifier = secret.NewVerifier(secret.VerifierConfig{MaxConcurrent: cfg.Limits.HashConcurrency, Now: o.Now})
	a.limiter = secret.NewLimiter(secret.LimiterConfig{
		Threshold: cfg.RateLimit.Failures,
		Window:    cfg.RateLimit.Window,
		Block:     cfg.RateLimit.Backoff,
		MaxBlock:  cfg.RateLimit.MaxBackoff,
	})
	a.userCodes[0], a.userCodes[1] = endpoint.DefaultUserCodeLimiters()
	if a.loginKey, err = loginKey(cfg, o.Getenv, a.log); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	a.Metrics.WatchKeys(a.Keys.List, o.Now)
	if mem != nil {
		a.Metrics.WatchMemoryStore(mem)
	}
	a.ownerFor = o.Owner
	if a.ownerFor == nil {
		a.ownerFor = DefaultOwner
	}
	if a.statusAlloc, err = newStatusAllocator(cfg, a); err != nil {
		return nil, err
	}
	st, err := a.newState(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.Endpoint = st.ep
	a.Handler = NewHandler(st.ep, HandlerOptions{
		Owner: st.owner, Log: o.Log, RequestLines: o.RequestLines, Metrics: a.Metrics, Ready: a.Ready,
		AuthorizeTimeout: o.AuthorizeTimeout, DemoCallback: o.DemoCallback,
		MetricsElsewhere: cfg.Metrics.Listen != "",
		JWKS:             NewJWKS(a.Keys.Signing(), cfg.Keys.Propagation, o.Now),
	})

	limits := Limits{
		MaxBodyBytes:  int(cfg.Limits.MaxBodyBytes),
		ReadTimeout:   cfg.Limits.ReadTimeout,
		WriteTimeout:  cfg.Limits.WriteTimeout,
		IdleTimeout:   cfg.Limits.IdleTimeout,
		MaxConnsPerIP: cfg.Limits.MaxConnsPerIP,
	}
	a.Server = NewServer(a.Handler.ServeFastHTTP, limits, tlsConf, o.Log)
	if cfg.Metrics.Listen != "" {
		a.metricsServer = NewServer(MetricsHandler(a.Metrics, o.Log), limits, nil, o.Log)
	}
	return a, nil
}

// appState is what a configuration reload replaces: the endpoint server
// and the resource owner built from the clients, users and audiences.
type appState struct {
	ep    *endpoint.Server
	owner endpoint.ResourceOwner
}

// newState builds the endpoint server and the resource owner of cfg over
// the App's key rings (opening those of audiences new to it), store,
// verifier, limiter and login key.
func (a *App) newState(ctx context.Context, cfg *config.Config) (*appState, error) {
	names := make([]string, 0, len(cfg.Audiences))
	for _, au := range cfg.Audiences {
		names = append(names, au.Name)
	}
	created, err := a.Keys.AddAudiences(ctx, names...)
	for _, n := range created {
		a.log.Info().Str("component", "keys").Str("ring", n).Str("location", a.Keys.Path(n)).Msg("key ring created")
	}
	if err != nil {
		return nil, err
	}
	def, _ := cfg.DefaultAudience()
	rings, err := a.Keys.Endpoint(def, names...)
	if err != nil {
		return nil, err
	}
	rings.Signing = a.Keys.Signing()
	clients, scopes, err := staticClients(cfg, a.getenv)
	if err != nil {
		return nil, err
	}
	resourceServers, err := resourceServers(cfg, a.getenv)
	if err != nil {
		return nil, err
	}
	opts := []endpoint.Option{
		endpoint.WithPaths(Paths()),
		endpoint.WithLifetimes(cfg.Tokens.AccessTTL, cfg.Tokens.RefreshTTL, cfg.Tokens.CodeTTL),
		endpoint.WithLeeway(cfg.Tokens.Leeway),
		endpoint.WithClock(a.now),
		endpoint.WithVerifier(a.verifier),
		endpoint.WithLimiter(a.limiter),
		endpoint.WithTrustedProxies(cfg.TrustedProxies...),
		endpoint.WithScopesSupported(scopes...),
		endpoint.WithResourceServers(resourceServers...),
	}
	opts = append(opts, a.publicationOptions(cfg)...)
	if cfg.RateLimit.ClientWrites > 0 {
		opts = append(opts, endpoint.WithClientQuota(cfg.RateLimit.ClientWrites, cfg.RateLimit.ClientWindow))
	}
	opts = append(opts, a.clientAuthOptions()...)
	grantOpts, err := a.grantOptions(cfg) // SPEC §12 (grants.go)
	if err != nil {
		return nil, err
	}
	opts = append(opts, grantOpts...)
	if signed := signedAudiences(cfg); len(signed) > 0 {
		opts = append(opts, endpoint.WithSignedAudiences(signed...))
	}
	// One authenticator of users, for the login page and the password
	// grant alike.
	var users *login.Users
	if len(cfg.Users) > 0 {
		list := make([]login.User, 0, len(cfg.Users))
		for _, u := range cfg.Users {
			h, err := secret.Parse(string(u.PasswordHash))
			if err != nil {
				return nil, fmt.Errorf("server: user %q: password_hash: %w", u.Username, err)
			}
			list = append(list, login.User{Username: u.Username, ID: u.ID, Hash: h, Claims: u.Claims.OIDC()})
		}
		if users, err = login.NewUsers(list, a.verifier); err != nil {
			return nil, err
		}
		opts = append(opts, endpoint.WithUsers(users))
	}
	opts = append(opts, openIDOption(a.Keys, users)) // SPEC §11 (oidc.go)
	ep, err := endpoint.New(cfg.Issuer, rings, clients, a.Store, opts...)
	if err != nil {
		return nil, err
	}
	owner, err := a.ownerFor(OwnerDeps{Config: cfg, Endpoint: ep, Users: users, Limiter: a.limiter, Key: a.loginKey, Metrics: a.Metrics, Log: a.log, Now: a.now,
		Store: a.Store})
	if err != nil {
		return nil, err
	}
	// The state is built; new TLS handshakes ask for a client certificate
	// if its clients need one.
	a.wantCerts.Store(wantsClientCertificates(cfg))
	return &appState{ep: ep, owner: owner}, nil
}

// signedAudiences returns the audiences whose access tokens are signed
// (audiences[].sign, SPEC §9).
func signedAudiences(cfg *config.Config) []string {
	var out []string
	for _, au := range cfg.Audiences {
		if au.Sign {
			out = append(out, au.Name)
		}
	}
	return out
}

// DefaultOwner builds the resource owner of /authorize: the built-in login
// and consent page, login.Page (SPEC §5), over deps.Users (the login form)
// and login.trusted_header (an authenticating proxy), keyed with deps.Key,
// posting to the authorization endpoint's path under the issuer URL, with
// its failed sign-ins counted in deps.Limiter and its audit events logged
// (LoginAudit). With neither users nor a trusted header nobody can sign in:
// it returns nil, and the Handler answers authorization requests
// access_denied.
//
// Names from the trusted header map to subjects by login.ProxySubjects: a
// configured username becomes that user's id (one identity whether the
// user typed a password or came through the proxy); any other name is its
// own subject, since the proxy vouches for it, unless it equals a user id
// or a client id (RFC 9068 §5), which is refused with a 403 page. The
// header implies consent only for skip_consent clients; other clients get
// the consent page (login's rule: a third-party client is never granted
// without the user's consent, whoever authenticated them).
func DefaultOwner(deps OwnerDeps) (endpoint.ResourceOwner, error) {
	cfg := deps.Config
	if deps.Users == nil && cfg.Login.TrustedHeader == "" {
		return nil, nil
	}
	// A nil *login.Users must become a nil interface, not a typed nil
	// that the page would take for a configured form.
	var ua endpoint.UserAuthenticator
	if deps.Users != nil {
		ua = deps.Users
	}
	clientIDs := make([]string, 0, len(cfg.Clients))
	for _, c := range cfg.Clients {
		clientIDs = append(clientIDs, c.ID)
	}
	path, devicePath := deps.Endpoint.Paths().Authorize, deps.Endpoint.Paths().DeviceVerification
	if u, err := url.Parse(cfg.Issuer); err == nil {
		path = strings.TrimSuffix(u.EscapedPath(), "/") + path
		devicePath = strings.TrimSuffix(u.EscapedPath(), "/") + devicePath
	}
	lc := login.Config{
		Issuer:         cfg.Issuer,
		Users:          ua,
		Limiter:        deps.Limiter,
		ClientAddr:     deps.Endpoint.ClientAddr,
		TrustedHeader:  cfg.Login.TrustedHeader,
		TrustedProxies: cfg.Login.TrustedProxies,
		Key:            deps.Key,
		Now:            deps.Now,
		Path:           path,
		Audit:          LoginAudit(deps.Log, deps.Metrics),
		DeviceFlow:     deps.Endpoint, // the device verification page, RFC 8628 §3.3
		DevicePath:     devicePath,
	}
	if cfg.Login.TrustedHeader != "" {
		lc.ProxySubject = login.ProxySubjects(deps.Users, clientIDs)
	}
	openIDLogin(&lc, deps) // single sign-on, remembered consent, logout (oidc.go)
	page, err := login.New(lc)
	if err != nil {
		return nil, fmt.Errorf("server: login page: %w", err)
	}
	return page, nil
}

// maxLoginKeyFile bounds what loginKey reads from login.key_file.
const maxLoginKeyFile = login.MaxKeyFileSize

// loginKey reads the login page's key from login.key_file or the variable
// login.key_env names; nil when neither is configured. Errors name the key
// and never quote the key material.
func loginKey(cfg *config.Config, getenv func(string) string, log zerolog.Logger) ([]byte, error) {
	switch {
	case cfg.Login.KeyFile != "":
		path := cfg.Login.KeyFile
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("server: login.key_file: %w", err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("server: login.key_file: %w", err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("server: login.key_file %s: not a regular file", path)
		}
		data, err := io.ReadAll(io.LimitReader(f, maxLoginKeyFile+1))
		if err != nil {
			return nil, fmt.Errorf("server: login.key_file: %w", err)
		}
		key, err := login.ParseKeyFile(data)
		clear(data)
		if err != nil {
			return nil, fmt.Errorf("server: login.key_file %s: %w", path, err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			log.Warn().Str("component", "login").Str("file", path).Str("mode", st.Mode().Perm().String()).
				Msg("the login key file is readable by others than its owner; chmod 600 it")
		}
		return key, nil
	case cfg.Login.KeyEnv != "":
		v := getenv(cfg.Login.KeyEnv)
		if v == "" {
			return nil, fmt.Errorf("server: login.key_env names %s, which is not set", cfg.Login.KeyEnv)
		}
		key, err := login.DecodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("server: login.key_env %s: %w", cfg.Login.KeyEnv, err)
		}
		return key, nil
	}
	return nil, nil
}

// staticClients converts the configured clients, parsing their secret
// hashes, and returns the union of their scopes for the metadata.
func staticClients(cfg *config.Config, getenv func(string) string) (*endpoint.StaticClients, []string, error) {
	list := make([]*endpoint.Client, 0, len(cfg.Clients))
	var scopes []string
	for i, c := range cfg.Clients {
		ec := &endpoint.Client{
			ID:             c.ID,
			Public:         c.Public,
			RedirectURIs:   slices.Clone(c.RedirectURIs),
			Scopes:         slices.Clone(c.Scopes),
			DefaultScopes:  slices.Clone(c.DefaultScopes),
			Audiences:      slices.Clone(c.Audiences),
			SkipConsent:    c.SkipConsent,
			AllowPKCEPlain: c.AllowPKCEPlain,

			DPoPBoundAccessTokens:        c.DPoPBoundAccessTokens,
			CertificateBoundAccessTokens: c.TLSClientCertificateBoundAccessTokens,
			PostLogoutRedirectURIs:       slices.Clone(c.PostLogoutRedirectURIs),
			// SPEC §12
			TokenExchangeAudiences: slices.Clone(c.TokenExchange.Audiences),
			RequirePushedRequests:  c.RequirePushedAuthorizationRequests,
		}
		auth, envHash, err := clientAuth(fmt.Sprintf("clients[%d]", i), c.AuthOf(), getenv)
		if err != nil {
			return nil, nil, fmt.Errorf("server: client %q: %w", c.ID, err)
		}
		ec.Auth, ec.Secret = auth, envHash
		if c.SecretHash != "" {
			h, err := secret.Parse(string(c.SecretHash))
			if err != nil {
				return nil, nil, fmt.Errorf("server: client %q: secret_hash: %w", c.ID, err)
			}
			ec.Secret = h
		}
		for _, g := range c.GrantTypes {
			ec.GrantTypes = append(ec.GrantTypes, endpoint.GrantType(g))
		}
		for _, rt := range c.ResponseTypes {
			ec.ResponseTypes = append(ec.ResponseTypes, endpoint.ResponseType(rt))
		}
		list = append(list, ec)
		for _, s := range c.Scopes {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	sc, err := endpoint.NewStaticClients(list...)
	return sc, scopes, err
}

// resourceServers converts the configured resource servers, parsing their
// secret hashes, authentication keys and the JWK Sets their key
// deliveries are encrypted to.
func resourceServers(cfg *config.Config, getenv func(string) string) ([]*endpoint.ResourceServer, error) {
	list := make([]*endpoint.ResourceServer, 0, len(cfg.ResourceServers))
	for i, rs := range cfg.ResourceServers {
		a := rs.AuthOf()
		if !authUsesKeys(a.Method) {
			a.JWKS = "" // the key deliveries' (SPEC §9), not authentication's
		}
		auth, h, err := clientAuth(fmt.Sprintf("resource_servers[%d]", i), a, getenv)
		if err != nil {
			return nil, fmt.Errorf("server: resource server %q: %w", rs.ID, err)
		}
		if rs.SecretHash != "" {
			if h, err = secret.Parse(string(rs.SecretHash)); err != nil {
				return nil, fmt.Errorf("server: resource server %q: secret_hash: %w", rs.ID, err)
			}
		}
		r, err := recipientOf(rs)
		if err != nil {
			return nil, err
		}
		list = append(list, &endpoint.ResourceServer{ID: rs.ID, Secret: h, Audiences: slices.Clone(rs.Audiences), Auth: auth, Keys: r})
	}
	return list, nil
}

// Ready reports whether every grant can be served: the store answers and
// every key ring has an active key (/readyz). Each failure is a
// *CheckError named "store" or "keys".
func (a *App) Ready(ctx context.Context) error {
	var errs []error
	if err := a.Store.Ping(ctx); err != nil {
		if !errors.Is(err, store.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		errs = append(errs, &CheckError{Check: "store", Err: err})
	}
	if err := a.Keys.CheckActive(a.now()); err != nil {
		errs = append(errs, &CheckError{Check: "keys", Err: err})
	}
	return errors.Join(errs...)
}

// Run serves ln until ctx ends, running the key rotation loop beside it,
// then shuts down gracefully: new connections are refused, in-flight
// requests finish (for at most grace), and Run returns nil. An error
// serving, or requests still running after grace, is returned.
func (a *App) Run(ctx context.Context, ln net.Listener, grace time.Duration) error {
	keyCtx, stopKeys := context.WithCancel(context.Background())
	keysDone := make(chan struct{})
	go func() {
		defer close(keysDone)
		a.keyLoop(keyCtx, TickInterval(a.Config.Keys.Propagation))
	}()
	defer func() {
		stopKeys()
		<-keysDone
	}()

	var mln net.Listener
	if addr := a.Config.Metrics.Listen; addr != "" {
		var err error
		if mln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("server: metrics.listen: %w", err)
		}
	}
	served := make(chan error, 2)
	go func() { served <- a.Server.Serve(ln) }()
	if mln != nil {
		go func() { served <- a.metricsServer.Serve(mln) }()
	}
	a.logStart(ln.Addr(), mln)
	select {
	case err := <-served:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	a.log.Info().Dur("grace", grace).Msg("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var shutErr error
	if mln != nil {
		shutErr = a.metricsServer.Shutdown(sctx)
		if err := <-served; err != nil && shutErr == nil {
			shutErr = err
		}
	}
	if err := a.Server.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-served; err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if shutErr != nil {
		return fmt.Errorf("server: metrics listener: %w", shutErr)
	}
	a.log.Info().Msg("stopped")
	return nil
}

// keyLoop keeps the key rings current every interval until ctx ends. The
// replica holding the rotation lease (always, with one replica) plans and
// writes the rings; the others reload what it wrote. A store without
// leases means a single replica, which always rotates.
func (a *App) keyLoop(ctx context.Context, interval time.Duration) {
	leaser, _ := a.Store.(store.Leaser)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		a.keyStep(ctx, leaser, interval)
		select {
		case <-ctx.Done():
			if leaser != nil {
				rctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = leaser.ReleaseLease(rctx, LeaseName, a.holder)
				cancel()
			}
			return
		case <-t.C:
		}
	}
}

func (a *App) keyStep(ctx context.Context, leaser store.Leaser, interval time.Duration) {
	rotate := true
	if leaser != nil {
		lctx, cancel := context.WithTimeout(ctx, interval)
		ok, err := leaser.AcquireLease(lctx, LeaseName, a.holder, 3*interval)
		cancel()
		if err != nil && ctx.Err() == nil {
			a.log.Warn().Str("component", "keys").Str("cause", err.Error()).Msg("cannot acquire the rotation lease; reloading only")
		}
		rotate = ok && err == nil
		if rotate != a.leaseHeld && ctx.Err() == nil {
			if rotate {
				a.log.Info().Str("component", "keys").Str("holder", a.holder).Msg("rotation lease acquired: this replica rotates the key rings")
			} else {
				a.log.Info().Str("component", "keys").Str("holder", a.holder).Msg("rotation lease not held: this replica reloads the key rings another replica writes")
			}
			a.leaseHeld = rotate
		}
	}
	if rotate {
		changed, err := a.Keys.Tick(ctx)
		for _, n := range changed {
			a.Metrics.Rotated(n)
			a.log.Info().Str("component", "keys").Str("ring", n).Msg("key ring updated")
		}
		if err != nil && ctx.Err() == nil {
			a.log.Error().Str("component", "keys").Str("cause", err.Error()).Msg("key rotation failed; keeping the current rings")
		}
		return
	}
	if err := a.Keys.Reload(ctx); err != nil && ctx.Err() == nil {
		a.log.Error().Str("component", "keys").Str("cause", err.Error()).Msg("key ring reload failed; keeping the last good rings")
	}
}

// Close releases the store: with store: file it commits the writes still
// queued and closes the file. Call it after Run has returned, that is once
// the HTTP server has drained.
func (a *App) Close() error { return a.closer() }

func defaultHolder() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
