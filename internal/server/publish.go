package server

import (
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
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

// recipientOf parses a resource server's registered JWK Set; nil without
// one.
func recipientOf(rs config.ResourceServer) (*keys.Recipient, error) {
	if rs.JWKS == "" {
		return nil, nil
	}
	r, err := keys.ParseRecipient([]byte(rs.JWKS))
	if err != nil {
		return nil, fmt.Errorf("server: resource server %q: jwks: %w", rs.ID, err)
	}
	return r, nil
}
