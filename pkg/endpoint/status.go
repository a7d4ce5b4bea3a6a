package endpoint

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/statuslist"
	"github.com/sealedtoken/issuer/pkg/store"
)

// publication is what a Server publishes for resource servers (SPEC §9):
// Token Status Lists (this file) and key deliveries (keydelivery.go).
type publication struct {
	signing *keys.Ring // nil: neither is served

	// Status lists.
	alloc      StatusAllocator // nil: tokens carry no status
	ttl        time.Duration
	listPrefix string // URI prefix of the lists; "" without Paths.StatusLists
	aggURI     string // the aggregation endpoint's URL
	issuerPath string // the issuer URL's path, without a trailing slash
	lists      listCache

	// Key deliveries.
	deliveryMaxAge time.Duration
	deliveries     deliveryCache
}

// Defaults and bounds of WithStatusLists.
const (
	DefaultStatusListTTL = 30 * time.Second
	MaxStatusListTTL     = time.Hour
)

// WithStatusLists makes every access token carry a Token Status List entry
// ("status", draft-ietf-oauth-status-list §6.2) from a, and the Server
// publish the lists (StatusList) with "ttl" ttl (draft §5.1: how long a
// resource server may cache a list; 1 s to MaxStatusListTTL, whole
// seconds). It needs Paths.StatusLists and Rings.Signing.
//
// Revoking a token then sets its bit in the store (RFC 7009 revocation, a
// replayed code, a reused refresh token), introspection answers from the
// same bit, and resource servers that poll the lists refuse the token
// within ttl plus their polling delay.
func WithStatusLists(a StatusAllocator, ttl time.Duration) Option {
	return optionFunc(func(s *Server) error {
		if a == nil {
			return errors.New("endpoint: nil status allocator")
		}
		if ttl < time.Second || ttl > MaxStatusListTTL || ttl%time.Second != 0 {
			return fmt.Errorf("endpoint: status list ttl %s must be whole seconds in [1s, %s]", ttl, MaxStatusListTTL)
		}
		s.pub.alloc, s.pub.ttl = a, ttl
		return nil
	})
}

// initPublication checks and completes the publication options once the
// Server is built.
func (s *Server) initPublication(signing *keys.Ring) error {
	p := &s.pub
	p.signing = signing
	if u, err := url.Parse(s.issuer); err == nil {
		p.issuerPath = strings.TrimSuffix(u.EscapedPath(), "/")
	}
	if s.paths.StatusLists != "" {
		p.listPrefix = StatusListURIPrefix(s.issuer, s.paths)
		p.aggURI = strings.TrimSuffix(s.issuer, "/") + s.paths.StatusLists
	}
	if p.alloc != nil && (p.listPrefix == "" || signing == nil) {
		return errors.New("endpoint: WithStatusLists needs Paths.StatusLists and Rings.Signing: the lists must be published")
	}
	if p.deliveryMaxAge == 0 {
		p.deliveryMaxAge = DefaultKeyDeliveryMaxAge
	}
	for name := range s.audiences {
		if name == keys.InternalRing || name == keys.SigningRing {
			return fmt.Errorf("endpoint: audience %q has the name of an issuer ring", name)
		}
	}
	return nil
}

// publicationMetadata adds the metadata members of what is published
// (RFC 8414 §2 extensions): status_list_aggregation_endpoint (draft §9.1)
// and resource_keys_endpoint (SPEC §9).
func (s *Server) publicationMetadata(doc map[string]any, base string) {
	if s.pub.alloc != nil {
		doc[statuslist.MetadataName] = base + s.paths.StatusLists
	}
	if s.pub.signing != nil && s.paths.ResourceKeys != "" {
		doc[keys.DeliveryMetadataName] = base + s.paths.ResourceKeys
	}
}

// StatusListsEnabled reports whether tokens carry status entries and the
// Server publishes their lists (WithStatusLists).
func (s *Server) StatusListsEnabled() bool { return s.pub.alloc != nil }

// ---- allocation: the status claim of new tokens ----

