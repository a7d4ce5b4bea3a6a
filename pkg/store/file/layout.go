package file

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The layout of the file, format version 1. Every value starts with its
// expiry, Unix nanoseconds as a big-endian uint64; an entry is live while
// the clock is before it. Multi-byte numbers are big-endian.
//
//	meta      "format" -> "1"
//	codes     code id -> exp
//	families  family id -> exp, generation (8), revoked (1: 0 or 1)
//	tokens    token id -> exp
//	leases    name -> exp, holder
//	once      len(ns) (1), ns, key -> exp
//	records   len(ns) (1), ns, key -> exp, value
//	lists     list id -> exp
//	bits      list id -> bucket: "e" -> exp; index (8) -> ""
//	expiry    exp, table tag (1), key -> ""   (the purge's index)
//
// The expiry index holds exactly one entry per stored entry, moved
// whenever the entry's expiry changes, so the purge walks it in expiry
// order and removes what it finds, a bounded number at a time.

// table is a bucket with its tag in the expiry index.
type table struct {
	name []byte
	tag  byte
}

var (
	tCodes    = table{bucketCodes, 'c'}
	tFamilies = table{bucketFamilies, 'f'}
	tTokens   = table{bucketTokens, 't'}
	tLeases   = table{bucketLeases, 'l'}
	tOnce     = table{bucketOnce, 'o'}
	tRecords  = table{bucketRecords, 'r'}
	tLists    = table{bucketLists, 's'}
	tBits     = table{bucketBits, 'b'}

	tablesByTag = map[byte]table{
		'c': tCodes, 'f': tFamilies, 't': tTokens, 'l': tLeases,
		'o': tOnce, 'r': tRecords, 's': tLists, 'b': tBits,
	}
)

// keyBitsExp is the key of a status list's expiry inside its bucket; set
// bits have 8-byte keys.
var keyBitsExp = []byte("e")

// errMalformed is a value of the wrong shape: the file was changed by
// something other than this package. The error names the table, never
// the key (a client's id).
func errMalformed(t table) error {
	return corruptError{fmt.Errorf("%w: malformed entry in the %s table", ErrCorrupt, t.name)}
}

func putU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// expiryKey is the expiry index's key of key in table t.
func expiryKey(exp int64, t table, key []byte) []byte {
	k := make([]byte, 0, 9+len(key))
	k = putU64(k, uint64(exp))
	k = append(k, t.tag)
	return append(k, key...)
}

// expiryOf returns the expiry of an expiry-index key.
func expiryOf(k []byte) int64 {
	if len(k) < 9 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(k))
}

// get returns the value of key in table t, without its expiry, and the
// expiry; live reports whether the entry exists and is unexpired. An
// expired entry is returned with live false and its exp, so a write over
// it can move its index entry. The value is valid only in tx.
func get(tx *bolt.Tx, t table, key []byte, now int64) (val []byte, exp int64, live bool, err error) {
	v := tx.Bucket(t.name).Get(key)
	if v == nil {
		return nil, 0, false, nil
	}
	if len(v) < 8 {
		return nil, 0, false, errMalformed(t)
	}
	exp = int64(binary.BigEndian.Uint64(v))
	return v[8:], exp, exp > now, nil
}

// put stores key in table t with expiry exp and the given value, and
// moves its expiry-index entry from old (0: none) to exp.
func put(tx *bolt.Tx, t table, key []byte, old, exp int64, value ...[]byte) error {
	n := 8
	for _, v := range value {
		n += len(v)
	}
	v := putU64(make([]byte, 0, n), uint64(exp))
	for _, p := range value {
		v = append(v, p...)
	}
	if err := tx.Bucket(t.name).Put(key, v); err != nil {
		return err
	}
	return moveExpiry(tx, t, key, old, exp)
}

// del removes key, whose expiry is old, from table t and from the index.
func del(tx *bolt.Tx, t table, key []byte, old int64) error {
	if err := tx.Bucket(t.name).Delete(key); err != nil {
		return err
	}
	return tx.Bucket(bucketExpiry).Delete(expiryKey(old, t, key))
}

func moveExpiry(tx *bolt.Tx, t table, key []byte, old, exp int64) error {
	if old == exp {
		return nil
	}
	idx := tx.Bucket(bucketExpiry)
	if old != 0 {
		if err := idx.Delete(expiryKey(old, t, key)); err != nil {
			return err
		}
	}
	return idx.Put(expiryKey(exp, t, key), nil)
}

// purge removes up to limit entries whose expiry is not after now, in
// expiry order, and returns how many it removed.
func purge(tx *bolt.Tx, now int64, limit int) (int, error) {
	idx := tx.Bucket(bucketExpiry)
	var due [][]byte
	c := idx.Cursor()
	for k, _ := c.First(); k != nil && len(due) < limit && expiryOf(k) <= now; k, _ = c.Next() {
		due = append(due, append([]byte(nil), k...))
	}
	// Deleting under a cursor skips keys in bbolt: delete afterwards.
	for _, k := range due {
		if err := idx.Delete(k); err != nil {
			return 0, err
		}
		if len(k) < 9 {
			continue
		}
		t, ok := tablesByTag[k[8]]
		if !ok {
			continue
		}
		key := k[9:]
		if t.tag == tBits.tag {
			b := tx.Bucket(bucketBits)
			if sub := b.Bucket(key); sub != nil {
				if v := sub.Get(keyBitsExp); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > now {
					continue // extended since: its index entry is elsewhere
				}
				if err := b.DeleteBucket(key); err != nil {
					return 0, err
				}
			}
			continue
		}
		b := tx.Bucket(t.name)
		if v := b.Get(key); len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) <= now {
			if err := b.Delete(key); err != nil {
				return 0, err
			}
		}
	}
	return len(due), nil
}

// joinKey joins a namespace and a key into one bucket key. The
// namespace's length comes first (one byte: it is at most
// store.MaxNamespaceLen), so no two pairs join alike.
func joinKey(ns, key string) []byte {
	b := make([]byte, 0, 1+len(ns)+len(key))
	b = append(b, byte(len(ns)))
	b = append(b, ns...)
	return append(b, key...)
}
