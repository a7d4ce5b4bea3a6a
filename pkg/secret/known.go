package secret

import "sync"

// knownSet remembers hashed (account, source) pairs that authenticated
// successfully, each until an expiry, in a bounded LRU: the least recently
// successful pair goes first when it is full. Only a correct credential
// adds a pair, so nobody can flush the set without credentials. It is
// sharded like the Limiter; the zero capacity remembers nothing.
type knownSet struct {
	shards []knownShard
	mask   uint64
}

type knownShard struct {
	mu       sync.Mutex
	m        map[uint64]*knownEntry
	root     knownEntry // LRU sentinel: root.next is the most recent
	capacity int
	_        [64]byte
}

type knownEntry struct {
	h          uint64
	expires    int64
	prev, next *knownEntry
}

func newKnownSet(capacity int) *knownSet {
	shards := 16
	for shards > 1 && capacity/shards < 64 {
		shards /= 2
	}
	k := &knownSet{shards: make([]knownShard, shards), mask: uint64(shards - 1)}
	for i := range k.shards {
		s := &k.shards[i]
		s.m = make(map[uint64]*knownEntry)
		s.root.next, s.root.prev = &s.root, &s.root
		s.capacity = capacity / shards
	}
	return k
}

func (k *knownSet) shard(h uint64) *knownShard { return &k.shards[(h>>36)&k.mask] }

// contains reports whether h is remembered and unexpired at t.
func (k *knownSet) contains(h uint64, t int64) bool {
	s := k.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[h]
	if e == nil {
		return false
	}
	if t >= e.expires {
		s.remove(e)
		return false
	}
	return true
}

// add remembers h until expires, or renews it, as the most recent entry.
func (k *knownSet) add(h uint64, expires int64) {
	s := k.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.capacity == 0 {
		return
	}
	e := s.m[h]
	switch {
	case e != nil:
		e.prev.next, e.next.prev = e.next, e.prev
	case len(s.m) >= s.capacity:
		e = s.root.prev // the least recent: reuse it
		s.remove(e)
		*e = knownEntry{}
		fallthrough
	default:
		if e == nil {
			e = new(knownEntry)
		}
		e.h = h
		s.m[h] = e
	}
	e.expires = expires
	e.prev, e.next = &s.root, s.root.next
	s.root.next.prev = e
	s.root.next = e
}

// sweep forgets every pair expired at t.
func (k *knownSet) sweep(t int64) {
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		for _, e := range s.m {
			if t >= e.expires {
				s.remove(e)
			}
		}
		s.mu.Unlock()
	}
}

// len returns the number of pairs held.
func (k *knownSet) len() int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// remove unlinks and deletes e. s.mu is held.
func (s *knownShard) remove(e *knownEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	delete(s.m, e.h)
}
