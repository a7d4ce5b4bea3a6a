package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/store"
)

// Pushed authorization requests (RFC 9126).
const (
	// RequestURIPrefix starts every request_uri the pushed authorization
	// request endpoint returns (RFC 9126 §2.2); a random 128-bit value in
	// base64url follows it.
	RequestURIPrefix = "urn:ietf:params:oauth:request_uri:"
	// PushedRequestLifetime is how long a request_uri may be used: 60
	// seconds, not extended by the leeway (RFC 9126 §2.2 suggests a short
	// lifetime, 5 to 600 seconds).
	PushedRequestLifetime = 60 * time.Second
	// pushedSessionTTL bounds how long the login page may carry a pushed
	// request it took from the store: as long as its login form is valid
	// (internal/login's DefaultCSRFTTL).
	pushedSessionTTL = time.Hour
	// nsPushed is the store namespace of pushed requests.
	nsPushed = "par"
	// claimPushed is the claim of a par+jwt that holds the pushed
	// request's parameters, form-encoded.
	claimPushed = "par"
)

// InvalidRequestURI is the error of an authorization request whose
// request_uri is unknown, expired, already used or another client's
// (RFC 9101 §6.2, which RFC 9126 §4 builds on). It is shown on the error
// page, never redirected: without the pushed request the redirect URI is
// unknown.
const InvalidRequestURI ErrorCode = "invalid_request_uri"

// authorizationParams are the parameters of an authorization request that
// a pushed request alone may set: sent beside a request_uri they are
// ignored (RFC 9126 §4, RFC 9101 §5). Parameters outside this list, such
// as the login page's own form fields, pass through.
var authorizationParams = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
	"code_challenge_method", "resource", "response_mode", "nonce", "prompt", "max_age",
	"login_hint", "id_token_hint", "acr_values", "claims", "claims_locales", "ui_locales",
	"display", "request", "request_uri", "dpop_jkt", "authorization_details", "registration",
}

// clientAuthParams are the parameters of client authentication, which a
// pushed request does not keep (RFC 9126 §2.1).
var clientAuthParams = []string{"client_secret", "client_assertion", "client_assertion_type"}

// PushedAuthorization handles a request to the pushed authorization request
// endpoint (RFC 9126 §2) and returns the response to send.
//
// The client authenticates as at the token endpoint (a public client sends
// its client_id); the form holds the parameters of an authorization request,
// which are validated at once, exactly as the authorization endpoint would
// (client, redirect URI ownership, response type, PKCE, scope, resource;
// RFC 9126 §2.1), so that a client learns of a bad request before it sends
// a user anywhere. A valid request is kept in the store, single-use, for
// PushedRequestLifetime, and answered 201 with request_uri and expires_in
// (§2.2). A request_uri in the pushed request is invalid_request (§2.1);
// a request object ("request", RFC 9101) is not supported and is
// invalid_request too.
//
// Each push is a store entry, so it counts against the client's quota of
// store writes (WithClientQuota), for a public client per client address.
func (s *Server) PushedAuthorization(ctx context.Context, r *Request) (*Response, Result) {
	var res Result
	resp, e := s.pushAuthorization(ctx, withHeader(r), &res)
	if e != nil {
		res.Err = e
		return errorResponse(e), res
	}
	return resp, res
}

