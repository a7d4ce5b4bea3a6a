package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

// Names of the RFC 8414 metadata members the Client reads, and the
// well-known path of the metadata document (RFC 8414 §3).
const (
	wellKnown           = "/.well-known/oauth-authorization-server"
	metaJWKSURI         = "jwks_uri"
	metaResourceKeys    = keys.DeliveryMetadataName
	metaAggregation     = statuslist.MetadataName
	mediaJSON           = "application/json"
	mediaJWKS           = "application/jwk-set+json, application/json"
	maxPendingLists     = 256  // Missing requests waiting for the loop
	maxNegative         = 1024 // lists that failed to fetch, not retried for negativeFor
	negativeFor         = 30 * time.Second
	minListWait         = time.Second
	initialListsTimeout = 30 * time.Second
)

// Client keeps a resource server's copy of what it needs from an issuer —
// the issuer's signing keys, the keys of its audiences, the status lists
// its tokens reference — current by polling, and makes the Openers that
// check tokens against them (SPEC §9). Build it with New.
//
// A Client is safe for concurrent use. Its Openers read only atomically
// swapped snapshots: opening a token makes no network call and takes no
// lock. One background goroutine polls; Close, or cancelling the context
// given to New, stops it.
type Client struct {
	issuer  string
	rsID    string
	recip   *keys.Recipient
	cfg     config
	http    *http.Client
	ownHTTP bool

	// Read on the request path.
	sigKeys atomic.Pointer[jws.KeySet]
	lists   atomic.Pointer[statuslist.Lists]
	pending sync.Map // list URI -> struct{}: Missing requests not yet handled
	nPend   atomic.Int32
	wake    chan string   // list URIs from Missing
	keysDue chan struct{} // an unknown signing kid was seen
	closed  atomic.Bool

	// The signing-key source of deliveries, lists and signed tokens.
	keySource jws.KeySource

	mu          sync.Mutex // guards what follows
	meta        metadata
	metaRes     *resource
	jwksRes     *resource
	deliveryRes *resource
	deliveryIAT time.Time
	aggRes      *resource
	listed      map[string]bool // URIs of the last aggregation document
	listRes     map[string]*listState
	rings       map[string]*keys.Ring
	signed      map[string]*atomic.Bool
	negative    map[string]time.Time // list URI -> no new fetch before
	keysFail    int                  // consecutive failures of the keys poll
	maxAge      [2]time.Duration     // Cache-Control max-age of the JWK Set and the delivery
	keysNext    time.Time
	lastErr     error
	keysSynced  time.Time
	dirty       bool // state changed since the cache file was written

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// metadata is what the Client uses of the issuer's RFC 8414 metadata.
type metadata struct {
	Issuer       string `json:"issuer"`
	JWKSURI      string `json:"jwks_uri"`
	ResourceKeys string `json:"resource_keys_endpoint"`
	Aggregation  string `json:"status_list_aggregation_endpoint"`
}

// listState is one status list held: its resource, the token's iat (for
// rollback), when to fetch it again and how many fetches failed in a row.
type listState struct {
	res   *resource
	tok   *statuslist.Token // nil until fetched
	iat   time.Time
	next  time.Time
	fails int
	// unlisted is when the aggregation first failed to name the list
	// (zero while it names it).
	unlisted time.Time
}

// New returns a Client of the issuer at issuerURL for the resource server
// rsID, whose private key set privateJWKS is (the JWK Set `issuer rs new`
// printed: its "enc" key opens key deliveries). It reads the issuer's
// metadata (RFC 8414), its signing keys (jwks_uri), the key delivery
// (resource_keys_endpoint, verified and decrypted by keys.OpenDelivery:
// only the issuer's signature, only "sub" rsID, not expired) and the status
// lists the issuer publishes (status_list_aggregation_endpoint), then keeps
// them current in the background until ctx is cancelled or Close is called.
//
// With WithCacheFile, New starts from the cache file, and succeeds while
// the issuer is unreachable as long as the cache holds a key delivery; the
// failure is reported to WithOnError and the Client keeps trying. Without
// a usable cache, New fails when the metadata, the signing keys or the key
// delivery cannot be had: ErrFetch (ErrNotFound when the issuer does not
// know rsID), ErrMetadata, ErrIssuerKeys, ErrDelivery; and with ErrAudience
// when the delivery holds the keys of no audience, so that Audiences
// returns at least one name once New succeeded. Status lists that
// fail are reported, and tokens referencing them are treated as unknown.
func New(ctx context.Context, issuerURL, rsID string, privateJWKS []byte, opts ...Option) (*Client, error) {
	iu, err := httpsURL(issuerURL)
	if err != nil || iu.RawQuery != "" {
		return nil, fmt.Errorf("%w: issuer: %q is not an https URL without query or fragment (RFC 8414 §2)", ErrConfig, cut(issuerURL))
	}
	if rsID == "" {
		return nil, fmt.Errorf("%w: empty resource server id", ErrConfig)
	}
	recip, err := keys.ParsePrivateRecipient(privateJWKS)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %w", ErrConfig, err)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrConfig)
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	c := &Client{
		issuer: issuerURL, rsID: rsID, recip: recip, cfg: cfg, http: cfg.httpClient,
		wake: make(chan string, 64), keysDue: make(chan struct{}, 1),
		listRes: map[string]*listState{}, rings: map[string]*keys.Ring{},
		signed: map[string]*atomic.Bool{}, negative: map[string]time.Time{},
		done: make(chan struct{}),
	}
	if c.http == nil {
		c.http, c.ownHTTP = newHTTPClient(), true
	}
	c.lists.Store(statuslist.NewLists(statuslist.Limits{}))
	c.keySource = jws.KeyFunc(c.verificationKey)

	fromCache := false
	if cfg.cacheFile != "" {
		if err := c.loadCache(); err != nil && !errors.Is(err, errNoCache) {
			c.report(err)
		}
		c.mu.Lock()
		fromCache = c.deliveryRes != nil
		c.mu.Unlock()
	}
	if err := c.pollKeys(ctx); err != nil {
		if !fromCache {
			c.closeHTTP()
			return nil, err
		}
		c.report(err)
	}
	if len(c.Audiences()) == 0 {
		c.closeHTTP()
		return nil, fmt.Errorf("%w: the issuer delivers the keys of no audience to resource server %q (resource_servers[].audiences)", ErrAudience, cut(rsID))
	}
	lctx, lcancel := context.WithTimeout(ctx, initialListsTimeout)
	c.pollLists(lctx, true)
	lcancel()
	c.saveCache()

	bg, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	go c.run(bg)
	return c, nil
}

// Opener returns an Opener of the access tokens of audience, which must be
// one of the audiences the issuer delivers keys of to this resource
// server (else ErrAudience). It checks "iss" (the issuer URL) and "aud"
// (audience) with the Client's leeway, follows the audience's keys as the
// Client receives them (rotation needs no new Opener), checks each token's
// status in the Client's status lists (crypttoken.WithStatus, with the
// WithStatusPolicy policy), and requires signed tokens whenever the
// delivery says the audience is signed (crypttoken.WithSignedTokensIf,
// against the issuer's jwks_uri keys). opts are further crypttoken
// options (WithAlgorithms, WithMaxSize, ...).
func (c *Client) Opener(audience string, opts ...crypttoken.Option) (*crypttoken.Opener, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	c.mu.Lock()
	ring, signed := c.rings[audience], c.signed[audience]
	c.mu.Unlock()
	if ring == nil {
		return nil, fmt.Errorf("%w: %q", ErrAudience, cut(audience))
	}
	exp := crypttoken.Expected{Issuer: c.issuer, Audience: audience, Leeway: c.cfg.leeway}
	base := []crypttoken.Option{
		crypttoken.WithClock(c.cfg.now),
		crypttoken.WithStatus(c, c.cfg.policy),
		crypttoken.WithSignedTokensIf(c.keySource, signed.Load),
	}
	return crypttoken.NewOpener(ring, exp, append(base, opts...)...)
}

// Audiences returns the audiences whose keys the issuer delivers to this
// resource server, sorted.
func (c *Client) Audiences() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.rings))
	for name, r := range c.rings {
		if r.Load().Len() > 0 {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Ring returns the key ring of audience as the Client keeps it, for a
// caller building its own Opener.
func (c *Client) Ring(audience string) (*keys.Ring, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.rings[audience]
	return r, ok
}

// SigningKeys returns the issuer's published signing keys as a
// jws.KeySource that follows the Client's copy: for verifying anything else
// the issuer signs.
func (c *Client) SigningKeys() jws.KeySource { return c.keySource }

// StatusLists returns the status lists held now. With Missing, it makes the
// Client a crypttoken.StatusSource.
func (c *Client) StatusLists() *statuslist.Lists { return c.lists.Load() }

// Missing asks the background goroutine to fetch the status list at uri,
// once however often it is asked while the fetch is pending. It returns at
// once. Only lists the issuer publishes are fetched: uri must be https on
// the origin of the issuer or of its aggregation endpoint, or listed by the
// aggregation endpoint; a list that failed is not fetched again for 30 s.
func (c *Client) Missing(uri string) {
	if c.closed.Load() {
		return
	}
	if _, ok := c.pending.Load(uri); ok {
		return
	}
	if c.nPend.Load() >= maxPendingLists {
		return
	}
	key := strings.Clone(uri)
	if _, loaded := c.pending.LoadOrStore(key, struct{}{}); loaded {
		return
	}
	c.nPend.Add(1)
	select {
	case c.wake <- key:
	default:
		c.pending.Delete(key)
		c.nPend.Add(-1)
	}
}

// Health is a snapshot of how current a Client is, for readiness checks
// and metrics.
type Health struct {
	// KeysSynced is when the key delivery was last fetched or confirmed
	// (zero if only the cache file provided it).
	KeysSynced time.Time
	// Lists is the number of status lists held, and ListsConfirmed the
	// oldest time one of them was fetched or confirmed.
	Lists          int
	ListsConfirmed time.Time
	// LastError is the last failure of the background work, nil after a
	// fully successful poll of the keys.
	LastError error
}

// Health returns the Client's state.
func (c *Client) Health() Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := Health{KeysSynced: c.keysSynced, LastError: c.lastErr, Lists: c.lists.Load().Len()}
	for _, ls := range c.listRes {
		if h.ListsConfirmed.IsZero() || ls.res.Confirmed.Before(h.ListsConfirmed) {
			h.ListsConfirmed = ls.res.Confirmed
		}
	}
	return h
}

// Close stops the background goroutine and waits for it, then closes the
// idle connections of the Client's own HTTP client. Openers made by the
// Client keep working with the last state. Close is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		if c.cancel != nil {
			c.cancel()
			<-c.done
		}
		c.closeHTTP()
	})
	return nil
}

