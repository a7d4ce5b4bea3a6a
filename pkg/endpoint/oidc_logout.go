package endpoint

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// EndSessionRequest is a request to the end-session endpoint of OpenID
// Connect RP-Initiated Logout 1.0 (§2) that ValidateEndSession accepted.
// A SessionEnder reads it to end the user's login session; it holds no
// secret, but Params holds every parameter sent (an id_token_hint among
// them) and must not be logged.
type EndSessionRequest struct {
	// Client is the client that sent the user: the one the id_token_hint
	// was issued to, or the one client_id names; nil when neither says.
	Client *Client
	// Hint is the verified id_token_hint (its expiry is not checked, §2),
	// nil when none was sent or it did not verify with this server's
	// signing keys: it then counts as absent.
	Hint *IDTokenHint
	// PostLogoutRedirectURI is where to send the user once logged out:
	// the post_logout_redirect_uri sent, when it is, byte for byte, one of
	// Client.PostLogoutRedirectURIs (§3); "" otherwise, and the user is
	// shown a page instead.
	PostLogoutRedirectURI string
	// RedirectRefused reports that a post_logout_redirect_uri was sent but
	// is not registered for the client (or no client was identified), so
	// that no redirect follows (§3).
	RedirectRefused bool
	// State is the state parameter, echoed in the redirect (§2, §3).
	State string
	// LogoutHint is the logout_hint parameter (§2), for display only.
	LogoutHint string
	// Params are all the request's parameters; Credentials are
	// Request.Credentials.
	Params      Params
	Credentials map[string]any
}

// Redirect returns the response that sends the user to the request's
// post-logout redirect URI with its state (RP-Initiated Logout 1.0 §3),
// with extra header fields (a cookie being cleared), or nil when there is
// no URI to send the user to.
func (esr *EndSessionRequest) Redirect(extra ...HeaderField) *Response {
	if esr == nil || esr.PostLogoutRedirectURI == "" {
		return nil
	}
	resp := redirect(esr.PostLogoutRedirectURI, false, param{"state", esr.State})
	resp.Header = append(resp.Header, extra...)
	return resp
}

// ClientID returns the identified client's id, or "".
func (esr *EndSessionRequest) ClientID() string {
	if esr == nil || esr.Client == nil {
		return ""
	}
	return esr.Client.ID
}

// SessionEnder is implemented by the embedding server's login page: it
// ends the user's login session for a validated logout request (the
// counterpart of ResourceOwner for RP-Initiated Logout 1.0). It decides
// whether to ask the user first (a logout that a third-party page could
// trigger should be confirmed), clears what it keeps in the browser, and
// returns the response: EndSessionRequest.Redirect's once the session has
// ended and a registered URI was given, else a page. It is called
// concurrently.
type SessionEnder interface {
	EndSession(ctx context.Context, r *Request, esr *EndSessionRequest) (*Response, error)
}

// SessionEnderFunc adapts a function to SessionEnder.
type SessionEnderFunc func(ctx context.Context, r *Request, esr *EndSessionRequest) (*Response, error)

// EndSession implements SessionEnder.
func (f SessionEnderFunc) EndSession(ctx context.Context, r *Request, esr *EndSessionRequest) (*Response, error) {
	return f(ctx, r, esr)
}

// ValidateEndSession checks a request to the end-session endpoint (OpenID
// Connect RP-Initiated Logout 1.0 §2, §3) and returns the validated
// request, or the response to send instead: an error page (400, HTML),
// never a redirect, since a post_logout_redirect_uri cannot be trusted
// until the request is.
//
// GET reads the parameters from the query, POST from a form body (§2).
// The id_token_hint is verified with this server's signing keys and its
// expiry ignored; one that does not verify counts as absent. A client_id
// must name a registered client, and, with a verified hint, the client the
// hint was issued to (§2: "the OP MUST verify that the Client Identifier
// matches"). A post_logout_redirect_uri is used only when it exactly
// matches one the identified client registered (§3); otherwise the user
// gets a page instead, without error.
func (s *Server) ValidateEndSession(ctx context.Context, r *Request) (*EndSessionRequest, *Response, Result) {
	var res Result
	esr, e := s.validateEndSession(ctx, withHeader(r))
	if esr != nil {
		res.ClientID = esr.ClientID()
	}
	if e != nil {
		res.Err = e
		return nil, errorPage(e), res
	}
	return esr, nil, res
}

