package secret

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for VerifierConfig.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingVerifier wraps the real computation with a counter.
func countingVerifier(cfg VerifierConfig) (*Verifier, *atomic.Int64) {
	v := NewVerifier(cfg)
	var n atomic.Int64
	v.compute = func(h Hash, s string) bool {
		n.Add(1)
		return h.Verify(s)
	}
	return v, &n
}

func mustParse(t testing.TB, s string) Hash {
	t.Helper()
	h, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustBcrypt(t testing.TB, secret string) Hash {
	t.Helper()
	enc, err := NewBcrypt(secret, MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, enc)
}

func TestVerifierSchemes(t *testing.T) {
	const secret = "correct"
	argon, err := NewArgon2id(secret, fastArgon2)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		hash     Hash
		secret   string
		want     bool
		computes int64 // slow computations expected
	}{
		{name: "sha256 right", hash: mustParse(t, NewSHA256(secret)), secret: secret, want: true},
		{name: "sha256 wrong", hash: mustParse(t, NewSHA256(secret)), secret: "wrong", want: false},
		{name: "bcrypt right", hash: mustBcrypt(t, secret), secret: secret, want: true, computes: 1},
		{name: "bcrypt wrong", hash: mustBcrypt(t, secret), secret: "wrong", want: false, computes: 1},
		{name: "argon2id right", hash: mustParse(t, argon), secret: secret, want: true, computes: 1},
		{name: "argon2id wrong", hash: mustParse(t, argon), secret: "wrong", want: false, computes: 1},
		{name: "bcrypt empty secret costs nothing", hash: mustBcrypt(t, secret), secret: "", want: false},
		{name: "bcrypt overlong secret costs nothing", hash: mustBcrypt(t, secret), secret: string(make([]byte, MaxSecretLen+1)), want: false},
		{name: "zero hash", hash: Hash{}, secret: secret, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, n := countingVerifier(VerifierConfig{})
			got, err := v.Verify(context.Background(), tt.hash, tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
			if n.Load() != tt.computes {
				t.Errorf("computations = %d, want %d", n.Load(), tt.computes)
			}
		})
	}
}

func TestVerifierCacheHitAvoidsRecomputation(t *testing.T) {
	clk := newFakeClock()
	v, n := countingVerifier(VerifierConfig{CacheTTL: time.Minute, Now: clk.Now})
	h := mustBcrypt(t, "pw")
	ctx := context.Background()
	for i := range 5 {
		ok, err := v.Verify(ctx, h, "pw")
		if err != nil || !ok {
			t.Fatalf("Verify #%d = %v, %v", i, ok, err)
		}
	}
	if n.Load() != 1 {
		t.Errorf("computations = %d, want 1", n.Load())
	}
	if st := v.Stats(); st.Hits != 4 || st.Computed != 1 || st.Entries != 1 {
		t.Errorf("Stats = %+v, want 4 hits, 1 computed, 1 entry", st)
	}

	// Just before the TTL: still cached. At the TTL: recomputed.
	clk.Advance(time.Minute - time.Nanosecond)
	if ok, _ := v.Verify(ctx, h, "pw"); !ok || n.Load() != 1 {
		t.Errorf("before TTL: ok=%v computations=%d, want true, 1", ok, n.Load())
	}
	clk.Advance(time.Nanosecond)
	if ok, _ := v.Verify(ctx, h, "pw"); !ok || n.Load() != 2 {
		t.Errorf("at TTL: ok=%v computations=%d, want true, 2", ok, n.Load())
	}
}

func TestVerifierNeverCachesFailures(t *testing.T) {
	v, n := countingVerifier(VerifierConfig{})
	h := mustBcrypt(t, "pw")
	for range 3 {
		ok, err := v.Verify(context.Background(), h, "wrong")
		if err != nil || ok {
			t.Fatalf("Verify(wrong) = %v, %v", ok, err)
		}
	}
	if n.Load() != 3 {
		t.Errorf("computations = %d, want 3 (failures must not be cached)", n.Load())
	}
	if e := v.Stats().Entries; e != 0 {
		t.Errorf("cache holds %d entries after failures only", e)
	}
}

