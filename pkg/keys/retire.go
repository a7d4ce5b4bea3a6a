package keys

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrUnknownKID means a key id names no key of the ring.
var ErrUnknownKID = errors.New("keys: no key with this id in the ring")

// Retirement describes what Retire did, for the operator who asked.
type Retirement struct {
	// Ring and KID name the key retired.
	Ring, KID string
	// At is when the key stopped sealing (and, if removed, opening).
	At time.Time
	// Was is the key's state before.
	Was State
	// Removed reports that the key left the ring: it opens nothing any
	// more (immediate, or a pending key, which sealed nothing).
	Removed bool
	// Successor is the key made active at once to seal in the retired
	// key's place; nil when the retired key was not sealing.
	Successor *Key
	// Dropped lists the pending keys removed with it.
	Dropped []string
}

// Retire is the emergency path for a key that must stop being used before
// its time, a key believed compromised ("issuer keys retire"). At now:
//
//   - an active key stops sealing at once: its retirement is brought
//     forward to now, and a new key, generated now, becomes active at
//     once and seals in its place (retiring after RotateEvery), without
//     the usual Propagation: the point is to stop sealing with the old
//     key now, so resource servers that do not hold the new key yet refuse
//     the tokens it seals until they reload. The pending keys are dropped
//     too: they were published wherever the retired key was (an exported
//     JWK Set carries every openable key), so they are suspect as well;
//     the next Plan adds a fresh successor in due time;
//   - a retired key already seals nothing; a pending key, which has sealed
//     nothing, is removed;
//   - with immediate, the key is also removed from the ring, so that tokens
//     it sealed no longer open (ErrUnknownKey) anywhere the new ring
//     reaches; without it they keep opening until the key expires, as
//     ever.
//
// An expired key is left alone (it opens nothing already). The retired
// key keeps its seal counter. Retire is a pure function of its arguments,
// except for the new key's random material and kid.
func Retire(set *Set, kid string, now time.Time, p Policy, immediate bool) (*Set, Retirement, error) {
	if err := p.Validate(); err != nil {
		return nil, Retirement{}, err
	}
	if set == nil {
		return nil, Retirement{}, fmt.Errorf("%w: nil set", ErrNilKey)
	}
	k, ok := set.byID[kid]
	if !ok {
		return nil, Retirement{}, fmt.Errorf("%w: %q in ring %q", ErrUnknownKID, kid, set.name)
	}
	now = now.Round(0).UTC()
	r := Retirement{Ring: set.name, KID: kid, At: now, Was: k.State(now)}
	sealing, _ := set.Sealing(now)
	var keys []*Key
	for _, o := range set.keys {
		if o != k {
			keys = append(keys, o)
		}
	}
	switch r.Was {
	case StateExpired:
		return set, r, nil
	case StateRetired:
		if !immediate {
			return set, r, nil // it seals nothing already
		}
		r.Removed = true
	case StatePending:
		r.Removed = true
	case StateActive:
		if immediate || !now.After(k.Activates) {
			r.Removed = true
		} else {
			d, err := k.withLifecycle(Lifecycle{k.Created, k.Activates, now, k.Expires})
			if err != nil {
				return nil, Retirement{}, err
			}
			keys = append(keys, d)
		}
		if k == sealing {
			var kept []*Key
			for _, o := range keys {
				if o.State(now) == StatePending {
					r.Dropped = append(r.Dropped, o.ID)
				} else {
					kept = append(kept, o)
				}
			}
			floor := now.Truncate(time.Second)
			n, err := Generate(p.alg(), Lifecycle{Created: floor, Activates: floor,
				Retires: floor.Add(p.RotateEvery), Expires: floor.Add(p.RotateEvery + p.MaxTokenTTL)})
			if err != nil {
				return nil, Retirement{}, err
			}
			keys, r.Successor = append(kept, n), n
		}
	}
	return newSet(set.name, keys), r, nil
}

// Retire retires key kid of ring name (the package function Retire) at the
// Manager's clock and writes the ring, after re-reading a file another
// process changed. See Retire for what it does to the ring.
func (m *Manager) Retire(ctx context.Context, name, kid string, immediate bool) (Retirement, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mr, ok := m.rings[name]
	if !ok {
		return Retirement{}, fmt.Errorf("%w: %q", ErrNotOpen, name)
	}
	if _, err := m.refreshLocked(ctx, name, mr); err != nil {
		return Retirement{}, err
	}
	cur := mr.ring.Load()
	next, r, err := Retire(cur, kid, m.o.now(), m.policy, immediate)
	if err != nil || next == cur {
		return r, err
	}
	return r, m.storeLocked(ctx, name, mr, next)
}
