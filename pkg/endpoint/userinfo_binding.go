package endpoint

import (
	"context"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// checkTokenBinding is the one place the UserInfo endpoint checks that the
// presenter of access token c holds the key c is bound to (SPEC §10): for
// cnf.jkt, a DPoP proof over this request and the token (RFC 9449 §4.3,
// §7.1: pkg/dpop's Verifier.Verify with the request's method and URI, the
// token as sent and the thumbprint); for cnf.x5t#S256, the client
// certificate of the connection (RFC 8705 §3). A bound token presented with
// the Bearer scheme, and a bearer token presented with the DPoP scheme,
// are invalid_token.
//
// This server has no DPoP proof verifier or client-certificate source at
// its resource endpoints yet, so a bound token is refused here: it fails
// closed and is never taken as a bearer token.
func (s *Server) checkTokenBinding(_ context.Context, _ *Request, scheme, _ string, c *crypttoken.Claims) *Error {
	switch {
	case c.Confirmation.JKT != "" && scheme != schemeDPoP:
		return NewError(InvalidToken, "the access token is DPoP-bound: present it with the DPoP scheme and a proof (RFC 9449 section 7.1)")
	case c.Confirmation.JKT != "":
		return NewError(InvalidToken, "DPoP-bound access tokens are not accepted at this endpoint")
	case c.Confirmation.X5TS256 != "":
		return NewError(InvalidToken, "certificate-bound access tokens are not accepted at this endpoint")
	case scheme == schemeDPoP:
		return NewError(InvalidToken, "the access token is not DPoP-bound: present it with the Bearer scheme")
	}
	return nil
}
