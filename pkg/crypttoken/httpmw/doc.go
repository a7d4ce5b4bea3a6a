// Package httpmw is net/http middleware that admits a request only with a
// valid access token, opened locally by a crypttoken.Opener (RFC 6750).
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
// (RFC 6750 §2.1): "Bearer" (any case), one or more spaces, one b64token.
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
//     another audience (the aud claim); from another issuer; otherwise
//     "invalid";
//   - a missing scope (RequireScope): 403 insufficient_scope with the
//     required scope.
//
// Every challenge is "Bearer" followed by its attributes; a realm attribute
// (realm="…", RFC 6750 §3) is sent only when WithRealm sets one, first:
// Bearer realm="api", error="invalid_token", error_description="…".
//
// Error responses carry a JSON body {"error":…,"error_description":…} and
// Cache-Control: no-store. The error hook (WithErrorHook) gets the
// crypttoken error itself, whose text says more (the kid, the ring), for
// logs. This package imports net/http and crypttoken only.
package httpmw
