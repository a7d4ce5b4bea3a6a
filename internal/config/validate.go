package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// Validate reports every problem in c, each as an *Error naming its key
// path, joined with errors.Join; nil if c is valid. It checks syntax and
// consistency only: it opens no file and reads no environment variable.
// [Load] and [Parse] call it; call it again after changing a Config in code
// (for example after adding the demo client to a [Dev] config).
func (c *Config) Validate() error {
	var errs errList
	v := validator{errs: &errs}
	v.config(c)
	return errs.err()
}

// validator checks a Config. src, pos and env let errors point at the line
// a value came from, or at the environment variable that overrode it.
type validator struct {
	src  string
	pos  map[string]int    // key path -> line
	env  map[string]string // key path -> environment variable
	skip map[string]bool   // key paths already reported by the decoder
	errs *errList
}

func (v *validator) errf(path, format string, args ...any) {
	for p := path; p != "" && len(v.skip) > 0; p = parent(p) {
		if v.skip[p] {
			return
		}
	}
	e := &Error{Source: v.src, Path: path, Msg: fmt.Sprintf(format, args...), Kind: ErrInvalid}
	if name, ok := v.env[path]; ok {
		e.Source, e.Path = "", name
	} else {
		e.Line = v.lineOf(path)
	}
	v.errs.add(e)
}

// lineOf returns the line of path, or of its nearest ancestor that has one
// (a defaulted key has no line of its own).
func (v *validator) lineOf(path string) int {
	for ; path != ""; path = parent(path) {
		if l, ok := v.pos[path]; ok {
			return l
		}
	}
	return 0
}

// parent returns the key path one level up: "clients[1].id" -> "clients[1]"
// -> "clients" -> "".
func parent(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

func idx(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func (v *validator) config(c *Config) {
	v.issuer(c.Issuer)
	if err := checkListen(c.Listen); err != nil {
		v.errf("listen", "%v", err)
	}
	if c.DataDir == "" {
		v.errf("data_dir", "must not be empty")
	}
	v.tls(c)
	v.prefixes("trusted_proxies", c.TrustedProxies)
	v.keys(&c.Keys)
	v.tokens(&c.Tokens)
	if err := checkStore(c.Store); err != nil {
		v.errf("store", "%v", err)
	}
	if c.StorePath == "" {
		v.errf("store_path", "must not be empty")
	}
	v.keyStore(c)
	v.audiences(c.Audiences)
	v.login(&c.Login)
	v.dpop(&c.DPoP)
	v.limits(&c.Limits)
	v.rateLimit(&c.RateLimit)
	v.log(&c.Log)
	v.metrics(c)
	v.clients(c)
	v.resourceServers(c)
	v.users(c)
	v.grants12(c)
}

// issuer: RFC 8414 §2 — an https URL with no query or fragment. Plain http is
// refused even for loopback: dev mode serves https with a self-signed cert.
func (v *validator) issuer(s string) {
	const p = "issuer"
	if s == "" {
		v.errf(p, "required: the https URL of this issuer, such as \"https://auth.example.com\"")
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.errf(p, "not a URL")
	case u.Scheme != "https":
		v.errf(p, "must be an https URL (RFC 8414 §2), got scheme %q", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		v.errf(p, "must be an absolute URL with a host (RFC 8414 §2)")
	case u.User != nil:
		v.errf(p, "must not contain user information")
	case u.RawQuery != "" || u.ForceQuery:
		v.errf(p, "must not have a query component (RFC 8414 §2)")
	case u.Fragment != "" || strings.Contains(s, "#"):
		v.errf(p, "must not have a fragment component (RFC 8414 §2)")
	case !validPort(u.Port(), true):
		v.errf(p, "invalid port %q", u.Port())
	}
}

func validPort(p string, emptyOK bool) bool {
	if p == "" {
		return emptyOK
	}
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && (n > 0 || !emptyOK)
}

// checkListen accepts host:port with an empty host (all interfaces), an IP
// or a host name, and a port 0-65535 (0: any free port, for tests).
func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port such as \"127.0.0.1:8443\" or \":8443\", got %q", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("invalid port %q in %q", port, s)
	}
	if host != "" && !validHostname(host) {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("invalid host %q in %q", host, s)
		}
	}
	return nil
}

