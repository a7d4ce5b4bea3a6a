// Package store defines the little state a stateless token issuer keeps
// (SPEC §7): single-use authorization codes, refresh-token families,
// revocations, Token Status List bits (SPEC §9), the single-use values of
// assertions and proofs (SPEC §10, §12) and short-lived records such as
// pushed authorization requests and device approvals (SPEC §11, §12).
// Everything else lives inside the tokens.
//
// Three implementations exist: package file, the durable embedded default
// for one replica; package memory, which forgets everything on restart and
// serves tests and benchmarks; and package redis, shared by several
// replicas. Package storetest holds the conformance suite all three pass.
//
// Every entry carries an expiry, after which the token it concerns can no
// longer be used anyway; implementations forget entries then, so nothing
// grows without bound.
//
// # Expiry
//
// An exp argument is an absolute instant on the issuer's clock. Pass the
// last instant at which any replica could still accept the token, that is
// the token's "exp" plus the validation leeway: a code accepted during the
// leeway after its "exp" must still be remembered as redeemed then, or it
// could be redeemed twice. An exp that is already past stores nothing.
//
// Several replicas compare their own clocks with these instants, and a
// shared store (Redis) expires entries by its clock, so all clocks must be
// kept in step (NTP); a skew well under the leeway is harmless.
//
// # Namespaces, keys and values
//
// UseOnce and the record methods take a namespace and a key, opaque
// strings of at most MaxNamespaceLen and MaxKeyLen bytes; record values
// are at most MaxValueLen bytes; status-list ids are at most MaxKeyLen
// bytes and indexes at most MaxStatusIndex. Anything empty or beyond these
// bounds is ErrInvalidArgument (CheckKey, CheckValue, CheckList and
// CheckStatus state the rules for every implementation). The method
// families are separate tables: a code id, a token id, a family id, a
// record key and a single-use key never collide, whatever their spelling.
//
// # Security-relevant writes
//
// Some writes must never be refused for lack of room: revoking the grant of
// a replayed code, or a family whose refresh token was reused, is the one
// defence left once a code or token has leaked. Callers mark such writes
// with Priority(ctx); RotateRefresh's revocation on reuse is always one. A
// store that bounds its entries (package memory) refuses ordinary writes at
// its bound and admits marked revocations (RevokeFamily, RevokeToken,
// SetStatus) into a reserve beyond it, so clients filling a table with
// their own codes, rotations or revocations cannot block them. Stores
// without an entry bound (file, redis) ignore the mark.
package store
