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
	// DefaultKnownTTL is how long a successful authentication vouches for
	// the address it came from (LimiterConfig.KnownTTL).
	DefaultKnownTTL = 30 * 24 * time.Hour
	// DefaultMaxKnown caps the remembered (account, address) pairs.
	DefaultMaxKnown = 65536
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
	// KnownTTL is how long a successful authentication of an account from
	// an address (an IPv4 address, or an IPv6 /64) makes that address a
	// known source of the account for Begin: failures from elsewhere never
	// block it. Each success renews it. Default 30 days.
	KnownTTL time.Duration
	// MaxKnown caps the remembered (account, address) pairs; beyond it the
	// least recently successful pair is forgotten. Only a correct
	// credential adds a pair, so an attacker cannot flush them. Each costs
	// about 50 bytes. Default 65536.
	MaxKnown int
}

// Limiter counts authentication failures per key and blocks keys that fail
// too often (SPEC §6), so that wrong secrets can neither burn CPU on slow
// hashes nor guess a secret, and so that nobody can use it to lock the
// legitimate holder of a credential out.
//
// # Policy
//
// Servers use it through Begin, which applies this package's policy to one
// authentication attempt of an account (a client id or a user name) from a
// client address; see Begin and Attempt. In short: an attempt is reserved
// atomically before any slow hash is computed, so a concurrent flood cannot
// exceed the bound; an address the account has succeeded from before
// (KnownTTL), or a device the caller vouches for, is counted on its own, so
// failures from elsewhere never refuse it; guesses from anywhere else are
// bounded per Window by the account's key, across all addresses, and by the
// address's key, across all accounts; IPv6 addresses count per /64; and a
// success never resets a count, so it cannot clear an attacker's.
//
// # Keys
//
// Underneath, the Limiter counts per key (Allow, Reserve, Settle, Fail):
// after Threshold failures within Window a key is blocked for Block,
// doubling with each further block up to MaxBlock. Reserve admits an
// attempt only while failures plus attempts in flight stay below
// Threshold, which is what makes the bound hold under concurrency.
//
// Keys are hashed with a per-Limiter random seed (hash/maphash) into 64-bit
// map keys, so memory per key is fixed whatever the key length; a collision
// between two live keys (probability about n²/2⁶⁵, and not steerable without
// the seed) would merely share a counter.
//
// Memory is bounded by MaxKeys (plus the keys with an attempt in flight)
// and MaxKnown. Keys that were never blocked sit in a probation list and
// are evicted before keys that were, so spraying random client ids or
// addresses cannot flush the record of a blocked attacker.
//
// The state lives in the process: with several replicas each counts the
// attempts it serves, so the bounds hold per replica, and an address is
// known to the replicas it has succeeded on.
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
	known  *knownSet
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
// An entry with attempts in flight (pending > 0) is in neither list, so it
// is never evicted or swept while a reservation refers to it.
type limEntry struct {
	h            uint64
	failures     uint32
	pending      uint32 // reservations not yet settled
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
	if cfg.KnownTTL <= 0 {
		cfg.KnownTTL = DefaultKnownTTL
	}
	if cfg.MaxKnown <= 0 {
		cfg.MaxKnown = DefaultMaxKnown
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
	l.known = newKnownSet(cfg.MaxKnown)
	return l
}

// Config returns the configuration in effect, defaults filled in.
func (l *Limiter) Config() LimiterConfig { return l.cfg }

func (l *Limiter) hash(key string) uint64 { return maphash.String(l.seed, key) }

// shardOf picks a key's shard by the high bits of its hash; the map hashes
// the full value again.
func (l *Limiter) shardOf(h uint64) *limShard { return &l.shards[(h>>40)&l.mask] }

func (l *Limiter) tick(now time.Time) int64 { return int64(now.Sub(l.epoch)) }

// Allow reports whether key may attempt authentication at now: it is not
// blocked. When it may not, retryAfter is how long until it may (positive);
// see RetryAfterSeconds. It reserves nothing: a server that computes a hash
// after Allow should use Reserve (or Begin), or concurrent requests can all
// pass Allow before the first failure is counted.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	return l.allowH(l.hash(key), l.tick(now))
}