func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func (v *validator) tls(c *Config) {
	cert, key := c.TLS.CertFile != "", c.TLS.KeyFile != ""
	switch {
	case cert && !key:
		v.errf("tls.key_file", "required when tls.cert_file is set")
	case key && !cert:
		v.errf("tls.cert_file", "required when tls.key_file is set")
	case !cert && len(c.TrustedProxies) == 0:
		v.errf("tls", "tls.cert_file and tls.key_file are required, unless the server runs behind a TLS-terminating proxy listed in trusted_proxies")
	}
}

// prefixes checks a list of trusted networks. A /0 trusts every address,
// which defeats the point of the list, so it is refused.
func (v *validator) prefixes(path string, ps []netip.Prefix) {
	seen := make(map[netip.Prefix]bool, len(ps))
	for i, p := range ps {
		ip := idx(path, i)
		switch {
		case !p.IsValid():
			v.errf(ip, "not a valid CIDR")
		case p.Bits() == 0:
			v.errf(ip, "%s trusts every address; list the proxies' own networks", p)
		case seen[p]:
			v.errf(ip, "duplicate %s", p)
		}
		seen[p] = true
	}
}

func (v *validator) keys(k *Keys) {
	if k.Dir == "" {
		v.errf("keys.dir", "must not be empty")
	}
	if k.Alg != AlgA256KW && k.Alg != AlgDir {
		v.errf("keys.alg", "unknown algorithm %q (want A256KW or dir)", k.Alg)
	}
	if k.SigningAlg != SigningES256 && k.SigningAlg != SigningEdDSA && k.SigningAlg != SigningRS256 {
		v.errf("keys.signing_alg", "unknown algorithm %q (want ES256, EdDSA or RS256)", k.SigningAlg)
	}
	if k.Store != KeyStoreDir && k.Store != KeyStoreRedis {
		v.errf("keys.store", "unknown key store %q (want dir or redis)", k.Store)
	}
	switch {
	case k.RotateEvery < MinRotateEvery:
		v.errf("keys.rotate_every", "must be at least %s, got %s", fmtDuration(MinRotateEvery), fmtDuration(k.RotateEvery))
	case k.Propagation <= 0:
		v.errf("keys.propagation", "must be positive, got %s", fmtDuration(k.Propagation))
	case k.Propagation < MinPropagation:
		v.errf("keys.propagation", "must be at least %s: replicas reload the key rings every propagation/10 (at least 1s apart) and must all hold a new key before it seals, got %s",
			fmtDuration(MinPropagation), fmtDuration(k.Propagation))
	case k.Propagation >= k.RotateEvery:
		v.errf("keys.propagation", "must be less than keys.rotate_every (%s), got %s", fmtDuration(k.RotateEvery), fmtDuration(k.Propagation))
	}
	if k.KEKEnv != "" && !validEnvName(k.KEKEnv) {
		v.errf("keys.kek_env", "%q is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)", k.KEKEnv)
	}
}

// keyStore checks that keys.store: redis has what it needs: a Redis store
// to keep the rings in, and a key-encryption key, since every replica and
// anyone who can read that Redis reads the rings over the network.
func (v *validator) keyStore(c *Config) {
	if c.Keys.Store != KeyStoreRedis {
		return
	}
	if !c.Store.IsRedis() {
		v.errf("keys.store", "redis keeps the key rings in the Redis of store, but store is not a redis:// or rediss:// URL")
	}
	if c.Keys.KEKEnv == "" {
		v.errf("keys.kek_env", "required with keys.store: redis: the rings are stored in Redis wrapped with this key-encryption key, never in clear")
	}
}

// Key rotation bounds. A replica that does not rotate reloads the rings
// every propagation/10, clamped to between 1 s and 1 min
// (server.TickInterval), and a new key must be on every replica before it
// starts sealing, propagation after it was written: so propagation must
// exceed that interval plus the clocks' skew. MinPropagation, twice the
// shortest interval, leaves each replica two reloads; docs/SCALING.md gives
// the full rule, resource servers included.
const (
	MinRotateEvery = time.Minute
	MinPropagation = 2 * time.Second
)

func validEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// Token lifetime bounds. Access tokens are self-contained and cannot be
// recalled before they expire, so they are capped at a day; RFC 6749 §4.1.2
// recommends codes live at most 10 minutes.
const (
	maxAccessTTL  = 24 * time.Hour
	maxRefreshTTL = 8760 * time.Hour
	maxCodeTTL    = 10 * time.Minute
	maxLeeway     = 5 * time.Minute
)

func (v *validator) tokens(t *Tokens) {
	bounded := func(path string, d, hi time.Duration) bool {
		if d <= 0 || d > hi {
			v.errf(path, "must be positive and at most %s, got %s", fmtDuration(hi), fmtDuration(d))
			return false
		}
		return true
	}
	accessOK := bounded("tokens.access_ttl", t.AccessTTL, maxAccessTTL)
	if bounded("tokens.refresh_ttl", t.RefreshTTL, maxRefreshTTL) && accessOK && t.RefreshTTL < t.AccessTTL {
		v.errf("tokens.refresh_ttl", "must not be shorter than tokens.access_ttl (%s), got %s", fmtDuration(t.AccessTTL), fmtDuration(t.RefreshTTL))
	}
	bounded("tokens.code_ttl", t.CodeTTL, maxCodeTTL)
	if t.DeviceCodeTTL < endpoint.MinDeviceCodeLifetime || t.DeviceCodeTTL > endpoint.MaxDeviceCodeLifetime {
		v.errf("tokens.device_code_ttl", "must be between %s and %s, got %s",
			fmtDuration(endpoint.MinDeviceCodeLifetime), fmtDuration(endpoint.MaxDeviceCodeLifetime), fmtDuration(t.DeviceCodeTTL))
	}
	switch {
	case t.Leeway < 0 || t.Leeway > maxLeeway:
		v.errf("tokens.leeway", "must be between 0s and %s, got %s", fmtDuration(maxLeeway), fmtDuration(t.Leeway))
	case accessOK && t.Leeway >= t.AccessTTL:
		v.errf("tokens.leeway", "must be less than tokens.access_ttl (%s), got %s", fmtDuration(t.AccessTTL), fmtDuration(t.Leeway))
	}
	if d := t.StatusListTTL; d < time.Second || d > endpoint.MaxStatusListTTL || d%time.Second != 0 {
		v.errf("tokens.status_list_ttl", "must be whole seconds from 1s to %s, got %s", fmtDuration(endpoint.MaxStatusListTTL), fmtDuration(d))
	}
}

// checkStore accepts "file", "memory" or
// redis://[user:password@]host[:port][/db] (rediss:// for TLS). The value
// may hold a password, so no message quotes it, and url errors (which do)
// are not wrapped.
func checkStore(s Store) error {
	if s.IsMemory() || s.IsFile() {
		return nil
	}
	if s == "" {
		return fmt.Errorf("must be \"file\", \"memory\" or a redis:// or rediss:// URL")
	}
	u, err := url.Parse(string(s))
	if err != nil {
		return fmt.Errorf("not \"file\", not \"memory\" and not a valid URL")
	}
	switch {
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return fmt.Errorf("must be \"file\", \"memory\" or a redis:// or rediss:// URL")
	case u.Opaque != "" || u.Hostname() == "":
		return fmt.Errorf("the Redis URL needs a host, as in redis://127.0.0.1:6379/0")
	case !validPort(u.Port(), true):
		return fmt.Errorf("the Redis URL has an invalid port")
	case u.Fragment != "" || strings.Contains(string(s), "#"):
		return fmt.Errorf("the Redis URL must not have a fragment")
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return fmt.Errorf("the Redis URL path must be a database number, as in redis://127.0.0.1:6379/0")
		}
	}
	return nil
}

// audiences: each name is an RFC 8707 §2 resource indicator (absolute URI,
// no fragment) and also names a key ring, so it is printable ASCII.
func (v *validator) audiences(as []Audience) {
	if len(as) == 0 {
		v.errf("audiences", "at least one audience is required")
		return
	}
	seen := make(map[string]bool, len(as))
	var defaults []string
	for i, a := range as {
		p := idx("audiences", i)
		if err := checkResourceURI(a.Name); err != nil {
			v.errf(p+".name", "%v", err)
		} else if seen[a.Name] {
			v.errf(p+".name", "duplicate audience %q", a.Name)
		}
		seen[a.Name] = true
		if a.Default {
			defaults = append(defaults, p)
		}
	}
	if len(defaults) > 1 {
		v.errf(defaults[1]+".default", "only one audience may be the default (%s is already)", defaults[0])
	}
}