// assignStatus gives the tokens of tr their status entry: the one the
// code or refresh token carries (a refresh keeps its list registered as
// long as the new refresh token lives), or a new one for the grant — its
// refresh family's when a refresh token is issued, else the access
// token's own.
//
// When a new entry needs a new list and the store cannot register it
// (store.ErrUnavailable), the tokens are issued without a status entry, as
// before status lists: the grants that need no store (client_credentials,
// password) keep working while it is down, and such a token is revoked by
// its jti, which introspection sees and resource servers that poll the
// lists do not.
func (s *Server) assignStatus(ctx context.Context, tr *TokenRequest) *Error {
	if s.pub.alloc == nil {
		return nil
	}
	now := tr.now
	until := s.statusUntil(now, tr.refresh)
	if !tr.status.IsZero() {
		if tr.GrantType != GrantRefreshToken {
			return nil
		}
		if err := s.pub.alloc.Keep(ctx, tr.status, now, until); err != nil {
			return AsError(err)
		}
		return nil
	}
	ref, err := s.pub.alloc.Allocate(ctx, tr.Audience, now, until)
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return nil
	case err != nil:
		return AsError(err)
	}
	tr.status = ref
	return nil
}

// statusUntil is the end of the tokens of a grant started at now, with or
// without refresh tokens: the lifetime of its longest token, a code's
// included, plus the leeway. Every grant of a kind asks for the same
// lifetime, so that the allocator keeps two classes of lists per audience,
// not one per grant type.
func (s *Server) statusUntil(now time.Time, refresh bool) time.Time {
	life := s.accessTTL
	if refresh {
		life = s.refreshTTL
	}
	return now.Add(s.codeTTL + life + s.leeway)
}

// codeStatus returns the status entry of a code issued at now to a client
// that refreshes or not: the grant's, living as long as its longest token.
func (s *Server) codeStatus(ctx context.Context, aud string, refresh bool, now time.Time) (crypttoken.StatusRef, *Error) {
	if s.pub.alloc == nil {
		return crypttoken.StatusRef{}, nil
	}
	ref, err := s.pub.alloc.Allocate(ctx, aud, now, s.statusUntil(now, refresh))
	switch {
	case errors.Is(err, store.ErrUnavailable):
		// The exchange, which needs the store anyway, allocates one.
		return crypttoken.StatusRef{}, nil
	case err != nil:
		return ref, AsError(err)
	}
	return ref, nil
}

// ---- revocation: the bits ----

// statusTarget returns the list and index of the status entry ref, if it
// names one of this Server's lists. aud, for an access token, is its
// audience: the list must be of that audience (StatusListID), since an
// access token's claims are writable by that audience's resource servers,
// which must not reach the bits of other audiences' tokens. Codes and
// refresh tokens (nil aud) only the issuer can write.
func (s *Server) statusTarget(ref crypttoken.StatusRef, aud []string) (string, uint64, bool) {
	if ref.IsZero() || s.pub.listPrefix == "" {
		return "", 0, false
	}
	id, ok := strings.CutPrefix(ref.URI, s.pub.listPrefix)
	if !ok {
		return "", 0, false
	}
	lid, ok := ParseStatusListID(id)
	if !ok || ref.Index >= lid.Size() {
		return "", 0, false
	}
	if aud != nil && !slices.ContainsFunc(aud, func(a string) bool { return AudienceTag(a) == lid.AudienceTag }) {
		return "", 0, false
	}
	return id, ref.Index, true
}

// accessAud returns the audience statusTarget checks for a token of kind.
func accessAud(kind tokenKind, c *crypttoken.Claims) []string {
	if kind == kindAccess {
		if c.Audience == nil {
			return []string{}
		}
		return c.Audience
	}
	return nil
}

// setStatusBit sets the bit of list and idx until until — a revocation,
// written with store.Priority so that a full memory store admits it — and
// drops this Server's cached copy of the list, so that its next request
// shows the bit.
func (s *Server) setStatusBit(ctx context.Context, list string, idx uint64, until time.Time) error {
	if err := s.store.SetStatus(store.Priority(ctx), list, idx, until); err != nil {
		return err
	}
	s.pub.lists.invalidate(list)
	return nil
}

// revokeGrantStatus sets the bit of a grant's status entry ref (a code's,
// a refresh token's), if it is one of this Server's lists, until every
// token of the grant has expired.
func (s *Server) revokeGrantStatus(ctx context.Context, ref crypttoken.StatusRef, now time.Time) error {
	list, idx, ok := s.statusTarget(ref, nil)
	if !ok {
		return nil
	}
	return s.setStatusBit(ctx, list, idx, now.Add(s.refreshTTL+s.leeway))
}

