package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// TokenRequest is a token request that has passed this package's checks,
// as the hooks see it.
type TokenRequest struct {
	GrantType  GrantType
	Client     *Client
	AuthMethod AuthMethod
	// Scopes is the scope to grant.
	Scopes []string
	// Audience is the audience the access token is sealed for.
	Audience string
	// Subject is the "sub" of the tokens: the user id, or the client id for
	// client_credentials (RFC 9068 §2.2).
	Subject string
	// AuthTime is when the user logged in; zero for client_credentials.
	AuthTime time.Time
	// Params are the request's parameters. Hooks must not read secrets
	// (client_secret, password, code, refresh_token, code_verifier) from it
	// into logs.
	Params Params
	// Credentials are Request.Credentials.
	Credentials map[string]any
	// Confirmation is what the access token will be bound to (its cnf
	// claim): the key of the request's DPoP proof (RFC 9449 §6.1) and the
	// client certificate (RFC 8705 §3.1), or neither for a bearer token.
	Confirmation crypttoken.Confirmation

	// requestedScope is the scope parameter as sent, to decide whether the
	// response must state the granted scope (RFC 6749 §5.1).
	requestedScope string
	// now is the request's one reading of the clock: the tokens' "iat",
	// their "exp", and the expiry of store entries derive from it.
	now time.Time
	// familyID is the refresh family the tokens belong to, carried by the
	// access token too so that revoking the family (code replay, refresh
	// token reuse, RFC 7009 revocation) revokes it at introspection;
	// generation is the refresh token's. refresh reports whether to issue
	// a refresh token (it needs familyID).
	familyID   string
	generation uint64
	refresh    bool
	// status is the grant's Token Status List entry (status.go): the
	// code's or refresh token's, or a new one (assignStatus).
	status crypttoken.StatusRef
	// commit, when set, records the request in the store (redeems the
	// code, rotates the refresh family). Token calls it last, after the
	// tokens are sealed, and sends them only if it succeeds.
	commit func(ctx context.Context) *Error
	// refreshScopes is the scope a refresh token carries when it differs
	// from Scopes: a refresh keeps the original grant even when the access
	// token's scope is narrowed (RFC 6749 §6).
	refreshScopes []string
	// oidc, when set, is the ID token to issue beside the access token
	// (OpenID Connect: the grant's scope includes openid, oidc_token.go).
	oidc *idToken
	// extra are claims the grant adds to the access token: the "act" of a
	// token exchange (RFC 8693 §4.1). Shared and read-only.
	extra map[string]json.RawMessage
	// notAfter, when set, caps the access token's expiry: an exchanged
	// token never outlives its subject token.
	notAfter time.Time
	// issuedTokenType is the issued_token_type of a token exchange
	// response (RFC 8693 §2.2.1); empty for the other grants.
	issuedTokenType string
}

func (tr *TokenRequest) grantedForRefresh() []string {
	if tr.refreshScopes != nil {
		return tr.refreshScopes
	}
	return tr.Scopes
}

// Result describes how an endpoint handled a request, for the embedding
// server's logs and metrics. It never holds a secret or a token: tokens are
// identified by their "jti".
type Result struct {
	ClientID  string
	GrantType GrantType
	Audience  string
	// PresentedClientID is, when client authentication failed (401
	// invalid_client, 429), the client id the request presented in its
	// Basic credentials or client_id parameter, for the log line of the
	// failure; empty otherwise, or when it is not 1 to 255 printable ASCII
	// characters. It is not authenticated: log it, never trust it.
	PresentedClientID string
	// JTI is the "jti" of the access token issued, or of the token that was
	// introspected or revoked.
	JTI string
	// RefreshIssued reports whether a refresh token was issued.
	RefreshIssued bool
	// Err is the error answered, nil on success. Err.Cause holds internal
	// detail for the log.
	Err *Error
}

// Token handles a request to the token endpoint (RFC 6749 §3.2, §4.1.3,
// §4.3.2, §4.4.2, §6) and returns the response to send.
func (s *Server) Token(ctx context.Context, r *Request) (*Response, Result) {
	var res Result
	r = withHeader(r)
	tr, e := s.tokenRequest(ctx, r, &res)
	if e == nil {
		var resp *Response
		if resp, e = s.issue(ctx, tr, &res); e == nil && tr.commit != nil {
			if e = tr.commit(ctx); e != nil {
				res.JTI, res.RefreshIssued = "", false // sealed, never sent
				resp.Release()
			}
		}
		if e == nil {
			return s.withNonce(resp), res
		}
	}
	res.Err = e
	return s.withNonce(errorResponse(e)), res
}