func checkResourceURI(s string) error {
	if s == "" {
		return fmt.Errorf("required: an absolute URI such as \"https://api.example.com\"")
	}
	if len(s) > 512 {
		return fmt.Errorf("longer than 512 bytes")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f {
			return fmt.Errorf("%q contains a space, control or non-ASCII character", s)
		}
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs():
		return fmt.Errorf("%q is not an absolute URI (RFC 8707 §2)", s)
	case strings.Contains(s, "#"):
		return fmt.Errorf("%q must not have a fragment (RFC 8707 §2)", s)
	}
	return nil
}

// Headers that carry client-controlled data or hop-by-hop meaning: naming
// one of them as the trusted user header is a misconfiguration.
var unfitHeaders = []string{
	"authorization", "connection", "content-length", "content-type", "cookie",
	"forwarded", "host", "origin", "proxy-authorization", "referer",
	"transfer-encoding", "user-agent", "x-forwarded-for", "x-forwarded-host",
	"x-forwarded-proto",
}

func (v *validator) login(l *Login) {
	if h := l.TrustedHeader; h != "" {
		switch {
		case !validToken(h):
			v.errf("login.trusted_header", "%q is not a valid header name (RFC 9110 §5.1)", h)
		case slices.Contains(unfitHeaders, strings.ToLower(h)):
			v.errf("login.trusted_header", "%q carries client data; name a header that only the authenticating proxy sets", h)
		}
		if len(l.TrustedProxies) == 0 {
			v.errf("login.trusted_proxies", "required when login.trusted_header is set: the header is believed only from these networks")
		}
	} else if len(l.TrustedProxies) > 0 {
		v.errf("login.trusted_proxies", "has no effect without login.trusted_header")
	}
	v.prefixes("login.trusted_proxies", l.TrustedProxies)
	switch {
	case l.KeyEnv != "" && !validEnvName(l.KeyEnv):
		v.errf("login.key_env", "%q is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)", l.KeyEnv)
	case l.KeyEnv != "" && l.KeyFile != "":
		v.errf("login.key_env", "set at most one of login.key_file and login.key_env")
	}
	v.loginOpenID(l)
}

// validToken reports whether s is an RFC 9110 §5.6.2 token (a header name).
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

const (
	minBodyBytes = 1 << 10
	maxBodyBytes = 16 << 20
	// The memory store's bound: below a thousand entries a burst of a few
	// hundred sign-ins would fill it; above a billion (over 100 GB a
	// table) the number is a typo rather than a plan.
	minMemoryStoreEntries = 1_000
	maxMemoryStoreEntries = 1_000_000_000
)

func (v *validator) limits(l *Limits) {
	if l.MaxBodyBytes < minBodyBytes || l.MaxBodyBytes > maxBodyBytes {
		v.errf("limits.max_body_bytes", "must be between %s and %s, got %d", ByteSize(minBodyBytes), ByteSize(maxBodyBytes), int64(l.MaxBodyBytes))
	}
	for _, d := range []struct {
		path string
		d    time.Duration
	}{{"limits.read_timeout", l.ReadTimeout}, {"limits.write_timeout", l.WriteTimeout}, {"limits.idle_timeout", l.IdleTimeout}} {
		if d.d <= 0 {
			v.errf(d.path, "must be positive, got %s", fmtDuration(d.d))
		}
	}
	if l.MaxConnsPerIP < 0 {
		v.errf("limits.max_conns_per_ip", "must not be negative (0: no cap), got %d", l.MaxConnsPerIP)
	}
	if l.HashConcurrency < 0 || l.HashConcurrency > 4096 {
		v.errf("limits.hash_concurrency", "must be between 0 (one per CPU) and 4096, got %d", l.HashConcurrency)
	}
	if l.MemoryStoreEntries < minMemoryStoreEntries || l.MemoryStoreEntries > maxMemoryStoreEntries {
		v.errf("limits.memory_store_entries", "must be between %d and %d, got %d", minMemoryStoreEntries, maxMemoryStoreEntries, l.MemoryStoreEntries)
	}
	if l.GCPercent != 0 && (l.GCPercent < 50 || l.GCPercent > 2000) {
		v.errf("limits.gc_percent", "must be 0 (the Go runtime's default) or between 50 and 2000, got %d", l.GCPercent)
	}
}

