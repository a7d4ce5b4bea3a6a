package redis

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/redis/redistest"
)

var ringKEK = bytes.Repeat([]byte{0x5a}, keys.KEKSize)

var ringPolicy = keys.Policy{RotateEvery: time.Hour, Propagation: 10 * time.Minute, MaxTokenTTL: 15 * time.Minute}

// testClock is a clock the tests advance by hand; safe for concurrent use.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestRingStorage(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.URL)
	r := s.Rings()
	ctx := t.Context()
	const name = "https://api.example.com"

	_, _, err := r.Read(ctx, name, "")
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, _, err = r.Read(ctx, name, "3")
	require.ErrorIs(t, err, fs.ErrNotExist)

	v1, err := r.Write(ctx, name, []byte("one"), "")
	require.NoError(t, err)
	require.Regexp(t, `^1\.[0-9a-f]{16}$`, v1)
	_, err = r.Write(ctx, name, []byte("again"), "")
	require.ErrorIs(t, err, keys.ErrExist, "create-only")

	data, rev, err := r.Read(ctx, name, "")
	require.NoError(t, err)
	require.Equal(t, "one", string(data))
	require.Equal(t, v1, rev)
	data, rev, err = r.Read(ctx, name, v1)
	require.NoError(t, err)
	require.Nil(t, data, "unchanged: the document is not read")
	require.Equal(t, v1, rev)

	v2, err := r.Write(ctx, name, []byte("two"), v1)
	require.NoError(t, err)
	require.Regexp(t, `^2\.[0-9a-f]{16}$`, v2)

	// A writer that read version 1 is stale: refused, version 2 stays.
	_, err = r.Write(ctx, name, []byte("stale"), v1)
	require.ErrorIs(t, err, keys.ErrConflict)
	data, rev, err = r.Read(ctx, name, v1)
	require.NoError(t, err)
	require.Equal(t, "two", string(data))
	require.Equal(t, v2, rev)

	// A deleted ring cannot be written over from a version.
	require.NoError(t, raw(t, srv.URL).Del(ctx, DefaultPrefix+"keyring:"+name).Err())
	_, err = r.Write(ctx, name, []byte("three"), v2)
	require.ErrorIs(t, err, keys.ErrConflict)
	require.Contains(t, r.Location(name), "issuer:keyring:https://api.example.com")

	// The key never expires. A ring created anew after a loss starts its
	// counter again, but its version differs from the lost ring's.
	v1b, err := r.Write(ctx, name, []byte("new"), "")
	require.NoError(t, err)
	require.Regexp(t, `^1\.`, v1b)
	require.NotEqual(t, v1, v1b)
	data, rev, err = r.Read(ctx, name, v1)
	require.NoError(t, err)
	require.Equal(t, "new", string(data), "a reader that saw the lost ring's version 1 reads the new ring")
	require.Equal(t, v1b, rev)
	ttl, err := raw(t, srv.URL).TTL(ctx, DefaultPrefix+"keyring:"+name).Result()
	require.NoError(t, err)
	require.Equal(t, time.Duration(-1), ttl)
}

// replica is one issuer replica's key rings on the shared Redis: its own
// connection, Manager, and lease holder name.
type replica struct {
	holder string
	store  *Store
	m      *keys.Manager
}

func newReplica(t *testing.T, url, holder string, clock *testClock, st func(*Store) keys.Storage) *replica {
	t.Helper()
	s := newStore(t, url)
	var storage keys.Storage = s.Rings()
	if st != nil {
		storage = st(s)
	}
	m, err := keys.NewManagerWithStorage(storage, ringPolicy, keys.WithClock(clock.Now), keys.WithKEK(ringKEK))
	require.NoError(t, err)
	return &replica{holder: holder, store: s, m: m}
}

// step is what the issuer's key loop does each interval: the lease holder
// plans and writes, the others reload.
func (r *replica) step(t *testing.T, ctx context.Context) bool {
	t.Helper()
	ok, err := r.store.AcquireLease(ctx, "keys/rotate", r.holder, time.Minute)
	require.NoError(t, err)
	if ok {
		_, err = r.m.Tick(ctx)
	} else {
		err = r.m.Reload(ctx)
	}
	require.NoError(t, err)
	return ok
}

