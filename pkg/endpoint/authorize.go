package endpoint

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// GrantImplicit names the implicit grant (RFC 6749 §4.2) in Result and, for
// the hooks, in TokenRequest.GrantType. It is not a token-endpoint grant
// type: the token endpoint answers unsupported_grant_type to it.
const GrantImplicit GrantType = "implicit"

// AuthorizeRequest is an authorization request (RFC 6749 §4.1.1, §4.2.1)
// that has passed every check of ValidateAuthorize. Its exported fields are
// what a login or consent page shows: the client (Client.ID,
// Client.SkipConsent), the scopes asked for and the host the user will be
// sent back to (RedirectHost).
//
// Authorize, Deny and HandleAuthorize re-check the fields that decide where
// the user is redirected and what is issued, so an AuthorizeRequest that was
// changed after validation fails closed; it is meant to be used as returned.
// It holds no secret of its own, but Params holds every parameter sent,
// including those of a login form posted back to the endpoint (a password),
// which must never be logged.
type AuthorizeRequest struct {
	// Client is the client that sent the request.
	Client *Client
	// ResponseTypes is the response_type parameter as a set (RFC 6749
	// §3.1.1: space-delimited, order-free). This server supports "code"
	// and "token" alone; see parseResponseType for why not "code token".
	ResponseTypes []ResponseType
	// RedirectURI is where the response goes: the redirect_uri sent, or the
	// client's only registered URI when it was omitted (RFC 6749 §3.1.2.3).
	// It is always, byte for byte, one of Client.RedirectURIs.
	RedirectURI string
	// RedirectURISent reports whether the request included redirect_uri;
	// the token endpoint then requires the same value (RFC 6749 §4.1.3).
	RedirectURISent bool
	// State is the state parameter, echoed exactly in the response
	// (RFC 6749 §4.1.2, §10.12).
	State string
	// Scopes is the scope requested, or the client's default scope when the
	// request omitted it (RFC 6749 §3.3); every scope is one the client may
	// get. A consent page may grant a subset (Grant.Scopes).
	Scopes []string
	// CodeChallenge and CodeChallengeMethod are the PKCE parameters
	// (RFC 7636 §4.3); the method is "S256", or "plain" for a client
	// allowed it (Client.AllowPKCEPlain; then also the default when a
	// challenge is sent without a method), and both are empty when no
	// challenge was sent.
	CodeChallenge       string
	CodeChallengeMethod string
	// Audience is the audience of the access tokens the grant yields: the
	// RFC 8707 resource parameter, or the client's or server's default.
	Audience string
	// Params are all the request's parameters; unknown ones are kept and
	// ignored by this package (RFC 6749 §3.1).
	Params Params
	// Credentials are Request.Credentials.
	Credentials map[string]any
}

// ClientID returns the client identifier, for consent pages and logs.
func (ar *AuthorizeRequest) ClientID() string {
	if ar == nil || ar.Client == nil {
		return ""
	}
	return ar.Client.ID
}

// RedirectHost returns the host (and port, if any) of the redirect URI: the
// site a consent page tells the user they are about to be sent to.
func (ar *AuthorizeRequest) RedirectHost() string {
	if ar == nil {
		return ""
	}
	u, err := url.Parse(ar.RedirectURI)
	if err != nil {
		return ""
	}
	return u.Host
}

// HasResponseType reports whether the request asked for response type rt.
func (ar *AuthorizeRequest) HasResponseType(rt ResponseType) bool {
	return ar != nil && slices.Contains(ar.ResponseTypes, rt)
}

// GrantType returns the grant the request starts: GrantAuthorizationCode
// for response_type=code, GrantImplicit for response_type=token.
func (ar *AuthorizeRequest) GrantType() GrantType {
	if ar.HasResponseType(ResponseToken) {
		return GrantImplicit
	}
	return GrantAuthorizationCode
}

// fragment reports whether the response parameters go in the fragment
// (RFC 6749 §4.2.2, §4.2.2.1) rather than the query (§4.1.2, §4.1.2.1).
func (ar *AuthorizeRequest) fragment() bool { return ar.HasResponseType(ResponseToken) }

// result returns the Result fields an AuthorizeRequest decides.
func (ar *AuthorizeRequest) result() Result {
	if ar == nil {
		return Result{}
	}
	return Result{ClientID: ar.ClientID(), GrantType: ar.GrantType(), Audience: ar.Audience}
}

