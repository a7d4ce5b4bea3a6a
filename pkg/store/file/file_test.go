package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "store", "issuer.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// clock is a settable clock for WithClock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time               { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration)          { c.ns.Add(int64(d)) }
func (c *clock) In(d time.Duration) time.Time { return c.Now().Add(d) }

func dbPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "store", "issuer.db")
}

func mustOpen(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

// TestReopenKeepsEverything is SPEC §7 at the package level: whatever a
// method acknowledged is there after Close and Open, in every table.
func TestReopenKeepsEverything(t *testing.T) {
	ctx, path := t.Context(), dbPath(t)
	c := newClock()
	s := mustOpen(t, path, WithClock(c.Now))
	h := c.In(time.Hour)
	must(t, "redeem", s.RedeemCode(ctx, "code-1", h))
	must(t, "rotate 0", s.RotateRefresh(ctx, "fam-1", 0, h))
	must(t, "rotate 1", s.RotateRefresh(ctx, "fam-1", 1, h))
	must(t, "revoke family", s.RevokeFamily(ctx, "fam-2", h))
	must(t, "revoke token", s.RevokeToken(ctx, "jti-1", h))
	must(t, "use once", s.UseOnce(ctx, "dpop", "proof-1", h))
	must(t, "put record", s.PutRecord(ctx, "par", "req-1", []byte("pushed"), h))
	must(t, "add list", s.AddStatusList(ctx, "list-1", h))
	must(t, "set status", s.SetStatus(ctx, "list-1", 42, h))
	must(t, "set status", s.SetStatus(ctx, "list-1", 7, h))
	if ok, err := s.AcquireLease(ctx, "keys/rotate", "me", time.Hour); !ok || err != nil {
		t.Fatalf("lease: %v %v", ok, err)
	}
	must(t, "close", s.Close())

	s = mustOpen(t, path, WithClock(c.Now))
	mustIs(t, "redeemed code after reopen", s.RedeemCode(ctx, "code-1", h), store.ErrCodeReused)
	if g, r, err := s.RefreshState(ctx, "fam-1"); g != 2 || r || err != nil {
		t.Fatalf("rotated family after reopen: %d %v %v, want generation 2", g, r, err)
	}
	mustIs(t, "superseded refresh after reopen", s.RotateRefresh(ctx, "fam-1", 1, h), store.ErrRefreshReused)
	if r, err := s.FamilyRevoked(ctx, "fam-2"); !r || err != nil {
		t.Fatalf("revoked family after reopen: %v %v", r, err)
	}
	if r, err := s.TokenRevoked(ctx, "jti-1"); !r || err != nil {
		t.Fatalf("revoked token after reopen: %v %v", r, err)
	}
	mustIs(t, "used value after reopen", s.UseOnce(ctx, "dpop", "proof-1", h), store.ErrReplay)
	if v, err := s.GetRecord(ctx, "par", "req-1"); string(v) != "pushed" || err != nil {
		t.Fatalf("record after reopen: %q %v", v, err)
	}
	if l, err := s.StatusLists(ctx); !slices.Equal(l, []string{"list-1"}) || err != nil {
		t.Fatalf("lists after reopen: %q %v", l, err)
	}
	if idx, err := s.StatusIndexes(ctx, "list-1"); !slices.Equal(idx, []uint64{7, 42}) || err != nil {
		t.Fatalf("bits after reopen: %v %v", idx, err)
	}
	if ok, err := s.AcquireLease(ctx, "keys/rotate", "other", time.Hour); ok || err != nil {
		t.Fatalf("lease held before the reopen went to another holder: %v %v", ok, err)
	}
}

// TestModes: a new store is a 0600 file in a 0700 directory; a file or
// directory that others may write is refused, naming it.
func TestModes(t *testing.T) {
	path := dbPath(t)
	mustOpen(t, path)
	for p, want := range map[string]fs.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o, want %04o", p, got, want)
		}
	}

	for _, tc := range []struct {
		name string
		mode fs.FileMode
		dir  bool
	}{
		{"world-writable directory", 0o777, true},
		{"group-writable directory", 0o770, true},
		{"world-writable file", 0o666, false},
		{"group-writable file", 0o620, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := dbPath(t)
			s := mustOpen(t, path)
			must(t, "close", s.Close())
			target := path
			if tc.dir {
				target = filepath.Dir(path)
			}
			must(t, "chmod", os.Chmod(target, tc.mode))
			_, err := Open(t.Context(), path)
			mustIs(t, "open", err, ErrInsecure)
			if !strings.Contains(err.Error(), target) {
				t.Errorf("error %q does not name %s", err, target)
			}
		})
	}
}