func (v *validator) rateLimit(r *RateLimit) {
	if r.Failures < 1 || r.Failures > 1000 {
		v.errf("rate_limit.failures", "must be between 1 and 1000, got %d", r.Failures)
	}
	if r.Window <= 0 {
		v.errf("rate_limit.window", "must be positive, got %s", fmtDuration(r.Window))
	}
	switch {
	case r.Backoff <= 0:
		v.errf("rate_limit.backoff", "must be positive, got %s", fmtDuration(r.Backoff))
	case r.MaxBackoff < r.Backoff:
		v.errf("rate_limit.max_backoff", "must be at least rate_limit.backoff (%s), got %s", fmtDuration(r.Backoff), fmtDuration(r.MaxBackoff))
	}
	if r.ClientWrites < 1 || r.ClientWrites > 1_000_000_000 {
		v.errf("rate_limit.client_writes", "must be between 1 and 1000000000, got %d", r.ClientWrites)
	}
	if r.ClientWindow <= 0 {
		v.errf("rate_limit.client_window", "must be positive, got %s", fmtDuration(r.ClientWindow))
	}
}

var (
	logLevels  = []string{"trace", "debug", "info", "warn", "error"}
	logFormats = []string{"json", "console", "auto"}
)

func (v *validator) log(l *Log) {
	if !slices.Contains(logLevels, l.Level) {
		v.errf("log.level", "unknown level %q (want %s)", l.Level, strings.Join(logLevels, ", "))
	}
	if !slices.Contains(logFormats, l.Format) {
		v.errf("log.format", "unknown format %q (want %s)", l.Format, strings.Join(logFormats, ", "))
	}
}

// metrics: metrics.listen is an address of its own, not the main one.
func (v *validator) metrics(c *Config) {
	l := c.Metrics.Listen
	if l == "" {
		return
	}
	if err := checkListen(l); err != nil {
		v.errf("metrics.listen", "%v", err)
		return
	}
	if l == c.Listen {
		v.errf("metrics.listen", "%q is the main listen address; leave metrics.listen empty to serve /metrics there", l)
	}
}

var (
	grantTypes = []string{GrantAuthorizationCode, GrantClientCredentials, GrantRefreshToken, GrantPassword,
		GrantDeviceCode, GrantTokenExchange, GrantJWTBearer}
	responseTypes = []string{ResponseCode, ResponseToken}
)

func (v *validator) clients(c *Config) {
	audiences := make(map[string]bool, len(c.Audiences))
	for _, a := range c.Audiences {
		audiences[a.Name] = true
	}
	_, haveDefault := c.DefaultAudience()
	ids := make(map[string]string, len(c.Clients))
	for i := range c.Clients {
		cl := &c.Clients[i]
		p := idx("clients", i)
		switch err := checkClientID(cl.ID); {
		case err != nil:
			v.errf(p+".id", "%v", err)
		case ids[cl.ID] != "":
			v.errf(p+".id", "duplicate client id %q (also %s)", cl.ID, ids[cl.ID])
		default:
			ids[cl.ID] = p
		}
		v.secret(p, cl)
		v.clientAuth(p, authOf(cl), cl.Public, false, c)
		v.grants(p, cl)
		v.senderConstrained(p, cl)
		v.redirects(p, cl)
		v.postLogoutRedirects(p, cl)
		v.scopes(p, cl)
		if len(cl.Audiences) == 0 && !haveDefault && len(c.Audiences) > 0 {
			v.errf(p+".audiences", "required: there is no default audience")
		}
		seen := make(map[string]bool, len(cl.Audiences))
		for j, a := range cl.Audiences {
			switch {
			case !audiences[a]:
				v.errf(idx(p+".audiences", j), "unknown audience %q (not in audiences)", a)
			case seen[a]:
				v.errf(idx(p+".audiences", j), "duplicate audience %q", a)
			}
			seen[a] = true
		}
	}
}

