package jwksfetch_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/jwksfetch"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// jwksServer is a TLS JWK Set server whose keys, headers and behaviour a
// test changes as it goes.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64

	mu           sync.Mutex
	body         string
	cacheControl string
	etag         string
	status       int
	delay        time.Duration
	gate         chan struct{} // when set, requests wait on it
}

func newServer(t *testing.T, kids ...string) *jwksServer {
	s := &jwksServer{status: 200}
	s.setKeys(t, kids...)
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	body, cc, etag, status, delay, gate := s.body, s.cacheControl, s.etag, s.status, s.delay, s.gate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	if etag != "" {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func (s *jwksServer) setKeys(t *testing.T, kids ...string) {
	var keys []string
	for _, kid := range kids {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		j, err := jws.AppendPublicJWK(nil, &k.PublicKey, kid, jws.ES256)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, string(j))
	}
	s.set(func() { s.body = `{"keys":[` + strings.Join(keys, ",") + `]}` })
}

func (s *jwksServer) set(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newFetcher(t *testing.T, s *jwksServer, c *clock, opts ...jwksfetch.Option) *jwksfetch.Fetcher {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	base := []jwksfetch.Option{jwksfetch.WithAllowPrivate(), jwksfetch.WithRootCAs(pool), jwksfetch.WithTimeout(2 * time.Second)}
	if c != nil {
		base = append(base, jwksfetch.WithClock(c.now))
	}
	f, err := jwksfetch.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func hdr(kid string) *jws.Header { return &jws.Header{Algorithm: jws.ES256, KeyID: kid} }

func TestCacheHonoursMaxAge(t *testing.T) {
	s := newServer(t, "k1")
	s.set(func() { s.cacheControl = "public, max-age=300" })
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	f := newFetcher(t, s, c)
	ctx := context.Background()
	for range 3 {
		if set, err := f.KeySet(ctx, s.URL+"/jwks"); err != nil || set.Len() != 1 {
			t.Fatalf("KeySet: %v", err)
		}
	}
	if s.hits.Load() != 1 {
		t.Fatalf("%d fetches within max-age, want 1", s.hits.Load())
	}
	c.add(299 * time.Second)
	f.KeySet(ctx, s.URL+"/jwks")
	if s.hits.Load() != 1 {
		t.Fatal("refetched before max-age")
	}
	c.add(time.Second)
	if _, err := f.KeySet(ctx, s.URL+"/jwks"); err != nil || s.hits.Load() != 2 {
		t.Fatalf("after max-age: %v, %d fetches", err, s.hits.Load())
	}
}

// TestCacheBounds: RFC 9111 §5.2.2 directives, clamped to the bounds.
func TestCacheBounds(t *testing.T) {
	tests := []struct {
		name, cc string
		fresh    time.Duration // still cached after this
		stale    time.Duration // refetched after this
	}{
		{"RFC 9111 §5.2.2.1: max-age", "max-age=600", 599 * time.Second, 600 * time.Second},
		{"max-age below the lower bound", "max-age=1", 59 * time.Second, time.Minute},
		{"max-age above the upper bound", "max-age=999999999", 23 * time.Hour, 24 * time.Hour},
		{"RFC 9111 §5.2.2.5: no-store", "no-store", 59 * time.Second, time.Minute},
		{"RFC 9111 §5.2.2.4: no-cache", "max-age=600, no-cache", 59 * time.Second, time.Minute},
		{"no Cache-Control: the default", "", 9 * time.Minute, 10 * time.Minute},
		{"an unparsable max-age: the default", "max-age=soon", 9 * time.Minute, 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, "k1")
			s.set(func() { s.cacheControl = tt.cc })
			c := &clock{t: time.Unix(1_800_000_000, 0)}
			f := newFetcher(t, s, c)
			ctx := context.Background()
			f.KeySet(ctx, s.URL)
			c.add(tt.fresh)
			f.KeySet(ctx, s.URL)
			if s.hits.Load() != 1 {
				t.Fatalf("refetched after %s", tt.fresh)
			}
			c.add(tt.stale - tt.fresh)
			f.KeySet(ctx, s.URL)
			if s.hits.Load() != 2 {
				t.Fatalf("not refetched after %s", tt.stale)
			}
		})
	}
}

func TestConditionalRefetch(t *testing.T) {
	s := newServer(t, "k1")
	s.set(func() { s.cacheControl = "max-age=60"; s.etag = `"v1"` })
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	f := newFetcher(t, s, c)
	first, err := f.KeySet(context.Background(), s.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.add(time.Minute)
	second, err := f.KeySet(context.Background(), s.URL)
	if err != nil || second != first || s.hits.Load() != 2 {
		t.Fatalf("304 revalidation: %v, same set %v, %d hits", err, second == first, s.hits.Load())
	}
	c.add(59 * time.Second)
	f.KeySet(context.Background(), s.URL)
	if s.hits.Load() != 2 {
		t.Fatal("a 304 did not renew the cache")
	}
}

// TestUnknownKidRefetchesOncePerInterval: a client rotated its key; the
// first assertion with the new kid refetches the set, but a flood of
// unknown kids refetches at most once per interval.
func TestUnknownKidRefetchesOncePerInterval(t *testing.T) {
	s := newServer(t, "k1")
	s.set(func() { s.cacheControl = "max-age=3600" })
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	f := newFetcher(t, s, c, jwksfetch.WithRefetchInterval(time.Minute))
	ctx := context.Background()
	if _, err := f.Key(ctx, s.URL, hdr("k1")); err != nil {
		t.Fatal(err)
	}
	c.add(2 * time.Minute)
	s.setKeys(t, "k1", "k2") // the client rotates
	if _, err := f.Key(ctx, s.URL, hdr("k2")); err != nil || s.hits.Load() != 2 {
		t.Fatalf("the new kid: %v, %d fetches", err, s.hits.Load())
	}
	for i := range 50 {
		if _, err := f.Key(ctx, s.URL, hdr(fmt.Sprint("bogus-", i))); !errors.Is(err, jws.ErrUnknownKey) {
			t.Fatalf("bogus kid: %v", err)
		}
	}
	if s.hits.Load() != 2 {
		t.Fatalf("a flood of unknown kids made %d fetches", s.hits.Load()-2)
	}
	c.add(time.Minute)
	f.Key(ctx, s.URL, hdr("bogus"))
	if s.hits.Load() != 3 {
		t.Fatalf("after the interval: %d fetches, want 3", s.hits.Load())
	}
	// Known kids keep working without fetches throughout.
	if _, err := f.Key(ctx, s.URL, hdr("k1")); err != nil || s.hits.Load() != 3 {
		t.Fatalf("known kid: %v", err)
	}
}

// TestLastGoodKept: when the server fails (an error status, a broken or
// oversized body, a private key), the last good set keeps verifying, and
// the failing server is retried no more than once per interval.
func TestLastGoodKept(t *testing.T) {
	failures := map[string]func(s *jwksServer){
		"HTTP 500":       func(s *jwksServer) { s.status = 500 },
		"broken JSON":    func(s *jwksServer) { s.body = `{"keys":[` },
		"a private key":  func(s *jwksServer) { s.body = `{"keys":[{"kty":"oct","k":"AAAA"}]}` },
		"oversized body": func(s *jwksServer) { s.body = `{"keys":[],"x":"` + strings.Repeat("a", 300<<10) + `"}` },
	}
	for name, fail := range failures {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, "k1")
			s.set(func() { s.cacheControl = "max-age=60" })
			c := &clock{t: time.Unix(1_800_000_000, 0)}
			f := newFetcher(t, s, c, jwksfetch.WithRefetchInterval(30*time.Second))
			ctx := context.Background()
			good, err := f.KeySet(ctx, s.URL)
			if err != nil {
				t.Fatal(err)
			}
			s.set(func() { fail(s) })
			c.add(time.Minute)
			for range 10 {
				got, err := f.KeySet(ctx, s.URL)
				if err != nil || got != good {
					t.Fatalf("during the failure: %v", err)
				}
				if _, err := f.Key(ctx, s.URL, hdr("k1")); err != nil {
					t.Fatalf("k1 during the failure: %v", err)
				}
			}
			if s.hits.Load() != 2 {
				t.Fatalf("%d fetches during the failure, want 1 retry", s.hits.Load()-1)
			}
			c.add(30 * time.Second)
			f.KeySet(ctx, s.URL)
			if s.hits.Load() != 3 {
				t.Fatalf("no retry after the interval")
			}
		})
	}
}