// TestLocked: a second opener, in this process or another, is refused
// with ErrLocked naming the file, and gets it once the first closes.
func TestLocked(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	t0 := time.Now()
	_, err := Open(t.Context(), path, WithLockTimeout(200*time.Millisecond))
	mustIs(t, "second open", err, ErrLocked)
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	if el := time.Since(t0); el < 150*time.Millisecond {
		t.Errorf("second open gave up after %v, before its lock timeout", el)
	}
	must(t, "close", s.Close())
	s2 := mustOpen(t, path)
	must(t, "redeem after the lock moved", s2.RedeemCode(t.Context(), "c", time.Now().Add(time.Hour)))
}

// populated returns the path of a closed store holding a few thousand
// entries, so that it spans many pages.
func populated(t *testing.T) string {
	t.Helper()
	path := dbPath(t)
	s := mustOpen(t, path)
	h := time.Now().Add(time.Hour).UnixNano()
	must(t, "populate", s.update(t.Context(), func(tx *bolt.Tx) error {
		for i := range 1200 {
			if err := put(tx, tCodes, fmt.Appendf(nil, "code-%d-%s", i, strings.Repeat("x", 40)), h); err != nil {
				return err
			}
			if err := put(tx, tRecords, joinKey("par", fmt.Sprint("r-", i)), h, bytes.Repeat([]byte{byte(i)}, 200)); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, "close", s.Close())
	return path
}

// TestCorrupt: a damaged file, or one that is not a store, is refused
// with ErrCorrupt naming it, never replaced by an empty store, and left
// exactly as it was for the operator to investigate.
func TestCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"empty file", func(t *testing.T, path string) { must(t, "truncate", os.Truncate(path, 0)) }},
		{"not a bbolt file", func(t *testing.T, path string) {
			must(t, "write", os.WriteFile(path, bytes.Repeat([]byte("issuer!"), 5000), 0o600))
		}},
		{"short file", func(t *testing.T, path string) { must(t, "truncate", os.Truncate(path, 100)) }},
		{"truncated to half", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			must(t, "stat", err)
			must(t, "truncate", os.Truncate(path, fi.Size()/2))
		}},
		{"both meta pages damaged", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			must(t, "read", err)
			for _, off := range []int{16 + 8, 4096 + 16 + 8} { // inside each meta
				b[off] ^= 0xff
			}
			must(t, "write", os.WriteFile(path, b, 0o600))
		}},
		{"data pages overwritten", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			must(t, "read", err)
			for i := 4 * 4096; i < len(b)-4096; i += 4096 {
				copy(b[i:i+64], bytes.Repeat([]byte{0xa5}, 64)) // every page header
			}
			must(t, "write", os.WriteFile(path, b, 0o600))
		}},
		{"a bbolt file of another program", func(t *testing.T, path string) {
			must(t, "remove", os.Remove(path))
			db, err := bolt.Open(path, 0o600, nil)
			must(t, "bolt open", err)
			must(t, "bucket", db.Update(func(tx *bolt.Tx) error {
				_, err := tx.CreateBucket([]byte("other"))
				return err
			}))
			must(t, "bolt close", db.Close())
		}},
		{"a later format version", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			must(t, "bolt open", err)
			must(t, "format", db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(keyFormat, []byte("2"))
			}))
			must(t, "bolt close", db.Close())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := populated(t)
			tc.damage(t, path)
			before, err := os.ReadFile(path)
			must(t, "read", err)
			s, err := Open(t.Context(), path)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open accepted a damaged file")
			}
			mustIs(t, "open", err, ErrCorrupt)
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			after, err := os.ReadFile(path)
			must(t, "read", err)
			if !bytes.Equal(before, after) {
				t.Fatal("Open changed the damaged file")
			}
			// The lock was released: the file can be moved aside and a
			// new store made in its place.
			must(t, "move aside", os.Rename(path, path+".damaged"))
			s = mustOpen(t, path)
			must(t, "redeem in the new store", s.RedeemCode(t.Context(), "c", time.Now().Add(time.Hour)))
		})
	}
}

