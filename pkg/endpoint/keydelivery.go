package endpoint

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// Key deliveries (SPEC §9): a resource server fetches its audiences' keys
// from the issuer instead of being given a file.
const (
	// DefaultKeyDeliveryMaxAge is the Cache-Control max-age of a key
	// delivery unless WithKeyDeliveryMaxAge says otherwise: short, so that
	// a cache in front delays a new pending key by a minute at most.
	DefaultKeyDeliveryMaxAge = time.Minute
	// KeyDeliveryLifetime is a delivery's lifetime (exp − iat at most): a
	// replayed old delivery, which might still hold a key retired at once
	// since, is refused after it. It is within the signing ring's bound
	// for what it signs (24 h).
	KeyDeliveryLifetime = time.Hour
)

// WithKeyDeliveryMaxAge sets the Cache-Control max-age of key deliveries
// (1 s to 10 min, whole seconds; default DefaultKeyDeliveryMaxAge). Keep
// it well under the rotation's propagation time, so that resource servers
// behind a cache still learn a pending key before it seals.
func WithKeyDeliveryMaxAge(d time.Duration) Option {
	return optionFunc(func(s *Server) error {
		if d < time.Second || d > 10*time.Minute || d%time.Second != 0 {
			return fmt.Errorf("endpoint: key delivery max-age %s must be whole seconds in [1s, 10m]", d)
		}
		s.pub.deliveryMaxAge = d
		return nil
	})
}

// KeyDeliveryEnabled reports whether the Server serves key deliveries: it
// has a signing ring (Rings.Signing) and Paths.ResourceKeys.
func (s *Server) KeyDeliveryEnabled() bool { return s.pub.signing != nil && s.paths.ResourceKeys != "" }

// deliveryCache holds each resource server's current delivery.
type deliveryCache struct {
	mu   sync.Mutex
	byRS map[string]*deliveryEntry
}

// deliveryEntry is one resource server's delivery and what it was built
// from: a change of any ring (a rotation, a reload) or of the exp grid
// point rebuilds it.
type deliveryEntry struct {
	mu      sync.Mutex
	sets    []*keys.Set // the audiences' sets, in ResourceServer.Audiences order
	signing *keys.Set
	exp     time.Time
	body    []byte
	etag    string
}

func (c *deliveryCache) entry(id string) *deliveryEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byRS == nil {
		c.byRS = map[string]*deliveryEntry{}
	}
	e := c.byRS[id]
	if e == nil {
		e = &deliveryEntry{}
		c.byRS[id] = e
	}
	return e
}

// ResourceKeys handles GET and HEAD of the key delivery endpoint
// (Paths.ResourceKeys, metadata resource_keys_endpoint, SPEC §9):
// ?resource_server=<id> answers that resource server's key delivery, a
// nested JWT (keys.SealDelivery) of media type application/jwt: signed by
// the signing ring (typ rs-keys+jwt; iss, sub = the id, iat, exp and, for
// each of its audiences, the JWK Set of that ring's keys that open now,
// with their lifecycle) and encrypted to the resource server's registered
// key (ECDH-ES+A256KW, A256GCM, cty JWT).
//
// The rings it carries are exactly the resource server's audiences'
// (ResourceServer.Audiences): never the internal ring, never an audience
// it is not registered for. An id that is not a resource server with keys
// is 404; a missing or repeated parameter is 400 invalid_request.
//
// The delivery carries no secret in clear, so the endpoint asks for no
// credential and its answers may be cached by anyone: Cache-Control:
// public with a short max-age (WithKeyDeliveryMaxAge), and a weak ETag
// naming the content (the resource server, exp and the keys), which every
// replica computes alike although each encrypts with its own random
// values; a request whose If-None-Match matches it is answered 304. A
// delivery is built once per resource server and ring version and reused;
// "exp" lies on a grid every replica shares (KeyDeliveryLifetime ahead of
// the last quarter-lifetime boundary), so its ETag changes four times per
// lifetime when nothing else does.
func (s *Server) ResourceKeys(ctx context.Context, r *Request) (*Response, Result) {
	var res Result
	if !s.KeyDeliveryEnabled() {
		return notFound("no key deliveries are served"), res
	}
	if r.Method != "GET" && r.Method != "HEAD" {
		e := methodNotAllowed("GET, HEAD", "key deliveries are read with GET")
		res.Err = e
		return errorResponse(e), res
	}
	p, e := ParseParams(endpointQuery(r.URI))
	if e != nil {
		res.Err = e
		return errorResponse(e), res
	}
	id := p.Get(keys.DeliveryParameter)
	if id == "" {
		e := NewError(InvalidRequest, "missing "+keys.DeliveryParameter)
		res.Err = e
		return errorResponse(e), res
	}
	rs := s.resourceServers[id]
	if rs == nil || rs.Keys == nil {
		return notFound("no such resource server"), res
	}
	res.ClientID = rs.ID
	body, etag, err := s.delivery(rs, s.now())
	if err != nil {
		return s.storeFailure(err, &res)
	}
	maxAge := "public, max-age=" + strconv.Itoa(int(s.pub.deliveryMaxAge/time.Second))
	return s.cacheable(r, 200, keys.DeliveryMediaType, maxAge, etag, body), res
}

// delivery returns rs's current delivery and its ETag.
func (s *Server) delivery(rs *ResourceServer, now time.Time) ([]byte, string, error) {
	life := KeyDeliveryLifetime
	exp := now.Truncate(life / 4).Add(life)
	sets := make([]*keys.Set, len(rs.Audiences))
	for i, a := range rs.Audiences {
		aud := s.audiences[a]
		if aud == nil {
			// New checked every audience; a Server never loses one.
			return nil, "", fmt.Errorf("endpoint: resource server %q: unknown audience %q", rs.ID, a)
		}
		sets[i] = aud.ring.Load()
	}
	signing := s.pub.signing.Load()
	e := s.pub.deliveries.entry(rs.ID)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.body != nil && e.exp.Equal(exp) && e.signing == signing && samePointers(e.sets, sets) {
		return e.body, e.etag, nil
	}
	d := &keys.Delivery{
		Issuer: s.issuer, ResourceServer: rs.ID, IssuedAt: exp.Add(-life), Expiry: exp,
		Audiences: make(map[string]*keys.Set, len(sets)), Signed: s.signedIn(rs.Audiences),
	}
	for i, a := range rs.Audiences {
		d.Audiences[a] = sets[i]
	}
	// The ETag names the content as every replica builds it: the claims
	// with iat at the grid point, hashed (they hold keys; the hash does
	// not reveal them), and the key it is encrypted to.
	claims, err := keys.DeliveryClaims(d)
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	h.Write([]byte("sealedtoken key delivery\x00" + rs.Keys.KeyID() + "\x00"))
	h.Write(claims)
	clear(claims)
	etag := `W/"` + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18]) + `"`
	signer, err := signing.Sealing(now)
	if err != nil {
		return nil, "", noSigningKey(err)
	}
	d.IssuedAt = now.Truncate(time.Second)
	tok, err := keys.SealDelivery(d, signer, rs.Keys)
	if err != nil {
		return nil, "", err
	}
	e.sets, e.signing, e.exp, e.body, e.etag = sets, signing, exp, []byte(tok), etag
	return e.body, e.etag, nil
}

func samePointers(a, b []*keys.Set) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
