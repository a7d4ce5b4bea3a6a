package redis

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// RingStorage is a keys.Storage that keeps the issuer's key rings in this
// Redis (SPEC §9 "Replicas without a shared volume", config keys.store:
// redis), so that replicas share nothing but Redis.
//
// Each ring is one hash, "<prefix>keyring:<name>", with two fields: "rev",
// its version (a counter and a hash of the document, see ringWriteScript),
// and "data", the ring document keys.Marshal writes
// (wrapped with the key-encryption key: the issuer refuses keys.store redis
// without one). The keys never expire. Read polls with one HGET of "rev"
// and reads "data" (HMGET of both, atomic) only when the version moved.
// Write is a Lua compare-and-set: it stores the document and increments
// "rev" only if "rev" is still the version the writer read (absent for a
// create), so a writer that lost the rotation lease, or planned from an
// older ring, cannot overwrite a newer ring (keys.ErrConflict).
//
// A value that is not a ring — a missing "data", a document that does not
// parse — is refused by the keys.Manager reading it, which keeps its last
// good ring. Errors reaching Redis wrap store.ErrUnavailable. It is safe
// for concurrent use.
type RingStorage struct {
	s *Store
}

var (
	_ keys.Storage  = (*RingStorage)(nil)
	_ keys.Restorer = (*RingStorage)(nil)
)

// RestoreLostRings implements keys.Restorer: a ring that vanished from
// Redis (a restart without persistence, a FLUSHDB) is written back by the
// lease holder from memory at its next tick, create-only.
func (r *RingStorage) RestoreLostRings() bool { return true }

// Rings returns the key-ring storage of s. It shares s's connections and
// key prefix.
func (s *Store) Rings() *RingStorage { return &RingStorage{s: s} }

func (r *RingStorage) key(name string) string { return r.s.prefix + "keyring:" + name }

// Location returns the Redis key of ring name, for messages.
func (r *RingStorage) Location(name string) string { return "redis key " + strconv.Quote(r.key(name)) }

// Hash fields of a ring.
const (
	ringRev  = "rev"
	ringData = "data"
)

// Read implements keys.Storage.
func (r *RingStorage) Read(ctx context.Context, name string, since keys.Revision) ([]byte, keys.Revision, error) {
	key := r.key(name)
	if since != "" {
		cur, err := r.s.c.HGet(ctx, key, ringRev).Result()
		switch {
		case errors.Is(err, goredis.Nil):
			return nil, "", r.missing(name)
		case err != nil:
			return nil, "", unavailable(ctx, "read key ring", err)
		case keys.Revision(cur) == since:
			return nil, since, nil
		}
	}
	vals, err := r.s.c.HMGet(ctx, key, ringRev, ringData).Result()
	if err != nil {
		return nil, "", unavailable(ctx, "read key ring", err)
	}
	rev, _ := vals[0].(string)
	data, _ := vals[1].(string)
	switch {
	case rev == "" && vals[1] == nil:
		return nil, "", r.missing(name)
	case rev == "":
		return nil, "", fmt.Errorf("redis: key ring %s has no version: %w", r.Location(name), keys.ErrFormat)
	case keys.Revision(rev) == since:
		return nil, since, nil
	case vals[1] == nil:
		return nil, keys.Revision(rev), fmt.Errorf("redis: key ring %s has a version but no data: %w", r.Location(name), keys.ErrFormat)
	}
	return []byte(data), keys.Revision(rev), nil
}

func (r *RingStorage) missing(name string) error {
	return fmt.Errorf("redis: key ring %s: %w", r.Location(name), fs.ErrNotExist)
}

// Results of ringWriteScript other than a new version (positive).
const (
	ringExists   = -1
	ringConflict = -2
)

// ringWriteScript stores a ring document if the ring's version is still the
// writer's.
//
//	KEYS[1]  the ring's hash
//	ARGV[1]  the version the writer read, "" for a create
//	ARGV[2]  the document
//
// A version is "<n>.<h>": a counter n, one more at every write, and h, 16
// hex digits of the SHA-1 of the document. The counter orders writes; the
// hash keeps a ring that was lost and created anew (its counter starting
// at 1 again) from being taken for the ring a reader last saw. It returns
// the new version, or -1 (a create found the ring) or -2 (the version
// moved on, or the ring was deleted).
var ringWriteScript = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'rev')
if ARGV[1] == '' then
  if cur or redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
elseif cur ~= ARGV[1] then
  return -2
end
local n = tonumber(string.match(cur or '', '^(%d+)%.')) or 0
local v = tostring(n + 1) .. '.' .. string.sub(redis.sha1hex(ARGV[2]), 1, 16)
redis.call('HSET', KEYS[1], 'rev', v, 'data', ARGV[2])
return v
`)

// Write implements keys.Storage.
func (r *RingStorage) Write(ctx context.Context, name string, data []byte, prev keys.Revision) (keys.Revision, error) {
	res, err := ringWriteScript.Run(ctx, r.s.c, []string{r.key(name)}, string(prev), data).Result()
	if err != nil {
		return "", unavailable(ctx, "write key ring", err)
	}
	switch v := res.(type) {
	case string:
		return keys.Revision(v), nil
	case int64:
		switch v {
		case ringExists:
			return "", fmt.Errorf("%w: %s", keys.ErrExist, r.Location(name))
		case ringConflict:
			return "", fmt.Errorf("%w: %s", keys.ErrConflict, r.Location(name))
		}
	}
	return "", unavailable(ctx, "write key ring", fmt.Errorf("unexpected script result %v", res))
}
