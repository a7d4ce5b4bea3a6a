package jwksfetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// Errors, matched with errors.Is.
var (
	// ErrURL means the jwks_uri is not an https URL this package fetches.
	ErrURL = errors.New("jwksfetch: jwks_uri not allowed")
	// ErrDestination means the URL's host resolves to an address that is
	// not public (loopback, private, link-local, ...).
	ErrDestination = errors.New("jwksfetch: destination address not allowed")
	// ErrFetch means the fetch failed: network, TLS, timeout, an HTTP
	// status other than 200, a redirect elsewhere, a body over the limit.
	ErrFetch = errors.New("jwksfetch: fetching the JWK Set failed")
	// ErrKeySet means the body is not a JWK Set of public keys.
	ErrKeySet = errors.New("jwksfetch: invalid JWK Set")
	// ErrConfig means an option was given an invalid value.
	ErrConfig = errors.New("jwksfetch: invalid configuration")
)

// Defaults.
const (
	DefaultTimeout         = 5 * time.Second
	DefaultMaxBytes        = 256 << 10
	DefaultMinTTL          = time.Minute
	DefaultMaxTTL          = 24 * time.Hour
	DefaultTTL             = 10 * time.Minute // without Cache-Control max-age
	DefaultRefetchInterval = time.Minute
	DefaultMaxEntries      = 1024
	maxRedirects           = 3
)

// Option configures a Fetcher.
type Option interface{ apply(*Fetcher) error }

type optionFunc func(*Fetcher) error

func (f optionFunc) apply(x *Fetcher) error { return f(x) }

// WithAllowPrivate lets the Fetcher connect to loopback and private
// addresses: for tests (httptest servers listen on 127.0.0.1) and for
// deployments whose clients live on a closed network.
func WithAllowPrivate() Option {
	return optionFunc(func(f *Fetcher) error { f.allowPrivate = true; return nil })
}

// WithRootCAs sets the CAs that server certificates must chain to
// (default: the system's).
func WithRootCAs(pool *x509.CertPool) Option {
	return optionFunc(func(f *Fetcher) error { f.roots = pool; return nil })
}

// WithTimeout bounds each fetch, from dialling to the last body byte
// (default 5 s, 100 ms to 1 min).
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(f *Fetcher) error {
		if d < 100*time.Millisecond || d > time.Minute {
			return fmt.Errorf("%w: timeout %s", ErrConfig, d)
		}
		f.timeout = d
		return nil
	})
}

// WithMaxBytes bounds a response body (default 256 KiB, 1 KiB to 1 MiB).
func WithMaxBytes(n int) Option {
	return optionFunc(func(f *Fetcher) error {
		if n < 1<<10 || n > 1<<20 {
			return fmt.Errorf("%w: max bytes %d", ErrConfig, n)
		}
		f.maxBytes = n
		return nil
	})
}

// WithCacheBounds clamps how long a set is cached: its Cache-Control
// max-age, or def without one (defaults 1 min, 24 h, 10 min).
func WithCacheBounds(minTTL, maxTTL, def time.Duration) Option {
	return optionFunc(func(f *Fetcher) error {
		if minTTL <= 0 || maxTTL < minTTL || def < minTTL || def > maxTTL {
			return fmt.Errorf("%w: cache bounds %s, %s, %s", ErrConfig, minTTL, maxTTL, def)
		}
		f.minTTL, f.maxTTL, f.defTTL = minTTL, maxTTL, def
		return nil
	})
}

// WithRefetchInterval sets the least time between two fetches of one URL
// that are not due to expiry: for an unknown kid, or after a failure
// (default 1 min).
func WithRefetchInterval(d time.Duration) Option {
	return optionFunc(func(f *Fetcher) error {
		if d <= 0 || d > time.Hour {
			return fmt.Errorf("%w: refetch interval %s", ErrConfig, d)
		}
		f.refetch = d
		return nil
	})
}

// WithMaxEntries bounds the number of URLs cached (default 1024).
func WithMaxEntries(n int) Option {
	return optionFunc(func(f *Fetcher) error {
		if n < 1 || n > 1<<20 {
			return fmt.Errorf("%w: max entries %d", ErrConfig, n)
		}
		f.maxEntries = n
		return nil
	})
}

// WithClock sets the clock of the cache (default time.Now). Network
// timeouts always use the real clock.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(f *Fetcher) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrConfig)
		}
		f.now = now
		return nil
	})
}

// Fetcher fetches and caches JWK Sets. It is safe for concurrent use.
type Fetcher struct {
	client       *http.Client
	allowPrivate bool
	roots        *x509.CertPool
	timeout      time.Duration
	maxBytes     int
	minTTL       time.Duration
	maxTTL       time.Duration
	defTTL       time.Duration
	refetch      time.Duration
	maxEntries   int
	now          func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
}

