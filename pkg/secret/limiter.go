package secret

import (
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of LimiterConfig.
const (
	DefaultThreshold = 10
	DefaultWindow    = time.Minute
	DefaultBlock     = time.Minute
	DefaultMaxBlock  = 15 * time.Minute
	DefaultMaxKeys   = 65536
)

// LimiterConfig configures a Limiter. The zero value is ready to use; a zero
// or negative field takes its default.
type LimiterConfig struct {
	// Threshold is the number of failures within Window that blocks a key.
	// Default 10.
	Threshold int
	// Window is the counting window, opened by a key's first failure (a
	// fixed window, not a sliding one: a key sees at most 2×(Threshold−1)
	// failures across a window boundary before it is blocked). Default 1 min.
	Window time.Duration
	// Block is the first block's length; each further block of the same key
	// doubles it, up to MaxBlock. Default 1 min.
	Block time.Duration
	// MaxBlock caps the block length. Default 15 min; raised to Block if
	// smaller.
	MaxBlock time.Duration
	// IdleTTL is how long a key that has been blocked is remembered after its
	// last block or failure window ends, so that a returning attacker meets
	// the grown block rather than a fresh start. A key never blocked is
	// forgotten when its window ends. Default MaxBlock.
	IdleTTL time.Duration
	// MaxKeys caps the keys tracked; beyond it the least recently failed key
	// is dropped, keys never blocked first. Each key costs about 100 bytes
	// whatever the length of the key string. Default 65536.
	MaxKeys int
}

// Limiter counts authentication failures per key and blocks keys that fail
// too often (SPEC §6), so that wrong secrets cannot be used to burn CPU on
// slow hashes. Callers use one key per client id ("client:<id>") and one per
// remote address ("addr:<ip>") and, per request:
//
//	for each key: if ok, retry := l.Allow(key, now); !ok → 429, Retry-After: RetryAfterSeconds(retry)
//	verify the secret
//	on failure: l.Fail(key, now) for each key; on success: l.Succeed(clientKey, now)
//
// Calling Succeed for an address key lets anyone holding one valid client
// credential reset the counter of their address between guesses at other
// clients; the client key still stops them, but servers may prefer to let
// address keys expire on their own.
//
// Keys are hashed with a per-Limiter random seed (hash/maphash) into 64-bit
// map keys, so memory per key is fixed whatever the key length; a collision
// between two live keys (probability about n²/2⁶⁵, and not steerable without
// the seed) would merely share a counter.
//
// Memory is bounded by MaxKeys. Keys that were never blocked sit in a
// probation list and are evicted before keys that were, so spraying random
// client ids or addresses cannot flush the record of a blocked attacker.
//
// Time is passed in by the caller and never read from the system clock.
// A Limiter is safe for concurrent use and starts no goroutines; Allow for a
// key with no failures is a lock-free check when its shard is empty and a map
// miss otherwise, and never allocates.
type Limiter struct {
	cfg    LimiterConfig
	seed   maphash.Seed
	epoch  time.Time
	shards []limShard
	mask   uint64
}

type limShard struct {
	mu        sync.Mutex
	count     atomic.Int64 // len(m), readable without mu
	m         map[uint64]*limEntry
	probation limList // never blocked
	protected limList // blocked at least once
	capacity  int
	_         [64]byte
}

// limEntry is one key's state. Times are nanoseconds since Limiter.epoch.
type limEntry struct {
	h            uint64
	failures     uint32
	strikes      uint32 // number of blocks so far
	windowStart  int64
	blockedUntil int64
	expires      int64
	prev, next   *limEntry
	list         *limList
}

// limList is an intrusive doubly linked list with a sentinel; front is the
// most recently failed.
type limList struct {
	root limEntry
}

func (l *limList) init() { l.root.next, l.root.prev = &l.root, &l.root }
func (l *limList) back() *limEntry {
	if l.root.prev == &l.root {
		return nil
	}
	return l.root.prev
}
func (l *limList) pushFront(e *limEntry) {
	e.list = l
	e.prev = &l.root
	e.next = l.root.next
	l.root.next.prev = e
	l.root.next = e
}
func unlink(e *limEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next, e.list = nil, nil, nil
}

// NewLimiter returns a Limiter configured by cfg. Its internal clock counts
// from time.Now() at construction (only differences matter, so a test clock
// works as well, and callers passing time.Now() get monotonic time).
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Threshold <= 0 {
		cfg.Threshold = DefaultThreshold
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Block <= 0 {
		cfg.Block = DefaultBlock
	}
	if cfg.MaxBlock <= 0 {
		cfg.MaxBlock = DefaultMaxBlock
	}
	if cfg.MaxBlock < cfg.Block {
		cfg.MaxBlock = cfg.Block
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = cfg.MaxBlock
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	// 64 shards, fewer for small caps so each shard holds at least 64 keys
	// and the cap stays exact (the remainder of MaxKeys/shards is dropped).
	shards := 64
	for shards > 1 && cfg.MaxKeys/shards < 64 {
		shards /= 2
	}
	l := &Limiter{cfg: cfg, seed: maphash.MakeSeed(), epoch: time.Now(), shards: make([]limShard, shards), mask: uint64(shards - 1)}
	for i := range l.shards {
		s := &l.shards[i]
		s.m = make(map[uint64]*limEntry)
		s.probation.init()
		s.protected.init()
		s.capacity = cfg.MaxKeys / shards
	}
	return l
}

func (l *Limiter) shard(key string) (*limShard, uint64) {
	h := maphash.String(l.seed, key)
	// High bits pick the shard; the map hashes the full value again.
	return &l.shards[(h>>40)&l.mask], h
}

func (l *Limiter) tick(now time.Time) int64 { return int64(now.Sub(l.epoch)) }

// Allow reports whether key may attempt authentication at now. When it may
// not, retryAfter is how long until it may (positive); see RetryAfterSeconds.
// Call it for every key of a request before computing any hash.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	s, h := l.shard(key)
	if s.count.Load() == 0 {
		return true, 0
	}
	s.mu.Lock()
	e := s.m[h]
	if e == nil {
		s.mu.Unlock()
		return true, 0
	}
	t := l.tick(now)
	if t < e.blockedUntil {
		d := time.Duration(e.blockedUntil - t)
		s.mu.Unlock()
		return false, d
	}
	if t >= e.expires {
		s.remove(e)
	}
	s.mu.Unlock()
	return true, 0
}

// Fail records an authentication failure for key at now. It returns the
// length of the block the key is now under: zero when this failure did not
// start a block. Failures while a key is blocked (requests admitted just
// before the block began) are not counted.
func (l *Limiter) Fail(key string, now time.Time) (blocked time.Duration) {
	s, h := l.shard(key)
	t := l.tick(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[h]
	if e != nil && t >= e.expires && t >= e.blockedUntil {
		s.remove(e)
		e = nil
	}
	if e == nil {
		e = s.add(h)
		e.windowStart = t
	}
	if t < e.blockedUntil {
		return 0
	}
	if t-e.windowStart >= int64(l.cfg.Window) {
		e.failures, e.windowStart = 0, t
	}
	e.failures++
	if e.failures >= uint32(l.cfg.Threshold) {
		e.strikes++
		d := l.cfg.Block
		for i := uint32(1); i < e.strikes && d < l.cfg.MaxBlock; i++ {
			if d > l.cfg.MaxBlock/2 {
				d = l.cfg.MaxBlock
				break
			}
			d *= 2
		}
		d = min(d, l.cfg.MaxBlock)
		e.blockedUntil = t + int64(d)
		e.failures, e.windowStart = 0, e.blockedUntil
		blocked = d
	}
	if e.strikes == 0 {
		e.expires = e.windowStart + int64(l.cfg.Window)
		s.touch(e, &s.probation)
	} else {
		e.expires = max(e.windowStart+int64(l.cfg.Window), e.blockedUntil) + int64(l.cfg.IdleTTL)
		s.touch(e, &s.protected)
	}
	return blocked
}

// Succeed forgets key: a successful authentication resets its failures and
// its block history.
func (l *Limiter) Succeed(key string, now time.Time) {
	_ = now // part of the signature for symmetry and future policies
	s, h := l.shard(key)
	if s.count.Load() == 0 {
		return
	}
	s.mu.Lock()
	if e := s.m[h]; e != nil {
		s.remove(e)
	}
	s.mu.Unlock()
}

// Len returns the number of keys tracked, for metrics and tests.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		n += int(l.shards[i].count.Load())
	}
	return n
}

