// Package file is the durable embedded store.Store and store.Leaser, the
// default of an issuer that runs as one replica (SPEC §7, "store: file"):
// everything the issuer promised (a code redeemed, a refresh generation
// advanced, a token revoked, a status bit set, a value used once, a pushed
// request stored) is on disk before the method that promised it returns,
// and so survives a restart, SIGTERM and kill -9. Several replicas share
// package redis instead; package memory forgets everything on restart.
//
// # Storage
//
// One go.etcd.io/bbolt file: a copy-on-write B+tree whose read-write
// transactions are atomic and, committed with fsync, durable; a torn write
// is never visible, because a transaction becomes current only when its
// meta page, written last and checksummed, is on disk. docs/STORE.md
// tells why bbolt and not pebble (bench/storechoice measured both). Each
// method is one transaction: reads run concurrently in read-only
// transactions; writes are serialised through one group committer.
//
// # Group commit
//
// Every write waits for its transaction's fsync. The committer takes the
// first queued write and every write queued behind it (up to 1024) and
// commits them in one transaction, so N concurrent writers share one pair
// of fsyncs; a lone writer waits for nothing but its own fsync (bbolt's
// DB.Batch waits up to 10 ms for company, which caps one writer at about
// 100 writes a second). A write that fails inside a group is rerun alone,
// so it fails no one else. A write whose ctx ends while queued is dropped
// unapplied; once its transaction has started it may still land, and the
// caller is told so (store.ErrUnavailable): like a Redis command that
// timed out, it fails closed.
//
// # Expiry
//
// Every entry carries its expiry and is invisible from it on. The
// background purge (WithPurgeInterval, default every second) scans the
// tables, reading at most 65,536 entries a tick from the memory map and
// resuming where it stopped, and removes the expired entries it finds in
// write transactions of at most WithPurgeBatch entries (default 1000), so
// it never holds the writer long; Close stops it. There is deliberately
// no index by expiry: keeping one rewrites a second B+tree path in every
// write transaction, which cost 40% of the write rate when measured. An
// expired entry therefore stays in the file until the scan passes it: at
// most entries/65,536 ticks. The file does not shrink when entries leave
// (bbolt reuses the freed pages), so it stays about the size of its
// busiest period. There is no bound on the number of entries beyond the
// disk: what one client can make the store keep is bounded by
// pkg/endpoint's per-client quota, and security-relevant writes
// (store.Priority) need no reserve here.
//
// # Files and locking
//
// Open creates the file with mode 0600 in a directory of mode 0700, and
// refuses (ErrInsecure) a file or directory that group or others may
// write: whoever can write the file can un-revoke tokens. A new file is
// built under a temporary name and linked into place, so a file at the
// path is always complete. The file is locked (flock) while open: a second
// process, or a second Open in this one, fails with ErrLocked naming the
// path after WithLockTimeout. The lock ends with the process, so a kill -9
// leaves nothing to clean up.
//
// # Corruption
//
// A store never starts empty over a file it cannot read. Before bbolt
// sees an existing file, Open checks its page structure: a valid,
// checksummed meta page; every page id inside the file; every page, key,
// value and inline bucket inside its bounds; keys in order; no page
// reached twice. (bbolt trusts its file and would fault on damage, on
// goroutines of its own where it cannot be recovered.) Then it checks the
// buckets and the format version. Damage is ErrCorrupt, naming the path,
// with the file left untouched: move it aside and start anew, or restore a
// copy. The check reads the whole file once at start. Damage found while
// serving (a value of the wrong shape, a bbolt panic) fails the call, or
// every later call, with an error matching ErrCorrupt and
// store.ErrUnavailable (503), never a crash. A failed write or fsync (a
// full disk) rolls its transaction back and fails its callers with
// store.ErrUnavailable; nothing of it was acknowledged.
//
// # Backups
//
// The file is consistent at every commit: copy it while the issuer is
// stopped, or from a filesystem snapshot of its directory.
//
// All methods are safe for concurrent use and take ctx first; reads do
// not consult it. Close releases the file.
package file
