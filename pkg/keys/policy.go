package keys

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrPolicy means a rotation policy is invalid.
var ErrPolicy = errors.New("keys: invalid rotation policy")

// Policy is how a ring rotates (SPEC §4, §6 "keys").
type Policy struct {
	// Alg is the algorithm of the keys rotation creates: A256KW (the zero
	// value) or Direct for an encryption ring, ES256, EdDSA or RS256 for
	// the signing ring. Changing it affects new keys only, and it cannot
	// turn an encryption ring into a signing ring or back (ErrKeyKind).
	Alg Alg
	// RotateEvery is how long each key seals: activates to retires.
	RotateEvery time.Duration
	// Propagation is how long a new key is published, pending, before it
	// seals. It must exceed the longest time any resource server takes to
	// pick up a changed ring (its Reloader interval, or the delay of
	// whatever distributes an exported JWK Set), plus the interval of the
	// Manager's Tick: a token sealed under a key a resource server has not
	// loaded yet fails there.
	Propagation time.Duration
	// MaxTokenTTL is the longest lifetime of a token sealed with the ring:
	// a key opens for MaxTokenTTL after it retires. For the signing ring it
	// is the longest lifetime of anything the ring signs: its public keys
	// stay published, and verify, for MaxTokenTTL after they retire.
	MaxTokenTTL time.Duration
}

// alg returns the policy's algorithm, A256KW by default.
func (p Policy) alg() Alg {
	if p.Alg == "" {
		return A256KW
	}
	return p.Alg
}

// Validate reports whether p is usable: every duration positive, and
// Propagation shorter than RotateEvery (otherwise a key would have to be
// published before its predecessor activates).
func (p Policy) Validate() error {
	switch {
	case !p.alg().Valid() && !p.alg().Signing():
		return fmt.Errorf("%w: %w: %q", ErrPolicy, ErrAlg, p.Alg)
	case p.RotateEvery <= 0:
		return fmt.Errorf("%w: rotate_every must be positive, got %s", ErrPolicy, p.RotateEvery)
	case p.Propagation <= 0:
		return fmt.Errorf("%w: propagation must be positive, got %s", ErrPolicy, p.Propagation)
	case p.MaxTokenTTL <= 0:
		return fmt.Errorf("%w: max token TTL must be positive, got %s", ErrPolicy, p.MaxTokenTTL)
	case p.Propagation >= p.RotateEvery:
		return fmt.Errorf("%w: propagation (%s) must be shorter than rotate_every (%s)", ErrPolicy, p.Propagation, p.RotateEvery)
	}
	return nil
}

// NewSetFromPolicy returns a new ring named name holding one key active
// from now (floored to the second) — the bootstrap Plan makes for an empty
// ring. Its successor is added by Plan when the key nears retirement.
func NewSetFromPolicy(name string, now time.Time, p Policy) (*Set, error) {
	empty, err := NewSet(name)
	if err != nil {
		return nil, err
	}
	next, _, err := Plan(empty, now, p)
	return next, err
}

// Plan returns the ring set should be at now under policy p, and whether
// it differs from set. It is a pure function of its arguments, except that
// the keys it creates get fresh random material and kids. Plan:
//
//   - removes expired keys, and only those;
//   - if no key is active at now, bootstraps one active at once (retiring
//     when the first pending key activates, if any, else after
//     RotateEvery): nothing can seal otherwise, so waiting for propagation is
//     not an option — resource servers learn it on their next reload;
//   - if the active key is a Direct key that is Exhausted, rotates early:
//     the successor (an existing pending key, moved earlier, or a new one)
//     activates after Propagation and the active key retires then;
//   - makes each key of the chain active, pending… retire exactly when the
//     next one activates, and a key active by mistake alongside the sealing
//     one retire when that one activated;
//   - once the active key is within 2×Propagation of its retirement and has
//     no successor, adds one: activating when the active key retires,
//     retiring RotateEvery later. If the active key retires sooner than
//     Propagation from now (Plan was not run in time), its retirement is
//     postponed to now+Propagation, so that no key ever seals before it has
//     been published for Propagation;
//   - sets the expiry of the active and pending keys to their retirement
//     plus MaxTokenTTL, never earlier than the expiry they had.
//
// New keys are created at now floored to the second, and activations that
// must wait for Propagation are rounded up to the second, so that with
// whole-second policy durations every time Plan chooses is a whole second.
// Called at intervals shorter than Propagation, Plan keeps every successor
// pending for at least Propagation before it seals.
func Plan(set *Set, now time.Time, p Policy) (next *Set, changed bool, err error) {
	pl, err := newPlanner(set, now, p)
	if err != nil {
		return nil, false, err
	}
	if pl.active == nil {
		if err := pl.bootstrap(); err != nil {
			return nil, false, err
		}
	} else if pl.active.Exhausted() {
		if err := pl.rotateEarly(); err != nil {
			return nil, false, err
		}
	}
	return pl.finish(set)
}

// Rotate forces a rotation at now (`issuer keys rotate`): it drops the
// pending keys (which have sealed nothing), adds a new key that is pending
// now and activates after Propagation, and retires the active key at that
// moment. A ring with no active key is bootstrapped as Plan does. Rotate
// removes expired keys too; it never removes a key that may have sealed a
// token that has not expired.
//
// Rotate does not make a leaked key harmless before the tokens it sealed
// expire; it stops new tokens from being sealed with it after Propagation.
func Rotate(set *Set, now time.Time, p Policy) (*Set, error) {
	pl, err := newPlanner(set, now, p)
	if err != nil {
		return nil, err
	}
	if pl.active == nil {
		if err := pl.bootstrap(); err != nil {
			return nil, err
		}
	} else {
		pl.pending = nil
		at := ceilSecond(pl.now.Add(p.Propagation))
		n, err := pl.newKey(at, at.Add(p.RotateEvery))
		if err != nil {
			return nil, err
		}
		pl.pending = []*Key{n}
	}
	next, _, err := pl.finish(set)
	return next, err
}

