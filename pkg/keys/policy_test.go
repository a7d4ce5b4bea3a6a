package keys

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var testPolicy = Policy{RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 30 * time.Minute}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"default algorithm A256KW", testPolicy, true},
		{"dir", Policy{Alg: Direct, RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: time.Minute}, true},
		{"bad algorithm", Policy{Alg: "A128KW", RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: time.Minute}, false},
		{"zero rotate_every", Policy{Propagation: time.Minute, MaxTokenTTL: time.Minute}, false},
		{"negative propagation", Policy{RotateEvery: time.Hour, Propagation: -time.Minute, MaxTokenTTL: time.Minute}, false},
		{"zero propagation", Policy{RotateEvery: time.Hour, MaxTokenTTL: time.Minute}, false},
		{"zero token TTL", Policy{RotateEvery: time.Hour, Propagation: time.Minute}, false},
		{"propagation equal to rotate_every", Policy{RotateEvery: time.Hour, Propagation: time.Hour, MaxTokenTTL: time.Minute}, false},
		{"propagation longer than rotate_every", Policy{RotateEvery: time.Hour, Propagation: 2 * time.Hour, MaxTokenTTL: time.Minute}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrPolicy)
			_, _, err = Plan(mustSet(t, "r"), t0, tt.p)
			require.ErrorIs(t, err, ErrPolicy)
		})
	}
}

// timeline runs Plan every step from start for total and checks the
// invariants of SPEC §4 at every step. It returns the number of times the
// sealing key changed.
func timeline(t *testing.T, p Policy, start time.Time, step, total time.Duration, onStep func(now time.Time, s *Set)) int {
	t.Helper()
	set, err := NewSetFromPolicy("r", start, p)
	require.NoError(t, err)
	firstSeen := map[string]time.Time{}
	for _, k := range set.Keys() {
		firstSeen[k.ID] = start
	}
	bootstrap := set.Keys()[0].ID
	sealer := bootstrap
	rotations := 0
	for now := start; now.Before(start.Add(total)); now = now.Add(step) {
		next, changed, err := Plan(set, now, p)
		require.NoError(t, err)
		if !changed {
			require.Same(t, set, next)
		}
		// Idempotent: planning again at the same instant changes nothing.
		again, changed2, err := Plan(next, now, p)
		require.NoError(t, err)
		require.False(t, changed2, "second plan at %s changed the ring", now)
		require.Same(t, next, again)

		// No key is removed before it expires.
		for _, k := range set.Keys() {
			if _, ok := next.Lookup(k.ID); !ok {
				require.False(t, now.Before(k.Expires), "key %s removed at %s before it expires at %s", k.ID, now, k.Expires)
			}
		}
		// Exactly one active key, now and at every instant until the next step.
		for _, at := range []time.Time{now, now.Add(step / 2), now.Add(step - time.Nanosecond)} {
			active := 0
			for _, k := range next.Keys() {
				if k.State(at) == StateActive {
					active++
				}
			}
			require.Equal(t, 1, active, "active keys at %s", at)
			_, err := next.Sealing(at)
			require.NoError(t, err)
		}
		for _, k := range next.Keys() {
			if _, ok := firstSeen[k.ID]; !ok {
				firstSeen[k.ID] = now
			}
			// A key opens for MaxTokenTTL after it stops sealing.
			require.False(t, k.Expires.Before(k.Retires.Add(p.MaxTokenTTL)), "key %s expires too early", k.ID)
			// Every successor is published Propagation before it seals.
			if k.ID != bootstrap {
				require.GreaterOrEqual(t, k.Activates.Sub(firstSeen[k.ID]), p.Propagation,
					"key %s first written at %s activates at %s", k.ID, firstSeen[k.ID], k.Activates)
			}
		}
		k, _ := next.Sealing(now)
		if k.ID != sealer {
			rotations++
			sealer = k.ID
		}
		if onStep != nil {
			onStep(now, next)
		}
		set = next
	}
	// Pruning keeps the ring small: the retired keys whose tokens may live,
	// the active key and its successor.
	require.LessOrEqual(t, set.Len(), 3+int(p.MaxTokenTTL/p.RotateEvery), "pruning keeps the ring small")
	return rotations
}

