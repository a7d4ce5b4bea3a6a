package memory

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := New()
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

func newStore(t *testing.T, opts ...Option) (*Store, *clock) {
	t.Helper()
	c := newClock()
	s, err := New(append([]Option{WithClock(c.Now), WithSweepInterval(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, c
}

func TestNewOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Option
		want error
	}{
		{"defaults", nil, nil},
		{"max entries 1", WithMaxEntries(1), nil},
		{"max entries 0", WithMaxEntries(0), store.ErrInvalidArgument},
		{"max entries negative", WithMaxEntries(-5), store.ErrInvalidArgument},
		{"nil clock", WithClock(nil), store.ErrInvalidArgument},
		{"sweep disabled", WithSweepInterval(0), nil},
		{"sweep negative", WithSweepInterval(-time.Second), store.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opt)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("New: error %v, want %v", err, tc.want)
			}
			if s != nil {
				_ = s.Close()
			}
		})
	}
}

func TestShardBounds(t *testing.T) {
	for _, tc := range []struct {
		name       string
		max        int
		wantShards int
	}{
		{"one entry", 1, 1},
		{"small", 100, 1},
		{"two shards", 2 * minPerShard, 2},
		{"just under two shards", 2*minPerShard - 1, 1},
		{"default", DefaultMaxEntries, maxShards},
		{"odd", 1_000_003, maxShards},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, WithMaxEntries(tc.max))
			if len(s.shards) != tc.wantShards {
				t.Errorf("shards = %d, want %d", len(s.shards), tc.wantShards)
			}
			sum := 0
			for i := range s.shards {
				sum += s.shards[i].max
			}
			if sum != tc.max {
				t.Errorf("shard bounds add up to %d, want %d", sum, tc.max)
			}
			if got := s.MaxEntries(); got != tc.max {
				t.Errorf("MaxEntries() = %d, want %d", got, tc.max)
			}
		})
	}
}

// TestExpiryClock checks expiry against the injected clock, to the
// nanosecond: an entry is live before exp and forgotten at exp.
func TestExpiryClock(t *testing.T) {
	ctx := t.Context()
	s, c := newStore(t)
	exp := c.In(time.Minute)
	if err := s.RedeemCode(ctx, "c", exp); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "t", exp); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateRefresh(ctx, "f", 0, exp); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.AcquireLease(ctx, "l", "a", time.Minute); !ok || err != nil {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	c.Add(time.Minute - time.Nanosecond)
	if err := s.RedeemCode(ctx, "c", exp); !errors.Is(err, store.ErrCodeReused) {
		t.Fatalf("code 1ns before exp: %v, want ErrCodeReused", err)
	}
	if ok, _ := s.TokenRevoked(ctx, "t"); !ok {
		t.Fatal("token 1ns before exp: not revoked")
	}
	if ok, _ := s.AcquireLease(ctx, "l", "b", time.Minute); ok {
		t.Fatal("lease 1ns before exp: acquired by another holder")
	}
	c.Add(time.Nanosecond)
	if err := s.RedeemCode(ctx, "c", c.In(time.Minute)); err != nil {
		t.Fatalf("code at exp: %v, want nil", err)
	}
	if ok, _ := s.TokenRevoked(ctx, "t"); ok {
		t.Fatal("token at exp: still revoked")
	}
	if err := s.RotateRefresh(ctx, "f", 0, c.In(time.Minute)); err != nil {
		t.Fatalf("family at exp: %v, want generation 0 again", err)
	}
	if ok, _ := s.AcquireLease(ctx, "l", "b", time.Minute); !ok {
		t.Fatal("lease at exp: not acquired by another holder")
	}
}

func TestPastExpStoresNothing(t *testing.T) {
	ctx := t.Context()
	s, c := newStore(t)
	past := c.In(-time.Second)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"RedeemCode", func() error { return s.RedeemCode(ctx, "c", past) }},
		{"RotateRefresh", func() error { return s.RotateRefresh(ctx, "f", 0, past) }},
		{"RevokeFamily", func() error { return s.RevokeFamily(ctx, "g", past) }},
		{"RevokeToken", func() error { return s.RevokeToken(ctx, "t", past) }},
		{"RotateRefresh reuse", func() error {
			if err := s.RotateRefresh(ctx, "h", 3, past); !errors.Is(err, store.ErrRefreshReused) {
				return fmt.Errorf("got %v, want ErrRefreshReused", err)
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
		})
	}
	if l := s.Len(); l != (Lens{}) {
		t.Fatalf("Len = %+v, want nothing stored", l)
	}
}

