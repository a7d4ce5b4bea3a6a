// Package httpmw is net/http middleware that admits a request only with a
// valid access token, opened locally by a crypttoken.Opener (RFC 6750).
//
// Given only the issuer's URL, its id and its private key, a resource
// server gets its Opener from pkg/crypttoken/remote (SPEC §9), which also
// checks revocations:
//
//	rs, _ := remote.New(ctx, issuerURL, rsID, privateJWK)
//	opener, _ := rs.Opener(audience)
//	mux.Handle("/orders", httpmw.Require(opener)(orders))
//
// With a key file instead (air-gapped set-ups):
//
//	rl, _ := keys.NewReloader(ctx, "/etc/api/keys.jwks", keys.WithRingName(aud))
//	_ = rl.Start(ctx, 30*time.Second)
//	opener, _ := crypttoken.NewOpener(rl.Ring(), crypttoken.Expected{Issuer: iss, Audience: aud})
//	mux.Handle("/orders", httpmw.Require(opener)(httpmw.RequireScope("orders:read")(orders)))
//
// and in the handler:
//
//	claims, _ := httpmw.FromContext(r.Context())
//
// An Opener built on rl.Ring() follows the Reloader: the Ring pointer never
// changes, and each Open uses the set the Reloader last swapped in, so a
// key the issuer adds (or removes) reaches the middleware without a new
// Opener or a restart. WithRingName names the ring after the audience, so
// that errors say which ring a key is missing from (and a ring file of
// another audience is refused).
//
// The token is read from the Authorization request header field only
// (RFC 6750 §2.1, RFC 9449 §7.1): "Bearer" or "DPoP" (any case), one or
// more spaces, one b64token.
// The form-body method (§2.2) is not supported, so the middleware never reads
// a request body; a token in the URI query (§2.3) is refused with 400,
// because URIs are logged and leak through Referer headers (§5.3).
//
// Refusals follow RFC 6750 §3 and never echo the token:
//
//   - no bearer token: 401, WWW-Authenticate: Bearer, no error code and
//     an empty body (§3.1);
//   - malformed credentials (several Authorization fields, not a b64token,
//     token in the query): 400 invalid_request;
//   - a token that does not open (any crypttoken error): 401 invalid_token,
//     with a fixed description of the cause where it helps the client:
//     expired; not valid yet; sealed with no key of this resource server
//     (a token for another audience looks exactly like one sealed with a key
//     not loaded yet, since the token's header names no audience); for
//     another audience (the aud claim); from another issuer;
//     revoked (the token's Token Status List entry, crypttoken.ErrRevoked);
//     without a revocation status; not signed by the issuer (an audience
//     that requires signed tokens); otherwise "invalid";
//   - a token whose status list the Opener's source has not fetched yet
//     (crypttoken.ErrStatusUnknown, under the default policy): 503 with
//     Retry-After: 1 and a temporarily_unavailable body, no challenge —
//     the credentials are not at fault, and the list arrives within a poll;
//   - a missing scope (RequireScope): 403 insufficient_scope with the
//     required scope.
//
// Every challenge is "Bearer" followed by its attributes; a realm attribute
// (realm="…", RFC 6750 §3) is sent only when WithRealm sets one, first:
// Bearer realm="api", error="invalid_token", error_description="…". A
// request without a token gets a second WWW-Authenticate field, the DPoP
// challenge DPoP algs="ES256 EdDSA PS256 RS256" (RFC 9449 §7.1).
//
// # Sender-constrained tokens
//
// A token the issuer bound to its client (SPEC §10) is checked from its
// own cnf claim, with no call to the issuer:
//
//   - cnf.jkt (RFC 9449, DPoP): the request must use the DPoP scheme and
//     carry one DPoP header with a proof signed by that key for this
//     request: typ dpop+jwt, an allowed algorithm, htm the method, htu the
//     URI the client addressed (the Host header and the connection, the
//     X-Forwarded-Proto and X-Forwarded-Host of WithTrustedProxies, or
//     WithExternalURL), iat within 60 s, ath the hash of the token. The same
//     token as Bearer is refused (§7.2). WithDPoPReplayCache makes proofs
//     single-use (§11.1), WithDPoPNonces requires server nonces (§9);
//   - cnf.x5t#S256 (RFC 8705 §3): the request must come with that TLS
//     client certificate (r.TLS.PeerCertificates; the server must request
//     client certificates, tls.RequestClientCert suffices since only the
//     thumbprint is compared), or, from WithTrustedProxies, in the RFC 9440
//     Client-Cert header.
//
// A binding that cannot be checked fails: a bound token is never taken as
// a bearer token. The DPoP scheme with an unbound token is refused too
// (§7.1). Refusals are 401 with a DPoP challenge carrying
// invalid_dpop_proof, use_dpop_nonce (with the DPoP-Nonce header) or
// invalid_token, or for a certificate a Bearer challenge with
// invalid_token; a replay cache that fails answers 503, never admits.
//
// Error responses carry a JSON body {"error":…,"error_description":…} and
// Cache-Control: no-store. The error hook (WithErrorHook) gets the
// crypttoken error itself, whose text says more (the kid, the ring), for
// logs. This package imports net/http, crypttoken and, for the binding
// checks, pkg/dpop and pkg/certbind.
package httpmw