func TestPlanTimeline(t *testing.T) {
	tests := []struct {
		name      string
		p         Policy
		start     time.Time
		step      time.Duration
		total     time.Duration
		rotations int
		postponed bool
	}{
		{"daily keys, hourly propagation, 10-minute ticks", testPolicy, t0, 10 * time.Minute, 5 * 24 * time.Hour, 4, false},
		{"start off the second", testPolicy, t0.Add(1234567 * time.Microsecond), 7 * time.Minute, 3 * 24 * time.Hour, 2, false},
		{"short keys: tick interval just under propagation", Policy{RotateEvery: time.Hour, Propagation: 20 * time.Minute, MaxTokenTTL: 2 * time.Hour},
			t0, 19 * time.Minute, 10 * time.Hour, 9, false},
		{"ticks slower than propagation: retirement postponed, never a short pending time",
			Policy{RotateEvery: time.Hour, Propagation: 10 * time.Minute, MaxTokenTTL: 10 * time.Minute},
			t0, 25 * time.Minute, 10 * time.Hour, 9, true},
		{"dir keys", Policy{Alg: Direct, RotateEvery: 6 * time.Hour, Propagation: 30 * time.Minute, MaxTokenTTL: 10 * time.Minute},
			t0, 5 * time.Minute, 2 * 24 * time.Hour, 7, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			postponed := false
			got := timeline(t, tt.p, tt.start, tt.step, tt.total, func(_ time.Time, s *Set) {
				for _, k := range s.Keys() {
					if k.Retires.Sub(k.Activates) > tt.p.RotateEvery {
						postponed = true
					}
				}
			})
			require.Equal(t, tt.rotations, got)
			require.Equal(t, tt.postponed, postponed, "a retirement was postponed")
		})
	}
}

func TestPlanSchedule(t *testing.T) {
	set, err := NewSetFromPolicy("r", t0.Add(300*time.Millisecond), testPolicy)
	require.NoError(t, err)
	require.Equal(t, 1, set.Len())
	a := set.Keys()[0]
	require.Equal(t, A256KW, a.Alg, "default algorithm")
	require.Equal(t, t0, a.Created, "created floored to the second")
	require.Equal(t, t0, a.Activates, "bootstrap key active at once")
	require.Equal(t, t0.Add(24*time.Hour), a.Retires)
	require.Equal(t, t0.Add(24*time.Hour+30*time.Minute), a.Expires)

	// Nothing to do until 2×propagation before retirement.
	_, changed, err := Plan(set, t0.Add(22*time.Hour-time.Second), testPolicy)
	require.NoError(t, err)
	require.False(t, changed)

	next, changed, err := Plan(set, t0.Add(22*time.Hour), testPolicy)
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, 2, next.Len())
	s := next.Keys()[1]
	require.Equal(t, t0.Add(22*time.Hour), s.Created)
	require.Equal(t, a.Retires, s.Activates, "successor activates when the active key retires")
	require.Equal(t, s.Activates.Add(24*time.Hour), s.Retires)
	require.Equal(t, s.Retires.Add(30*time.Minute), s.Expires)
	require.Equal(t, StatePending, s.State(t0.Add(22*time.Hour)))
	got, _ := next.Lookup(a.ID)
	require.Same(t, a, got, "active key unchanged")

	// After the old key expires, it is pruned.
	later, changed, err := Plan(next, t0.Add(24*time.Hour+30*time.Minute), testPolicy)
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, []string{s.ID}, kids(later))
}

func TestPlanDeterministic(t *testing.T) {
	set := sampleSet(t)
	schedule := func(s *Set) []Lifecycle {
		var out []Lifecycle
		for _, k := range s.Keys() {
			out = append(out, k.Lifecycle())
		}
		return out
	}
	for _, at := range []time.Duration{0, 30 * time.Minute, 2 * time.Hour, 23 * time.Hour} {
		a, ca, err := Plan(set, t0.Add(at), testPolicy)
		require.NoError(t, err)
		b, cb, err := Plan(set, t0.Add(at), testPolicy)
		require.NoError(t, err)
		require.Equal(t, ca, cb)
		require.Equal(t, schedule(a), schedule(b), "at %s", at)
	}
}