// ---- publication: the lists ----

// Timing of the published lists.
const (
	// statusRegistryEvery is how long the ids of the live lists are cached.
	statusRegistryEvery = 5 * time.Second
	// statusRegistryMiss is the least time between two store reads of the
	// ids caused by requests for an id the cache does not hold: a list
	// another replica opened a moment ago is found, and a flood of made-up
	// ids costs at most one read per interval.
	statusRegistryMiss = 250 * time.Millisecond
	// maxCachedLists bounds the Status List Tokens cached.
	maxCachedLists = 4096
)

// statusRebuildEvery is how often a list's bits are read again from the
// store: at most every few seconds, never less often than ttl/6.
func (p *publication) statusRebuildEvery() time.Duration {
	return min(max(p.ttl/6, time.Second), 5*time.Second)
}

// statusTokenLife is the lifetime (exp − iat) of a Status List Token: an
// hour, or twenty times the ttl, at most a day (what the signing ring's
// retired keys stay published for).
func (p *publication) statusTokenLife() time.Duration {
	return min(max(time.Hour, 20*p.ttl), 24*time.Hour)
}

// statusMaxAge is the Cache-Control max-age of a list: half its ttl, so
// that a cache in front adds at most that to a revocation's delay.
func (p *publication) statusMaxAge() string {
	return "public, max-age=" + strconv.Itoa(max(int(p.ttl/time.Second)/2, 1))
}

// listCache holds the published lists' tokens and the ids of the live
// lists. Safe for concurrent use.
type listCache struct {
	mu       sync.Mutex
	byID     map[string]*listEntry
	registry atomic.Pointer[listRegistry]
	regMu    sync.Mutex // one registry read at a time
}

// listRegistry is the ids of the live lists, sorted, as read at fetched,
// and the aggregation document built from them.
type listRegistry struct {
	ids     []string
	fetched time.Time
	body    []byte
	etag    string
}

// listEntry is one list's published token.
type listEntry struct {
	mu      sync.Mutex // one rebuild at a time
	checked time.Time  // when the bits were last read
	exp     time.Time
	indexes []uint64
	body    []byte
	etag    string
}

func (c *listCache) invalidate(id string) {
	c.mu.Lock()
	if e := c.byID[id]; e != nil {
		delete(c.byID, id)
	}
	c.mu.Unlock()
}

func (c *listCache) entry(id string) *listEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID = map[string]*listEntry{}
	}
	e := c.byID[id]
	if e == nil {
		if len(c.byID) >= maxCachedLists {
			clear(c.byID)
		}
		e = &listEntry{}
		// A copy: id may be a view of the adapter's request buffer,
		// which the next request on the connection overwrites (Request).
		c.byID[strings.Clone(id)] = e
	}
	return e
}