func (c *Client) closeHTTP() {
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
}

// verificationKey is the jws.KeySource of the issuer's signing keys. An
// unknown kid asks the background goroutine for a fresh JWK Set.
func (c *Client) verificationKey(h *jws.Header) (*jws.Key, error) {
	set := c.sigKeys.Load()
	if set == nil {
		return nil, fmt.Errorf("%w: the issuer's signing keys are not loaded", jws.ErrUnknownKey)
	}
	k, err := set.VerificationKey(h)
	if errors.Is(err, jws.ErrUnknownKey) {
		select {
		case c.keysDue <- struct{}{}:
		default:
		}
	}
	return k, err
}

// report records err and tells the WithOnError function.
func (c *Client) report(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
	if c.cfg.onError != nil {
		c.cfg.onError(err)
	}
}

// run is the background goroutine: it polls the keys every interval (with
// backoff after failures), each status list when it is due, a list asked
// for by Missing at once, and the keys again when an unknown signing kid
// was seen.
func (c *Client) run(ctx context.Context) {
	defer close(c.done)
	timer := time.NewTimer(c.untilNext())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case uri := <-c.wake:
			c.fetchMissing(ctx, uri)
		case <-c.keysDue:
			if c.keysRefreshAllowed() {
				c.pollAndReport(ctx)
			}
		case <-timer.C:
			if c.keysDueNow() {
				c.pollAndReport(ctx)
			}
			c.pollLists(ctx, false)
		}
		if ctx.Err() != nil {
			return
		}
		c.saveCache()
		timer.Reset(c.untilNext())
	}
}

