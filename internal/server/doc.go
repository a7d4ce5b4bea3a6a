// Package server is the HTTP side of cmd/issuer: the fasthttp adapter for
// pkg/endpoint, the routes of SPEC §5, TLS, limits, graceful shutdown,
// per-request logs and Prometheus metrics, scheduled key rotation, and the
// wiring of a configuration (internal/config) into a running service.
//
// # Layers
//
//   - [Handler] routes requests to an *endpoint.Server: POST /token, GET and
//     POST /authorize, POST /introspect, POST /revoke, POST /par (RFC 9126),
//     POST /device_authorization (RFC 8628), GET and POST /device (the
//     verification page of the resource owner, a [DeviceVerifier]),
//     GET /.well-known/oauth-authorization-server, GET /healthz, GET
//     /readyz, GET /metrics (and, in dev mode, the demo callback page);
//     the OpenID Provider's GET /.well-known/openid-configuration, GET and
//     POST /userinfo, GET and POST /end_session (the login page ends the
//     session, as an endpoint.SessionEnder) and GET /jwks.json (SPEC §11).
//     Other paths get a 404 JSON body, wrong methods
//     a 405 with Allow. A path not in canonical form (one that fasthttp's
//     decoding and normalisation would change: "//token", "/%74oken",
//     "/./token", "/x/../token") gets a 400 and is never routed, so a front
//     proxy's path rules cannot be bypassed. A panic in a handler becomes a
//     500 server_error JSON body; the stack goes to the log only.
//   - [Server] is a fasthttp.Server with TLS 1.2+ only, request size and
//     time limits, keep-alive, and graceful shutdown that lets in-flight
//     requests finish and closes at once the connections that never sent
//     a request (a load balancer's spare, a stalled TLS handshake), which
//     fasthttp alone would wait on for limits.read_timeout. A request it
//     cannot read (too slow, too large, malformed) gets a 408, 413, 431 or
//     400 under a write deadline of its own, then a clean close (over TLS
//     a close_notify).
//   - [App] builds everything from a *config.Config ([Build]): key rings
//     (one per audience plus the internal ring), the store (the durable
//     file store by default, memory, or Redis; the App closes it after
//     Run has drained the HTTP server), clients and users, the endpoint server, and runs the key
//     rotation loop beside the HTTP server ([App.Run]), and /metrics on an
//     address of its own when metrics.listen is set ([MetricsHandler]).
//
// # Reloading the configuration
//
// [App.Reload] (SIGHUP in cmd/issuer) applies the live sections of a new
// configuration — clients, users, audiences, resource servers (liveSections in reload.go;
// resource servers and trusted issuers join it with one row each) — by
// building a new endpoint.Server and login page over the same key rings,
// store, verifier cache, failure limiter and login key, and swapping them
// into the Handler ([Handler.Swap]) with one atomic store: a request loads
// the pair once when it starts, so it finishes on what it started with and
// none is lost. A configuration that does not load or validate, or whose
// new sections contradict the settings kept, changes nothing; the error
// (naming the key) is logged. Every other setting keeps its running value
// until a restart, and a reload that changes one logs its key.
//
// # Readiness
//
// /readyz answers 503 {"status":"unavailable","failing":["store"]} naming
// the [CheckError] checks that fail ("store": the store does not answer;
// "keys": a ring has no active key), never their causes, which are logged.
// Every 503 the Handler sends carries Retry-After.
//
// # The request adapter
//
// Each request becomes an endpoint.Request whose strings and body alias
// fasthttp's buffers, so the hot path copies nothing; this is sound because
// pkg/endpoint never keeps a request, or anything it refers to, after it
// returns, and the adapter writes the response (which fasthttp copies)
// before its buffers are reused. The token endpoint is answered with no
// allocation in this package; see the allocation guard test.
//
// The context passed to the endpoints is the server's base context, not the
// *fasthttp.RequestCtx (whose Done fires only at shutdown); store calls are
// bounded by the store client's own timeouts. /authorize runs under a
// deadline derived from it (HandlerOptions.AuthorizeTimeout, default
// [DefaultAuthorizeTimeout]), so a password check waiting for the hash
// concurrency cap ends with the login page's 503 "try again" page. The
// token endpoint gets no per-request deadline, which would cost
// allocations on the hot path (see the allocation guard); instead the
// secret.Verifier waits at most VerifierConfig.MaxWait (default 2 s) for a
// slow-hash slot and then answers busy (503 with Retry-After), so a flood
// of bcrypt or argon2id checks is shed, not queued.
//
// # Logs
//
// One structured line per request (zerolog) carrying only allow-listed
// fields: endpoint, method, status, client_id (the authenticated client,
// or on a 401 or 429 the client id the request presented, printable ASCII
// only), grant_type (normalized to the known grant types or "other"),
// audience, outcome ("ok" below 400 only: a 404 is "not_found"), error
// code, jti, latency_us and remote (the client's address: the peer, or
// behind trusted_proxies the address they report, endpoint.ClientAddr),
// plus the internal cause of an error at warn or error level. Secrets,
// passwords, codes, tokens and key material never reach the log: no field
// is filled from a request parameter other than through a fixed set of
// values or the validated client id, and fasthttp's own messages, whose
// arguments quote the bytes of a request it could not parse, are logged as
// their fixed format text only. With [HandlerOptions.RequestLines] set
// (issuer serve sets it for JSON logs), a successful request's line is
// encoded by the handler itself, the bytes zerolog would write in a third
// of the time, and only when no value needs escaping (requestline.go).
//
// Besides: a start-up line ("listening": version, issuer, address, TLS and
// certificate, store kind and, for the file store, its path, for Redis,
// its URL with the password redacted, every ring with its active kid, the lease holder name, the
// metrics address), a line per ring another process changed ("key ring
// reloaded": kid and state of each key, never material), lease changes,
// reloads, and go-redis's own messages as JSON lines ([RouteRedisLogs]).
//
// # Metrics
//
// [Metrics] keeps the issuer's Prometheus metrics with
// github.com/prometheus/client_golang, the Go and process collectors
// included; the request path resolves each labelled child once and keeps
// it in an array indexed by the fixed label sets, so counting costs no
// label hashing and no allocation.
//
// # Authorization endpoint
//
// /authorize calls endpoint.Server.HandleAuthorize with the
// endpoint.ResourceOwner given to [NewHandler]. [Build] makes it the
// built-in login and consent page, login.Page ([DefaultOwner]): the
// configured users sign in with the form (the same login.Users serve the
// password grant), and login.trusted_header names users sent by an
// authenticating proxy, believed only from login.trusted_proxies. The
// page's key comes from login.key_file or login.key_env, and must be the
// same on every replica; without either it is random per process.
// [LoginAudit] logs its events with allow-listed fields. [Options.Owner]
// replaces the page.
//
// # Dev mode
//
// [HandlerOptions.DemoCallback] serves a small page at the dev server's
// demo redirect URI that shows the code, state or error it receives; only
// the dev server sets it.
package server
