package endpoint

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// Grant is the resource owner's decision to authorize a request: who they
// are and what they consented to.
type Grant struct {
	// Subject is the user id, the "sub" claim of the tokens. Required.
	Subject string
	// Scopes is the scope the user consented to: a subset of
	// AuthorizeRequest.Scopes. Nil grants all the scope requested; an
	// empty non-nil slice grants nothing and is answered access_denied.
	Scopes []string
	// AuthTime is when the user logged in ("auth_time"); zero omits it.
	AuthTime time.Time
	// Header holds header fields to add to the redirect that answers the
	// request, such as a cookie the login page sets on sign-in. Fields
	// named Location, Cache-Control or Pragma are ignored: the endpoint
	// sets those.
	Header Headers
}

// Authorize issues the response to an authorization request the resource
// owner granted (RFC 6749 §4.1.2, §4.2.2): a 302 redirect to the request's
// redirect URI carrying
//
//   - for response_type=code, a code (a sealed code+jwt, valid for the
//     server's code lifetime, naming the client, user, scope, audience,
//     PKCE challenge, the redirect URI when the request sent one, and a
//     fresh refresh family) in the query, with state;
//   - for response_type=token, an access token in the fragment with
//     token_type, expires_in, scope when it differs from the request, and
//     state. The implicit grant never issues a refresh token (§4.2.2). The
//     hooks run as for the token endpoint, with TokenRequest.GrantType
//     GrantImplicit and AuthMethod AuthNone.
//
// ar must come from ValidateAuthorize. Authorize re-checks the fields that
// decide where the user goes and what is issued, and answers a request that
// fails them with a 500 error page (never a redirect to an unregistered
// URI). A grant that is not a subset of the request, or has no subject, is
// the caller's mistake and is redirected as server_error.
func (s *Server) Authorize(ctx context.Context, ar *AuthorizeRequest, g Grant) (*Response, Result) {
	res := ar.result()
	t, e := s.recheck(ar)
	if e == nil {
		var resp *Response
		if resp, e = s.issueAuthorization(ctx, ar, g, &res); e == nil {
			for _, f := range g.Header {
				switch strings.ToLower(f.Name) {
				case "location", "cache-control", "pragma":
				default:
					resp.Header = append(resp.Header, f)
				}
			}
			return resp, res
		}
	}
	res.Err = e
	if t == nil {
		return errorPage(e), res
	}
	return errorRedirect(t, s.issuer, e), res
}

// Deny answers an authorization request the resource owner refused
// (RFC 6749 §4.1.2.1, §4.2.2.1): a redirect with error=access_denied and
// the state. Like Authorize, it shows a 500 error page instead for a
// request that fails its re-check.
func (s *Server) Deny(ar *AuthorizeRequest) *Response {
	t, e := s.recheck(ar)
	if e != nil {
		if t == nil {
			return errorPage(e)
		}
		return errorRedirect(t, s.issuer, e)
	}
	return errorRedirect(t, s.issuer, NewError(AccessDenied, "the resource owner denied the request"))
}

// issueAuthorization seals the code or access token of a granted request.
func (s *Server) issueAuthorization(ctx context.Context, ar *AuthorizeRequest, g Grant, res *Result) (*Response, *Error) {
	if g.Subject == "" {
		return nil, NewError(ServerError, "internal error").withCause(errors.New("endpoint: Grant has no Subject"))
	}
	scopes, e := consentedScopes(ar.Scopes, g.Scopes)
	if e != nil {
		return nil, e
	}
	if ar.HasResponseType(ResponseToken) {
		return s.issueImplicit(ctx, ar, g, scopes, res)
	}
	return s.issueCode(ar, g, scopes, res)
}

// issueCode seals an authorization code (RFC 6749 §4.1.2) with the claims
// the token endpoint checks (grant_authorization_code.go).
func (s *Server) issueCode(ar *AuthorizeRequest, g Grant, scopes []string, res *Result) (*Response, *Error) {
	fid, err := codeFamily()
	if err != nil {
		return nil, AsError(err)
	}
	now := s.now()
	c := crypttoken.Claims{
		Issuer:   s.issuer,
		Subject:  g.Subject,
		Audience: []string{s.issuer},
		Expiry:   now.Add(s.codeTTL),
		IssuedAt: now,
		ClientID: ar.Client.ID,
		Scope:    strings.Join(scopes, " "),
		AuthTime: g.AuthTime,
		FamilyID: fid,
		Resource: ar.Audience,
	}
	if ar.RedirectURISent {
		// RFC 6749 §4.1.3: the token request must then repeat it.
		c.RedirectURI = ar.RedirectURI
	}
	if ar.CodeChallenge != "" {
		c.CodeChallenge, c.CodeChallengeMethod = ar.CodeChallenge, ar.CodeChallengeMethod
	}
	code, err := s.internal.Seal(crypttoken.TypeCode, &c)
	if err != nil {
		return nil, AsError(err)
	}
	// The code's jti identifies it in logs; the code itself never goes in
	// a Result.
	res.JTI = c.ID
	return redirect(ar.RedirectURI, false,
		param{"code", code},
		param{"state", ar.State},
		param{"iss", s.issuer},
	), nil
}

