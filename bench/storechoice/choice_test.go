package storechoice

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkWriteMix runs the issuer's write mix (see the package
// documentation) with 1, 8 and 64 writers sharing b.N operations, and
// reports durable operations per second. On a machine whose disk others
// share, prefer the interleaved rounds of cmd/storechoice.
func BenchmarkWriteMix(b *testing.B) {
	for _, impl := range Impls {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("impl=%s/writers=%d", impl.Name, writers), func(b *testing.B) {
				e, err := impl.open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer e.close()
				b.ReportAllocs()
				b.ResetTimer()
				if err := mix(e, writers, b.N); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			})
		}
	}
}

// TestEnginesAgree checks that every engine gives the issuer's outcomes:
// a code redeems once, a superseded generation is refused, a revocation
// is idempotent. A benchmark of an engine that got these wrong would
// measure nothing useful.
func TestEnginesAgree(t *testing.T) {
	for _, impl := range Impls[1:] {
		t.Run(impl.Name, func(t *testing.T) {
			e, err := impl.open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer e.close()
			exp := time.Now().Add(time.Hour).UnixNano()
			code, fid, jti := randomID(), randomID(), randomID()
			steps := []struct {
				name string
				err  error
				want error
			}{
				{"redeem", e.redeem(code, exp), nil},
				{"redeem again", e.redeem(code, exp), errReused},
				{"rotate 0", e.rotate(fid, 0, exp), nil},
				{"rotate 1", e.rotate(fid, 1, exp), nil},
				{"rotate 0 again", e.rotate(fid, 0, exp), errSuperseded},
				{"revoke", e.revoke(jti, exp), nil},
				{"revoke again", e.revoke(jti, exp), nil},
			}
			for _, s := range steps {
				if !errors.Is(s.err, s.want) || (s.want == nil) != (s.err == nil) {
					t.Fatalf("%s: %v, want %v", s.name, s.err, s.want)
				}
			}
			// Concurrent redemptions of one code: exactly one wins.
			code = randomID()
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 32 {
				wg.Go(func() {
					if e.redeem(code, exp) == nil {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("concurrent redemption: %d winners, want 1", wins.Load())
			}
		})
	}
}
