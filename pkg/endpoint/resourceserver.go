package endpoint

import (
	"fmt"
	"slices"

	"github.com/sealedtoken/issuer/pkg/secret"
)

// ResourceServer is a registered resource server: a service that accepts
// the access tokens of some audiences (RFC 8707 resource indicators). It
// authenticates at the introspection and revocation endpoints exactly as a
// confidential client does (HTTP Basic or client_secret_post, the same
// Limiter policy, RFC 6749 §2.3.1), but it is not a client: it gets no
// tokens, and the token endpoint does not know it.
//
// What it may do (RFC 7662 §4 leaves the policy to the server):
//
//   - introspect the access tokens of its audiences, whichever client they
//     were issued to; any other token is {"active":false} to it;
//   - revoke the access tokens of its audiences (RFC 7009: a resource
//     server that sees a token misused can cut it off at once); refresh
//     tokens stay revocable only by their client.
type ResourceServer struct {
	// ID identifies the resource server; it is unique among clients and
	// resource servers alike, and is its user-id in HTTP Basic.
	ID string
	// Secret is the hash of its secret (package secret).
	Secret secret.Hash
	// Audiences are the audiences whose tokens it may introspect and
	// revoke; each must be an audience of the Server.
	Audiences []string
}

// mayInspect reports whether rs may see an access token with audience aud.
func (rs *ResourceServer) mayInspect(aud []string) bool {
	for _, a := range aud {
		if slices.Contains(rs.Audiences, a) {
			return true
		}
	}
	return false
}

// WithResourceServers registers resource servers (see ResourceServer). New
// checks that each has an id, a secret and audiences the Server knows, and
// that no id is repeated or, when the ClientStore can list its clients
// (ClientLister), is also a client's.
func WithResourceServers(list ...*ResourceServer) Option {
	return optionFunc(func(s *Server) error {
		if s.resourceServers == nil {
			s.resourceServers = make(map[string]*ResourceServer, len(list))
		}
		for i, rs := range list {
			switch {
			case rs == nil || rs.ID == "":
				return fmt.Errorf("endpoint: resource server %d has no id", i)
			case rs.Secret.IsZero():
				return fmt.Errorf("endpoint: resource server %q has no secret", rs.ID)
			case len(rs.Audiences) == 0:
				return fmt.Errorf("endpoint: resource server %q has no audiences", rs.ID)
			case s.resourceServers[rs.ID] != nil:
				return fmt.Errorf("endpoint: resource server %q listed twice", rs.ID)
			}
			s.resourceServers[rs.ID] = rs
		}
		return nil
	})
}

// checkResourceServers runs the checks of WithResourceServers that need
// the finished Server: audiences known, ids distinct from client ids.
func (s *Server) checkResourceServers() error {
	var clientIDs []string
	if l, ok := s.clients.(ClientLister); ok {
		for _, c := range l.Clients() {
			clientIDs = append(clientIDs, c.ID)
		}
	}
	for id, rs := range s.resourceServers {
		for _, a := range rs.Audiences {
			if s.audiences[a] == nil {
				return fmt.Errorf("endpoint: resource server %q: unknown audience %q", id, a)
			}
		}
		if slices.Contains(clientIDs, id) {
			return fmt.Errorf("endpoint: resource server %q has the id of a client", id)
		}
	}
	return nil
}
