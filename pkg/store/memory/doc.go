// Package memory is the in-process implementation of store.Store and
// store.Leaser, for tests and benchmarks (SPEC §7): it forgets everything
// when the process ends. One replica in production uses the durable
// package file (cmd/issuer's default); several replicas share package
// redis.
//
// # Layout
//
// Entries live in eight tables: redeemed authorization codes, refresh-token
// families (generation and revocation together), revoked tokens, leases,
// single-use values, records, registered status lists and status bits (one
// entry per list holding its set indexes in a sorted slice).
// Each table is split over up to 64 shards by a seeded hash of the key, each
// shard with its own mutex, map and min-heap ordered by expiry, so
// operations on different keys rarely contend and every operation is
// O(log n).
//
// # Expiry
//
// An entry is live while the clock (WithClock, default time.Now) is before
// its exp, and forgotten from exp on: lookups ignore expired entries, every
// operation removes a few expired entries from its shard's table, and a
// background sweep (WithSweepInterval, default every second) removes the
// rest. Close stops the sweep; the store keeps working after Close,
// removing expired entries only as operations pass by.
//
// # Bounded memory
//
// Each table holds at most WithMaxEntries entries (default 1,000,000). The
// bound is split evenly over the shards and enforced per shard, so a table
// may report full a little before it holds that many: filling one with
// random ids, the first refusal came at 98% of the bound. An entry costs
// about 115 bytes with a 22-character id, so the default bounds the store
// near 500 MB with all four tables full. An entry stays until the exp its
// writer gave, which for pkg/endpoint is the token's or code's expiry plus
// the leeway: redeemed codes stay up to the code lifetime plus leeway (90 s
// with cmd/issuer's defaults), so about 11,000 code redemptions a second,
// sustained, fill the default code table; a refresh family stays the
// refresh lifetime plus leeway after its latest rotation, so the family
// table must hold every family refreshed within that period. Size the
// bound with WithMaxEntries; Len and MaxEntries tell how full the tables
// are.
//
// The status-bits table counts set bits, not lists: each bit is one
// against the bound (8 bytes plus its list's entry).
//
// # The reserve of security-relevant revocations
//
// Revocations made because an attack was detected must land however full
// the tables are (store package documentation, "Security-relevant
// writes"): RevokeFamily, RevokeToken and SetStatus with a ctx marked by
// store.Priority, and RotateRefresh's revocation of a reused family, may
// use a reserve of another eighth of each table's bound beyond it. Ordinary
// writes, a client's own revocations among them, stop at the bound, so
// they can never eat the reserve; revoking a family or token the table
// already holds needs no room at all. The reserve is itself bounded, so
// memory stays bounded: the largest a table gets is the bound plus an
// eighth.
//
// When a table is full, the entries nearest to expiry that have expired are
// removed first. A live entry is never evicted: each one is a promise the
// issuer made (a code was redeemed, a generation advanced, a token revoked),
// and forgetting it early would let a code be redeemed twice or a revoked
// token be accepted again. A write that needs room in a full table of live
// entries fails instead with an error matching ErrFull and
// store.ErrUnavailable, which the token endpoint answers with
// temporarily_unavailable (HTTP 503). Reads never fail.
//
// # Restarts
//
// Nothing survives the process: after a restart every code can be redeemed
// again until it expires (at most the code lifetime, 60 s by default, plus
// leeway), every revoked token is active again, and every refresh family is
// back at generation 0, so a refresh token of a later generation is then
// taken for reuse and its family revoked, logging its user out. That is why
// cmd/issuer defaults to package file and warns at start with store:
// memory.
//
// All methods are safe for concurrent use. The ctx arguments are accepted
// for the store.Store interface; no method blocks, and none consults ctx.
package memory
