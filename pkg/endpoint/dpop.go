package endpoint

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/authheader"
	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/store"
)

// Error codes of sender-constrained tokens.
const (
	// InvalidDPoPProof is RFC 9449 §5, §7.1: the DPoP proof is missing
	// where required, malformed or invalid.
	InvalidDPoPProof ErrorCode = "invalid_dpop_proof"
	// UseDPoPNonce is RFC 9449 §8, §9: retry with the nonce of the
	// DPoP-Nonce header.
	UseDPoPNonce ErrorCode = "use_dpop_nonce"
	// InvalidToken is RFC 6750 §3.1: the access token presented to a
	// protected resource is expired, revoked, malformed, or presented
	// without the proof its binding requires.
	InvalidToken ErrorCode = "invalid_token"
)

// Token types of RFC 6749 §7.1 this server issues.
const (
	TokenTypeBearer = "Bearer"
	// TokenTypeDPoP is the token_type of a DPoP-bound access token
	// (RFC 9449 §5).
	TokenTypeDPoP = "DPoP"
)

// nsDPoP is the store namespace of used DPoP proofs (RFC 9449 §11.1).
const nsDPoP = "dpop"

// WithDPoPNonces makes the token endpoint require server-provided nonces
// in DPoP proofs (RFC 9449 §8): a proof without a nonce n issued in the
// current or previous time step is answered use_dpop_nonce, and every
// token endpoint response carries the current nonce in DPoP-Nonce, so a
// client needs the extra round trip once. Nonces are MACs of the clock's
// time step (dpop.Nonces): replicas built with the same key agree without
// sharing state.
func WithDPoPNonces(n *dpop.Nonces) Option {
	return optionFunc(func(s *Server) error {
		if n == nil {
			return fmt.Errorf("endpoint: nil DPoP nonces")
		}
		s.dpopNonces = n
		return nil
	})
}

// setupDPoP builds the proof verifier: the algorithms and window of package
// dpop (ES256, EdDSA, PS256, RS256; iat at most 60 s old and 10 s ahead),
// the Server's clock, its nonces, and the store as the replay cache, so
// that a proof used at one replica is refused at every other (RFC 9449
// §11.1).
func (s *Server) setupDPoP() error {
	s.dpopAlgs = dpop.Algorithms
	opts := []dpop.Option{
		dpop.WithClock(s.now),
		dpop.WithReplayCache(dpop.ReplayFunc(s.useProof)),
	}
	if s.dpopNonces != nil {
		opts = append(opts, dpop.WithNonces(s.dpopNonces))
	}
	v, err := dpop.NewVerifier(opts...)
	if err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	s.dpop = v
	return nil
}

// useProof records a proof's thumbprint and jti (key) in the store until
// exp, as the base64url SHA-256 of them, so that what a client's jti makes
// the store keep is 43 bytes whatever it holds; the store's "already used"
// is dpop.ErrReplayed.
func (s *Server) useProof(ctx context.Context, key string, exp time.Time) error {
	sum := sha256.Sum256([]byte(key))
	err := s.store.UseOnce(ctx, nsDPoP, base64.RawURLEncoding.EncodeToString(sum[:]), exp)
	if errors.Is(err, store.ErrReplay) {
		return fmt.Errorf("%w: %w", dpop.ErrReplayed, err)
	}
	return err
}

// bindTokenRequest decides what the access token of a token request is
// bound to (tr.Confirmation): the key of its DPoP proof (RFC 9449 §5), and
// the client certificate (RFC 8705 §3, certBinding). A client with
// DPoPBoundAccessTokens that sent no proof is refused (§5.2).
func (s *Server) bindTokenRequest(ctx context.Context, r *Request, tr *TokenRequest, acct account) *Error {
	jkt, e := s.tokenProof(ctx, r)
	if e != nil {
		return e
	}
	if jkt == "" && tr.Client.DPoPBoundAccessTokens {
		return NewError(InvalidDPoPProof, "a DPoP proof is required: the client's access tokens are DPoP-bound (RFC 9449 §5.2)")
	}
	x5t, e := s.certBinding(r, acct)
	if e != nil {
		return e
	}
	tr.Confirmation = crypttoken.Confirmation{JKT: jkt, X5TS256: x5t}
	return nil
}