// issueImplicit seals an access token and returns it in the fragment
// (RFC 6749 §4.2.2).
func (s *Server) issueImplicit(ctx context.Context, ar *AuthorizeRequest, g Grant, scopes []string, res *Result) (*Response, *Error) {
	tr := &TokenRequest{
		GrantType:      GrantImplicit,
		Client:         ar.Client,
		AuthMethod:     AuthNone,
		Scopes:         scopes,
		Audience:       ar.Audience,
		Subject:        g.Subject,
		AuthTime:       g.AuthTime,
		Params:         ar.Params,
		Credentials:    ar.Credentials,
		requestedScope: ar.Params.Get("scope"),
	}
	if s.hooks.ValidateTokenRequest != nil {
		if err := s.hooks.ValidateTokenRequest(ctx, tr); err != nil {
			return nil, AsError(err)
		}
	}
	now := s.now()
	at := crypttoken.Claims{
		Issuer:   s.issuer,
		Subject:  tr.Subject,
		Audience: []string{tr.Audience},
		Expiry:   now.Add(s.accessTTL),
		IssuedAt: now,
		ClientID: tr.Client.ID,
		Scope:    strings.Join(tr.Scopes, " "),
		AuthTime: tr.AuthTime,
	}
	if s.hooks.AccessClaims != nil {
		if err := s.hooks.AccessClaims(ctx, tr, &at); err != nil {
			return nil, AsError(err)
		}
	}
	aud := s.audiences[tr.Audience]
	if aud == nil {
		// A ValidateTokenRequest hook changed the audience.
		return nil, NewError(ServerError, "internal error").withCause(errors.New("endpoint: unknown audience " + strconv.Quote(tr.Audience)))
	}
	tok, err := aud.sealer.Seal(crypttoken.TypeAccess, &at)
	if err != nil {
		return nil, AsError(err)
	}
	res.JTI = at.ID
	scope := ""
	if scopeDiffers(tr.requestedScope, at.Scope) {
		scope = at.Scope
	}
	return redirect(ar.RedirectURI, true,
		param{"access_token", tok},
		param{"token_type", "Bearer"},
		param{"expires_in", strconv.FormatInt(int64(s.accessTTL/time.Second), 10)},
		param{"scope", scope},
		param{"state", ar.State},
		param{"iss", s.issuer},
	), nil
}