// keysDueNow reports whether the keys poll is due.
func (c *Client) keysDueNow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !time.Now().Before(c.keysNext)
}

// keysRefreshAllowed reports whether an unknown signing kid may bring the
// keys poll forward: at most once a second, and not while backing off.
func (c *Client) keysRefreshAllowed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keysFail == 0 && time.Since(c.keysSynced) > time.Second
}

func (c *Client) pollAndReport(ctx context.Context) {
	if err := c.pollKeys(ctx); err != nil && ctx.Err() == nil {
		c.report(err)
	}
}

// untilNext returns the time until the next poll of anything.
func (c *Client) untilNext() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.keysNext
	for _, ls := range c.listRes {
		if ls.next.Before(next) {
			next = ls.next
		}
	}
	return max(time.Until(next), time.Millisecond)
}

// jitter returns d scaled by a random factor in [lo, hi).
func jitter(d time.Duration, lo, hi float64) time.Duration {
	return time.Duration(float64(d) * (lo + (hi-lo)*rand.Float64()))
}

// backoff returns the wait after fails consecutive failures: from a
// second (or a quarter of the interval, if shorter), doubling, at most
// maxBackoff, jittered into its upper half.
func backoff(fails int, interval, maxBackoff time.Duration) time.Duration {
	d := min(time.Second, interval/4)
	for i := 1; i < fails && d < maxBackoff; i++ {
		d *= 2
	}
	return jitter(min(d, maxBackoff), 0.5, 1)
}