// tokenProof verifies the DPoP proof of a token request (RFC 9449 §4.3,
// §5), if it has a DPoP header, and returns its key's thumbprint; "" when
// there is none.
func (s *Server) tokenProof(ctx context.Context, r *Request) (string, *Error) {
	values := headerValues(r.Header, dpop.HeaderName)
	if len(values) == 0 {
		return "", nil
	}
	p, e := s.verifyProof(ctx, r, values, s.paths.Token, "", "")
	if e != nil {
		return "", e
	}
	return p.JKT, nil
}

// verifyProof checks a DPoP proof against a request to the endpoint at
// path: htm is the method, and htu the endpoint's URL under the issuer
// identifier (what the metadata advertises), or, for a request a trusted
// proxy forwarded with X-Forwarded-Host, the URL the client addressed
// there (RFC 9449 §4.3 (9)). accessToken and jkt, when set, are the token
// the proof goes with (ath) and the thumbprint it must have.
func (s *Server) verifyProof(ctx context.Context, r *Request, values []string, path, accessToken, jkt string) (*dpop.Proof, *Error) {
	req := dpop.Request{Method: r.Method, URI: s.endpointURL(path), AccessToken: accessToken, JKT: jkt}
	p, err := s.dpop.Verify(ctx, values, req)
	if errors.Is(err, dpop.ErrURI) {
		// The forwarded URL is tried only after the configured one
		// failed on htu alone, so no proof is recorded twice.
		if alt, ok := s.forwardedURL(r, path); ok && alt != req.URI {
			req.URI = alt
			p, err = s.dpop.Verify(ctx, values, req)
		}
	}
	if err != nil {
		return nil, s.dpopError(err)
	}
	return p, nil
}

// endpointURL is the URL of the endpoint at path under the issuer
// identifier, as the metadata document advertises it.
func (s *Server) endpointURL(path string) string { return strings.TrimSuffix(s.issuer, "/") + path }

// forwardedURL returns the URL of the endpoint at path as the client
// addressed it through a trusted proxy: the scheme of X-Forwarded-Proto
// (https if absent), the host of X-Forwarded-Host (the value the nearest
// proxy wrote: the last), and the issuer's path. ok is false when the
// peer is not a trusted proxy or sent no well-formed host.
func (s *Server) forwardedURL(r *Request, path string) (string, bool) {
	if !s.fromTrustedProxy(r) {
		return "", false
	}
	host := strings.TrimSpace(lastValue(r.Header.Get("X-Forwarded-Host")))
	if host == "" || strings.ContainsAny(host, "/\\@?#% \t") {
		return "", false
	}
	scheme := strings.ToLower(strings.TrimSpace(lastValue(r.Header.Get("X-Forwarded-Proto"))))
	switch scheme {
	case "":
		scheme = "https"
	case "http", "https":
	default:
		return "", false
	}
	u, err := url.Parse(s.issuer)
	if err != nil {
		return "", false
	}
	return scheme + "://" + host + strings.TrimSuffix(u.EscapedPath(), "/") + path, true
}

// dpopError turns an error of dpop.Verifier.Verify into the answer: the
// RFC 9449 error code with a description of the rule broken, or, for a
// replay cache that could not be consulted, temporarily_unavailable (a
// proof is never accepted unchecked).
func (s *Server) dpopError(err error) *Error {
	switch dpop.ErrorCode(err) {
	case dpop.CodeUseNonce:
		return NewError(UseDPoPNonce, dpop.Description(err)).withCause(err)
	case dpop.CodeInvalidProof:
		return NewError(InvalidDPoPProof, dpop.Description(err)).withCause(err)
	}
	return AsError(err)
}

// checkGrantBinding checks that a token request may use a code or refresh
// token bound to c: its DPoP key (a code's dpop_jkt, RFC 9449 §10; a
// public client's refresh token, §5) is the key of the request's proof, and
// its certificate (a public client's refresh token, RFC 8705 §4) the
// certificate presented. what names the grant for the description.
func checkGrantBinding(c crypttoken.Confirmation, tr *TokenRequest, what string) *Error {
	switch {
	case c.JKT != "" && tr.Confirmation.JKT == "":
		return Errorf(InvalidGrant, "the %s is bound to a DPoP key: send a DPoP proof signed with it (RFC 9449 §5, §10)", what)
	case c.JKT != "" && c.JKT != tr.Confirmation.JKT:
		return Errorf(InvalidGrant, "the %s is bound to another DPoP key (RFC 9449 §5, §10)", what)
	case c.X5TS256 != "" && c.X5TS256 != tr.Confirmation.X5TS256:
		return Errorf(InvalidGrant, "the %s is bound to another client certificate (RFC 8705 §4)", what)
	}
	return nil
}

