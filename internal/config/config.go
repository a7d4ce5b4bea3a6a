package config

import (
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the configuration of cmd/issuer (SPEC §6). Its fields mirror
// the YAML keys one to one; doc.go lists every key with its type, default
// and meaning.
//
// A Config returned by [Load], [Parse] or [Dev] has its defaults applied and
// its paths made absolute; one returned by Load or Parse is also valid. A
// Config is a plain value: it is not safe to modify while another goroutine
// reads it, and nothing in this package keeps a reference to it.
type Config struct {
	// Issuer is the "iss" claim and the RFC 8414 metadata issuer: an
	// absolute https URL without query or fragment (RFC 8414 §2).
	Issuer string `yaml:"issuer"`
	// Listen is the host:port the server listens on.
	Listen string `yaml:"listen"`
	// DataDir is the base directory against which relative paths in the
	// configuration are resolved.
	DataDir string `yaml:"data_dir"`
	// TLS names the server certificate and key.
	TLS TLS `yaml:"tls"`
	// TrustedProxies lists the networks from which X-Forwarded-Proto and
	// X-Forwarded-For are believed (SPEC §5). Empty: believed from nobody.
	TrustedProxies []netip.Prefix `yaml:"trusted_proxies"`
	// Keys configures the key rings (SPEC §4).
	Keys Keys `yaml:"keys"`
	// Tokens holds token lifetimes (SPEC §3).
	Tokens Tokens `yaml:"tokens"`
	// Store is "file", "memory" or a redis:// or rediss:// URL (SPEC §7).
	Store Store `yaml:"store"`
	// StorePath is the file of the file store (store: file).
	StorePath string `yaml:"store_path"`
	// Audiences are the resource servers tokens are issued for; each has its
	// own key ring (RFC 8707).
	Audiences []Audience `yaml:"audiences"`
	// Login configures how /authorize learns who the user is.
	Login Login `yaml:"login"`
	// DPoP configures DPoP proofs at the token endpoint (RFC 9449, SPEC
	// §10).
	DPoP DPoP `yaml:"dpop"`
	// Limits bounds request sizes, timeouts and concurrency.
	Limits Limits `yaml:"limits"`
	// RateLimit throttles repeated authentication failures (SPEC §6).
	RateLimit RateLimit `yaml:"rate_limit"`
	// Log configures the server's log output.
	Log Log `yaml:"log"`
	// Metrics configures where /metrics is served.
	Metrics Metrics `yaml:"metrics"`
	// Clients are the registered OAuth clients (RFC 6749 §2).
	Clients []Client `yaml:"clients"`
	// ResourceServers are the services that accept access tokens of some
	// audiences and may introspect and revoke them (RFC 7662 §4).
	ResourceServers []ResourceServer `yaml:"resource_servers"`
	// Users are the resource owners who may log in.
	Users []User `yaml:"users"`
	// TrustedIssuers are the issuers of signed JWTs accepted as JWT bearer
	// assertions (RFC 7523 §2.1) and as token exchange subject and actor
	// tokens (RFC 8693) (SPEC §12).
	TrustedIssuers []TrustedIssuer `yaml:"trusted_issuers"`
	// RequirePushedAuthorizationRequests makes every client push its
	// authorization requests (RFC 9126 §5).
	RequirePushedAuthorizationRequests bool `yaml:"require_pushed_authorization_requests"`
}

// TLS names the PEM files of the server's certificate chain and private key.
// Both are set or both are empty; empty means the server speaks plain HTTP
// behind a TLS-terminating proxy listed in [Config.TrustedProxies].
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile names a PEM file of the certificate authorities that
	// the certificates of tls_client_auth clients must chain to (RFC 8705
	// §2.1). This package only checks the path; it never opens the file.
	ClientCAFile string `yaml:"client_ca_file"`
}

