package endpoint

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/store"
)

// AssertionType is the client_assertion_type of a JWT client assertion
// (RFC 7523 §2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// MaxAssertionLifetime bounds how far ahead of now (and of its iat) a
// client assertion's exp may be: RFC 7523 §3 lets the server refuse
// assertions of unreasonable lifetime, and one that is single-use needs
// only the few seconds of one request.
const MaxAssertionLifetime = 5 * time.Minute

// nsClientAssertion is the store namespace of used client assertion jtis.
const nsClientAssertion = "client_assertion"

// authenticateAssertion authenticates the client of a request that sent
// client_assertion and client_assertion_type (RFC 7521 §4.2, RFC 7523
// §2.2, §3; OpenID Connect Core §9): a JWT signed by the client, with
// the private key of one of its registered keys (private_key_jwt) or with
// its secret under HS256 (client_secret_jwt). Every failure is
// invalid_client (RFC 7521 §4.2.1), with a description naming the rule:
//
//   - no other client authentication (no Basic header, no client_secret);
//   - client_assertion_type is the JWT bearer URN and client_assertion a
//     compact JWS;
//   - iss names a known client (or, with rs, resource server) registered
//     for private_key_jwt or client_secret_jwt; a client_id sent too must
//     be the same;
//   - the signature verifies with one of the client's keys, with an
//     algorithm of AssertionAlgorithms (private_key_jwt) or HS256
//     (client_secret_jwt): never "none", never HMAC with a public key;
//     with a jwks_uri, an unknown kid refetches the set (at a bounded
//     rate) before it fails;
//   - iss = sub = the client id (RFC 7523 §3 items 1, 2);
//   - aud holds the issuer identifier, the token endpoint URL or the URL
//     of the endpoint receiving it (item 3);
//   - exp present, not past, at most MaxAssertionLifetime ahead (item 4);
//     nbf and iat, if present, not in the future (items 5, 6), with the
//     server's leeway;
//   - jti present and never used before by this client (item 7): it is
//     recorded in the store (so every replica refuses a replay) until exp
//     plus the leeway, after the signature and claims are checked, so a
//     forged assertion cannot use up a jti.
//
// A failed assertion is not counted by the Limiter: it guesses nothing
// that a limit protects (a signature cannot be guessed online), and its
// cost is one signature check.
func (s *Server) authenticateAssertion(ctx context.Context, r *Request, p *Params, now time.Time, rs bool) (account, AuthMethod, *Error) {
	var none account
	fail := func(description string, cause error) (account, AuthMethod, *Error) {
		return none, "", NewError(InvalidClient, "client authentication failed: "+description).withCause(cause)
	}
	if r.Header.Get("Authorization") != "" || p.Has("client_secret") {
		return fail("more than one client authentication method (RFC 7521 §4.2.1, RFC 6749 §2.3)", nil)
	}
	if p.Get("client_assertion_type") != AssertionType {
		return fail("client_assertion_type must be "+AssertionType+" (RFC 7523 §2.2)", nil)
	}
	raw := p.Get("client_assertion")
	if raw == "" {
		return fail("missing client_assertion (RFC 7521 §4.2)", nil)
	}
	h, payload, err := jws.ParseUnverified(raw)
	if err != nil {
		return fail("client_assertion is not a compact JWS (RFC 7523 §2.2)", err)
	}
	unverified, err := jws.ParseClaims(payload)
	if err != nil {
		return fail("the client assertion's claims are malformed (RFC 7519 §7.2)", err)
	}
	id := unverified.Issuer
	if id == "" {
		return fail("the client assertion has no iss (RFC 7523 §3)", nil)
	}
	if cid := p.Get("client_id"); cid != "" && cid != id {
		return fail("client_id differs from the client assertion's iss (RFC 7521 §4.2)", nil)
	}
	acct, known, err := s.lookupAccount(ctx, id, rs)
	switch {
	case err != nil:
		return none, "", AsError(err)
	case !known:
		return fail("unknown client", ErrUnknownClient)
	case acct.public:
		return fail("a public client has no key to sign an assertion with", ErrAuthMethod)
	}
	method := acct.auth.Method
	var algs []string
	var keys jws.KeySource
	switch method {
	case AuthPrivateKeyJWT:
		algs = AssertionAlgorithms
		if acct.auth.JWKS != nil {
			keys = acct.auth.JWKS
		} else if s.keyFetcher == nil {
			return none, "", AsError(errNoFetcher)
		} else {
			uri, f := acct.auth.JWKSURI, s.keyFetcher
			keys = jws.KeyFunc(func(h *jws.Header) (*jws.Key, error) { return f.Key(ctx, uri, h) })
		}
	case AuthSecretJWT:
		algs, keys = []string{jws.HS256}, acct.auth.HMACKey
	default:
		return fail("the client is not registered for private_key_jwt or client_secret_jwt", ErrAuthMethod)
	}
	tok, err := jws.Verify(raw, algs, keys)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return none, "", AsError(err)
		}
		return fail(assertionSignatureProblem(err, h.Algorithm, method), err)
	}
	c, err := jws.ParseClaims(tok.Payload)
	if err != nil {
		return fail("the client assertion's claims are malformed (RFC 7519 §7.2)", err)
	}
	exp := jws.Expected{
		Issuer:      id,
		Subject:     id,
		AnyAudience: s.assertionAudiences(r),
		Leeway:      s.leeway,
		Time:        func() time.Time { return now },
		MaxLifetime: MaxAssertionLifetime,
		RequireID:   true,
	}
	if err := c.Validate(exp); err != nil {
		return fail(assertionClaimProblem(err), err)
	}
	key := assertionKey(id, c.ID)
	switch err := s.store.UseOnce(ctx, nsClientAssertion, key, c.Expiry.Add(s.leeway)); {
	case errors.Is(err, store.ErrReplay):
		return fail("the client assertion was used before: its jti is single-use (RFC 7523 §3)", err)
	case err != nil:
		return none, "", AsError(err)
	}
	return acct, method, nil
}

