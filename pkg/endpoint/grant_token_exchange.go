package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// Token type identifiers of RFC 8693 §3.
const (
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
)

// exchangeParty is the subject or the actor of a token exchange, from the
// token that represents it.
type exchangeParty struct {
	// subject is the party's "sub" as tokens of this server name it (a
	// trusted issuer's mapped by its Subject); rawSubject is the token's
	// own "sub", which the token's issuer's may_act statements use.
	subject, rawSubject string
	// issuer is the token's "iss"; external reports a trusted issuer's.
	issuer   string
	external bool
	clientID string
	// scopes is the token's scope; nil when the token states none (a
	// trusted issuer's JWT without "scope").
	scopes []string
	// act and mayAct are the token's "act" and "may_act" claims, raw.
	act, mayAct json.RawMessage
	expiry      time.Time
	authTime    time.Time
	familyID    string
	// status is an access token of this server's status list entry (SPEC
	// §9): the exchanged token shares it, as it shares the grant.
	status crypttoken.StatusRef
}

// tokenExchange validates a token exchange request (RFC 8693 §2.1) for an
// access token on behalf of the subject of subject_token, optionally with
// an actor (actor_token).
//
// Tokens (§2.1, subject_token_type and actor_token_type
// urn:ietf:params:oauth:token-type:access_token or :jwt): an access token
// of this server, opened with the ring of its audience, live (not expired
// by the issuer's clock, not revoked by jti or grant, not living longer
// than this server issues them for); or a JWT of a trusted issuer
// (WithTrustedIssuers), verified as verifyTrustedJWT says. Anything else,
// including a token that is expired or revoked, is invalid_request
// (§2.2.2).
//
// Policy: the client needs the token-exchange grant; the new token's
// audience (resource or audience, §2.1, one of them or both equal) must be
// one of its TokenExchangeAudiences (the first by default), else
// invalid_target; its scope is the one requested, or the subject token's,
// and only narrows: at most the subject token's scope and the client's
// scopes (invalid_scope). When the subject token carries "may_act" (§4.4)
// the actor — the actor token's subject, or the client itself when there is
// no actor token — must match it member for member (sub, iss, client_id;
// any other member cannot be matched and fails), else invalid_request.
//
// The access token names the subject token's subject and carries "act"
// (§4.1) when there is an actor: {"sub": the actor, "iss" when a trusted
// issuer's token named it, "act": the subject token's own "act"}, so a
// chain of exchanges nests. It belongs to the subject token's grant (its
// refresh family, so revoking the grant revokes it), never outlives the
// subject token, and comes without a refresh token; the response says
// issued_token_type (§2.2.1).
func (s *Server) tokenExchange(ctx context.Context, tr *TokenRequest) *Error {
	if e := requireGrant(tr); e != nil {
		return e
	}
	p := &tr.Params
	subjectToken, subjectType := p.Get("subject_token"), p.Get("subject_token_type")
	if subjectToken == "" || subjectType == "" {
		return NewError(InvalidRequest, "subject_token and subject_token_type are required (RFC 8693 §2.1)")
	}
	if rt := p.Get("requested_token_type"); rt != "" && rt != TokenTypeAccessToken {
		return Errorf(InvalidRequest, "requested_token_type %q is not supported: only access tokens are issued (RFC 8693 §2.1)", safeName(rt))
	}
	actorToken, actorType := p.Get("actor_token"), p.Get("actor_token_type")
	if (actorToken == "") != (actorType == "") {
		return NewError(InvalidRequest, "actor_token_type is required with actor_token, and only with it (RFC 8693 §2.1)")
	}
	subject, e := s.exchangeParty(ctx, subjectToken, subjectType, tr.now, "subject_token")
	if e != nil {
		return e
	}
	var actor *exchangeParty
	if actorToken != "" {
		if actor, e = s.exchangeParty(ctx, actorToken, actorType, tr.now, "actor_token"); e != nil {
			return e
		}
	}
	if len(subject.mayAct) > 0 && !s.mayAct(subject.mayAct, actor, tr.Client) {
		return NewError(InvalidRequest, "the subject_token's may_act does not name this actor (RFC 8693 §4.4)")
	}
	aud, e := s.exchangeAudience(tr.Client, p.Get("resource"), p.Get("audience"))
	if e != nil {
		return e
	}
	scopes, e := exchangeScope(tr.Client, tr.requestedScope, subject.scopes)
	if e != nil {
		return e
	}
	if actor != nil {
		act, err := actClaim(actor, subject.act)
		if err != nil {
			return AsError(err)
		}
		tr.extra = map[string]json.RawMessage{"act": act}
	} else if len(subject.act) > 0 {
		// Without a new actor the delegation the subject token records
		// stays recorded.
		tr.extra = map[string]json.RawMessage{"act": subject.act}
	}
	tr.Scopes, tr.Audience, tr.Subject, tr.AuthTime = scopes, aud, subject.subject, subject.authTime
	tr.familyID, tr.notAfter = subject.familyID, subject.expiry
	tr.status = subject.status // revoking the subject's grant flips the exchanged token's bit too
	tr.issuedTokenType = TokenTypeAccessToken
	return nil
}