// StatusList handles GET and HEAD of the Server's status list path
// (Paths.StatusLists, draft-ietf-oauth-status-list §8):
//
//   - the path itself is the Status List Aggregation endpoint (§9.3): a
//     JSON document {"status_lists":[…]} of the URIs of every live list of
//     every replica, from the store;
//   - the path, a slash and a list id is that list's Status List Token
//     (§5.1, media type application/statuslist+jwt): "sub" the list's
//     URI, "iss", "iat", "exp", "ttl" (WithStatusLists) and
//     "status_list" {"bits":1,"lst":…,"aggregation_uri":…}, signed by the
//     signing ring with typ statuslist+jwt. The list is published at its
//     full size (StatusListID) from the store's set bits, so any replica
//     answers any list and, on a shared store, every replica publishes the
//     same bits. An id that is not a live list is answered 404.
//
// Tokens are cached and rebuilt at most every few seconds (sooner on the
// replica that set a bit); a token is signed again only when its bits
// change or a quarter of its lifetime has passed, with "exp" on a grid
// every replica shares. Responses carry Cache-Control: public with a
// max-age of half the ttl and a weak ETag naming the list's content
// (its URI, "exp" and set bits: the same on every replica); a request
// whose If-None-Match matches it is answered 304 (RFC 9110 §13.1.2). No
// client authentication: the lists are public (draft §8).
//
// When the store cannot be reached the answer is 503 with Retry-After:
// a list that cannot be read is never published empty.
func (s *Server) StatusList(ctx context.Context, r *Request) (*Response, Result) {
	var res Result
	if s.pub.alloc == nil || s.paths.StatusLists == "" {
		return notFound("no status lists are published"), res
	}
	if r.Method != "GET" && r.Method != "HEAD" {
		e := methodNotAllowed("GET, HEAD", "status lists are read with GET (draft-ietf-oauth-status-list §8.1)")
		res.Err = e
		return errorResponse(e), res
	}
	path := requestPath(r.URI)
	if strings.IndexByte(path, '#') >= 0 {
		return notFound("no such status list"), res
	}
	// An adapter mounting the endpoints under the issuer's own path
	// (https://idp.example.com/tenant) passes that path on.
	if p := s.pub.issuerPath; p != "" {
		if rest, ok := strings.CutPrefix(path, p); ok && strings.HasPrefix(rest, s.paths.StatusLists) {
			path = rest
		}
	}
	now := s.now()
	if path == s.paths.StatusLists {
		reg, err := s.statusRegistry(ctx, now, false)
		if err != nil {
			return s.storeFailure(err, &res)
		}
		return s.conditional(r, 200, statuslist.AggregationMediaType, reg.etag, reg.body), res
	}
	id, ok := strings.CutPrefix(path, s.paths.StatusLists+"/")
	lid, valid := ParseStatusListID(id)
	if !ok || !valid {
		return notFound("no such status list"), res
	}
	live, err := s.listLive(ctx, id, now)
	if err != nil {
		return s.storeFailure(err, &res)
	}
	if !live {
		return notFound("no such status list"), res
	}
	e := s.pub.lists.entry(id)
	body, etag, err := s.statusListToken(ctx, e, id, lid, now)
	if err != nil {
		return s.storeFailure(err, &res)
	}
	return s.conditional(r, 200, statuslist.MediaType, etag, body), res
}

// noSigningKey is the answer when the signing ring has no active key (a
// rotation went wrong; /readyz names the ring): a 503, since it passes
// once the ring has a key again, never a 500.
func noSigningKey(err error) *Error {
	e := NewError(TemporarilyUnavailable, "no signing key is active; retry later").withCause(err)
	e.Status, e.RetryAfter = 503, 5*time.Second
	return e
}

// requestPath returns the path of a request-target: an origin-form path
// with its query cut off, or the path of an absolute URI (RFC 9112 §3.2).
func requestPath(uri string) string {
	path, _, _ := strings.Cut(uri, "?")
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := strings.CutPrefix(path, scheme); ok {
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				return rest[i:]
			}
			return "/"
		}
	}
	return path
}

// storeFailure answers a request that needed the store and could not
// reach it, or whose signing failed.
func (s *Server) storeFailure(err error, res *Result) (*Response, Result) {
	e := AsError(err)
	res.Err = e
	return errorResponse(e), *res
}

// conditional returns a cacheable 200 with body, or a 304 when the
// request's If-None-Match matches etag (RFC 9110 §13.1.2, weak
// comparison). Both carry the caching fields (§15.4.5).
func (s *Server) conditional(r *Request, status int, contentType, etag string, body []byte) *Response {
	return s.cacheable(r, status, contentType, s.pub.statusMaxAge(), etag, body)
}

func (s *Server) cacheable(r *Request, status int, contentType, cacheControl, etag string, body []byte) *Response {
	h := Headers{{"Cache-Control", cacheControl}, {"ETag", etag}}
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		return &Response{Status: 304, Header: h}
	}
	h = append(h, HeaderField{"Content-Type", contentType})
	if r.Method == "HEAD" {
		body = nil
	}
	return &Response{Status: status, Header: h, Body: body}
}

// etagMatches reports whether an If-None-Match field value matches etag
// (RFC 9110 §13.1.2): "*", or a comma-separated list of entity tags
// compared weakly (a "W/" prefix on either side is ignored).
func etagMatches(v, etag string) bool {
	if v == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for t := range strings.SplitSeq(v, ",") {
		t = strings.Trim(t, " \t")
		if t == "*" {
			return true
		}
		if t = strings.TrimPrefix(t, "W/"); len(t) >= 2 && t[0] == '"' && t == want {
			return true
		}
	}
	return false
}

// notFound is the 404 of an unknown list or resource server.
func notFound(desc string) *Response {
	body := append([]byte(`{"error":"not_found","error_description":"`), desc...)
	return jsonResponse(404, append(body, `"}`...))
}

