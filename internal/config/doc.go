// Package config loads, checks and writes the YAML configuration of
// cmd/issuer (SPEC §6).
//
// # Loading
//
// [Load] reads a file and [Parse] reads bytes; both decode strictly and
// validate. Every problem is reported at once, in file order, joined with
// errors.Join, each an [*Error] naming the key path and, where there is one,
// the line:
//
//	config: issuer.yaml:12: unknown key "clients[1].redirect_uri" (did you mean "redirect_uris"?)
//	config: issuer.yaml:14: clients[0].grant_types[1]: unknown grant type "implicit" (want authorization_code, client_credentials, refresh_token, password)
//
// Errors wrap [ErrSyntax], [ErrUnknownKey] or [ErrInvalid]. Unknown keys,
// duplicate keys, values of the wrong type, YAML merge keys (<<) and more
// than one document are errors; anchors and aliases are allowed.
// Validation checks syntax and consistency only: it opens no files (the
// server reports a missing certificate when it loads it).
//
// # Defaults
//
// The file is decoded over [Default]: a key that is absent (or null) keeps
// its default, listed below and in the Default* constants; a key that is
// present keeps its value even when it is zero, and is validated, so
// "leeway: 0s" means no leeway and "access_ttl: 0s" is an error. Two
// defaults depend on other keys: a lone audience is the default audience,
// and a client with the authorization_code grant and no response_types gets
// response_types [code].
//
// # Paths
//
// data_dir is the base of every relative path (tls.cert_file, tls.key_file,
// keys.dir, store_path, login.key_file). A relative data_dir in a file is
// resolved against the directory of that file, so "issuer serve --config /etc/issuer/issuer.yaml"
// finds its files wherever it is started; [Parse] resolves it against the
// working directory unless [WithBaseDir] says otherwise. After loading,
// every path in the Config is absolute and clean.
//
// # Environment
//
// With [WithEnv], ISSUER_LISTEN, ISSUER_DATA_DIR and ISSUER_STORE override
// listen, data_dir and store (SPEC §6); an empty variable is ignored, a
// relative ISSUER_DATA_DIR is resolved against the working directory, and
// an invalid value is reported under the variable's name.
//
// # Dev mode
//
// [Dev] returns the configuration of "issuer serve" without arguments: TLS
// files, key rings and the file store under a data directory, one default
// audience. cmd/issuer creates the certificate and the login key
// ([DevLoginKeyFile]), appends [DemoClient] with the hash of a generated
// secret and [DemoUser] with the hash of a generated password, and calls
// [Config.Validate].
//
// # Secrets
//
// Client-secret and password hashes have type [Hash] and the store URL type
// [Store]; neither prints its value through fmt, encoding/json, yaml or
// zerolog, and no error message quotes them. [Marshal] writes them, since
// its output is a configuration file. [Example] returns a commented example
// file (testdata/issuer.example.yaml). Keys themselves (the key-encryption
// key, the login page's key) are never in the file: it names the file or
// the environment variable that holds them.
//
// # Keys
//
// Every key, with its type, default and meaning. This list is generated
// from keydocs.go by "go test -run TestDocGo -update"; do not edit it by
// hand.
//
//	issuer: https URL, required
//	    The "iss" claim of every token and the issuer in the RFC 8414
//	    metadata. An absolute https URL without query or fragment; http is
//	    refused even for loopback (dev mode uses https with a self-signed
//	    certificate).
//	listen: host:port, default 127.0.0.1:8443
//	    Address to listen on. An empty host listens on all interfaces.
//	    Overridden by ISSUER_LISTEN.
//	data_dir: path, default .
//	    Base directory for the relative paths below. A relative data_dir
//	    is resolved against the directory of the config file. Overridden
//	    by ISSUER_DATA_DIR (resolved against the working directory).
//	tls: mapping
//	    Server certificate. Both files or neither: without them the server
//	    speaks plain HTTP and must sit behind a TLS-terminating proxy
//	    listed in trusted_proxies.
//	tls.cert_file: path, optional
//	    PEM certificate chain, leaf first.
//	tls.key_file: path, optional
//	    PEM private key of the certificate.
//	tls.client_ca_file: path, optional
//	    PEM file of the certificate authorities that the certificates of
//	    tls_client_auth clients and resource servers must chain to
//	    (RFC 8705 §2.1); required when one uses tls_client_auth. The
//	    server asks every TLS client for a certificate (without requiring
//	    one) as soon as a client or resource server uses mutual TLS or
//	    certificate-bound tokens, so that self-signed certificates get
//	    through to self_signed_tls_client_auth; chains are then verified
//	    by the endpoints, not by the TLS handshake. Behind a
//	    TLS-terminating proxy the certificate comes in the RFC 9440
//	    Client-Cert header (and Client-Cert-Chain), believed only from
//	    trusted_proxies. Not changed by a reload (SIGHUP).
//	trusted_proxies: list of CIDR, optional
//	    Networks of the load balancers or proxies whose X-Forwarded-Proto
//	    and X-Forwarded-For headers are believed (SPEC §5). A bare IP
//	    address means that address only; /0 is refused. The client's
//	    address, which rate limits count and logs show, is found by
//	    walking X-Forwarded-For from the right past these networks: the
//	    first address outside them; a malformed header gives the peer.
//	keys: mapping
//	    Key rings (SPEC §4): one per audience (seals its access tokens),
//	    the issuer-internal ring (seals refresh tokens and codes) and the
//	    signing ring (signs ID tokens, status lists, key deliveries; its
//	    public keys are served at /jwks.json).
//	keys.dir: path, default keys
//	    Directory of the ring files (one per ring, mode 0600) with
//	    keys.store: dir. Every replica must see the same directory (a
//	    shared volume).
//	keys.store: dir | redis, default dir
//	    Where the rings live. dir: files in keys.dir. redis: in the Redis
//	    of store (which must then be a Redis URL), so replicas need no
//	    shared volume; the rotation lease holder writes each ring with a
//	    version check and the other replicas reload it when its version
//	    changes. Requires keys.kek_env. Rings are not copied between the
//	    two: switching starts new rings (run "issuer keys init" and let
//	    resource servers pick up the new keys).
//	keys.alg: A256KW | dir, default A256KW
//	    JWE key management (RFC 7518 §4.4, §4.5). With dir, keys rotate
//	    early after a bounded number of tokens.
//	keys.signing_alg: ES256 | EdDSA | RS256, default ES256
//	    Algorithm of the signing ring's new keys (RFC 7518 §3.4, RFC 8037
//	    §3.1, RFC 7518 §3.3 with 2048-bit RSA keys). Changing it affects
//	    new keys only: the current key signs until its rotation. The
//	    signing ring rotates with rotate_every and propagation like the
//	    others; a public key is published at /jwks.json from the moment it
//	    is created (pending) until the longest-lived thing it may have
//	    signed has expired: retires + max(access_ttl, 24h for Status List
//	    Tokens and key deliveries) + leeway.
//	keys.rotate_every: duration, default 24h
//	    How long a key seals before the next one takes over. At least 1m.
//	keys.propagation: duration, default 1h
//	    How long a new key is published (pending) before it seals, so
//	    resource servers and the other replicas learn it first. At least
//	    2s and less than rotate_every. Replicas reload the rings every
//	    propagation/10 (between 1s and 1m), so propagation must exceed
//	    that plus the clock skew between them, and every resource server's
//	    own delay in learning a new key (docs/SCALING.md).
//	keys.kek_env: env var name, optional
//	    Name of the environment variable holding the key-encryption key
//	    that wraps the rings (32 random bytes in base64: openssl rand
//	    -base64 32). Unset: ring files are stored unwrapped (mode 0600).
//	    Required with keys.store: redis.
//	tokens: mapping
//	    Token lifetimes (SPEC §3).
//	tokens.access_ttl: duration, default 10m
//	    Access token lifetime; at most 24h (a self-contained token cannot
//	    be recalled).
//	tokens.refresh_ttl: duration, default 720h
//	    Refresh token lifetime; not shorter than access_ttl, at most
//	    8760h.
//	tokens.code_ttl: duration, default 1m
//	    Authorization code lifetime; at most 10m (RFC 6749 §4.1.2).
//	tokens.leeway: duration, default 30s
//	    Clock skew allowed when checking exp, nbf and iat; 0s to 5m, less
//	    than access_ttl.
//	tokens.status_list_ttl: duration, default 30s
//	    The "ttl" of the Token Status Lists served at /statuslists/<id>
//	    (draft-ietf-oauth-status-list §5.1, SPEC §9): how long a
//	    resource server may use a list before fetching it again, so a
//	    revoked token is refused everywhere within this plus the resource
//	    server's polling delay. Whole seconds, 1s to 1h. Responses are
//	    cacheable for half of it.
//	tokens.device_code_ttl: duration, default 10m
//	    Lifetime of device codes and their user codes (RFC 8628 §3.2
//	    expires_in): how long a user has to enter the code and approve.
//	    10s to 1h.
//	store: file | memory | Redis URL, default file
//	    Where single-use codes, refresh families, revocations, status-list
//	    bits and the other state of SPEC §7 live. "file" (the default): a
//	    durable file under data_dir (store_path) for one replica; every
//	    write is on disk before it is acknowledged, so revocations,
//	    rotations and redeemed codes survive restarts and kill -9
//	    (docs/STORE.md). "memory": in the process only, for tests and
//	    benchmarks; it forgets everything when the process stops, and the
//	    server warns at start. redis://[user:password@]host[:port][/db]
//	    (rediss:// for TLS): shared by all replicas (SPEC §7). Overridden
//	    by ISSUER_STORE, which keeps a password out of the file.
//	store_path: path, default store/issuer.db
//	    With store: file, the store's file. Its directory is created mode
//	    0700 and the file mode 0600; a file or directory that group or
//	    others may write is refused. One process at a time: a second
//	    issuer on the same file stops at start, naming it. Put it on a
//	    local disk (not NFS); back it up while the issuer is stopped or
//	    from a filesystem snapshot. Unused with memory and Redis.
//	audiences: list, required
//	    Resource servers tokens are issued for; each gets its own key
//	    ring.
//	audiences[].name: absolute URI, required
//	    Resource indicator (RFC 8707 §2): absolute URI without fragment,
//	    the "aud" claim and the "resource" parameter that selects it.
//	audiences[].default: bool, default false
//	    Used when a request names no resource. At most one; a lone
//	    audience is the default.
//	audiences[].sign: bool, default false
//	    Sign its access tokens (SPEC §9): each is a nested JWT, the
//	    claims signed by the signing ring (JWS, typ at+jwt) and then
//	    encrypted with the audience ring (cty JWT), so that a resource
//	    server holding the audience key cannot forge tokens its peers
//	    accept. Resource servers verify the signature against jwks_uri
//	    (pkg/crypttoken/remote does once the key delivery says the
//	    audience is signed); an opener without that check still reads the
//	    claims. Costs a signature per token and a verification per request
//	    (bench/). Turning it on refuses, at introspection and at verifying
//	    resource servers, the unsigned tokens issued before, for up to
//	    tokens.access_ttl.
//	login: mapping
//	    How /authorize learns who the user is: the built-in login page
//	    with the users below, or a header set by an authenticating proxy.
//	login.trusted_header: header name, optional
//	    Request header carrying the user name, set by an authenticating
//	    proxy (which must strip it from client requests). Requires
//	    login.trusted_proxies. A name listed in users becomes that user's
//	    id; any other name is its own "sub", unless it equals a user id or
//	    a client id, which is refused. The header skips the consent page
//	    only for skip_consent clients.
//	login.trusted_proxies: list of CIDR, optional
//	    Networks the trusted header is believed from; required with
//	    trusted_header, /0 refused. Their X-Forwarded-For is believed only
//	    if they are also in the top-level trusted_proxies.
//	login.key_file: path, optional
//	    File holding the key of the login page's CSRF tokens and login
//	    tickets: at least 32 random bytes, as base64 text (openssl rand
//	    -base64 32 > login.key) or raw; keep it mode 0600. At most one of
//	    key_file and key_env. With neither, every process makes a random
//	    key at start: fine for one replica, but several replicas MUST
//	    share one key, or a form rendered by one replica fails its CSRF
//	    check on another. A missing or short file stops the server.
//	    "issuer serve" in dev mode creates one.
//	login.key_env: env var name, optional
//	    Name of the environment variable holding the login page's key in
//	    base64 (at least 32 bytes once decoded): the alternative to
//	    key_file.
//	login.session_ttl: duration, default 8h
//	    Single sign-on (SPEC §11): after a password login the login page
//	    sets a sealed session cookie (__Host-login-session: HttpOnly,
//	    Secure, SameSite=Lax; sealed with a key derived from the login
//	    key, so replicas sharing login.key_file read it) that signs the
//	    browser in to further clients without the password for this long
//	    after the login (never extended); consent still applies.
//	    RP-Initiated Logout (/end_session) ends it, and the ended session
//	    is recorded in the store until it expires, so a replayed cookie
//	    signs in no more. 0s disables single sign-on; else 1m to 720h.
//	login.consent_ttl: duration, default 2160h
//	    How long a user's consent to a client is remembered in the store:
//	    a request for scopes and an audience already granted skips the
//	    consent page (prompt=consent forces it; denying a request forgets
//	    the consent). 0s: consent is never remembered; else 1m to 8760h.
//	login.trusted_amr: list of amr, optional
//	    Authentication methods (RFC 8176 §2 values such as mfa, otp, hwk)
//	    that the ID tokens of users from login.trusted_header state in
//	    "amr": what the authenticating proxy is known to enforce. Password
//	    logins state pwd. Requires login.trusted_header.
//	dpop: mapping
//	    DPoP at the token endpoint (RFC 9449). A token request with a DPoP
//	    proof (ES256, EdDSA, PS256 or RS256; htu the token endpoint URL
//	    under issuer, or behind trusted_proxies the host of
//	    X-Forwarded-Host; iat at most 60s old) gets an access token bound
//	    to the proof's key (cnf.jkt, token_type DPoP); a public client's
//	    refresh token is bound to it too. Each proof is single-use: its
//	    key and jti are kept in the store, so replicas refuse each other's
//	    replays. Proofs are always accepted; this section makes server
//	    nonces required.
//	dpop.require_nonce: bool, default false
//	    Require every proof to carry a server nonce (RFC 9449 §8): a
//	    proof without a current one is answered use_dpop_nonce with the
//	    nonce in the DPoP-Nonce header, which every token response
//	    carries. Nonces are stateless: a MAC of the clock's time step, so
//	    replicas with the same key agree.
//	dpop.nonce_step: duration, default 1m
//	    Time step of the nonces, 1s to 1h; a nonce is accepted during its
//	    step and the next.
//	dpop.nonce_key_file: path, optional
//	    File holding the nonce key: at least 32 random bytes, as base64
//	    text (openssl rand -base64 32) or raw; keep it mode 0600. At most
//	    one of nonce_key_file and nonce_key_env. With neither, each
//	    process makes a random key: fine for one replica, but replicas
//	    behind a load balancer MUST share one, or a nonce from one is
//	    refused by another. Needs require_nonce.
//	dpop.nonce_key_env: env var name, optional
//	    Name of the environment variable holding the nonce key in base64
//	    (at least 32 bytes once decoded): the alternative to
//	    nonce_key_file.
//	limits: mapping
//	    Bounds on what one request or one peer may cost.
//	limits.max_body_bytes: size, default 64KiB
//	    Largest request body, as bytes or with B, KiB, MiB, GiB; 1KiB to
//	    16MiB.
//	limits.read_timeout: duration, default 10s
//	    Time to read a whole request.
//	limits.write_timeout: duration, default 10s
//	    Time to write a whole response.
//	limits.idle_timeout: duration, default 2m
//	    How long an idle keep-alive connection stays open.
//	limits.max_conns_per_ip: int, default 0 (no cap)
//	    Concurrent connections from one address.
//	limits.hash_concurrency: int, default 0 (GOMAXPROCS)
//	    Concurrent bcrypt/argon2id verifications; the rest wait (SPEC
//	    §6).
//	limits.memory_store_entries: int, default 1000000
//	    With store: memory, the most entries each of its tables may hold;
//	    1000 to 1000000000. A write that needs room in a table full of
//	    live entries fails and its request is answered 503
//	    temporarily_unavailable: entries are never evicted early. The
//	    tables fill independently, so size for the largest. Redeemed codes
//	    are kept until the code's expiry plus leeway: about peak code
//	    exchanges/s × (code_ttl + leeway) entries (with the defaults, 1m
//	    + 30s, 11,000 exchanges/s sustained fill the default bound).
//	    Refresh families take one entry each from their first refresh (or
//	    revocation) until refresh_ttl + leeway after their latest: the
//	    sessions that refreshed within that period, at most refreshes/s ×
//	    (refresh_ttl + leeway) (with refresh_ttl 720h the default bound is
//	    a million sessions active in 30 days). Revoked access tokens are
//	    kept until the token's expiry plus leeway: about revocations/s ×
//	    (access_ttl + leeway). A table may refuse writes from about 98% of
//	    the bound (it is enforced per shard): leave headroom. An entry
//	    costs about 115 bytes, so a full table takes about 115 bytes ×
//	    this value. issuer_memory_store_entries{table} in /metrics shows
//	    how full each table is. Unused with Redis.
//	limits.gc_percent: int, default 400
//	    The Go garbage collector's target percentage (GOGC) that issuer
//	    serve sets at start, unless the GOGC environment variable is set:
//	    a collection starts when the heap has grown this much beyond the
//	    live heap. The issuer's live heap is small (tokens carry their own
//	    state; with store: memory, size for its tables), so 400 costs a
//	    few MiB and saves most of the collector's CPU per token. 0 keeps
//	    the runtime's default (100); else 50 to 2000. Needs a restart.
//	rate_limit: mapping
//	    Throttling of failed client authentications and logins (SPEC §6),
//	    answered 429 with Retry-After before any hash is computed, and the
//	    per-client quota of store writes. A client id or user name is
//	    blocked for the addresses it has not authenticated from; an
//	    address it authenticated from in the last 30 days (and, on the
//	    login page, a browser holding the user's device cookie) is counted
//	    on its own, so failures from elsewhere never lock the legitimate
//	    user out. Addresses are the client's as the trusted_proxies report
//	    it; IPv6 counts per /64. A client whose secret is a sha256$ hash
//	    is never blocked: guessing a generated secret is hopeless and
//	    costs no CPU. The counts are per replica.
//	rate_limit.failures: int, default 10
//	    Failures within window that block a client id, user name or
//	    address; 1 to 1000. Concurrent attempts count as they start, so a
//	    flood computes at most this many slow hashes per window.
//	rate_limit.window: duration, default 1m
//	    Period over which failures are counted, from the first failure. A
//	    success resets nothing.
//	rate_limit.backoff: duration, default 1m
//	    Length of the first block (the Retry-After); each further block of
//	    the same key doubles it.
//	rate_limit.max_backoff: duration, default 15m
//	    Longest block; at least backoff.
//	rate_limit.client_writes: int, default 1000
//	    Per-client quota: revocations (RFC 7009) and first refreshes of a
//	    grant (which create the grant's store entry) that one client may
//	    cause per client_window for one token subject, answered 429 with
//	    Retry-After beyond; 1 to 1000000000. The subject is the client
//	    itself for client_credentials tokens and the user for user tokens,
//	    so one user cannot spend an application's quota for the others and
//	    an application serving many users is not throttled for their sum.
//	    Never charged for what the server does for safety (revoking a
//	    replayed code's grant, detecting refresh token reuse) or for code
//	    redemptions. Per subject, a client can make the store keep at most
//	    about client_writes × (lifetime / client_window) entries of a
//	    kind, where lifetime is access_ttl for revoked access tokens and
//	    refresh_ttl for grants.
//	rate_limit.client_window: duration, default 1m
//	    Period of the client_writes quota; a client that uses it up waits
//	    one period.
//	log: mapping
//	    Log output (one line per request, no secrets).
//	log.level: trace|debug|info|warn|error, default info
//	    Least severe level written.
//	log.format: json|console|auto, default auto
//	    auto: console on a terminal, json otherwise.
//	metrics: mapping
//	    Where the Prometheus metrics are served.
//	metrics.listen: host:port, default none (on listen)
//	    Serve /metrics on this address of its own, over plain HTTP, and no
//	    longer on the main listener (which then answers /metrics with
//	    404). Bind it to a private interface or loopback: the metrics name
//	    clients and audiences. Unset: /metrics is served on listen beside
//	    the OAuth endpoints. Not changed by a reload (SIGHUP).
//	clients: list, optional
//	    Registered OAuth clients (RFC 6749 §2).
//	clients[].id: string, required
//	    The client_id: unique, printable ASCII (RFC 6749 Appendix A.1).
//	clients[].secret_hash: hash, optional
//	    Required for confidential clients that authenticate with a secret
//	    (unless secret_env gives it), absent for public ones and for the
//	    key and certificate methods: "sha256$<64 lowercase hex>" for
//	    generated secrets (issuer client new), bcrypt "$2a$/$2b$/$2y$..."
//	    (cost at most 13), or argon2id
//	    "$argon2id$v=19$m=...,t=...,p=...$salt$hash", checked by
//	    pkg/secret's parser and within its bounds. Never shown in messages
//	    or logs.
//	clients[].public: bool, default false
//	    A client without a secret (RFC 6749 §2.1); PKCE is then required
//	    and client_credentials is refused.
//	clients[].redirect_uris: list of URI, optional
//	    Absolute, no fragment, matched exactly. https, http on a loopback
//	    host (RFC 8252 §7.3), or a reverse-domain private-use scheme
//	    (RFC 8252 §7.1). Required with authorization_code or response
//	    type token, refused without.
//	clients[].grant_types: list, required
//	    Any of authorization_code, client_credentials, refresh_token,
//	    password, and the SPEC §12 grants by their URNs:
//	    urn:ietf:params:oauth:grant-type:device_code (RFC 8628; the user
//	    approves on /device),
//	    urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693; needs
//	    token_exchange.audiences; confidential clients only),
//	    urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523 §2.1; needs
//	    trusted_issuers). refresh_token needs authorization_code, password
//	    or device_code.
//	clients[].response_types: list, default [code] with authorization_code
//	    Subset of code and token; code requires authorization_code; token
//	    enables the implicit grant.
//	clients[].scopes: list of scope, optional
//	    Scopes the client may get (RFC 6749 §3.3 scope-token syntax).
//	clients[].default_scopes: list of scope, optional
//	    Granted when a request names no scope; a subset of scopes.
//	clients[].audiences: list of audience name, optional
//	    Audiences (names from audiences) the client may get tokens for;
//	    empty means the default audience only.
//	clients[].skip_consent: bool, default false
//	    First-party client: no consent screen.
//	clients[].allow_pkce_plain: bool, default false
//	    Let the client use the PKCE plain method (RFC 7636 §4.2), which
//	    RFC 9700 §2.1.1 advises against; needs authorization_code.
//	    Without it only S256 is accepted and a code_challenge without
//	    code_challenge_method is invalid_request; with it, such a
//	    challenge is plain (RFC 7636 §4.3). The metadata lists plain only
//	    when some client allows it.
//	clients[].token_endpoint_auth_method: method, default none (secret or public)
//	    The one way the client may authenticate, at the token,
//	    introspection and revocation endpoints alike (RFC 7591 §2):
//	    client_secret_basic, client_secret_post, client_secret_jwt,
//	    private_key_jwt, tls_client_auth, self_signed_tls_client_auth, or
//	    none (public clients). Unset: a confidential client may use
//	    client_secret_basic or client_secret_post, a public client none.
//	    Any other method is refused as a wrong secret is.
//	clients[].secret_env: env var name, optional
//	    Name of the environment variable holding the client secret itself
//	    (at least 32 bytes), instead of secret_hash: required for
//	    client_secret_jwt, whose assertions are HS256 under the secret
//	    (RFC 7523 §2.2) and so cannot be checked against a hash; usable
//	    with client_secret_basic and client_secret_post too. Read at start
//	    and at each reload; never logged.
//	clients[].jwks: JWK Set, optional
//	    The client's public keys as an inline JWK Set (a mapping {keys:
//	    [...]}, or a string of JSON), for private_key_jwt (RFC 7523 §2.2:
//	    ES256, EdDSA, PS256 or RS256; never none or HMAC) or
//	    self_signed_tls_client_auth (RFC 8705 §2.2). Private key members
//	    are refused. At most one of jwks and jwks_uri.
//	clients[].jwks_uri: https URL, optional
//	    Where the client publishes its JWK Set, instead of jwks: fetched
//	    over https only, never from loopback, private or link-local
//	    addresses (checked on the address connected to), 5s and 256KiB at
//	    most, cached for its Cache-Control max-age (1m to 24h, 10m
//	    without), refetched at most once a minute on an unknown kid; the
//	    last good set survives a failed fetch.
//	clients[].tls_client_auth_subject_dn: RFC 4514 DN, optional
//	    For tls_client_auth (RFC 8705 §2.1.2): the subject distinguished
//	    name (RFC 4514) the certificate must have, compared attribute by
//	    attribute, not as a string. Exactly one of the five forms is set,
//	    for instance tls_client_auth_subject_dn:
//	    "CN=payments,O=Example,C=DE", tls_client_auth_san_dns:
//	    payments.example.com, tls_client_auth_san_uri:
//	    "spiffe://example.com/payments", tls_client_auth_san_ip:
//	    192.0.2.10 or tls_client_auth_san_email: payments@example.com; the
//	    certificate must also chain to tls.client_ca_file.
//	clients[].tls_client_auth_san_dns: DNS name, optional
//	    For tls_client_auth: a dNSName the certificate's subjectAltName
//	    must hold (case-insensitive).
//	clients[].tls_client_auth_san_uri: URI, optional
//	    For tls_client_auth: a uniformResourceIdentifier the certificate's
//	    subjectAltName must hold (a SPIFFE id, say).
//	clients[].tls_client_auth_san_ip: IP address, optional
//	    For tls_client_auth: an iPAddress the certificate's subjectAltName
//	    must hold.
//	clients[].tls_client_auth_san_email: email, optional
//	    For tls_client_auth: an rfc822Name the certificate's
//	    subjectAltName must hold.
//	clients[].tls_client_certificate_bound_access_tokens: bool, default false
//	    Bind the client's access tokens to its TLS client certificate
//	    (cnf.x5t#S256, RFC 8705 §3) even though it authenticates
//	    otherwise; a token request without a certificate is then refused,
//	    and a public client's refresh tokens are bound too. Clients using
//	    tls_client_auth or self_signed_tls_client_auth always get
//	    certificate-bound tokens. Not with response type token.
//	clients[].dpop_bound_access_tokens: bool, default false
//	    Make DPoP mandatory for the client (RFC 9449 §5.2): a token
//	    request without a valid DPoP proof is refused. Not with response
//	    type token.
//	clients[].post_logout_redirect_uris: list of URI, optional
//	    Where RP-Initiated Logout may send the user after logging out
//	    (post_logout_redirect_uri, OpenID Connect RP-Initiated Logout 1.0
//	    §3): the same rules as redirect_uris, matched exactly; any other
//	    value gets a "signed out" page instead of a redirect. Needs
//	    authorization_code.
//	clients[].token_exchange: mapping
//	    Token exchange (RFC 8693) settings of a client with the
//	    token-exchange grant.
//	clients[].token_exchange.audiences: list of audience name, optional
//	    Audiences (names from audiences) the client may exchange tokens
//	    into with resource or audience (the first is the default);
//	    required with the token-exchange grant, refused without.
//	    Independent of clients[].audiences.
//	clients[].require_pushed_authorization_requests: bool, default false
//	    The client must push its authorization requests to /par (RFC 9126
//	    §6): an authorization request without a request_uri is refused
//	    with invalid_request.
//	resource_servers: list, optional
//	    Services that accept the access tokens of some audiences
//	    (RFC 8707). One that authenticates (a secret, or
//	    token_endpoint_auth_method) may introspect and revoke, at the
//	    introspection and revocation endpoints, the access tokens of its
//	    audiences; a client may introspect only its own tokens (RFC 7662
//	    §4). Any other token is answered {"active":false}. One with an
//	    encryption key in jwks fetches its audiences' keys from
//	    /resource-keys?resource_server=<id> (SPEC §9). "issuer rs new"
//	    makes an entry. Reloaded by SIGHUP.
//	resource_servers[].id: string, required
//	    Its id: printable ASCII, unique among clients and resource
//	    servers.
//	resource_servers[].audiences: list of audience name, required
//	    Audiences (names from audiences) whose access tokens it may
//	    introspect and revoke, and whose keys its key deliveries carry.
//	resource_servers[].secret_hash: hash, default required for secrets
//	    Hash of its secret, in the forms of clients[].secret_hash (sha256$
//	    for a secret from issuer client new). Never shown in messages or
//	    logs. A resource server that only receives its keys (jwks with an
//	    encryption key, no token_endpoint_auth_method) needs none.
//	resource_servers[].token_endpoint_auth_method: method, default none (secret)
//	    As clients[].token_endpoint_auth_method, for the introspection and
//	    revocation endpoints; none is not allowed. secret_hash is then
//	    required only for client_secret_basic and client_secret_post.
//	resource_servers[].secret_env: env var name, optional
//	    As clients[].secret_env.
//	resource_servers[].jwks: JWK Set, optional
//	    Its public JWK Set (RFC 7517 §5), as the JSON object or a string
//	    holding it. An encryption key ("use": "enc", kty EC crv P-256 or
//	    kty OKP crv X25519, alg ECDH-ES+A256KW; the first, when there are
//	    several) is what its key deliveries are encrypted to (SPEC §9),
//	    and is required unless token_endpoint_auth_method is
//	    private_key_jwt or self_signed_tls_client_auth, whose signing keys
//	    or certificate key the set then holds too, as for clients[].jwks.
//	    Every key needs a distinct kid. A private member (d, p, q, ...) is
//	    refused, naming the key. "issuer rs new" prints one.
//	resource_servers[].jwks_uri: https URL, optional
//	    As clients[].jwks_uri.
//	resource_servers[].tls_client_auth_subject_dn: RFC 4514 DN, optional
//	    As clients[].tls_client_auth_subject_dn.
//	resource_servers[].tls_client_auth_san_dns: DNS name, optional
//	    As clients[].tls_client_auth_san_dns.
//	resource_servers[].tls_client_auth_san_uri: URI, optional
//	    As clients[].tls_client_auth_san_uri.
//	resource_servers[].tls_client_auth_san_ip: IP address, optional
//	    As clients[].tls_client_auth_san_ip.
//	resource_servers[].tls_client_auth_san_email: email, optional
//	    As clients[].tls_client_auth_san_email.
//	users: list, optional
//	    Resource owners of the login page and the password grant.
//	users[].username: string, required
//	    The login name; unique.
//	users[].id: string, required
//	    The "sub" claim; unique, and different from every client id
//	    (RFC 9068 §5).
//	users[].password_hash: hash, required
//	    bcrypt or argon2id (or sha256$ for generated passwords). Never
//	    shown in messages or logs.
//	users[].claims: mapping, optional
//	    The user's OpenID Connect standard claims (Core §5.1), released
//	    in ID tokens and at /userinfo under the scopes of Core §5.4:
//	    profile (name ... updated_at), email (email, email_verified),
//	    address, phone (phone_number, phone_number_verified). Only the
//	    names below are accepted, each with its type; empty values are
//	    absent claims.
//	users[].claims.name: string, optional
//	    Full name.
//	users[].claims.given_name: string, optional
//	    Given (first) name.
//	users[].claims.family_name: string, optional
//	    Surname.
//	users[].claims.middle_name: string, optional
//	    Middle name.
//	users[].claims.nickname: string, optional
//	    Casual name.
//	users[].claims.preferred_username: string, optional
//	    Shorthand name the user wants to be referred to by.
//	users[].claims.profile: URL, optional
//	    Profile page (absolute http or https URL).
//	users[].claims.picture: URL, optional
//	    Profile picture (absolute http or https URL).
//	users[].claims.website: URL, optional
//	    Web page or blog (absolute http or https URL).
//	users[].claims.email: email address, optional
//	    Preferred email address.
//	users[].claims.email_verified: bool, default false
//	    Whether the email address was verified; released with email only.
//	users[].claims.gender: string, optional
//	    Gender (female, male, or another value).
//	users[].claims.birthdate: date, optional
//	    YYYY-MM-DD, 0000-MM-DD (year withheld) or YYYY.
//	users[].claims.zoneinfo: time zone, optional
//	    tz database name, such as Europe/Paris.
//	users[].claims.locale: language tag, optional
//	    BCP 47 tag, such as en-US.
//	users[].claims.phone_number: phone number, optional
//	    Preferred telephone number; E.164 (+1 425 555 1212) recommended,
//	    ";ext=" allowed.
//	users[].claims.phone_number_verified: bool, default false
//	    Whether the phone number was verified; released with phone_number
//	    only.
//	users[].claims.address: mapping, optional
//	    Postal address (Core §5.1.1), a JSON object in tokens.
//	users[].claims.address.formatted: string, optional
//	    Full address for display; may span lines.
//	users[].claims.address.street_address: string, optional
//	    Street, house number, apartment; may span lines.
//	users[].claims.address.locality: string, optional
//	    City or locality.
//	users[].claims.address.region: string, optional
//	    State, province, prefecture or region.
//	users[].claims.address.postal_code: string, optional
//	    Zip or postal code.
//	users[].claims.address.country: string, optional
//	    Country name.
//	users[].claims.updated_at: int, optional
//	    When the information was last updated, in seconds since 1970.
//	trusted_issuers: list, optional
//	    Issuers of signed JWTs (a workload platform, a partner's identity
//	    provider) accepted as JWT bearer assertions (RFC 7523 §2.1, grant
//	    urn:ietf:params:oauth:grant-type:jwt-bearer) and as the subject or
//	    actor tokens of token exchange (RFC 8693). An assertion's aud must
//	    be this issuer or its token endpoint URL (or the entry's
//	    audience), its exp at most 1h ahead, and its jti is single-use
//	    (remembered in the store, so every replica refuses a replay).
//	    Reloaded on SIGHUP.
//	trusted_issuers[].issuer: string, required
//	    The JWTs' "iss", compared exactly; unique, and not this server's
//	    issuer.
//	trusted_issuers[].jwks: mapping or JSON string, optional
//	    The issuer's public JWK Set inline ({"keys": [...]}); private
//	    members are refused. ES256, ES384, EdDSA, RS256 and PS256 keys;
//	    other keys are skipped. Exactly one of jwks and jwks_uri.
//	trusted_issuers[].jwks_uri: https URL, optional
//	    Where the issuer publishes its JWK Set, fetched on first use and
//	    cached (Cache-Control max-age within [1m, 24h]; an unknown kid
//	    refetches at most once a minute). Only public addresses are
//	    dialled (no loopback, private or link-local), 5 s and 256 KiB per
//	    fetch.
//	trusted_issuers[].subjects_as: user | as_is, required
//	    What the JWTs' "sub" becomes. user: it must be a configured
//	    username and the tokens name that user's id (refused otherwise).
//	    as_is: it is kept as the tokens' sub, unless it equals a user id
//	    or a client id, which is refused (the issuer cannot speak for a
//	    local identity).
//	trusted_issuers[].audience: string, optional
//	    A further "aud" value the issuer's JWTs may carry, besides this
//	    issuer and its token endpoint URL: for a platform whose tokens
//	    name an audience of its own choosing, and for token exchange
//	    subject tokens issued to another service.
//	require_pushed_authorization_requests: bool, default false
//	    Every client must push its authorization requests to /par
//	    (RFC 9126 §5; advertised in the metadata);
//	    clients[].require_pushed_authorization_requests does it for one
//	    client.
package config