// planner holds a ring being planned. Keys are replaced, never mutated:
// a key whose lifecycle changes is derived with withLifecycle, which keeps
// its seal counter.
type planner struct {
	p       Policy
	now     time.Time // monotonic reading stripped, UTC
	floor   time.Time // now floored to the second
	retired []*Key    // not expired, not chosen to seal, not pending
	active  *Key      // the key that seals at now, if any
	pending []*Key    // keys activating after now, by activation time
}

func newPlanner(set *Set, now time.Time, p Policy) (*planner, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if set == nil {
		return nil, fmt.Errorf("%w: nil set", ErrNilKey)
	}
	if set.Len() > 0 && set.Signing() != p.alg().Signing() {
		return nil, fmt.Errorf("%w: ring %q holds %s keys, the policy makes %s keys", ErrKeyKind, set.name, set.keys[0].Alg, p.alg())
	}
	now = now.Round(0).UTC()
	pl := &planner{p: p, now: now, floor: now.Truncate(time.Second)}
	pl.active, _ = set.Sealing(now)
	for _, k := range set.keys {
		switch {
		case k.State(now) == StateExpired:
			// pruned
		case k == pl.active:
		case k.State(now) == StatePending:
			pl.pending = append(pl.pending, k)
		case k.State(now) == StateActive && pl.active.Activates.After(k.Activates):
			// Active alongside the sealing key (a hand-edited overlap): it
			// has sealed nothing since the sealing key activated.
			d, err := k.withLifecycle(Lifecycle{k.Created, k.Activates, pl.active.Activates, k.Expires})
			if err != nil {
				return nil, err
			}
			pl.retired = append(pl.retired, d)
		default:
			pl.retired = append(pl.retired, k)
		}
	}
	// set.keys is ordered by activation, so pending is too.
	return pl, nil
}

// newKey generates a key of the policy's algorithm created now.
func (pl *planner) newKey(activates, retires time.Time) (*Key, error) {
	return Generate(pl.p.alg(), Lifecycle{
		Created: pl.floor, Activates: activates, Retires: retires,
		Expires: retires.Add(pl.p.MaxTokenTTL),
	})
}

// bootstrap makes a key active at once.
func (pl *planner) bootstrap() error {
	retires := pl.floor.Add(pl.p.RotateEvery)
	if len(pl.pending) > 0 {
		retires = pl.pending[0].Activates
	}
	k, err := pl.newKey(pl.floor, retires)
	if err != nil {
		return err
	}
	pl.active = k
	return nil
}

// rotateEarly makes the exhausted active key's successor activate after
// Propagation at the latest.
func (pl *planner) rotateEarly() error {
	at := ceilSecond(pl.now.Add(pl.p.Propagation))
	if !at.Before(pl.active.Retires) {
		return nil // it retires by then anyway
	}
	if len(pl.pending) == 0 {
		n, err := pl.newKey(at, at.Add(pl.p.RotateEvery))
		if err != nil {
			return err
		}
		pl.pending = []*Key{n}
		return nil
	}
	if s := pl.pending[0]; s.Activates.After(at) {
		d, err := s.withLifecycle(Lifecycle{s.Created, at, s.Retires, s.Expires})
		if err != nil {
			return err
		}
		pl.pending[0] = d
	}
	return nil
}

// finish chains the active and pending keys, adds a successor when due,
// fixes expiries and assembles the result.
func (pl *planner) finish(set *Set) (*Set, bool, error) {
	chain := append([]*Key{pl.active}, pl.pending...)
	if len(chain) == 1 && !pl.now.Before(pl.active.Retires.Add(-2*pl.p.Propagation)) {
		a := pl.active
		retires := a.Retires
		if earliest := ceilSecond(pl.now.Add(pl.p.Propagation)); retires.Before(earliest) {
			retires = earliest
		}
		n, err := pl.newKey(retires, retires.Add(pl.p.RotateEvery))
		if err != nil {
			return nil, false, err
		}
		chain = append(chain, n)
	}
	for i, k := range chain {
		lc := k.Lifecycle()
		if i+1 < len(chain) && lc.Activates.Before(chain[i+1].Activates) {
			lc.Retires = chain[i+1].Activates
		}
		if e := lc.Retires.Add(pl.p.MaxTokenTTL); e.After(lc.Expires) {
			lc.Expires = e
		}
		if !lc.equal(k.Lifecycle()) {
			d, err := k.withLifecycle(lc)
			if err != nil {
				return nil, false, err
			}
			chain[i] = d
		}
	}
	keys := append(slices.Clone(pl.retired), chain...)
	// Unchanged means the very same *Key values; their order follows from
	// their activation times.
	changed := len(keys) != len(set.keys)
	for _, k := range keys {
		if changed {
			break
		}
		old, ok := set.byID[k.ID]
		changed = !ok || old != k
	}
	if !changed {
		return set, false, nil
	}
	return newSet(set.name, keys), true, nil
}

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if f := t.Truncate(time.Second); !f.Equal(t) {
		return f.Add(time.Second)
	}
	return t
}
