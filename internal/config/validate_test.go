package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// TestValidateRules has one row per validation rule. Each row breaks one
// rule in a valid configuration and expects exactly one problem, at path,
// whose message contains msg. Rows with an empty path must stay valid: they
// guard against rules that over-reject.
func TestValidateRules(t *testing.T) {
	pfx := netip.MustParsePrefix
	tests := []struct {
		name   string
		mutate func(c *Config)
		path   string
		msg    string
	}{
		// issuer: RFC 8414 §2.
		{"issuer required", func(c *Config) { c.Issuer = "" }, "issuer", "required"},
		{"issuer http refused", func(c *Config) { c.Issuer = "http://127.0.0.1:8443" }, "issuer", "must be an https URL"},
		{"issuer relative", func(c *Config) { c.Issuer = "auth.example.com" }, "issuer", "must be an https URL"},
		{"issuer without host", func(c *Config) { c.Issuer = "https:///x" }, "issuer", "with a host"},
		{"issuer query", func(c *Config) { c.Issuer = "https://a.example?x=1" }, "issuer", "query component"},
		{"issuer empty query", func(c *Config) { c.Issuer = "https://a.example?" }, "issuer", "query component"},
		{"issuer fragment", func(c *Config) { c.Issuer = "https://a.example/#x" }, "issuer", "fragment"},
		{"issuer userinfo", func(c *Config) { c.Issuer = "https://u:p@a.example" }, "issuer", "user information"},
		{"issuer port 0", func(c *Config) { c.Issuer = "https://a.example:0" }, "issuer", "invalid port"},
		{"issuer with path ok", func(c *Config) { c.Issuer = "https://a.example:8443/tenant" }, "", ""},

		// listen.
		{"listen no port", func(c *Config) { c.Listen = "8443" }, "listen", "want host:port"},
		{"listen port range", func(c *Config) { c.Listen = "127.0.0.1:99999" }, "listen", "invalid port"},
		{"listen bad host", func(c *Config) { c.Listen = "bad_host!:80" }, "listen", "invalid host"},
		{"listen all interfaces ok", func(c *Config) { c.Listen = ":8443" }, "", ""},
		{"listen ipv6 ok", func(c *Config) { c.Listen = "[::1]:0" }, "", ""},
		{"listen hostname ok", func(c *Config) { c.Listen = "auth.internal:443" }, "", ""},

		{"data_dir empty", func(c *Config) { c.DataDir = "" }, "data_dir", "must not be empty"},

		// tls and trusted_proxies.
		{"tls cert without key", func(c *Config) { c.TLS.KeyFile = "" }, "tls.key_file", "required when tls.cert_file"},
		{"tls key without cert", func(c *Config) { c.TLS.CertFile = "" }, "tls.cert_file", "required when tls.key_file"},
		{"tls absent without proxy", func(c *Config) { c.TLS = TLS{} }, "tls", "unless the server runs behind"},
		{"tls absent behind proxy ok", func(c *Config) {
			c.TLS = TLS{}
			c.TrustedProxies = []netip.Prefix{pfx("10.0.0.0/8")}
		}, "", ""},
		{"trusted_proxies /0", func(c *Config) { c.TrustedProxies = []netip.Prefix{pfx("0.0.0.0/0")} }, "trusted_proxies[0]", "trusts every address"},
		{"trusted_proxies ::/0", func(c *Config) { c.TrustedProxies = []netip.Prefix{pfx("10.0.0.0/8"), pfx("::/0")} }, "trusted_proxies[1]", "trusts every address"},
		{"trusted_proxies duplicate", func(c *Config) { c.TrustedProxies = []netip.Prefix{pfx("10.0.0.0/8"), pfx("10.0.0.0/8")} }, "trusted_proxies[1]", "duplicate"},
		{"trusted_proxies zero value", func(c *Config) { c.TrustedProxies = []netip.Prefix{{}} }, "trusted_proxies[0]", "not a valid CIDR"},

		// keys: SPEC §4.
		{"keys.dir empty", func(c *Config) { c.Keys.Dir = "" }, "keys.dir", "must not be empty"},
		{"keys.alg unknown", func(c *Config) { c.Keys.Alg = "RSA-OAEP" }, "keys.alg", `unknown algorithm "RSA-OAEP" (want A256KW or dir)`},
		{"keys.alg case-sensitive", func(c *Config) { c.Keys.Alg = "a256kw" }, "keys.alg", "unknown algorithm"},
		{"keys.alg dir ok", func(c *Config) { c.Keys.Alg = AlgDir }, "", ""},
		{"keys.rotate_every too short", func(c *Config) { c.Keys.RotateEvery = 30 * time.Second }, "keys.rotate_every", "at least 1m"},
		{"keys.propagation zero", func(c *Config) { c.Keys.Propagation = 0 }, "keys.propagation", "must be positive"},
		{"keys.propagation below a replica's reload interval", func(c *Config) { c.Keys.Propagation = time.Second }, "keys.propagation", "must be at least 2s: replicas reload"},
		{"keys.propagation 1.9s", func(c *Config) { c.Keys.Propagation = 1900 * time.Millisecond }, "keys.propagation", "at least 2s"},
		{"keys.propagation 2s ok", func(c *Config) { c.Keys.RotateEvery, c.Keys.Propagation = time.Minute, 2*time.Second }, "", ""},
		{"keys.propagation not below rotation", func(c *Config) { c.Keys.Propagation = 24 * time.Hour }, "keys.propagation", "less than keys.rotate_every (24h)"},
		{"keys.kek_env name", func(c *Config) { c.Keys.KEKEnv = "1-KEK" }, "keys.kek_env", "not an environment variable name"},
		{"keys.kek_env ok", func(c *Config) { c.Keys.KEKEnv = "ISSUER_KEK_2" }, "", ""},
		{"keys.signing_alg unknown", func(c *Config) { c.Keys.SigningAlg = "HS256" }, "keys.signing_alg", `unknown algorithm "HS256" (want ES256, EdDSA or RS256)`},
		{"keys.signing_alg case-sensitive", func(c *Config) { c.Keys.SigningAlg = "es256" }, "keys.signing_alg", "unknown algorithm"},
		{"keys.signing_alg EdDSA ok", func(c *Config) { c.Keys.SigningAlg = SigningEdDSA }, "", ""},
		{"keys.signing_alg RS256 ok", func(c *Config) { c.Keys.SigningAlg = SigningRS256 }, "", ""},
		{"keys.store unknown", func(c *Config) { c.Keys.Store = "s3" }, "keys.store", `unknown key store "s3" (want dir or redis)`},
		{"keys.store redis with the memory store", func(c *Config) { c.Keys.Store, c.Keys.KEKEnv = KeyStoreRedis, "ISSUER_KEK" }, "keys.store", "store is not a redis:// or rediss:// URL"},
		{"keys.store redis needs keys.kek_env (SPEC §9)", func(c *Config) { c.Keys.Store, c.Store = KeyStoreRedis, "redis://127.0.0.1:6379/0" }, "keys.kek_env", "required with keys.store: redis"},
		{"keys.store redis ok", func(c *Config) {
			c.Keys.Store, c.Store, c.Keys.KEKEnv = KeyStoreRedis, "rediss://redis.internal:6380/1", "ISSUER_KEK"
		}, "", ""},

		// tokens: SPEC §3, RFC 6749 §4.1.2.
		{"access_ttl zero", func(c *Config) { c.Tokens.AccessTTL = 0 }, "tokens.access_ttl", "must be positive"},
		{"access_ttl too long", func(c *Config) { c.Tokens.AccessTTL = 25 * time.Hour }, "tokens.access_ttl", "at most 24h"},
		{"refresh_ttl negative", func(c *Config) { c.Tokens.RefreshTTL = -time.Hour }, "tokens.refresh_ttl", "must be positive"},
		{"refresh_ttl shorter than access", func(c *Config) { c.Tokens.RefreshTTL = 5 * time.Minute }, "tokens.refresh_ttl", "not be shorter than tokens.access_ttl"},
		{"code_ttl over 10m", func(c *Config) { c.Tokens.CodeTTL = 11 * time.Minute }, "tokens.code_ttl", "at most 10m"},
		{"leeway negative", func(c *Config) { c.Tokens.Leeway = -time.Second }, "tokens.leeway", "between 0s and 5m"},
		{"leeway too large", func(c *Config) { c.Tokens.Leeway = 6 * time.Minute }, "tokens.leeway", "between 0s and 5m"},
		{"leeway not below access_ttl", func(c *Config) { c.Tokens.AccessTTL, c.Tokens.Leeway = time.Minute, time.Minute }, "tokens.leeway", "less than tokens.access_ttl"},
		{"leeway zero ok", func(c *Config) { c.Tokens.Leeway = 0 }, "", ""},

		// store: SPEC §7.
		{"store empty", func(c *Config) { c.Store = "" }, "store", `must be "file", "memory" or a redis://`},
		{"store file ok", func(c *Config) { c.Store = "file" }, "", ""},
		{"store memory ok", func(c *Config) { c.Store = "memory" }, "", ""},
		{"store File is not file", func(c *Config) { c.Store = "File" }, "store", `must be "file", "memory" or a redis://`},
		{"store_path empty", func(c *Config) { c.StorePath = "" }, "store_path", "must not be empty"},
		{"store other scheme", func(c *Config) { c.Store = "postgres://db/x" }, "store", "redis://"},
		{"store no host", func(c *Config) { c.Store = "redis://" }, "store", "needs a host"},
		{"store bad db", func(c *Config) { c.Store = "redis://h:6379/zero" }, "store", "database number"},
		{"store bad port", func(c *Config) { c.Store = "redis://h:port/0" }, "store", "not a valid URL"},
		{"store fragment", func(c *Config) { c.Store = "redis://h:6379/0#x" }, "store", "fragment"},
		{"store rediss with password ok", func(c *Config) { c.Store = "rediss://user:pw@redis.internal:6380/2" }, "", ""},
		{"store redis no db ok", func(c *Config) { c.Store = "redis://127.0.0.1" }, "", ""},

		// audiences: RFC 8707 §2.
		{"audiences none", func(c *Config) { c.Audiences = nil }, "audiences", "at least one audience"},
		{"audience name empty", func(c *Config) { c.Audiences[1].Name = "" }, "audiences[1].name", "required"},
		{"audience name relative", func(c *Config) { c.Audiences[1].Name = "orders" }, "audiences[1].name", "not an absolute URI"},
		{"audience name fragment", func(c *Config) { c.Audiences[1].Name = "https://x.example/#f" }, "audiences[1].name", "fragment"},
		{"audience name space", func(c *Config) { c.Audiences[1].Name = "https://x.example/a b" }, "audiences[1].name", "space"},
		{"audience duplicate", func(c *Config) { c.Audiences[1].Name = c.Audiences[0].Name }, "audiences[1].name", "duplicate audience"},
		{"audience two defaults", func(c *Config) { c.Audiences[1].Default = true }, "audiences[1].default", "only one audience may be the default"},
		{"audience no default ok when clients name theirs", func(c *Config) {
			c.Audiences[0].Default = false
			for i := range c.Clients {
				c.Clients[i].Audiences = []string{"https://other.example.com"}
			}
		}, "", ""},

		// metrics.
		{"metrics.listen on its own address", func(c *Config) { c.Metrics.Listen = "127.0.0.1:9090" }, "", ""},
		{"metrics.listen not host:port", func(c *Config) { c.Metrics.Listen = "9090" }, "metrics.listen", "want host:port"},
		{"metrics.listen the main address", func(c *Config) { c.Metrics.Listen = c.Listen }, "metrics.listen", "main listen address"},

		// login.
		{"trusted_header syntax", func(c *Config) { setLogin(c, "X Remote User") }, "login.trusted_header", "not a valid header name"},
		{"trusted_header client-controlled", func(c *Config) { setLogin(c, "Authorization") }, "login.trusted_header", "carries client data"},
		{"trusted_header without proxies", func(c *Config) { c.Login.TrustedHeader = "X-Remote-User" }, "login.trusted_proxies", "required when login.trusted_header"},
		{"trusted proxies without header", func(c *Config) { c.Login.TrustedProxies = []netip.Prefix{pfx("127.0.0.1/32")} }, "login.trusted_proxies", "no effect"},
		{"login trusted proxies /0", func(c *Config) {
			setLogin(c, "X-Remote-User")
			c.Login.TrustedProxies = []netip.Prefix{pfx("0.0.0.0/0")}
		}, "login.trusted_proxies[0]", "trusts every address"},
		{"login ok", func(c *Config) { setLogin(c, "X-Remote-User") }, "", ""},
		{"login.key_env name", func(c *Config) { c.Login.KeyEnv = "LOGIN KEY" }, "login.key_env", "not an environment variable name"},
		{"login.key_env and key_file both", func(c *Config) {
			c.Login.KeyEnv, c.Login.KeyFile = "ISSUER_LOGIN_KEY", "/srv/issuer/login.key"
		}, "login.key_env", "at most one of login.key_file and login.key_env"},
		{"login.key_env ok", func(c *Config) { c.Login.KeyEnv = "ISSUER_LOGIN_KEY" }, "", ""},
		{"login.key_file ok without a login page", func(c *Config) { c.Login.KeyFile = "/srv/issuer/login.key" }, "", ""},

		// limits, rate_limit, log.
		{"max_body_bytes too small", func(c *Config) { c.Limits.MaxBodyBytes = 100 }, "limits.max_body_bytes", "between 1KiB and 16MiB"},
		{"max_body_bytes too large", func(c *Config) { c.Limits.MaxBodyBytes = 1 << 30 }, "limits.max_body_bytes", "between 1KiB and 16MiB"},
		{"read_timeout zero", func(c *Config) { c.Limits.ReadTimeout = 0 }, "limits.read_timeout", "must be positive"},
		{"write_timeout negative", func(c *Config) { c.Limits.WriteTimeout = -time.Second }, "limits.write_timeout", "must be positive"},
		{"idle_timeout zero", func(c *Config) { c.Limits.IdleTimeout = 0 }, "limits.idle_timeout", "must be positive"},
		{"max_conns_per_ip negative", func(c *Config) { c.Limits.MaxConnsPerIP = -1 }, "limits.max_conns_per_ip", "must not be negative"},
		{"hash_concurrency negative", func(c *Config) { c.Limits.HashConcurrency = -1 }, "limits.hash_concurrency", "between 0"},
		{"gc_percent below 50", func(c *Config) { c.Limits.GCPercent = 20 }, "limits.gc_percent", "between 50 and 2000"},
		{"gc_percent above 2000", func(c *Config) { c.Limits.GCPercent = 5000 }, "limits.gc_percent", "between 50 and 2000"},
		{"memory_store_entries zero", func(c *Config) { c.Limits.MemoryStoreEntries = 0 }, "limits.memory_store_entries", "between 1000 and 1000000000, got 0"},
		{"memory_store_entries 999", func(c *Config) { c.Limits.MemoryStoreEntries = 999 }, "limits.memory_store_entries", "between 1000 and 1000000000"},
		{"memory_store_entries too large", func(c *Config) { c.Limits.MemoryStoreEntries = 1_000_000_001 }, "limits.memory_store_entries", "between 1000 and 1000000000"},
		{"memory_store_entries 1000 ok", func(c *Config) { c.Limits.MemoryStoreEntries = 1000 }, "", ""},
		{"rate_limit.failures zero", func(c *Config) { c.RateLimit.Failures = 0 }, "rate_limit.failures", "between 1 and 1000"},
		{"rate_limit.window zero", func(c *Config) { c.RateLimit.Window = 0 }, "rate_limit.window", "must be positive"},
		{"rate_limit.backoff zero", func(c *Config) { c.RateLimit.Backoff = 0 }, "rate_limit.backoff", "must be positive"},
		{"rate_limit.max_backoff below backoff", func(c *Config) { c.RateLimit.MaxBackoff = time.Second }, "rate_limit.max_backoff", "at least rate_limit.backoff (1m)"},
		{"rate_limit.client_writes zero", func(c *Config) { c.RateLimit.ClientWrites = 0 }, "rate_limit.client_writes", "between 1 and 1000000000"},
		{"rate_limit.client_window zero", func(c *Config) { c.RateLimit.ClientWindow = 0 }, "rate_limit.client_window", "must be positive"},
		{"log.level unknown", func(c *Config) { c.Log.Level = "verbose" }, "log.level", `unknown level "verbose"`},
		{"log.format unknown", func(c *Config) { c.Log.Format = "xml" }, "log.format", `unknown format "xml" (want json, console, auto)`},

		// clients: identity and secrets (RFC 6749 §2).
		{"client id empty", func(c *Config) { c.Clients[0].ID = "" }, "clients[0].id", "required"},
		{"client id duplicate", func(c *Config) { c.Clients[2].ID = "backend" }, "clients[2].id", `duplicate client id "backend" (also clients[0])`},
		{"client id control char", func(c *Config) { c.Clients[0].ID = "a\nb" }, "clients[0].id", "outside %x20-7E"},
		{"client id spaces", func(c *Config) { c.Clients[0].ID = " backend" }, "clients[0].id", "leading or trailing"},
		{"public client with secret", func(c *Config) { c.Clients[2].SecretHash = Hash(realHashes().sha) }, "clients[2].secret_hash", "must be empty for a public client"},
		{"confidential client without secret", func(c *Config) { c.Clients[0].SecretHash = "" }, "clients[0].secret_hash", "required for a confidential client"},
		{"secret hash unrecognised", func(c *Config) { c.Clients[0].SecretHash = "md5$abc" }, "clients[0].secret_hash", "not a recognised hash format"},
		{"secret hash sha256 uppercase", func(c *Config) {
			c.Clients[0].SecretHash = Hash(strings.ToUpper(realHashes().sha[7:]))
			c.Clients[0].SecretHash = "sha256$" + c.Clients[0].SecretHash
		}, "clients[0].secret_hash", "lowercase hex"},
		{"secret hash argon2id ok", func(c *Config) { c.Clients[0].SecretHash = Hash(realHashes().argon) }, "", ""},

		// clients: grant and response types (RFC 6749 §3.1.1, §4).
		{"no grant types", func(c *Config) { c.Clients[0].GrantTypes = nil }, "clients[0].grant_types", "at least one grant type"},
		{"unknown grant type", func(c *Config) { c.Clients[0].GrantTypes = []string{"client_credentials", "implicit"} }, "clients[0].grant_types[1]",
			`unknown grant type "implicit" (want authorization_code, client_credentials, refresh_token, password, urn:ietf:params:oauth:grant-type:device_code, urn:ietf:params:oauth:grant-type:token-exchange, urn:ietf:params:oauth:grant-type:jwt-bearer)`},
		{"duplicate grant type", func(c *Config) { c.Clients[0].GrantTypes = []string{"client_credentials", "client_credentials"} }, "clients[0].grant_types[1]", "duplicate grant type"},
		{"public client_credentials", func(c *Config) { c.Clients[2].GrantTypes = []string{"authorization_code", "client_credentials"} }, "clients[2].grant_types[1]", "RFC 6749 §4.4"},
		{"refresh_token alone", func(c *Config) { c.Clients[0].GrantTypes = []string{"client_credentials", "refresh_token"} }, "clients[0].grant_types", "refresh_token needs authorization_code, password or the device_code grant"},
		{"unknown response type", func(c *Config) { c.Clients[1].ResponseTypes = []string{"code", "id_token"} }, "clients[1].response_types[1]", `unknown response type "id_token"`},
		{"duplicate response type", func(c *Config) { c.Clients[1].ResponseTypes = []string{"code", "code"} }, "clients[1].response_types[1]", "duplicate response type"},
		{"response code without grant", func(c *Config) { c.Clients[0].ResponseTypes = []string{"code"} }, "clients[0].response_types[0]", "needs the authorization_code grant"},
		{"authorization_code without response code", func(c *Config) { c.Clients[1].ResponseTypes = []string{"token"} }, "clients[1].response_types", "must include code"},
		{"implicit alongside code ok", func(c *Config) { c.Clients[1].ResponseTypes = []string{"token", "code"} }, "", ""},

		// clients: redirect URIs (RFC 6749 §3.1.2, RFC 8252).
		{"authorization_code without redirect", func(c *Config) { c.Clients[1].RedirectURIs = nil }, "clients[1].redirect_uris", "at least one redirect URI"},
		{"implicit without redirect", func(c *Config) {
			c.Clients[0].GrantTypes = []string{GrantClientCredentials}
			c.Clients[2].RedirectURIs = nil
			c.Clients[2].GrantTypes = []string{GrantPassword}
			c.Clients[2].ResponseTypes = []string{"token"}
		}, "clients[2].redirect_uris", "at least one redirect URI"},
		{"redirect without redirect flow", func(c *Config) { c.Clients[0].RedirectURIs = []string{"https://x.example/cb"} }, "clients[0].redirect_uris", "set, but"},
		{"redirect relative", func(c *Config) { c.Clients[1].RedirectURIs = []string{"/cb"} }, "clients[1].redirect_uris[0]", "not an absolute URI"},
		{"redirect fragment", func(c *Config) { c.Clients[1].RedirectURIs = []string{"https://app.example.com/cb#x"} }, "clients[1].redirect_uris[0]", "fragment"},
		{"redirect empty fragment", func(c *Config) { c.Clients[1].RedirectURIs = []string{"https://app.example.com/cb#"} }, "clients[1].redirect_uris[0]", "fragment"},
		{"redirect plain http", func(c *Config) { c.Clients[1].RedirectURIs = []string{"http://app.example.com/cb"} }, "clients[1].redirect_uris[0]", "loopback"},
		{"redirect https without host", func(c *Config) { c.Clients[1].RedirectURIs = []string{"https:/cb"} }, "clients[1].redirect_uris[0]", "no host"},
		{"redirect javascript", func(c *Config) { c.Clients[1].RedirectURIs = []string{"javascript:alert(1)"} }, "clients[1].redirect_uris[0]", "private-use scheme"},
		{"redirect userinfo", func(c *Config) { c.Clients[1].RedirectURIs = []string{"https://u@app.example.com/cb"} }, "clients[1].redirect_uris[0]", "user information"},
		{"redirect duplicate", func(c *Config) { c.Clients[1].RedirectURIs = []string{"https://a.example/cb", "https://a.example/cb"} }, "clients[1].redirect_uris[1]", "duplicate redirect URI"},
		{"redirect loopback and private-use ok", func(c *Config) {
			c.Clients[2].RedirectURIs = []string{"http://localhost:3000/cb", "http://[::1]/cb", "com.example.app:/cb", "https://a.example/cb?x=1"}
		}, "", ""},

		// clients: scopes (RFC 6749 §3.3) and audiences (RFC 8707).
		{"scope with space", func(c *Config) { c.Clients[0].Scopes = []string{"read write"}; c.Clients[0].DefaultScopes = nil }, "clients[0].scopes[0]", "not a scope token"},
		{"scope with quote", func(c *Config) { c.Clients[0].Scopes = []string{"read", `a"b`} }, "clients[0].scopes[1]", "not a scope token"},
		{"scope with backslash", func(c *Config) { c.Clients[0].Scopes = []string{"read", `a\b`} }, "clients[0].scopes[1]", "not a scope token"},
		{"scope empty", func(c *Config) { c.Clients[0].Scopes = []string{"read", ""} }, "clients[0].scopes[1]", "not a scope token"},
		{"scope non-ascii", func(c *Config) { c.Clients[0].Scopes = []string{"read", "lésen"} }, "clients[0].scopes[1]", "not a scope token"},
		{"scope duplicate", func(c *Config) { c.Clients[0].Scopes = []string{"read", "read"} }, "clients[0].scopes[1]", "duplicate scope"},
		{"scope odd but legal ok", func(c *Config) { c.Clients[0].Scopes = []string{"read", "urn:x:y!#$%&'()*+,-./[]^_`{|}~"} }, "", ""},
		{"default scope not allowed", func(c *Config) { c.Clients[0].DefaultScopes = []string{"admin"} }, "clients[0].default_scopes[0]", `"admin" is not in clients[0].scopes`},
		{"default scope duplicate", func(c *Config) { c.Clients[0].DefaultScopes = []string{"read", "read"} }, "clients[0].default_scopes[1]", "duplicate scope"},
		{"client audience unknown", func(c *Config) { c.Clients[0].Audiences = []string{"https://nope.example"} }, "clients[0].audiences[0]", "unknown audience"},
		{"client audience duplicate", func(c *Config) {
			c.Clients[0].Audiences = []string{"https://api.example.com", "https://api.example.com"}
		}, "clients[0].audiences[1]", "duplicate audience"},
		{"client without audience and no default", func(c *Config) {
			c.Audiences[0].Default = false
			c.Clients[1].Audiences = []string{"https://api.example.com"}
			c.Clients[2].Audiences = []string{"https://api.example.com"}
		}, "clients[0].audiences", "no default audience"},

		// clients: PKCE (RFC 7636, RFC 9700 §2.1.1).
		{"allow_pkce_plain with authorization_code ok", func(c *Config) { c.Clients[2].AllowPKCEPlain = true }, "", ""},
		{"allow_pkce_plain without authorization_code", func(c *Config) { c.Clients[0].AllowPKCEPlain = true }, "clients[0].allow_pkce_plain", "no effect without the authorization_code grant"},

		// resource_servers (RFC 7662 §4).
		{"resource server ok", func(c *Config) { c.ResourceServers = []ResourceServer{validRS()} }, "", ""},
		{"resource server id empty", func(c *Config) { rs := validRS(); rs.ID = ""; c.ResourceServers = []ResourceServer{rs} }, "resource_servers[0].id", "required"},
		{"resource server id of a client", func(c *Config) { rs := validRS(); rs.ID = "backend"; c.ResourceServers = []ResourceServer{rs} }, "resource_servers[0].id", "(also clients[0])"},
		{"resource server id duplicate", func(c *Config) { c.ResourceServers = []ResourceServer{validRS(), validRS()} }, "resource_servers[1].id", "(also resource_servers[0])"},
		{"resource server with neither secret nor jwks", func(c *Config) { rs := validRS(); rs.SecretHash = ""; c.ResourceServers = []ResourceServer{rs} }, "resource_servers[0].secret_hash", "required"},
		// resource_servers[].jwks (SPEC §9).
		{"SPEC §9: resource server with jwks and no secret ok", func(c *Config) {
			rs := validRS()
			rs.SecretHash, rs.JWKS = "", JSON(rsPublicJWKS(t))
			c.ResourceServers = []ResourceServer{rs}
		}, "", ""},
		{"SPEC §9: jwks with a private member names the key", func(c *Config) {
			rs := validRS()
			rs.JWKS = JSON(rsPrivateJWKS(t))
			c.ResourceServers = []ResourceServer{rs}
		}, "resource_servers[0].jwks", "keys[0].d (kid \"enc-"},
		{"SPEC §9: jwks without an enc key", func(c *Config) {
			rs := validRS()
			rs.JWKS = `{"keys":[{"kty":"EC","crv":"P-256","kid":"sig-1","use":"sig","alg":"ES256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`
			c.ResourceServers = []ResourceServer{rs}
		}, "resource_servers[0].jwks", "no encryption key"},
		{"SPEC §9: jwks with an RSA enc key", func(c *Config) {
			rs := validRS()
			rs.JWKS = `{"keys":[{"kty":"RSA","kid":"r1","use":"enc","n":"AQAB","e":"AQAB"}]}`
			c.ResourceServers = []ResourceServer{rs}
		}, "resource_servers[0].jwks", "keys[0].kty (kid \"r1\")"},
		{"SPEC §9: jwks not a JWK Set", func(c *Config) { rs := validRS(); rs.JWKS = `{"kid":"x"}`; c.ResourceServers = []ResourceServer{rs} }, "resource_servers[0].jwks", "keys"},
		// tokens.status_list_ttl (SPEC §9, draft-ietf-oauth-status-list §5.1).
		{"status_list_ttl zero", func(c *Config) { c.Tokens.StatusListTTL = 0 }, "tokens.status_list_ttl", "whole seconds from 1s to 1h"},
		{"status_list_ttl over an hour", func(c *Config) { c.Tokens.StatusListTTL = 2 * time.Hour }, "tokens.status_list_ttl", "whole seconds"},
		{"status_list_ttl fractional", func(c *Config) { c.Tokens.StatusListTTL = 1500 * time.Millisecond }, "tokens.status_list_ttl", "whole seconds"},
		{"resource server secret plaintext", func(c *Config) { rs := validRS(); rs.SecretHash = "hunter2"; c.ResourceServers = []ResourceServer{rs} }, "resource_servers[0].secret_hash", "not a recognised hash format"},
		{"resource server without audiences", func(c *Config) { rs := validRS(); rs.Audiences = nil; c.ResourceServers = []ResourceServer{rs} }, "resource_servers[0].audiences", "at least one audience"},
		{"resource server audience unknown", func(c *Config) {
			rs := validRS()
			rs.Audiences = []string{"https://nope.example"}
			c.ResourceServers = []ResourceServer{rs}
		}, "resource_servers[0].audiences[0]", "unknown audience"},
		{"resource server audience duplicate", func(c *Config) {
			rs := validRS()
			rs.Audiences = []string{"https://api.example.com", "https://api.example.com"}
			c.ResourceServers = []ResourceServer{rs}
		}, "resource_servers[0].audiences[1]", "duplicate audience"},

		// users.
		{"username empty", func(c *Config) { c.Users[0].Username = "" }, "users[0].username", "required"},
		{"username duplicate", func(c *Config) {
			c.Users = append(c.Users, User{Username: "alice", ID: "u-2", PasswordHash: c.Users[0].PasswordHash})
		}, "users[1].username", "duplicate username"},
		{"username control char", func(c *Config) { c.Users[0].Username = "al\x00ice" }, "users[0].username", "control"},
		{"user id empty", func(c *Config) { c.Users[0].ID = "" }, "users[0].id", "required"},
		{"user id duplicate", func(c *Config) {
			c.Users = append(c.Users, User{Username: "bob", ID: "u-1", PasswordHash: c.Users[0].PasswordHash})
		}, "users[1].id", "duplicate user id"},
		{"user id equals client id", func(c *Config) { c.Users[0].ID = "backend" }, "users[0].id", "RFC 9068 §5"},
		{"password hash missing", func(c *Config) { c.Users[0].PasswordHash = "" }, "users[0].password_hash", "required"},
		{"password hash plaintext", func(c *Config) { c.Users[0].PasswordHash = "hunter2" }, "users[0].password_hash", "not a recognised hash format"},
		{"unicode username ok", func(c *Config) { c.Users[0].Username = "zoë" }, "", ""},
		{"password grant without users", func(c *Config) {
			c.Users = nil
			setLogin(c, "X-Remote-User")
			c.Clients[0].GrantTypes = []string{GrantClientCredentials, GrantPassword}
		}, "clients[0].grant_types", "the password grant needs users"},
		{"authorization_code with nobody to log in", func(c *Config) {
			c.Users = nil
			c.Clients = c.Clients[:2]
		}, "clients[1].grant_types", "nobody can log in"},
		{"authorization_code with trusted header and no users ok", func(c *Config) {
			c.Users = nil
			setLogin(c, "X-Remote-User")
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, baseYAML())
			tt.mutate(c)
			err := c.Validate()
			if tt.path == "" {
				if err != nil {
					t.Fatalf("Validate: want no error, got %v", err)
				}
				return
			}
			ps := problems(t, err)
			if len(ps) != 1 {
				t.Fatalf("want exactly one problem at %s, got %d: %v", tt.path, len(ps), err)
			}
			p := ps[0]
			if p.Path != tt.path || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("got path %q msg %q; want path %q msg containing %q", p.Path, p.Msg, tt.path, tt.msg)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			if want := "config: " + tt.path + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
		})
	}
}