// DPoP configures DPoP at the token endpoint (RFC 9449): proofs are always
// accepted; these keys make server nonces (§8) required.
type DPoP struct {
	// RequireNonce makes every proof carry a nonce from the DPoP-Nonce
	// header (RFC 9449 §8): stateless, a MAC of the clock's time step.
	RequireNonce bool `yaml:"require_nonce"`
	// NonceStep is the time step of the nonces; a nonce is accepted
	// during its step and the next.
	NonceStep time.Duration `yaml:"nonce_step"`
	// NonceKeyFile and NonceKeyEnv name the file or environment variable
	// holding the nonce key (at least 32 bytes, as base64 text or raw in
	// the file, base64 in the variable), which replicas must share; at
	// most one is set. This package never reads either.
	NonceKeyFile string `yaml:"nonce_key_file"`
	NonceKeyEnv  string `yaml:"nonce_key_env"`
}

// JWE key-management algorithms accepted in [Keys.Alg] (RFC 7518 §4). The
// values are those of pkg/keys' Alg constants.
const (
	AlgA256KW = "A256KW" // AES-256 key wrap, RFC 7518 §4.4 (default)
	AlgDir    = "dir"    // direct AES-256-GCM, RFC 7518 §4.5
)

// JWS algorithms accepted in [Keys.SigningAlg] (RFC 7518 §3.3, §3.4,
// RFC 8037 §3.1). The values are those of pkg/keys' signing Alg constants.
const (
	SigningES256 = "ES256" // ECDSA P-256 (default)
	SigningEdDSA = "EdDSA" // Ed25519
	SigningRS256 = "RS256" // RSA PKCS #1 v1.5, 2048-bit keys
)

// Where the key rings live, accepted in [Keys.Store].
const (
	KeyStoreDir   = "dir"   // ring files in [Keys.Dir] (default)
	KeyStoreRedis = "redis" // in the Redis of [Config.Store] (SPEC §9)
)

// Keys configures the key rings (SPEC §4).
type Keys struct {
	// Dir holds one ring file per audience plus the internal ring and the
	// signing ring, when Store is KeyStoreDir.
	Dir string `yaml:"dir"`
	// Store is KeyStoreDir or KeyStoreRedis. With KeyStoreRedis the rings
	// live in the Redis named by [Config.Store], which must be a Redis
	// URL, and KEKEnv is required.
	Store string `yaml:"store"`
	// Alg is AlgA256KW or AlgDir.
	Alg string `yaml:"alg"`
	// SigningAlg is the algorithm of the signing ring's new keys:
	// SigningES256, SigningEdDSA or SigningRS256.
	SigningAlg string `yaml:"signing_alg"`
	// RotateEvery is how long a key seals before its successor takes over.
	RotateEvery time.Duration `yaml:"rotate_every"`
	// Propagation is how long a new key is pending (published, not sealing).
	Propagation time.Duration `yaml:"propagation"`
	// KEKEnv, if set, names the environment variable holding the
	// key-encryption key that wraps the ring files. This package only
	// checks the name; it never reads the variable.
	KEKEnv string `yaml:"kek_env"`
}

// Tokens holds token lifetimes and the clock-skew leeway (SPEC §3).
type Tokens struct {
	AccessTTL  time.Duration `yaml:"access_ttl"`
	RefreshTTL time.Duration `yaml:"refresh_ttl"`
	CodeTTL    time.Duration `yaml:"code_ttl"`
	Leeway     time.Duration `yaml:"leeway"`
	// StatusListTTL is the "ttl" of the published Token Status Lists
	// (SPEC §9): how long a resource server may use a list before fetching
	// it again, hence how late it may learn of a revocation.
	StatusListTTL time.Duration `yaml:"status_list_ttl"`
	// DeviceCodeTTL is the lifetime of device codes and their user codes
	// (RFC 8628 §3.2 expires_in).
	DeviceCodeTTL time.Duration `yaml:"device_code_ttl"`
}

// Audience is one resource server: an RFC 8707 resource indicator with its
// own key ring.
type Audience struct {
	Name    string `yaml:"name"`
	Default bool   `yaml:"default"`
	// Sign makes its access tokens nested JWTs, signed by the signing
	// ring and then encrypted (SPEC §9), so that a resource server holding
	// the audience key cannot forge tokens its peers accept.
	Sign bool `yaml:"sign"`
}

