// Package redis is the store.Store and store.Leaser shared by several issuer
// replicas (SPEC §7): single-use codes, refresh-family state, revocations
// and key-rotation leases live in one Redis server, so a code redeemed on
// one replica is refused on every other.
//
// # Atomicity
//
// Every operation is one round trip and atomic on the server:
//
//   - RedeemCode is SET code 1 NX PXAT exp, never a read followed by a write;
//   - RotateRefresh is one Lua script (EVALSHA, falling back to EVAL after a
//     script-cache flush) that compares the generation, advances it or
//     revokes the family;
//   - RevokeFamily and RevokeToken are a Lua script that keeps the later of
//     the old and the new expiry, so a revocation is never shortened;
//   - FamilyRevoked and TokenRevoked are EXISTS, RefreshState is one MGET
//     of the family's two keys, Ping is PING;
//   - AcquireLease and ReleaseLease are Lua compare-and-set (SET PX or
//     PEXPIRE) and compare-and-delete on the holder;
//   - UseOnce is SET once 1 NX PXAT exp, like RedeemCode;
//   - PutRecord is SET PXAT (DEL for a past exp), GetRecord GET,
//     TakeRecord GETDEL (so of two concurrent Takes one gets the value),
//     DeleteRecord DEL;
//   - AddStatusList is a Lua script on one sorted set, the registry of
//     lists scored by expiry (ZADD only if later, ZREMRANGEBYSCORE of the
//     expired), and StatusLists one ZRANGEBYSCORE of it;
//   - SetStatus is a Lua script that SADDs the index to the list's set and
//     moves the set's expiry only later; StatusIndexes is SMEMBERS, sorted
//     by the client.
//
// Status bits are a set of decimal indexes per list, not a bitmap: a list
// of 2^20 tokens with a few revoked holds a few small members (an intset),
// and StatusIndexes reads just those, where a bitmap costs 128 KiB from
// its first SETBIT and must be fetched whole and scanned to find its set
// bits. Revocations are rare, so the set is the cheaper of the two on both
// counts.
//
// The client never retries a command (go-redis MaxRetries -1): a retry of a
// SET NX or a rotation whose reply was lost would find its own write and
// report a code reused or a token superseded that was used only once.
//
// # Keys
//
// Every key starts with the prefix (WithPrefix, default "issuer:") and
// every key expires: "code:ID", "fam:{FID}" (generation record),
// "famrev:{FID}" (family revoked), "tok:JTI" (token revoked),
// "lease:NAME", "once:N:NS:KEY" (single-use value) and "rec:N:NS:KEY"
// (record), where N is the byte length of the namespace NS so no two
// pairs share a key, "statuslists" (the registry of status lists),
// "st:{LIST}" (set bits) and "stexp:{LIST}" (their expiry). The one
// exception to expiring keys is "keyring:NAME", a hash holding a key ring
// and its version when the issuer keeps its rings in Redis (Store.Rings,
// a keys.Storage): a ring must outlive any TTL. The braces are Redis
// Cluster hash tags that keep a family's two keys, and a list's two, in
// one slot for the scripts; every other command touches one key. Values record their own
// expiry, so the scripts need no server-side clock and work with Redis 6.2
// (the first with PXAT and GETDEL) and later. The status-list registry
// is the one place the issuer's clock decides expiry: AddStatusList drops,
// and StatusLists skips, lists whose expiry is before the caller's now.
//
// # Clocks
//
// Expiries are absolute instants computed by the issuer and sent as PXAT in
// milliseconds (rounded up, so an entry is never dropped before its exp);
// Redis deletes keys by its own clock. A server clock ahead of the issuers'
// by d forgets entries d early, which the validation leeway must cover, so
// keep every replica and the Redis host on NTP. Lease durations are
// relative (PX) and need no synchronized clocks.
//
// # Operating Redis
//
// The store's promises last only as long as Redis keeps the keys:
//
//   - Persistence. With persistence off, a Redis restart forgets every
//     redeemed code, and each can be redeemed again until it expires (a code
//     lives at most 60 s by default, plus leeway); refresh families fall
//     back to generation 0, which revokes them when next used. Production
//     Redis must persist every write: appendonly yes with appendfsync
//     always, or everysec to accept losing the last second.
//   - Eviction. A server that may evict keys under memory pressure can
//     forget a redeemed code; New refuses a server whose maxmemory is set
//     with a maxmemory-policy other than noeviction. With noeviction a full
//     server refuses writes, which the store reports as store.ErrUnavailable.
//   - Replication. Redis replicates asynchronously: a replica promoted
//     after a failover may lack its primary's last writes, so a code
//     redeemed just before the failover could be redeemed once more. A
//     single persistent primary has no such window.
//
// # Failures
//
// Every error that is not an answer of the store contract (connection
// refused, timeouts, a cancelled ctx, server errors such as OOM or
// READONLY) wraps store.ErrUnavailable, so the token endpoint answers
// temporarily_unavailable (HTTP 503); WithTimeout bounds how long that
// takes (default 1 s per dial, read and write). A command that timed out
// may still have been applied: a code whose redemption timed out may then
// be refused as reused, and a refresh token whose rotation timed out may be
// taken for reuse when presented again, revoking its family. Both fail
// closed: nothing is ever accepted twice.
//
// All methods are safe for concurrent use. Close releases the connections.
package redis
