// Package storemix is the issuer's store write mix, shared by
// bench.BenchmarkStoreWriteMix and the interleaved command bench/storemix:
// per operation, 5 in 10 redeem a fresh code, 4 in 10 rotate one of the
// writer's own refresh families, 1 in 10 revoke a token (SPEC §7).
package storemix

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
)

// ID returns a fresh 22-character id, the size of the issuer's.
func ID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Run runs n operations of the mix on s from writers goroutines and
// returns the first error; every operation must succeed.
func Run(ctx context.Context, s store.Store, writers, n int) error {
	exp := time.Now().Add(time.Hour)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			fams := make([]string, 64)
			gens := make([]uint64, len(fams))
			for i := range fams {
				fams[i] = ID()
			}
			for k := 0; ; k++ {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				var err error
				switch op := i % 10; {
				case op < 5:
					err = s.RedeemCode(ctx, ID(), exp)
				case op < 9:
					f := k % len(fams)
					err = s.RotateRefresh(ctx, fams[f], gens[f], exp)
					gens[f]++
				default:
					err = s.RevokeToken(ctx, ID(), exp)
				}
				if err != nil {
					failed.CompareAndSwap(nil, fmt.Errorf("store write mix: %w", err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	return nil
}
