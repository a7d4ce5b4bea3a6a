//go:build !race

package secret

import (
	"context"
	"net/netip"
	"testing"
)

// Allocation guards for the hot paths (the race detector allocates, hence
// the build tag).
func TestAllocs(t *testing.T) {
	ctx := context.Background()
	empty := NewLimiter(LimiterConfig{})
	busy := NewLimiter(LimiterConfig{MaxKeys: 64}) // one shard: every key shares it
	busy.Fail("client:other", t0)
	for range DefaultThreshold {
		busy.Fail("client:blocked", t0)
	}
	addr := netip.MustParseAddr("2001:db8::1")
	v := NewVerifier(VerifierConfig{})
	const generated = "sUdJ4x0Yy9lH7bB2f3QeXq8Vn1mKcA6wZpR5tL0oE_s" // 43 bytes, like NewClientSecret
	fast := mustParse(t, NewSHA256(generated))
	slow := mustBcrypt(t, "s3cret")
	if ok, err := v.Verify(ctx, slow, "s3cret"); !ok || err != nil {
		t.Fatal("warm-up failed")
	}
	tests := []struct {
		name string
		max  float64
		fn   func()
	}{
		{name: "Limiter.Allow, empty shard", max: 0, fn: func() { empty.Allow("client:nobody", t0) }},
		{name: "Limiter.Allow, miss in a busy shard", max: 0, fn: func() { busy.Allow("client:nobody", t0) }},
		{name: "Limiter.Allow, blocked key", max: 0, fn: func() { busy.Allow("client:blocked", t0) }},
		{name: "Limiter.Forget, unknown key", max: 0, fn: func() { busy.Forget("client:nobody") }},
		{name: "Limiter.Begin, fast hash", max: 0, fn: func() { busy.Begin("client:webapp", addr, "", false, t0) }},
		{name: "Limiter.Begin, slow hash", max: 0, fn: func() { busy.Begin("client:webapp", addr, "", true, t0) }},
		{name: "Hash.Verify sha256", max: 0, fn: func() { fast.Verify(generated) }},
		{name: "Verifier.Verify sha256", max: 0, fn: func() { _, _ = v.Verify(ctx, fast, generated) }},
		{name: "Verifier.Verify cached bcrypt", max: 0, fn: func() { _, _ = v.Verify(ctx, slow, "s3cret") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(200, tt.fn); got > tt.max {
				t.Errorf("%v allocs per run, want at most %v", got, tt.max)
			}
		})
	}
}