// exchangeScope decides the scope of an exchanged token: the requested
// scope, or the subject token's when none is requested, within the
// client's scopes and, when the subject token states a scope (ceiling not
// nil), within that (RFC 8693 §2.1: scope only narrows).
func exchangeScope(c *Client, requested string, ceiling []string) ([]string, *Error) {
	if ceiling != nil && len(ceiling) == 0 && requested == "" {
		return nil, NewError(InvalidScope, "the subject_token grants no scope")
	}
	scopes, e := grantScope(c, requested, ceiling)
	if e != nil && ceiling != nil && requested != "" {
		// Say which bound the request broke.
		if req, _ := ParseScope(requested); req != nil {
			for _, sc := range req {
				if !slices.Contains(ceiling, sc) {
					return nil, Errorf(InvalidScope, "scope %q exceeds the subject_token's: token exchange only narrows the scope (RFC 8693 §2.1)", sc)
				}
			}
		}
	}
	return scopes, e
}

// exchangeAudience picks the audience of an exchanged token from the
// resource and audience parameters (RFC 8693 §2.1), among the client's
// TokenExchangeAudiences.
func (s *Server) exchangeAudience(c *Client, resource, audience string) (string, *Error) {
	name := resource
	switch {
	case resource != "" && audience != "" && resource != audience:
		return "", NewError(InvalidTarget, "resource and audience name different targets: a token is issued for one audience at a time (RFC 8693 §2.1)")
	case name == "":
		name = audience
	}
	if name == "" {
		if len(c.TokenExchangeAudiences) == 0 {
			return "", NewError(InvalidTarget, "the client may not exchange tokens into any audience (RFC 8693 §2.2.2)")
		}
		name = c.TokenExchangeAudiences[0]
	}
	if !slices.Contains(c.TokenExchangeAudiences, name) || s.audiences[name] == nil {
		return "", Errorf(InvalidTarget, "the client may not exchange tokens into audience %q (RFC 8693 §2.2.2)", safeName(name))
	}
	return name, nil
}

// exchangeParty reads a subject or actor token (RFC 8693 §2.1): an access
// token of this server, or a JWT of a trusted issuer.
func (s *Server) exchangeParty(ctx context.Context, raw, typ string, now time.Time, what string) (*exchangeParty, *Error) {
	if typ != TokenTypeAccessToken && typ != TokenTypeJWT {
		return nil, Errorf(InvalidRequest, "%s_type %q is not supported: use %s or %s (RFC 8693 §3)", what, safeName(typ), TokenTypeAccessToken, TokenTypeJWT)
	}
	switch strings.Count(raw, ".") {
	case 4: // a JWE: one of ours
		return s.ownParty(ctx, raw, now, what)
	case 2: // a JWS: a trusted issuer's
		if len(s.trustedIssuers) == 0 {
			return nil, Errorf(InvalidRequest, "%s is not a token of this server", what)
		}
		t, e := s.verifyTrustedJWT(ctx, raw, InvalidRequest, what, false)
		if e != nil {
			return nil, e
		}
		c := t.claims
		p := &exchangeParty{
			subject: t.subject, rawSubject: c.Subject, issuer: c.Issuer, external: true,
			expiry: c.Expiry, act: c.Extra["act"], mayAct: c.Extra["may_act"],
		}
		var scope string
		if err := c.Decode("scope", &scope); err == nil && scope != "" {
			p.scopes = (&crypttoken.Claims{Scope: scope}).Scopes()
		}
		var cid string
		if err := c.Decode("client_id", &cid); err == nil {
			p.clientID = cid
		}
		var at int64
		if err := c.Decode("auth_time", &at); err == nil && at > 0 {
			p.authTime = time.Unix(at, 0)
		}
		return p, nil
	}
	return nil, Errorf(InvalidRequest, "%s is not a token this server accepts", what)
}

