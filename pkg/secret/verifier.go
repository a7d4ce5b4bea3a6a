package secret

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBusy is returned by Verifier.Verify when a slow hash had to wait for a
// free computation slot and ctx ended first. The error also wraps ctx.Err().
// Servers answer it with 503 (or 429) and Retry-After, not with
// invalid_client: the secret was never checked.
var ErrBusy = errors.New("secret: too many slow-hash verifications in progress")

// ErrThrottled is returned by Verifier.VerifyGated when its Gate refused the
// slow-hash computation the request needed. The secret was not checked;
// servers answer 429 with Retry-After and count a failure (Attempt.Fail).
var ErrThrottled = errors.New("secret: too many failed attempts")

// ThrottledError is an ErrThrottled (errors.Is matches it) that says how
// long the refused source must wait: the Retry-After of the 429.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%s; retry after %s", ErrThrottled, e.RetryAfter)
}

// Unwrap returns ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// Gate admits slow-hash computations: Verifier.VerifyGated calls Reserve
// just before it would start one on behalf of the request, and computes
// nothing if it returns false. It is not called for a sha256 hash, a cache
// hit, or a request that shares another request's identical computation,
// since none of them costs a hash. *Attempt implements it.
type Gate interface {
	Reserve() bool
}

type gateKey struct{}

// WithGate returns a context carrying g, for Verifier.Verify calls made
// below an interface that takes no Gate (an endpoint.UserAuthenticator):
// Verify consults the Gate of its context as VerifyGated does.
func WithGate(ctx context.Context, g Gate) context.Context {
	return context.WithValue(ctx, gateKey{}, g)
}

// gateFrom returns the Gate of ctx, or nil.
func gateFrom(ctx context.Context) Gate {
	g, _ := ctx.Value(gateKey{}).(Gate)
	return g
}

// Defaults of VerifierConfig.
const (
	DefaultCacheTTL  = 5 * time.Minute
	DefaultCacheSize = 10000
	DefaultMaxWait   = 2 * time.Second
)

