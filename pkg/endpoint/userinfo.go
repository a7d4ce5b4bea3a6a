package endpoint

import (
	"context"
	"errors"
	"slices"

	"github.com/sealedtoken/issuer/internal/authheader"
	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/dpop"
)

// InsufficientScope is RFC 6750 §3.1, answered by resource endpoints
// (UserInfo) in the WWW-Authenticate header and the JSON body, beside
// InvalidToken.
const InsufficientScope ErrorCode = "insufficient_scope"

// Authorization schemes a resource endpoint accepts: Bearer (RFC 6750
// §2.1) and DPoP (RFC 9449 §7.1), matched case-insensitively (RFC 9110
// §11.1).
const (
	schemeBearer = "Bearer"
	schemeDPoP   = "DPoP"
)

// UserInfo handles a request to the UserInfo endpoint (OpenID Connect Core
// 1.0 §5.3) and returns the response to send.
//
// The access token comes in the Authorization header, with the Bearer
// scheme (RFC 6750 §2.1) or, for a DPoP-bound token, the DPoP scheme
// (RFC 9449 §7.1), or, in a POST, as the access_token member of an
// application/x-www-form-urlencoded body (RFC 6750 §2.2). More than one
// of these, or an access_token in the query (§2.3, which this server does
// not accept: URIs get logged), is invalid_request.
//
// Decision: the token may be an access token of any configured audience.
// A client holds one access token, for its API, and presents that one; an
// OpenID grant's access token carries a proof (ClaimUserInfoProof) keyed by
// the internal ring, which only the issuer holds, so that a resource
// server, which holds its audience's key and could seal a token for any
// user and scope, cannot use the endpoint to read the claims of users who
// never signed in to it. A token must be unexpired (with no leeway, as at
// introspection), not revoked (its jti or its grant), and no longer-lived
// than this server issues; otherwise invalid_token (401). A token whose
// scope lacks openid is insufficient_scope (403); one without a valid
// proof is invalid_token.
//
// The answer is a JSON object (§5.3.2): "sub" and the standard claims of
// the user that the token's scopes grant (§5.4), with Cache-Control:
// no-store. Errors follow RFC 6750 §3 (Core §5.3.3): a WWW-Authenticate
// challenge of the scheme used (Bearer realm="<issuer>" with error and
// error_description; none for a request without a token, §3.1) and the
// same error as JSON.
func (s *Server) UserInfo(ctx context.Context, r *Request) (*Response, Result) {
	var res Result
	r = withHeader(r)
	scheme := schemeBearer
	body, e := s.userInfo(ctx, r, &res, &scheme)
	if e != nil {
		res.Err = e
		if e.scheme != "" {
			scheme = e.scheme // the binding check knows the scheme the token needs
		}
		return s.resourceError(e, scheme), res
	}
	return jsonResponse(200, body), res
}

