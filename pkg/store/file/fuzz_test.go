package file

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
)

var (
	fuzzBaseOnce sync.Once
	fuzzBase     []byte
	fuzzBaseErr  error
)

// fuzzNow is the fixed clock of the fuzz target, so that the base file's
// bytes, and so what an input damages, are the same in every run.
func fuzzNow() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }

// fuzzBaseFile returns the bytes of a small valid store file holding an
// entry of every table.
func fuzzBaseFile(t *testing.T) []byte {
	fuzzBaseOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fuzzbase-")
		if err != nil {
			fuzzBaseErr = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "issuer.db")
		s, err := Open(t.Context(), path, WithClock(fuzzNow), WithPurgeInterval(0))
		if err != nil {
			fuzzBaseErr = err
			return
		}
		ctx, h := t.Context(), fuzzNow().Add(time.Hour)
		errs := []error{
			s.RedeemCode(ctx, "code", h), s.RotateRefresh(ctx, "fam", 0, h), s.RevokeFamily(ctx, "fam2", h),
			s.RevokeToken(ctx, "jti", h), s.UseOnce(ctx, "ns", "k", h), s.PutRecord(ctx, "ns", "r", []byte("value"), h),
			s.AddStatusList(ctx, "list", h), s.SetStatus(ctx, "list", 3, h),
		}
		_, err = s.AcquireLease(ctx, "lease", "me", time.Hour)
		errs = append(errs, err, s.Close())
		if fuzzBaseErr = errors.Join(errs...); fuzzBaseErr == nil {
			fuzzBase, fuzzBaseErr = os.ReadFile(path)
		}
	})
	if fuzzBaseErr != nil {
		t.Fatal(fuzzBaseErr)
	}
	return fuzzBase
}

// FuzzOpen damages a valid store file (bytes overwritten at an offset,
// then optionally cut short) and opens it: Open must fail with ErrCorrupt
// or succeed, and a store that opens must answer every method without
// crashing, damage found later failing closed with ErrCorrupt (SPEC §8: a
// crash at any point leaves a readable store; a damaged one is refused,
// never started empty over).
func FuzzOpen(f *testing.F) {
	f.Add(uint32(0), []byte{}, uint32(0))                          // intact
	f.Add(uint32(16), []byte{0xff, 0xff, 0xff, 0xff}, uint32(0))   // first meta's magic
	f.Add(uint32(4096+40), []byte{1, 2, 3}, uint32(0))             // second meta
	f.Add(uint32(8192), []byte("garbage page header!"), uint32(0)) // a data page
	f.Add(uint32(0), []byte{}, uint32(9000))                       // cut short
	f.Add(uint32(5*4096+16), []byte{0xee, 0xee, 0xee}, uint32(0))  // inside a leaf
	f.Fuzz(fuzzBody)
}

func fuzzBody(t *testing.T, off uint32, patch []byte, cut uint32) {
	{
		b := append([]byte(nil), fuzzBaseFile(t)...)
		if len(patch) > 0 {
			o := int(off % uint32(len(b)))
			copy(b[o:], patch)
		}
		if cut > 0 && int(cut) < len(b) {
			b = b[:cut]
		}
		path := filepath.Join(t.TempDir(), "issuer.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(t.Context(), path, WithClock(fuzzNow), WithPurgeInterval(0), WithLockTimeout(time.Second))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open of a damaged file: %v, want ErrCorrupt", err)
			}
			return
		}
		defer s.Close()
		ctx, h := t.Context(), fuzzNow().Add(time.Hour)
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, store.ErrCodeReused) &&
				!errors.Is(err, store.ErrRefreshReused) && !errors.Is(err, store.ErrFamilyRevoked) &&
				!errors.Is(err, store.ErrReplay) && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s on an opened file: %v", what, err)
			}
		}
		check("RedeemCode", s.RedeemCode(ctx, "code", h))
		check("RotateRefresh", s.RotateRefresh(ctx, "fam", 1, h))
		check("RevokeFamily", s.RevokeFamily(ctx, "fam2", h))
		_, _, err = s.RefreshState(ctx, "fam")
		check("RefreshState", err)
		check("RevokeToken", s.RevokeToken(ctx, "jti", h))
		_, err = s.TokenRevoked(ctx, "jti")
		check("TokenRevoked", err)
		check("UseOnce", s.UseOnce(ctx, "ns", "k", h))
		_, err = s.GetRecord(ctx, "ns", "r")
		check("GetRecord", err)
		_, err = s.TakeRecord(ctx, "ns", "r")
		check("TakeRecord", err)
		_, err = s.StatusLists(ctx)
		check("StatusLists", err)
		check("SetStatus", s.SetStatus(ctx, "list", 4, h))
		_, err = s.StatusIndexes(ctx, "list")
		check("StatusIndexes", err)
		_, err = s.AcquireLease(ctx, "lease", "other", time.Hour)
		check("AcquireLease", err)
		_, err = s.Purge(ctx)
		check("Purge", err)
	}
}