// TestFirstFetchFailure: without a good set the error is typed, cached for
// the interval, and retried after it.
func TestFirstFetchFailure(t *testing.T) {
	s := newServer(t, "k1")
	s.set(func() { s.status = 404 })
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	f := newFetcher(t, s, c)
	for range 3 {
		if _, err := f.KeySet(context.Background(), s.URL); !errors.Is(err, jwksfetch.ErrFetch) {
			t.Fatalf("404: %v", err)
		}
	}
	if s.hits.Load() != 1 {
		t.Fatalf("%d fetches of a failing URL within the interval", s.hits.Load())
	}
	s.set(func() { s.status = 200 })
	c.add(time.Minute)
	if _, err := f.KeySet(context.Background(), s.URL); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// TestConcurrentCallersFetchOnce: a burst of assertions from one new client
// fetches its set once.
func TestConcurrentCallersFetchOnce(t *testing.T) {
	s := newServer(t, "k1")
	gate := make(chan struct{})
	s.set(func() { s.gate = gate })
	f := newFetcher(t, s, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.Key(context.Background(), s.URL, hdr("k1"))
			errs <- err
		}()
	}
	time.Sleep(100 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.hits.Load() != 1 {
		t.Fatalf("%d fetches for 20 concurrent callers", s.hits.Load())
	}
}

// TestContextAndTimeout: a hanging server is cut off by the timeout, a
// caller's cancellation returns at once, and neither poisons the cache.
func TestContextAndTimeout(t *testing.T) {
	s := newServer(t, "k1")
	s.set(func() { s.delay = 5 * time.Second })
	f := newFetcher(t, s, nil, jwksfetch.WithTimeout(200*time.Millisecond))
	start := time.Now()
	if _, err := f.KeySet(context.Background(), s.URL); !errors.Is(err, jwksfetch.ErrFetch) {
		t.Fatalf("hanging server: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the timeout took %s", d)
	}
	f2 := newFetcher(t, s, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := f2.KeySet(ctx, s.URL); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled caller: %v", err)
	}
	s.set(func() { s.delay = 0 })
	if _, err := f2.KeySet(context.Background(), s.URL); err != nil {
		t.Fatalf("after the caller gave up, the next fetch: %v", err)
	}
}

func TestMaxEntries(t *testing.T) {
	s := newServer(t, "k1")
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	f := newFetcher(t, s, c, jwksfetch.WithMaxEntries(2))
	ctx := context.Background()
	for _, p := range []string{"/a", "/b", "/a", "/c"} { // c evicts b, the least recently used
		c.add(time.Second)
		f.KeySet(ctx, s.URL+p)
	}
	hits := s.hits.Load()
	f.KeySet(ctx, s.URL+"/a")
	if s.hits.Load() != hits {
		t.Fatal("/a was evicted")
	}
	f.KeySet(ctx, s.URL+"/b")
	if s.hits.Load() != hits+1 {
		t.Fatal("/b was not evicted")
	}
}

func TestPublicAddr(t *testing.T) {
	tests := []struct {
		addr   string
		public bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"fd00::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"100.64.1.1", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false}, // NAT64 of 10.0.0.1
		{"64:ff9b::5db8:d822", true},
		{"198.18.0.1", false},
	}
	for _, tt := range tests {
		if got := jwksfetch.PublicAddr(netip.MustParseAddr(tt.addr)); got != tt.public {
			t.Errorf("PublicAddr(%s) = %v, want %v", tt.addr, got, tt.public)
		}
	}
}

// TestNoGoroutineOutlivesACall: the package doc's promise, checked.
func TestNoGoroutineOutlivesACall(t *testing.T) {
	s := newServer(t, "k1")
	f := newFetcher(t, s, nil)
	before := runtime.NumGoroutine()
	for i := range 5 {
		if _, err := f.KeySet(context.Background(), fmt.Sprintf("%s/%d", s.URL, i)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after the calls, %d before", n, before)
	}
}