func (s *Server) pushAuthorization(ctx context.Context, r *Request, res *Result) (*Response, *Error) {
	p, e := s.formRequest(r, "pushed authorization request", "RFC 9126 §2.1")
	if e != nil {
		return nil, e
	}
	now := s.now()
	acct, _, e := s.authenticateClient(ctx, r, &p, now, false)
	if e != nil {
		res.PresentedClientID = presentedClientID(r, &p)
		return nil, e
	}
	c := acct.client
	res.ClientID = c.ID
	switch {
	case p.Has("request_uri"):
		return nil, NewError(InvalidRequest, "request_uri must not be pushed (RFC 9126 §2.1)")
	case p.Has("request"):
		return nil, NewError(InvalidRequest, "request objects (RFC 9101) are not supported: push the parameters themselves")
	}
	// The authorization request: the client's id first, then every
	// parameter but those of client authentication.
	ap := Params{list: make([]param, 0, p.Len()+1)}
	ap.list = append(ap.list, param{"client_id", c.ID})
	p.Each(func(name, value string) {
		if name != "client_id" && !slices.Contains(clientAuthParams, name) {
			ap.list = append(ap.list, param{name, value})
		}
	})
	if ap.Len() > maxParams {
		return nil, Errorf(InvalidRequest, "too many parameters (at most %d)", maxParams)
	}
	enc := encodeParams(ap)
	var vres Result
	ar, e, _ := s.validateAuthorize(ctx, &Request{
		Method: "POST", URI: "/", Secure: true, RemoteAddr: r.RemoteAddr,
		Header:      Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}},
		Body:        []byte(enc),
		Credentials: r.Credentials,
		pushing:     true,
	}, &vres)
	if e != nil {
		// Answered in the token endpoint's form, with the authorization
		// endpoint's code where it has its own (RFC 9126 §2.3).
		return nil, e
	}
	res.GrantType, res.Audience = ar.GrantType(), ar.Audience
	key, err := crypttoken.NewID()
	if err != nil {
		return nil, AsError(err)
	}
	exp := now.Add(PushedRequestLifetime)
	rec, err := json.Marshal(pushedRecord{Client: c.ID, Expiry: exp.UnixNano(), Params: enc})
	if err != nil {
		return nil, AsError(err)
	}
	if e := s.spendWrites(ctx, writeKey(&acct, "par", s.ClientAddr(r)), now, func(ctx context.Context) error {
		return s.store.PutRecord(ctx, nsPushed, key, rec, exp)
	}); e != nil {
		return nil, e
	}
	body := make([]byte, 0, 128)
	body = append(body, `{"request_uri":`...)
	body = jsonenc.AppendString(body, RequestURIPrefix+key)
	body = append(body, `,"expires_in":`...)
	body = strconv.AppendInt(body, int64(PushedRequestLifetime/time.Second), 10)
	body = append(body, '}')
	return jsonResponse(201, body), nil
}

// pushedRecord is a pushed request as the store keeps it.
type pushedRecord struct {
	Client string `json:"c"`
	Expiry int64  `json:"e"` // Unix nanoseconds
	Params string `json:"p"` // the authorization parameters, form-encoded
}

// decodePushed parses a stored pushed request.
func decodePushed(b []byte) (pushedRecord, error) {
	var rec pushedRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, err
	}
	if rec.Client == "" || rec.Expiry <= 0 || rec.Params == "" {
		return rec, errors.New("endpoint: incomplete pushed request record")
	}
	return rec, nil
}

// encodeParams form-encodes p in order (RFC 6749 Appendix B).
func encodeParams(p Params) string {
	var b strings.Builder
	for i, q := range p.list {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(q.name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(q.value))
	}
	return b.String()
}

