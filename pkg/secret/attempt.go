package secret

import (
	"hash/maphash"
	"net/netip"
	"time"
)

// Attempt is one authentication attempt admitted by Limiter.Begin. It is
// used by one request, in this order: Begin; then, for a slow hash, Reserve
// right before the hash is computed (Verifier.VerifyGated calls it, as the
// Gate); then exactly one of Succeed, Fail or Abandon. An Attempt is not
// safe for concurrent use; its methods do nothing after the first of
// Succeed, Fail and Abandon.
type Attempt struct {
	l     *Limiter
	t     int64
	keys  [2]uint64 // the limiter keys that count this attempt
	n     uint8
	held  [2]bool // reserved by Reserve
	pair  uint64  // the (account, address) pair a success makes known
	slow  bool
	known bool // a known address or a vouched-for device: keys[0] is its own
	done  bool
	retry time.Duration
}

// Begin applies the Limiter's policy (SPEC §6) to an attempt to
// authenticate account from addr, before anything is verified, and reports
// whether it may proceed; when it may not, retryAfter says for how long
// (answer 429 with Retry-After, RetryAfterSeconds).
//
// account names what the credential belongs to, namespaced by the caller:
// "client:<client_id>" or "user:<user name>". addr is the client's address
// (for a request through trusted proxies, the address they report); an
// IPv6 address counts by its /64, the block one subscriber is given, and an
// invalid one counts against the account alone. device is an opaque value
// the caller has verified to identify a browser that authenticated as
// account before (a signed device cookie), or "". slow reports whether the
// credential is checked against a slow hash (bcrypt, argon2id; a password).
//
// The attempt is counted on keys chosen by where it comes from:
//
//   - from a device the caller vouches for, or from an address the account
//     has authenticated from within KnownTTL: on that (account, device) or
//     (account, address) pair alone, the device's first. Failures from
//     anywhere else never refuse it, so an attacker cannot lock the
//     legitimate holder out; one who shares the address (a NAT) or holds
//     the device (a stolen cookie) is bounded like anyone else, per pair,
//     and when the device's pair is blocked a known address still admits
//     the attempt;
//   - from anywhere else: on the account, across all such addresses, and on
//     the address, across all accounts. Either one's block refuses it, so
//     guesses from elsewhere stay bounded per Window per account however
//     many addresses send them.
//
// A fast hash (slow false: a sha256$ hash of a generated, high-entropy
// secret) is never refused and never blocks its account: guessing such a
// secret is hopeless and checking one costs no CPU, so a per-account
// lockout would only let anyone lock the client out. Its failures still
// count against the address, so an address spraying wrong secrets is
// blocked for its slow-hash attempts.
//
// A success renews the address as a known source of the account (slow
// hashes only) and resets nothing: failures expire with their window, so a
// genuine login cannot clear an attacker's count.
func (l *Limiter) Begin(account string, addr netip.Addr, device string, slow bool, now time.Time) (a Attempt, retryAfter time.Duration, ok bool) {
	a = Attempt{l: l, t: l.tick(now), slow: slow}
	addr = addr.Unmap()
	var prefix [9]byte
	plen := 0
	if addr.IsValid() {
		plen = addrPrefix(&prefix, addr)
		a.pair = l.keyHash("pair", account, prefix[:plen], "")
	}
	addrKey := func() {
		if plen > 0 {
			a.keys[a.n] = l.keyHash("addr", "", prefix[:plen], "")
			a.n++
		}
	}
	if !slow {
		addrKey()
		return a, 0, true
	}
	// A known source is counted on its own key: the device's, else the
	// known address's; if that one is blocked (someone else holds the
	// device cookie and guessed with it), the other known source may
	// still admit the attempt.
	var refusedFor time.Duration
	var sources [2]uint64
	ns := 0
	if device != "" {
		sources[ns] = l.keyHash("dev", account, nil, device)
		ns++
	}
	if plen > 0 && l.known.contains(a.pair, a.t) {
		sources[ns] = a.pair
		ns++
	}
	for _, k := range sources[:ns] {
		ok, retry := l.allowH(k, a.t)
		if ok {
			a.keys[0], a.n, a.known = k, 1, true
			return a, 0, true
		}
		if refusedFor == 0 || retry < refusedFor {
			refusedFor = retry
		}
	}
	if ns > 0 {
		a.done = true
		return a, refusedFor, false
	}
	a.keys[0], a.n = l.keyHash("acct", account, nil, ""), 1
	addrKey()
	for i := range a.n {
		if ok, retry := l.allowH(a.keys[i], a.t); !ok {
			a.done = true
			return a, retry, false
		}
	}
	return a, 0, true
}