// Sweep drops every key whose state has expired at now and returns how many
// it dropped. Expired keys are also dropped lazily when touched and evicted
// first-come when a shard is full, so calling Sweep is optional; a server may
// call it every minute to return memory after an attack.
func (l *Limiter) Sweep(now time.Time) int {
	t := l.tick(now)
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		if s.count.Load() == 0 {
			continue
		}
		s.mu.Lock()
		for _, e := range s.m {
			if t >= e.expires && t >= e.blockedUntil {
				s.remove(e)
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

// add inserts a fresh entry for h, evicting when the shard is full: the
// least recently failed never-blocked key, else the least recently failed
// blocked key. The evicted entry's memory is reused. s.mu must be held.
func (s *limShard) add(h uint64) *limEntry {
	var e *limEntry
	if len(s.m) >= s.capacity {
		victim := s.probation.back()
		if victim == nil {
			victim = s.protected.back()
		}
		if victim != nil {
			s.remove(victim)
			*victim = limEntry{}
			e = victim
		}
	}
	if e == nil {
		e = new(limEntry)
	}
	e.h = h
	// Never blocked yet: a time before the Limiter's epoch (a test clock, or
	// a wall clock stepped back) must not read as "blocked until 0".
	e.blockedUntil = math.MinInt64
	s.m[h] = e
	s.count.Store(int64(len(s.m)))
	s.probation.pushFront(e)
	return e
}

// touch moves e to the front of list. s.mu must be held.
func (s *limShard) touch(e *limEntry, list *limList) {
	unlink(e)
	list.pushFront(e)
}

// remove deletes e. s.mu must be held.
func (s *limShard) remove(e *limEntry) {
	if e.list != nil {
		unlink(e)
	}
	delete(s.m, e.h)
	s.count.Store(int64(len(s.m)))
}

// RetryAfterSeconds converts a retry duration into the delta-seconds of an
// HTTP Retry-After header (RFC 9110 §10.2.3): rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	if d <= 0 {
		return 1
	}
	s := (d + time.Second - 1) / time.Second
	if s < 1 {
		return 1
	}
	return int(s)
}
