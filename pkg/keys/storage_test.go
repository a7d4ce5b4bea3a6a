package keys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// memStorage is a hand-written Storage fake: documents in a map with a
// version counter, as a Redis storage keeps them. beforeWrite, if set, runs
// inside Write before the compare-and-set, to let a test interleave
// another writer.
type memStorage struct {
	mu          sync.Mutex
	docs        map[string]memDoc
	writes      int
	beforeWrite func(name string)
}

type memDoc struct {
	data []byte
	ver  int
}

// rev is the document's revision: its version and a hash of its content,
// as the Redis storage makes it, so a ring created anew after a loss does
// not repeat the revision of the one lost.
func (d memDoc) rev() Revision {
	h := sha256.Sum256(d.data)
	return Revision(strconv.Itoa(d.ver) + "." + hex.EncodeToString(h[:8]))
}

func newMemStorage() *memStorage { return &memStorage{docs: map[string]memDoc{}} }

func (s *memStorage) Read(ctx context.Context, name string, since Revision) ([]byte, Revision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[name]
	if !ok {
		return nil, "", fmt.Errorf("mem: %q: %w", name, fs.ErrNotExist)
	}
	rev := d.rev()
	if rev == since {
		return nil, since, nil
	}
	return append([]byte(nil), d.data...), rev, nil
}

