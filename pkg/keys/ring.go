package keys

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// Errors returned by Set and Ring look-ups. Match them with errors.Is.
var (
	// ErrNoActiveKey means no key of the ring is active at the given time.
	ErrNoActiveKey = errors.New("keys: no active key in ring")
	// ErrDuplicateKeyID means two keys of one set share a kid.
	ErrDuplicateKeyID = errors.New("keys: duplicate key id")
	// ErrNilKey means a nil *Key, or a nil *Set, was passed where one is
	// required.
	ErrNilKey = errors.New("keys: nil key")
	// ErrRingName means a ring name is empty or not printable ASCII.
	ErrRingName = errors.New("keys: ring name must be 1 to 512 printable ASCII characters")
)

// Set is an immutable snapshot of a ring: its name and its keys, ordered by
// activation time. Its keys are all symmetric (an encryption ring) or all
// signing keys (the signing ring, see Signing). It is safe for concurrent
// use.
type Set struct {
	name string
	keys []*Key
	byID map[string]*Key
}

// NewSet builds a set from keys. Keys are ordered by activation time; kids
// must be unique; symmetric and signing keys do not mix (ErrKeyKind).
func NewSet(name string, keys ...*Key) (*Set, error) {
	if !validRingName(name) {
		return nil, fmt.Errorf("%w: %q", ErrRingName, name)
	}
	s := &Set{name: name, keys: slices.Clone(keys), byID: make(map[string]*Key, len(keys))}
	for i, k := range s.keys {
		if k == nil {
			return nil, fmt.Errorf("%w: key #%d of ring %q is nil", ErrNilKey, i, name)
		}
		if _, dup := s.byID[k.ID]; dup {
			return nil, fmt.Errorf("%w: %q in ring %q", ErrDuplicateKeyID, k.ID, name)
		}
		if k.Alg.Signing() != s.keys[0].Alg.Signing() {
			return nil, fmt.Errorf("%w: key %q of ring %q", ErrKeyKind, k.ID, name)
		}
		s.byID[k.ID] = k
	}
	slices.SortStableFunc(s.keys, func(a, b *Key) int { return a.Activates.Compare(b.Activates) })
	return s, nil
}

func validRingName(name string) bool {
	if len(name) == 0 || len(name) > 512 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// Name returns the ring's name: an audience, or the internal ring's name.
func (s *Set) Name() string { return s.name }

// Keys returns the keys ordered by activation time. The slice is a copy;
// the keys are shared and immutable.
func (s *Set) Keys() []*Key { return slices.Clone(s.keys) }

// Len returns the number of keys in the set.
func (s *Set) Len() int { return len(s.keys) }

// Signing reports whether the set holds signing keys (ES256, EdDSA, RS256)
// rather than symmetric ones. A set without keys holds neither: false.
func (s *Set) Signing() bool { return len(s.keys) > 0 && s.keys[0].Alg.Signing() }

// Sealing returns the key that seals at time now — for the signing ring,
// the key that signs: among the keys whose activation has come and whose
// retirement has not, the one activated last.
func (s *Set) Sealing(now time.Time) (*Key, error) {
	for i := len(s.keys) - 1; i >= 0; i-- {
		if k := s.keys[i]; k.State(now) == StateActive {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w %q at %s", ErrNoActiveKey, s.name, now.UTC().Format(time.RFC3339))
}

// Opening returns the key with id kid if it opens tokens at time now — for
// the signing ring, if it verifies signatures —, that is if it exists and
// has not expired.
func (s *Set) Opening(kid string, now time.Time) (*Key, bool) {
	k, ok := s.byID[kid]
	if !ok || !now.Before(k.Expires) {
		return nil, false
	}
	return k, true
}

// Lookup returns the key with id kid whatever its state.
func (s *Set) Lookup(kid string) (*Key, bool) {
	k, ok := s.byID[kid]
	return k, ok
}

// Ring holds the current Set of a named key ring and swaps it atomically:
// readers never lock and always see a complete set, the way
// crypto/tls.Config.SetSessionTicketKeys lets keys change while serving.
//
// The zero Ring is not usable; build one with NewRing.
type Ring struct {
	cur atomic.Pointer[Set]
}

// NewRing returns a ring holding set.
func NewRing(set *Set) *Ring {
	r := &Ring{}
	r.cur.Store(set)
	return r
}

// Load returns the current set.
func (r *Ring) Load() *Set { return r.cur.Load() }

// Store replaces the current set. Tokens sealed under keys of the old set
// still open if the new set holds those keys.
func (r *Ring) Store(s *Set) { r.cur.Store(s) }

// Name returns the name of the current set.
func (r *Ring) Name() string { return r.cur.Load().name }

// equal reports whether s and o have the same name and the same keys (id,
// algorithm, material and lifecycle) in the same order.
func (s *Set) equal(o *Set) bool {
	if s.name != o.name || len(s.keys) != len(o.keys) {
		return false
	}
	for i, k := range s.keys {
		if !k.sameKey(o.keys[i]) {
			return false
		}
	}
	return true
}

// Merge returns next with every key that prev already holds with the same
// id, algorithm and material replaced by prev's *Key, so that per-key state
// (the seal counter of Direct keys) survives a reload. A key whose lifecycle
// changed between prev and next (an early rotation moves a retirement) gets
// next's lifecycle and keeps sharing prev's counter. A kid that reappears
// with other material is taken from next as it is: it is a different key.
//
// Merge never fails and never modifies prev or next; a nil prev yields next.
// The result has next's name and key order.
func Merge(prev, next *Set) *Set {
	if prev == nil || next == nil {
		return next
	}
	keys := make([]*Key, len(next.keys))
	for i, k := range next.keys {
		keys[i] = k
		old, ok := prev.byID[k.ID]
		if !ok || old == k || old.Alg != k.Alg || !old.sameMaterial(k) {
			continue
		}
		if old.Lifecycle().equal(k.Lifecycle()) {
			keys[i] = old
		} else if d, err := old.withLifecycle(k.Lifecycle()); err == nil {
			keys[i] = d
		}
	}
	return newSet(next.name, keys)
}

// newSet builds a set from keys already known to be valid, with unique ids,
// ordered by activation time as NewSet orders them.
func newSet(name string, keys []*Key) *Set {
	s := &Set{name: name, keys: keys, byID: make(map[string]*Key, len(keys))}
	for _, k := range keys {
		s.byID[k.ID] = k
	}
	slices.SortStableFunc(s.keys, func(a, b *Key) int { return a.Activates.Compare(b.Activates) })
	return s
}
