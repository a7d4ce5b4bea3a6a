package keys

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// t0 is the start of every simulated timeline.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testKEK is a fixed key-encryption key for tests.
var testKEK = bytes.Repeat([]byte{0x4b}, KEKSize)

// material returns deterministic 256-bit key material for seed.
func material(seed byte) []byte {
	m := make([]byte, KeySize)
	for i := range m {
		m[i] = seed ^ byte(i*7)
	}
	return m
}

// lc builds a lifecycle from offsets to t0.
func lc(created, activates, retires, expires time.Duration) Lifecycle {
	return Lifecycle{Created: t0.Add(created), Activates: t0.Add(activates), Retires: t0.Add(retires), Expires: t0.Add(expires)}
}

func mustKey(t testing.TB, id string, alg Alg, seed byte, l Lifecycle) *Key {
	t.Helper()
	k, err := NewKey(id, alg, material(seed), l)
	require.NoError(t, err)
	return k
}

func mustSet(t testing.TB, name string, keys ...*Key) *Set {
	t.Helper()
	s, err := NewSet(name, keys...)
	require.NoError(t, err)
	return s
}

// sampleSet is a ring with one retired, one active and one pending key.
func sampleSet(t testing.TB) *Set {
	t.Helper()
	return mustSet(t, "https://api.example.com",
		mustKey(t, "k-retired", A256KW, 1, lc(-48*time.Hour, -47*time.Hour, -23*time.Hour, 30*time.Minute)),
		mustKey(t, "k-active", A256KW, 2, lc(-24*time.Hour, -23*time.Hour, time.Hour, time.Hour+30*time.Minute)),
		mustKey(t, "k-pending", Direct, 3, lc(-time.Hour, time.Hour, 25*time.Hour, 25*time.Hour+30*time.Minute)),
	)
}

// requireSameSet fails unless a and b hold the same ring: name, and keys
// with the same id, algorithm, material and lifecycle in the same order.
func requireSameSet(t testing.TB, want, got *Set) {
	t.Helper()
	require.NotNil(t, got)
	require.Equal(t, want.Name(), got.Name(), "ring name")
	require.Equal(t, kids(want), kids(got), "kids")
	for i, w := range want.Keys() {
		g := got.Keys()[i]
		require.Equal(t, w.Alg, g.Alg, "alg of %s", w.ID)
		require.True(t, w.sameMaterial(g), "material of %s", w.ID)
		require.True(t, w.Lifecycle().equal(g.Lifecycle()), "lifecycle of %s: want %+v got %+v", w.ID, w.Lifecycle(), g.Lifecycle())
	}
	require.True(t, want.equal(got))
}

func kids(s *Set) []string {
	var ids []string
	for _, k := range s.Keys() {
		ids = append(ids, k.ID)
	}
	return ids
}