// TestRingsFollowUnderLease is SPEC §9 "Replicas without a shared volume":
// two Managers on one Redis; the lease holder rotates the rings through
// several rotations, the other follows every change, and when the lease
// moves the roles swap. Every key a replica seals with is one the other
// already holds.
func TestRingsFollowUnderLease(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	clock := newTestClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	a := newReplica(t, srv.URL, "replica-a", clock, nil)
	b := newReplica(t, srv.URL, "replica-b", clock, nil)
	names := []string{"https://api.example.com", keys.InternalRing}

	// Both start at once; create-only writes make them share one ring.
	_, err := a.m.Init(ctx, names...)
	require.NoError(t, err)
	created, err := b.m.Init(ctx, names...)
	require.NoError(t, err)
	require.Empty(t, created, "b found a's rings")

	seen := map[string]bool{}
	order := []*replica{a, b} // the first to step takes a free lease
	leaders := map[string]bool{}
	var leader, follower *replica
	for i := 0; i < 4*int(ringPolicy.RotateEvery/time.Minute); i++ {
		if i == 2*int(ringPolicy.RotateEvery/time.Minute) {
			// The lease moves: the leader releases it (a shutdown) and the
			// other replica takes it at its next step.
			require.NoError(t, leader.store.ReleaseLease(ctx, "keys/rotate", leader.holder))
			order = []*replica{follower, leader}
		}
		leader, follower = nil, nil
		for _, r := range order {
			if r.step(t, ctx) {
				leader = r
			} else {
				follower = r
			}
		}
		require.NotNil(t, leader, "someone holds the lease")
		require.NotNil(t, follower, "only one holds it")
		leaders[leader.holder] = true
		require.NoError(t, follower.m.Reload(ctx))
		for _, n := range names {
			lr, _ := leader.m.Ring(n)
			fr, _ := follower.m.Ring(n)
			now := clock.Now()
			lk, err := lr.Load().Sealing(now)
			require.NoError(t, err)
			seen[lk.ID] = true
			_, ok := fr.Load().Opening(lk.ID, now)
			require.True(t, ok, "follower cannot open the leader's sealing key %s at step %d", lk.ID, i)
			fk, err := fr.Load().Sealing(now)
			require.NoError(t, err)
			require.Equal(t, lk.ID, fk.ID, "both seal with the same key")
		}
		clock.Advance(time.Minute)
	}
	require.Len(t, leaders, 2, "the lease moved and the other replica rotated")
	require.GreaterOrEqual(t, len(seen), 2*4, "several rotations of each ring")
}

// hookStorage runs before once, inside the next Write, before the
// compare-and-set.
type hookStorage struct {
	*RingStorage
	before func()
}

func (h *hookStorage) Write(ctx context.Context, name string, data []byte, prev keys.Revision) (keys.Revision, error) {
	if f := h.before; f != nil {
		h.before = nil
		f()
	}
	return h.RingStorage.Write(ctx, name, data, prev)
}

// TestRingsStaleWriteRefused: a replica that planned from an older ring
// (it lost the lease while planning) cannot overwrite the ring another
// replica wrote; it keeps its set and adopts the newer ring next time.
func TestRingsStaleWriteRefused(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	clock := newTestClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	var hook *hookStorage
	a := newReplica(t, srv.URL, "a", clock, func(s *Store) keys.Storage {
		hook = &hookStorage{RingStorage: s.Rings()}
		return hook
	})
	b := newReplica(t, srv.URL, "b", clock, nil)
	const name = "https://api.example.com"
	_, err := a.m.Init(ctx, name)
	require.NoError(t, err)
	require.NoError(t, b.m.Open(ctx, name))
	ra, _ := a.m.Ring(name)
	rb, _ := b.m.Ring(name)
	old := ra.Load()

	clock.Advance(ringPolicy.RotateEvery - ringPolicy.Propagation) // a successor is due
	hook.before = func() { require.NoError(t, b.m.Rotate(ctx, name)) }
	_, err = a.m.Tick(ctx)
	require.ErrorIs(t, err, keys.ErrConflict)
	require.Same(t, old, ra.Load(), "the refused write swapped nothing in")

	newer := rb.Load()
	data, _, err := b.store.Rings().Read(ctx, name, "")
	require.NoError(t, err)
	stored, err := keys.Parse(data, keys.WithKEK(ringKEK))
	require.NoError(t, err)
	require.Equal(t, kidsOf(newer), kidsOf(stored), "b's ring is what Redis holds")

	_, err = a.m.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, kidsOf(newer), kidsOf(ra.Load()), "a adopted b's ring")
}

func kidsOf(s *keys.Set) []string {
	var ids []string
	for _, k := range s.Keys() {
		ids = append(ids, k.ID)
	}
	return ids
}