// TestFullNeverForgetsLiveCode is the SPEC §8 guarantee: with the code
// table full of live codes, a new redemption fails with ErrFull (matching
// store.ErrUnavailable), and every redeemed code stays refused.
func TestFullNeverForgetsLiveCode(t *testing.T) {
	ctx := t.Context()
	const max = 100
	s, c := newStore(t, WithMaxEntries(max))
	for i := range max {
		if err := s.RedeemCode(ctx, fmt.Sprint("code-", i), c.In(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatalf("redemption %d: %v", i, err)
		}
	}
	err := s.RedeemCode(ctx, "one-too-many", c.In(time.Hour))
	if !errors.Is(err, ErrFull) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("redemption into a full table: %v, want ErrFull and store.ErrUnavailable", err)
	}
	if !strings.HasPrefix(err.Error(), "memory: table full") {
		t.Errorf("error text %q lacks the package prefix", err)
	}
	for i := range max {
		if err := s.RedeemCode(ctx, fmt.Sprint("code-", i), c.In(time.Hour)); !errors.Is(err, store.ErrCodeReused) {
			t.Fatalf("code %d after the table filled: %v, want ErrCodeReused", i, err)
		}
	}
	// Once the earliest codes expire, there is room again, and only the
	// expired ones are forgotten.
	c.Add(3 * time.Second)
	if err := s.RedeemCode(ctx, "one-too-many", c.In(time.Hour)); err != nil {
		t.Fatalf("redemption after expiry made room: %v", err)
	}
	for i := 3; i < max; i++ {
		if err := s.RedeemCode(ctx, fmt.Sprint("code-", i), c.In(time.Hour)); !errors.Is(err, store.ErrCodeReused) {
			t.Fatalf("live code %d after eviction: %v, want ErrCodeReused", i, err)
		}
	}
	if n := s.Len().Codes; n > max {
		t.Fatalf("code table holds %d entries, bound %d", n, max)
	}
}

