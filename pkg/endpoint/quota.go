package endpoint

import (
	"context"
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/pkg/secret"
)

// Defaults of WithClientQuota.
const (
	DefaultClientWrites = 1000
	DefaultClientWindow = time.Minute
)

// quota bounds the store entries one client can make the server keep
// (issue 8, part 3): at most writes per window per quota key, answered 429
// with Retry-After beyond. The key is the client id with the subject of the
// token concerned: a client_credentials token's subject is the client
// itself, so a machine client has one quota; a user's tokens have the
// user's, so one user of an application (and anyone with an account can
// drive a public client) cannot spend the quota of all the others, and an
// application serving many users is not throttled for their sum. What a
// client can make the store keep in bulk is bounded per identity whose
// tokens it holds: itself, and the users who authorized it.
//
// What counts is what a client can do in bulk and the store keeps:
//
//   - a revocation (RFC 7009), of an access token (kept until its expiry)
//     or of a refresh token's family (kept refresh_ttl);
//   - the first refresh of a refresh family, which creates its entry (kept
//     refresh_ttl after its latest refresh); later refreshes update it.
//
// Writes the server makes for its own safety never count and are never
// refused: revoking the family of a replayed code, or of a reused refresh
// token (a refresh whose family has moved on goes to the store whatever
// the quota, so that reuse is always detected). Code redemptions do not
// count either: each code needs a user's authorization, its entry lives
// only code_ttl plus leeway, and refusing one would have to happen before
// the single-use check, hiding a replay.
//
// A client can therefore make the store keep, per identity, at most about
// writes × (lifetime / window) entries of each kind, where lifetime is how
// long the kind is kept. The counters are per process: with several
// replicas the bound is per replica. Their memory is bounded like the
// Limiter's (secret.LimiterConfig.MaxKeys).
type quota struct {
	l *secret.Limiter
}

func newQuota(writes int, window time.Duration) *quota {
	// A Limiter whose "failures" are writes: Threshold writes within
	// Window block the key for Window, without doubling.
	return &quota{l: secret.NewLimiter(secret.LimiterConfig{
		Threshold: writes, Window: window, Block: window, MaxBlock: window, IdleTTL: window,
	})}
}

// WithClientQuota sets the per-client quota of store writes: at most
// writes revocations and new refresh families per window for each client
// and token subject (default 1000 per minute). See Server.Revoke and the
// package doc.
func WithClientQuota(writes int, window time.Duration) Option {
	return optionFunc(func(s *Server) error {
		if writes < 1 || window <= 0 {
			return fmt.Errorf("endpoint: client quota %d per %s: both must be positive", writes, window)
		}
		s.quota = newQuota(writes, window)
		return nil
	})
}

// quotaKey is the quota key of the client or resource server a, for a
// token with subject sub.
func quotaKey(a *account, sub string) string {
	return a.id + "\x00" + sub
}

// reserve admits one write under key's quota, or answers 429 with
// Retry-After when the quota is used up. An admitted write must be settled.
func (q *quota) reserve(key string, now time.Time) *Error {
	if ok, retry := q.l.Reserve(key, now); !ok {
		e := NewError(TemporarilyUnavailable, "this client has made too many revocations or new refresh grants; retry later")
		e.Status, e.RetryAfter = 429, max(retry, time.Second)
		return e
	}
	return nil
}

// settle ends a write admitted by reserve; done counts it.
func (q *quota) settle(key string, now time.Time, done bool) { q.l.Settle(key, now, done) }

// spend runs write, a store write the client caused, under key's quota:
// refused with 429 before it is attempted when the quota is used up,
// counted when it succeeds.
func (q *quota) spend(ctx context.Context, key string, now time.Time, write func(context.Context) error) *Error {
	if e := q.reserve(key, now); e != nil {
		return e
	}
	err := write(ctx)
	q.settle(key, now, err == nil)
	return AsError(err)
}