// entry is one URL's cache state. Its fields are guarded by Fetcher.mu.
type entry struct {
	set       *jws.KeySet // last good set; nil before the first success
	etag      string
	expires   time.Time     // when set goes stale
	lastFetch time.Time     // when a fetch last started
	lastErr   error         // of the last fetch, nil after a success
	inflight  chan struct{} // closed when the running fetch ends
	lastUsed  time.Time
}

// New returns a Fetcher.
func New(opts ...Option) (*Fetcher, error) {
	f := &Fetcher{
		timeout: DefaultTimeout, maxBytes: DefaultMaxBytes,
		minTTL: DefaultMinTTL, maxTTL: DefaultMaxTTL, defTTL: DefaultTTL,
		refetch: DefaultRefetchInterval, maxEntries: DefaultMaxEntries,
		now: time.Now, entries: map[string]*entry{},
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(f); err != nil {
			return nil, err
		}
	}
	dialer := &net.Dialer{Timeout: f.timeout, Control: f.checkDial}
	transport := &http.Transport{
		Proxy:                  nil, // never an environment proxy: it would dial for us, unchecked
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: f.roots},
		TLSHandshakeTimeout:    f.timeout,
		ResponseHeaderTimeout:  f.timeout,
		MaxResponseHeaderBytes: 16 << 10,
		// A URL is fetched at most every few minutes: a connection kept
		// idle would cost a goroutine and a socket per client for
		// nothing, and outlive the call.
		DisableKeepAlives: true,
		ForceAttemptHTTP2: true,
	}
	f.client = &http.Client{Transport: transport, CheckRedirect: checkRedirect}
	return f, nil
}

// checkRedirect follows a few redirects, to the same origin only.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrFetch, maxRedirects)
	}
	first := via[0].URL
	if req.URL.Scheme != "https" || !strings.EqualFold(req.URL.Host, first.Host) || req.URL.User != nil {
		return fmt.Errorf("%w: redirect to another origin", ErrFetch)
	}
	return nil
}

// checkDial refuses connections to addresses that are not public, unless
// allowed. It runs on the resolved address of every connection attempt.
func (f *Fetcher) checkDial(network, address string, _ syscall.RawConn) error {
	if f.allowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrDestination, address)
	}
	if !PublicAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrDestination, ap.Addr())
	}
	return nil
}

// nonPublic are the IPv4 ranges besides those netip classifies that no
// public JWK Set lives in: "this network", shared address space (carrier
// NAT, also cloud-internal), IETF protocol assignments, benchmarking,
// reserved, broadcast (RFC 6890).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("100::/64"),       // discard-only (RFC 6666)
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: embeds an IPv4 address

// PublicAddr reports whether a is an address a jwks_uri may point to: not
// loopback, private (RFC 1918, RFC 4193), link-local (including cloud
// metadata at 169.254.169.254), multicast, unspecified, nor another
// special-purpose range (RFC 6890). IPv4-mapped and NAT64 addresses are
// judged by the IPv4 address they carry.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || a.Zone() != "" {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// checkURL applies the URL rules.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: not a URL", ErrURL)
	case u.Scheme != "https":
		return nil, fmt.Errorf("%w: scheme %q, https required", ErrURL, u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%w: no host", ErrURL)
	case u.User != nil:
		return nil, fmt.Errorf("%w: user information in the URL", ErrURL)
	case u.Fragment != "":
		return nil, fmt.Errorf("%w: a fragment in the URL", ErrURL)
	}
	return u, nil
}

// KeySet returns the JWK Set at uri: the cached one while fresh, else a
// fetched one; when a refetch fails, the last good set (the failure is
// retried no sooner than the refetch interval). Without any good set, the
// error of the fetch (ErrURL, ErrDestination, ErrFetch, ErrKeySet, or the
// context's).
func (f *Fetcher) KeySet(ctx context.Context, uri string) (*jws.KeySet, error) {
	return f.get(ctx, uri, false)
}

// Key returns the key of uri's set that verifies a token with header h
// (its kid, see jws.KeySet.VerificationKey). On a kid the set lacks, the set
// is fetched again, at most once per refetch interval, before the answer
// is jws.ErrUnknownKey.
func (f *Fetcher) Key(ctx context.Context, uri string, h *jws.Header) (*jws.Key, error) {
	set, err := f.get(ctx, uri, false)
	if err != nil {
		return nil, err
	}
	k, err := set.VerificationKey(h)
	if err == nil || !errors.Is(err, jws.ErrUnknownKey) {
		return k, err
	}
	set, err = f.get(ctx, uri, true)
	if err != nil {
		return nil, err
	}
	return set.VerificationKey(h)
}

// Source returns a jws.KeySource over uri for one verification under ctx:
// use it at once (jws.Verify(token, algs, f.Source(ctx, uri))), never keep it.
func (f *Fetcher) Source(ctx context.Context, uri string) jws.KeySource {
	return jws.KeyFunc(func(h *jws.Header) (*jws.Key, error) { return f.Key(ctx, uri, h) })
}