func setLogin(c *Config, header string) {
	c.Login = Login{TrustedHeader: header, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
}

// TestValidateCollectsAll: all problems are reported together, in order.
func TestValidateCollectsAll(t *testing.T) {
	c := mustParse(t, baseYAML())
	c.Issuer = "http://x"
	c.Keys.Alg = "none"
	c.Clients[1].GrantTypes = append(c.Clients[1].GrantTypes, "implicit")
	c.Users[0].PasswordHash = "x"
	ps := problems(t, c.Validate())
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	want := []string{"issuer", "keys.alg", "clients[1].grant_types[2]", "users[0].password_hash"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("problem paths = %v, want %v", paths, want)
	}
}

// TestValidateBoundsErrors: a pathological config yields a bounded report.
func TestValidateBoundsErrors(t *testing.T) {
	c := mustParse(t, baseYAML())
	for range 500 {
		c.Clients = append(c.Clients, Client{ID: "backend"})
	}
	ps := problems(t, c.Validate())
	if len(ps) != maxErrors+1 {
		t.Fatalf("got %d problems, want %d (the last one a summary)", len(ps), maxErrors+1)
	}
	if last := ps[len(ps)-1]; !strings.Contains(last.Msg, "more problems not shown") {
		t.Fatalf("last problem = %v, want a summary", last)
	}
}

// TestCheckHash covers each accepted hash form with output of the real
// algorithms and each way a hash can be malformed; the verdicts are those
// of pkg/secret, whose sentinels the errors wrap.
func TestCheckHash(t *testing.T) {
	h := realHashes()
	bc := h.bcrypt // $2a$04$...
	tests := []struct {
		name string
		hash string
		want error // nil means valid
		msg  string
	}{
		{"sha256", h.sha, nil, ""},
		{"bcrypt 2a", bc, nil, ""},
		{"bcrypt 2b", "$2b$" + bc[4:], nil, ""},
		{"bcrypt 2y", "$2y$" + bc[4:], nil, ""},
		{"argon2id", h.argon, nil, ""},
		{"empty", "", secret.ErrEmpty, "not a recognised hash format"},
		{"plaintext", "correct horse battery staple", secret.ErrUnknownScheme, "not a recognised hash format"},
		{"argon2i", strings.Replace(h.argon, "argon2id", "argon2i", 1), secret.ErrUnknownScheme, "argon2i is not supported"},
		{"sha256 short", h.sha[:len(h.sha)-1], secret.ErrSHA256Length, ""},
		{"sha256 uppercase", "sha256$" + strings.ToUpper(h.sha[7:]), secret.ErrSHA256Hex, ""},
		{"bcrypt short", bc[:59], secret.ErrBcryptFormat, ""},
		{"bcrypt cost 03", bc[:4] + "03" + bc[6:], secret.ErrBcryptCost, ""},
		{"bcrypt cost too high", bc[:4] + "31" + bc[6:], secret.ErrBcryptCost, ""},
		{"bcrypt bad char", bc[:59] + "!", secret.ErrBcryptFormat, ""},
		{"bcrypt 2x", "$2x$" + bc[4:], secret.ErrBcryptFormat, ""},
		{"argon2id v16", strings.Replace(h.argon, "v=19", "v=16", 1), secret.ErrArgon2Version, ""},
		{"argon2id params out of order", strings.Replace(h.argon, "m=64,t=1,p=1", "t=1,p=1,m=64", 1), secret.ErrArgon2Format, ""},
		{"argon2id missing p", strings.Replace(h.argon, ",p=1", "", 1), secret.ErrArgon2Format, ""},
		{"argon2id leading zero", strings.Replace(h.argon, "m=64", "m=064", 1), secret.ErrArgon2Format, ""},
		{"argon2id m below 8p", strings.Replace(h.argon, "m=64,t=1,p=1", "m=64,t=1,p=9", 1), secret.ErrArgon2Params, ""},
		{"argon2id t huge", strings.Replace(h.argon, "t=1", "t=5000", 1), secret.ErrArgon2Params, ""},
		{"argon2id short salt", strings.Replace(h.argon, "MDEyMzQ1Njc4OWFiY2RlZg", "MDEy", 1), secret.ErrArgon2Params, ""},
		{"argon2id padded salt", strings.Replace(h.argon, "MDEyMzQ1Njc4OWFiY2RlZg", "MDEyMzQ1Njc4OWFiY2RlZg==", 1), secret.ErrArgon2Format, ""},
		{"argon2id extra field", h.argon + "$x", secret.ErrArgon2Format, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkHash(tt.hash)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("checkHash: want valid, got %v", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("checkHash: want %v, got %v", tt.want, err)
			case err != nil && !strings.Contains(err.Error(), tt.msg):
				t.Fatalf("checkHash: error %q lacks %q", err, tt.msg)
			case err != nil && tt.hash != "" && strings.Contains(err.Error(), tt.hash):
				t.Fatalf("checkHash error quotes the hash: %v", err)
			}
		})
	}
}

// validRS is a valid resource server for baseYAML's audiences.
func validRS() ResourceServer {
	return ResourceServer{ID: "api-gateway", Audiences: []string{"https://api.example.com"}, SecretHash: Hash(realHashes().sha)}
}

// rsPublicJWKS and rsPrivateJWKS are a resource server's JWK Sets as
// `issuer rs new` makes them.
func rsPublicJWKS(t *testing.T) string {
	r, err := keys.GenerateRecipient(keys.CurveP256, true)
	if err != nil {
		t.Fatal(err)
	}
	return string(r.PublicJWKS())
}

func rsPrivateJWKS(t *testing.T) string {
	r, err := keys.GenerateRecipient(keys.CurveX25519, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.PrivateJWKS()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