// ownParty opens an access token of this server for token exchange: with
// the ring of its audience (found by the JWE kid, as introspection does),
// not expired by the server's clock, no longer-lived than this server
// issues access tokens, and live in the store (neither its jti nor its
// grant revoked).
func (s *Server) ownParty(ctx context.Context, raw string, now time.Time, what string) (*exchangeParty, *Error) {
	bad := func(desc string, cause error) *Error {
		return NewError(InvalidRequest, what+" "+desc+" (RFC 8693 §2.2.2)").withCause(cause)
	}
	kid, ok := peekKID(raw)
	if !ok {
		return nil, bad("is invalid or expired", errors.New("endpoint: no kid"))
	}
	var c *crypttoken.Claims
	var lastErr error = errors.New("endpoint: no audience ring holds the kid")
	for _, a := range s.audienceOrder {
		if _, held := a.ring.Load().Lookup(kid); !held {
			continue
		}
		var err error
		if c, err = a.opener.Open(raw); err == nil {
			break
		}
		lastErr = err
	}
	switch {
	case c == nil:
		return nil, bad("is invalid or expired", lastErr)
	case !now.Before(c.Expiry):
		return nil, bad("has expired", nil)
	case !s.lifetimeOK(kindAccess, c):
		return nil, bad("is invalid or expired", errors.New("endpoint: access token lifetime exceeds the server's"))
	}
	live, err := s.live(ctx, kindAccess, c)
	if err != nil {
		return nil, AsError(err)
	}
	if !live {
		return nil, bad("has been revoked", nil)
	}
	scopes := c.Scopes()
	if scopes == nil {
		scopes = []string{} // states a scope: none
	}
	return &exchangeParty{
		subject: c.Subject, rawSubject: c.Subject, issuer: c.Issuer, clientID: c.ClientID,
		scopes: scopes, act: c.Extra["act"], mayAct: c.Extra["may_act"],
		expiry: c.Expiry, authTime: c.AuthTime, familyID: c.FamilyID, status: c.Status,
	}, nil
}

// mayAct reports whether the subject token's may_act claim (RFC 8693
// §4.4) names the actor: the actor token's party, or, without an actor
// token, the client itself (its id as "sub" and "client_id", this server
// as "iss"). Every member must match; a member other than sub, iss and
// client_id cannot be checked, so it fails, as does a may_act that is not
// an object of strings.
func (s *Server) mayAct(raw json.RawMessage, actor *exchangeParty, c *Client) bool {
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return false
	}
	sub, iss, cid := c.ID, s.issuer, c.ID
	if actor != nil {
		sub, iss, cid = actor.rawSubject, actor.issuer, actor.clientID
	}
	for name, v := range m {
		switch name {
		case "sub":
			if v != sub {
				return false
			}
		case "iss":
			if v != iss {
				return false
			}
		case "client_id":
			if v != cid {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// actClaim builds the "act" claim (RFC 8693 §4.1) naming actor as the
// current actor, with prior, the subject token's own "act", nested inside.
func actClaim(actor *exchangeParty, prior json.RawMessage) (json.RawMessage, error) {
	act := &jws.Claims{Subject: actor.subject}
	if actor.external {
		act.Issuer = actor.issuer
	}
	if len(prior) > 0 {
		act.Extra = map[string]json.RawMessage{"act": prior}
	}
	return act.MarshalJSON()
}
