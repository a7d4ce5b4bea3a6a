package endpoint

import (
	"context"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// checkTokenBinding is the one place the UserInfo endpoint checks that the
// presenter of access token c holds the key c is bound to (SPEC §10), by
// the same rules as every protected resource of the issuer
// (CheckTokenBinding): for cnf.jkt, a DPoP proof over this request and the
// token as sent (RFC 9449 §4.3, §7.1), single-use in the store; for
// cnf.x5t#S256, the client certificate of the connection or, from trusted
// proxies, the Client-Cert header (RFC 8705 §3, RFC 9440). A bound token
// presented with the Bearer scheme, and a bearer token presented with the
// DPoP scheme, are invalid_token; a binding that cannot be checked fails,
// never falling back to a bearer token. The error's scheme (and, for
// use_dpop_nonce, the nonce) reach the response through resourceError.
func (s *Server) checkTokenBinding(ctx context.Context, r *Request, scheme, token string, c *crypttoken.Claims) *Error {
	return s.CheckTokenBinding(ctx, r, s.paths.UserInfo, scheme, token, c)
}
