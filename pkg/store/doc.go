// Package store defines the little state a stateless token issuer keeps
// (SPEC §7): single-use authorization codes, refresh-token families and
// revocations. Everything else lives inside the tokens.
//
// Two implementations exist: package memory, the embedded default for one
// replica, and package redis, shared by several replicas. Package storetest
// holds the conformance suite both pass.
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
package store
