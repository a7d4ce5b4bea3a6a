package endpoint

import (
	"context"
)

// Revoke handles a request to the token revocation endpoint (RFC 7009) and
// returns the response to send.
//
// The request is a form POST (§2.1) with the token and an optional
// token_type_hint ("access_token" or "refresh_token"; the hinted kind is
// tried first and any other value is ignored, so unsupported_token_type is
// never answered: both kinds are revocable). The client authenticates as at
// the token endpoint; a public client identifies itself with client_id
// (§2.1, RFC 6749 §2.3).
//
// As §2.1 requires, the server then verifies that the token was issued to
// the requesting client; if it was issued to another, the request is
// refused with unauthorized_client (400), the RFC 6749 §5.2 code for a
// client not allowed what it asks. A registered resource server
// (WithResourceServers) authenticates the same way and may revoke the
// access tokens of its audiences, so that it can cut off a token it sees
// misused; refresh tokens stay revocable by their client only. A token
// that does not open — malformed, unknown, expired, or an authorization
// code — is answered 200 and nothing happens (§2.2: "invalid tokens do not
// cause an error response").
//
// Each revocation is a store entry kept until the token could have
// expired, so it counts against the caller's quota (WithClientQuota):
// beyond it the answer is 429 with Retry-After and nothing is revoked, and
// the client must, as after any error, assume the token still valid and
// retry (§2.2.1).
//
// Revoking a refresh token revokes its whole family, and with it every
// access token issued from the same grant, since those carry the family id
// (§2.1: "SHOULD also invalidate all access tokens based on the same
// authorization grant"); the family stays revoked until the last token it
// may hold has expired. Revoking an access token records its jti until its
// expiry. Resource servers that verify tokens locally learn of a revocation
// only through introspection: access tokens stay short-lived for that
// reason.
//
// Success is 200 with an empty body (§2.2). When the store cannot be
// reached the answer is 503 temporarily_unavailable, after which the client
// must assume the token still valid and retry (§2.2.1).
func (s *Server) Revoke(ctx context.Context, r *Request) (*Response, Result) {
	var res Result
	e := s.revoke(ctx, withHeader(r), &res)
	if e != nil {
		res.Err = e
		return errorResponse(e), res
	}
	return &Response{Status: 200, Header: noStoreHeaders[:len(noStoreHeaders):len(noStoreHeaders)]}, res
}

// noStoreHeaders go on a response without a body that must not be cached.
var noStoreHeaders = []HeaderField{
	{"Cache-Control", "no-store"},
	{"Pragma", "no-cache"},
}

func (s *Server) revoke(ctx context.Context, r *Request, res *Result) *Error {
	caller, p, e := s.companionRequest(ctx, r, "revocation", "RFC 7009 §2.1")
	if e != nil {
		res.PresentedClientID = presentedClientID(r, &p)
		return e
	}
	res.ClientID = caller.id
	raw := p.Get("token")
	if raw == "" {
		return NewError(InvalidRequest, "missing token (RFC 7009 §2.1)")
	}
	c, kind := s.lookupToken(raw, p.Get("token_type_hint"))
	if kind == 0 {
		return nil // RFC 7009 §2.2: an invalid token is not an error
	}
	allowed := c.ClientID == caller.id
	if caller.rs != nil {
		allowed = kind == kindAccess && caller.rs.mayInspect(c.Audience)
	}
	if !allowed {
		return NewError(UnauthorizedClient, "the token was not issued to this client (RFC 7009 §2.1)")
	}
	res.JTI = c.ID
	now := s.now()
	return s.quota.spend(ctx, quotaKey(&caller, c.Subject), now, func(ctx context.Context) error {
		if kind == kindRefresh && c.FamilyID != "" {
			// Every token of the family, whatever its generation, expires
			// by now+refreshTTL; replicas accept it for the leeway after.
			return s.store.RevokeFamily(ctx, c.FamilyID, now.Add(s.refreshTTL+s.leeway))
		}
		return s.store.RevokeToken(ctx, c.ID, c.Expiry.Add(s.leeway))
	})
}