// tokenRequest parses, authenticates and validates a token request.
func (s *Server) tokenRequest(ctx context.Context, r *Request, res *Result) (*TokenRequest, *Error) {
	p, e := s.formRequest(r, "token", "RFC 6749 §3.2")
	if e != nil {
		return nil, e
	}
	grant := GrantType(p.Get("grant_type"))
	res.GrantType = grant
	if grant == "" {
		return nil, NewError(InvalidRequest, "missing grant_type")
	}
	now := s.now() // one clock reading for the whole request
	acct, method, e := s.authenticateClient(ctx, r, &p, now, false)
	if e != nil {
		res.PresentedClientID = presentedClientID(r, &p)
		return nil, e
	}
	client := acct.client
	res.ClientID = client.ID
	tr := &TokenRequest{
		GrantType: grant, Client: client, AuthMethod: method,
		Params: p, Credentials: r.Credentials, requestedScope: p.Get("scope"),
		now: now,
	}
	if e = s.bindTokenRequest(ctx, r, tr, acct); e != nil {
		return nil, e
	}
	switch grant {
	case GrantClientCredentials:
		e = s.clientCredentials(tr)
	case GrantAuthorizationCode:
		e = s.authorizationCode(ctx, tr)
	case GrantRefreshToken:
		e = s.refreshToken(ctx, tr)
	case GrantPassword:
		e = s.password(ctx, r, tr)
	case GrantDeviceCode:
		e = s.deviceCode(ctx, tr)
	case GrantTokenExchange:
		e = s.tokenExchange(ctx, tr)
	case GrantJWTBearer:
		e = s.jwtBearer(ctx, tr)
	default:
		e = Errorf(UnsupportedGrantType, "grant_type %q is not supported", safeName(string(grant)))
	}
	if e != nil {
		return nil, e
	}
	if e = s.assignStatus(ctx, tr); e != nil {
		return nil, e
	}
	res.Audience = tr.Audience
	if s.hooks.ValidateTokenRequest != nil {
		if err := s.hooks.ValidateTokenRequest(ctx, tr); err != nil {
			return nil, AsError(err)
		}
	}
	return tr, nil
}

// withHeader returns r, or a copy of r with an empty Header when r has none,
// so that a Request built without headers is refused rather than a panic.
func withHeader(r *Request) *Request {
	if r.Header != nil {
		return r
	}
	c := *r
	c.Header = Headers(nil)
	return &c
}

