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
//     (RFC 8414), served at /.well-known/oauth-authorization-server;
//   - with WithOpenID, the OpenID Provider: Server.UserInfo (OpenID Connect
//     Core 1.0 §5.3), Server.HandleEndSession or ValidateEndSession
//     (RP-Initiated Logout 1.0) with a SessionEnder, and
//     Server.OpenIDConfiguration (Discovery 1.0), besides ID tokens at the
//     token endpoint (see OpenID Connect below).
//   - Server.PushedAuthorization: pushed authorization requests (RFC 9126),
//     whose request_uri the authorization endpoint then accepts;
//   - Server.DeviceAuthorization: the device authorization endpoint (RFC
//     8628 §3.1), with LookupUserCode and DecideDevice for the embedding
//     server's verification page (§3.3).
//
// # Grants of SPEC §12
//
// Besides the RFC 6749 grants the token endpoint serves, each enabled per
// client by its URN in Client.GrantTypes:
//
//   - GrantDeviceCode (RFC 8628): a device polls with a sealed device code
//     (typ device-code+jwt) until the user decides; the store keeps the
//     user code, the decision, the polling interval (slow_down) and the
//     single issuance. User-code guesses are limited per address and
//     globally (WithUserCodeLimiters).
//   - GrantTokenExchange (RFC 8693): a subject token (this server's access
//     token, or a trusted issuer's JWT) for an access token of one of
//     Client.TokenExchangeAudiences, scope narrowed, "act" recorded and
//     "may_act" honoured; no refresh token.
//   - GrantJWTBearer (RFC 7523 §2.1): an assertion of a trusted issuer
//     (WithTrustedIssuers), "jti" single-use in the store.
//
// A client with Client.RequirePushedRequests (or every client, with
// WithPushedRequestsRequired) must push its authorization requests.
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
//	resp.Release() // optional: recycles (and wipes) the response's memory
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
// WWW-Authenticate on a 401, Retry-After on a 429, Allow on a 405). Once
// an adapter has written a Response it may Release it: a token response
// then comes from a pool instead of two fresh allocations, and the tokens
// in its body are wiped rather than left to the garbage collector.
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
// # Keys, certificates and sender-constrained tokens (SPEC §10)
//
// Client.Auth (ClientAuth; ResourceServer.Auth alike) restricts a client
// to one token_endpoint_auth_method, at the token, introspection and
// revocation endpoints alike (one function authenticates them all), and
// holds its keys:
//
//   - private_key_jwt and client_secret_jwt (RFC 7523 §2.2, §3; OpenID
//     Connect Core §9): a client assertion with iss = sub = the client id,
//     aud the issuer identifier, the token endpoint URL or the URL of the
//     endpoint receiving it, exp at most MaxAssertionLifetime ahead, a jti
//     single-use in the store (so replicas share it); ES256, EdDSA, PS256,
//     RS256 with the client's jwks or jwks_uri (a KeySetFetcher,
//     WithKeySetFetcher, refetching on an unknown kid), or HS256 with the
//     secret itself; never none, never HMAC with a public key;
//   - tls_client_auth and self_signed_tls_client_auth (RFC 8705 §2): the
//     client sends its client_id and a certificate, from
//     Request.ClientCertificates or, from trusted proxies only, the RFC 9440
//     Client-Cert header; for tls_client_auth it must chain to a CA of
//     WithClientCAs and match the registered subject DN or SAN, for
//     self_signed_tls_client_auth hold a registered key.
//
// Any other method is refused exactly as a wrong secret is.
//
// Access tokens are bound when the request asks (RFC 8705 §3, RFC 9449
// §5, §6): to the certificate (cnf.x5t#S256) of a client that
// authenticated with mTLS or has CertificateBoundAccessTokens; to the key
// of a DPoP proof (cnf.jkt, token_type DPoP) sent in the DPoP header, which
// is verified per RFC 9449 §4.3 against the token endpoint's URL under the
// issuer (or the X-Forwarded-Host of a trusted proxy), single-use in the
// store, and with WithDPoPNonces must carry a stateless server nonce
// (use_dpop_nonce, the DPoP-Nonce header on every token response). A
// client with DPoPBoundAccessTokens must send a proof. A public client's
// refresh tokens are bound as its access tokens are, and a refresh without
// the same key or certificate fails; the dpop_jkt parameter of the
// authorization endpoint binds the code (RFC 9449 §10). Introspection
// reports the binding (cnf, token_type DPoP). The issuer's own protected
// resources (userinfo) check a presented token with AccessToken,
// CheckTokenBinding and ResourceErrorResponse; resource servers use the
// middleware of package crypttoken, which checks the same from the token.
// # OpenID Connect (SPEC §11)
//
// WithOpenID makes the Server an OpenID Provider over the signing ring
// (keys.SigningRing) and a UserClaimsSource. An authorization request whose
// scope includes openid is read for its OpenID parameters
// (AuthorizeRequest.OpenID: nonce, prompt, max_age, login_hint,
// id_token_hint, claims; request objects are request_not_supported) and
// answered per Core §3.1.2.6: prompt=none never shows a page
// (interaction_required when the ResourceOwner would), and Authorize
// refuses a Grant older than max_age or for another user than the hint
// names (login_required). The code carries the nonce and the login's amr
// and session id (Grant.AMR, Grant.SessionID) as extra claims of its
// sealed payload; the code exchange, and a refresh of the grant (Core
// §12.2), return an id_token signed with the ring's active key (typ JWT,
// iss, sub, aud, exp = now + the access-token lifetime, iat, auth_time,
// nonce, azp, at_hash per AtHash, amr, sid, and the standard claims the
// profile, email, address and phone scopes grant). The access token of
// such a grant carries ClaimUserInfoProof, an HMAC under a key derived from
// the internal ring, which the UserInfo endpoint requires: a resource
// server holding an audience key cannot seal tokens that read users'
// claims. The discovery document is Metadata's, which then carries the
// OpenID members too.
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
// client_credentials and password keep working (with status lists on, until
// their class of tokens needs a new list, whose registration needs the
// store).
//
// # Status lists and key deliveries (SPEC §9)
//
// With WithStatusLists every token carries a Token Status List entry
// (draft-ietf-oauth-status-list §6.2, "status":{"status_list":{"idx","uri"}})
// from a StatusAllocator: one entry per grant — a code carries its grant's,
// and the refresh tokens and access tokens of the family repeat it — and
// one per access token issued without a refresh token. LocalStatusAllocator
// allocates from lists of its own process (an incarnation id and an epoch
// in the list's id, an atomic counter, no coordination and no store write
// per token) and never hands out a (list, index) pair twice. Revoking
// (RFC 7009, a replayed code, a reused refresh token) sets the entry's bit
// in the store; introspection reads the same bit (store.Store StatusBit).
// StatusList serves each list's signed Status List Token at its URI, at
// full size from the store's bits, so any replica serves any list, and the
// Status List Aggregation at Paths.StatusLists; the metadata advertises it
// as status_list_aggregation_endpoint. Revocations reach resource servers
// that poll the lists within the list's ttl.
//
// ResourceKeys serves each registered resource server (ResourceServer.Keys)
// its audiences' keys as a key delivery (keys.SealDelivery: signed by the
// signing ring, encrypted to the resource server), never the internal ring
// or another audience's; the metadata advertises it as
// resource_keys_endpoint. Both endpoints are public, cacheable, answer
// conditional requests with ETags that every replica computes alike, and
// are served by the net/http adapter (httpendpoint.Register) and cmd/issuer.
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
