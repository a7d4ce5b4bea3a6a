package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by a Store. Match them with errors.Is.
var (
	// ErrCodeReused means an authorization code was redeemed before
	// (RFC 6749 §4.1.2: a code is used at most once).
	ErrCodeReused = errors.New("store: authorization code already redeemed")
	// ErrRefreshReused means a refresh token older than its family's newest
	// was presented: the family has been revoked in the same step.
	ErrRefreshReused = errors.New("store: refresh token reused")
	// ErrFamilyRevoked means the refresh-token family was revoked.
	ErrFamilyRevoked = errors.New("store: token family revoked")
	// ErrUnavailable means the store cannot be reached; callers answer
	// temporarily_unavailable and retry later. Implementations wrap their
	// transport error with it.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrInvalidArgument means an argument can never be valid: an empty id,
	// name or holder, or a lease duration that is not positive. It signals
	// a bug in the caller, not a condition of the store.
	ErrInvalidArgument = errors.New("store: invalid argument")
)

// Store keeps single-use codes, refresh families and revocations.
//
// All methods are safe for concurrent use, take ctx first, and are atomic:
// two replicas redeeming one code at the same instant see exactly one
// success. The exp arguments are absolute times after which the entry may be
// forgotten; they are never in the past for a valid token.
//
// Stores outside this module: methods are added to Store while the module
// has no release (RefreshState was), and each addition breaks an
// implementation until it gains the method. Run package storetest against
// yours to catch the gap and the contract.
type Store interface {
	// RedeemCode marks the code with id codeID as redeemed until exp. It
	// returns ErrCodeReused if the code was redeemed before.
	RedeemCode(ctx context.Context, codeID string, exp time.Time) error

	// RotateRefresh advances refresh family fid from generation gen to
	// gen+1 and keeps the family until exp. A family the store has never
	// seen is at generation 0. It returns ErrFamilyRevoked if the family is
	// revoked, and ErrRefreshReused if gen is not the family's current
	// generation, in which case it revokes the family until exp in the same
	// atomic step (RFC 6819 §5.2.2.3, RFC 9700 §4.14.2).
	RotateRefresh(ctx context.Context, fid string, gen uint64, exp time.Time) error

	// RevokeFamily revokes refresh family fid until exp. Revoking an
	// already revoked family only extends the expiry.
	RevokeFamily(ctx context.Context, fid string, exp time.Time) error

	// FamilyRevoked reports whether refresh family fid is revoked.
	FamilyRevoked(ctx context.Context, fid string) (bool, error)

	// RefreshState reports refresh family fid's current generation and
	// whether the family is revoked, in one atomic read that changes
	// nothing: the generation RotateRefresh would accept next, so the one
	// refresh token of the family that is not superseded. A family the
	// store has never seen (or has forgotten after its expiry) is at
	// generation 0 and not revoked. A revoked family reports the generation
	// it had reached, or 0 once the store has forgotten that while the
	// revocation lasts on: callers check revoked first. Token introspection
	// uses it (RFC 7662 §2.2): a superseded refresh token is not active,
	// since presenting it would be reuse (RFC 9700 §4.14.2).
	RefreshState(ctx context.Context, fid string) (generation uint64, revoked bool, err error)

	// RevokeToken revokes the token with id jti until exp (RFC 7009).
	RevokeToken(ctx context.Context, jti string, exp time.Time) error

	// TokenRevoked reports whether the token with id jti is revoked.
	TokenRevoked(ctx context.Context, jti string) (bool, error)

	// Ping reports whether the store is reachable; it backs /readyz.
	Ping(ctx context.Context) error
}

// Leaser is implemented by stores that can hand out leases: named,
// expiring locks that let exactly one of several replicas sharing a key
// directory rotate the keys at a time. It is optional; find it with a type
// assertion on a Store.
//
// A lease is held by at most one holder at a time. Holders must renew the
// lease well within ttl and stop the guarded work when renewal fails or
// reports false: after ttl without renewal another holder may acquire it.
// All methods are safe for concurrent use.
type Leaser interface {
	// AcquireLease acquires the lease name for holder for ttl and reports
	// whether holder now holds it. It succeeds if the lease is free or
	// expired, and if holder already holds it, in which case the lease is
	// renewed for ttl from now. It returns false, and no error, while
	// another holder holds it. An empty name or holder, or a ttl that is
	// not positive, is ErrInvalidArgument.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)

	// ReleaseLease gives up the lease name if holder holds it, so another
	// holder can acquire it at once. Releasing a lease that holder does not
	// hold (free, expired or held by someone else) changes nothing and is
	// not an error.
	ReleaseLease(ctx context.Context, name, holder string) error
}
