package endpoint

import (
	"context"
	"errors"

	"github.com/sealedtoken/issuer/pkg/store"
)

// refreshToken validates a refresh token grant (RFC 6749 §6) with rotation:
// every refresh issues a new refresh token one generation on, and a refresh
// token presented twice reveals a theft, so its whole family is revoked
// (RFC 9700 §4.14.2).
func (s *Server) refreshToken(ctx context.Context, tr *TokenRequest) *Error {
	if e := requireGrant(tr); e != nil {
		return e
	}
	p := &tr.Params
	raw := p.Get("refresh_token")
	if raw == "" {
		return NewError(InvalidRequest, "missing refresh_token")
	}
	rt, err := s.refreshes.Open(raw)
	if err != nil {
		return NewError(InvalidGrant, "the refresh token is invalid or expired").withCause(err)
	}
	if rt.ClientID != tr.Client.ID {
		return NewError(InvalidGrant, "the refresh token was issued to another client")
	}
	if rt.FamilyID == "" {
		return NewError(InvalidGrant, "the refresh token is invalid or expired")
	}
	original := rt.Scopes()
	scopes, e := grantScope(tr.Client, tr.requestedScope, original)
	if e != nil {
		return e
	}
	aud, e := s.chooseAudience(tr.Client, p.Get("resource"), rt.Resource)
	if e != nil {
		return e
	}
	// Rotating is the last step, once the new tokens are sealed (Token):
	// a hook's refusal or a sealing failure must not advance the family,
	// or the client's refresh token would be spent with no successor and
	// its next use taken for a theft. The family must outlive the refresh
	// token issued now, including the leeway during which replicas still
	// accept it (package store, Expiry): a family forgotten too early would
	// start again at generation 0.
	fid, gen, keepUntil := rt.FamilyID, rt.Generation, tr.now.Add(s.refreshTTL+s.leeway)
	tr.commit = func(ctx context.Context) *Error {
		err := s.store.RotateRefresh(ctx, fid, gen, keepUntil)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrRefreshReused):
			return NewError(InvalidGrant, "the refresh token was already used; the grant is revoked").withCause(err)
		case errors.Is(err, store.ErrFamilyRevoked):
			return NewError(InvalidGrant, "the refresh token was revoked").withCause(err)
		}
		return AsError(err)
	}
	tr.Scopes, tr.refreshScopes = scopes, original
	tr.Audience, tr.Subject, tr.AuthTime = aud, rt.Subject, rt.AuthTime
	tr.familyID, tr.generation, tr.refresh = rt.FamilyID, rt.Generation+1, true
	return nil
}