// TestMalformedEntry: a value of the wrong shape fails closed for its key
// (ErrCorrupt and store.ErrUnavailable, repeating nothing of the key) and
// leaves the rest of the store serving.
func TestMalformedEntry(t *testing.T) {
	path, ctx, h := dbPath(t), t.Context(), time.Now().Add(time.Hour)
	s := mustOpen(t, path)
	must(t, "rotate", s.RotateRefresh(ctx, "good-family", 0, h))
	must(t, "close", s.Close())
	db, err := bolt.Open(path, 0o600, nil)
	must(t, "bolt open", err)
	must(t, "damage", db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketFamilies).Put([]byte("bad-family-secret"), putU64(nil, uint64(h.UnixNano()))); err != nil {
			return err
		}
		return tx.Bucket(bucketTokens).Put([]byte("bad-token-secret"), []byte{1, 2})
	}))
	must(t, "bolt close", db.Close())

	s = mustOpen(t, path)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"rotate", s.RotateRefresh(ctx, "bad-family-secret", 0, h)},
		{"revoke family", s.RevokeFamily(ctx, "bad-family-secret", h)},
		{"refresh state", func() error { _, _, err := s.RefreshState(ctx, "bad-family-secret"); return err }()},
		{"token revoked", func() error { _, err := s.TokenRevoked(ctx, "bad-token-secret"); return err }()},
		{"revoke token", s.RevokeToken(ctx, "bad-token-secret", h)},
	} {
		if !errors.Is(tc.err, ErrCorrupt) || !errors.Is(tc.err, store.ErrUnavailable) {
			t.Errorf("%s over a malformed entry: %v, want ErrCorrupt and store.ErrUnavailable", tc.name, tc.err)
		} else if strings.Contains(tc.err.Error(), "secret") {
			t.Errorf("%s: error %q repeats the key", tc.name, tc.err)
		}
	}
	must(t, "the rest still rotates", s.RotateRefresh(ctx, "good-family", 1, h))
	must(t, "ping", s.Ping(ctx))
}

// TestPurge: expired entries of every table leave the file in bounded
// transactions, live ones and extended ones stay, and nothing expired is
// ever visible, purged or not.
func TestPurge(t *testing.T) {
	ctx, c := t.Context(), newClock()
	s := mustOpen(t, dbPath(t), WithClock(c.Now), WithPurgeInterval(0), WithPurgeBatch(7))
	short, long := c.In(time.Minute), c.In(time.Hour)
	for i := range 10 {
		id := fmt.Sprint(i)
		must(t, "redeem", s.RedeemCode(ctx, "code-"+id, short))
		must(t, "rotate", s.RotateRefresh(ctx, "fam-"+id, 0, short))
		must(t, "revoke", s.RevokeToken(ctx, "jti-"+id, short))
		must(t, "once", s.UseOnce(ctx, "ns", "k-"+id, short))
		must(t, "record", s.PutRecord(ctx, "ns", "r-"+id, []byte("v"), short))
		must(t, "list", s.AddStatusList(ctx, "list-"+id, short))
		must(t, "bit", s.SetStatus(ctx, "list-"+id, uint64(i), short))
	}
	// Extended before expiry: these must survive the purge.
	must(t, "extend token", s.RevokeToken(ctx, "jti-0", long))
	must(t, "extend list", s.AddStatusList(ctx, "list-0", long))
	must(t, "extend bits", s.SetStatus(ctx, "list-0", 99, long))
	must(t, "rotate to long", s.RotateRefresh(ctx, "fam-0", 1, long))
	must(t, "replace record", s.PutRecord(ctx, "ns", "r-0", []byte("w"), long))
	if n, err := s.Purge(ctx); n != 0 || err != nil {
		t.Fatalf("purge before expiry: %d %v, want nothing", n, err)
	}
	c.Add(2 * time.Minute)
	// Expired entries are invisible before the purge.
	if r, _ := s.TokenRevoked(ctx, "jti-5"); r {
		t.Fatal("an expired revocation is visible before the purge")
	}
	n, err := s.Purge(ctx)
	must(t, "purge", err)
	// 70 entries, minus the 5 extended ones.
	if n != 65 {
		t.Fatalf("purge removed %d entries, want 65", n)
	}
	if r, _ := s.TokenRevoked(ctx, "jti-0"); !r {
		t.Fatal("an extended revocation was purged")
	}
	if g, _, _ := s.RefreshState(ctx, "fam-0"); g != 2 {
		t.Fatalf("an extended family was purged: generation %d", g)
	}
	if v, _ := s.GetRecord(ctx, "ns", "r-0"); string(v) != "w" {
		t.Fatalf("a replaced record was purged: %q", v)
	}
	if idx, _ := s.StatusIndexes(ctx, "list-0"); !slices.Equal(idx, []uint64{0, 99}) {
		t.Fatalf("extended bits: %v, want [0 99]", idx)
	}
	if l, _ := s.StatusLists(ctx); !slices.Equal(l, []string{"list-0"}) {
		t.Fatalf("lists after the purge: %q", l)
	}
	// The file holds exactly what is live: every table and the index.
	counts := map[string]int{}
	must(t, "count", s.db.View(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			counts[string(b)] = tx.Bucket(b).Stats().KeyN
		}
		return nil
	}))
	want := map[string]int{"meta": 1, "codes": 0, "families": 1, "tokens": 1, "leases": 0, "once": 0, "records": 1, "lists": 1}
	for b, n := range want {
		if counts[b] != n {
			t.Errorf("bucket %s holds %d keys after the purge, want %d", b, counts[b], n)
		}
	}
	c.Add(2 * time.Hour)
	n, err = s.Purge(ctx)
	if n != 5 || err != nil {
		t.Fatalf("final purge: %d %v, want 5", n, err)
	}
}

