// Package login is cmd/issuer's built-in login and consent page (SPEC §5,
// authorization endpoint): the endpoint.ResourceOwner that tells the
// authorization endpoint who the resource owner is and what they consent to
// (RFC 6749 §3.1, §4.1.1).
//
// # Wiring
//
//	users, _ := login.NewUsers(cfgUsers, verifier)        // endpoint.UserAuthenticator
//	key, _ := login.ParseKeyFile(data)                    // or DecodeKey(os.Getenv(...))
//	page, _ := login.New(login.Config{Issuer: iss, Users: users, Key: key, ...})
//	resp, res := srv.HandleAuthorize(ctx, req, page)       // GET and POST /authorize
//
// The same Users can serve the password grant (endpoint.WithUsers).
// cmd/issuer wires it in internal/server (DefaultOwner). A nil *Users must
// be passed as a nil endpoint.UserAuthenticator, not as a typed nil.
//
// # Flow
//
// There are no server-side sessions. A GET /authorize that the endpoint has
// validated gets the login form: plain server-rendered HTML (html/template,
// so every value is escaped for its context) that posts back to the
// authorization endpoint with every authorization parameter as a hidden
// field, plus username, password and a CSRF token. The endpoint validates
// the POST like any authorization request (RFC 6749 §3.1 allows POST) and
// Decide checks the CSRF token, the failure limiter and the password. A
// SkipConsent client is then granted at once; otherwise the consent form
// lists the requested scopes (each a checkbox, all checked), the client and
// the redirect host, and carries a login ticket instead of the password.
// Allow grants the scopes left checked; Deny redirects access_denied.
//
// A request from a trusted proxy (Config.TrustedProxies) carrying the
// trusted header (Config.TrustedHeader) is from the user the header names:
// no login form, and the consent form unless the client is SkipConsent.
// Config.ProxySubject maps the name to the tokens' subject; ProxySubjects
// is cmd/issuer's rule (a configured username becomes that user's id; a
// name equal to a user id or a client id is refused). The proxy does not say
// when the user authenticated, so such grants carry no auth_time.
//
// # Security
//
//   - CSRF: double-submit, bound to the request. The browser holds a random
//     nonce in the __Host-login-csrf cookie (Secure, HttpOnly,
//     SameSite=Lax); each form holds exp ‖ HMAC-SHA256(key, nonce ‖
//     paramsHash ‖ exp), where paramsHash covers every authorization
//     parameter. A failure is a 403 page, never a redirect.
//   - Login ticket: AES-256-GCM over (user id, auth_time, client id,
//     paramsHash, hash of the nonce, expiry), valid Config.TicketTTL
//     (5 min). It proves a recent login without carrying the password and
//     works only in the browser that signed in, for the request it was
//     issued for.
//   - Keys: one Config.Key, random per process by default; replicas behind
//     a load balancer must share it (cmd/issuer: login.key_file, read with
//     ParseKeyFile, or login.key_env, read with DecodeKey).
//   - Brute force: sign-ins go through endpoint.AuthenticateUser, the
//     secret.Limiter policy the password grant uses: failures are counted
//     per username and per client address (Config.ClientAddr, the address
//     trusted proxies report) and a blocked one is answered 429 with
//     Retry-After before any hash is computed, with each slow hash reserved
//     before it runs, so parallel guesses cannot outrun the bound. A
//     browser that signed in as the user before carries the device cookie
//     (DeviceCookieName: __Host-, Secure, HttpOnly, SameSite=Lax, an HMAC of
//     the user name and an expiry under the page's key, no server state),
//     and it, like an address the user signed in from before, is counted on
//     its own: failures from elsewhere never lock the user out of it. A
//     success resets no count. A wrong password shows "Wrong username or
//     password." for known and unknown users alike, and Users checks unknown
//     usernames against a decoy hash of the same kind as the real ones so
//     that timing does not tell them apart.
//   - Headers on every page: Content-Security-Policy (default-src 'none';
//     the inline style by hash; form-action 'self' plus the client's
//     redirect origin, which Chromium checks for the redirect that follows
//     the form; frame-ancestors 'none'; base-uri 'none'), X-Frame-Options:
//     DENY, Referrer-Policy: no-referrer, Cache-Control: no-store,
//     X-Content-Type-Options: nosniff.
//   - The password is never logged, echoed, put in a hidden field or in an
//     Event; a "password" parameter smuggled into an authorization URL is
//     dropped from the forms.
//   - Status of a wrong password: 200 with the form again. RFC 9110
//     §15.5.2 requires a 401 to carry a WWW-Authenticate challenge, which a
//     form login has none of.
//
// # Limits
//
// Each form adds at most three fields, plus one checkbox per scope, to the
// authorization parameters; the endpoint accepts 64 parameters in all.
//
// # Concurrency
//
// Page and Users are immutable after construction and safe for concurrent
// use; they start no goroutines.
package login
