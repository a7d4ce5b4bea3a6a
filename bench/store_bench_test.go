package bench

// The issuer's store write mix through the store.Store interface (SPEC §7):
// the durable file store beside the memory store (the floor: no I/O) and,
// when redis-server is installed, Redis with appendfsync always (the other
// durable choice). bench/storechoice chose the file store's library;
// this measures the store as the issuer uses it. Figures and the command
// are in docs/STORE.md.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/file"
	"github.com/sealedtoken/issuer/pkg/store/memory"
	"github.com/sealedtoken/issuer/pkg/store/redis"
	"github.com/sealedtoken/issuer/pkg/store/redis/redistest"
)

func storeID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// writeMix runs n operations of the issuer's write mix on s from writers
// goroutines: 5 in 10 redeem a fresh code, 4 in 10 rotate one of the
// writer's own refresh families, 1 in 10 revokes a token. Every operation
// must succeed.
func writeMix(b *testing.B, s store.Store, writers, n int) {
	ctx, exp := context.Background(), time.Now().Add(time.Hour)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			fams := make([]string, 64)
			gens := make([]uint64, len(fams))
			for i := range fams {
				fams[i] = storeID()
			}
			for k := 0; ; k++ {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				var err error
				switch op := i % 10; {
				case op < 5:
					err = s.RedeemCode(ctx, storeID(), exp)
				case op < 9:
					f := k % len(fams)
					err = s.RotateRefresh(ctx, fams[f], gens[f], exp)
					gens[f]++
				default:
					err = s.RevokeToken(ctx, storeID(), exp)
				}
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStoreWriteMix: durable writes per second of each store with 1,
// 8 and 64 concurrent writers (the issuer's concurrent requests).
func BenchmarkStoreWriteMix(b *testing.B) {
	type impl struct {
		name string
		open func(b *testing.B) store.Store
	}
	impls := []impl{
		{"memory", func(b *testing.B) store.Store {
			s, err := memory.New()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{"file", func(b *testing.B) store.Store {
			s, err := file.Open(context.Background(), filepath.Join(b.TempDir(), "store", "issuer.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
	}
	if _, err := exec.LookPath("redis-server"); err == nil {
		impls = append(impls, impl{"redis-aof-always", func(b *testing.B) store.Store {
			srv := redistest.Start(b, "--appendonly", "yes", "--appendfsync", "always")
			s, err := redis.New(context.Background(), srv.URL, redis.WithPoolSize(64))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}})
	}
	for _, im := range impls {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("impl=%s/writers=%d", im.name, writers), func(b *testing.B) {
				s := im.open(b)
				b.ReportAllocs()
				b.ResetTimer()
				writeMix(b, s, writers, b.N)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			})
		}
	}
}