// checkClientID: RFC 6749 Appendix A.1, client-id = *VSCHAR (%x20-7E).
func checkClientID(id string) error {
	if id == "" {
		return fmt.Errorf("required")
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("%q has a character outside %%x20-7E (RFC 6749 Appendix A.1)", id)
		}
	}
	if strings.TrimSpace(id) != id {
		return fmt.Errorf("%q has leading or trailing spaces", id)
	}
	return nil
}

func (v *validator) secret(p string, cl *Client) {
	secretBased := cl.TokenEndpointAuthMethod == "" || cl.TokenEndpointAuthMethod == AuthSecretBasic || cl.TokenEndpointAuthMethod == AuthSecretPost
	switch {
	case cl.Public && cl.SecretHash != "":
		v.errf(p+".secret_hash", "must be empty for a public client")
	case !cl.Public && cl.SecretHash == "" && cl.SecretEnv == "" && secretBased:
		v.errf(p+".secret_hash", "required for a confidential client (set public: true for a client without a secret, or token_endpoint_auth_method for a key or certificate)")
	case !cl.Public && cl.SecretHash != "":
		if err := checkHash(string(cl.SecretHash)); err != nil {
			v.errf(p+".secret_hash", "%v", err)
		}
	}
}

func (v *validator) grants(p string, cl *Client) {
	if len(cl.GrantTypes) == 0 {
		v.errf(p+".grant_types", "at least one grant type is required (%s)", strings.Join(grantTypes, ", "))
	}
	seen := make(map[string]bool, len(cl.GrantTypes))
	for j, g := range cl.GrantTypes {
		gp := idx(p+".grant_types", j)
		switch {
		case !slices.Contains(grantTypes, g):
			v.errf(gp, "unknown grant type %q (want %s)", g, strings.Join(grantTypes, ", "))
		case seen[g]:
			v.errf(gp, "duplicate grant type %q", g)
		case g == GrantClientCredentials && cl.Public:
			v.errf(gp, "a public client cannot use client_credentials (RFC 6749 §4.4)")
		}
		seen[g] = true
	}
	if seen[GrantRefreshToken] && !seen[GrantAuthorizationCode] && !seen[GrantPassword] && !seen[GrantDeviceCode] {
		v.errf(p+".grant_types", "refresh_token needs authorization_code, password or the device_code grant: no other grant issues refresh tokens (RFC 6749 §4.4.3, RFC 8693 §2.2.1, RFC 7523 §2.1)")
	}
	rseen := make(map[string]bool, len(cl.ResponseTypes))
	for j, r := range cl.ResponseTypes {
		rp := idx(p+".response_types", j)
		switch {
		case !slices.Contains(responseTypes, r):
			v.errf(rp, "unknown response type %q (want code, token)", r)
		case rseen[r]:
			v.errf(rp, "duplicate response type %q", r)
		case r == ResponseCode && !seen[GrantAuthorizationCode]:
			v.errf(rp, "response type code needs the authorization_code grant in grant_types")
		}
		rseen[r] = true
	}
	if seen[GrantAuthorizationCode] && !rseen[ResponseCode] {
		v.errf(p+".response_types", "must include code: the client has the authorization_code grant")
	}
	if cl.AllowPKCEPlain && !seen[GrantAuthorizationCode] {
		v.errf(p+".allow_pkce_plain", "has no effect without the authorization_code grant")
	}
}

