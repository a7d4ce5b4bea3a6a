package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/store"
)

// Paths of what the issuer publishes for resource servers (SPEC §9).
const (
	// PathStatusLists is the Token Status List path: the aggregation
	// endpoint itself, each list at PathStatusLists/<id>.
	PathStatusLists = "/statuslists"
	// PathResourceKeys is the key delivery endpoint
	// (resource_keys_endpoint).
	PathResourceKeys = "/resource-keys"
)

// Route names of the published documents in logs and metrics.
const (
	RouteStatusList   = "status_list"
	RouteResourceKeys = "resource_keys"
)

// Paths returns the endpoint paths cmd/issuer serves: endpoint.DefaultPaths
// with the JWK Set, the status lists and the key deliveries.
func Paths() endpoint.Paths {
	p := endpoint.DefaultPaths
	p.JWKS, p.StatusLists, p.ResourceKeys = PathJWKS, PathStatusLists, PathResourceKeys
	return p
}

// newStatusAllocator returns this process's allocator of status list
// entries (SPEC §9): one per process, kept across configuration reloads,
// so that a reload neither reuses nor abandons a list.
func newStatusAllocator(cfg *config.Config, a *App) (*endpoint.LocalStatusAllocator, error) {
	alloc, err := endpoint.NewStatusAllocator(a.Store, endpoint.StatusListURIPrefix(cfg.Issuer, Paths()))
	if err != nil {
		return nil, fmt.Errorf("server: status lists: %w", err)
	}
	return alloc, nil
}

// KeyDeliveryMaxAge is the Cache-Control max-age of key deliveries: a tenth
// of keys.propagation, between 1 s and a minute, so that a resource server
// behind a cache learns a pending key well before it seals.
func KeyDeliveryMaxAge(propagation time.Duration) time.Duration {
	return min(max((propagation/10).Truncate(time.Second), time.Second), time.Minute)
}

// publicationOptions are the endpoint options of what the issuer publishes
// for resource servers: status lists and key deliveries.
func (a *App) publicationOptions(cfg *config.Config) []endpoint.Option {
	return []endpoint.Option{
		endpoint.WithStatusLists(a.statusAlloc, cfg.Tokens.StatusListTTL),
		endpoint.WithKeyDeliveryMaxAge(KeyDeliveryMaxAge(cfg.Keys.Propagation)),
	}
}

// recipientOf parses a resource server's registered JWK Set for its key
// deliveries; nil without one, or when the set only holds the keys it
// authenticates with (private_key_jwt, self_signed_tls_client_auth).
func recipientOf(rs config.ResourceServer) (*keys.Recipient, error) {
	if rs.JWKS == "" {
		return nil, nil
	}
	r, err := keys.ParseRecipient([]byte(rs.JWKS))
	switch {
	case err == nil:
		return r, nil
	case authUsesKeys(rs.TokenEndpointAuthMethod) && errors.Is(err, keys.ErrNoEncryptionKey):
		return nil, nil
	}
	return nil, fmt.Errorf("server: resource server %q: jwks: %w", rs.ID, err)
}

// authUsesKeys reports whether a token_endpoint_auth_method authenticates
// with the registration's JWK Set.
func authUsesKeys(method string) bool {
	return method == config.AuthPrivateKeyJWT || method == config.AuthSelfSignedTLS
}

// AdminEndpoint returns an endpoint server of cfg over the rings kr and the
// store st, for commands that act on the issuer's state beside the
// running server (`issuer revoke`): it knows no clients and issues
// nothing, and its status lists, revocations and lifetimes are the
// server's. kr must be open.
func AdminEndpoint(cfg *config.Config, kr *KeyRings, st store.Store) (*endpoint.Server, error) {
	names := make([]string, 0, len(cfg.Audiences))
	for _, au := range cfg.Audiences {
		names = append(names, au.Name)
	}
	def, _ := cfg.DefaultAudience()
	rings, err := kr.Endpoint(def, names...)
	if err != nil {
		return nil, err
	}
	rings.Signing = kr.Signing()
	clients, err := endpoint.NewStaticClients()
	if err != nil {
		return nil, err
	}
	return endpoint.New(cfg.Issuer, rings, clients, st,
		endpoint.WithPaths(Paths()),
		endpoint.WithLifetimes(cfg.Tokens.AccessTTL, cfg.Tokens.RefreshTTL, cfg.Tokens.CodeTTL),
		endpoint.WithLeeway(cfg.Tokens.Leeway))
}