func TestVerifierChangedHashMisses(t *testing.T) {
	v, n := countingVerifier(VerifierConfig{})
	ctx := context.Background()
	old, rotated := mustBcrypt(t, "pw"), mustBcrypt(t, "pw2")
	if ok, _ := v.Verify(ctx, old, "pw"); !ok {
		t.Fatal("old hash did not verify")
	}
	// Configuration now holds a new hash: the old secret must be checked
	// against it, not answered from the cache.
	if ok, _ := v.Verify(ctx, rotated, "pw"); ok {
		t.Error("old secret verified against the new hash")
	}
	if n.Load() != 2 {
		t.Errorf("computations = %d, want 2", n.Load())
	}
}

func TestVerifierCapEvictsOldest(t *testing.T) {
	v := NewVerifier(VerifierConfig{CacheSize: 4})
	var n atomic.Int64
	v.compute = func(Hash, string) bool { n.Add(1); return true }
	h := mustBcrypt(t, "unused")
	ctx := context.Background()
	verify := func(s string) {
		t.Helper()
		if ok, err := v.Verify(ctx, h, s); !ok || err != nil {
			t.Fatalf("Verify(%s) = %v, %v", s, ok, err)
		}
	}
	for i := range 5 {
		verify(fmt.Sprint("s", i))
	}
	if e := v.Stats().Entries; e != 4 {
		t.Errorf("Entries = %d, want the cap 4", e)
	}
	before := n.Load()
	verify("s4") // newest: cached
	verify("s1") // oldest survivor: cached
	if n.Load() != before {
		t.Errorf("s4/s1 recomputed; want cache hits")
	}
	verify("s0") // evicted first
	if n.Load() != before+1 {
		t.Errorf("s0 not recomputed; want it evicted as the oldest")
	}
}

func TestVerifierCacheMemoryBounded(t *testing.T) {
	v := NewVerifier(VerifierConfig{CacheSize: 1000})
	v.compute = func(Hash, string) bool { return true }
	h := mustBcrypt(t, "unused")
	for i := range 20000 {
		if ok, _ := v.Verify(context.Background(), h, fmt.Sprint(i)); !ok {
			t.Fatal("Verify failed")
		}
	}
	if e := v.Stats().Entries; e > 1000 || e < 900 {
		t.Errorf("Entries = %d, want close to and at most 1000", e)
	}
}

func TestVerifierCacheDisabled(t *testing.T) {
	for _, cfg := range []VerifierConfig{{CacheTTL: -1}, {CacheSize: -1}} {
		v, n := countingVerifier(cfg)
		h := mustBcrypt(t, "pw")
		for range 2 {
			if ok, _ := v.Verify(context.Background(), h, "pw"); !ok {
				t.Fatal("Verify failed")
			}
		}
		if n.Load() != 2 {
			t.Errorf("%+v: computations = %d, want 2", cfg, n.Load())
		}
	}
}

func TestVerifierKeyIsKeyedAndInjective(t *testing.T) {
	v1, v2 := NewVerifier(VerifierConfig{}), NewVerifier(VerifierConfig{})
	if v1.key("h", "s") == v2.key("h", "s") {
		t.Error("two Verifiers derive the same cache key: the HMAC key is not random")
	}
	if v1.key("h", "s") != v1.key("h", "s") {
		t.Error("cache key is not deterministic")
	}
	if v1.key("ab", "c") == v1.key("a", "bc") {
		t.Error("cache key is ambiguous in the hash/secret boundary")
	}
}

