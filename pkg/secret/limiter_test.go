package secret

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// step is one action in a scripted limiter scenario.
type step struct {
	at      time.Duration // offset from t0
	op      string        // "allow", "fail", "forget", "reserve", "settle-ok", "settle-fail"
	key     string
	ok      bool          // allow: expected ok
	retry   time.Duration // allow: expected retryAfter; fail: expected block
	comment string
}

func runSteps(t *testing.T, l *Limiter, steps []step) {
	t.Helper()
	for i, s := range steps {
		now := t0.Add(s.at)
		switch s.op {
		case "allow":
			ok, retry := l.Allow(s.key, now)
			if ok != s.ok || retry != s.retry {
				t.Fatalf("step %d (%s) at %v: Allow(%s) = %v, %v; want %v, %v", i, s.comment, s.at, s.key, ok, retry, s.ok, s.retry)
			}
		case "fail":
			if got := l.Fail(s.key, now); got != s.retry {
				t.Fatalf("step %d (%s) at %v: Fail(%s) = %v, want %v", i, s.comment, s.at, s.key, got, s.retry)
			}
		case "forget":
			l.Forget(s.key)
		case "reserve":
			ok, retry := l.Reserve(s.key, now)
			if ok != s.ok || retry != s.retry {
				t.Fatalf("step %d (%s) at %v: Reserve(%s) = %v, %v; want %v, %v", i, s.comment, s.at, s.key, ok, retry, s.ok, s.retry)
			}
		case "settle-ok", "settle-fail":
			if got := l.Settle(s.key, now, s.op == "settle-fail"); got != s.retry {
				t.Fatalf("step %d (%s) at %v: Settle(%s) = %v, want %v", i, s.comment, s.at, s.key, got, s.retry)
			}
		default:
			t.Fatalf("step %d: unknown op %q", i, s.op)
		}
	}
}

func fails(key string, at time.Duration, n int) []step {
	var s []step
	for range n {
		s = append(s, step{at: at, op: "fail", key: key})
	}
	return s
}

