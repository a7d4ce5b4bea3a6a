package redis

import goredis "github.com/redis/go-redis/v9"

// Results of rotateScript.
const (
	rotated       = 0
	reused        = 1
	familyRevoked = 2
)

// rotateScript advances a refresh family or revokes it (store.Store
// RotateRefresh). Generations are compared as decimal strings, so no
// generation loses precision in Lua's doubles; expiries, Unix milliseconds,
// are exact in doubles until the year 287,000.
//
//	KEYS[1]  generation record "<gen>:<exp ms>"
//	KEYS[2]  revocation marker "<exp ms>"
//	ARGV[1]  presented generation, ARGV[2] the next one, ARGV[3] exp ms
//
// The family is kept, and a revocation lasts, until the latest expiry the
// family was ever given.
var rotateScript = goredis.NewScript(`
local cur, exp = '0', ARGV[3]
local rec = redis.call('GET', KEYS[1])
if rec then
  local g, e = string.match(rec, '^(%d+):(%d+)$')
  if not g then return redis.error_reply('ERR issuer: malformed refresh family record') end
  cur = g
  if tonumber(e) > tonumber(exp) then exp = e end
end
if ARGV[1] ~= cur then
  local old = redis.call('GET', KEYS[2])
  if old and tonumber(old) and tonumber(old) > tonumber(exp) then exp = old end
  redis.call('SET', KEYS[2], exp, 'PXAT', exp)
  return 1
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
redis.call('SET', KEYS[1], ARGV[2] .. ':' .. exp, 'PXAT', exp)
return 0
`)

// revokeScript sets a revocation marker without ever shortening it.
//
//	KEYS[1]  revocation marker "<exp ms>"
//	KEYS[2]  optional: the family's generation record, whose expiry the
//	         revocation lasts at least until
//	ARGV[1]  exp ms
var revokeScript = goredis.NewScript(`
local exp = ARGV[1]
if KEYS[2] then
  local rec = redis.call('GET', KEYS[2])
  if rec then
    local e = string.match(rec, ':(%d+)$')
    if e and tonumber(e) > tonumber(exp) then exp = e end
  end
end
local old = redis.call('GET', KEYS[1])
if old and tonumber(old) and tonumber(old) >= tonumber(exp) then return 0 end
redis.call('SET', KEYS[1], exp, 'PXAT', exp)
return 1
`)

// acquireScript takes or renews a lease.
//
//	KEYS[1]  lease, holding the holder
//	ARGV[1]  holder, ARGV[2] ttl ms
var acquireScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// releaseScript deletes a lease if the holder holds it.
//
//	KEYS[1]  lease, ARGV[1] holder
var releaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// addListScript registers a status list in the registry, a sorted set
// scored by expiry, without ever shortening a list's expiry, and drops the
// lists that have expired. The registry itself expires with its
// longest-lived list.
//
//	KEYS[1]  registry: member list id, score exp ms
//	ARGV[1]  list id, ARGV[2] exp ms, ARGV[3] now ms (the issuer's clock)
var addListScript = goredis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not old or tonumber(old) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], top[2])
return 1
`)

// setStatusScript adds an index to a status list's set of set bits and
// keeps the set until the latest expiry it was ever given, which a marker
// key in the same slot records.
//
//	KEYS[1]  set of decimal indexes, KEYS[2] expiry marker "<exp ms>"
//	ARGV[1]  index, ARGV[2] exp ms
var setStatusScript = goredis.NewScript(`
local exp = ARGV[2]
local old = redis.call('GET', KEYS[2])
if old and tonumber(old) and tonumber(old) > tonumber(exp) then exp = old end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], exp)
redis.call('SET', KEYS[2], exp, 'PXAT', exp)
return 1
`)

var scripts = []*goredis.Script{rotateScript, revokeScript, acquireScript, releaseScript, addListScript, setStatusScript}