// redirects: RFC 6749 §3.1.2 — absolute, no fragment. http only for
// loopback (RFC 8252 §7.3); other schemes are private-use schemes of native
// apps and must be reverse domain names (RFC 8252 §7.1), which also rules
// out javascript:, data: and file:.
func (v *validator) redirects(p string, cl *Client) {
	needs := cl.HasGrant(GrantAuthorizationCode) || slices.Contains(cl.ResponseTypes, ResponseToken)
	switch {
	case needs && len(cl.RedirectURIs) == 0:
		v.errf(p+".redirect_uris", "at least one redirect URI is required for authorization_code or response type token (RFC 6749 §3.1.2)")
	case !needs && len(cl.RedirectURIs) > 0:
		v.errf(p+".redirect_uris", "set, but the client uses neither authorization_code nor response type token")
	}
	seen := make(map[string]bool, len(cl.RedirectURIs))
	for j, r := range cl.RedirectURIs {
		rp := idx(p+".redirect_uris", j)
		if err := checkRedirectURI(r); err != nil {
			v.errf(rp, "%v", err)
		} else if seen[r] {
			v.errf(rp, "duplicate redirect URI %q", r)
		}
		seen[r] = true
	}
}

func checkRedirectURI(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f {
			return fmt.Errorf("%q contains a space, control or non-ASCII character", s)
		}
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs():
		return fmt.Errorf("%q is not an absolute URI (RFC 6749 §3.1.2)", s)
	case strings.Contains(s, "#"):
		return fmt.Errorf("%q must not have a fragment (RFC 6749 §3.1.2)", s)
	case u.User != nil:
		return fmt.Errorf("%q must not contain user information", s)
	}
	switch u.Scheme {
	case "https":
		if u.Hostname() == "" {
			return fmt.Errorf("%q has no host", s)
		}
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%q: plain http is allowed only for loopback hosts (RFC 8252 §7.3); use https", s)
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("%q: scheme %q is neither https, loopback http, nor a reverse-domain private-use scheme (RFC 8252 §7.1)", s, u.Scheme)
		}
	}
	if !validPort(u.Port(), true) {
		return fmt.Errorf("%q has an invalid port", s)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// scopes: RFC 6749 §3.3, scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func (v *validator) scopes(p string, cl *Client) {
	allowed := make(map[string]bool, len(cl.Scopes))
	for j, s := range cl.Scopes {
		sp := idx(p+".scopes", j)
		switch {
		case !validScope(s):
			v.errf(sp, "%q is not a scope token (RFC 6749 §3.3: printable ASCII except space, \" and \\)", s)
		case allowed[s]:
			v.errf(sp, "duplicate scope %q", s)
		}
		allowed[s] = true
	}
	seen := make(map[string]bool, len(cl.DefaultScopes))
	for j, s := range cl.DefaultScopes {
		sp := idx(p+".default_scopes", j)
		switch {
		case !allowed[s]:
			v.errf(sp, "%q is not in %s.scopes", s, p)
		case seen[s]:
			v.errf(sp, "duplicate scope %q", s)
		}
		seen[s] = true
	}
}

func validScope(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}

// resourceServers: ids like client ids and distinct from them, a secret
// hash, and at least one known audience.
func (v *validator) resourceServers(c *Config) {
	audiences := make(map[string]bool, len(c.Audiences))
	for _, a := range c.Audiences {
		audiences[a.Name] = true
	}
	ids := make(map[string]string, len(c.Clients)+len(c.ResourceServers))
	for i, cl := range c.Clients {
		ids[cl.ID] = idx("clients", i)
	}
	for i, rs := range c.ResourceServers {
		p := idx("resource_servers", i)
		switch err := checkClientID(rs.ID); {
		case err != nil:
			v.errf(p+".id", "%v", err)
		case ids[rs.ID] != "":
			v.errf(p+".id", "duplicate id %q (also %s): clients and resource servers share one name space", rs.ID, ids[rs.ID])
		default:
			ids[rs.ID] = p
		}
		method := rs.TokenEndpointAuthMethod
		secretBased := method == "" || method == AuthSecretBasic || method == AuthSecretPost
		keysUsed := method == AuthPrivateKeyJWT || method == AuthSelfSignedTLS
		receivesKeys := rs.JWKS != "" && !keysUsed
		switch {
		case rs.SecretHash == "" && rs.SecretEnv == "" && secretBased && !(method == "" && receivesKeys):
			v.errf(p+".secret_hash", "required: a resource server authenticates with a secret, unless token_endpoint_auth_method names a key or certificate method, or it only receives its keys (jwks with an encryption key)")
		case rs.SecretHash != "":
			if err := checkHash(string(rs.SecretHash)); err != nil {
				v.errf(p+".secret_hash", "%v", err)
			}
		}
		if rs.JWKS != "" {
			// The key its deliveries are encrypted to (SPEC §9): required
			// unless the set is there for private_key_jwt or a self-signed
			// certificate, whose keys clientAuth checks (and reports).
			_, err := keys.ParseRecipient([]byte(rs.JWKS))
			switch {
			case err == nil:
			case !keysUsed:
				v.errf(p+".jwks", "%s", strings.TrimPrefix(err.Error(), "keys: "))
			case errors.Is(err, keys.ErrNoEncryptionKey):
				// Keys to authenticate with only: no key delivery.
			default:
				if _, kerr := jws.ParseKeySet([]byte(rs.JWKS)); kerr == nil {
					v.errf(p+".jwks", "%s", strings.TrimPrefix(err.Error(), "keys: "))
				}
			}
		}
		auth := authOfRS(&rs)
		if !keysUsed {
			auth.JWKS = "" // the key deliveries' (SPEC §9), not authentication's
		}
		v.clientAuth(p, auth, false, true, c)
		if len(rs.Audiences) == 0 {
			v.errf(p+".audiences", "at least one audience is required: the audiences whose tokens it may introspect")
		}
		seen := make(map[string]bool, len(rs.Audiences))
		for j, a := range rs.Audiences {
			switch {
			case !audiences[a]:
				v.errf(idx(p+".audiences", j), "unknown audience %q (not in audiences)", a)
			case seen[a]:
				v.errf(idx(p+".audiences", j), "duplicate audience %q", a)
			}
			seen[a] = true
		}
	}
}

