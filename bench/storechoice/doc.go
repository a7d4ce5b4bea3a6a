// Package storechoice is the benchmark that chose the library of the
// durable embedded store, pkg/store/file (SPEC §7, issue 8): go.etcd.io/bbolt
// against github.com/cockroachdb/pebble/v2 on the issuer's write mix, every
// write durable (fsynced) before it is acknowledged, with 1, 8 and 64
// concurrent writers.
//
// It is a module of its own so that the library not chosen never enters
// the issuer's go.mod: "go test ./..." at the repository root skips it. Run
// it from this directory:
//
//	go test -run '^$' -bench WriteMix -benchtime 3s -count 3 | tee out.txt
//
// docs/STORE.md holds the figures, the machine and the choice.
//
// # The write mix
//
// Each operation is one of the issuer's store writes, in the proportions
// of a busy authorization-code deployment: 5 in 10 redeem a fresh
// authorization code (insert if absent, RedeemCode), 4 in 10 rotate a
// refresh family (read the generation, compare, write the next one,
// RotateRefresh) and 1 in 10 revoke a token (read, write a later expiry,
// RevokeToken). Keys are random 22-character ids as in real tokens; each
// writer rotates families of its own, so every operation succeeds.
//
// # The implementations
//
//   - impl=fsync: the floor, not a store: append 40 bytes to a file and
//     fsync, one writer at a time; what one durable write costs on the
//     disk.
//   - impl=bbolt-update: one bbolt read-write transaction (two fsyncs:
//     pages, then meta page) per operation.
//   - impl=bbolt-batch: bbolt's DB.Batch, which gathers concurrent
//     operations into one transaction after MaxBatchDelay (default 10 ms).
//   - impl=bbolt-group: a leader-follower group commit over bbolt: the
//     operations that arrive while one transaction commits all go into the
//     next, with no timer, so a lone writer waits for nothing.
//   - impl=pebble: pebble with a synced WAL (pebble.Sync); its commit
//     pipeline gathers concurrent commits into one WAL fsync. Pebble has no
//     read-write transactions, so a striped lock per key makes each
//     read-compare-write atomic, as a store built on it would have to.
package storechoice