// TestFullOtherTables checks every table keeps its bound and fails closed.
func TestFullOtherTables(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		add  func(s *Store, c *clock, i int) error
		// again must fail in the same way as before the table filled.
		again func(s *Store, c *clock, i int) error
	}{
		{
			"refresh families",
			func(s *Store, c *clock, i int) error {
				return s.RotateRefresh(ctx, fmt.Sprint("f", i), 0, c.In(time.Hour))
			},
			func(s *Store, c *clock, i int) error {
				if err := s.RotateRefresh(ctx, fmt.Sprint("f", i), 0, c.In(time.Hour)); !errors.Is(err, store.ErrRefreshReused) {
					return fmt.Errorf("reuse: %w", err)
				}
				// Reuse revokes without needing room.
				if ok, _ := s.FamilyRevoked(ctx, fmt.Sprint("f", i)); !ok {
					return errors.New("not revoked after reuse")
				}
				return nil
			},
		},
		{
			"revoked families",
			func(s *Store, c *clock, i int) error { return s.RevokeFamily(ctx, fmt.Sprint("f", i), c.In(time.Hour)) },
			func(s *Store, c *clock, i int) error {
				if ok, _ := s.FamilyRevoked(ctx, fmt.Sprint("f", i)); !ok {
					return errors.New("not revoked")
				}
				return s.RevokeFamily(ctx, fmt.Sprint("f", i), c.In(2*time.Hour))
			},
		},
		{
			"revoked tokens",
			func(s *Store, c *clock, i int) error { return s.RevokeToken(ctx, fmt.Sprint("t", i), c.In(time.Hour)) },
			func(s *Store, c *clock, i int) error {
				if ok, _ := s.TokenRevoked(ctx, fmt.Sprint("t", i)); !ok {
					return errors.New("not revoked")
				}
				return s.RevokeToken(ctx, fmt.Sprint("t", i), c.In(2*time.Hour))
			},
		},
		{
			"leases",
			func(s *Store, c *clock, i int) error {
				ok, err := s.AcquireLease(ctx, fmt.Sprint("l", i), "a", time.Hour)
				if err == nil && !ok {
					err = errors.New("not acquired")
				}
				return err
			},
			func(s *Store, c *clock, i int) error {
				if ok, err := s.AcquireLease(ctx, fmt.Sprint("l", i), "b", time.Hour); ok || err != nil {
					return fmt.Errorf("other holder: %v, %v", ok, err)
				}
				return nil
			},
		},
		{
			"single-use values",
			func(s *Store, c *clock, i int) error {
				return s.UseOnce(ctx, "ns", fmt.Sprint("j", i), c.In(time.Hour))
			},
			func(s *Store, c *clock, i int) error {
				if err := s.UseOnce(ctx, "ns", fmt.Sprint("j", i), c.In(time.Hour)); !errors.Is(err, store.ErrReplay) {
					return fmt.Errorf("replay: %v", err)
				}
				return nil
			},
		},
		{
			"records",
			func(s *Store, c *clock, i int) error {
				return s.PutRecord(ctx, "ns", fmt.Sprint("r", i), []byte("v"), c.In(time.Hour))
			},
			func(s *Store, c *clock, i int) error {
				// Replacing needs no room.
				if err := s.PutRecord(ctx, "ns", fmt.Sprint("r", i), []byte("w"), c.In(time.Hour)); err != nil {
					return err
				}
				if v, err := s.GetRecord(ctx, "ns", fmt.Sprint("r", i)); string(v) != "w" || err != nil {
					return fmt.Errorf("get: %q, %v", v, err)
				}
				return nil
			},
		},
		{
			"status lists",
			func(s *Store, c *clock, i int) error {
				return s.AddStatusList(ctx, fmt.Sprint("l", i), c.In(time.Hour))
			},
			func(s *Store, c *clock, i int) error {
				return s.AddStatusList(ctx, fmt.Sprint("l", i), c.In(2*time.Hour))
			},
		},
		{
			"status bits",
			func(s *Store, c *clock, i int) error {
				return s.SetStatus(ctx, fmt.Sprint("l", i%3), uint64(i), c.In(time.Hour))
			},
			func(s *Store, c *clock, i int) error {
				// Setting a set bit needs no room.
				return s.SetStatus(ctx, fmt.Sprint("l", i%3), uint64(i), c.In(2*time.Hour))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const max = 10
			s, c := newStore(t, WithMaxEntries(max))
			for i := range max {
				if err := tc.add(s, c, i); err != nil {
					t.Fatalf("entry %d: %v", i, err)
				}
			}
			if err := tc.add(s, c, max); !errors.Is(err, ErrFull) || !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("entry into a full table: %v, want ErrFull", err)
			}
			for i := range max {
				if err := tc.again(s, c, i); err != nil {
					t.Fatalf("entry %d in a full table: %v", i, err)
				}
			}
			c.Add(3 * time.Hour)
			if err := tc.add(s, c, max); err != nil {
				t.Fatalf("entry after expiry: %v", err)
			}
		})
	}
}

// TestSustainedLoadBounded redeems far more codes than the bound over a
// simulated hour and checks the store never holds more than the bound and
// never refuses a code while expired ones could make room.
func TestSustainedLoadBounded(t *testing.T) {
	ctx := t.Context()
	const max = 2000
	s, c := newStore(t, WithMaxEntries(max))
	// 100 codes per simulated second, each living 10 s: 1,000 live at a
	// time, half the bound.
	for i := range 100_000 {
		if i%100 == 0 {
			c.Add(time.Second)
		}
		if err := s.RedeemCode(ctx, fmt.Sprint("code-", i), c.In(10*time.Second)); err != nil {
			t.Fatalf("redemption %d: %v", i, err)
		}
		if i%1000 == 0 {
			if n := s.Len().Codes; n > max {
				t.Fatalf("after %d redemptions the code table holds %d, bound %d", i, n, max)
			}
		}
	}
	// Writes alone kept the table clean: at most the live codes remain,
	// plus the few expired ones each write had no turn to remove.
	if n := s.Len().Codes; n > 1100 {
		t.Fatalf("code table holds %d entries, want about 1,000 live", n)
	}
}