// refreshConfirmation is the binding of a refresh token issued for tr:
// a public client's is bound as its access token is (RFC 9449 §5,
// RFC 8705 §4); a confidential client's is bound by the client's own
// authentication, so it carries none.
func (tr *TokenRequest) refreshConfirmation() crypttoken.Confirmation {
	if tr.Client.Public {
		return tr.Confirmation
	}
	return crypttoken.Confirmation{}
}

// tokenType is the token_type of an access token bound as c (RFC 9449
// §5: DPoP for a DPoP-bound token; RFC 8705 §3 leaves a certificate-bound
// token's type Bearer).
func tokenType(c crypttoken.Confirmation) string {
	if c.JKT != "" {
		return TokenTypeDPoP
	}
	return TokenTypeBearer
}

// authorizeBinding checks the sender-constraining side of an authorization
// request (RFC 9449 §10): dpop_jkt, the thumbprint the code's DPoP proof
// must have, is 43 base64url characters of a SHA-256 and goes with
// response_type=code only; a client whose access tokens are DPoP- or
// certificate-bound may not use the implicit grant, which cannot bind
// them. It returns the dpop_jkt to bind the code to.
func authorizeBinding(c *Client, ar *AuthorizeRequest) (string, *Error) {
	jkt := ar.Params.Get("dpop_jkt")
	switch {
	case ar.HasResponseType(ResponseToken) && (c.DPoPBoundAccessTokens || c.CertificateBoundAccessTokens):
		return "", NewError(UnauthorizedClient, "the client's access tokens are sender-constrained; the implicit grant cannot bind them (RFC 9449 §5.2, RFC 8705 §3)")
	case jkt == "":
		return "", nil
	case !ar.HasResponseType(ResponseCode):
		return "", NewError(InvalidRequest, "dpop_jkt binds an authorization code: use response_type=code (RFC 9449 §10)")
	case !validS256Challenge(jkt):
		return "", NewError(InvalidRequest, "dpop_jkt must be the base64url SHA-256 JWK thumbprint of the DPoP key, 43 characters (RFC 9449 §10, RFC 7638)")
	}
	return jkt, nil
}

// ---- protected resources of the issuer (userinfo) ----

// AccessToken reads the access token of a request to a protected resource
// that the issuer serves itself (the OpenID Connect userinfo endpoint):
// the Authorization header with the Bearer scheme (RFC 6750 §2.1) or the
// DPoP scheme (RFC 9449 §7.1), case-insensitive, and one b64token. ok is
// false when the request has no such header (answer it
// ResourceErrorResponse(nil)); e is invalid_request for a malformed or
// repeated one. The token is a substring of the header value.
func AccessToken(r *Request) (scheme, token string, ok bool, e *Error) {
	scheme, token, err := authheader.Credentials(headerValues(r.Header, "Authorization"), TokenTypeBearer, TokenTypeDPoP)
	switch err {
	case nil:
		return scheme, token, true, nil
	case authheader.ErrAbsent:
		return "", "", false, nil
	case authheader.ErrRepeated:
		return "", "", false, resourceError(InvalidRequest, "", "more than one Authorization header")
	default:
		return "", "", false, resourceError(InvalidRequest, scheme, "malformed "+scheme+" credentials (RFC 6750 §2.1, RFC 9449 §7.1)")
	}
}

