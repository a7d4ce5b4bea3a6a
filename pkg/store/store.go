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
	// ErrReplay means UseOnce saw the key before, and its entry has not
	// expired: the value (an assertion's or a proof's jti) is being
	// replayed (RFC 7523 §3, RFC 9449 §11.1).
	ErrReplay = errors.New("store: value already used")
	// ErrNotFound means GetRecord or TakeRecord found no live record: it
	// was never put, was taken or deleted, or has expired.
	ErrNotFound = errors.New("store: record not found")
)

// Bounds on the opaque strings and values of the record, single-use and
// status-list methods. A namespace, key or list id that is empty or longer
// than its bound, a value longer than MaxValueLen, or a status index above
// MaxStatusIndex is ErrInvalidArgument. Callers whose keys may be longer
// (a jti chosen by a client) store a hash of them instead, such as the
// base64url SHA-256.
const (
	// MaxNamespaceLen bounds ns of UseOnce and the record methods.
	MaxNamespaceLen = 64
	// MaxKeyLen bounds key of UseOnce and the record methods, and the list
	// id of the status-list methods.
	MaxKeyLen = 512
	// MaxValueLen bounds the value of PutRecord: 16 KiB.
	MaxValueLen = 16 << 10
	// MaxStatusIndex is the largest status-list index SetStatus accepts,
	// 2^32-1: a list of that many one-bit statuses is already 512 MiB
	// (draft-ietf-oauth-status-list §4).
	MaxStatusIndex = 1<<32 - 1
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

	// UseOnce records key in namespace ns until exp and returns nil, or
	// returns ErrReplay if key is already recorded in ns and unexpired; of
	// concurrent calls with one ns and key exactly one succeeds. It makes
	// a value single-use: the jti of a client assertion or a JWT bearer
	// assertion (RFC 7523 §3), of a DPoP proof (RFC 9449 §11.1), a device
	// code's issuance. Pass the instant after which the value would be
	// refused anyway (its exp plus the leeway). Namespaces keep the kinds
	// of values apart: one key in two namespaces is two entries.
	UseOnce(ctx context.Context, ns, key string, exp time.Time) error

	// PutRecord stores value under key in namespace ns until exp,
	// replacing any record there. Records hold short-lived state that does
	// not fit in a token: a pushed authorization request (RFC 9126 §2.2), a
	// device approval (RFC 8628 §3.3), remembered consent. The store keeps
	// its own copy of value. A past exp stores nothing and removes any
	// record under key.
	PutRecord(ctx context.Context, ns, key string, value []byte, exp time.Time) error

	// GetRecord returns a copy of the record under key in namespace ns, or
	// ErrNotFound if there is no live record.
	GetRecord(ctx context.Context, ns, key string) ([]byte, error)

	// TakeRecord returns the record under key in namespace ns and deletes
	// it in one atomic step, or returns ErrNotFound: of concurrent Takes of
	// one record exactly one gets it, so a pushed authorization request's
	// request_uri is used once (RFC 9126 §2.2).
	TakeRecord(ctx context.Context, ns, key string) ([]byte, error)

	// DeleteRecord deletes the record under key in namespace ns. Deleting
	// an absent record is not an error.
	DeleteRecord(ctx context.Context, ns, key string) error

	// AddStatusList registers the Token Status List named list (an opaque
	// id, the path part of its URI) as live until exp (SPEC §9,
	// draft-ietf-oauth-status-list). Registering a live list again extends
	// its expiry and never shortens it.
	AddStatusList(ctx context.Context, list string, exp time.Time) error

	// StatusLists returns the ids of the live status lists, sorted, for the
	// status_list_aggregation_endpoint; an empty store returns none.
	StatusLists(ctx context.Context) ([]string, error)

	// SetStatus sets bit idx of status list list (revoked) and keeps the
	// list's set bits at least until exp: a list's bits are forgotten
	// together, after the latest exp any SetStatus of the list gave.
	// Setting a set bit again only extends. The list need not be
	// registered with AddStatusList. With a shared store (Redis) every
	// replica sees the same bits.
	SetStatus(ctx context.Context, list string, idx uint64, exp time.Time) error

	// StatusIndexes returns the set bits of status list list as indexes in
	// ascending order; none for a list without set bits. Its cost follows
	// the number of set bits, not the size of the list.
	StatusIndexes(ctx context.Context, list string) ([]uint64, error)

	// StatusBit reports whether bit idx of status list list is set: the
	// point lookup of token introspection (RFC 7662 §2.2), which answers
	// from the same bits as the published lists. A list without set bits,
	// or whose bits have expired, has none set.
	StatusBit(ctx context.Context, list string, idx uint64) (bool, error)

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