// pollKeys fetches the metadata, the signing keys, the key delivery and
// the aggregation document, applies what changed, and schedules the next
// poll: an interval later, jittered, or after a backoff if anything failed.
func (c *Client) pollKeys(ctx context.Context) error {
	err := c.syncKeys(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.keysFail++
		c.keysNext = time.Now().Add(backoff(c.keysFail, c.cfg.interval, c.cfg.maxBackoff))
		return err
	}
	c.keysFail = 0
	c.lastErr = nil
	c.keysSynced = time.Now()
	c.keysNext = time.Now().Add(jitter(c.keysInterval(), 0.9, 1.1))
	return nil
}

// keysInterval is the poll interval of the keys: WithPollInterval, or
// less when the issuer says its signing keys or the delivery may be cached
// for less (Cache-Control max-age; the issuer derives it from its key
// propagation time), but not under a second. c.mu is held.
func (c *Client) keysInterval() time.Duration {
	d := c.cfg.interval
	for _, ma := range c.maxAge {
		if ma > 0 {
			d = min(d, max(ma, time.Second))
		}
	}
	return d
}

func (c *Client) syncKeys(ctx context.Context) error {
	if err := c.syncMetadata(ctx); err != nil {
		return err
	}
	if err := c.syncJWKS(ctx); err != nil {
		return err
	}
	err := c.syncDelivery(ctx)
	if errors.Is(err, jws.ErrUnknownKey) {
		// Signed by a key published since the JWK Set was fetched: fetch
		// it again, unconditionally, and retry once.
		c.mu.Lock()
		if c.jwksRes != nil {
			c.jwksRes.ETag = ""
		}
		c.mu.Unlock()
		if err := c.syncJWKS(ctx); err != nil {
			return err
		}
		err = c.syncDelivery(ctx)
	}
	if err != nil {
		return err
	}
	return c.syncAggregation(ctx)
}

// metadataURL is the RFC 8414 §3.1 URL of the issuer's metadata: the
// well-known path inserted between the host and the issuer's path.
func (c *Client) metadataURL() string {
	u, _ := url.Parse(c.issuer)
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	u.Path, u.RawPath = "", ""
	return u.String() + wellKnown + path
}

func (c *Client) syncMetadata(ctx context.Context) error {
	c.mu.Lock()
	etag := ""
	if c.metaRes != nil {
		etag = c.metaRes.ETag
	}
	c.mu.Unlock()
	f, err := c.get(ctx, c.metadataURL(), mediaJSON, etag, maxMetadata)
	if err != nil {
		return fmt.Errorf("issuer metadata: %w", err)
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.notModified {
		c.metaRes.Confirmed = now
		return nil
	}
	m, err := c.parseMetadata(f.body)
	if err != nil {
		return err
	}
	c.meta = m
	c.metaRes = &resource{URL: c.metadataURL(), ETag: f.etag, Fetched: now, Confirmed: now, Body: string(f.body)}
	c.dirty = true
	return nil
}

// parseMetadata reads and checks the metadata document.
func (c *Client) parseMetadata(b []byte) (metadata, error) {
	var m metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: not a JSON object: %w", ErrMetadata, err)
	}
	if m.Issuer != c.issuer {
		return m, fmt.Errorf("%w: issuer %q, want %q (RFC 8414 §3.3)", ErrMetadata, cut(m.Issuer), c.issuer)
	}
	for name, v := range map[string]string{metaJWKSURI: m.JWKSURI, metaResourceKeys: m.ResourceKeys} {
		if v == "" {
			return m, fmt.Errorf("%w: no %s: the issuer does not deliver keys to resource servers", ErrMetadata, name)
		}
	}
	for name, v := range map[string]string{metaJWKSURI: m.JWKSURI, metaResourceKeys: m.ResourceKeys, metaAggregation: m.Aggregation} {
		if v == "" {
			continue
		}
		if _, err := httpsURL(v); err != nil {
			return m, fmt.Errorf("%w: %s: %w", ErrMetadata, name, err)
		}
	}
	return m, nil
}