// TestBackgroundPurge: the purge runs by itself, and Close stops it.
func TestBackgroundPurge(t *testing.T) {
	ctx := t.Context()
	s := mustOpen(t, dbPath(t), WithPurgeInterval(20*time.Millisecond))
	for i := range 20 {
		must(t, "redeem", s.RedeemCode(ctx, fmt.Sprint("code-", i), time.Now().Add(50*time.Millisecond)))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		must(t, "count", s.db.View(func(tx *bolt.Tx) error {
			n = tx.Bucket(bucketCodes).Stats().KeyN
			return nil
		}))
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d expired codes still in the file", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	must(t, "close", s.Close())
	select {
	case <-s.done:
	default:
		t.Fatal("Close returned with the purge or the committer still running")
	}
}

// TestGroupCommit: concurrent writers share transactions (and fsyncs),
// and every write is acknowledged only once it is in the file.
func TestGroupCommit(t *testing.T) {
	ctx, path := t.Context(), dbPath(t)
	s := mustOpen(t, path, WithPurgeInterval(0))
	const writers, each = 32, 20
	base := s.commits.Load()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.RedeemCode(ctx, fmt.Sprintf("c-%d-%d", w, i), time.Now().Add(time.Hour)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	commits := s.commits.Load() - base
	t.Logf("%d writes in %d transactions", writers*each, commits)
	if commits >= writers*each {
		t.Errorf("%d writes took %d transactions: no grouping", writers*each, commits)
	}
	must(t, "close", s.Close())
	s = mustOpen(t, path)
	for w := range writers {
		for i := range each {
			mustIs(t, "after reopen", s.RedeemCode(ctx, fmt.Sprintf("c-%d-%d", w, i), time.Now().Add(time.Hour)), store.ErrCodeReused)
		}
	}
}

// TestGroupFailureIsolated: a write that fails inside a group does not
// fail the group's other writes.
func TestGroupFailureIsolated(t *testing.T) {
	ctx := t.Context()
	s := mustOpen(t, dbPath(t), WithPurgeInterval(0))
	boom := errors.New("boom")
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 64 {
		wg.Go(func() {
			if i%8 == 0 {
				if err := s.update(ctx, func(*bolt.Tx) error { return boom }); errors.Is(err, boom) {
					failed.Add(1)
				}
				return
			}
			if err := s.RedeemCode(ctx, fmt.Sprint("c-", i), time.Now().Add(time.Hour)); err != nil {
				t.Errorf("write %d in a group with a failing member: %v", i, err)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 8 {
		t.Fatalf("%d of 8 failing writes reported their failure", failed.Load())
	}
}

// TestClosed: every method fails with ErrClosed (matching
// store.ErrUnavailable) after Close, which is idempotent.
func TestClosed(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, dbPath(t))
	must(t, "close", s.Close())
	must(t, "close again", s.Close())
	h := time.Now().Add(time.Hour)
	for name, err := range map[string]error{
		"RedeemCode": s.RedeemCode(ctx, "c", h),
		"TokenRevoked": func() error {
			_, err := s.TokenRevoked(ctx, "t")
			return err
		}(),
		"Ping":      s.Ping(ctx),
		"SetStatus": s.SetStatus(ctx, "l", 1, h),
		"GetRecord": func() error { _, err := s.GetRecord(ctx, "n", "k"); return err }(),
	} {
		if !errors.Is(err, ErrClosed) || !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

// TestCancelledContext: a write whose ctx has ended before it is queued
// is not applied, and says so.
func TestCancelledContext(t *testing.T) {
	s := mustOpen(t, dbPath(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.RedeemCode(ctx, "c", time.Now().Add(time.Hour))
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("write with a cancelled ctx: %v, want ErrUnavailable and context.Canceled", err)
	}
	must(t, "the code was not redeemed", s.RedeemCode(t.Context(), "c", time.Now().Add(time.Hour)))
}

func TestOpenOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Option
		want error
	}{
		{"defaults", nil, nil},
		{"nil clock", WithClock(nil), store.ErrInvalidArgument},
		{"purge disabled", WithPurgeInterval(0), nil},
		{"purge negative", WithPurgeInterval(-time.Second), store.ErrInvalidArgument},
		{"purge batch 0", WithPurgeBatch(0), store.ErrInvalidArgument},
		{"lock timeout 0", WithLockTimeout(0), store.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), dbPath(t), tc.opt)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Open: error %v, want %v", err, tc.want)
			}
			if s != nil {
				_ = s.Close()
			}
		})
	}
	if _, err := Open(t.Context(), ""); !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("Open of an empty path: %v", err)
	}
}

// TestPurgeLargeTable: the purge scans in bounded steps across a table
// larger than one step, removes exactly the expired entries, and a
// background tick reads a bounded number of entries, resuming where it
// stopped.
func TestPurgeLargeTable(t *testing.T) {
	ctx, c := t.Context(), newClock()
	s := mustOpen(t, dbPath(t), WithClock(c.Now), WithPurgeInterval(0))
	const n = 3*purgeScan + 100
	short, long := c.In(time.Minute).UnixNano(), c.In(time.Hour).UnixNano()
	must(t, "populate", s.update(ctx, func(tx *bolt.Tx) error {
		for i := range n {
			exp := long
			if i%2 == 0 {
				exp = short
			}
			if err := put(tx, tTokens, fmt.Appendf(nil, "jti-%06d", i), exp); err != nil {
				return err
			}
		}
		return nil
	}))
	c.Add(2 * time.Minute)
	// One step reads at most purgeScan entries and moves the cursor on.
	s.purgeMu.Lock()
	s.pcur = purgeCursor{table: slices.IndexFunc(purgeTables, func(t table) bool { return bytes.Equal(t.name, bucketTokens) })}
	read, removed, wrapped, err := s.purgeStep(ctx)
	s.purgeMu.Unlock()
	if err != nil || read != purgeScan || removed != purgeScan/2 || wrapped {
		t.Fatalf("first step: read %d removed %d wrapped %v (%v), want %d, %d, false", read, removed, wrapped, err, purgeScan, purgeScan/2)
	}
	removedAll, err := s.Purge(ctx)
	must(t, "purge", err)
	if want := (n+1)/2 - purgeScan/2; removedAll != want {
		t.Fatalf("Purge removed %d, want the remaining %d expired", removedAll, want)
	}
	for i := range n {
		r, err := s.TokenRevoked(ctx, fmt.Sprintf("jti-%06d", i))
		if err != nil || r != (i%2 == 1) {
			t.Fatalf("token %d after the purge: revoked %v (%v)", i, r, err)
		}
	}
	var left int
	must(t, "count", s.db.View(func(tx *bolt.Tx) error {
		left = tx.Bucket(bucketTokens).Stats().KeyN
		return nil
	}))
	if left != n/2 {
		t.Fatalf("%d entries left, want the %d live ones", left, n/2)
	}
}
