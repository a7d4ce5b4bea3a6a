// Package fasthttpmw is fasthttp middleware that admits a request only with
// a valid access token, opened locally by a crypttoken.Opener (RFC 6750).
// It behaves exactly as package httpmw does for net/http:
//
//	opener, _ := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: iss, Audience: aud})
//	handler := fasthttpmw.Require(opener)(fasthttpmw.RequireScope("orders:read")(orders))
//
// and in the handler:
//
//	claims, _ := fasthttpmw.FromRequest(ctx)
//
// The token is read from the Authorization request header field only
// (RFC 6750 §2.1): "Bearer" (any case), one or more spaces, one b64token.
// The form-body method (§2.2) is not supported; a token in the URI query
// (§2.3) is refused with 400 (§5.3). Refusals follow RFC 6750 §3 and never
// echo the token: 401 with a bare challenge ("Bearer", or Bearer
// realm="…" when WithRealm sets one) when there is no token, 400
// invalid_request for malformed credentials, 401 invalid_token when the
// token does not open (with the same descriptions as httpmw: expired, for
// another audience or a key not loaded yet, ...), 403 insufficient_scope
// for a missing scope; error responses carry a JSON body and
// Cache-Control: no-store.
//
// Build the Opener on a keys.Reloader's Ring (keys.NewReloader with
// keys.WithRingName(audience)) and it follows the key file: each Open uses
// the set last loaded, with no new Opener or restart.
//
// The claims are stored as a user value of the request under a key of this
// package; they are ordinary heap values (the token is opened into a buffer
// of its own, not into fasthttp's), so a handler may keep them after it
// returns. The middleware never uses the *fasthttp.RequestCtx as a
// context.Context.
package fasthttpmw