func seq(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestLimiterPolicy(t *testing.T) {
	cfg := LimiterConfig{Threshold: 3, Window: time.Minute, Block: time.Minute, MaxBlock: 4 * time.Minute}
	const k = "client:x"
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "fresh key allowed", steps: []step{{op: "allow", key: k, ok: true}}},
		{name: "below threshold allowed", steps: seq(
			fails(k, 0, 2),
			[]step{{at: time.Second, op: "allow", key: k, ok: true}},
		)},
		{name: "threshold blocks for Block", steps: seq(
			fails(k, 0, 2),
			[]step{
				{at: 10 * time.Second, op: "fail", key: k, retry: time.Minute, comment: "third failure"},
				{at: 10 * time.Second, op: "allow", key: k, ok: false, retry: time.Minute},
				{at: 40 * time.Second, op: "allow", key: k, ok: false, retry: 30 * time.Second},
				{at: 70*time.Second - 1, op: "allow", key: k, ok: false, retry: 1},
				{at: 70 * time.Second, op: "allow", key: k, ok: true, comment: "block over"},
			},
		)},
		{name: "other keys unaffected", steps: seq(
			fails(k, 0, 2),
			[]step{
				{op: "fail", key: k, retry: time.Minute},
				{op: "allow", key: k, ok: false, retry: time.Minute},
				{op: "allow", key: "client:y", ok: true},
				{op: "allow", key: "addr:192.0.2.1", ok: true},
			},
		)},
		{name: "window expiry resets the count", steps: seq(
			fails(k, 0, 2),
			fails(k, time.Minute, 2), // new window opened at 1m
			[]step{{at: time.Minute, op: "allow", key: k, ok: true}},
		)},
		{name: "failures during a block are not counted", steps: seq(
			fails(k, 0, 2),
			[]step{{op: "fail", key: k, retry: time.Minute}},
			fails(k, 30*time.Second, 5),
			[]step{
				{at: time.Minute, op: "allow", key: k, ok: true},
				{at: time.Minute, op: "fail", key: k},
				{at: time.Minute, op: "fail", key: k},
				{at: time.Minute, op: "allow", key: k, ok: true, comment: "two fresh failures only"},
			},
		)},
		{name: "back-off doubles and caps", steps: seq(
			fails(k, 0, 2), []step{{at: 0, op: "fail", key: k, retry: time.Minute}},
			fails(k, 1*time.Minute, 2), []step{{at: 1 * time.Minute, op: "fail", key: k, retry: 2 * time.Minute}},
			fails(k, 3*time.Minute, 2), []step{{at: 3 * time.Minute, op: "fail", key: k, retry: 4 * time.Minute}},
			fails(k, 7*time.Minute, 2), []step{{at: 7 * time.Minute, op: "fail", key: k, retry: 4 * time.Minute, comment: "capped"}},
			[]step{{at: 8 * time.Minute, op: "allow", key: k, ok: false, retry: 3 * time.Minute}},
		)},
		{name: "Forget drops failures and history", steps: seq(
			fails(k, 0, 2), []step{{at: 0, op: "fail", key: k, retry: time.Minute}},
			fails(k, 1*time.Minute, 2), []step{{at: 1 * time.Minute, op: "fail", key: k, retry: 2 * time.Minute}},
			[]step{{at: 3 * time.Minute, op: "forget", key: k}},
			fails(k, 3*time.Minute, 2),
			[]step{{at: 3 * time.Minute, op: "allow", key: k, ok: true}},
			[]step{{at: 3 * time.Minute, op: "fail", key: k, retry: time.Minute, comment: "back to the first block"}},
		)},
		{name: "history remembered within IdleTTL", steps: seq(
			fails(k, 0, 2), []step{{at: 0, op: "fail", key: k, retry: time.Minute}},
			// Block ends at 1m; IdleTTL defaults to MaxBlock (4m): at 4m59s
			// the key still remembers its strike.
			fails(k, 5*time.Minute-time.Second, 2), []step{{at: 5*time.Minute - time.Second, op: "fail", key: k, retry: 2 * time.Minute}},
		)},
		{name: "history forgotten after IdleTTL", steps: seq(
			fails(k, 0, 2), []step{{at: 0, op: "fail", key: k, retry: time.Minute}},
			// Window reopened at block end (1m) + 1m window + 4m IdleTTL.
			fails(k, 6*time.Minute, 2), []step{{at: 6 * time.Minute, op: "fail", key: k, retry: time.Minute}},
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, NewLimiter(cfg), tt.steps)
		})
	}
}

func TestLimiterDefaults(t *testing.T) {
	l := NewLimiter(LimiterConfig{})
	const k = "addr:198.51.100.7"
	for i := range DefaultThreshold - 1 {
		if d := l.Fail(k, t0); d != 0 {
			t.Fatalf("failure %d blocked for %v", i+1, d)
		}
	}
	if d := l.Fail(k, t0); d != DefaultBlock {
		t.Fatalf("failure %d: block %v, want %v", DefaultThreshold, d, DefaultBlock)
	}
	if ok, retry := l.Allow(k, t0.Add(time.Second)); ok || retry != DefaultBlock-time.Second {
		t.Errorf("Allow = %v, %v", ok, retry)
	}
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	l := NewLimiter(LimiterConfig{Threshold: 3, Window: time.Minute})
	l.Fail("a", t0)
	l.Fail("b", t0)
	if l.Len() != 2 {
		t.Fatalf("Len = %d, want 2", l.Len())
	}
	// Touching an expired key drops it.
	if ok, _ := l.Allow("a", t0.Add(time.Minute)); !ok {
		t.Fatal("expired key not allowed")
	}
	if l.Len() != 1 {
		t.Errorf("Len after lazy expiry = %d, want 1", l.Len())
	}
	if n := l.Sweep(t0.Add(time.Minute)); n != 1 || l.Len() != 0 {
		t.Errorf("Sweep dropped %d, Len %d; want 1, 0", n, l.Len())
	}
	// A blocked key survives a sweep until its block and IdleTTL end.
	for range 3 {
		l.Fail("c", t0)
	}
	if n := l.Sweep(t0.Add(10 * time.Minute)); n != 0 {
		t.Errorf("Sweep dropped a key within its IdleTTL")
	}
	if n := l.Sweep(t0.Add(time.Hour)); n != 1 {
		t.Errorf("Sweep dropped %d, want the stale blocked key", n)
	}
}