// VerifierConfig configures a Verifier. The zero value is ready to use.
type VerifierConfig struct {
	// CacheTTL is how long a successful slow-hash verification is
	// remembered. Zero means DefaultCacheTTL; negative disables the cache.
	// The TTL is not extended by hits: a cached pair is recomputed at
	// least once per TTL.
	CacheTTL time.Duration
	// CacheSize caps the number of remembered verifications; when full the
	// oldest is evicted. Zero means DefaultCacheSize; negative disables the
	// cache. Each entry costs about 100 bytes.
	CacheSize int
	// MaxConcurrent caps the slow-hash computations running at once. Zero
	// means runtime.GOMAXPROCS(0) at construction.
	MaxConcurrent int
	// MaxWait bounds how long a verification waits for a free slot when
	// all MaxConcurrent are busy, whatever its ctx allows; past it Verify
	// returns ErrBusy, so a flood of slow-hash requests is shed instead of
	// queued. Zero means DefaultMaxWait; negative means wait as long as
	// ctx allows. The timer is set only when a request actually has to
	// wait, so the uncontended path costs nothing.
	MaxWait time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verifier checks secrets against Hashes for a server (SPEC §6):
//
//   - sha256 hashes are checked directly: no cache, no cap, a few hundred
//     nanoseconds;
//   - slow hashes (bcrypt, argon2id) first consult a cache of recent
//     successful verifications, keyed by HMAC-SHA256 under a random key made
//     by NewVerifier, of (encoded hash, secret), so the cache holds neither the
//     secret nor anything that can be checked offline against a guess, and
//     a hash changed in configuration simply misses;
//   - on a miss, concurrent requests for the same (hash, secret) pair share
//     one computation, and computations run under a semaphore of
//     MaxConcurrent slots; waiting for a slot ends with ErrBusy when ctx
//     ends or MaxWait passes;
//   - failures are never cached, so every wrong guess costs a full
//     computation: put a Limiter in front.
//
// A Verifier is safe for concurrent use, starts no goroutines, and its memory
// is bounded by CacheSize plus the requests in flight.
type Verifier struct {
	ttl     time.Duration
	maxWait time.Duration
	now     func() time.Time
	sem     chan struct{}
	shards  []cacheShard
	mask    uint64
	keyPool sync.Pool // *keyer
	epoch   time.Time

	// compute is a test seam: the slow-hash computation.
	compute func(h Hash, secret string) bool

	hits, computed, busy atomic.Uint64
}

type cacheKey = [sha256.Size]byte

type cacheEntry struct {
	expires int64 // nanoseconds since Verifier.epoch
	seq     uint64
}

type ringSlot struct {
	key cacheKey
	seq uint64
}

// cacheShard is a FIFO-bounded map: ring holds keys in insertion order and
// evicts the oldest when full. Entries removed early (expired on lookup)
// leave a stale slot behind, recognised by its sequence number.
type cacheShard struct {
	mu       sync.Mutex
	m        map[cacheKey]cacheEntry
	ring     []ringSlot
	head, n  int
	seq      uint64
	inflight map[cacheKey]*call
	_        [64]byte // keep shards on separate cache lines
}

type call struct {
	done      chan struct{}
	ok        bool
	abandoned bool // the leader got ErrBusy; waiters must retry
}

// keyer computes cache keys; pooled so that the hot path does not rebuild
// the HMAC state or allocate.
type keyer struct {
	mac hash.Hash
	buf []byte
	sum cacheKey
}

// NewVerifier returns a Verifier configured by cfg.
func NewVerifier(cfg VerifierConfig) *Verifier {
	v := &Verifier{ttl: cfg.CacheTTL, now: cfg.Now, maxWait: cfg.MaxWait}
	if v.maxWait == 0 {
		v.maxWait = DefaultMaxWait
	}
	if v.ttl == 0 {
		v.ttl = DefaultCacheTTL
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.epoch = v.now()
	size := cfg.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	if v.ttl < 0 || size < 0 {
		size = 0
	}
	n := cfg.MaxConcurrent
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	v.sem = make(chan struct{}, n)

	// 16 shards, fewer for tiny caches so that the size cap stays exact
	// (each shard holds size/shards entries; the remainder is dropped).
	shards := 16
	for shards > 1 && size/shards < 64 {
		shards /= 2
	}
	v.shards = make([]cacheShard, shards)
	v.mask = uint64(shards - 1)
	for i := range v.shards {
		s := &v.shards[i]
		s.m = make(map[cacheKey]cacheEntry)
		s.inflight = make(map[cacheKey]*call)
		if size > 0 {
			s.ring = make([]ringSlot, size/shards)
		}
	}

	var hmacKey [32]byte
	if _, err := rand.Read(hmacKey[:]); err != nil {
		// crypto/rand.Read does not fail since Go 1.24 (it crashes the
		// program instead); this is defence in depth: without a key, caching
		// would be unsafe, so disable it.
		for i := range v.shards {
			v.shards[i].ring = nil
		}
	}
	v.keyPool.New = func() any {
		return &keyer{mac: hmac.New(sha256.New, hmacKey[:]), buf: make([]byte, 0, 256)}
	}
	v.compute = Hash.Verify
	return v
}

// Verify reports whether secret matches h. It returns an error only when it
// could not decide: ErrBusy (wrapping ctx.Err()) when ctx ended before a
// needed computation could start, while waiting for a computation slot, or
// while waiting for another request's identical computation; ErrThrottled
// when ctx carries a Gate (WithGate) that refused the computation.
// See the Verifier doc for the caching and concurrency rules.
//
// ctx is only consulted when a slow hash must be computed; a sha256 hash
// or a cache hit never blocks.
func (v *Verifier) Verify(ctx context.Context, h Hash, secret string) (bool, error) {
	if !h.Slow() {
		return h.Verify(secret), nil
	}
	return v.VerifyGated(ctx, h, secret, gateFrom(ctx))
}

// VerifyGated is Verify with a Gate: when a slow-hash computation must be
// started for this request, gate.Reserve is called first, and if it
// refuses, nothing is computed and the error is ErrThrottled. A nil gate
// admits everything. Waiting for another request's identical computation
// does not pass the gate: it costs nothing and yields that computation's
// answer.
func (v *Verifier) VerifyGated(ctx context.Context, h Hash, secret string, gate Gate) (bool, error) {
	if !h.Slow() {
		return h.Verify(secret), nil
	}
	if len(secret) == 0 || len(secret) > MaxSecretLen {
		return false, nil // never matches: spend nothing
	}
	k := v.key(h.p.enc, secret)
	s := &v.shards[binary.LittleEndian.Uint64(k[:8])&v.mask]
	for {
		s.mu.Lock()
		if s.lookup(k, v.tick()) {
			s.mu.Unlock()
			v.hits.Add(1)
			return true, nil
		}
		if c := s.inflight[k]; c != nil {
			s.mu.Unlock()
			select {
			case <-c.done:
				if c.abandoned {
					continue // the leader gave up; try to lead
				}
				return c.ok, nil
			case <-ctx.Done():
				v.busy.Add(1)
				return false, busyErr(ctx)
			}
		}
		if gate != nil {
			// Reserving under the shard lock keeps the lookup and the
			// decision to compute one step: a request admitted here is
			// the one that computes.
			if !gate.Reserve() {
				s.mu.Unlock()
				return false, ErrThrottled
			}
		}
		c := &call{done: make(chan struct{})}
		s.inflight[k] = c
		s.mu.Unlock()
		return v.lead(ctx, s, k, c, h, secret)
	}
}

// lead runs the computation for k on behalf of every request waiting on c.
func (v *Verifier) lead(ctx context.Context, s *cacheShard, k cacheKey, c *call, h Hash, secret string) (ok bool, err error) {
	if err := v.acquire(ctx); err != nil {
		v.busy.Add(1)
		v.finish(s, k, c, false, true)
		return false, err
	}
	computed := false
	defer func() {
		<-v.sem
		// If compute panicked, waiters retry instead of reading a result.
		v.finish(s, k, c, ok, !computed)
	}()
	ok = v.compute(h, secret)
	computed = true
	v.computed.Add(1)
	return ok, nil
}

// finish publishes the outcome of a lead to the cache and to the waiters.
func (v *Verifier) finish(s *cacheShard, k cacheKey, c *call, ok, abandoned bool) {
	s.mu.Lock()
	if ok && !abandoned {
		s.insert(k, v.tick()+int64(v.ttl))
	}
	delete(s.inflight, k)
	s.mu.Unlock()
	c.ok, c.abandoned = ok, abandoned
	close(c.done)
}

func (v *Verifier) acquire(ctx context.Context) error {
	if ctx.Err() != nil {
		return busyErr(ctx) // the caller is gone: spend nothing
	}
	select {
	case v.sem <- struct{}{}:
		return nil
	default:
	}
	if v.maxWait < 0 {
		select {
		case v.sem <- struct{}{}:
			return nil
		case <-ctx.Done():
			return busyErr(ctx)
		}
	}
	timer := time.NewTimer(v.maxWait)
	defer timer.Stop()
	select {
	case v.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return busyErr(ctx)
	case <-timer.C:
		return fmt.Errorf("%w: no slot free within %s", ErrBusy, v.maxWait)
	}
}

func busyErr(ctx context.Context) error {
	return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
}

func (v *Verifier) tick() int64 { return int64(v.now().Sub(v.epoch)) }

// key returns HMAC-SHA256(k, len(enc) ‖ enc ‖ secret). The length prefix
// makes the encoding injective. The scratch buffer is wiped before it goes
// back to the pool.
func (v *Verifier) key(enc, secret string) cacheKey {
	kr := v.keyPool.Get().(*keyer)
	kr.buf = binary.BigEndian.AppendUint32(kr.buf[:0], uint32(len(enc)))
	kr.buf = append(kr.buf, enc...)
	kr.buf = append(kr.buf, secret...)
	kr.mac.Reset()
	kr.mac.Write(kr.buf)
	kr.mac.Sum(kr.sum[:0])
	k := kr.sum
	clear(kr.buf)
	kr.mac.Reset()
	if cap(kr.buf) > 4096 {
		kr.buf = make([]byte, 0, 256)
	}
	v.keyPool.Put(kr)
	return k
}

// lookup reports whether k is cached and unexpired at now, dropping it if
// expired. s.mu must be held.
func (s *cacheShard) lookup(k cacheKey, now int64) bool {
	e, ok := s.m[k]
	if !ok {
		return false
	}
	if now >= e.expires {
		delete(s.m, k)
		return false
	}
	return true
}

// insert caches k until expires, evicting the oldest entry when the shard
// is full. s.mu must be held.
func (s *cacheShard) insert(k cacheKey, expires int64) {
	if len(s.ring) == 0 {
		return
	}
	if e, ok := s.m[k]; ok {
		e.expires = expires
		s.m[k] = e
		return
	}
	if s.n == len(s.ring) {
		old := s.ring[s.head]
		if e, ok := s.m[old.key]; ok && e.seq == old.seq {
			delete(s.m, old.key)
		}
		s.ring[s.head] = ringSlot{}
		s.head = (s.head + 1) % len(s.ring)
		s.n--
	}
	s.seq++
	s.ring[(s.head+s.n)%len(s.ring)] = ringSlot{key: k, seq: s.seq}
	s.n++
	s.m[k] = cacheEntry{expires: expires, seq: s.seq}
}

// VerifierStats are counters for metrics.
type VerifierStats struct {
	// Hits counts slow-hash verifications answered from the cache.
	Hits uint64
	// Computed counts slow-hash computations (successful or not).
	Computed uint64
	// Busy counts verifications that ended with ErrBusy.
	Busy uint64
	// Entries is the number of cached verifications now held (including
	// expired ones not yet dropped).
	Entries int
}

// Stats returns the counters. It locks each shard briefly.
func (v *Verifier) Stats() VerifierStats {
	st := VerifierStats{Hits: v.hits.Load(), Computed: v.computed.Load(), Busy: v.busy.Load()}
	for i := range v.shards {
		s := &v.shards[i]
		s.mu.Lock()
		st.Entries += len(s.m)
		s.mu.Unlock()
	}
	return st
}