// get returns uri's set, fetching when it is absent or stale, or, with
// unknownKid, when the last fetch is older than the refetch interval.
func (f *Fetcher) get(ctx context.Context, uri string, unknownKid bool) (*jws.KeySet, error) {
	u, err := checkURL(uri)
	if err != nil {
		return nil, err
	}
	for {
		f.mu.Lock()
		e := f.entries[uri]
		if e == nil {
			e = &entry{}
			f.evictLocked()
			f.entries[uri] = e
		}
		now := f.now()
		e.lastUsed = now
		recent := !e.lastFetch.IsZero() && now.Sub(e.lastFetch) < f.refetch
		var due bool
		switch {
		case e.set == nil:
			// Nothing good yet: fetch, unless a fetch failed just now.
			due = !recent || e.lastErr == nil
		case unknownKid:
			due = !recent
		default:
			due = !now.Before(e.expires) && !(recent && e.lastErr != nil)
		}
		if e.inflight != nil {
			ch := e.inflight
			f.mu.Unlock()
			select {
			case <-ch:
				// The fetch under way has answered for us too: look again.
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if !due {
			set, lastErr := e.set, e.lastErr
			f.mu.Unlock()
			if set != nil {
				return set, nil
			}
			return nil, lastErr
		}
		e.inflight = make(chan struct{})
		e.lastFetch = now
		etag, haveSet := e.etag, e.set != nil
		f.mu.Unlock()

		set, newETag, ttl, err := f.fetch(ctx, u, etag, haveSet)

		f.mu.Lock()
		now = f.now()
		switch {
		case err == nil && set == nil: // 304: the cached set stands
			e.expires, e.lastErr = now.Add(ttl), nil
		case err == nil:
			e.set, e.etag, e.expires, e.lastErr = set, newETag, now.Add(ttl), nil
		case ctx.Err() != nil:
			// Our caller gave up; that says nothing about the server.
			e.lastFetch = time.Time{}
		default:
			e.lastErr = err
		}
		close(e.inflight)
		e.inflight = nil
		result, lastErr := e.set, e.lastErr
		f.mu.Unlock()
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if result != nil {
			return result, nil
		}
		return nil, lastErr
	}
}

// evictLocked makes room for one more entry, dropping the least recently
// used one that is not being fetched.
func (f *Fetcher) evictLocked() {
	if len(f.entries) < f.maxEntries {
		return
	}
	var oldest string
	var when time.Time
	for k, e := range f.entries {
		if e.inflight == nil && (oldest == "" || e.lastUsed.Before(when)) {
			oldest, when = k, e.lastUsed
		}
	}
	if oldest != "" {
		delete(f.entries, oldest)
	}
}

// fetch GETs u. A 304 (when haveSet) returns a nil set and no error.
func (f *Fetcher) fetch(ctx context.Context, u *url.URL, etag string, haveSet bool) (*jws.KeySet, string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", 0, fmt.Errorf("%w: %w", ErrURL, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	if haveSet && etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrDestination) { // from checkDial, through net.OpError and url.Error
			return nil, "", 0, fmt.Errorf("%w: %s", ErrDestination, u.Host)
		}
		return nil, "", 0, fmt.Errorf("%w: %s: %w", ErrFetch, u.Host, err)
	}
	defer resp.Body.Close()
	ttl := f.ttl(resp.Header.Values("Cache-Control"))
	switch {
	case resp.StatusCode == http.StatusNotModified && haveSet:
		return nil, "", ttl, nil
	case resp.StatusCode != http.StatusOK:
		return nil, "", 0, fmt.Errorf("%w: %s: HTTP status %d", ErrFetch, u.Host, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(f.maxBytes)+1))
	if err != nil {
		return nil, "", 0, fmt.Errorf("%w: %s: reading the body: %w", ErrFetch, u.Host, err)
	}
	if len(body) > f.maxBytes {
		return nil, "", 0, fmt.Errorf("%w: %s: body over %d bytes", ErrFetch, u.Host, f.maxBytes)
	}
	set, err := jws.ParseKeySet(body)
	if err != nil {
		return nil, "", 0, fmt.Errorf("%w: %s: %w", ErrKeySet, u.Host, err)
	}
	return set, resp.Header.Get("ETag"), ttl, nil
}

// ttl reads Cache-Control (RFC 9111 §5.2.2): max-age clamped to the
// bounds; no-store or no-cache as the lower bound; nothing, the default.
func (f *Fetcher) ttl(values []string) time.Duration {
	ttl := f.defTTL
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			d = strings.TrimSpace(d)
			name, arg, _ := strings.Cut(d, "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return f.minTTL
			case "max-age":
				if n, err := strconv.ParseUint(strings.Trim(arg, `"`), 10, 32); err == nil {
					ttl = time.Duration(n) * time.Second
				}
			}
		}
	}
	return min(max(ttl, f.minTTL), f.maxTTL)
}
