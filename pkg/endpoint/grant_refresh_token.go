package endpoint

import (
	"context"
	"errors"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
)

// refreshToken validates a refresh token grant (RFC 6749 §6) with rotation:
// every refresh issues a new refresh token one generation on, and a refresh
// token presented twice reveals a theft, so its whole family is revoked
// (RFC 9700 §4.14.2).
//
// The access token's audience is the grant's (the refresh token's
// resource); a resource parameter may only name it again, since RFC 8707
// §2.2 lets a refresh narrow the audiences of the grant but never widen or
// switch them: anything else is invalid_target.
//
// The first refresh of a family creates its store entry, so it counts
// against the client's quota (WithClientQuota) and is answered 429 beyond
// it; a refresh token whose family has moved on or been revoked always
// reaches the store, so that reuse is detected whatever the quota.
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
	if resource := p.Get("resource"); resource != "" && rt.Resource != "" && resource != rt.Resource {
		return Errorf(InvalidTarget, "resource %q is not an audience of the grant: a refresh may only narrow them (RFC 8707 §2.2)", safeName(resource))
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
	quotaKey := quotaKey(&account{id: tr.Client.ID, public: tr.Client.Public}, rt.Subject)
	tr.commit = func(ctx context.Context) *Error {
		err := s.rotate(ctx, fid, gen, keepUntil, quotaKey, tr.now)
		var qe *Error
		switch {
		case errors.As(err, &qe):
			return qe
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

// rotate advances refresh family fid from generation gen. The first
// rotation (gen 0) creates the family's store entry and is charged to the
// client's quota; when the quota is used up, the family's state decides:
// one that has moved on or is revoked goes to the store anyway, uncharged,
// so that reuse is detected and the family revoked; a fresh one is
// refused with 429 and stays at generation 0, its refresh token unspent.
func (s *Server) rotate(ctx context.Context, fid string, gen uint64, keepUntil time.Time, key string, now time.Time) error {
	if gen != 0 {
		return s.store.RotateRefresh(ctx, fid, gen, keepUntil)
	}
	if refused := s.quota.reserve(key, now); refused != nil {
		cur, revoked, err := s.store.RefreshState(ctx, fid)
		if err != nil {
			return err
		}
		if cur == 0 && !revoked {
			return refused
		}
		return s.store.RotateRefresh(ctx, fid, gen, keepUntil)
	}
	err := s.store.RotateRefresh(ctx, fid, gen, keepUntil)
	s.quota.settle(key, now, err == nil)
	return err
}
