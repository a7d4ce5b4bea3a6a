package endpoint

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"time"

	"github.com/sealedtoken/issuer/pkg/secret"
)

// UserCodeAlphabet is the alphabet of user codes: the 20 consonants of
// RFC 8628 §6.1's example, "BCDFGHJKLMNPQRSTVWXZ" — no vowels, so no word
// can be spelled, and no digits, so none can be mistaken for a letter.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCodeLength is the number of characters of a user code: 20^8, about
// 2^34.6 codes (RFC 8628 §5.1 with rate limiting; §6.1's example).
const UserCodeLength = 8

// newUserCode returns a random user code, without its dash.
func newUserCode() (string, error) {
	var out [UserCodeLength]byte
	var buf [32]byte
	n := 0
	for n < len(out) {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("endpoint: reading randomness: %w", err)
		}
		for _, b := range buf {
			// 240 = 12 × 20: rejecting 240..255 keeps every letter
			// equally likely.
			if b < 240 && n < len(out) {
				out[n] = UserCodeAlphabet[b%20]
				n++
			}
		}
	}
	return string(out[:]), nil
}

// FormatUserCode shows a normalized user code as the user reads it,
// XXXX-XXXX (RFC 8628 §6.1: a dash for readability).
func FormatUserCode(norm string) string {
	if len(norm) != UserCodeLength {
		return norm
	}
	return norm[:4] + "-" + norm[4:]
}

// NormalizeUserCode turns what a user typed into a user code's canonical
// form: case is ignored and dashes and spaces dropped (RFC 8628 §6.1:
// "the user code should be compared case-insensitively ... ignore
// punctuation"), so "bcdf-ghjk", "BCDF GHJK" and "BCDFGHJK" are one code.
// It reports false for anything that cannot be a user code: a character
// outside UserCodeAlphabet, or not UserCodeLength letters.
func NormalizeUserCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var out [UserCodeLength]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		if !isUserCodeChar(c) || n == len(out) {
			return "", false
		}
		out[n] = c
		n++
	}
	if n != len(out) {
		return "", false
	}
	return string(out[:]), true
}

func isUserCodeChar(c byte) bool {
	for i := 0; i < len(UserCodeAlphabet); i++ {
		if UserCodeAlphabet[i] == c {
			return true
		}
	}
	return false
}

// userCodeLimits throttles guesses of user codes (RFC 8628 §5.1): a user
// code is short enough to type, so it must not be guessable by trying.
//
// Every check of a well-formed code reserves an attempt under two keys, the
// client address's in perAddr and one key for everyone in global, before
// the store is asked; a code that is not found counts as a failure under
// both. An address that has failed too often is refused before it touches
// the global count, so one flooding address blocks itself and nobody else;
// only failures spread over many addresses reach the global bound, which
// then refuses everyone for its block time. The counts are per replica
// (secret.Limiter): with n replicas the bounds are n times as high.
type userCodeLimits struct {
	perAddr, global *secret.Limiter
}

func (u *userCodeLimits) init() {
	perAddr, global := DefaultUserCodeLimiters()
	if u.perAddr == nil {
		u.perAddr = perAddr
	}
	if u.global == nil {
		u.global = global
	}
}

// DefaultUserCodeLimiters returns new limiters of user-code guesses with
// the default bounds (WithUserCodeLimiters): 10 failures per 10 minutes
// per address, blocked 10 minutes doubling to an hour; 300 failures a
// minute in all, blocked a minute. An embedding server that rebuilds its
// Server (a configuration reload) keeps a pair and passes it each time, so
// that a rebuild does not forgive a guesser.
func DefaultUserCodeLimiters() (perAddress, global *secret.Limiter) {
	return secret.NewLimiter(secret.LimiterConfig{
			Threshold: 10, Window: 10 * time.Minute, Block: 10 * time.Minute, MaxBlock: time.Hour,
		}), secret.NewLimiter(secret.LimiterConfig{
			Threshold: 300, Window: time.Minute, Block: time.Minute, MaxBlock: time.Minute, MaxKeys: 64,
		})
}

const globalUserCodeKey = "user-codes"

// begin reserves one guess from addr at now. It returns a function that
// settles the guess (found: the code existed) or, when refused, the time to
// wait.
func (u *userCodeLimits) begin(addr netip.Addr, now time.Time) (settle func(found bool), retry time.Duration, ok bool) {
	ak := addrKey(addr)
	if ok, retry := u.perAddr.Reserve(ak, now); !ok {
		return nil, retry, false
	}
	if ok, retry := u.global.Reserve(globalUserCodeKey, now); !ok {
		u.perAddr.Settle(ak, now, false)
		return nil, retry, false
	}
	return func(found bool) {
		u.perAddr.Settle(ak, now, !found)
		u.global.Settle(globalUserCodeKey, now, !found)
	}, 0, true
}