// pushedParams resolves the request_uri of an authorization request
// (RFC 9126 §4) into the parameters the rest of the validation reads: those
// of the pushed request, which replace the request's own (RFC 9101 §5),
// plus the request's parameters that are not authorization parameters
// (the login page's form fields), plus request_uri itself, now holding the
// pushed request sealed (typ par+jwt, the internal ring, an hour).
//
// A request_uri from the pushed authorization request endpoint is taken
// from the store, so it works once; the sealed form that replaces it is
// what the login page carries through its forms, so that a request_uri
// taken at the first GET still completes after the user has signed in and
// consented, however long that took. Either is refused (the error page:
// without the pushed request the redirect URI is unknown) when it is
// unknown, expired, already used, or pushed by another client than the
// client_id beside it.
func (s *Server) pushedParams(ctx context.Context, p Params, t taint) (Params, *Error) {
	if t.has("request_uri") || t.has("client_id") {
		return Params{}, NewError(InvalidRequest, "request_uri or client_id is repeated or malformed (RFC 6749 §3.1)")
	}
	ref, cid := p.Get("request_uri"), p.Get("client_id")
	if cid == "" {
		return Params{}, NewError(InvalidRequest, "missing client_id: it must accompany request_uri (RFC 9126 §4)")
	}
	now := s.now()
	var params, sealed string
	if key, ok := strings.CutPrefix(ref, RequestURIPrefix); ok {
		if key == "" || len(key) > 64 {
			return Params{}, NewError(InvalidRequestURI, "request_uri is not one this server issued")
		}
		raw, err := s.store.TakeRecord(ctx, nsPushed, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return Params{}, NewError(InvalidRequestURI, "request_uri is unknown, expired or already used (RFC 9126 §4)")
		case err != nil:
			return Params{}, AsError(err)
		}
		rec, err := decodePushed(raw)
		switch {
		case err != nil:
			return Params{}, NewError(InvalidRequestURI, "request_uri is unknown, expired or already used (RFC 9126 §4)").withCause(err)
		case !now.Before(time.Unix(0, rec.Expiry)):
			return Params{}, NewError(InvalidRequestURI, "request_uri has expired (RFC 9126 §2.2)")
		case rec.Client != cid:
			return Params{}, NewError(InvalidRequestURI, "request_uri was pushed by another client (RFC 9126 §4)")
		}
		params = rec.Params
		v, _ := json.Marshal(params) // a string always marshals
		c := crypttoken.Claims{
			Issuer: s.issuer, Audience: s.issuerAud, IssuedAt: now, Expiry: now.Add(pushedSessionTTL),
			ClientID: rec.Client, Extra: map[string]json.RawMessage{claimPushed: v},
		}
		if sealed, err = s.internal.Seal(crypttoken.TypePushedRequest, &c); err != nil {
			return Params{}, AsError(err)
		}
	} else {
		c, err := s.pushedRequests.Open(ref)
		if err != nil {
			return Params{}, NewError(InvalidRequestURI, "request_uri is unknown or expired (RFC 9126 §4)").withCause(err)
		}
		if c.ClientID != cid {
			return Params{}, NewError(InvalidRequestURI, "request_uri was pushed by another client (RFC 9126 §4)")
		}
		if err := json.Unmarshal(c.Extra[claimPushed], &params); err != nil || params == "" {
			return Params{}, NewError(InvalidRequestURI, "request_uri is unknown or expired (RFC 9126 §4)").withCause(errors.New("endpoint: par+jwt without parameters"))
		}
		sealed = ref
	}
	pushed, e := ParseParams(params)
	if e != nil {
		return Params{}, e
	}
	if pushed.Get("client_id") != cid || pushed.Has("request_uri") {
		return Params{}, NewError(InvalidRequestURI, "request_uri does not hold a valid pushed request")
	}
	// Authorization parameters come from the pushed request alone; any
	// other parameter from the request when it has it (the login page's
	// form fields are the page's, whatever the client pushed).
	out := Params{list: make([]param, 0, pushed.Len()+p.Len()+1)}
	pushed.Each(func(name, value string) {
		if slices.Contains(authorizationParams, name) || !p.Has(name) {
			out.list = append(out.list, param{name, value})
		}
	})
	out.list = append(out.list, param{"request_uri", sealed})
	p.Each(func(name, value string) {
		if !slices.Contains(authorizationParams, name) && !out.Has(name) {
			out.list = append(out.list, param{name, value})
		}
	})
	if out.Len() > maxParams {
		return Params{}, Errorf(InvalidRequest, "too many parameters (at most %d)", maxParams)
	}
	return out, nil
}

// checkPushRequired refuses an authorization request that was not pushed
// from a client that must push (RFC 9126 §4: invalid_request).
func (s *Server) checkPushRequired(c *Client, pushed bool) *Error {
	if pushed || !(s.requirePAR || c.RequirePushedRequests) {
		return nil
	}
	return NewError(InvalidRequest, "this client must push its authorization requests: send the request_uri of the pushed authorization request endpoint (RFC 9126 §4)")
}