// Login configures how /authorize learns who the user is: the built-in
// login page (internal/login) with [Config.Users], and/or a header set by an
// authenticating proxy.
type Login struct {
	// TrustedHeader, if set, is a request header carrying the user name,
	// set by an authenticating proxy.
	TrustedHeader string `yaml:"trusted_header"`
	// TrustedProxies are the networks the header is believed from.
	TrustedProxies []netip.Prefix `yaml:"trusted_proxies"`
	// KeyFile names a file holding the login page's key (the CSRF MAC and
	// login-ticket key): at least 32 random bytes, as base64 text or raw.
	// At most one of KeyFile and KeyEnv is set; with neither, each process
	// makes a random key, which is right for one replica only: replicas
	// behind a load balancer must share one key, or a form rendered by one
	// replica fails its CSRF check on another. This package only checks
	// the path; it never opens the file.
	KeyFile string `yaml:"key_file"`
	// KeyEnv names the environment variable holding the login page's key
	// in base64 (at least 32 bytes once decoded); the alternative to
	// KeyFile. This package only checks the name; it never reads the
	// variable.
	KeyEnv string `yaml:"key_env"`
	// SessionTTL is how long a password login on the login page signs the
	// browser in to further clients (single sign-on, SPEC §11); 0
	// disables single sign-on.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// ConsentTTL is how long a user's consent to a client is remembered;
	// 0: never remembered.
	ConsentTTL time.Duration `yaml:"consent_ttl"`
	// TrustedAMR are the authentication methods (RFC 8176 "amr" values)
	// that ID tokens state for users from TrustedHeader.
	TrustedAMR []string `yaml:"trusted_amr"`
}

// Limits bounds what one request or one peer may cost.
type Limits struct {
	MaxBodyBytes ByteSize      `yaml:"max_body_bytes"`
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	IdleTimeout  time.Duration `yaml:"idle_timeout"`
	// MaxConnsPerIP caps concurrent connections from one address; 0 means
	// no cap.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// HashConcurrency caps concurrent slow-hash (bcrypt, argon2id)
	// verifications; 0 means the number of usable CPUs (GOMAXPROCS).
	HashConcurrency int `yaml:"hash_concurrency"`
	// MemoryStoreEntries bounds each table of the memory store
	// (memory.WithMaxEntries); unused with Redis. See the key's
	// documentation for sizing.
	MemoryStoreEntries int `yaml:"memory_store_entries"`
	// GCPercent is the Go garbage collector's target (runtime/debug
	// SetGCPercent) that `issuer serve` sets unless the GOGC environment
	// variable is set; 0 keeps the runtime's default (100).
	GCPercent int `yaml:"gc_percent"`
}

// RateLimit throttles failed client authentications and logins (SPEC §6):
// after Failures failures for one client id, user name or address within
// Window, that key is answered 429 with Retry-After for Backoff, each
// further block doubling up to MaxBackoff. The fields map onto
// pkg/secret's LimiterConfig (Threshold, Window, Block, MaxBlock), whose
// defaults they share. ClientWrites and ClientWindow are the per-client
// quota of store writes (endpoint.WithClientQuota).
type RateLimit struct {
	Failures     int           `yaml:"failures"`
	Window       time.Duration `yaml:"window"`
	Backoff      time.Duration `yaml:"backoff"`
	MaxBackoff   time.Duration `yaml:"max_backoff"`
	ClientWrites int           `yaml:"client_writes"`
	ClientWindow time.Duration `yaml:"client_window"`
}

// Log configures log output. Level is one of trace, debug, info, warn,
// error; Format is json, console or auto (console on a terminal, else json).
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Metrics configures the Prometheus endpoint. With Listen empty, /metrics
// is served on the main listener; with Listen set, it is served there
// alone, over plain HTTP, and the main listener answers /metrics with 404.
type Metrics struct {
	Listen string `yaml:"listen"`
}