// CheckTokenBinding checks that request r to the issuer's own protected
// resource at path (such as userinfo) presents the access token c, sent as
// token with scheme (AccessToken), the way its cnf claim requires:
//
//   - a DPoP-bound token (cnf.jkt) only with the DPoP scheme, never as
//     Bearer (RFC 9449 §7.1, §7.2), and with a valid DPoP proof for this
//     request: htm, htu (path under the issuer URL), iat, ath the hash of
//     token, signed with the bound key (§4.3), single-use (§11.1), with the
//     server's nonce when nonces are required;
//   - the DPoP scheme only with a DPoP-bound token (§7.1);
//   - a certificate-bound token (cnf.x5t#S256) only with that client
//     certificate (RFC 8705 §3), from the TLS handshake or a trusted
//     proxy's Client-Cert header; a binding that cannot be checked fails,
//     never falls back to bearer.
//
// The error, if any, is answered with ResourceErrorResponse.
func (s *Server) CheckTokenBinding(ctx context.Context, r *Request, path, scheme, token string, c *crypttoken.Claims) *Error {
	switch {
	case c.Confirmation.JKT != "" && scheme != TokenTypeDPoP:
		return resourceError(InvalidToken, TokenTypeDPoP, "the access token is DPoP-bound: present it with the DPoP scheme and a proof (RFC 9449 §7.1)")
	case c.Confirmation.JKT == "" && scheme == TokenTypeDPoP:
		return resourceError(InvalidToken, TokenTypeDPoP, "the access token is not DPoP-bound: present it with the Bearer scheme (RFC 9449 §7.1)")
	case c.Confirmation.JKT != "":
		values := headerValues(r.Header, dpop.HeaderName)
		if _, e := s.verifyProof(ctx, r, values, path, token, c.Confirmation.JKT); e != nil {
			if e.Code != InvalidDPoPProof && e.Code != UseDPoPNonce {
				return e
			}
			e.scheme, e.Status = TokenTypeDPoP, 401
			if e.Code == UseDPoPNonce {
				e.nonce = s.dpopNonces.Current()
			}
			return e
		}
	}
	if c.Confirmation.X5TS256 != "" {
		leaf, _, err := s.clientCertificate(r)
		if err == nil {
			err = certbind.CheckBinding(leaf, c.Confirmation.X5TS256)
		}
		if err != nil {
			e := resourceError(InvalidToken, scheme, "the access token is bound to a client certificate that was not presented (RFC 8705 §3)")
			return e.withCause(err)
		}
	}
	return nil
}

// resourceError is an RFC 6750 §3.1 error of a protected resource,
// challenged with scheme ("" for Bearer).
func resourceError(code ErrorCode, scheme, description string) *Error {
	e := NewError(code, description)
	e.scheme = scheme
	switch code {
	case InvalidRequest:
		e.Status = 400
	default:
		e.Status = 401
	}
	return e
}

// ResourceErrorResponse builds the answer of a protected resource of the
// issuer to e (RFC 6750 §3, RFC 9449 §7.1): its status, a
// WWW-Authenticate challenge of the error's scheme (DPoP with the algs
// it accepts, else Bearer) carrying error and error_description, the
// DPoP-Nonce header for use_dpop_nonce, Cache-Control: no-store, and the
// error as a JSON body. A nil e is the answer to a request without an
// access token: 401 with a Bearer and a DPoP challenge and no error code
// (RFC 6750 §3.1).
func (s *Server) ResourceErrorResponse(e *Error) *Response {
	algs := strings.Join(s.dpopAlgs, " ")
	if e == nil {
		return &Response{Status: 401, Header: Headers{
			{"WWW-Authenticate", TokenTypeBearer},
			{"WWW-Authenticate", `DPoP algs="` + algs + `"`},
			{"Cache-Control", "no-store"},
		}}
	}
	challenge := TokenTypeBearer
	if e.scheme == TokenTypeDPoP {
		challenge = `DPoP algs="` + algs + `",`
	}
	challenge += ` error="` + string(e.Code) + `", error_description="` + sanitizeDescription(e.Description) + `"`
	r := &Response{Status: e.HTTPStatus(), Header: Headers{
		{"WWW-Authenticate", challenge},
		{"Content-Type", "application/json"},
		{"Cache-Control", "no-store"},
	}}
	if e.nonce != "" {
		r.Header = append(r.Header, HeaderField{dpop.NonceHeader, e.nonce})
	}
	r.Body = appendErrorJSON(make([]byte, 0, 128), e)
	return r
}

// withNonce adds the current DPoP nonce to a token endpoint response when
// nonces are required (RFC 9449 §8: with use_dpop_nonce, and on other
// responses too, so a client has the next nonce without a failed request).
func (s *Server) withNonce(r *Response) *Response {
	if s.dpopNonces != nil {
		r.Header = append(r.Header, HeaderField{dpop.NonceHeader, s.dpopNonces.Current()})
	}
	return r
}

// appendConfirmation appends the cnf member of an introspection response
// for a bound access token (RFC 9449 §6.2, RFC 8705 §3.2), nothing for a
// bearer token.
func appendConfirmation(dst []byte, c crypttoken.Confirmation) []byte {
	if c.IsZero() {
		return dst
	}
	dst = append(dst, `,"cnf":{`...)
	if c.JKT != "" {
		dst = append(dst, `"jkt":`...)
		dst = jsonenc.AppendString(dst, c.JKT)
	}
	if c.X5TS256 != "" {
		if c.JKT != "" {
			dst = append(dst, ',')
		}
		dst = append(dst, `"x5t#S256":`...)
		dst = jsonenc.AppendString(dst, c.X5TS256)
	}
	return append(dst, '}')
}