// blockingCompute returns a compute seam that blocks until release is
// closed, recording the peak concurrency.
func blockingCompute(release <-chan struct{}, entered chan<- struct{}, running, peak *atomic.Int64) func(Hash, string) bool {
	return func(h Hash, s string) bool {
		r := running.Add(1)
		for {
			p := peak.Load()
			if r <= p || peak.CompareAndSwap(p, r) {
				break
			}
		}
		if entered != nil {
			entered <- struct{}{}
		}
		<-release
		running.Add(-1)
		return s != "wrong"
	}
}

func TestVerifierConcurrencyCap(t *testing.T) {
	const slots = 2
	v := NewVerifier(VerifierConfig{MaxConcurrent: slots})
	release := make(chan struct{})
	entered := make(chan struct{}, 16)
	var running, peak atomic.Int64
	v.compute = blockingCompute(release, entered, &running, &peak)
	h := mustBcrypt(t, "unused")

	// Fill both slots with distinct secrets (distinct keys: no sharing).
	var wg sync.WaitGroup
	for i := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := v.Verify(context.Background(), h, fmt.Sprint("holder", i)); !ok || err != nil {
				t.Errorf("holder %d: %v, %v", i, ok, err)
			}
		}()
	}
	for range slots {
		<-entered
	}

	// A third request waits, then gives up with ErrBusy when its ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	ok, err := v.Verify(ctx, h, "third")
	if ok || !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with full slots = %v, %v; want false, ErrBusy wrapping DeadlineExceeded", ok, err)
	}
	if st := v.Stats(); st.Busy != 1 {
		t.Errorf("Stats.Busy = %d, want 1", st.Busy)
	}

	// Many waiters with a live context: all finish once slots free up, and
	// never more than `slots` run at once.
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := v.Verify(context.Background(), h, fmt.Sprint("waiter", i)); !ok || err != nil {
				t.Errorf("waiter %d: %v, %v", i, ok, err)
			}
		}()
	}
	go func() {
		for range entered { // drain
		}
	}()
	time.Sleep(10 * time.Millisecond)
	close(release)
	wg.Wait()
	close(entered)
	if p := peak.Load(); p != slots {
		t.Errorf("peak concurrent computations = %d, want %d", p, slots)
	}
}

func TestVerifierSharesInflightComputation(t *testing.T) {
	v := NewVerifier(VerifierConfig{MaxConcurrent: 4})
	release := make(chan struct{})
	var running, peak, calls atomic.Int64
	inner := blockingCompute(release, nil, &running, &peak)
	v.compute = func(h Hash, s string) bool { calls.Add(1); return inner(h, s) }
	h := mustBcrypt(t, "unused")

	for _, secret := range []string{"right", "wrong"} {
		calls.Store(0)
		release = make(chan struct{})
		inner = blockingCompute(release, nil, &running, &peak)
		var wg sync.WaitGroup
		var trues atomic.Int64
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := v.Verify(context.Background(), h, secret)
				if err != nil {
					t.Error(err)
				}
				if ok {
					trues.Add(1)
				}
			}()
		}
		time.Sleep(20 * time.Millisecond) // let them pile up on the leader
		close(release)
		wg.Wait()
		want := int64(0)
		if secret == "right" {
			want = 20
		}
		if trues.Load() != want {
			t.Errorf("%s: %d of 20 true, want %d", secret, trues.Load(), want)
		}
		// Normally 1; a goroutine scheduled after the leader finished
		// computes again (or hits the cache for "right").
		if c := calls.Load(); c < 1 || c > 3 {
			t.Errorf("%s: %d computations for 20 identical concurrent requests, want ~1", secret, c)
		}
	}
}