// statusRegistry returns the ids of the live lists, read from the store
// when the cached ones are older than statusRegistryEvery, or, with miss,
// older than statusRegistryMiss.
func (s *Server) statusRegistry(ctx context.Context, now time.Time, miss bool) (*listRegistry, error) {
	c := &s.pub.lists
	fresh := func(r *listRegistry) bool {
		if r == nil {
			return false
		}
		age := now.Sub(r.fetched)
		return age >= 0 && (age < statusRegistryMiss || (!miss && age < statusRegistryEvery))
	}
	if r := c.registry.Load(); fresh(r) {
		return r, nil
	}
	c.regMu.Lock()
	defer c.regMu.Unlock()
	if r := c.registry.Load(); fresh(r) {
		return r, nil // read by the caller this one waited for
	}
	ids, err := s.store.StatusLists(ctx)
	if err != nil {
		return nil, err
	}
	agg := statuslist.Aggregation{StatusLists: make([]string, 0, len(ids))}
	for _, id := range ids {
		agg.StatusLists = append(agg.StatusLists, s.pub.listPrefix+id)
	}
	body := agg.AppendJSON(nil)
	sum := sha256.Sum256(body)
	r := &listRegistry{ids: ids, fetched: now, body: body, etag: `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
	c.registry.Store(r)
	return r, nil
}

// listLive reports whether id is a live list: in the cached registry, or
// in a fresh read of it when the cached one misses.
func (s *Server) listLive(ctx context.Context, id string, now time.Time) (bool, error) {
	for _, miss := range []bool{false, true} {
		r, err := s.statusRegistry(ctx, now, miss)
		if err != nil {
			return false, err
		}
		if _, found := slices.BinarySearch(r.ids, id); found {
			return true, nil
		}
	}
	return false, nil
}

// statusListToken returns the current Status List Token of list id and its
// ETag, rebuilding e when its bits are older than statusRebuildEvery or its
// exp grid point has moved.
func (s *Server) statusListToken(ctx context.Context, e *listEntry, id string, lid StatusListID, now time.Time) ([]byte, string, error) {
	p := &s.pub
	life := p.statusTokenLife()
	grid := life / 4
	exp := now.Truncate(grid).Add(life)
	e.mu.Lock()
	defer e.mu.Unlock()
	age := now.Sub(e.checked)
	if e.body != nil && e.exp.Equal(exp) && age >= 0 && age < p.statusRebuildEvery() {
		return e.body, e.etag, nil
	}
	idx, err := s.store.StatusIndexes(ctx, id)
	if err != nil {
		return nil, "", err
	}
	e.checked = now
	if e.body != nil && e.exp.Equal(exp) && slices.Equal(idx, e.indexes) {
		return e.body, e.etag, nil
	}
	list, err := statuslist.New(1, int(lid.Size()))
	if err != nil {
		return nil, "", err
	}
	for _, i := range idx {
		_ = list.Set(i, statuslist.Invalid) // an index beyond the size was never handed out: ignored
	}
	signer, err := p.signing.Load().Sealing(now)
	if err != nil {
		return nil, "", noSigningKey(err)
	}
	uri := p.listPrefix + id
	tok, err := statuslist.Sign(signer, &statuslist.Token{
		Subject: uri, Issuer: s.issuer, IssuedAt: now.Truncate(time.Second), Expiry: exp,
		TTL: p.ttl, AggregationURI: p.aggURI, List: list,
	})
	if err != nil {
		return nil, "", fmt.Errorf("endpoint: signing a status list: %w", err)
	}
	e.exp, e.indexes, e.body, e.etag = exp, idx, []byte(tok), listETag(uri, exp, idx)
	return e.body, e.etag, nil
}

// listETag is the weak ETag of a Status List Token: a hash of what every
// replica puts in it alike — the URI, exp and the set bits — so that a
// resource server revalidating through any replica gets 304 while the
// list has not changed (RFC 9110 §8.8.1: the tokens differ only in iat
// and signature).
func listETag(uri string, exp time.Time, idx []uint64) string {
	h := sha256.New()
	h.Write([]byte(uri))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(exp.Unix()))
	h.Write(b[:])
	for _, i := range idx {
		binary.BigEndian.PutUint64(b[:], i)
		h.Write(b[:])
	}
	return `W/"` + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18]) + `"`
}
