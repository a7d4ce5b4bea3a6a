// Package httpmw is net/http middleware that admits a request only with a
// valid access token, opened locally by a crypttoken.Opener (RFC 6750).
//
//	opener, _ := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: iss, Audience: aud})
//	mux.Handle("/orders", httpmw.Require(opener)(httpmw.RequireScope("orders:read")(orders)))
//
// and in the handler:
//
//	claims, _ := httpmw.FromContext(r.Context())
//
// The token is read from the Authorization request header field only
// (RFC 6750 §2.1): "Bearer" (any case), one or more spaces, one b64token.
// The form-body method (§2.2) is not supported, so the middleware never reads
// a request body; a token in the URI query (§2.3) is refused with 400,
// because URIs are logged and leak through Referer headers (§5.3).
//
// Refusals follow RFC 6750 §3 and never echo the token:
//
//   - no bearer token: 401, WWW-Authenticate: Bearer realm="…", no error
//     code and an empty body (§3.1);
//   - malformed credentials (several Authorization fields, not a b64token,
//     token in the query): 400 invalid_request;
//   - a token that does not open (any crypttoken error): 401 invalid_token,
//     with "the access token expired" when it did;
//   - a missing scope (RequireScope): 403 insufficient_scope with the
//     required scope.
//
// Error responses carry a JSON body {"error":…,"error_description":…} and
// Cache-Control: no-store. This package imports net/http and crypttoken only.
package httpmw