// addrPrefix writes the address's counting unit, tagged by family: an IPv4
// address whole, an IPv6 address by its /64.
func addrPrefix(dst *[9]byte, addr netip.Addr) int {
	if addr.Is4() {
		b := addr.As4()
		dst[0] = 4
		copy(dst[1:], b[:])
		return 5
	}
	b := addr.As16()
	dst[0] = 6
	copy(dst[1:], b[:8])
	return 9
}

// keyHash hashes a key of kind kind; the parts are length-delimited so
// that no two distinct keys encode alike. It allocates nothing.
func (l *Limiter) keyHash(kind, account string, prefix []byte, device string) uint64 {
	var h maphash.Hash
	h.SetSeed(l.seed)
	var n [1]byte
	for _, part := range [...]string{kind, account, device} {
		writeLen(&h, &n, len(part))
		h.WriteString(part)
	}
	writeLen(&h, &n, len(prefix))
	h.Write(prefix)
	return h.Sum64()
}

func writeLen(h *maphash.Hash, buf *[1]byte, n int) {
	for {
		buf[0] = byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			buf[0] |= 0x80
		}
		h.Write(buf[:])
		if n == 0 {
			return
		}
	}
}

// Reserve reserves the attempt on every key that counts it, right before a
// slow hash is computed; it implements Gate. It returns false, reserving
// nothing further, when a key's failures and attempts in flight have
// reached the Limiter's Threshold, or the key is blocked: the caller must
// then not compute the hash, answer 429, and call Fail, since the guess it
// carried was not known to be right. Calling it again after it succeeded
// changes nothing.
func (a *Attempt) Reserve() bool {
	if a.done || a.l == nil {
		return false
	}
	if !a.slow {
		return true // fast hashes are never gated
	}
	for i := range a.n {
		if a.held[i] {
			continue
		}
		ok, retry := a.l.reserveH(a.keys[i], a.t)
		if !ok {
			a.retry = max(a.retry, retry)
			return false
		}
		a.held[i] = true
	}
	return true
}

// Succeed ends an attempt whose credential was right: reservations are
// released, nothing is reset, and (for a slow hash) the address becomes a
// known source of the account for KnownTTL.
func (a *Attempt) Succeed() {
	if a.done || a.l == nil {
		return
	}
	a.done = true
	for i := range a.n {
		if a.held[i] {
			a.l.settleH(a.keys[i], a.t, false)
		}
	}
	if a.slow && a.pair != 0 {
		a.l.known.add(a.pair, a.t+int64(a.l.cfg.KnownTTL))
	}
}

// Fail ends an attempt whose credential was wrong, or that Reserve
// refused: a failure is counted on every key. It returns how long the
// attempt's keys are now refused: the longest block among them, or the
// Retry-After Reserve's refusal implied, or 0 when none is.
func (a *Attempt) Fail() (retryAfter time.Duration) {
	if a.done || a.l == nil {
		return 0
	}
	a.done = true
	retryAfter = a.retry
	for i := range a.n {
		var d time.Duration
		if a.held[i] {
			d = a.l.settleH(a.keys[i], a.t, true)
		} else {
			h := a.keys[i]
			s := a.l.shardOf(h)
			s.mu.Lock()
			d = a.l.failLocked(s, s.m[h], h, a.t)
			s.mu.Unlock()
		}
		if d == 0 {
			_, d = a.l.allowH(a.keys[i], a.t)
		}
		retryAfter = max(retryAfter, d)
	}
	return retryAfter
}

// Abandon ends an attempt whose credential could not be checked (the
// Verifier was busy, ErrBusy): reservations are released and nothing is
// counted.
func (a *Attempt) Abandon() {
	if a.done || a.l == nil {
		return
	}
	a.done = true
	for i := range a.n {
		if a.held[i] {
			a.l.settleH(a.keys[i], a.t, false)
		}
	}
}

// Known reports whether the attempt comes from a known source of its
// account: an address it authenticated from before, or a device the caller
// vouched for.
func (a *Attempt) Known() bool { return a.known }

var _ Gate = (*Attempt)(nil)
