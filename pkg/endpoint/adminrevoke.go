package endpoint

import (
	"context"
	"errors"
)

// ErrUnknownToken means AdminRevoke was given a token that opens with none
// of the Server's rings as an access token or refresh token: malformed,
// sealed by another issuer, expired, or an authorization code.
var ErrUnknownToken = errors.New("endpoint: token does not open as an access or refresh token of this issuer")

// Revocation describes what AdminRevoke revoked. It names the token by its
// jti and never holds the token.
type Revocation struct {
	// JTI is the token's "jti".
	JTI string
	// Kind is HintAccessToken or HintRefreshToken.
	Kind string
	// ClientID is the client the token was issued to.
	ClientID string
	// StatusURI and StatusIndex name the status list entry whose bit was
	// set (SPEC §9); StatusURI is empty when the token has none of this
	// Server's lists (it was issued before status lists were on).
	StatusURI   string
	StatusIndex uint64
	// Family reports that the token's refresh family was revoked with it.
	Family bool
}

// AdminRevoke revokes a token on the operator's word (`issuer revoke`):
// with no client authentication and no quota, exactly as RFC 7009
// revocation by its client would (Revoke): an access token's status bit is
// set, or its jti recorded when it has no status entry; a refresh token's
// family is revoked with its bit; an access token that shares its grant's
// entry revokes the grant. The token must open with the Server's rings,
// with the usual leeway; anything else is ErrUnknownToken. Store failures
// are returned as they are (store.ErrUnavailable).
func (s *Server) AdminRevoke(ctx context.Context, raw string) (Revocation, error) {
	c, kind := s.lookupToken(raw, "")
	if kind == 0 {
		return Revocation{}, ErrUnknownToken
	}
	rv := Revocation{JTI: c.ID, Kind: HintAccessToken, ClientID: c.ClientID}
	if kind == kindRefresh {
		rv.Kind = HintRefreshToken
	}
	if _, idx, ok := s.statusTarget(c.Status, accessAud(kind, c)); ok {
		rv.StatusURI, rv.StatusIndex = c.Status.URI, idx
	}
	rv.Family = c.FamilyID != "" && (kind == kindRefresh || rv.StatusURI != "")
	if err := s.revokeToken(ctx, kind, c, s.now()); err != nil {
		return Revocation{}, err
	}
	return rv, nil
}