func (s *Server) userInfo(ctx context.Context, r *Request, res *Result, scheme *string) ([]byte, *Error) {
	if s.oidc == nil {
		e := NewError(InvalidRequest, "this server is not an OpenID Provider")
		e.Status = 404
		return nil, e
	}
	if e := s.checkTransport(r); e != nil {
		return nil, e
	}
	if r.Method != "GET" && r.Method != "POST" {
		return nil, methodNotAllowed("GET, POST", "the UserInfo endpoint accepts GET and POST (OpenID Connect Core 1.0 section 5.3.1)")
	}
	raw, sch, e := resourceToken(r)
	*scheme = sch
	if e != nil {
		return nil, e
	}
	c, kind := s.lookupToken(raw, HintAccessToken)
	now := s.now()
	if kind != kindAccess || !now.Before(c.Expiry) || !s.lifetimeOK(kindAccess, c) {
		return nil, NewError(InvalidToken, "the access token is invalid or expired")
	}
	live, err := s.live(ctx, kindAccess, c)
	if err != nil {
		return nil, AsError(err)
	}
	if !live {
		return nil, NewError(InvalidToken, "the access token was revoked")
	}
	res.ClientID, res.JTI = c.ClientID, c.ID
	if len(c.Audience) > 0 {
		res.Audience = c.Audience[0]
	}
	scopes := c.Scopes()
	if !slices.Contains(scopes, ScopeOpenID) {
		return nil, NewError(InsufficientScope, "the access token was not granted the openid scope")
	}
	if !s.checkUserInfoProof(c, now) {
		return nil, NewError(InvalidToken, "the access token was not issued by this server for an OpenID Connect grant")
	}
	if e := s.checkTokenBinding(ctx, r, sch, raw, c); e != nil {
		return nil, e
	}
	claims, err := s.userClaims(ctx, c.Subject)
	switch {
	case errors.Is(err, ErrUnknownUser):
		return nil, NewError(InvalidToken, "the user of the access token no longer exists").withCause(err)
	case err != nil:
		return nil, AsError(err)
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"sub":`...)
	b = jsonenc.AppendString(b, c.Subject)
	b = grantedClaims(b, claims, scopes)
	return append(b, '}'), nil
}

// resourceToken extracts the access token of a request to a resource
// endpoint (RFC 6750 §2, RFC 9449 §7.1) and the scheme it came with.
func resourceToken(r *Request) (token, scheme string, e *Error) {
	scheme = schemeBearer
	var fromHeader, fromBody string
	if values := headerValues(r.Header, "Authorization"); len(values) > 0 {
		// The same reading as every protected resource of the issuer
		// (AccessToken) and the resource-server middleware: a repeated
		// header or malformed credentials are invalid_request (RFC 6750
		// §3.1: "otherwise malformed").
		sch, tok, err := authheader.Credentials(values, schemeBearer, schemeDPoP)
		switch err {
		case nil:
			scheme, fromHeader = sch, tok
		case authheader.ErrAbsent:
			// RFC 6750 §3.1: no credentials of a scheme this endpoint
			// accepts, so no error code.
			return "", scheme, unauthenticated()
		case authheader.ErrRepeated:
			return "", scheme, NewError(InvalidRequest, "more than one Authorization header (RFC 6750 section 3.1)")
		default:
			return "", sch, NewError(InvalidRequest, "malformed "+sch+" credentials: the Authorization header does not hold a token (RFC 6750 section 2.1)")
		}
	}
	if q := endpointQuery(r.URI); q != "" {
		if p, perr := ParseParams(q); perr != nil || p.Has("access_token") {
			return "", scheme, NewError(InvalidRequest, "an access token in the URI query is not accepted (RFC 6750 section 2.3); send it in the Authorization header")
		}
	}
	if r.Method == "POST" && len(r.Body) > 0 {
		if checkFormContentType(r) != nil {
			return "", scheme, NewError(InvalidRequest, "a POST body must be application/x-www-form-urlencoded (RFC 6750 section 2.2)")
		}
		p, perr := ParseParams(string(r.Body))
		if perr != nil {
			return "", scheme, perr
		}
		fromBody = p.Get("access_token")
	}
	switch {
	case fromHeader != "" && fromBody != "":
		return "", scheme, NewError(InvalidRequest, "the access token was sent by more than one method (RFC 6750 section 2)")
	case fromHeader != "":
		return fromHeader, scheme, nil
	case fromBody != "":
		return fromBody, scheme, nil
	}
	return "", scheme, unauthenticated()
}

// errNoToken is the logged cause of a request without an access token.
var errNoToken = errors.New("endpoint: no access token")

// unauthenticated is the answer to a request without a token: 401 and a
// challenge without an error code (RFC 6750 §3.1).
func unauthenticated() *Error {
	e := NewError("", "")
	e.Status, e.Cause = 401, errNoToken
	return e
}

// resourceError builds the RFC 6750 §3 answer to e with a challenge of
// scheme: status 400 (invalid_request), 401 (invalid_token, or no error
// code), 403 (insufficient_scope, with the scope required), or e's own
// status (405, 503, ...), and the error as a JSON body.
func (s *Server) resourceError(e *Error, scheme string) *Response {
	status := e.Status
	if status == 0 {
		switch e.Code {
		case InvalidToken:
			status = 401
		case InsufficientScope:
			status = 403
		default:
			status = e.Code.status()
		}
	}
	var r *Response
	if e.Code == "" {
		r = &Response{Status: status}
		r.Header = append(r.Header, jsonHeaders...)
		r.Body = []byte(`{}`)
	} else {
		r = errorResponse(e)
		r.Status = status
		// errorResponse's Basic challenge belongs to client
		// authentication; a resource endpoint has its own.
		r.Header = slices.DeleteFunc(slices.Clone(r.Header), func(f HeaderField) bool { return f.Name == "WWW-Authenticate" })
	}
	if status == 401 || status == 403 || (status == 400 && e.Code == InvalidRequest) {
		r.Header = append(r.Header, HeaderField{"WWW-Authenticate", s.challenge(scheme, e)})
	}
	if e.nonce != "" {
		r.Header = append(r.Header, HeaderField{dpop.NonceHeader, e.nonce}) // RFC 9449 §9
	}
	return r
}

// challenge is the WWW-Authenticate value of RFC 6750 §3 (Bearer) or RFC
// 9449 §7.1 (DPoP, with the algorithms it accepts) for e.
func (s *Server) challenge(scheme string, e *Error) string {
	b := make([]byte, 0, 160)
	b = append(b, scheme...)
	b = append(b, ` realm=`...)
	b = jsonenc.AppendString(b, s.issuer)
	if scheme == schemeDPoP {
		b = append(b, `, algs="`...)
		for i, a := range s.dpopAlgs {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, a...)
		}
		b = append(b, '"')
	}
	if e.Code != "" {
		b = append(b, `, error="`...)
		b = append(b, e.Code...)
		b = append(b, '"')
		if d := sanitizeDescription(e.Description); d != "" {
			b = append(b, `, error_description="`...)
			b = append(b, d...)
			b = append(b, '"')
		}
		if e.Code == InsufficientScope {
			b = append(b, `, scope="openid"`...)
		}
	}
	return string(b)
}