func TestSweep(t *testing.T) {
	ctx := t.Context()
	s, c := newStore(t)
	for i := range 5000 {
		if err := s.RevokeToken(ctx, fmt.Sprint("t", i), c.In(time.Duration(1+i%2)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(90 * time.Second)
	s.Sweep()
	if n := s.Len().Tokens; n != 2500 {
		t.Fatalf("after the sweep %d revocations remain, want 2500", n)
	}
	for i := range 5000 {
		got, _ := s.TokenRevoked(ctx, fmt.Sprint("t", i))
		if want := i%2 == 1; got != want {
			t.Fatalf("token %d revoked = %v, want %v", i, got, want)
		}
	}
}

// TestBackgroundSweep checks the goroutine sweeps on its own.
func TestBackgroundSweep(t *testing.T) {
	ctx := t.Context()
	c := newClock()
	s, err := New(WithClock(c.Now), WithSweepInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RevokeToken(ctx, "t", c.In(time.Second)); err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n := s.Len().Tokens; n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("background sweep did not remove the expired entry")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCloseStopsSweep is the goroutine-leak test (SPEC §8): after Close no
// sweep goroutine is left, Close is idempotent, and the store still works.
func TestCloseStopsSweep(t *testing.T) {
	// Goroutines not yet scheduled show New.gowrap1, not sweepLoop, so
	// count what New created.
	const sweepFunc = "created by github.com/sealedtoken/issuer/pkg/store/memory.New "
	if n := countGoroutines(sweepFunc); n != 0 {
		t.Fatalf("%d sweep goroutines before the test", n)
	}
	var stores []*Store
	for range 10 {
		s, err := New(WithSweepInterval(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	if n := countGoroutines(sweepFunc); n != 10 {
		t.Fatalf("%d sweep goroutines running, want 10", n)
	}
	var wg sync.WaitGroup
	for _, s := range stores {
		wg.Go(func() { _ = s.Close() })
		wg.Go(func() { _ = s.Close() })
	}
	wg.Wait()
	if n := countGoroutines(sweepFunc); n != 0 {
		t.Fatalf("%d sweep goroutines left after Close", n)
	}
	if err := stores[0].Close(); err != nil {
		t.Fatalf("Close again: %v", err)
	}
	if err := stores[0].RedeemCode(t.Context(), "c", time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("RedeemCode after Close: %v", err)
	}
	// A store without a sweep starts no goroutine and closes at once.
	s, _ := New(WithSweepInterval(0))
	if n := countGoroutines(sweepFunc); n != 0 {
		t.Fatalf("%d sweep goroutines with the sweep disabled", n)
	}
	_ = s.Close()
}

// countGoroutines counts the goroutines whose stack mentions fn. TestMain
// is not needed: tests that start sweeps close them before returning.
func countGoroutines(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			count++
		}
	}
	return count
}

// TestKeyNotRetained checks stored keys are copies, so a key sliced from a
// large buffer does not pin the buffer.
func TestKeyNotRetained(t *testing.T) {
	s, c := newStore(t)
	buf := []byte("xxxxcode-1yyyy")
	key := string(buf)[4:10]
	if err := s.RedeemCode(t.Context(), key, c.In(time.Minute)); err != nil {
		t.Fatal(err)
	}
	e := s.shard(key).parts[codes].m[key]
	if e == nil || e.key != "code-1" {
		t.Fatalf("entry = %+v", e)
	}
	if unsafe.StringData(e.key) == unsafe.StringData(key) {
		t.Fatal("the stored key shares the caller's buffer")
	}
}

// TestHeapInvariant drives random operations and checks every heap stays a
// heap with correct back-indices.
func TestHeapInvariant(t *testing.T) {
	ctx := t.Context()
	s, c := newStore(t, WithMaxEntries(500))
	var seed uint64 = 0x9e3779b97f4a7c15
	next := func(n int) int {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return int(seed % uint64(n))
	}
	for i := range 20_000 {
		key := fmt.Sprint("k", next(800))
		exp := c.In(time.Duration(next(100)+1) * time.Second)
		switch next(5) {
		case 0:
			_ = s.RedeemCode(ctx, key, exp)
		case 1:
			_ = s.RotateRefresh(ctx, key, uint64(next(3)), exp)
		case 2:
			_ = s.RevokeToken(ctx, key, exp)
		case 3:
			_, _ = s.AcquireLease(ctx, key, fmt.Sprint("h", next(2)), time.Duration(next(100)+1)*time.Second)
		case 4:
			_ = s.ReleaseLease(ctx, key, fmt.Sprint("h", next(2)))
		}
		if i%50 == 0 {
			c.Add(time.Second)
		}
		if i%1000 == 0 {
			checkHeaps(t, s)
		}
	}
	checkHeaps(t, s)
}

func checkHeaps(t *testing.T, s *Store) {
	t.Helper()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for tb := range sh.parts {
			p := &sh.parts[tb]
			if len(p.h) != len(p.m) {
				t.Fatalf("shard %d table %d: heap %d, map %d", i, tb, len(p.h), len(p.m))
			}
			if len(p.m) > sh.max {
				t.Fatalf("shard %d table %d: %d entries over bound %d", i, tb, len(p.m), sh.max)
			}
			for j, e := range p.h {
				if e.idx != j || p.m[e.key] != e {
					t.Fatalf("shard %d table %d: entry %q at %d has idx %d", i, tb, e.key, j, e.idx)
				}
				if j > 0 && p.h[(j-1)/2].exp > e.exp {
					t.Fatalf("shard %d table %d: heap order broken at %d", i, tb, j)
				}
			}
		}
		sh.mu.Unlock()
	}
}

// BenchmarkRedeemCode redeems fresh codes from parallel goroutines. Codes
// live 10 ms, so the table stays far below its bound and the benchmark
// includes the removal of expired codes, as in steady operation.
func BenchmarkRedeemCode(b *testing.B) {
	s, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var n atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var buf []byte
		var exp time.Time
		for i := 0; pb.Next(); i++ {
			if i%256 == 0 {
				exp = time.Now().Add(10 * time.Millisecond)
			}
			buf = fmt.Appendf(buf[:0], "code-%d", n.Add(1))
			if err := s.RedeemCode(ctx, string(buf), exp); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRotateRefresh rotates many families, one goroutine per family.
func BenchmarkRotateRefresh(b *testing.B) {
	s, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var n atomic.Uint64
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		fid := fmt.Sprint("fam-", n.Add(1))
		var gen uint64
		for pb.Next() {
			if err := s.RotateRefresh(ctx, fid, gen, exp); err != nil {
				b.Error(err)
				return
			}
			gen++
		}
	})
}

func BenchmarkTokenRevoked(b *testing.B) {
	s, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprint("jti-", i)
		if i%2 == 0 {
			_ = s.RevokeToken(ctx, ids[i], time.Now().Add(time.Hour))
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := s.TokenRevoked(ctx, ids[i%len(ids)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestReserveForSecurityWrites is issue 8 part 3: with every table filled
// to its bound by ordinary writes (an attacker's own codes, rotations and
// revocations), the revocations made because an attack was detected still
// land: the grant of a replayed code (RevokeFamily and SetStatus marked
// store.Priority) and a reused refresh token's family (RotateRefresh).
// The attacker's further ordinary writes stay refused, and the reserve is
// itself bounded.
func TestReserveForSecurityWrites(t *testing.T) {
	const max = 64 // one shard: the reserve is max/8
	for _, tc := range []struct {
		name string
		// fill makes ordinary entry i; victim makes the security write of
		// entry i (marked with ctx); check verifies it landed.
		fill   func(ctx context.Context, s *Store, c *clock, i int) error
		victim func(ctx context.Context, s *Store, c *clock, i int) error
		check  func(ctx context.Context, s *Store, i int) error
		// always: the victim's write is a security write even unmarked.
		always bool
	}{
		{
			name: "replayed code revokes its family (RFC 6749 §4.1.2)",
			fill: func(ctx context.Context, s *Store, c *clock, i int) error {
				return s.RotateRefresh(ctx, fmt.Sprint("attacker-family-", i), 0, c.In(time.Hour))
			},
			victim: func(ctx context.Context, s *Store, c *clock, i int) error {
				return s.RevokeFamily(ctx, fmt.Sprint("replayed-", i), c.In(time.Hour))
			},
			check: func(ctx context.Context, s *Store, i int) error {
				if ok, err := s.FamilyRevoked(ctx, fmt.Sprint("replayed-", i)); !ok || err != nil {
					return fmt.Errorf("not revoked: %v", err)
				}
				return nil
			},
		},
		{
			name: "families filled by the attacker's own revocations",
			fill: func(ctx context.Context, s *Store, c *clock, i int) error {
				return s.RevokeFamily(ctx, fmt.Sprint("attacker-family-", i), c.In(time.Hour))
			},
			victim: func(ctx context.Context, s *Store, c *clock, i int) error {
				return s.RevokeFamily(ctx, fmt.Sprint("replayed-", i), c.In(time.Hour))
			},
			check: func(ctx context.Context, s *Store, i int) error {
				if ok, err := s.FamilyRevoked(ctx, fmt.Sprint("replayed-", i)); !ok || err != nil {
					return fmt.Errorf("not revoked: %v", err)
				}
				return nil
			},
		},
		{
			name: "reused refresh token of an unseen family (RFC 9700 §4.14.2)",
			fill: func(ctx context.Context, s *Store, c *clock, i int) error {
				return s.RotateRefresh(ctx, fmt.Sprint("attacker-family-", i), 0, c.In(time.Hour))
			},
			victim: func(_ context.Context, s *Store, c *clock, i int) error {
				// Unmarked: RotateRefresh's revocation is always priority.
				err := s.RotateRefresh(context.Background(), fmt.Sprint("reused-", i), 3, c.In(time.Hour))
				if errors.Is(err, store.ErrRefreshReused) {
					return nil
				}
				return fmt.Errorf("reuse: %w", err)
			},
			check: func(ctx context.Context, s *Store, i int) error {
				if ok, err := s.FamilyRevoked(ctx, fmt.Sprint("reused-", i)); !ok || err != nil {
					return fmt.Errorf("not revoked: %v", err)
				}
				return nil
			},
			always: true,
		},
		{
			name: "token revocation",
			fill: func(ctx context.Context, s *Store, c *clock, i int) error {
				return s.RevokeToken(ctx, fmt.Sprint("attacker-token-", i), c.In(time.Hour))
			},
			victim: func(ctx context.Context, s *Store, c *clock, i int) error {
				return s.RevokeToken(ctx, fmt.Sprint("victim-token-", i), c.In(time.Hour))
			},
			check: func(ctx context.Context, s *Store, i int) error {
				if ok, err := s.TokenRevoked(ctx, fmt.Sprint("victim-token-", i)); !ok || err != nil {
					return fmt.Errorf("not revoked: %v", err)
				}
				return nil
			},
		},
		{
			name: "status bit of a replayed code's grant (SPEC §9)",
			fill: func(ctx context.Context, s *Store, c *clock, i int) error {
				return s.SetStatus(ctx, "attacker-list", uint64(i), c.In(time.Hour))
			},
			victim: func(ctx context.Context, s *Store, c *clock, i int) error {
				// Half the bits into the attacker's own list, half into a new one.
				list := "victim-list"
				if i%2 == 0 {
					list = "attacker-list"
				}
				return s.SetStatus(ctx, list, uint64(1_000_000+i), c.In(time.Hour))
			},
			check: func(ctx context.Context, s *Store, i int) error {
				list := "victim-list"
				if i%2 == 0 {
					list = "attacker-list"
				}
				idx, err := s.StatusIndexes(ctx, list)
				if _, found := slices.BinarySearch(idx, uint64(1_000_000+i)); !found || err != nil {
					return fmt.Errorf("bit not set: %v", err)
				}
				return nil
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newStore(t, WithMaxEntries(max))
			ordinary := t.Context()
			n := 0
			for ; n < 10*max; n++ { // the attacker fills the table
				if err := tc.fill(ordinary, s, c, n); err != nil {
					if !errors.Is(err, ErrFull) {
						t.Fatalf("fill %d: %v", n, err)
					}
					break
				}
			}
			if n != max {
				t.Fatalf("the table took %d ordinary entries, want its bound %d", n, max)
			}
			// An unmarked write of the victim's kind is refused...
			if !tc.always {
				if err := tc.victim(ordinary, s, c, -1); !errors.Is(err, ErrFull) {
					t.Fatalf("unmarked write into a full table: %v, want ErrFull", err)
				}
			}
			// ...and every security write up to the reserve lands.
			priority := store.Priority(ordinary)
			reserve := max / reserveDivisor
			for i := range reserve {
				if err := tc.victim(priority, s, c, i); err != nil {
					t.Fatalf("security write %d of %d into a full table: %v", i, reserve, err)
				}
				if err := tc.check(ordinary, s, i); err != nil {
					t.Fatalf("security write %d: %v", i, err)
				}
			}
			// The attacker still gets nothing in, and the reserve is bounded.
			if err := tc.fill(ordinary, s, c, n+1); !errors.Is(err, ErrFull) {
				t.Fatalf("ordinary write after the security writes: %v, want ErrFull", err)
			}
			if err := tc.victim(priority, s, c, reserve); !errors.Is(err, ErrFull) {
				t.Fatalf("security write beyond the reserve: %v, want ErrFull", err)
			}
		})
	}
}