// Grant types accepted in [Client.GrantTypes] (RFC 6749 §4, §6).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
	GrantPassword          = "password"
	// The SPEC §12 grants, by their registered URNs.
	GrantDeviceCode    = "urn:ietf:params:oauth:grant-type:device_code"    // RFC 8628
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange" // RFC 8693
	GrantJWTBearer     = "urn:ietf:params:oauth:grant-type:jwt-bearer"     // RFC 7523 §2.1
)

// Response types accepted in [Client.ResponseTypes] (RFC 6749 §3.1.1).
const (
	ResponseCode  = "code"
	ResponseToken = "token"
)

// Client is a registered OAuth client (RFC 6749 §2).
type Client struct {
	ID string `yaml:"id"`
	// SecretHash is required for confidential clients and empty for
	// public ones.
	SecretHash    Hash     `yaml:"secret_hash"`
	Public        bool     `yaml:"public"`
	RedirectURIs  []string `yaml:"redirect_uris"`
	GrantTypes    []string `yaml:"grant_types"`
	ResponseTypes []string `yaml:"response_types"`
	Scopes        []string `yaml:"scopes"`
	DefaultScopes []string `yaml:"default_scopes"`
	// Audiences the client may get tokens for; empty means the default
	// audience only.
	Audiences   []string `yaml:"audiences"`
	SkipConsent bool     `yaml:"skip_consent"`
	// AllowPKCEPlain lets the client use the PKCE plain method (RFC 7636
	// §4.2), which RFC 9700 §2.1.1 advises against; off, only S256.
	AllowPKCEPlain bool `yaml:"allow_pkce_plain"`

	// Client authentication with keys and certificates (SPEC §10), named
	// as RFC 7591 §2 and RFC 8705 §2.1.2 name the client metadata.
	TokenEndpointAuthMethod string `yaml:"token_endpoint_auth_method"`
	// SecretEnv names the environment variable holding the client secret
	// itself, for client_secret_jwt (or instead of SecretHash for
	// client_secret_basic and client_secret_post). Never read here.
	SecretEnv              string `yaml:"secret_env"`
	JWKS                   JSON   `yaml:"jwks"`
	JWKSURI                string `yaml:"jwks_uri"`
	TLSClientAuthSubjectDN string `yaml:"tls_client_auth_subject_dn"`
	TLSClientAuthSANDNS    string `yaml:"tls_client_auth_san_dns"`
	TLSClientAuthSANURI    string `yaml:"tls_client_auth_san_uri"`
	TLSClientAuthSANIP     string `yaml:"tls_client_auth_san_ip"`
	TLSClientAuthSANEmail  string `yaml:"tls_client_auth_san_email"`
	// Sender-constrained access tokens (RFC 8705 §3.4, RFC 9449 §5.2).
	TLSClientCertificateBoundAccessTokens bool `yaml:"tls_client_certificate_bound_access_tokens"`
	DPoPBoundAccessTokens                 bool `yaml:"dpop_bound_access_tokens"`
	// PostLogoutRedirectURIs are where RP-Initiated Logout may send the
	// user after logging out (OpenID Connect RP-Initiated Logout 1.0 §3).
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	// TokenExchange configures the client's token exchanges (RFC 8693).
	TokenExchange TokenExchange `yaml:"token_exchange"`
	// RequirePushedAuthorizationRequests makes the client push its
	// authorization requests (RFC 9126 §6).
	RequirePushedAuthorizationRequests bool `yaml:"require_pushed_authorization_requests"`
}

// TokenExchange lists the audiences a client may exchange tokens into
// (RFC 8693 §2.1 resource and audience).
type TokenExchange struct {
	Audiences []string `yaml:"audiences"`
}

// What a trusted issuer's "sub" becomes, accepted in
// [TrustedIssuer.SubjectsAs].
const (
	// SubjectsAsUser: "sub" must be a configured username and becomes
	// that user's id.
	SubjectsAsUser = "user"
	// SubjectsAsIs: "sub" is kept, unless it equals a user id or a client
	// id (which would let the issuer speak for a local identity).
	SubjectsAsIs = "as_is"
)

