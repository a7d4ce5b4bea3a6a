package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
)

// Nonce step bounds.
const (
	MinNonceStep = time.Second
	MaxNonceStep = time.Hour
	// MinNonceKey is the shortest nonce key NewNonces accepts.
	MinNonceKey = 32
)

// nonceLabel separates these MACs from any other use of the key.
const nonceLabel = "sealedtoken dpop nonce v1\x00"

// nonceSize is the MAC bytes a nonce carries: 128 bits, base64url in 22
// characters of the RFC 9449 §8.1 nonce syntax (1*NQCHAR).
const nonceSize = 16

// Nonces are server-provided DPoP nonces (RFC 9449 §8, §9) that need no
// state: a nonce is a MAC of the current time step under a key, so every
// replica holding the same key issues and accepts the same nonces, and a
// nonce is accepted during its own step and the next (so it lives from one
// to two steps). Nothing is stored; a restart loses nothing.
//
// Nonces is immutable apart from a cache of the current nonce, and safe for
// concurrent use.
type Nonces struct {
	keys [][]byte // keys[0] issues; every key verifies
	step time.Duration
	now  func() time.Time
	cur  atomic.Pointer[cachedNonce]
}

type cachedNonce struct {
	step  int64
	nonce string
}

// NewNonces returns nonces of the given time step (MinNonceStep to
// MaxNonceStep) under key (at least MinNonceKey bytes, copied). Nonces made
// under each of previous are still accepted, so the key can be rotated
// without a burst of use_dpop_nonce errors. now is the clock (nil means
// time.Now).
func NewNonces(step time.Duration, now func() time.Time, key []byte, previous ...[]byte) (*Nonces, error) {
	if step < MinNonceStep || step > MaxNonceStep || step%time.Second != 0 {
		return nil, fmt.Errorf("dpop: nonce step %s: whole seconds from %s to %s", step, MinNonceStep, MaxNonceStep)
	}
	n := &Nonces{step: step, now: now}
	if n.now == nil {
		n.now = time.Now
	}
	for i, k := range append([][]byte{key}, previous...) {
		if len(k) < MinNonceKey {
			return nil, fmt.Errorf("dpop: nonce key %d of %d bytes, at least %d required", i, len(k), MinNonceKey)
		}
		n.keys = append(n.keys, append([]byte(nil), k...))
	}
	return n, nil
}

// stepOf returns the time step of t.
func (n *Nonces) stepOf(t time.Time) int64 {
	return t.Unix() / int64(n.step/time.Second)
}

// mac computes the nonce of step under key into dst.
func mac(dst *[nonceSize]byte, key []byte, step int64) {
	h := hmac.New(sha256.New, key)
	var msg [len(nonceLabel) + 8]byte
	copy(msg[:], nonceLabel)
	binary.BigEndian.PutUint64(msg[len(nonceLabel):], uint64(step))
	h.Write(msg[:])
	var sum [sha256.Size]byte
	copy(dst[:], h.Sum(sum[:0]))
}

// Current returns the nonce to send in a DPoP-Nonce header now.
func (n *Nonces) Current() string {
	s := n.stepOf(n.now())
	if c := n.cur.Load(); c != nil && c.step == s {
		return c.nonce
	}
	var m [nonceSize]byte
	mac(&m, n.keys[0], s)
	c := &cachedNonce{step: s, nonce: base64.RawURLEncoding.EncodeToString(m[:])}
	n.cur.Store(c)
	return c.nonce
}

// Valid reports whether nonce is one this server issued in the current or
// the previous time step, under any of its keys. The comparison is in
// constant time.
func (n *Nonces) Valid(nonce string) bool {
	var got [nonceSize]byte
	if len(nonce) != 22 {
		return false
	}
	if k, err := base64.RawURLEncoding.Strict().Decode(got[:], []byte(nonce)); err != nil || k != nonceSize {
		return false
	}
	s := n.stepOf(n.now())
	ok := 0
	for _, key := range n.keys {
		for _, st := range [2]int64{s, s - 1} {
			var want [nonceSize]byte
			mac(&want, key, st)
			if hmac.Equal(got[:], want[:]) {
				ok = 1
			}
		}
	}
	return ok == 1
}