// WithPKCERequired makes every client, confidential ones too, send a PKCE
// code_challenge with response_type=code (RFC 9700 §2.1.1 recommends it).
// Without it only public clients must (RFC 7636 §4.4.1, SPEC §5).
func WithPKCERequired() Option {
	return optionFunc(func(s *Server) error { s.requirePKCE = true; return nil })
}

// redirectTarget is where an error may be redirected to once the client and
// its redirect URI are known good (RFC 6749 §4.1.2.1, §4.2.2.1).
type redirectTarget struct {
	uri      string
	fragment bool
	state    string
}

// ValidateAuthorize checks a request to the authorization endpoint
// (RFC 6749 §3.1, §4.1.1, §4.2.1; RFC 7636 §4.3; RFC 8707 §2) and returns
// the validated request, or the response to send instead.
//
// Exactly one of the AuthorizeRequest and the Response is non-nil. A
// Response is either a redirect (302, Location) carrying the error to the
// client's redirect URI, or, when the request's client_id or redirect_uri
// cannot be trusted, an error page (400, HTML) that is never a redirect
// (RFC 6749 §3.1.2.4, §4.1.2.1). The embedding server may replace the error
// page (any status but 302) by its own rendering of Result.Err.
//
// GET reads the parameters from the query; POST reads them from an
// application/x-www-form-urlencoded body, and a query on the POST request's
// URI then belongs to the endpoint URI (RFC 6749 §3.1 lets it have one) and
// is not read for parameters. Other methods are answered 405.
//
// Checks run in the order RFC 6749 §4.1.2.1 requires: transport (TLS, no
// fragment), then client_id and redirect_uri (error page), then everything
// else (redirect): repeated or malformed parameters, response_type, the
// client's permission, PKCE, scope and resource.
func (s *Server) ValidateAuthorize(ctx context.Context, r *Request) (*AuthorizeRequest, *Response, Result) {
	var res Result
	ar, e, t := s.validateAuthorize(ctx, r, &res)
	if e == nil {
		return ar, nil, res
	}
	res.Err = e
	if t == nil {
		return nil, errorPage(e), res
	}
	return nil, errorRedirect(t, s.issuer, e), res
}