func (v *validator) users(c *Config) {
	names := make(map[string]string, len(c.Users))
	ids := make(map[string]string, len(c.Users))
	clientIDs := make(map[string]string, len(c.Clients))
	for i, cl := range c.Clients {
		clientIDs[cl.ID] = idx("clients", i)
	}
	for i, u := range c.Users {
		p := idx("users", i)
		switch err := checkUserText(u.Username); {
		case err != nil:
			v.errf(p+".username", "%v", err)
		case names[u.Username] != "":
			v.errf(p+".username", "duplicate username %q (also %s)", u.Username, names[u.Username])
		default:
			names[u.Username] = p
		}
		switch err := checkUserText(u.ID); {
		case err != nil:
			v.errf(p+".id", "%v", err)
		case ids[u.ID] != "":
			v.errf(p+".id", "duplicate user id %q (also %s)", u.ID, ids[u.ID])
		case clientIDs[u.ID] != "":
			// client_credentials tokens carry the client id as sub
			// (RFC 9068 §2.2); a user with the same id would be
			// indistinguishable from that client (RFC 9068 §5).
			v.errf(p+".id", "%q is also the id of %s; a token's sub would not say which is meant (RFC 9068 §5)", u.ID, clientIDs[u.ID])
		default:
			ids[u.ID] = p
		}
		if u.PasswordHash == "" {
			v.errf(p+".password_hash", "required")
		} else if err := checkHash(string(u.PasswordHash)); err != nil {
			v.errf(p+".password_hash", "%v", err)
		}
		v.userClaims(p+".claims", &u.Claims)
	}
	if len(c.Users) > 0 {
		return
	}
	for i, cl := range c.Clients {
		switch {
		case cl.HasGrant(GrantPassword):
			v.errf(idx("clients", i)+".grant_types", "the password grant needs users, and there are none")
		case (cl.HasGrant(GrantAuthorizationCode) || slices.Contains(cl.ResponseTypes, ResponseToken)) && c.Login.TrustedHeader == "":
			v.errf(idx("clients", i)+".grant_types", "nobody can log in: there are no users and no login.trusted_header")
		}
	}
}

// checkUserText: user names and ids are non-empty, without control
// characters (RFC 6749 Appendix A.15 UNICHARNOCRLF), valid UTF-8, and at
// most 256 bytes.
func checkUserText(s string) error {
	if s == "" {
		return fmt.Errorf("required")
	}
	if len(s) > 256 {
		return fmt.Errorf("longer than 256 bytes")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%q contains a control or invalid character", s)
		}
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%q has leading or trailing spaces", s)
	}
	return nil
}