func TestLimiterMemoryBoundUnderSpray(t *testing.T) {
	tests := []struct {
		name    string
		maxKeys int
	}{
		{name: "default cap", maxKeys: 0},
		{name: "small cap", maxKeys: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLimiter(LimiterConfig{MaxKeys: tt.maxKeys})
			limit := tt.maxKeys
			if limit == 0 {
				limit = DefaultMaxKeys
			}
			// An attacker at one address got itself blocked…
			const victim = "client:target"
			for range DefaultThreshold {
				l.Fail(victim, t0)
			}
			// …then sprays 1e5 random client ids, one failure each, with
			// long keys to check that key length does not matter.
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := rand.New(rand.NewPCG(1, 2))
			pad := string(make([]byte, 200))
			for i := range 100_000 {
				l.Fail(fmt.Sprintf("client:%016x%s", r.Uint64(), pad), t0.Add(time.Duration(i)*time.Millisecond))
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			if n := l.Len(); n > limit {
				t.Errorf("Len = %d, above the cap %d", n, limit)
			}
			if ok, _ := l.Allow(victim, t0.Add(30*time.Second)); ok {
				t.Error("the spray evicted the blocked key")
			}
			// ~100 B per entry plus map overhead; allow 400 B per key.
			if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > int64(limit)*400 {
				t.Errorf("heap grew by %d bytes for %d keys", grown, limit)
			}
		})
	}
}

func TestLimiterProtectedEvictedLast(t *testing.T) {
	// One shard of 64 keys: 64 blocked keys fill it, then fresh keys can
	// only evict the least recently failed blocked key.
	l := NewLimiter(LimiterConfig{Threshold: 1, MaxKeys: 64})
	for i := range 64 {
		l.Fail(fmt.Sprint("blocked", i), t0.Add(time.Duration(i)))
	}
	l.Fail("fresh", t0.Add(time.Second))
	if l.Len() != 64 {
		t.Fatalf("Len = %d, want 64", l.Len())
	}
	if ok, _ := l.Allow("blocked0", t0.Add(2*time.Second)); !ok {
		t.Error("the least recently failed blocked key was not the one evicted")
	}
	if ok, _ := l.Allow("blocked1", t0.Add(2*time.Second)); ok {
		t.Error("blocked1 was evicted too")
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l := NewLimiter(LimiterConfig{Threshold: 5, MaxKeys: 512})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := fmt.Sprint("k", (g*7+i)%600)
				now := t0.Add(time.Duration(i) * time.Millisecond)
				if ok, _ := l.Reserve(k, now); ok {
					l.Settle(k, now, i%3 != 0)
				}
				if i%7 == 0 {
					l.Fail(k, now)
				}
				if i%500 == 0 {
					l.Sweep(now)
				}
			}
		}()
	}
	wg.Wait()
	if l.Len() > 512 {
		t.Errorf("Len = %d, above the cap", l.Len())
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want int
	}{
		{name: "negative", in: -time.Second, want: 1},
		{name: "zero", in: 0, want: 1},
		{name: "one nanosecond rounds up", in: 1, want: 1},
		{name: "exact second", in: time.Second, want: 1},
		{name: "just over", in: time.Second + 1, want: 2},
		{name: "fifteen minutes", in: 15 * time.Minute, want: 900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RetryAfterSeconds(tt.in); got != tt.want {
				t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

// A clock that reads earlier than the Limiter's creation (a test clock, or
// a wall clock stepped back) must not make a key with failures look blocked.
func TestLimiterClockBeforeEpoch(t *testing.T) {
	l := NewLimiter(LimiterConfig{Threshold: 3})
	past := time.Now().Add(-time.Hour)
	l.Fail("client:a", past)
	if ok, retry := l.Allow("client:a", past); !ok {
		t.Fatalf("one failure blocked the key (retry after %s)", retry)
	}
	l.Fail("client:a", past)
	l.Fail("client:a", past)
	if ok, _ := l.Allow("client:a", past); ok {
		t.Fatal("three failures at threshold 3 did not block the key")
	}
}