// TrustedIssuer is an issuer of signed JWTs that the JWT bearer grant and
// token exchange accept (SPEC §12). Exactly one of JWKS and JWKSURI is set.
type TrustedIssuer struct {
	// Issuer is the JWTs' "iss", compared exactly.
	Issuer string `yaml:"issuer"`
	// JWKS is the issuer's public JWK Set, inline (a YAML mapping or a
	// JSON string).
	JWKS JSON `yaml:"jwks"`
	// JWKSURI is where the issuer publishes its JWK Set (https only).
	JWKSURI string `yaml:"jwks_uri"`
	// SubjectsAs is SubjectsAsUser or SubjectsAsIs.
	SubjectsAs string `yaml:"subjects_as"`
	// Audience is an "aud" value the issuer's JWTs may carry besides this
	// issuer's identifier and token endpoint URL.
	Audience string `yaml:"audience"`
}

// JSON is a JSON value given in YAML, as a mapping or list (converted to
// JSON) or as a string holding JSON; it holds the JSON text.
type JSON string

// ResourceServer is a service that accepts the access tokens of some
// audiences. It authenticates at the introspection and revocation
// endpoints as a confidential client does, and may introspect and revoke
// the access tokens of its audiences.
type ResourceServer struct {
	ID         string   `yaml:"id"`
	Audiences  []string `yaml:"audiences"`
	SecretHash Hash     `yaml:"secret_hash"`

	// Authentication with keys and certificates, as for a Client.
	TokenEndpointAuthMethod string `yaml:"token_endpoint_auth_method"`
	SecretEnv               string `yaml:"secret_env"`
	JWKS                    JSON   `yaml:"jwks"`
	JWKSURI                 string `yaml:"jwks_uri"`
	TLSClientAuthSubjectDN  string `yaml:"tls_client_auth_subject_dn"`
	TLSClientAuthSANDNS     string `yaml:"tls_client_auth_san_dns"`
	TLSClientAuthSANURI     string `yaml:"tls_client_auth_san_uri"`
	TLSClientAuthSANIP      string `yaml:"tls_client_auth_san_ip"`
	TLSClientAuthSANEmail   string `yaml:"tls_client_auth_san_email"`
}

// User is a resource owner who may log in with a password.
type User struct {
	Username     string `yaml:"username"`
	ID           string `yaml:"id"`
	PasswordHash Hash   `yaml:"password_hash"`
	// Claims are the user's OpenID Connect standard claims (SPEC §11).
	Claims UserClaims `yaml:"claims"`
}

// UserClaims are a user's standard claims (OpenID Connect Core 1.0 §5.1):
// ID tokens and the UserInfo endpoint release them under the scopes of
// §5.4 (profile, email, address, phone). Only these names are accepted,
// each with its JSON type: strings, booleans (email_verified,
// phone_number_verified), an integer (updated_at, seconds since 1970) and
// an object (address). An empty value is an absent claim; the two
// booleans are released only with the claim they qualify.
type UserClaims struct {
	Name                string  `yaml:"name"`
	GivenName           string  `yaml:"given_name"`
	FamilyName          string  `yaml:"family_name"`
	MiddleName          string  `yaml:"middle_name"`
	Nickname            string  `yaml:"nickname"`
	PreferredUsername   string  `yaml:"preferred_username"`
	Profile             string  `yaml:"profile"`
	Picture             string  `yaml:"picture"`
	Website             string  `yaml:"website"`
	Email               string  `yaml:"email"`
	EmailVerified       bool    `yaml:"email_verified"`
	Gender              string  `yaml:"gender"`
	Birthdate           string  `yaml:"birthdate"`
	Zoneinfo            string  `yaml:"zoneinfo"`
	Locale              string  `yaml:"locale"`
	PhoneNumber         string  `yaml:"phone_number"`
	PhoneNumberVerified bool    `yaml:"phone_number_verified"`
	Address             Address `yaml:"address"`
	UpdatedAt           int64   `yaml:"updated_at"`
}