// checkFormContentType requires an application/x-www-form-urlencoded body
// (RFC 6749 §3.2, §4.1.3).
func checkFormContentType(r *Request) *Error {
	ct := r.Header.Get("Content-Type")
	if ct == "application/x-www-form-urlencoded" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return NewError(InvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	return nil
}

// requireGrant answers unauthorized_client when the client may not use the
// request's grant (RFC 6749 §5.2).
func requireGrant(tr *TokenRequest) *Error {
	if !tr.Client.AllowsGrant(tr.GrantType) {
		return Errorf(UnauthorizedClient, "the client may not use the %s grant", tr.GrantType)
	}
	return nil
}

// chooseAudience picks the access token's audience: the RFC 8707 resource
// parameter if sent, else fallback (a code's or refresh token's resource),
// else the client's first audience, else the server's default.
func (s *Server) chooseAudience(c *Client, resource, fallback string) (string, *Error) {
	if resource == "" {
		resource = fallback
	}
	if resource == "" {
		if len(c.Audiences) > 0 {
			resource = c.Audiences[0]
		} else {
			resource = s.defaultAudience
		}
		if resource == "" {
			return "", NewError(InvalidTarget, "no resource requested and no default audience configured (RFC 8707)")
		}
	}
	if _, ok := s.audiences[resource]; !ok {
		return "", Errorf(InvalidTarget, "unknown resource %q (RFC 8707 §2)", safeName(resource))
	}
	allowed := slices.Contains(c.Audiences, resource) || (len(c.Audiences) == 0 && resource == s.defaultAudience)
	if !allowed {
		return "", Errorf(InvalidTarget, "the client may not get tokens for resource %q (RFC 8707 §2)", safeName(resource))
	}
	return resource, nil
}

// issue seals the tokens of a validated request and builds the RFC 6749
// §5.1 response.
func (s *Server) issue(ctx context.Context, tr *TokenRequest, res *Result) (*Response, *Error) {
	aud := s.audiences[tr.Audience]
	if aud == nil {
		// A ValidateTokenRequest hook changed the audience.
		return nil, NewError(ServerError, "internal error").withCause(errors.New("endpoint: unknown audience " + strconv.Quote(tr.Audience)))
	}
	now := tr.now
	scope := strings.Join(tr.Scopes, " ")
	exp := now.Add(s.accessTTL)
	if !tr.notAfter.IsZero() && tr.notAfter.Before(exp) {
		exp = tr.notAfter
	}
	at := crypttoken.Claims{
		Issuer:   s.issuer,
		Subject:  tr.Subject,
		Audience: aud.list, // shared and read-only: sealing only reads it
		Expiry:   exp,
		IssuedAt: now,
		ClientID: tr.Client.ID,
		Scope:    scope,
		AuthTime: tr.AuthTime,
		FamilyID: tr.familyID,
		Status:   tr.status,

		Confirmation: tr.Confirmation,
		Extra:        tr.extra,
	}
	if s.hooks.AccessClaims != nil {
		// The hook gets a heap copy with an audience slice of its own, so
		// that it may keep or change them, and at stays on the stack when
		// there is no hook.
		hc := new(crypttoken.Claims)
		*hc = at
		hc.Audience = []string{tr.Audience}
		if err := s.hooks.AccessClaims(ctx, tr, hc); err != nil {
			return nil, AsError(err)
		}
		at = *hc
		scope = at.Scope
	}
	tr.keepOpenID(at.Scope) // an AccessClaims hook may have narrowed the scope
	if tr.oidc != nil {
		if e := s.addUserInfoProof(&at, now); e != nil {
			return nil, e
		}
	}
	resp := acquireJSON(200)
	body := append(resp.Body, `{"access_token":"`...)
	atStart := len(body)
	var err error
	if body, err = aud.sealer.AppendSeal(body, crypttoken.TypeAccess, &at); err != nil {
		resp.Release()
		return nil, AsError(err)
	}
	if tr.oidc != nil {
		tr.oidc.accessToken = string(body[atStart:])
	}
	res.JTI = at.ID
	body = append(body, `","token_type":"`...)
	body = append(body, tokenType(at.Confirmation)...)
	body = append(body, `","expires_in":`...)
	body = strconv.AppendInt(body, int64(exp.Sub(now)/time.Second), 10)
	if tr.issuedTokenType != "" {
		body = append(body, `,"issued_token_type":`...)
		body = jsonenc.AppendString(body, tr.issuedTokenType)
	}
	if tr.refresh && tr.familyID != "" {
		rt := crypttoken.Claims{
			Issuer:     s.issuer,
			Subject:    tr.Subject,
			Audience:   s.issuerAud, // shared and read-only
			Expiry:     now.Add(s.refreshTTL),
			IssuedAt:   now,
			ClientID:   tr.Client.ID,
			Scope:      strings.Join(tr.grantedForRefresh(), " "),
			AuthTime:   tr.AuthTime,
			FamilyID:   tr.familyID,
			Generation: tr.generation,
			Resource:   tr.Audience,
			Status:     tr.status,

			Confirmation: tr.refreshConfirmation(),
			Extra:        tr.openIDExtra(),
		}
		body = append(body, `,"refresh_token":"`...)
		if body, err = s.internal.AppendSeal(body, crypttoken.TypeRefresh, &rt); err != nil {
			resp.Body = body // the access token: Release wipes it
			resp.Release()
			return nil, AsError(err)
		}
		body = append(body, '"')
		res.RefreshIssued = true
	}
	if scopeDiffers(tr.requestedScope, scope) {
		body = append(body, `,"scope":`...)
		body = jsonenc.AppendString(body, scope)
	}
	if tr.oidc != nil {
		// OpenID Connect Core 1.0 §3.1.3.3, §12.2.
		body = append(body, `,"id_token":"`...)
		var e *Error
		if body, e = s.appendIDToken(ctx, body, tr.oidc, now); e != nil {
			resp.Body = body
			resp.Release()
			return nil, e
		}
		body = append(body, '"')
	}
	body = append(body, '}')
	resp.Body = body
	return resp, nil
}

// scopeDiffers reports whether the granted scope differs from the scope
// requested, in which case the response must state it (RFC 6749 §5.1).
func scopeDiffers(requested, granted string) bool {
	switch {
	case requested == granted:
		return false
	case requested == "":
		return true
	}
	req, e := ParseScope(requested)
	if e != nil {
		return true
	}
	// Compare the sets without splitting granted into a slice: every
	// distinct token of granted must be requested, and there must be as
	// many distinct ones as requested.
	distinct := 0
	for start := 0; start < len(granted); {
		end := strings.IndexByte(granted[start:], ' ')
		if end < 0 {
			end = len(granted)
		} else {
			end += start
		}
		tok := granted[start:end]
		if tok != "" {
			if !slices.Contains(req, tok) {
				return true
			}
			if !hasToken(granted[:start], tok) {
				distinct++
			}
		}
		start = end + 1
	}
	return distinct != len(req)
}

// hasToken reports whether the space-separated list s holds tok.
func hasToken(s, tok string) bool {
	for s != "" {
		var t string
		t, s, _ = strings.Cut(s, " ")
		if t == tok {
			return true
		}
	}
	return false
}
