package keys

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFileName(t *testing.T) {
	tests := []struct {
		name string
		ring string
		slug string
	}{
		{"audience URL", "https://api.example.com", "https-api.example.com"},
		{"internal ring", InternalRing, "internal"},
		{"uppercase is lowered", "HTTPS://API.Example.COM/v1/", "https-api.example.com-v1"},
		{"path traversal is flattened", "../../etc/passwd", "etc-passwd"},
		{"only punctuation", "://", "ring"},
		{"leading dots trimmed: never a hidden file", "...x", "x"},
		{"spaces and quotes", `my "api" v2`, "my-api-v2"},
		{"long names keep 48 bytes", "https://" + strings.Repeat("a", 100) + ".example.com", "https-" + strings.Repeat("a", 42)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := FileName(tt.ring)
			require.True(t, strings.HasPrefix(fn, tt.slug+"-"), fn)
			require.True(t, strings.HasSuffix(fn, ".json"))
			require.Len(t, fn, len(tt.slug)+1+12+len(".json"))
			require.NotContains(t, fn, "/")
			require.False(t, strings.HasPrefix(fn, "."))
			require.Equal(t, fn, filepath.Base(fn))
		})
	}
	// Stable across releases: files written by one version are found by the next.
	require.Equal(t, "https-api.example.com-137b9e5e4e13.json", FileName("https://api.example.com"))
	require.Equal(t, "internal-3bed2cb3a3ac.json", FileName(InternalRing))
	require.NotEqual(t, FileName("https://API.example.com"), FileName("https://api.example.com"), "case-different names get different files")
	require.NotEqual(t, FileName("a/b"), FileName("a?b"))
}

// fakeClock is a clock tests advance by hand. Safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newTestManager(t *testing.T, dir string, clock *fakeClock, opts ...Option) *Manager {
	t.Helper()
	m, err := NewManager(dir, testPolicy, append([]Option{WithClock(clock.Now)}, opts...)...)
	require.NoError(t, err)
	return m
}

func TestManagerInitOpen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "keys")
	clock := newFakeClock(t0)
	m := newTestManager(t, dir, clock)
	names := []string{"https://api.example.com", InternalRing}

	created, err := m.Init(ctx, names...)
	require.NoError(t, err)
	require.Equal(t, names, created)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	for _, name := range names {
		fi, err := os.Stat(m.Path(name))
		require.NoError(t, err)
		require.Equal(t, FileMode, fi.Mode().Perm())
		r, ok := m.Ring(name)
		require.True(t, ok)
		k, err := r.Load().Sealing(clock.Now())
		require.NoError(t, err)
		onDisk, err := ReadFile(ctx, m.Path(name), WithRingName(name))
		require.NoError(t, err)
		requireSameSet(t, r.Load(), onDisk)
		require.Equal(t, k.ID, onDisk.Keys()[0].ID)
	}
	require.Equal(t, []string{"https://api.example.com", InternalRing}, m.Names())
	require.Len(t, m.List(), 2)

	// Init again: nothing created, nothing replaced.
	before, err := os.ReadFile(m.Path(InternalRing))
	require.NoError(t, err)
	m2 := newTestManager(t, dir, clock)
	created, err = m2.Init(ctx, append(names, "https://new.example.com")...)
	require.NoError(t, err)
	require.Equal(t, []string{"https://new.example.com"}, created)
	after, err := os.ReadFile(m2.Path(InternalRing))
	require.NoError(t, err)
	require.Equal(t, before, after)

	// Open by name and by discovery.
	m3 := newTestManager(t, dir, clock)
	require.NoError(t, m3.Open(ctx, InternalRing))
	require.Equal(t, []string{InternalRing}, m3.Names())
	err = m3.Open(ctx, "https://missing.example.com")
	require.ErrorIs(t, err, fs.ErrNotExist)
	m4 := newTestManager(t, dir, clock)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".ring.json.tmp-123"), []byte("partial"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README"), []byte("not a ring"), 0o600))
	require.NoError(t, m4.Open(ctx))
	require.Equal(t, []string{"https://api.example.com", "https://new.example.com", InternalRing}, m4.Names())

	// A ring file under another ring's name is refused by discovery.
	data, err := os.ReadFile(m.Path(InternalRing))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "renamed.json"), data, 0o600))
	err = newTestManager(t, dir, clock).Open(ctx)
	require.ErrorIs(t, err, ErrFileName)

	// A corrupt file is not replaced by Init.
	require.NoError(t, os.WriteFile(m.Path("https://broken.example.com"), []byte(`{"version":1`), 0o600))
	_, err = newTestManager(t, dir, clock).Init(ctx, "https://broken.example.com")
	require.ErrorIs(t, err, ErrFormat)
	got, err := os.ReadFile(m.Path("https://broken.example.com"))
	require.NoError(t, err)
	require.Equal(t, `{"version":1`, string(got))

	_, err = NewManager("", testPolicy)
	require.Error(t, err)
	_, err = NewManager(dir, Policy{})
	require.ErrorIs(t, err, ErrPolicy)
	_, err = NewManager(dir, testPolicy, WithKEK([]byte("short")))
	require.ErrorIs(t, err, ErrKEKSize)
}

