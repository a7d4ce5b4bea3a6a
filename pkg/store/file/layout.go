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
//
// There is no index by expiry: keeping one costs a second B+tree path
// rewritten in every write transaction, which measured at 40% of the write
// rate. The purge scans the tables instead (purge.go): reads from the
// memory map, no fsync.

// table is a bucket of entries whose values start with their expiry; the
// bits table's entries are buckets holding their expiry under "e".
type table struct {
	name []byte
	bits bool
}

var (
	tCodes    = table{name: bucketCodes}
	tFamilies = table{name: bucketFamilies}
	tTokens   = table{name: bucketTokens}
	tLeases   = table{name: bucketLeases}
	tOnce     = table{name: bucketOnce}
	tRecords  = table{name: bucketRecords}
	tLists    = table{name: bucketLists}
	tBits     = table{name: bucketBits, bits: true}

	// purgeTables are the tables the purge scans, in order.
	purgeTables = []table{tCodes, tFamilies, tTokens, tLeases, tOnce, tRecords, tLists, tBits}
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

// get returns the value of key in table t, without its expiry, and the
// expiry; live reports whether the entry exists and is unexpired (an
// expired entry not yet purged is returned with live false and its exp).
// The value is valid only in tx.
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

// put stores key in table t with expiry exp and the given value.
func put(tx *bolt.Tx, t table, key []byte, exp int64, value ...[]byte) error {
	n := 8
	for _, v := range value {
		n += len(v)
	}
	v := putU64(make([]byte, 0, n), uint64(exp))
	for _, p := range value {
		v = append(v, p...)
	}
	return tx.Bucket(t.name).Put(key, v)
}

// del removes key from table t.
func del(tx *bolt.Tx, t table, key []byte) error {
	return tx.Bucket(t.name).Delete(key)
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
