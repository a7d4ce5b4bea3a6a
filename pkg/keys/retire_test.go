package keys

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRetire: the emergency retirement of one key, case by case (SPEC §4
// lifecycle; "issuer keys retire").
func TestRetire(t *testing.T) {
	p := Policy{RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 30 * time.Minute}
	now := t0.Add(10 * time.Minute)
	tests := []struct {
		name          string
		kid           string
		immediate     bool
		wantErr       error
		wantSame      bool     // the set is returned unchanged
		wantKIDs      []string // kids of the old set still in the result
		wantRemoved   bool
		wantSuccessor bool
		wantDropped   []string
		stillOpens    bool // the retired key still opens tokens just after now
	}{
		{name: "an active key stops sealing at once; a new key seals; the pending key is dropped", kid: "k-active",
			wantKIDs: []string{"k-retired", "k-active"}, wantSuccessor: true, wantDropped: []string{"k-pending"}, stillOpens: true},
		{name: "an active key retired now no longer opens either", kid: "k-active", immediate: true,
			wantKIDs: []string{"k-retired"}, wantRemoved: true, wantSuccessor: true, wantDropped: []string{"k-pending"}},
		{name: "a pending key, which sealed nothing, is removed", kid: "k-pending",
			wantKIDs: []string{"k-retired", "k-active"}, wantRemoved: true},
		{name: "a retired key seals nothing already", kid: "k-retired", wantSame: true, stillOpens: true},
		{name: "a retired key retired now no longer opens", kid: "k-retired", immediate: true,
			wantKIDs: []string{"k-active", "k-pending"}, wantRemoved: true},
		{name: "an unknown kid is an error", kid: "nope", wantErr: ErrUnknownKID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := sampleSet(t)
			next, r, err := Retire(set, tt.kid, now, p, tt.immediate)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			if tt.wantSame {
				require.Same(t, set, next)
			}
			require.Equal(t, tt.wantRemoved, r.Removed, "Removed")
			require.Equal(t, tt.wantDropped, r.Dropped, "Dropped")
			require.Equal(t, tt.wantSuccessor, r.Successor != nil, "Successor")
			if !tt.wantSame {
				var got []string
				for _, k := range next.Keys() {
					if r.Successor == nil || k.ID != r.Successor.ID {
						got = append(got, k.ID)
					}
				}
				require.ElementsMatch(t, tt.wantKIDs, got)
			}
			// The retired key never seals after now.
			for _, at := range []time.Time{now, now.Add(time.Second), now.Add(2 * time.Hour)} {
				if k, err := next.Sealing(at); err == nil {
					require.NotEqual(t, tt.kid, k.ID, "the retired key seals at %s", at)
				}
			}
			if r.Successor != nil {
				k, err := next.Sealing(now)
				require.NoError(t, err)
				require.Equal(t, r.Successor.ID, k.ID, "the successor seals at once")
				// Rotation planning afterwards keeps the successor sealing
				// and never brings the retired key back.
				planned, _, err := Plan(next, now.Add(time.Minute), p)
				require.NoError(t, err)
				k, err = planned.Sealing(now.Add(time.Minute))
				require.NoError(t, err)
				require.Equal(t, r.Successor.ID, k.ID)
			}
			_, opens := next.Opening(tt.kid, now.Add(time.Second))
			require.Equal(t, tt.stillOpens, opens, "the retired key opens after now")
			// The result is a valid ring file.
			data, err := Marshal(next)
			require.NoError(t, err)
			back, err := Parse(data)
			require.NoError(t, err)
			requireSameSet(t, next, back)
		})
	}
}

// TestManagerRetire: Manager.Retire writes the ring, so another process
// (a running issuer's Reload) sees the retirement.
func TestManagerRetire(t *testing.T) {
	dir := t.TempDir()
	p := Policy{RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 30 * time.Minute}
	clock := t0
	m, err := NewManager(dir, p, WithClock(func() time.Time { return clock }))
	require.NoError(t, err)
	ctx := context.Background()
	_, err = m.Init(ctx, "https://api.example.com")
	require.NoError(t, err)
	r, _ := m.Ring("https://api.example.com")
	old, err := r.Load().Sealing(clock)
	require.NoError(t, err)

	other, err := NewManager(dir, p, WithClock(func() time.Time { return clock }))
	require.NoError(t, err)
	require.NoError(t, other.Open(ctx, "https://api.example.com"))

	clock = clock.Add(time.Minute)
	ret, err := m.Retire(ctx, "https://api.example.com", old.ID, true)
	require.NoError(t, err)
	require.True(t, ret.Removed)
	require.NotNil(t, ret.Successor)

	require.NoError(t, other.Reload(ctx))
	or, _ := other.Ring("https://api.example.com")
	_, ok := or.Load().Lookup(old.ID)
	require.False(t, ok, "the other process still holds the retired key")
	k, err := or.Load().Sealing(clock)
	require.NoError(t, err)
	require.Equal(t, ret.Successor.ID, k.ID)

	_, err = m.Retire(ctx, "https://nope", old.ID, false)
	require.True(t, errors.Is(err, ErrNotOpen))
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	require.True(t, slices.ContainsFunc(files, func(f string) bool { return filepath.Base(f) == FileName("https://api.example.com") }))
}
