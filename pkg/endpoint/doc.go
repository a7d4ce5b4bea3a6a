// Package endpoint implements the OAuth 2.0 authorization server endpoints
// of RFC 6749 and its companions over plain values, independent of any HTTP
// framework: a Request goes in, a Response (status, header fields, body)
// comes out. It is the counterpart of oauthlib's TokenEndpoint and
// WebApplicationServer, for Go programs that embed an issuer, and the core
// of cmd/issuer, whose fasthttp adapter is one caller among others.
//
// # Endpoints
//
//   - Server.Token: the token endpoint (RFC 6749 §3.2, §4.1.3, §4.3, §4.4,
//     §5, §6) with the authorization_code (PKCE, RFC 7636),
//     client_credentials, refresh_token (rotation with reuse detection,
//     RFC 9700 §4.14) and password grants;
//   - Server.HandleAuthorize, or ValidateAuthorize then Authorize or Deny:
//     the authorization endpoint (RFC 6749 §3.1, §4.1, §4.2), which asks a
//     ResourceOwner for the user's decision;
//   - Server.Introspect: token introspection (RFC 7662), for resource
//     servers that do not decrypt tokens themselves;
//   - Server.Revoke: token revocation (RFC 7009);
//   - Server.Metadata: the authorization server metadata document
//     (RFC 8414), served at /.well-known/oauth-authorization-server.
//
// Tokens are encrypted JWTs sealed by package crypttoken: access tokens
// with the key ring of their audience (RFC 8707's resource parameter picks
// it), refresh tokens and authorization codes with the issuer's internal
// ring. Nothing about a token is stored except what must be single-use or
// revocable (package store).
//
// # Embedding
//
// Build one Server with New and share it: it is immutable after
// construction and safe for concurrent use (the key rings inside may be
// swapped while it serves, see package keys). An adapter turns each HTTP
// request into a Request, calls the endpoint, and writes the Response as
// it is:
//
//	srv, err := endpoint.New("https://issuer.example.com",
//		endpoint.Rings{Internal: internalRing, Audiences: map[string]*keys.Ring{api: apiRing}, Default: api},
//		clients, memoryStore, endpoint.WithUsers(users))
//	...
//	resp, res := srv.Token(ctx, &endpoint.Request{
//		Method: "POST", URI: "/token", Secure: true, RemoteAddr: addr,
//		Header: header, Body: body,
//	})
//	// write resp.Status, resp.Header, resp.Body; log res
//
// Package httpendpoint is that adapter for net/http: its handlers mount the
// endpoints on an http.ServeMux in a few lines.
//
// # Requests and responses
//
// A Request carries what the endpoints read: method, request-target,
// whether it arrived over TLS, the peer address (behind trusted proxies,
// WithTrustedProxies, their X-Forwarded-Proto and X-Forwarded-For are
// believed; see ClientAddr), header fields
// through the one-method Header interface (http.Header satisfies it), the
// body, and Credentials, opaque data passed to the hooks. The endpoints
// never keep a Request or anything it refers to after they return, so an
// adapter may reuse its buffers.
//
// Form parameters follow RFC 6749 §3.1 and §3.2: a parameter without a
// value counts as omitted, an unknown one is ignored, a repeated one is
// invalid_request; parameters are read from the body only, never from the
// query. Every Response carries the headers its RFC requires
// (Content-Type, Cache-Control: no-store, Pragma: no-cache,
// WWW-Authenticate on a 401, Retry-After on a 429, Allow on a 405).
//
// Each endpoint also returns a Result: the client, grant, audience and the
// "jti" of the token issued, inspected or revoked, and the error answered.
// It never holds a secret or a token and is meant for one log line per
// request; the package itself never logs.
//
// # Clients, resource servers and users
//
// A ClientStore (StaticClients for a configuration file) returns Clients:
// their secret hash (package secret), grants, scopes, redirect URIs,
// audiences and whether they may use PKCE plain. Clients authenticate with
// HTTP Basic (RFC 6749 §2.3.1, id and secret form-urlencoded) or
// client_secret_post; public clients send their client_id alone and must
// use PKCE (S256 unless Client.AllowPKCEPlain). Resource servers
// (WithResourceServers) authenticate the same way at the introspection and
// revocation endpoints, and see the access tokens of their audiences; a
// client sees only its own tokens (RFC 7662 §4). A UserAuthenticator
// (WithUsers) enables the password grant.
//
// # Brute force and quotas (SPEC §6)
//
// Every secret and password is checked through a secret.Limiter's policy
// (secret.Limiter.Begin, WithLimiter) for the client's address
// (ClientAddr: the peer, or the address trusted proxies report in
// X-Forwarded-For): a client id, user name or address that failed too often
// is answered 429 with Retry-After before any hash is computed, except from
// an address it authenticated from before, so that nobody can lock the
// legitimate holder out; a slow hash reserves its attempt first (through a
// secret.Verifier, WithVerifier, with a cache and a concurrency cap), so
// parallel guesses cannot outrun the bound; a public client is never
// throttled; an unknown client id is checked against a decoy hash and
// answered like a wrong secret. AuthenticateUser applies the same policy to
// passwords, for the password grant and for login pages.
//
// Revocations and the first refresh of a grant, which the store keeps, are
// bounded per client and token subject by a quota (WithClientQuota),
// answered 429 with Retry-After beyond it; what the server writes for its
// own safety (revoking a replayed code's grant, detecting refresh token
// reuse) is never refused.
//
// # Hooks
//
// Hooks let the embedding server take part, as oauthlib's RequestValidator
// does: ValidateTokenRequest sees every validated token request (and the
// Request's Credentials) and may refuse it; AccessClaims may add claims to
// an access token or narrow its scope before it is sealed. An *Error a hook
// returns is sent as it is; any other error is server_error.
//
// # Store
//
// A store.Store (package store/memory for one replica, store/redis for
// several) records redeemed codes, refresh-token families and revocations.
// A replayed code revokes the family its first exchange started; a reused
// refresh token revokes its family; introspection reports tokens of a
// revoked family, or with a revoked jti, as inactive. When the store is
// unreachable the grants that need it (authorization_code, refresh_token),
// introspection and revocation answer 503 temporarily_unavailable, while
// client_credentials and password keep working.
//
// # Errors
//
// Every failure is an *Error: an RFC 6749 §5.2 ErrorCode (InvalidRequest,
// InvalidClient, InvalidGrant, UnauthorizedClient, UnsupportedGrantType,
// InvalidScope, InvalidTarget, TemporarilyUnavailable, ...), a description
// sent to the client, an optional HTTP status override and Retry-After, and
// an internal Cause that is logged and never sent. errors.Is(err,
// endpoint.InvalidGrant) matches by code. AsError maps any other error: an
// unreachable store or an ended context to temporarily_unavailable, the
// rest to server_error. Bad input is never answered 500.
package endpoint