func (c *Client) syncJWKS(ctx context.Context) error {
	c.mu.Lock()
	u, etag := c.meta.JWKSURI, ""
	if c.jwksRes != nil && c.jwksRes.URL == u {
		etag = c.jwksRes.ETag
	}
	c.mu.Unlock()
	f, err := c.get(ctx, u, mediaJWKS, etag, maxJWKS)
	if err != nil {
		return fmt.Errorf("issuer signing keys: %w", err)
	}
	now := time.Now()
	c.mu.Lock()
	c.maxAge[0] = f.maxAge
	c.mu.Unlock()
	if f.notModified {
		c.mu.Lock()
		c.jwksRes.Confirmed = now
		c.mu.Unlock()
		return nil
	}
	set, err := jws.ParseKeySet(f.body)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrIssuerKeys, cut(u), err)
	}
	c.sigKeys.Store(set)
	c.mu.Lock()
	c.jwksRes = &resource{URL: u, ETag: f.etag, Fetched: now, Confirmed: now, Body: string(f.body)}
	c.dirty = true
	c.mu.Unlock()
	return nil
}

// deliveryURL is the key delivery endpoint with resource_server=rsID.
func (c *Client) deliveryURL() (string, error) {
	u, err := url.Parse(c.meta.ResourceKeys)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrMetadata, metaResourceKeys, err)
	}
	q := u.Query()
	q.Set(keys.DeliveryParameter, c.rsID)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (c *Client) syncDelivery(ctx context.Context) error {
	c.mu.Lock()
	u, err := c.deliveryURL()
	etag := ""
	if c.deliveryRes != nil && c.deliveryRes.URL == u {
		etag = c.deliveryRes.ETag
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	f, err := c.get(ctx, u, keys.DeliveryMediaType, etag, maxDelivery)
	if isNotFound(err) {
		return fmt.Errorf("key delivery: the issuer does not know resource server %q: %w", cut(c.rsID), err)
	}
	if err != nil {
		return fmt.Errorf("key delivery: %w", err)
	}
	now := time.Now()
	c.mu.Lock()
	c.maxAge[1] = f.maxAge
	c.mu.Unlock()
	if f.notModified {
		c.mu.Lock()
		c.deliveryRes.Confirmed = now
		c.mu.Unlock()
		return nil
	}
	return c.applyDelivery(&resource{URL: u, ETag: f.etag, Fetched: now, Confirmed: now, Body: string(f.body)}, c.cfg.now)
}

// applyDelivery opens the delivery in res as of now() and, if it is not
// older than the one held, swaps its keys into the audiences' rings.
func (c *Client) applyDelivery(res *resource, now func() time.Time) error {
	d, err := keys.OpenDelivery(res.Body, c.recip, c.keySource, keys.DeliveryExpected{
		Issuer: c.issuer, ResourceServer: c.rsID, Leeway: c.cfg.leeway, Time: now,
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDelivery, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rolledBack(d.IssuedAt, c.deliveryIAT) {
		return fmt.Errorf("%w: key delivery issued at %s, the one held at %s", ErrRollback,
			d.IssuedAt.UTC().Format(time.RFC3339), c.deliveryIAT.UTC().Format(time.RFC3339))
	}
	for name, set := range d.Audiences {
		if r := c.rings[name]; r != nil {
			r.Store(keys.Merge(r.Load(), set))
		} else {
			c.rings[name] = keys.NewRing(set)
		}
		if c.signed[name] == nil {
			c.signed[name] = new(atomic.Bool)
		}
		c.signed[name].Store(d.Signed[name])
	}
	for name, r := range c.rings {
		if d.Audiences[name] == nil {
			// No longer delivered to this resource server: its tokens no
			// longer open here.
			empty, _ := keys.NewSet(name)
			r.Store(empty)
			c.signed[name].Store(false)
		}
	}
	c.deliveryRes, c.deliveryIAT = res, d.IssuedAt
	c.dirty = true
	return nil
}

// rolledBack reports whether a document issued at iat is older than the
// copy held, issued at held, by more than the leeway: replicas sign with
// their own clocks, so a newer document from a replica whose clock is
// behind may carry a slightly earlier iat.
func (c *Client) rolledBack(iat, held time.Time) bool {
	return iat.Before(held.Add(-c.cfg.leeway))
}

// listAllowed reports whether the Client may fetch the status list at uri:
// https, and listed by the aggregation endpoint or on the origin of the
// issuer or of its aggregation endpoint. c.mu is held.
func (c *Client) listAllowed(uri string) bool {
	u, err := httpsURL(uri)
	if err != nil {
		return false
	}
	if c.listed[uri] {
		return true
	}
	for _, o := range []string{c.issuer, c.meta.Aggregation} {
		if o == "" {
			continue
		}
		if ou, err := url.Parse(o); err == nil && strings.EqualFold(ou.Host, u.Host) {
			return true
		}
	}
	return false
}

func (c *Client) syncAggregation(ctx context.Context) error {
	c.mu.Lock()
	u, etag := c.meta.Aggregation, ""
	if c.aggRes != nil && c.aggRes.URL == u {
		etag = c.aggRes.ETag
	}
	c.mu.Unlock()
	if u == "" {
		return nil
	}
	f, err := c.get(ctx, u, mediaJSON, etag, maxAggregation)
	if err != nil {
		return fmt.Errorf("status list aggregation: %w", err)
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.notModified {
		c.aggRes.Confirmed = now
		c.pruneUnlisted(now)
		return nil
	}
	agg, err := statuslist.ParseAggregation(f.body)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStatusList, cut(u), err)
	}
	c.aggRes = &resource{URL: u, ETag: f.etag, Fetched: now, Confirmed: now, Body: string(f.body)}
	c.applyAggregation(agg)
	c.dirty = true
	return nil
}

// unlistedGrace is how long a list held may be missing from the
// aggregation before it is forgotten (plus a keys poll interval): replicas
// re-read the registry of lists every few seconds, so a list just opened
// can be missing from one replica's aggregation for a moment while tokens
// already name it.
var unlistedGrace = 30 * time.Second

// applyAggregation schedules the lists of agg that are not held for a
// fetch now, and forgets the held lists it has not named for a while (the
// issuer publishes a list until every token referencing it has expired).
// c.mu is held.
func (c *Client) applyAggregation(agg *statuslist.Aggregation) {
	c.listed = make(map[string]bool, len(agg.StatusLists))
	for _, uri := range agg.StatusLists {
		c.listed[uri] = true
		if _, ok := c.listRes[uri]; !ok && c.listAllowed(uri) {
			c.listRes[uri] = &listState{res: &resource{URL: uri}}
		}
	}
	c.pruneUnlisted(time.Now())
}

// pruneUnlisted forgets the lists held that the aggregation has not named
// for longer than unlistedGrace plus a keys poll. c.mu is held.
func (c *Client) pruneUnlisted(now time.Time) {
	if c.listed == nil {
		return // no aggregation: lists are forgotten only when they 404
	}
	grace := unlistedGrace + c.keysInterval()
	for uri, ls := range c.listRes {
		switch {
		case c.listed[uri]:
			ls.unlisted = time.Time{}
		case ls.unlisted.IsZero():
			ls.unlisted = now
		case now.Sub(ls.unlisted) > grace:
			c.dropList(uri)
		}
	}
}

// dropList forgets the list at uri. c.mu is held.
func (c *Client) dropList(uri string) {
	delete(c.listRes, uri)
	c.lists.Store(c.lists.Load().Without(uri))
	c.dirty = true
}

// pollLists fetches every list that is due (all of them when all is set).
func (c *Client) pollLists(ctx context.Context, all bool) {
	c.mu.Lock()
	now := time.Now()
	var due []string
	for uri, ls := range c.listRes {
		if all || !now.Before(ls.next) {
			due = append(due, uri)
		}
	}
	c.mu.Unlock()
	slices.Sort(due)
	for _, uri := range due {
		if ctx.Err() != nil {
			return
		}
		if err := c.syncList(ctx, uri); err != nil {
			c.report(err)
		}
	}
}

// fetchMissing handles a Missing request for uri.
func (c *Client) fetchMissing(ctx context.Context, uri string) {
	defer func() {
		c.pending.Delete(uri)
		c.nPend.Add(-1)
	}()
	c.mu.Lock()
	_, held := c.lists.Load().List(uri)
	until, negative := c.negative[uri]
	allowed := c.listAllowed(uri)
	switch {
	case held || !allowed:
		c.mu.Unlock()
		return
	case negative && time.Now().Before(until):
		c.mu.Unlock()
		return
	}
	if _, ok := c.listRes[uri]; !ok {
		c.listRes[uri] = &listState{res: &resource{URL: uri}}
	}
	c.mu.Unlock()
	if err := c.syncList(ctx, uri); err != nil {
		c.mu.Lock()
		if len(c.negative) >= maxNegative {
			clear(c.negative)
		}
		c.negative[uri] = time.Now().Add(negativeFor)
		c.mu.Unlock()
		c.report(err)
	}
}

// syncList fetches the status list at uri and schedules its next fetch:
// when its ttl says (draft §13.7), at least every poll interval; after a
// failure, with backoff. A 404 forgets the list.
func (c *Client) syncList(ctx context.Context, uri string) error {
	c.mu.Lock()
	ls := c.listRes[uri]
	if ls == nil {
		c.mu.Unlock()
		return nil
	}
	etag := ls.res.ETag
	c.mu.Unlock()
	f, err := c.get(ctx, uri, statuslist.MediaType, etag, maxListToken)
	now := time.Now()
	if err == nil {
		if f.notModified {
			c.mu.Lock()
			ls.res.Confirmed = now
			c.mu.Unlock()
		} else {
			err = c.applyList(&resource{URL: uri, ETag: f.etag, Fetched: now, Confirmed: now, Body: string(f.body)}, c.cfg.now)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.listRes[uri] != ls {
		return err
	}
	switch {
	case err == nil:
		ls.fails = 0
		ls.next = now.Add(c.listWait(ls))
	case isNotFound(err):
		c.dropList(uri)
		return fmt.Errorf("status list %s: %w", cut(uri), err)
	default:
		ls.fails++
		ls.next = now.Add(backoff(ls.fails, c.cfg.interval, c.cfg.maxBackoff))
		if !errors.Is(err, ErrStatusList) && !errors.Is(err, ErrRollback) {
			err = fmt.Errorf("status list: %w", err)
		}
	}
	return err
}

// listWait returns how long until a list is fetched again: its ttl (or
// its remaining lifetime), clamped to [1 s, poll interval], jittered
// downwards only, so that a revocation is seen within ttl plus one fetch.
// c.mu is held.
func (c *Client) listWait(ls *listState) time.Duration {
	wait := c.cfg.interval
	if ls.tok != nil {
		fetched := ls.res.Fetched
		wait = ls.tok.NextCheck(fetched, min(minListWait, c.cfg.interval), c.cfg.interval).Sub(fetched)
	}
	return max(jitter(wait, 0.8, 1), time.Millisecond)
}

// applyList verifies the Status List Token in res as of now() and, if it
// is not older than the copy held, swaps its list in.
func (c *Client) applyList(res *resource, now func() time.Time) error {
	v, err := statuslist.NewVerifier(c.keySource, statuslist.WithClock(now), statuslist.WithLeeway(c.cfg.leeway))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStatusList, err)
	}
	t, err := v.Verify(res.Body, res.URL)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStatusList, cut(res.URL), err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ls := c.listRes[res.URL]
	if ls == nil {
		ls = &listState{}
		c.listRes[res.URL] = ls
	}
	if c.rolledBack(t.IssuedAt, ls.iat) {
		return fmt.Errorf("%w: status list %s issued at %s, the one held at %s", ErrRollback, cut(res.URL),
			t.IssuedAt.UTC().Format(time.RFC3339), ls.iat.UTC().Format(time.RFC3339))
	}
	next, err := c.lists.Load().With(res.URL, t.List)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStatusList, cut(res.URL), err)
	}
	c.lists.Store(next)
	ls.res, ls.iat, ls.tok = res, t.IssuedAt, t
	delete(c.negative, res.URL)
	c.dirty = true
	return nil
}