// validateAuthorize does the work of ValidateAuthorize. On failure it
// returns the error and, once the redirect URI is trusted, where to send it.
func (s *Server) validateAuthorize(ctx context.Context, r *Request, res *Result) (*AuthorizeRequest, *Error, *redirectTarget) {
	if r == nil {
		return nil, NewError(InvalidRequest, "no request"), nil
	}
	if r.Header == nil {
		// An adapter that sets no header fields: read them as empty.
		rc := *r
		rc.Header = Headers(nil)
		r = &rc
	}
	var raw string
	switch r.Method {
	case "GET":
		raw = endpointQuery(r.URI)
	case "POST":
		raw = "" // read below, after the transport check
	default:
		e := NewError(InvalidRequest, "the authorization endpoint accepts GET and POST only (RFC 6749 §3.1)")
		e.Status = 405
		return nil, e, nil
	}
	if e := s.checkTransport(r); e != nil {
		return nil, e, nil
	}
	if r.Method == "POST" {
		if e := checkFormContentType(r); e != nil {
			return nil, e, nil
		}
		raw = string(r.Body)
	}
	p, problem, tainted := parseParams(raw)
	if problem != nil && tainted.all {
		return nil, problem, nil
	}

	// RFC 6749 §4.1.2.1: a missing, invalid or mismatching client_id or
	// redirect_uri is shown to the user, never redirected.
	if tainted.has("client_id") || tainted.has("redirect_uri") {
		return nil, problem, nil
	}
	c, e := s.authorizeClient(ctx, p.Get("client_id"))
	if e != nil {
		return nil, e, nil
	}
	res.ClientID = c.ID
	redirect, sent := p.Get("redirect_uri"), true
	if redirect == "" {
		sent = false
		if len(c.RedirectURIs) != 1 {
			return nil, NewError(InvalidRequest, "missing redirect_uri: the client has not exactly one registered redirect URI (RFC 6749 §3.1.2.3)"), nil
		}
		redirect = c.RedirectURIs[0]
	}
	if e := checkRequestedRedirect(c, redirect); e != nil {
		return nil, e, nil
	}

	// From here on errors are redirected to a registered URI.
	t := &redirectTarget{uri: redirect}
	if !tainted.has("state") {
		t.state = p.Get("state")
	}
	// Errors go in the fragment when the request asked for a token
	// (RFC 6749 §4.2.2.1), else in the query (§4.1.2.1): a missing,
	// unknown or compound response_type is answered in the query.
	var rts []ResponseType
	var rtErr *Error
	if !tainted.has("response_type") {
		rts, rtErr = parseResponseType(p.Get("response_type"))
		t.fragment = slices.Contains(rts, ResponseToken)
	}
	if problem != nil {
		return nil, problem, t
	}
	if rtErr != nil {
		return nil, rtErr, t
	}
	ar := &AuthorizeRequest{
		Client:          c,
		ResponseTypes:   rts,
		RedirectURI:     redirect,
		RedirectURISent: sent,
		State:           t.state,
		Params:          p,
		Credentials:     r.Credentials,
	}
	res.GrantType = ar.GrantType()
	if e := checkResponseTypes(c, rts); e != nil {
		return nil, e, t
	}
	if ar.HasResponseType(ResponseCode) {
		method, e := checkChallenge(p.Get("code_challenge"), p.Get("code_challenge_method"), c.Public || s.requirePKCE, c.AllowPKCEPlain)
		if e != nil {
			return nil, e, t
		}
		if ch := p.Get("code_challenge"); ch != "" {
			ar.CodeChallenge, ar.CodeChallengeMethod = ch, method
		}
	}
	scopes, e := grantScope(c, p.Get("scope"), nil)
	if e != nil {
		return nil, e, t
	}
	ar.Scopes = slices.Clone(scopes)
	if ar.Audience, e = s.chooseAudience(c, p.Get("resource"), ""); e != nil {
		return nil, e, t
	}
	res.Audience = ar.Audience
	return ar, nil, nil
}

// authorizeClient looks up the client of an authorization request. The
// client is identified only: the authorization endpoint never
// authenticates it (RFC 6749 §3.1). An unknown client is invalid_request,
// as oauthlib answers it, with ErrUnknownClient as the cause; the page that
// shows it is never a redirect.
func (s *Server) authorizeClient(ctx context.Context, id string) (*Client, *Error) {
	if id == "" {
		return nil, NewError(InvalidRequest, "missing client_id (RFC 6749 §4.1.1)")
	}
	c, err := s.clients.Client(ctx, id)
	if err != nil {
		if errors.Is(err, ErrUnknownClient) {
			return nil, NewError(InvalidRequest, "unknown client_id").withCause(err)
		}
		return nil, AsError(err)
	}
	if c == nil {
		return nil, NewError(InvalidRequest, "unknown client_id").withCause(ErrUnknownClient)
	}
	return c, nil
}

// checkRequestedRedirect checks a redirect URI against a client's
// registration: absolute, without a fragment (RFC 6749 §3.1.2), and equal,
// byte for byte including its query, to a registered URI (RFC 6749
// §3.1.2.3, RFC 9700 §4.1.3: exact string matching, no pattern, no
// normalization).
func checkRequestedRedirect(c *Client, uri string) *Error {
	if err := checkRedirectURI(uri); err != nil {
		return Errorf(InvalidRequest, "invalid redirect_uri: %s", err)
	}
	if !slices.Contains(c.RedirectURIs, uri) {
		return NewError(InvalidRequest, "redirect_uri is not registered for this client (RFC 6749 §3.1.2.3)")
	}
	return nil
}

