package keys

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSetSealingOpening(t *testing.T) {
	s := sampleSet(t)
	tests := []struct {
		name    string
		at      time.Duration
		sealing string // "" means ErrNoActiveKey
		opens   []string
		closed  []string
	}{
		{"retired, active and pending all open; active seals", 0, "k-active",
			[]string{"k-retired", "k-active", "k-pending"}, nil},
		{"successor seals from its activation", time.Hour, "k-pending",
			[]string{"k-active", "k-pending"}, []string{"k-retired"}},
		{"retired key opens until it expires", time.Hour + 29*time.Minute, "k-pending",
			[]string{"k-active", "k-pending"}, nil},
		{"expired key does not open", time.Hour + 30*time.Minute, "k-pending",
			[]string{"k-pending"}, []string{"k-active", "k-retired"}},
		{"nothing seals once every key retired", 26 * time.Hour, "",
			nil, []string{"k-active", "k-pending", "k-retired"}},
		{"before any activation: the retired-at-start key", -47*time.Hour + time.Second, "k-retired",
			[]string{"k-retired", "k-active", "k-pending"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(tt.at)
			k, err := s.Sealing(now)
			if tt.sealing == "" {
				require.ErrorIs(t, err, ErrNoActiveKey)
			} else {
				require.NoError(t, err)
				require.Equal(t, tt.sealing, k.ID)
			}
			for _, id := range tt.opens {
				k, ok := s.Opening(id, now)
				require.True(t, ok, "%s opens", id)
				require.Equal(t, id, k.ID)
			}
			for _, id := range tt.closed {
				_, ok := s.Opening(id, now)
				require.False(t, ok, "%s does not open", id)
			}
			_, ok := s.Opening("unknown", now)
			require.False(t, ok)
		})
	}
}

func TestNewSetRejects(t *testing.T) {
	k := mustKey(t, "k", A256KW, 1, lc(0, 0, time.Hour, time.Hour))
	tests := []struct {
		name string
		ring string
		keys []*Key
		want error
	}{
		{"empty ring name", "", []*Key{k}, ErrRingName},
		{"control character in name", "a\nb", []*Key{k}, ErrRingName},
		{"duplicate kid", "r", []*Key{k, mustKey(t, "k", A256KW, 2, lc(0, 0, time.Hour, time.Hour))}, ErrDuplicateKeyID},
		{"nil key", "r", []*Key{k, nil}, ErrNilKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSet(tt.ring, tt.keys...)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestSetOrdersByActivation(t *testing.T) {
	a := mustKey(t, "a", A256KW, 1, lc(0, 2*time.Hour, 3*time.Hour, 3*time.Hour))
	b := mustKey(t, "b", A256KW, 2, lc(0, time.Hour, 2*time.Hour, 2*time.Hour))
	s := mustSet(t, "r", a, b)
	require.Equal(t, []string{"b", "a"}, kids(s))
	require.Equal(t, 2, s.Len())
	ks := s.Keys()
	ks[0] = nil
	require.Equal(t, []string{"b", "a"}, kids(s), "Keys returns a copy")
}

func TestRingSwap(t *testing.T) {
	s1 := sampleSet(t)
	r := NewRing(s1)
	require.Same(t, s1, r.Load())
	require.Equal(t, "https://api.example.com", r.Name())
	s2 := mustSet(t, "other")
	r.Store(s2)
	require.Same(t, s2, r.Load())
}

func TestMerge(t *testing.T) {
	prev := sampleSet(t)
	active, _ := prev.Lookup("k-active")
	active.CountSeal()
	pending, _ := prev.Lookup("k-pending")
	pending.CountSeal()
	pending.CountSeal()

	// The same ring as read back from disk: equal keys, new objects; the
	// pending key's retirement moved; one key replaced under the same kid.
	next := mustSet(t, prev.Name(),
		mustKey(t, "k-retired", A256KW, 99, lc(-48*time.Hour, -47*time.Hour, -23*time.Hour, 30*time.Minute)),
		mustKey(t, "k-active", A256KW, 2, lc(-24*time.Hour, -23*time.Hour, time.Hour, time.Hour+30*time.Minute)),
		mustKey(t, "k-pending", Direct, 3, lc(-time.Hour, time.Hour, 5*time.Hour, 6*time.Hour)),
		mustKey(t, "k-new", A256KW, 4, lc(0, 5*time.Hour, 29*time.Hour, 30*time.Hour)),
	)
	merged := Merge(prev, next)
	require.Equal(t, kids(next), kids(merged))

	got, _ := merged.Lookup("k-active")
	require.Same(t, active, got, "identical key: the previous object is reused")
	require.Equal(t, uint64(1), got.Sealed())

	got, _ = merged.Lookup("k-pending")
	require.NotSame(t, pending, got, "lifecycle changed: a new object")
	require.Equal(t, t0.Add(5*time.Hour), got.Retires, "with the new lifecycle")
	require.Equal(t, uint64(2), got.Sealed(), "sharing the counter")
	got.CountSeal()
	require.Equal(t, uint64(3), pending.Sealed())

	got, _ = merged.Lookup("k-retired")
	require.Equal(t, material(99), got.Material(), "same kid, other material: the new key")
	require.Equal(t, uint64(0), got.Sealed())

	require.Same(t, next, Merge(nil, next))
	require.Nil(t, Merge(prev, nil))
}