func (s *Server) validateEndSession(ctx context.Context, r *Request) (*EndSessionRequest, *Error) {
	if s.oidc == nil {
		e := NewError(InvalidRequest, "this server is not an OpenID Provider")
		e.Status = 404
		return nil, e
	}
	var raw string
	switch r.Method {
	case "GET":
		raw = endpointQuery(r.URI)
	case "POST":
	default:
		e := NewError(InvalidRequest, "the end-session endpoint accepts GET and POST only (RP-Initiated Logout 1.0 section 2)")
		e.Status = 405
		return nil, e
	}
	if e := s.checkTransport(r); e != nil {
		return nil, e
	}
	if r.Method == "POST" {
		if len(r.Body) > 0 {
			if e := checkFormContentType(r); e != nil {
				return nil, e
			}
		}
		raw = string(r.Body)
	}
	p, e := ParseParams(raw)
	if e != nil {
		return nil, e
	}
	esr := &EndSessionRequest{Params: p, Credentials: r.Credentials, State: p.Get("state")}
	if h := p.Get("logout_hint"); len(h) <= MaxLoginHintLen && !strings.ContainsFunc(h, isControl) {
		esr.LogoutHint = h
	}
	if raw := p.Get("id_token_hint"); raw != "" {
		// One that does not verify is ignored: it identifies nobody.
		esr.Hint, _ = s.verifyIDTokenHint(raw)
	}
	if id := p.Get("client_id"); id != "" {
		c, e := s.authorizeClient(ctx, id)
		if e != nil {
			return nil, e
		}
		if esr.Hint != nil && !slices.Contains(esr.Hint.Audience, id) {
			return nil, NewError(InvalidRequest, "client_id is not the client the id_token_hint was issued to (RP-Initiated Logout 1.0 section 2)")
		}
		esr.Client = c
	} else if esr.Hint != nil && len(esr.Hint.Audience) == 1 {
		c, err := s.clients.Client(ctx, esr.Hint.Audience[0])
		switch {
		case err == nil:
			esr.Client = c
		case !errors.Is(err, ErrUnknownClient):
			return nil, AsError(err)
		}
	}
	if uri := p.Get("post_logout_redirect_uri"); uri != "" {
		if esr.Client != nil && slices.Contains(esr.Client.PostLogoutRedirectURIs, uri) {
			esr.PostLogoutRedirectURI = uri
		} else {
			esr.RedirectRefused = true
		}
	}
	return esr, nil
}

// HandleEndSession handles a request to the end-session endpoint in one
// call: ValidateEndSession, then ender's EndSession. With a nil ender (no
// login sessions to end) the user is sent to the post-logout redirect URI
// at once, or shown a plain page saying they are signed out.
func (s *Server) HandleEndSession(ctx context.Context, r *Request, ender SessionEnder) (*Response, Result) {
	esr, resp, res := s.ValidateEndSession(ctx, r)
	if resp != nil {
		return resp, res
	}
	if ender == nil {
		if resp := esr.Redirect(); resp != nil {
			return resp, res
		}
		return SignedOutPage(), res
	}
	resp, err := ender.EndSession(ctx, r, esr)
	if err == nil && resp == nil {
		err = errors.New("endpoint: SessionEnder returned no response")
	}
	if err != nil {
		e := AsError(err)
		res.Err = e
		return errorPage(e), res
	}
	return resp, res
}

// SignedOutPage is the plain page that tells the user they are signed out,
// for a logout without a post-logout redirect URI.
func SignedOutPage() *Response {
	r := &Response{Status: 200, Body: []byte("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" +
		"<meta name=\"robots\" content=\"noindex\"><title>Signed out</title></head>\n" +
		"<body><h1>Signed out</h1>\n<p>You are signed out.</p>\n</body></html>\n")}
	r.Header = append(make(Headers, 0, len(errorPageHeaders)), errorPageHeaders...)
	return r
}