func TestManagerInitRace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newFakeClock(t0)
	const n = 8
	ms := make([]*Manager, n)
	var wg sync.WaitGroup
	for i := range ms {
		ms[i] = newTestManager(t, dir, clock)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ms[i].Init(ctx, "r")
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	first, _ := ms[0].Ring("r")
	for _, m := range ms[1:] {
		r, _ := m.Ring("r")
		requireSameSet(t, first.Load(), r.Load())
	}
}

func TestManagerTickAndReload(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newFakeClock(t0)
	var reloaded atomic.Int32
	leader := newTestManager(t, dir, clock)
	follower := newTestManager(t, dir, clock, WithOnReload(func(*Set) { reloaded.Add(1) }))
	_, err := leader.Init(ctx, "r")
	require.NoError(t, err)
	require.NoError(t, follower.Open(ctx, "r"))
	lr, _ := leader.Ring("r")
	fr, _ := follower.Ring("r")

	changed, err := leader.Tick(ctx)
	require.NoError(t, err)
	require.Empty(t, changed, "nothing due")

	clock.Advance(22 * time.Hour)
	changed, err = leader.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"r"}, changed)
	require.Equal(t, 2, lr.Load().Len(), "successor added")
	onDisk, err := ReadFile(ctx, leader.Path("r"))
	require.NoError(t, err)
	requireSameSet(t, lr.Load(), onDisk)

	// The follower picks it up, keeping its own key objects.
	active, _ := fr.Load().Sealing(clock.Now())
	active.CountSeal()
	require.Equal(t, 1, fr.Load().Len())
	require.NoError(t, follower.Reload(ctx))
	require.Equal(t, int32(1), reloaded.Load())
	requireSameSet(t, lr.Load(), fr.Load())
	same, _ := fr.Load().Lookup(active.ID)
	require.Same(t, active, same, "unchanged keys keep their objects and counters")
	require.NoError(t, follower.Reload(ctx))
	require.Equal(t, int32(1), reloaded.Load(), "unchanged file: no reload")

	// The lease moves: the follower ticks next, starting from the file.
	clock.Advance(3 * time.Hour)
	_, err = follower.Tick(ctx)
	require.NoError(t, err)
	require.NoError(t, leader.Reload(ctx))
	requireSameSet(t, fr.Load(), lr.Load())

	// Forced rotation.
	before, _ := lr.Load().Sealing(clock.Now())
	require.NoError(t, leader.Rotate(ctx, "r"))
	pending := lr.Load().Keys()[lr.Load().Len()-1]
	require.Equal(t, StatePending, pending.State(clock.Now()))
	require.Equal(t, clock.Now().Add(time.Hour), pending.Activates)
	still, _ := lr.Load().Sealing(clock.Now())
	require.Equal(t, before.ID, still.ID, "the active key keeps sealing during propagation")
	require.ErrorIs(t, leader.Rotate(ctx, "nope"), ErrNotOpen)
	require.NoError(t, leader.Rotate(ctx))
}

func TestManagerNeverOverwritesBadFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newFakeClock(t0)
	m := newTestManager(t, dir, clock)
	_, err := m.Init(ctx, "r")
	require.NoError(t, err)
	r, _ := m.Ring("r")
	good := r.Load()
	path := m.Path("r")
	valid, err := os.ReadFile(path)
	require.NoError(t, err)

	// Someone truncates the file; a rotation falls due.
	require.NoError(t, os.WriteFile(path, valid[:len(valid)/2], 0o600))
	clock.Advance(22 * time.Hour)
	for range 2 {
		changed, err := m.Tick(ctx)
		require.ErrorIs(t, err, ErrFormat, "reported at every tick while the file is bad")
		require.Empty(t, changed)
		require.Same(t, good, r.Load(), "last good set kept")
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, valid[:len(valid)/2], got, "bad file not overwritten")
	}
	require.ErrorIs(t, m.Reload(ctx), ErrFormat)

	// Repaired: rotation resumes.
	require.NoError(t, os.WriteFile(path, valid, 0o600))
	changed, err := m.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"r"}, changed)

	// Missing file: reported, not recreated.
	require.NoError(t, os.Remove(path))
	clock.Advance(25 * time.Hour)
	_, err = m.Tick(ctx)
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = os.Stat(path)
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestManagerMemoryFollowsDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newFakeClock(t0)
	var failing atomic.Bool
	injected := errors.New("disk full")
	m := newTestManager(t, dir, clock, withFault(func(s writeStep) error {
		if failing.Load() && s == stepWrite {
			return injected
		}
		return nil
	}))
	_, err := m.Init(ctx, "r")
	require.NoError(t, err)
	r, _ := m.Ring("r")
	before := r.Load()
	failing.Store(true)
	clock.Advance(22 * time.Hour)
	_, err = m.Tick(ctx)
	require.ErrorIs(t, err, injected)
	require.Same(t, before, r.Load(), "a key that is not on disk is never used")
	require.ErrorIs(t, m.Rotate(ctx, "r"), injected)
	require.Same(t, before, r.Load())
	failing.Store(false)
	changed, err := m.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"r"}, changed)
}

func TestManagerKEK(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newFakeClock(t0)
	m := newTestManager(t, dir, clock, WithKEK(testKEK))
	_, err := m.Init(ctx, "r")
	require.NoError(t, err)
	data, err := os.ReadFile(m.Path("r"))
	require.NoError(t, err)
	require.Contains(t, string(data), `"jwe"`)
	require.NotContains(t, string(data), `"jwk"`)
	require.ErrorIs(t, newTestManager(t, dir, clock).Open(ctx, "r"), ErrKEKRequired)
	require.ErrorIs(t, newTestManager(t, dir, clock, WithKEK(make([]byte, KEKSize))).Open(ctx, "r"), ErrWrongKEK)
	require.NoError(t, newTestManager(t, dir, clock, WithKEK(testKEK)).Open(ctx, "r"))
}

func TestManagerRunFollow(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock(t0)
	errs := make(chan error, 100)
	m := newTestManager(t, dir, clock, WithOnError(func(err error) { errs <- err }))
	_, err := m.Init(context.Background(), "r")
	require.NoError(t, err)
	clock.Advance(22 * time.Hour)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx, time.Millisecond) }()
	r, _ := m.Ring("r")
	require.Eventually(t, func() bool { return r.Load().Len() == 2 }, 5*time.Second, time.Millisecond)

	// Errors reach OnError and the loop goes on.
	require.NoError(t, os.WriteFile(m.Path("r"), []byte("garbage"), 0o600))
	select {
	case err := <-errs:
		require.ErrorIs(t, err, ErrFormat)
	case <-time.After(5 * time.Second):
		t.Fatal("no error reported")
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- m.Follow(ctx, time.Millisecond) }()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Error(t, m.Run(context.Background(), 0))
}
