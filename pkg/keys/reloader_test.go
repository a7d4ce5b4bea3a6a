package keys

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReloaderCheck(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ring.json")
	set := sampleSet(t)
	require.NoError(t, WriteFile(ctx, path, set))
	var reloads []*Set
	r, err := NewReloader(ctx, path, WithOnReload(func(s *Set) { reloads = append(reloads, s) }))
	require.NoError(t, err)
	require.Equal(t, path, r.Path())
	ring := r.Ring()
	requireSameSet(t, set, ring.Load())

	changed, err := r.Check(ctx)
	require.NoError(t, err)
	require.False(t, changed)

	// Rewriting identical content is no change.
	require.NoError(t, WriteFile(ctx, path, set))
	changed, err = r.Check(ctx)
	require.NoError(t, err)
	require.False(t, changed)
	require.Empty(t, reloads)

	// A new key: swapped in, old keys keep their objects.
	kept, _ := ring.Load().Lookup("k-active")
	kept.CountSeal()
	next := mustSet(t, set.Name(), append(set.Keys(), mustKey(t, "k-new", A256KW, 8, lc(0, 25*time.Hour, 49*time.Hour, 50*time.Hour)))...)
	require.NoError(t, WriteFile(ctx, path, next))
	changed, err = r.Check(ctx)
	require.NoError(t, err)
	require.True(t, changed)
	require.Len(t, reloads, 1)
	require.Same(t, ring.Load(), reloads[0])
	requireSameSet(t, next, ring.Load())
	same, _ := ring.Load().Lookup("k-active")
	require.Same(t, kept, same)
	require.Equal(t, uint64(1), same.Sealed())

	// A bad file: error once, last good set kept.
	good := ring.Load()
	require.NoError(t, os.WriteFile(path, []byte(`{"version":1,"ring":`), 0o600))
	changed, err = r.Check(ctx)
	require.False(t, changed)
	require.ErrorIs(t, err, ErrFormat)
	require.Contains(t, err.Error(), path)
	require.Same(t, good, ring.Load())
	changed, err = r.Check(ctx)
	require.NoError(t, err, "the same bad content is reported once")
	require.False(t, changed)

	// Another ring's file is refused when a name is expected: covered by
	// the options; here the file is repaired and reloaded.
	require.NoError(t, WriteFile(ctx, path, set))
	changed, err = r.Check(ctx)
	require.NoError(t, err)
	require.True(t, changed)
	requireSameSet(t, set, ring.Load())

	// Missing file: an error at every check, last good set kept.
	require.NoError(t, os.Remove(path))
	for range 2 {
		_, err = r.Check(ctx)
		require.ErrorIs(t, err, fs.ErrNotExist)
	}
	requireSameSet(t, set, ring.Load())
}

func TestNewReloader(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	set := sampleSet(t)
	ringPath := filepath.Join(dir, "ring.json")
	require.NoError(t, WriteFile(ctx, ringPath, set, WithKEK(testKEK)))
	jwksPath := filepath.Join(dir, "jwks.json")
	jwks, err := ExportJWKS(set, t0)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(jwksPath, jwks, 0o600))

	tests := []struct {
		name string
		path string
		opts []Option
		want error
	}{
		{"wrapped ring file", ringPath, []Option{WithKEK(testKEK), WithRingName(set.Name())}, nil},
		{"exported JWK Set", jwksPath, []Option{WithRingName(set.Name())}, nil},
		{"wrapped ring without KEK", ringPath, nil, ErrKEKRequired},
		{"ring of another name", ringPath, []Option{WithKEK(testKEK), WithRingName("other")}, ErrRingMismatch},
		{"missing file", filepath.Join(dir, "missing.json"), nil, fs.ErrNotExist},
		{"bad KEK size", ringPath, []Option{WithKEK([]byte{1})}, ErrKEKSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReloader(ctx, tt.path, tt.opts...)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				require.Nil(t, r)
				return
			}
			require.NoError(t, err)
			require.Equal(t, set.Name(), r.Ring().Load().Name())
			require.Equal(t, kids(set), kids(r.Ring().Load()))
		})
	}

	// WithRing keeps an existing Ring current, merging into its set.
	existing := NewRing(set)
	r, err := NewReloader(ctx, ringPath, WithKEK(testKEK), WithRing(existing))
	require.NoError(t, err)
	require.Same(t, existing, r.Ring())
	for _, k := range set.Keys() {
		got, _ := existing.Load().Lookup(k.ID)
		require.Same(t, k, got)
	}
}

func TestReloaderStartStop(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ring.json")
	set := sampleSet(t)
	require.NoError(t, WriteFile(ctx, path, set))

	var mu sync.Mutex
	var errs []error
	reloaded := make(chan *Set, 10)
	r, err := NewReloader(ctx, path,
		WithOnError(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }),
		WithOnReload(func(s *Set) { reloaded <- s }))
	require.NoError(t, err)

	base := runtime.NumGoroutine()
	require.NoError(t, r.Start(ctx, time.Millisecond))
	require.ErrorIs(t, r.Start(ctx, time.Millisecond), ErrRunning)
	require.Error(t, r.Start(ctx, 0))

	next := mustSet(t, set.Name(), mustKey(t, "k-only", A256KW, 5, lc(0, 0, time.Hour, 2*time.Hour)))
	require.NoError(t, WriteFile(ctx, path, next))
	select {
	case s := <-reloaded:
		requireSameSet(t, next, s)
	case <-time.After(5 * time.Second):
		t.Fatal("change not picked up")
	}

	// Errors are reported once per distinct error, polling goes on.
	require.NoError(t, writeAtomic(ctx, path, []byte("{}"), false, nil))
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(errs) == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, os.Remove(path))
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(errs) == 2 }, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	require.Len(t, errs, 2, "a missing file is reported once, not at every poll")
	require.ErrorIs(t, errs[0], ErrFormat)
	require.ErrorIs(t, errs[1], fs.ErrNotExist)
	mu.Unlock()
	requireSameSet(t, next, r.Ring().Load())

	r.Stop()
	r.Stop()
	requireGoroutines(t, base)

	// Restart after Stop; a cancelled context ends the loop too.
	cctx, cancel := context.WithCancel(ctx)
	require.NoError(t, r.Start(cctx, time.Millisecond))
	cancel()
	requireGoroutines(t, base)
	require.NoError(t, r.Start(ctx, time.Millisecond), "a loop ended by its context can be restarted")
	r.Stop()
	requireGoroutines(t, base)

	var never Reloader
	never.Stop() // Stop without Start is harmless
}

// requireGoroutines waits until the number of goroutines is back to base.
func requireGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutine leak: %d running, %d before:\n%s", runtime.NumGoroutine(), base, buf)
		}
		time.Sleep(time.Millisecond)
	}
}
