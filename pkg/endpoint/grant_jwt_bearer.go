package endpoint

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/sealedtoken/issuer/pkg/store"
)

// nsAssertion is the store namespace of used JWT bearer assertions.
const nsAssertion = "jwt-bearer"

// jwtBearer validates a JWT bearer authorization grant (RFC 7523 §2.1):
// the assertion parameter is a JWT of a trusted issuer (WithTrustedIssuers)
// vouching for a subject, and the client gets an access token for that
// subject.
//
// The assertion is checked as RFC 7523 §3 asks (verifyTrustedJWT): signed
// with the trusted issuer's keys, "iss" that issuer, "sub" present and
// accepted by the issuer's Subject mapping (cmd/issuer's subjects_as),
// "aud" this server's issuer identifier, its token endpoint URL or the
// issuer's Audience, "exp" present, not past and at most
// MaxBearerAssertionLifetime ahead, and a "jti", which is single-use: the store
// records it (per issuer) until "exp" plus the leeway, once the token is
// sealed, so a replay on any replica is refused. Every failure is
// invalid_grant (§3.1). Scope and resource are the client's, as for
// client_credentials; no refresh token is issued (the client presents a
// fresh assertion instead).
func (s *Server) jwtBearer(ctx context.Context, tr *TokenRequest) *Error {
	if len(s.trustedIssuers) == 0 {
		return NewError(UnsupportedGrantType, "the JWT bearer grant is not enabled on this server: no trusted issuers")
	}
	if e := requireGrant(tr); e != nil {
		return e
	}
	p := &tr.Params
	raw := p.Get("assertion")
	if raw == "" {
		return NewError(InvalidRequest, "missing assertion (RFC 7523 §2.1)")
	}
	a, e := s.verifyTrustedJWT(ctx, raw, InvalidGrant, "the assertion", true)
	if e != nil {
		return e
	}
	scopes, e := grantScope(tr.Client, tr.requestedScope, nil)
	if e != nil {
		return e
	}
	aud, e := s.chooseAudience(tr.Client, p.Get("resource"), "")
	if e != nil {
		return e
	}
	// The jti is the issuer's choice, of any length: the store keeps a
	// hash of it with the issuer.
	sum := sha256.Sum256([]byte(a.claims.Issuer + "\x00" + a.claims.ID))
	key := base64.RawURLEncoding.EncodeToString(sum[:])
	until := a.claims.Expiry.Add(s.leeway)
	tr.commit = func(ctx context.Context) *Error {
		err := s.store.UseOnce(ctx, nsAssertion, key, until)
		if errors.Is(err, store.ErrReplay) {
			return NewError(InvalidGrant, "the assertion was already used: its jti is single-use (RFC 7523 §3)").withCause(err)
		}
		return AsError(err)
	}
	tr.Scopes, tr.Audience, tr.Subject = scopes, aud, a.subject
	return nil
}