// consentedScopes narrows the requested scope to the consented one:
// granted must be a subset of requested (a consent page can only take away).
func consentedScopes(requested, granted []string) ([]string, *Error) {
	if granted == nil {
		return requested, nil
	}
	if len(granted) == 0 {
		return nil, NewError(AccessDenied, "the resource owner consented to no scope")
	}
	out := make([]string, 0, len(granted))
	for _, sc := range granted {
		if !slices.Contains(requested, sc) {
			return nil, NewError(ServerError, "internal error").withCause(
				errors.New("endpoint: Grant.Scopes holds a scope the request did not ask for"))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// recheck checks an AuthorizeRequest before anything is issued or
// redirected for it, so that one built or changed by hand cannot send the
// user to an unregistered URI or yield more than its client may get. It
// returns the redirect target once the redirect URI is known good.
func (s *Server) recheck(ar *AuthorizeRequest) (*redirectTarget, *Error) {
	bad := func(what string) *Error {
		return NewError(ServerError, "internal error").withCause(errors.New("endpoint: invalid AuthorizeRequest: " + what))
	}
	if ar == nil || ar.Client == nil {
		return nil, bad("no client")
	}
	if checkRequestedRedirect(ar.Client, ar.RedirectURI) != nil {
		return nil, bad("redirect URI not registered")
	}
	t := &redirectTarget{uri: ar.RedirectURI, fragment: ar.fragment(), state: ar.State}
	if checkResponseTypes(ar.Client, ar.ResponseTypes) != nil {
		return t, bad("response type not allowed")
	}
	if ar.HasResponseType(ResponseCode) {
		if _, e := checkChallenge(ar.CodeChallenge, ar.CodeChallengeMethod, ar.Client.Public || s.requirePKCE, ar.Client.AllowPKCEPlain); e != nil ||
			(ar.CodeChallenge != "" && ar.CodeChallengeMethod == "") {
			return t, bad("PKCE parameters")
		}
	}
	for _, sc := range ar.Scopes {
		if !slices.Contains(ar.Client.Scopes, sc) {
			return t, bad("scope not allowed")
		}
	}
	if aud, e := s.chooseAudience(ar.Client, ar.Audience, ""); e != nil || aud != ar.Audience {
		return t, bad("audience not allowed")
	}
	return t, nil
}

// ResourceOwner is implemented by the embedding server: it decides, for a
// validated authorization request, who the resource owner is and whether
// they grant it, the part of RFC 6749 §4.1.1 and §3.1 that the
// specification leaves to the server ("the authorization server
// authenticates the resource owner and obtains an authorization decision").
// It may use a login form, a session cookie or a header set by a trusted
// authenticating proxy.
//
// Decide returns one of:
//   - Approve(grant): the user granted the request; HandleAuthorize issues
//     the code or token;
//   - Interact(page): the user must log in or consent first; the page (for
//     example a form posted back to the authorization endpoint with the
//     request's parameters, RFC 6749 §3.1 allows POST) is sent as it is;
//   - Reject(err): the user refused (access_denied) or cannot be asked
//     (any other code); the error is redirected to the client.
//
// An error returned (a database down) is redirected as server_error or
// temporarily_unavailable (AsError). Decide is called concurrently.
type ResourceOwner interface {
	Decide(ctx context.Context, r *Request, ar *AuthorizeRequest) (Decision, error)
}

// ResourceOwnerFunc adapts a function to ResourceOwner.
type ResourceOwnerFunc func(ctx context.Context, r *Request, ar *AuthorizeRequest) (Decision, error)

// Decide implements ResourceOwner.
func (f ResourceOwnerFunc) Decide(ctx context.Context, r *Request, ar *AuthorizeRequest) (Decision, error) {
	return f(ctx, r, ar)
}

// Decision is a ResourceOwner's answer. Build it with Approve, Interact or
// Reject; the zero Decision decides nothing and is answered server_error.
type Decision struct {
	kind  decisionKind
	grant Grant
	page  *Response
	err   *Error
}

type decisionKind uint8

const (
	decideNothing decisionKind = iota
	decideApprove
	decideInteract
	decideReject
)

// Approve grants the request as g says.
func Approve(g Grant) Decision { return Decision{kind: decideApprove, grant: g} }

// Interact sends page to the user instead of answering the client: a login
// or consent page. The page should carry Cache-Control: no-store and forbid
// framing (RFC 6749 §10.13, clickjacking).
func Interact(page *Response) Decision { return Decision{kind: decideInteract, page: page} }

// Reject refuses the request with e, or with access_denied when e is nil
// (RFC 6749 §4.1.2.1). Its Code and Description are sent to the client.
func Reject(e *Error) Decision { return Decision{kind: decideReject, err: e} }

// HandleAuthorize handles a request to the authorization endpoint in one
// call: ValidateAuthorize, then owner's decision, then Authorize, Interact's
// page or an error redirect. It is the one-call form of oauthlib's
// validate_authorization_request followed by create_authorization_response.
//
// The Result names the client, grant and audience once known, the jti of
// the code or access token issued, and the error answered, if any; it is
// zero-Err for an Interact page.
func (s *Server) HandleAuthorize(ctx context.Context, r *Request, owner ResourceOwner) (*Response, Result) {
	ar, resp, res := s.ValidateAuthorize(ctx, r)
	if resp != nil {
		return resp, res
	}
	fail := func(e *Error) (*Response, Result) {
		res.Err = e
		t, re := s.recheck(ar)
		if re != nil {
			res.Err = re
			return errorPage(re), res
		}
		return errorRedirect(t, s.issuer, e), res
	}
	if owner == nil {
		return fail(NewError(ServerError, "internal error").withCause(errors.New("endpoint: nil ResourceOwner")))
	}
	d, err := owner.Decide(ctx, r, ar)
	if err != nil {
		return fail(AsError(err))
	}
	switch d.kind {
	case decideApprove:
		return s.Authorize(ctx, ar, d.grant)
	case decideInteract:
		if d.page == nil {
			return fail(NewError(ServerError, "internal error").withCause(errors.New("endpoint: Interact with a nil page")))
		}
		return d.page, res
	case decideReject:
		e := d.err
		if e == nil {
			e = NewError(AccessDenied, "the resource owner denied the request")
		}
		return fail(e)
	}
	return fail(NewError(ServerError, "internal error").withCause(errors.New("endpoint: ResourceOwner returned no Decision")))
}