func (s *memStorage) Write(ctx context.Context, name string, data []byte, prev Revision) (Revision, error) {
	if s.beforeWrite != nil {
		f := s.beforeWrite
		s.beforeWrite = nil
		f(name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[name]
	switch {
	case prev == "" && ok:
		return "", ErrExist
	case prev != "" && (!ok || d.rev() != prev):
		return "", ErrConflict
	}
	d = memDoc{data: append([]byte(nil), data...), ver: d.ver + 1}
	s.docs[name] = d
	s.writes++
	return d.rev(), nil
}

func (s *memStorage) Location(name string) string { return "mem:" + name }

// RestoreLostRings makes the fake a Restorer, as the Redis storage is.
func (s *memStorage) RestoreLostRings() bool { return true }

// corrupt replaces a document with data, as a hand edit or a broken
// writer would, bumping its version.
func (s *memStorage) corrupt(name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[name]
	s.docs[name] = memDoc{data: data, ver: d.ver + 1}
}

var (
	_ Storage  = (*memStorage)(nil)
	_ Restorer = (*memStorage)(nil)
)

func TestDirStorage(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "keys")
	st, err := NewDirStorage(dir)
	require.NoError(t, err)
	name := "https://api.example.com"

	_, _, err = st.Read(ctx, name, "")
	require.ErrorIs(t, err, fs.ErrNotExist)

	r1, err := st.Write(ctx, name, []byte("one"), "")
	require.NoError(t, err)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	fi, err = os.Stat(st.Location(name))
	require.NoError(t, err)
	require.Equal(t, FileMode, fi.Mode().Perm())

	_, err = st.Write(ctx, name, []byte("again"), "")
	require.ErrorIs(t, err, ErrExist, "create-only")

	data, rev, err := st.Read(ctx, name, "")
	require.NoError(t, err)
	require.Equal(t, "one", string(data))
	require.Equal(t, r1, rev)
	data, rev, err = st.Read(ctx, name, r1)
	require.NoError(t, err)
	require.Nil(t, data, "unchanged: nothing read")
	require.Equal(t, r1, rev)

	r2, err := st.Write(ctx, name, []byte("two"), r1)
	require.NoError(t, err)
	require.NotEqual(t, r1, r2)

	// A writer that read "one" is stale now: refused, the file keeps "two".
	_, err = st.Write(ctx, name, []byte("stale"), r1)
	require.ErrorIs(t, err, ErrConflict)
	got, err := os.ReadFile(st.Location(name))
	require.NoError(t, err)
	require.Equal(t, "two", string(got))

	// Another process replaces the file: the next read sees it.
	require.NoError(t, os.WriteFile(st.Location(name), []byte("three"), 0o600))
	data, rev, err = st.Read(ctx, name, r2)
	require.NoError(t, err)
	require.Equal(t, "three", string(data))
	_, err = st.Write(ctx, name, []byte("four"), r2)
	require.ErrorIs(t, err, ErrConflict, "written from a revision another process replaced")
	_, err = st.Write(ctx, name, []byte("four"), rev)
	require.NoError(t, err)

	names, err := st.List(ctx)
	require.Error(t, err, "\"four\" is no ring file")
	require.Empty(t, names)
}

// TestManagerStaleWriteRefused: the lease holder plans from the ring it
// read; another writer (a former lease holder, issuer keys rotate) writes
// before it: its write is refused, it keeps its set, and its next Tick
// adopts the newer ring instead of overwriting it.
func TestManagerStaleWriteRefused(t *testing.T) {
	ctx := context.Background()
	st := newMemStorage()
	clock := newFakeClock(t0)
	newM := func() *Manager {
		m, err := NewManagerWithStorage(st, testPolicy, WithClock(clock.Now), WithKEK(testKEK))
		require.NoError(t, err)
		return m
	}
	a, b := newM(), newM()
	_, err := a.Init(ctx, "r")
	require.NoError(t, err)
	require.NoError(t, b.Open(ctx, "r"))
	ra, _ := a.Ring("r")
	rb, _ := b.Ring("r")
	before := ra.Load()

	// When a's Tick is about to write, b forces a rotation first.
	clock.Advance(testPolicy.RotateEvery - testPolicy.Propagation)
	st.beforeWrite = func(string) { require.NoError(t, b.Rotate(ctx, "r")) }
	changed, err := a.Tick(ctx)
	require.ErrorIs(t, err, ErrConflict)
	require.Empty(t, changed)
	require.Same(t, before, ra.Load(), "a refused write swaps nothing in")
	newer := rb.Load()
	require.False(t, newer.equal(before))

	// a's next Tick reads b's ring and keeps it (nothing left to plan).
	_, err = a.Tick(ctx)
	require.NoError(t, err)
	require.True(t, ra.Load().equal(newer), "a adopted the newer ring")
	data, _, err := st.Read(ctx, "r", "")
	require.NoError(t, err)
	stored, err := Parse(data, WithKEK(testKEK))
	require.NoError(t, err)
	require.True(t, stored.equal(newer), "the newer ring was not overwritten")
}

// TestManagerCorruptKeepsLastGood: a corrupt document is refused by every
// Manager, each keeps its last good set, and the rotating one does not
// overwrite it (a human must look at it); once it is fixed, they follow.
func TestManagerCorruptKeepsLastGood(t *testing.T) {
	ctx := context.Background()
	st := newMemStorage()
	clock := newFakeClock(t0)
	a, err := NewManagerWithStorage(st, testPolicy, WithClock(clock.Now), WithKEK(testKEK))
	require.NoError(t, err)
	b, err := NewManagerWithStorage(st, testPolicy, WithClock(clock.Now), WithKEK(testKEK))
	require.NoError(t, err)
	_, err = a.Init(ctx, "r")
	require.NoError(t, err)
	require.NoError(t, b.Open(ctx, "r"))
	ra, _ := a.Ring("r")
	rb, _ := b.Ring("r")
	good := rb.Load()
	goodData, _, err := st.Read(ctx, "r", "")
	require.NoError(t, err)

	for _, bad := range [][]byte{goodData[:len(goodData)/2], []byte(`{"version":1,"ring":"r","keys":[]}`), []byte("garbage")} {
		st.corrupt("r", bad)
		writes := st.writes
		require.Error(t, b.Reload(ctx))
		require.Same(t, good, rb.Load(), "the follower keeps its last good ring")
		clock.Advance(testPolicy.RotateEvery)
		_, err := a.Tick(ctx)
		require.Error(t, err)
		require.Equal(t, writes, st.writes, "a corrupt ring is never overwritten")
		require.NotNil(t, ra.Load())
		clock.Advance(-testPolicy.RotateEvery)
	}
	st.corrupt("r", goodData)
	require.NoError(t, b.Reload(ctx))
	require.True(t, rb.Load().equal(good))
	_, err = a.Tick(ctx)
	require.NoError(t, err)
}

// TestManagerRestoresLostRing: a ring that vanished from storage while the
// lease holder holds it is written back at its next Tick, so tokens sealed
// with its keys keep opening and followers keep following; one that
// another process created meanwhile is not overwritten.
func TestManagerRestoresLostRing(t *testing.T) {
	ctx := context.Background()
	st := newMemStorage()
	clock := newFakeClock(t0)
	a, err := NewManagerWithStorage(st, testPolicy, WithClock(clock.Now), WithKEK(testKEK))
	require.NoError(t, err)
	b, err := NewManagerWithStorage(st, testPolicy, WithClock(clock.Now), WithKEK(testKEK))
	require.NoError(t, err)
	_, err = a.Init(ctx, "r")
	require.NoError(t, err)
	require.NoError(t, b.Open(ctx, "r"))
	ra, _ := a.Ring("r")
	rb, _ := b.Ring("r")
	held, followed := ra.Load(), rb.Load()

	st.mu.Lock()
	delete(st.docs, "r")
	st.mu.Unlock()
	require.ErrorIs(t, b.Reload(ctx), fs.ErrNotExist)
	require.Same(t, followed, rb.Load(), "the follower keeps its ring meanwhile")
	changed, err := a.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"r"}, changed)
	require.NoError(t, b.Reload(ctx))
	require.True(t, rb.Load().equal(held), "the restored ring is the one held")
	data, _, err := st.Read(ctx, "r", "")
	require.NoError(t, err)
	stored, err := Parse(data, WithKEK(testKEK))
	require.NoError(t, err)
	require.True(t, stored.equal(held))

	// Lost again, and another process creates a fresh ring first: the
	// lease holder's restore is refused and it adopts that ring.
	st.mu.Lock()
	delete(st.docs, "r")
	st.mu.Unlock()
	c, err := NewManagerWithStorage(st, testPolicy, WithClock(clock.Now), WithKEK(testKEK))
	require.NoError(t, err)
	_, err = c.Init(ctx, "r")
	require.NoError(t, err)
	rc, _ := c.Ring("r")
	_, err = a.Tick(ctx)
	require.NoError(t, err, "the ring exists again: nothing to restore")
	require.True(t, ra.Load().equal(rc.Load()))
}