// Address is the address claim (OpenID Connect Core 1.0 §5.1.1).
type Address struct {
	Formatted     string `yaml:"formatted"`
	StreetAddress string `yaml:"street_address"`
	Locality      string `yaml:"locality"`
	Region        string `yaml:"region"`
	PostalCode    string `yaml:"postal_code"`
	Country       string `yaml:"country"`
}

// Hash is a client-secret or password hash in one of the encodings of
// SPEC §6: "sha256$<64 lowercase hex>", bcrypt ("$2a$", "$2b$", "$2y$") or
// argon2id in PHC form. pkg/secret verifies secrets against it.
//
// A hash lets an attacker guess the secret offline, so Hash never shows its
// value: String, GoString and MarshalText (hence fmt, encoding/json, yaml and
// zerolog) all print "[REDACTED]". Use string(h) for the value; [Marshal]
// writes the value, since its output is a configuration file.
type Hash string

const redacted = "[REDACTED]"

// String returns "[REDACTED]", or "" for an empty hash.
func (h Hash) String() string {
	if h == "" {
		return ""
	}
	return redacted
}

// GoString returns a redacted Go expression, so %#v does not leak the hash.
func (h Hash) GoString() string { return strconv.Quote(h.String()) }

// MarshalText returns the redacted form (see [Hash.String]).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// The [Store] values of the embedded stores.
const (
	// StoreFile is the durable embedded store (pkg/store/file), kept in
	// [Config.StorePath]: the default.
	StoreFile Store = "file"
	// StoreMemory is the in-process store (pkg/store/memory), which
	// forgets everything when the process stops.
	StoreMemory Store = "memory"
)

// Store is "file", "memory" or a Redis URL,
// redis://[user:password@]host[:port][/db] or rediss:// for TLS (SPEC §7).
// The URL may carry a password, so String and MarshalText print it with the
// password replaced by "xxxxx"; use string(s) for the value.
type Store string

// IsMemory reports whether s selects the in-process store.
func (s Store) IsMemory() bool { return s == StoreMemory }

// IsFile reports whether s selects the durable embedded store.
func (s Store) IsFile() bool { return s == StoreFile }

// IsRedis reports whether s is a redis:// or rediss:// URL.
func (s Store) IsRedis() bool {
	return strings.HasPrefix(string(s), "redis://") || strings.HasPrefix(string(s), "rediss://")
}

// String returns s with any password redacted. A value that does not parse
// as a URL is shown as "[REDACTED]" (it may be mangled secret material).
func (s Store) String() string {
	if s == "" || s.IsMemory() || s.IsFile() {
		return string(s)
	}
	u, err := url.Parse(string(s))
	if err != nil {
		return redacted
	}
	return u.Redacted()
}

// GoString returns a redacted Go expression.
func (s Store) GoString() string { return strconv.Quote(s.String()) }

// MarshalText returns the redacted form (see [Store.String]).
func (s Store) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ByteSize is a size in bytes. In YAML it is an integer or an integer with
// one of the suffixes B, KiB, MiB, GiB ("64KiB").
type ByteSize int64

// String formats b with the largest IEC suffix that divides it exactly.
func (b ByteSize) String() string {
	for _, u := range byteUnits {
		if b != 0 && b%ByteSize(u.size) == 0 {
			return strconv.FormatInt(int64(b)/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

var byteUnits = []struct {
	suffix string
	size   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// DefaultAudience returns the name of the default audience: the one marked
// default, or the only one.
func (c *Config) DefaultAudience() (name string, ok bool) {
	if len(c.Audiences) == 1 {
		return c.Audiences[0].Name, true
	}
	for _, a := range c.Audiences {
		if a.Default {
			return a.Name, true
		}
	}
	return "", false
}

// Client returns the client with the given id.
func (c *Config) Client(id string) (*Client, bool) {
	for i := range c.Clients {
		if c.Clients[i].ID == id {
			return &c.Clients[i], true
		}
	}
	return nil, false
}

// HasGrant reports whether the client may use grant type g.
func (c *Client) HasGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }
