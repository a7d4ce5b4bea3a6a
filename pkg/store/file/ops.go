package file

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sealedtoken/issuer/pkg/store"
)

func invalid(what string) error {
	return fmt.Errorf("file: %s: %w", what, store.ErrInvalidArgument)
}

// write runs fn through the group committer and returns its outcome. fn
// may run twice (in a group, then alone if another member of the group
// failed), so it sets its outcome afresh each time.
func (s *Store) write(ctx context.Context, fn func(tx *bolt.Tx, now int64) (outcome, err error)) error {
	var outcome error
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		outcome, err = fn(tx, s.nowNano())
		return err
	})
	if err != nil {
		return err
	}
	return outcome
}

// RedeemCode implements store.Store.
func (s *Store) RedeemCode(ctx context.Context, codeID string, exp time.Time) error {
	if codeID == "" {
		return invalid("empty code id")
	}
	return s.once(ctx, tCodes, []byte(codeID), exp.UnixNano(), store.ErrCodeReused)
}

// UseOnce implements store.Store.
func (s *Store) UseOnce(ctx context.Context, ns, key string, exp time.Time) error {
	if err := store.CheckKey(ns, key); err != nil {
		return err
	}
	return s.once(ctx, tOnce, joinKey(ns, key), exp.UnixNano(), store.ErrReplay)
}

// once records key in t until exp unless it is live there, in which case
// it returns used.
func (s *Store) once(ctx context.Context, t table, key []byte, exp int64, used error) error {
	return s.write(ctx, func(tx *bolt.Tx, now int64) (error, error) {
		_, _, live, err := get(tx, t, key, now)
		switch {
		case err != nil:
			return nil, err
		case live:
			return used, nil
		case exp <= now: // nothing to keep
			return nil, nil
		}
		return nil, put(tx, t, key, exp)
	})
}

// family decodes a families value: generation and revoked.
func family(v []byte) (gen uint64, revoked bool, ok bool) {
	if len(v) != 9 {
		return 0, false, false
	}
	return binary.BigEndian.Uint64(v), v[8] == 1, true
}

func familyValue(gen uint64, revoked bool) []byte {
	v := putU64(make([]byte, 0, 9), gen)
	if revoked {
		return append(v, 1)
	}
	return append(v, 0)
}

// RotateRefresh implements store.Store. A presented generation other than
// the current one is reported as ErrRefreshReused even when the family is
// already revoked, so all losers of a race see reuse; the current
// generation of a revoked family is ErrFamilyRevoked. A revocation lasts
// until the latest expiry the family was ever given.
func (s *Store) RotateRefresh(ctx context.Context, fid string, gen uint64, exp time.Time) error {
	if fid == "" {
		return invalid("empty family id")
	}
	key, e := []byte(fid), exp.UnixNano()
	return s.write(ctx, func(tx *bolt.Tx, now int64) (error, error) {
		v, old, live, err := get(tx, tFamilies, key, now)
		if err != nil {
			return nil, err
		}
		var (
			cur     uint64
			revoked bool
			keep    = e
		)
		if live {
			var ok bool
			if cur, revoked, ok = family(v); !ok {
				return nil, errMalformed(tFamilies)
			}
			keep = max(e, old)
		}
		if gen != cur {
			if keep > now {
				if err := put(tx, tFamilies, key, keep, familyValue(cur, true)); err != nil {
					return nil, err
				}
			}
			return store.ErrRefreshReused, nil
		}
		if revoked {
			return store.ErrFamilyRevoked, nil
		}
		if keep <= now { // an unseen family and a past exp: nothing to keep
			return nil, nil
		}
		// cur+1 cannot wrap: a family reaches generation 2^64-1 only
		// after as many rotations.
		return nil, put(tx, tFamilies, key, keep, familyValue(cur+1, false))
	})
}

// RevokeFamily implements store.Store. The revocation lasts until the
// latest expiry the family was ever given.
func (s *Store) RevokeFamily(ctx context.Context, fid string, exp time.Time) error {
	if fid == "" {
		return invalid("empty family id")
	}
	key, e := []byte(fid), exp.UnixNano()
	return s.write(ctx, func(tx *bolt.Tx, now int64) (error, error) {
		v, old, live, err := get(tx, tFamilies, key, now)
		if err != nil {
			return nil, err
		}
		var gen uint64
		keep := e
		if live {
			var ok bool
			if gen, _, ok = family(v); !ok {
				return nil, errMalformed(tFamilies)
			}
			keep = max(e, old)
		}
		if keep <= now {
			return nil, nil
		}
		return nil, put(tx, tFamilies, key, keep, familyValue(gen, true))
	})
}

// FamilyRevoked implements store.Store.
func (s *Store) FamilyRevoked(ctx context.Context, fid string) (bool, error) {
	_, revoked, err := s.RefreshState(ctx, fid)
	return revoked, err
}

// RefreshState implements store.Store with one read transaction.
func (s *Store) RefreshState(_ context.Context, fid string) (generation uint64, revoked bool, err error) {
	if fid == "" {
		return 0, false, invalid("empty family id")
	}
	err = s.view(func(tx *bolt.Tx) error {
		v, _, live, err := get(tx, tFamilies, []byte(fid), s.nowNano())
		if err != nil || !live {
			return err
		}
		var ok bool
		if generation, revoked, ok = family(v); !ok {
			return errMalformed(tFamilies)
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return generation, revoked, nil
}

// RevokeToken implements store.Store. The revocation lasts until the later
// of exp and an earlier revocation.
func (s *Store) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	if jti == "" {
		return invalid("empty token id")
	}
	return s.extend(ctx, tTokens, []byte(jti), exp.UnixNano())
}

// extend records key in t until exp, or until its current expiry if that
// is later.
func (s *Store) extend(ctx context.Context, t table, key []byte, e int64) error {
	return s.write(ctx, func(tx *bolt.Tx, now int64) (error, error) {
		_, old, live, err := get(tx, t, key, now)
		if err != nil {
			return nil, err
		}
		keep := e
		if live {
			keep = max(e, old)
		}
		if keep <= now || (live && keep == old) {
			return nil, nil
		}
		return nil, put(tx, t, key, keep)
	})
}

// TokenRevoked implements store.Store.
func (s *Store) TokenRevoked(_ context.Context, jti string) (bool, error) {
	if jti == "" {
		return false, invalid("empty token id")
	}
	return s.live(tTokens, []byte(jti))
}

func (s *Store) live(t table, key []byte) (bool, error) {
	var live bool
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		_, _, live, err = get(tx, t, key, s.nowNano())
		return err
	})
	return live && err == nil, err
}

// PutRecord implements store.Store.
func (s *Store) PutRecord(ctx context.Context, ns, key string, value []byte, exp time.Time) error {
	if err := store.CheckKey(ns, key); err != nil {
		return err
	}
	if err := store.CheckValue(value); err != nil {
		return err
	}
	k, e := joinKey(ns, key), exp.UnixNano()
	v := bytes.Clone(value) // the caller may change value while the write waits
	return s.write(ctx, func(tx *bolt.Tx, now int64) (error, error) {
		_, old, _, err := get(tx, tRecords, k, now)
		switch {
		case err != nil:
			return nil, err
		case e <= now:
			if old != 0 {
				return nil, del(tx, tRecords, k)
			}
			return nil, nil
		}
		return nil, put(tx, tRecords, k, e, v)
	})
}

// GetRecord implements store.Store.
func (s *Store) GetRecord(_ context.Context, ns, key string) ([]byte, error) {
	if err := store.CheckKey(ns, key); err != nil {
		return nil, err
	}
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		v, _, live, err := get(tx, tRecords, joinKey(ns, key), s.nowNano())
		if err != nil {
			return err
		}
		if !live {
			return store.ErrNotFound
		}
		out = append(make([]byte, 0, len(v)), v...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TakeRecord implements store.Store in one write transaction.
func (s *Store) TakeRecord(ctx context.Context, ns, key string) ([]byte, error) {
	if err := store.CheckKey(ns, key); err != nil {
		return nil, err
	}
	k := joinKey(ns, key)
	var out []byte
	err := s.write(ctx, func(tx *bolt.Tx, now int64) (error, error) {
		out = nil
		v, _, live, err := get(tx, tRecords, k, now)
		if err != nil {
			return nil, err
		}
		if !live {
			return store.ErrNotFound, nil
		}
		out = append(make([]byte, 0, len(v)), v...)
		return nil, del(tx, tRecords, k)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteRecord implements store.Store.
func (s *Store) DeleteRecord(ctx context.Context, ns, key string) error {
	if err := store.CheckKey(ns, key); err != nil {
		return err
	}
	k := joinKey(ns, key)
	return s.write(ctx, func(tx *bolt.Tx, now int64) (error, error) {
		_, old, _, err := get(tx, tRecords, k, now)
		if err != nil || old == 0 {
			return nil, err
		}
		return nil, del(tx, tRecords, k)
	})
}

// AddStatusList implements store.Store.
func (s *Store) AddStatusList(ctx context.Context, list string, exp time.Time) error {
	if err := store.CheckList(list); err != nil {
		return err
	}
	return s.extend(ctx, tLists, []byte(list), exp.UnixNano())
}

// StatusLists implements store.Store: one read transaction over the
// registry, whose keys bbolt keeps sorted.
func (s *Store) StatusLists(context.Context) ([]string, error) {
	var ids []string
	err := s.view(func(tx *bolt.Tx) error {
		now := s.nowNano()
		c := tx.Bucket(bucketLists).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) != 8 {
				return errMalformed(tLists)
			}
			if int64(binary.BigEndian.Uint64(v)) > now {
				ids = append(ids, string(k))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// bitsExp returns the expiry of a status list's bucket.
func bitsExp(sub *bolt.Bucket) (int64, error) {
	v := sub.Get(keyBitsExp)
	if len(v) != 8 {
		return 0, errMalformed(tBits)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// SetStatus implements store.Store: the list's bits are a bucket of
// 8-byte big-endian indexes, which bbolt keeps in ascending order.
func (s *Store) SetStatus(ctx context.Context, list string, idx uint64, exp time.Time) error {
	if err := store.CheckStatus(list, idx); err != nil {
		return err
	}
	key, e, bit := []byte(list), exp.UnixNano(), putU64(nil, idx)
	return s.write(ctx, func(tx *bolt.Tx, now int64) (error, error) {
		b := tx.Bucket(bucketBits)
		sub := b.Bucket(key)
		var old int64
		if sub != nil {
			var err error
			if old, err = bitsExp(sub); err != nil {
				return nil, err
			}
			if old <= now { // expired, not yet purged: start afresh
				if err := b.DeleteBucket(key); err != nil {
					return nil, err
				}
				sub, old = nil, 0
			}
		}
		if sub == nil {
			if e <= now {
				return nil, nil
			}
			var err error
			if sub, err = b.CreateBucket(key); err != nil {
				return nil, err
			}
		}
		if err := sub.Put(bit, []byte{}); err != nil {
			return nil, err
		}
		if e > old {
			return nil, sub.Put(keyBitsExp, putU64(nil, uint64(e)))
		}
		return nil, nil
	})
}

// StatusIndexes implements store.Store: one read transaction, a cursor
// over the list's set bits only.
func (s *Store) StatusIndexes(_ context.Context, list string) ([]uint64, error) {
	if err := store.CheckList(list); err != nil {
		return nil, err
	}
	var idx []uint64
	err := s.view(func(tx *bolt.Tx) error {
		sub := tx.Bucket(bucketBits).Bucket([]byte(list))
		if sub == nil {
			return nil
		}
		exp, err := bitsExp(sub)
		if err != nil || exp <= s.nowNano() {
			return err
		}
		c := sub.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) == 8 {
				idx = append(idx, binary.BigEndian.Uint64(k))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return idx, nil
}

// StatusBit implements store.Store: one read transaction, one lookup in
// the list's bucket.
func (s *Store) StatusBit(_ context.Context, list string, idx uint64) (bool, error) {
	if err := store.CheckStatus(list, idx); err != nil {
		return false, err
	}
	var set bool
	err := s.view(func(tx *bolt.Tx) error {
		sub := tx.Bucket(bucketBits).Bucket([]byte(list))
		if sub == nil {
			return nil
		}
		exp, err := bitsExp(sub)
		if err != nil || exp <= s.nowNano() {
			return err
		}
		set = sub.Get(putU64(nil, idx)) != nil
		return nil
	})
	return set, err
}

// Ping implements store.Store: a read transaction, which fails once the
// store is closed or found damaged.
func (s *Store) Ping(context.Context) error {
	return s.view(func(*bolt.Tx) error { return nil })
}

// AcquireLease implements store.Leaser. The file is private to one
// process, so its leases only arbitrate between goroutines of that
// process.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := checkLease(name, holder); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, invalid("lease ttl not positive")
	}
	var ok bool
	key := []byte(name)
	err := s.write(ctx, func(tx *bolt.Tx, now int64) (error, error) {
		ok = false
		v, _, live, err := get(tx, tLeases, key, now)
		if err != nil {
			return nil, err
		}
		if live && string(v) != holder {
			return nil, nil
		}
		exp := now + int64(ttl)
		if exp < now { // overflow: a ttl of centuries
			exp = 1<<63 - 1
		}
		ok = true
		return nil, put(tx, tLeases, key, exp, []byte(holder))
	})
	return ok && err == nil, err
}

// ReleaseLease implements store.Leaser.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := checkLease(name, holder); err != nil {
		return err
	}
	key := []byte(name)
	return s.write(ctx, func(tx *bolt.Tx, now int64) (error, error) {
		v, _, live, err := get(tx, tLeases, key, now)
		if err != nil || !live || string(v) != holder {
			return nil, err
		}
		return nil, del(tx, tLeases, key)
	})
}

func checkLease(name, holder string) error {
	if name == "" {
		return invalid("empty lease name")
	}
	if holder == "" {
		return invalid("empty lease holder")
	}
	return nil
}