func TestPlanEarlyRotation(t *testing.T) {
	p := Policy{Alg: Direct, RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 10 * time.Minute}
	now := t0.Add(3*time.Hour + 500*time.Millisecond)
	t.Run("no successor yet: a new key activates after propagation", func(t *testing.T) {
		set, err := NewSetFromPolicy("r", t0, p)
		require.NoError(t, err)
		a := set.Keys()[0]
		a.CountSeal()
		next, changed, err := Plan(set, now, p)
		require.NoError(t, err)
		require.False(t, changed, "not exhausted: nothing to do")
		require.Same(t, set, next)

		a.sealed.Store(RotateAt)
		next, changed, err = Plan(set, now, p)
		require.NoError(t, err)
		require.True(t, changed)
		require.Equal(t, 2, next.Len())
		old, s := next.Keys()[0], next.Keys()[1]
		require.Equal(t, a.ID, old.ID)
		at := t0.Add(4*time.Hour + time.Second) // now + propagation, rounded up
		require.Equal(t, at, s.Activates)
		require.Equal(t, Direct, s.Alg)
		require.Equal(t, at, old.Retires, "old key retires when the successor activates")
		require.False(t, old.Expires.Before(at.Add(p.MaxTokenTTL)))
		require.Equal(t, RotateAt, old.Sealed(), "counter survives the lifecycle change")
		require.Same(t, old, must(next.Sealing(now)))
		require.Equal(t, s.ID, must(next.Sealing(at)).ID)
		require.Equal(t, uint64(0), s.Sealed())

		// Stable: planning again (still exhausted) changes nothing.
		_, changed, err = Plan(next, now.Add(10*time.Minute), p)
		require.NoError(t, err)
		require.False(t, changed)
	})
	t.Run("pending successor is moved earlier", func(t *testing.T) {
		set, err := NewSetFromPolicy("r", t0, p)
		require.NoError(t, err)
		set, _, err = Plan(set, t0.Add(22*time.Hour), p)
		require.NoError(t, err)
		require.Equal(t, 2, set.Len())
		a, s := set.Keys()[0], set.Keys()[1]
		a.sealed.Store(RotateAt + 1)
		now := t0.Add(22 * time.Hour)
		next, changed, err := Plan(set, now, p)
		require.NoError(t, err)
		require.True(t, changed)
		require.Equal(t, kids(set), kids(next), "no new key")
		s2, _ := next.Lookup(s.ID)
		require.Equal(t, now.Add(time.Hour), s2.Activates)
		a2, _ := next.Lookup(a.ID)
		require.Equal(t, now.Add(time.Hour), a2.Retires)
	})
	t.Run("retiring within propagation anyway: no change", func(t *testing.T) {
		set, err := NewSetFromPolicy("r", t0, p)
		require.NoError(t, err)
		set, _, err = Plan(set, t0.Add(22*time.Hour), p)
		require.NoError(t, err)
		set.Keys()[0].sealed.Store(RotateAt)
		_, changed, err := Plan(set, t0.Add(23*time.Hour+30*time.Minute), p)
		require.NoError(t, err)
		require.False(t, changed)
	})
	t.Run("A256KW keys never rotate early", func(t *testing.T) {
		set, err := NewSetFromPolicy("r", t0, testPolicy)
		require.NoError(t, err)
		set.Keys()[0].sealed.Store(SealLimit)
		_, changed, err := Plan(set, now, testPolicy)
		require.NoError(t, err)
		require.False(t, changed)
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestPlanRepairs(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name  string
		keys  []*Key
		at    time.Duration
		check func(t *testing.T, next *Set)
	}{
		{
			name: "no active key but a pending one: bootstrap retires when it activates",
			keys: []*Key{mustKey(t, "p", A256KW, 1, lc(0, 5*h, 29*h, 30*h))},
			check: func(t *testing.T, next *Set) {
				require.Equal(t, 2, next.Len())
				b := next.Keys()[0]
				require.Equal(t, t0, b.Activates)
				require.Equal(t, t0.Add(5*h), b.Retires)
			},
		},
		{
			name: "all keys expired: pruned and bootstrapped",
			keys: []*Key{mustKey(t, "old", A256KW, 1, lc(-50*h, -49*h, -25*h, -24*h))},
			check: func(t *testing.T, next *Set) {
				require.Equal(t, 1, next.Len())
				_, ok := next.Lookup("old")
				require.False(t, ok)
			},
		},
		{
			name: "late: active retires in 10 minutes without successor: retirement postponed to now+propagation",
			keys: []*Key{mustKey(t, "a", A256KW, 1, lc(-24*h, -24*h, 10*time.Minute, 40*time.Minute))},
			check: func(t *testing.T, next *Set) {
				require.Equal(t, 2, next.Len())
				a, s := next.Keys()[0], next.Keys()[1]
				require.Equal(t, t0.Add(h), a.Retires)
				require.Equal(t, t0.Add(h+30*time.Minute), a.Expires)
				require.Equal(t, t0.Add(h), s.Activates)
			},
		},
		{
			name: "gap between active and pending: active seals until the pending key activates",
			keys: []*Key{
				mustKey(t, "a", A256KW, 1, lc(-h, -h, h, 2*h)),
				mustKey(t, "p", A256KW, 2, lc(-h, 3*h, 27*h, 28*h)),
			},
			check: func(t *testing.T, next *Set) {
				a, _ := next.Lookup("a")
				require.Equal(t, t0.Add(3*h), a.Retires)
				require.Equal(t, t0.Add(3*h+30*time.Minute), a.Expires)
			},
		},
		{
			name: "overlap: an older key active alongside the sealing one is retired when that one activated",
			keys: []*Key{
				mustKey(t, "old", A256KW, 1, lc(-3*h, -3*h, 20*h, 21*h)),
				mustKey(t, "new", A256KW, 2, lc(-2*h, -h, 23*h, 24*h)),
			},
			check: func(t *testing.T, next *Set) {
				old, _ := next.Lookup("old")
				require.Equal(t, t0.Add(-h), old.Retires)
				require.Equal(t, t0.Add(21*h), old.Expires, "expiry never moves earlier")
				require.Equal(t, StateRetired, old.State(t0))
			},
		},
		{
			name: "longer token TTL in the policy extends the expiry of active keys only",
			keys: []*Key{
				mustKey(t, "r", A256KW, 1, lc(-30*h, -30*h, -h, time.Minute)),
				mustKey(t, "a", A256KW, 2, lc(-h, -h, 23*h, 23*h+time.Minute)),
			},
			check: func(t *testing.T, next *Set) {
				r, _ := next.Lookup("r")
				require.Equal(t, t0.Add(time.Minute), r.Expires)
				a, _ := next.Lookup("a")
				require.Equal(t, t0.Add(23*h+30*time.Minute), a.Expires)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := mustSet(t, "r", tt.keys...)
			next, changed, err := Plan(set, t0.Add(tt.at), testPolicy)
			require.NoError(t, err)
			require.True(t, changed)
			tt.check(t, next)
			_, changed, err = Plan(next, t0.Add(tt.at), testPolicy)
			require.NoError(t, err)
			require.False(t, changed, "repair is stable")
		})
	}
}

func TestRotate(t *testing.T) {
	set, err := NewSetFromPolicy("r", t0, testPolicy)
	require.NoError(t, err)
	set, _, err = Plan(set, t0.Add(22*time.Hour), testPolicy)
	require.NoError(t, err)
	a, pending := set.Keys()[0], set.Keys()[1]

	now := t0.Add(22*time.Hour + 30*time.Minute)
	next, err := Rotate(set, now, testPolicy)
	require.NoError(t, err)
	require.Equal(t, 2, next.Len())
	_, ok := next.Lookup(pending.ID)
	require.False(t, ok, "pending key dropped: it sealed nothing")
	a2, _ := next.Lookup(a.ID)
	n := next.Keys()[1]
	require.Equal(t, now.Add(time.Hour), n.Activates, "new key activates after propagation")
	require.Equal(t, StatePending, n.State(now))
	require.Equal(t, n.Activates, a2.Retires, "active key retires then")
	require.Equal(t, a.ID, must(next.Sealing(now)).ID)
	require.Equal(t, n.ID, must(next.Sealing(n.Activates)).ID)

	// Rotating an empty ring bootstraps it.
	boot, err := Rotate(mustSet(t, "r"), now, testPolicy)
	require.NoError(t, err)
	require.Equal(t, 1, boot.Len())
	_, err = boot.Sealing(now)
	require.NoError(t, err)

	_, err = Rotate(nil, now, testPolicy)
	require.ErrorIs(t, err, ErrNilKey)
}