// assertionAudiences are the aud values that identify this server to a
// client assertion (RFC 7523 §3 item 3): the issuer identifier (what RFC
// 7523bis and FAPI 2.0 ask for, and what openid-client sends), the token
// endpoint URL (OpenID Connect Core §9), and the URL of the endpoint that
// receives the request (introspection, revocation, PAR), which identifies
// this server as well as the token endpoint does.
func (s *Server) assertionAudiences(r *Request) []string {
	base := strings.TrimSuffix(s.issuer, "/")
	auds := []string{s.issuer, base + s.paths.Token}
	path := r.URI
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if strings.HasPrefix(path, "/") && path != s.paths.Token {
		auds = append(auds, base+path)
	}
	return auds
}

// assertionKey is the store key of a client assertion's jti: the
// base64url SHA-256 of the client id and the jti, so that the key is short
// and one client's jti never collides with another's (jti is unique per
// issuer, RFC 7519 §4.1.7).
func assertionKey(clientID, jti string) string {
	h := sha256.New()
	h.Write([]byte(clientID))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// assertionSignatureProblem describes why jws.Verify refused an
// assertion, citing the rule, without echoing it.
func assertionSignatureProblem(err error, alg string, method AuthMethod) string {
	switch {
	case errors.Is(err, jws.ErrMalformed):
		return "client_assertion is not a compact JWS (RFC 7515 §7.1)"
	case errors.Is(err, jws.ErrAlgorithm) && alg == jws.HS256:
		return "HS256 is client_secret_jwt; this client uses private_key_jwt (RFC 8725 §3.1)"
	case errors.Is(err, jws.ErrAlgorithm) && method == AuthSecretJWT:
		return "a client_secret_jwt assertion is signed with HS256 (RFC 7523 §2.2)"
	case errors.Is(err, jws.ErrAlgorithm):
		return "the client assertion's alg is not allowed: ES256, EdDSA, PS256 or RS256 (RFC 8725 §3.1)"
	case errors.Is(err, jws.ErrUnknownKey):
		return "no registered key of the client matches the client assertion's kid"
	case errors.Is(err, jws.ErrKeyType):
		return "the client's key does not fit the client assertion's alg (RFC 8725 §3.1)"
	case errors.Is(err, jws.ErrCritical):
		return "the client assertion has an unsupported crit header (RFC 7515 §4.1.11)"
	case errors.Is(err, jws.ErrSignature):
		return "the client assertion's signature does not verify (RFC 7523 §3 item 9)"
	}
	return "the client's keys could not be obtained"
}

// assertionClaimProblem describes a failed claim check of RFC 7523 §3.
func assertionClaimProblem(err error) string {
	switch {
	case errors.Is(err, jws.ErrIssuer):
		return "iss must be the client id (RFC 7523 §3 item 1)"
	case errors.Is(err, jws.ErrSubject):
		return "sub must be the client id (RFC 7523 §3 item 2, RFC 7523 §2.2)"
	case errors.Is(err, jws.ErrAudience):
		return "aud must identify this server: the issuer identifier or the endpoint URL (RFC 7523 §3 item 3)"
	case errors.Is(err, jws.ErrExpired):
		return "the client assertion expired (RFC 7523 §3 item 4)"
	case errors.Is(err, jws.ErrLifetime):
		return "the client assertion's exp is too far ahead: at most 5 minutes (RFC 7523 §3 item 4)"
	case errors.Is(err, jws.ErrNotYetValid):
		return "the client assertion is not valid yet (nbf, RFC 7523 §3 item 5)"
	case errors.Is(err, jws.ErrIssuedInFuture):
		return "the client assertion's iat is in the future (RFC 7523 §3 item 6)"
	case errors.Is(err, jws.ErrMissingClaim):
		return "the client assertion lacks exp or jti (RFC 7523 §3 items 4, 7)"
	}
	return "the client assertion's claims are invalid (RFC 7523 §3)"
}

// assertionIssuer returns the unverified iss of a client assertion, or "",
// for the log line of a failed authentication (presentedClientID).
func assertionIssuer(assertion string) string {
	if assertion == "" {
		return ""
	}
	_, payload, err := jws.ParseUnverified(assertion)
	if err != nil {
		return ""
	}
	c, err := jws.ParseClaims(payload)
	if err != nil {
		return ""
	}
	return c.Issuer
}