func TestVerifierAbandonedLeaderHandsOver(t *testing.T) {
	v := NewVerifier(VerifierConfig{MaxConcurrent: 1})
	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	var running, peak atomic.Int64
	v.compute = blockingCompute(release, entered, &running, &peak)
	h := mustBcrypt(t, "unused")

	// Occupy the only slot.
	go func() { _, _ = v.Verify(context.Background(), h, "holder") }()
	<-entered

	// A leads for "pw" with a short deadline; B waits on A's call with no
	// deadline. When A gives up, B must take over rather than fail.
	ctxA, cancelA := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancelA()
	errA := make(chan error, 1)
	go func() { _, err := v.Verify(ctxA, h, "pw"); errA <- err }()
	time.Sleep(5 * time.Millisecond)
	resB := make(chan bool, 1)
	go func() {
		ok, err := v.Verify(context.Background(), h, "pw")
		if err != nil {
			t.Error(err)
		}
		resB <- ok
	}()
	if err := <-errA; !errors.Is(err, ErrBusy) {
		t.Fatalf("A: err = %v, want ErrBusy", err)
	}
	close(release)
	go func() {
		for range entered {
		}
	}()
	select {
	case ok := <-resB:
		if !ok {
			t.Error("B: false, want true")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("B never finished after A abandoned")
	}
}

func TestVerifierCanceledContextComputesNothing(t *testing.T) {
	v, n := countingVerifier(VerifierConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ok, err := v.Verify(ctx, mustBcrypt(t, "pw"), "pw")
	if ok || !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify = %v, %v; want false, ErrBusy wrapping Canceled", ok, err)
	}
	if n.Load() != 0 {
		t.Errorf("computations = %d, want 0", n.Load())
	}
	// The fast path ignores ctx.
	if ok, err := v.Verify(ctx, mustParse(t, NewSHA256("pw")), "pw"); !ok || err != nil {
		t.Errorf("sha256 with a canceled ctx = %v, %v; want true, nil", ok, err)
	}
}

func TestVerifierSurvivesPanickingCompute(t *testing.T) {
	v := NewVerifier(VerifierConfig{MaxConcurrent: 1})
	h := mustBcrypt(t, "pw")
	v.compute = func(Hash, string) bool { panic("boom") }
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic was swallowed")
			}
		}()
		_, _ = v.Verify(context.Background(), h, "pw")
	}()
	v.compute = Hash.Verify
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if ok, err := v.Verify(ctx, h, "pw"); !ok || err != nil {
		t.Errorf("after a panic: %v, %v; want the slot and the key released", ok, err)
	}
}

func TestVerifierConcurrentMixedUse(t *testing.T) {
	v := NewVerifier(VerifierConfig{CacheSize: 64})
	hashes := []Hash{mustBcrypt(t, "a"), mustBcrypt(t, "b"), mustParse(t, NewSHA256("c"))}
	secrets := []string{"a", "b", "c"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				k := (g + i) % 3
				s := secrets[k]
				if i%4 == 0 {
					s = "wrong"
				}
				ok, err := v.Verify(context.Background(), hashes[k], s)
				if err != nil || ok != (s != "wrong") {
					t.Errorf("Verify(%d, %q) = %v, %v", k, s, ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestVerifierMaxWaitShedsLoad: with every slot busy, a request with a
// context that never ends still gives up after MaxWait (SPEC §6: wrong
// secrets must not be a way to queue work without bound).
func TestVerifierMaxWaitShedsLoad(t *testing.T) {
	v := NewVerifier(VerifierConfig{MaxConcurrent: 1, MaxWait: 30 * time.Millisecond})
	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	var running, peak atomic.Int64
	v.compute = blockingCompute(release, entered, &running, &peak)
	h := mustBcrypt(t, "unused")

	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = v.Verify(context.Background(), h, "holder")
	}()
	<-entered

	start := time.Now()
	ok, err := v.Verify(context.Background(), h, "waiter")
	waited := time.Since(start)
	if ok || !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify with the only slot busy = %v, %v; want false, ErrBusy", ok, err)
	}
	if waited < 30*time.Millisecond || waited > 5*time.Second {
		t.Errorf("gave up after %s, want about MaxWait (30ms)", waited)
	}
	close(release)
	<-done
}
