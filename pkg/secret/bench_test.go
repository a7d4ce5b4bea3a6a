package secret

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkVerify measures Verifier.Verify per scheme and cache state.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	secret, err := NewClientSecret()
	if err != nil {
		b.Fatal(err)
	}
	v := NewVerifier(VerifierConfig{})
	sha := mustParse(b, NewSHA256(secret))
	bc := mustBcrypt(b, secret) // cost 4
	bc10enc, err := NewBcrypt(secret, 10)
	if err != nil {
		b.Fatal(err)
	}
	bc10 := mustParse(b, bc10enc)
	argon := mustParse(b, pinnedArgon2id)

	run := func(name string, h Hash, s string, want bool) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := v.Verify(ctx, h, s); ok != want || err != nil {
					b.Fatalf("Verify = %v, %v", ok, err)
				}
			}
		})
	}
	run("scheme=sha256", sha, secret, true)
	run("scheme=sha256/wrong", sha, "wrong", false)
	run("scheme=bcrypt/cost=10/cached", bc10, secret, true)
	run("scheme=argon2id/m=64MiB,t=3,p=2/cached", argon, pinnedArgon2idSecret, true)
	run("scheme=bcrypt/cost=4/uncached(wrong)", bc, "wrong", false)
	b.Run("scheme=bcrypt/cost=10/cached/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if ok, err := v.Verify(ctx, bc10, secret); !ok || err != nil {
					b.Fatalf("Verify = %v, %v", ok, err)
				}
			}
		})
	})
}

// BenchmarkLimiterAllow measures the pre-hash check.
func BenchmarkLimiterAllow(b *testing.B) {
	empty := NewLimiter(LimiterConfig{})
	busy := NewLimiter(LimiterConfig{})
	for i := range 10000 {
		busy.Fail(fmt.Sprint("client:", i), t0)
	}
	for range DefaultThreshold {
		busy.Fail("client:blocked", t0)
	}
	cases := []struct {
		name string
		l    *Limiter
		key  string
	}{
		{name: "state=empty", l: empty, key: "client:webapp"},
		{name: "state=miss", l: busy, key: "client:webapp"},
		{name: "state=blocked", l: busy, key: "client:blocked"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.l.Allow(c.key, t0)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.l.Allow(c.key, t0)
				}
			})
		})
	}
}

// BenchmarkLimiterFail measures recording a failure (new keys, with eviction).
func BenchmarkLimiterFail(b *testing.B) {
	l := NewLimiter(LimiterConfig{MaxKeys: 4096})
	keys := make([]string, 8192)
	for i := range keys {
		keys[i] = fmt.Sprint("addr:", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Fail(keys[i%len(keys)], t0)
		i++
	}
}