func (l *Limiter) allowH(h uint64, t int64) (bool, time.Duration) {
	s := l.shardOf(h)
	if s.count.Load() == 0 {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[h]
	if e == nil {
		return true, 0
	}
	if t < e.blockedUntil {
		return false, time.Duration(e.blockedUntil - t)
	}
	if e.pending == 0 && t >= e.expires {
		s.remove(e)
	}
	return true, 0
}

// retryBusy is the Retry-After of a key whose failures and attempts in
// flight have reached Threshold without a block: the attempts in flight
// settle within a hash computation.
const retryBusy = time.Second

// Reserve reserves one authentication attempt for key at now: it succeeds
// when the key is not blocked and its failures in the current window plus
// the attempts already reserved stay below Threshold. Every successful
// Reserve must be followed by exactly one Settle. When it fails,
// retryAfter says how long until it may succeed. Reserving before a hash
// is computed, rather than counting after, bounds the hashes a flood of
// concurrent requests can cause by Threshold per window.
func (l *Limiter) Reserve(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	return l.reserveH(l.hash(key), l.tick(now))
}

func (l *Limiter) reserveH(h uint64, t int64) (bool, time.Duration) {
	s := l.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[h]
	if e != nil && e.pending == 0 && t >= e.expires && t >= e.blockedUntil {
		s.remove(e)
		e = nil
	}
	if e == nil {
		e = s.add(h)
	}
	if t < e.blockedUntil {
		return false, time.Duration(e.blockedUntil - t)
	}
	failures := e.failures
	if t-e.windowStart >= int64(l.cfg.Window) {
		failures = 0
	}
	if int(failures)+int(e.pending) >= l.cfg.Threshold {
		return false, retryBusy
	}
	if e.pending == 0 && e.list != nil {
		unlink(e) // not evictable while a reservation refers to it
	}
	e.pending++
	return true, 0
}

// Settle ends a reservation of key made by Reserve: failed records a
// failure, as Fail does, and returns the block it started, if any; a
// success records nothing (and resets nothing: failures expire with their
// window, so a success cannot clear an attacker's count).
func (l *Limiter) Settle(key string, now time.Time, failed bool) (blocked time.Duration) {
	return l.settleH(l.hash(key), l.tick(now), failed)
}

func (l *Limiter) settleH(h uint64, t int64, failed bool) time.Duration {
	s := l.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[h]
	if e == nil || e.pending == 0 {
		// No reservation (a caller's mistake): count the failure anyway.
		if !failed {
			return 0
		}
		return l.failLocked(s, e, h, t)
	}
	e.pending--
	if failed {
		return l.failLocked(s, e, h, t)
	}
	l.place(s, e, t)
	return 0
}

// Fail records an authentication failure for key at now, without a
// reservation. It returns the length of the block the key is now under:
// zero when this failure did not start a block. Failures while a key is
// blocked (requests admitted just before the block began) are not counted.
func (l *Limiter) Fail(key string, now time.Time) (blocked time.Duration) {
	h := l.hash(key)
	s := l.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	return l.failLocked(s, s.m[h], h, l.tick(now))
}

// failLocked counts a failure on e (nil: not tracked yet). s.mu is held.
func (l *Limiter) failLocked(s *limShard, e *limEntry, h uint64, t int64) (blocked time.Duration) {
	if e != nil && e.pending == 0 && t >= e.expires && t >= e.blockedUntil {
		s.remove(e)
		e = nil
	}
	if e == nil {
		e = s.add(h)
		e.windowStart = t
	}
	if t < e.blockedUntil {
		l.place(s, e, t)
		return 0
	}
	if e.failures == 0 || t-e.windowStart >= int64(l.cfg.Window) {
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
	l.place(s, e, t)
	return blocked
}

// place updates e's expiry and list after a change: an entry with attempts
// in flight stays out of the lists; one that holds nothing any more is
// dropped. s.mu is held.
func (l *Limiter) place(s *limShard, e *limEntry, t int64) {
	if e.strikes == 0 {
		e.expires = e.windowStart + int64(l.cfg.Window)
	} else {
		e.expires = max(e.windowStart+int64(l.cfg.Window), e.blockedUntil) + int64(l.cfg.IdleTTL)
	}
	if e.pending > 0 {
		if e.list != nil {
			unlink(e)
		}
		return
	}
	if e.strikes == 0 && (e.failures == 0 || t >= e.expires) {
		s.remove(e)
		return
	}
	if e.strikes == 0 {
		s.touch(e, &s.probation)
	} else {
		s.touch(e, &s.protected)
	}
}

// Forget drops everything known about key: its failures, its block and its
// block history. It is for operators unblocking a key by hand; a successful
// authentication does not call it (see Settle).
func (l *Limiter) Forget(key string) {
	h := l.hash(key)
	s := l.shardOf(h)
	if s.count.Load() == 0 {
		return
	}
	s.mu.Lock()
	if e := s.m[h]; e != nil && e.pending == 0 {
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
// it dropped, and forgets known sources past KnownTTL. Expired keys are
// also dropped lazily when touched and evicted first-come when a shard is
// full, so calling Sweep is optional; a server may call it every minute to
// return memory after an attack.
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
			if e.pending == 0 && t >= e.expires && t >= e.blockedUntil {
				s.remove(e)
				n++
			}
		}
		s.mu.Unlock()
	}
	l.known.sweep(t)
	return n
}

// add inserts a fresh entry for h, evicting when the shard is full: the
// least recently failed never-blocked key, else the least recently failed
// blocked key. Keys with attempts in flight are in no list and never
// evicted; when only they remain the shard grows past its capacity by
// them, which the requests in flight bound. The evicted entry's memory is
// reused. s.mu must be held.
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
	if e.list != nil {
		unlink(e)
	}
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