// TestRingsCorruptValueRefused: a value that is not a ring (garbage, a
// truncated document, a version without data, a ring in clear) is refused
// by every replica, which keep their last good ring; the lease holder
// never overwrites it; once repaired, both follow again.
func TestRingsCorruptValueRefused(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	clock := newTestClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	a := newReplica(t, srv.URL, "a", clock, nil)
	b := newReplica(t, srv.URL, "b", clock, nil)
	const name = "https://api.example.com"
	_, err := a.m.Init(ctx, name)
	require.NoError(t, err)
	require.NoError(t, b.m.Open(ctx, name))
	rb, _ := b.m.Ring(name)
	good := rb.Load()
	rc := raw(t, srv.URL)
	key := DefaultPrefix + "keyring:" + name
	goodData, err := rc.HGet(ctx, key, "data").Result()
	require.NoError(t, err)
	inClear, err := keys.Marshal(good)
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		corrupt func()
	}{
		{"garbage", func() { rc.HSet(ctx, key, "data", "garbage") }},
		{"truncated", func() { rc.HSet(ctx, key, "data", goodData[:len(goodData)/2]) }},
		{"version without data", func() { rc.HDel(ctx, key, "data") }},
		{"ring in clear where a KEK is required", func() { rc.HSet(ctx, key, "data", inClear) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.corrupt()
			require.NoError(t, rc.HSet(ctx, key, "rev", "corrupt-"+tc.name).Err())
			before, err := rc.HGetAll(ctx, key).Result()
			require.NoError(t, err)

			require.Error(t, b.m.Reload(ctx))
			require.Same(t, good, rb.Load(), "the follower keeps its last good ring")
			clock.Advance(ringPolicy.RotateEvery)
			_, err = a.m.Tick(ctx)
			require.Error(t, err, "the lease holder cannot plan from a corrupt ring")
			clock.Advance(-ringPolicy.RotateEvery)
			after, err := rc.HGetAll(ctx, key).Result()
			require.NoError(t, err)
			require.Equal(t, before, after, "a corrupt ring is never overwritten")
			_, err = b.m.Tick(ctx)
			require.Error(t, err)
		})
	}
	require.NoError(t, rc.HSet(ctx, key, "data", goodData, "rev", "repaired").Err())
	require.NoError(t, b.m.Reload(ctx))
	require.Equal(t, kidsOf(good), kidsOf(rb.Load()))
}

// TestRingsUnavailable: with Redis down a replica keeps serving with its
// last good rings; reads report store.ErrUnavailable.
func TestRingsUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	clock := newTestClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	a := newReplica(t, srv.URL, "a", clock, nil)
	const name = "https://api.example.com"
	_, err := a.m.Init(ctx, name)
	require.NoError(t, err)
	ra, _ := a.m.Ring(name)
	good := ra.Load()
	srv.Stop()
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err = a.m.Reload(cctx)
	require.True(t, errors.Is(err, store.ErrUnavailable), "got %v", err)
	require.Same(t, good, ra.Load())
}

// TestRingsRestoredAfterLoss: Redis restarted without persistence (here:
// the ring's key deleted) loses a ring the replicas still hold; the lease
// holder writes it back at its next tick, so tokens its keys sealed keep
// opening everywhere, and the follower picks the same ring up again.
func TestRingsRestoredAfterLoss(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	clock := newTestClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	a := newReplica(t, srv.URL, "a", clock, nil)
	b := newReplica(t, srv.URL, "b", clock, nil)
	const name = "https://api.example.com"
	_, err := a.m.Init(ctx, name)
	require.NoError(t, err)
	require.NoError(t, b.m.Open(ctx, name))
	ra, _ := a.m.Ring(name)
	rb, _ := b.m.Ring(name)
	held := kidsOf(ra.Load())

	require.NoError(t, raw(t, srv.URL).FlushDB(ctx).Err())
	require.ErrorIs(t, b.m.Reload(ctx), fs.ErrNotExist)
	require.Equal(t, held, kidsOf(rb.Load()), "the follower keeps its ring")
	require.True(t, a.step(t, ctx), "a takes the (lost) lease again and restores")
	require.False(t, b.step(t, ctx))
	require.Equal(t, held, kidsOf(rb.Load()))
	data, _, err := b.store.Rings().Read(ctx, name, "")
	require.NoError(t, err)
	stored, err := keys.Parse(data, keys.WithKEK(ringKEK))
	require.NoError(t, err)
	require.Equal(t, held, kidsOf(stored), "Redis holds the ring again")
}