// parseResponseType parses response_type (RFC 6749 §3.1.1) into a set in
// canonical order (code before token): the value is space-delimited and the
// order of its values does not matter, so "token code" equals "code token".
//
// Decision: the server supports "code" and "token" alone and answers
// unsupported_response_type to the compound "code token". RFC 6749 defines
// no compound value; "code token" is the hybrid flow of OpenID Connect's
// Multiple Response Type Encoding Practices, which this server does not
// implement, and RFC 9700 §2.1.2 recommends against issuing access tokens
// in the front channel at all. The metadata document (RFC 8414) advertises
// ["code", "token"] accordingly.
func parseResponseType(v string) ([]ResponseType, *Error) {
	var set []ResponseType
	unknown := false
	for tok := range strings.SplitSeq(v, " ") {
		switch ResponseType(tok) {
		case "":
			continue // tolerate repeated spaces
		case ResponseCode, ResponseToken:
			if !slices.Contains(set, ResponseType(tok)) {
				set = append(set, ResponseType(tok))
			}
		default:
			unknown = true
		}
	}
	switch {
	case len(set) == 0 && !unknown:
		return nil, NewError(InvalidRequest, "missing response_type (RFC 6749 §3.1.1)")
	case unknown:
		return nil, Errorf(UnsupportedResponseType, "response_type %q is not supported", safeName(v))
	case len(set) > 1:
		return nil, NewError(UnsupportedResponseType, `response_type "code token" is not supported: use code, or token`)
	}
	return set, nil
}

// checkResponseTypes answers unauthorized_client when the client may not
// use the response types (RFC 6749 §4.1.2.1, §4.2.2.1). A code needs the
// authorization_code grant too, or it could never be exchanged.
func checkResponseTypes(c *Client, rts []ResponseType) *Error {
	if len(rts) != 1 {
		return NewError(UnsupportedResponseType, "response_type must be code or token")
	}
	switch rt := rts[0]; rt {
	case ResponseCode:
		if !c.AllowsResponseType(ResponseCode) || !c.AllowsGrant(GrantAuthorizationCode) {
			return NewError(UnauthorizedClient, "the client may not use response_type code")
		}
	case ResponseToken:
		if !c.AllowsResponseType(ResponseToken) {
			return NewError(UnauthorizedClient, "the client may not use response_type token (the implicit grant)")
		}
	default:
		return NewError(UnsupportedResponseType, "response_type must be code or token")
	}
	return nil
}

// checkChallenge checks the PKCE parameters of a code request (RFC 7636
// §4.3, §4.4.1) and returns the method. required makes a missing challenge
// an error (public clients, or every client with WithPKCERequired).
// allowPlain is Client.AllowPKCEPlain: without it only S256 is accepted
// (RFC 9700 §2.1.1), and a challenge sent without a method is an error
// rather than plain, since the RFC 7636 §4.3 default would be a method the
// client may not use; with it, the §4.3 default applies.
func checkChallenge(challenge, method string, required, allowPlain bool) (string, *Error) {
	if challenge == "" {
		if method != "" {
			return "", NewError(InvalidRequest, "code_challenge_method sent without code_challenge (RFC 7636 §4.3)")
		}
		if required {
			return "", NewError(InvalidRequest, "code challenge required (RFC 7636 §4.4.1)")
		}
		return "", nil
	}
	if method == "" {
		if !allowPlain {
			return "", NewError(InvalidRequest, "code_challenge_method is required: this client may use S256 only (RFC 9700 §2.1.1), and RFC 7636 §4.3 would default to plain")
		}
		method = PKCEPlain // RFC 7636 §4.3
	}
	switch method {
	case PKCES256:
		if !validS256Challenge(challenge) {
			return "", NewError(InvalidRequest, "code_challenge must be 43 base64url characters for S256 (RFC 7636 §4.2)")
		}
	case PKCEPlain:
		if !allowPlain {
			return "", NewError(InvalidRequest, "transform algorithm not supported: this client may use S256 only (RFC 7636 §4.4.1, RFC 9700 §2.1.1)")
		}
		if !validVerifier(challenge) {
			return "", NewError(InvalidRequest, "code_challenge must be 43 to 128 unreserved characters (RFC 7636 §4.1, §4.2)")
		}
	default:
		return "", NewError(InvalidRequest, "transform algorithm not supported: code_challenge_method must be S256 (RFC 7636 §4.4.1)")
	}
	return method, nil
}

// validS256Challenge reports whether ch is BASE64URL(SHA256(verifier)) in
// form: 43 characters of the unpadded base64url alphabet (RFC 7636 §4.2)
// whose last one carries no stray bits.
func validS256Challenge(ch string) bool {
	if len(ch) != 43 {
		return false
	}
	var sum [32]byte
	n, err := base64.RawURLEncoding.Strict().Decode(sum[:], []byte(ch))
	return err == nil && n == 32
}
