package dpop

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// ReplayCache remembers the proofs already used (RFC 9449 §11.1), keyed
// by the proof key's thumbprint and the proof's jti. UseOnce records key
// until exp and returns nil if it was not recorded before; if it was, it
// returns ErrReplayed or an error wrapping it. Any other error means the
// cache could not be consulted: the proof is then refused (fail closed)
// with ErrReplayCheck.
//
// The issuer passes its shared store, so that a proof used at one replica
// is refused at every other; a resource server may use MemoryReplay.
type ReplayCache interface {
	UseOnce(ctx context.Context, key string, exp time.Time) error
}

// ReplayFunc adapts a function to ReplayCache, e.g. a store method whose
// "already used" error is mapped to ErrReplayed.
type ReplayFunc func(ctx context.Context, key string, exp time.Time) error

// UseOnce calls f.
func (f ReplayFunc) UseOnce(ctx context.Context, key string, exp time.Time) error {
	return f(ctx, key, exp)
}

// MemoryReplay is a bounded, in-process ReplayCache for a resource server.
// It holds at most its capacity of entries; when full, the oldest entry is
// dropped to make room (Evicted counts those dropped before their expiry,
// each a proof that could now be replayed: size the capacity above the
// peak proof rate times the acceptance window). It starts no goroutine and
// needs no Close: expired entries are dropped as new ones arrive. Keys are
// kept as 128-bit hashes, so memory is bounded whatever their length. It
// is safe for concurrent use.
type MemoryReplay struct {
	mu      sync.Mutex
	now     func() time.Time
	seen    map[[16]byte]time.Time
	ring    []replayEntry // insertion order, a circular queue
	head    int           // oldest entry
	n       int
	evicted uint64
}

type replayEntry struct {
	key [16]byte
	exp time.Time
}

// NewMemoryReplay returns a cache of at most capacity entries (at least 1);
// now is the clock (nil means time.Now).
func NewMemoryReplay(capacity int, now func() time.Time) (*MemoryReplay, error) {
	if capacity < 1 || capacity > 1<<26 {
		return nil, fmt.Errorf("dpop: replay cache capacity %d out of range [1, %d]", capacity, 1<<26)
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryReplay{now: now, seen: make(map[[16]byte]time.Time, min(capacity, 1024)), ring: make([]replayEntry, capacity)}, nil
}

// UseOnce implements ReplayCache.
func (m *MemoryReplay) UseOnce(_ context.Context, key string, exp time.Time) error {
	h := sha256.Sum256([]byte(key))
	var k [16]byte
	copy(k[:], h[:])
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	// Drop expired entries from the oldest end.
	for m.n > 0 {
		e := &m.ring[m.head]
		if now.Before(e.exp) {
			break
		}
		m.pop()
	}
	if old, ok := m.seen[k]; ok && now.Before(old) {
		return ErrReplayed
	}
	if m.n == len(m.ring) {
		m.evicted++
		m.pop()
	}
	i := (m.head + m.n) % len(m.ring)
	m.ring[i] = replayEntry{key: k, exp: exp}
	m.n++
	m.seen[k] = exp
	return nil
}

// pop removes the oldest entry.
func (m *MemoryReplay) pop() {
	e := m.ring[m.head]
	if cur, ok := m.seen[e.key]; ok && cur.Equal(e.exp) {
		delete(m.seen, e.key)
	}
	m.ring[m.head] = replayEntry{}
	m.head = (m.head + 1) % len(m.ring)
	m.n--
}

// Len returns the number of entries held.
func (m *MemoryReplay) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// Evicted returns how many entries were dropped before their expiry to
// make room.
func (m *MemoryReplay) Evicted() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.evicted
}
