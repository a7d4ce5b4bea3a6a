package bench

// The issuer's store write mix through the store.Store interface (SPEC §7):
// the durable file store beside the memory store (the floor: no I/O) and,
// when redis-server is installed, Redis with appendfsync always (the other
// durable choice). bench/storechoice chose the file store's library;
// this measures the store as the issuer uses it. On a machine whose disk
// others share, prefer the interleaved rounds of bench/storemix. Figures
// and the command are in docs/STORE.md.

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sealedtoken/issuer/bench/internal/storemix"
	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/file"
	"github.com/sealedtoken/issuer/pkg/store/memory"
	"github.com/sealedtoken/issuer/pkg/store/redis"
	"github.com/sealedtoken/issuer/pkg/store/redis/redistest"
)

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
				if err := storemix.Run(context.Background(), s, writers, b.N); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			})
		}
	}
}
