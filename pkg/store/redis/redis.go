package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/sealedtoken/issuer/pkg/store"
)

// Compile-time interface checks.
var (
	_ store.Store  = (*Store)(nil)
	_ store.Leaser = (*Store)(nil)
)

// Errors returned by New. Match them with errors.Is.
var (
	// ErrURL means the store URL is not a valid redis:// or rediss:// URL.
	// The error text never repeats the URL, which may hold a password.
	ErrURL = errors.New("redis: invalid store URL")
	// ErrEvictionPolicy means the server may evict keys under memory
	// pressure (maxmemory set, maxmemory-policy not noeviction), which
	// could forget a redeemed code; see the package documentation.
	ErrEvictionPolicy = errors.New("redis: server may evict keys: set maxmemory-policy noeviction")
)

// Defaults of the connection settings.
const (
	DefaultPrefix  = "issuer:"
	DefaultTimeout = time.Second
)

// Store is the Redis store.Store and store.Leaser. Create it with New and
// release it with Close. It is safe for concurrent use.
type Store struct {
	c      *goredis.Client
	prefix string
}

// New connects to the Redis server named by rawURL,
//
//	redis://[[user]:password@]host[:port][/db][?option=value...]
//	rediss://...   (TLS, server name checked against host)
//
// with the query options go-redis understands (dial_timeout, read_timeout,
// pool_size, ...); timeouts not set there default to DefaultTimeout. New
// checks the server with PING within ctx, refuses a server that may evict
// keys (ErrEvictionPolicy), and loads the scripts. A malformed URL is
// ErrURL; an unreachable server is an error wrapping store.ErrUnavailable,
// so a caller may retry. Retries are always disabled (see the package
// documentation), whatever the URL says.
func New(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	o := options{prefix: DefaultPrefix}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt.apply(&o); err != nil {
			return nil, err
		}
	}
	ro, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	for _, d := range []*time.Duration{&ro.DialTimeout, &ro.ReadTimeout, &ro.WriteTimeout, &ro.PoolTimeout} {
		switch {
		case o.timeout > 0:
			*d = o.timeout
		case *d == 0:
			*d = DefaultTimeout
		}
	}
	if o.poolSize > 0 {
		ro.PoolSize = o.poolSize
	}
	if o.tls != nil {
		ro.TLSConfig = o.tls.Clone()
	}
	ro.MaxRetries = -1
	if ro.DialerRetries == 0 {
		ro.DialerRetries = 1
	}
	// Deadlines from ctx bound every command, besides the timeouts above.
	ro.ContextTimeoutEnabled = true
	// Two handshake round trips a new connection does not need.
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

	s := &Store{c: goredis.NewClient(ro), prefix: o.prefix}
	if err := s.check(ctx); err != nil {
		_ = s.c.Close()
		return nil, err
	}
	return s, nil
}

// parseURL wraps goredis.ParseURL, accepting only redis and rediss. Its
// errors are fixed texts (urlProblems) that quote nothing from the URL: a
// password with an unescaped '/', '?' or '#' ends up in the path, query or
// fragment, where a quoting error would print part of it.
func parseURL(rawURL string) (*goredis.Options, error) {
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		return nil, urlError(problemMalformed)
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return nil, urlError(problemScheme)
	case u.Host == "":
		return nil, urlError(problemHost)
	case strings.Contains(rawURL, "#"):
		return nil, urlError(problemFragment)
	}
	ro, err := goredis.ParseURL(rawURL)
	if err != nil {
		switch msg := err.Error(); {
		case strings.Contains(msg, "database number"):
			return nil, urlError(problemDB)
		case strings.Contains(msg, "URL path"):
			return nil, urlError(problemPath)
		case strings.Contains(msg, "unexpected option"):
			return nil, urlError(problemOption)
		default:
			return nil, urlError(problemOptionValue)
		}
	}
	return ro, nil
}

// The reasons a store URL is refused.
const (
	problemMalformed   = "malformed URL (percent-encode special characters in the password)"
	problemScheme      = "scheme must be redis or rediss"
	problemHost        = "no host"
	problemFragment    = "a '#' fragment is not allowed (percent-encode '#' in the password as %23)"
	problemDB          = "invalid database number"
	problemPath        = "path must be empty or /<database number>"
	problemOption      = "unknown query option"
	problemOptionValue = "invalid query option value"
)

var urlProblems = []string{
	problemMalformed, problemScheme, problemHost, problemFragment,
	problemDB, problemPath, problemOption, problemOptionValue,
}

func urlError(problem string) error { return fmt.Errorf("%w: %s", ErrURL, problem) }

// check pings the server, refuses evicting servers and loads the scripts.
func (s *Store) check(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return err
	}
	// CONFIG may be disabled or renamed on managed servers; then the
	// operator is trusted (see the package documentation).
	if cfg, err := s.c.ConfigGet(ctx, "maxmemory*").Result(); err == nil {
		if mm := cfg["maxmemory"]; mm != "" && mm != "0" && cfg["maxmemory-policy"] != "noeviction" {
			return fmt.Errorf("%w (maxmemory-policy is %s)", ErrEvictionPolicy, cfg["maxmemory-policy"])
		}
	} else if isTransport(err) {
		return unavailable(ctx, "config", err)
	}
	for _, sc := range scripts {
		if err := sc.Load(ctx, s.c).Err(); err != nil {
			return unavailable(ctx, "script load", err)
		}
	}
	return nil
}

// Close closes the connections. Calls after Close fail with
// store.ErrUnavailable.
func (s *Store) Close() error { return s.c.Close() }

// unavailable wraps err, a failure to get an answer, with
// store.ErrUnavailable, and with ctx's error if ctx is done: the network
// deadline taken from ctx surfaces as an i/o timeout, and callers may want
// to tell their own deadline from a stalled server with errors.Is(err,
// context.DeadlineExceeded).
func unavailable(ctx context.Context, op string, err error) error {
	cerr := ctx.Err()
	if d, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(d) {
		// The network deadline fired before ctx's own timer did.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: redis %s: %w (%w)", store.ErrUnavailable, op, err, cerr)
	}
	return fmt.Errorf("%w: redis %s: %w", store.ErrUnavailable, op, err)
}

// isTransport reports whether err is a failure to talk to the server rather
// than the server's error reply.
func isTransport(err error) bool {
	var re goredis.Error
	return !errors.As(err, &re)
}

func invalid(what string) error {
	return fmt.Errorf("redis: %s: %w", what, store.ErrInvalidArgument)
}

// Key names; see the package documentation, "Keys".
func (s *Store) codeKey(id string) string       { return s.prefix + "code:" + id }
func (s *Store) familyKey(fid string) string    { return s.prefix + "fam:{" + fid + "}" }
func (s *Store) familyRevKey(fid string) string { return s.prefix + "famrev:{" + fid + "}" }
func (s *Store) tokenKey(jti string) string     { return s.prefix + "tok:" + jti }
func (s *Store) leaseKey(name string) string    { return s.prefix + "lease:" + name }
func (s *Store) onceKey(ns, key string) string  { return s.prefix + "once:" + nsKey(ns, key) }
func (s *Store) recordKey(ns, key string) string {
	return s.prefix + "rec:" + nsKey(ns, key)
}
func (s *Store) listsKey() string                { return s.prefix + "statuslists" }
func (s *Store) statusKey(list string) string    { return s.prefix + "st:{" + list + "}" }
func (s *Store) statusExpKey(list string) string { return s.prefix + "stexp:{" + list + "}" }

// nsKey joins a namespace and a key as "<len(ns)>:<ns>:<key>", so no two
// pairs join alike whatever bytes they hold.
func nsKey(ns, key string) string {
	return strconv.Itoa(len(ns)) + ":" + ns + ":" + key
}

// unixMilli converts exp to the PXAT argument: Unix milliseconds rounded up,
// so Redis never drops an entry before exp, and at least 1, which PXAT
// requires; an instant before 1970 is long past either way.
func unixMilli(exp time.Time) string {
	ms := exp.UnixMilli()
	if exp.After(time.UnixMilli(ms)) {
		ms++
	}
	return strconv.FormatInt(max(ms, 1), 10)
}

// RedeemCode implements store.Store with SET key 1 NX PXAT exp.
func (s *Store) RedeemCode(ctx context.Context, codeID string, exp time.Time) error {
	if codeID == "" {
		return invalid("empty code id")
	}
	err := s.c.Do(ctx, "SET", s.codeKey(codeID), "1", "NX", "PXAT", unixMilli(exp)).Err()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, goredis.Nil):
		return store.ErrCodeReused
	default:
		return unavailable(ctx, "redeem code", err)
	}
}

// RotateRefresh implements store.Store with one script. A presented
// generation other than the current one is reported as ErrRefreshReused
// even when the family is already revoked, so all losers of a race see
// reuse; the current generation of a revoked family is ErrFamilyRevoked.
// A revocation lasts until the latest expiry the family was ever given.
func (s *Store) RotateRefresh(ctx context.Context, fid string, gen uint64, exp time.Time) error {
	if fid == "" {
		return invalid("empty family id")
	}
	// gen+1 cannot wrap in practice: a family reaches generation 2^64-1
	// only after as many rotations.
	n, err := rotateScript.Run(ctx, s.c,
		[]string{s.familyKey(fid), s.familyRevKey(fid)},
		strconv.FormatUint(gen, 10), strconv.FormatUint(gen+1, 10), unixMilli(exp),
	).Int64()
	if err != nil {
		return unavailable(ctx, "rotate refresh", err)
	}
	switch n {
	case rotated:
		return nil
	case reused:
		return store.ErrRefreshReused
	case familyRevoked:
		return store.ErrFamilyRevoked
	default:
		return unavailable(ctx, "rotate refresh", fmt.Errorf("unexpected script result %d", n))
	}
}

// RevokeFamily implements store.Store. The revocation lasts until the
// latest of exp, an earlier revocation and the family's generation record.
func (s *Store) RevokeFamily(ctx context.Context, fid string, exp time.Time) error {
	if fid == "" {
		return invalid("empty family id")
	}
	err := revokeScript.Run(ctx, s.c, []string{s.familyRevKey(fid), s.familyKey(fid)}, unixMilli(exp)).Err()
	if err != nil {
		return unavailable(ctx, "revoke family", err)
	}
	return nil
}

// FamilyRevoked implements store.Store with EXISTS.
func (s *Store) FamilyRevoked(ctx context.Context, fid string) (bool, error) {
	if fid == "" {
		return false, invalid("empty family id")
	}
	return s.exists(ctx, "family revoked", s.familyRevKey(fid))
}

// RefreshState implements store.Store with one MGET of the family's
// generation record and revocation marker, which share a hash tag and so a
// Cluster slot; MGET needs no script and reads both keys atomically. A
// generation record the store did not write fails closed, as in
// RotateRefresh: an error wrapping store.ErrUnavailable. (MGET reads a
// key of another type, which the store never writes, as missing.)
func (s *Store) RefreshState(ctx context.Context, fid string) (generation uint64, revoked bool, err error) {
	if fid == "" {
		return 0, false, invalid("empty family id")
	}
	vals, err := s.c.MGet(ctx, s.familyKey(fid), s.familyRevKey(fid)).Result()
	if err != nil {
		return 0, false, unavailable(ctx, "refresh state", err)
	}
	if len(vals) != 2 {
		return 0, false, unavailable(ctx, "refresh state", fmt.Errorf("MGET returned %d values for 2 keys", len(vals)))
	}
	if rec, ok := vals[0].(string); ok {
		if generation, ok = parseFamilyRecord(rec); !ok {
			return 0, false, unavailable(ctx, "refresh state", errMalformedRecord)
		}
	} else if vals[0] != nil {
		return 0, false, unavailable(ctx, "refresh state", errMalformedRecord)
	}
	return generation, vals[1] != nil, nil
}

// errMalformedRecord means a family's generation record is not one the
// store wrote. It repeats nothing of the record.
var errMalformedRecord = errors.New("redis: malformed refresh family record")

// parseFamilyRecord parses a generation record "<gen>:<exp ms>", both
// decimal, as rotateScript writes and checks it. The generation must be in
// the canonical form strconv.FormatUint writes: rotateScript compares
// generations as strings, so a record "01" would take no presented
// generation as current, and reading it as 1 would disagree.
func parseFamilyRecord(rec string) (generation uint64, ok bool) {
	g, e, found := strings.Cut(rec, ":")
	if !found || !isDigits(g) || !isDigits(e) || (len(g) > 1 && g[0] == '0') {
		return 0, false
	}
	generation, err := strconv.ParseUint(g, 10, 64)
	if err != nil { // beyond 64 bits
		return 0, false
	}
	return generation, true
}

// isDigits reports whether s is one or more ASCII digits, the Lua pattern
// %d+ of rotateScript.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// RevokeToken implements store.Store. The revocation lasts until the later
// of exp and an earlier revocation.
func (s *Store) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	if jti == "" {
		return invalid("empty token id")
	}
	if err := revokeScript.Run(ctx, s.c, []string{s.tokenKey(jti)}, unixMilli(exp)).Err(); err != nil {
		return unavailable(ctx, "revoke token", err)
	}
	return nil
}

// TokenRevoked implements store.Store with EXISTS.
func (s *Store) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	if jti == "" {
		return false, invalid("empty token id")
	}
	return s.exists(ctx, "token revoked", s.tokenKey(jti))
}

func (s *Store) exists(ctx context.Context, op, key string) (bool, error) {
	n, err := s.c.Exists(ctx, key).Result()
	if err != nil {
		return false, unavailable(ctx, op, err)
	}
	return n == 1, nil
}

// UseOnce implements store.Store with SET key 1 NX PXAT exp.
func (s *Store) UseOnce(ctx context.Context, ns, key string, exp time.Time) error {
	if err := store.CheckKey(ns, key); err != nil {
		return err
	}
	err := s.c.Do(ctx, "SET", s.onceKey(ns, key), "1", "NX", "PXAT", unixMilli(exp)).Err()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, goredis.Nil):
		return store.ErrReplay
	default:
		return unavailable(ctx, "use once", err)
	}
}

// PutRecord implements store.Store with SET key value PXAT exp, or DEL
// when exp is past.
func (s *Store) PutRecord(ctx context.Context, ns, key string, value []byte, exp time.Time) error {
	if err := store.CheckKey(ns, key); err != nil {
		return err
	}
	if err := store.CheckValue(value); err != nil {
		return err
	}
	var err error
	if !exp.After(time.Now()) {
		err = s.c.Del(ctx, s.recordKey(ns, key)).Err()
	} else {
		err = s.c.Do(ctx, "SET", s.recordKey(ns, key), value, "PXAT", unixMilli(exp)).Err()
	}
	if err != nil {
		return unavailable(ctx, "put record", err)
	}
	return nil
}

// GetRecord implements store.Store with GET.
func (s *Store) GetRecord(ctx context.Context, ns, key string) ([]byte, error) {
	if err := store.CheckKey(ns, key); err != nil {
		return nil, err
	}
	return s.record(ctx, "get record", s.c.Get(ctx, s.recordKey(ns, key)))
}

// TakeRecord implements store.Store with GETDEL (Redis 6.2), atomic on the
// server.
func (s *Store) TakeRecord(ctx context.Context, ns, key string) ([]byte, error) {
	if err := store.CheckKey(ns, key); err != nil {
		return nil, err
	}
	return s.record(ctx, "take record", s.c.GetDel(ctx, s.recordKey(ns, key)))
}

func (s *Store) record(ctx context.Context, op string, cmd *goredis.StringCmd) ([]byte, error) {
	b, err := cmd.Bytes()
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, goredis.Nil):
		return nil, store.ErrNotFound
	default:
		return nil, unavailable(ctx, op, err)
	}
}

// DeleteRecord implements store.Store with DEL.
func (s *Store) DeleteRecord(ctx context.Context, ns, key string) error {
	if err := store.CheckKey(ns, key); err != nil {
		return err
	}
	if err := s.c.Del(ctx, s.recordKey(ns, key)).Err(); err != nil {
		return unavailable(ctx, "delete record", err)
	}
	return nil
}

// AddStatusList implements store.Store with one script on the registry, a
// sorted set scored by expiry.
func (s *Store) AddStatusList(ctx context.Context, list string, exp time.Time) error {
	if err := store.CheckList(list); err != nil {
		return err
	}
	now := time.Now()
	if !exp.After(now) {
		return nil
	}
	err := addListScript.Run(ctx, s.c, []string{s.listsKey()}, list, unixMilli(exp), strconv.FormatInt(now.UnixMilli(), 10)).Err()
	if err != nil {
		return unavailable(ctx, "add status list", err)
	}
	return nil
}

// StatusLists implements store.Store with ZRANGEBYSCORE of the lists whose
// expiry is after now.
func (s *Store) StatusLists(ctx context.Context) ([]string, error) {
	ids, err := s.c.ZRangeByScore(ctx, s.listsKey(), &goredis.ZRangeBy{
		Min: "(" + strconv.FormatInt(time.Now().UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, unavailable(ctx, "status lists", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// SetStatus implements store.Store with one script: SADD to the list's set
// of set indexes, whose expiry only grows. A set, not a bitmap: a list of
// 2^20 tokens with a few revoked costs a few members, and StatusIndexes
// reads only those, where a bitmap would cost 128 KiB from the first
// SETBIT, and reading it back would mean fetching and scanning all of it.
func (s *Store) SetStatus(ctx context.Context, list string, idx uint64, exp time.Time) error {
	if err := store.CheckStatus(list, idx); err != nil {
		return err
	}
	if !exp.After(time.Now()) {
		return nil
	}
	err := setStatusScript.Run(ctx, s.c, []string{s.statusKey(list), s.statusExpKey(list)},
		strconv.FormatUint(idx, 10), unixMilli(exp)).Err()
	if err != nil {
		return unavailable(ctx, "set status", err)
	}
	return nil
}

// StatusIndexes implements store.Store with SMEMBERS, sorted here. A
// member the store did not write fails closed with an error wrapping
// store.ErrUnavailable.
func (s *Store) StatusIndexes(ctx context.Context, list string) ([]uint64, error) {
	if err := store.CheckList(list); err != nil {
		return nil, err
	}
	members, err := s.c.SMembers(ctx, s.statusKey(list)).Result()
	if err != nil {
		return nil, unavailable(ctx, "status indexes", err)
	}
	if len(members) == 0 {
		return nil, nil
	}
	idx := make([]uint64, len(members))
	for i, m := range members {
		n, err := strconv.ParseUint(m, 10, 64)
		if err != nil || n > store.MaxStatusIndex {
			return nil, unavailable(ctx, "status indexes", errMalformedStatus)
		}
		idx[i] = n
	}
	slices.Sort(idx)
	return idx, nil
}

// StatusBit implements store.Store with SISMEMBER; the set expires with
// the list's bits.
func (s *Store) StatusBit(ctx context.Context, list string, idx uint64) (bool, error) {
	if err := store.CheckStatus(list, idx); err != nil {
		return false, err
	}
	set, err := s.c.SIsMember(ctx, s.statusKey(list), strconv.FormatUint(idx, 10)).Result()
	if err != nil {
		return false, unavailable(ctx, "status bit", err)
	}
	return set, nil
}

// errMalformedStatus means a status list's set holds a member that is not
// an index the store wrote.
var errMalformedStatus = errors.New("redis: malformed status list member")

// Ping implements store.Store with PING.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return unavailable(ctx, "ping", err)
	}
	return nil
}

// AcquireLease implements store.Leaser with one script: SET PX if the lease
// is free, PEXPIRE if holder holds it. The ttl runs on the server's clock,
// rounded up to whole milliseconds.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := checkLease(name, holder); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, invalid("lease ttl not positive")
	}
	ms := (ttl + time.Millisecond - 1) / time.Millisecond
	n, err := acquireScript.Run(ctx, s.c, []string{s.leaseKey(name)}, holder, strconv.FormatInt(int64(ms), 10)).Int64()
	if err != nil {
		return false, unavailable(ctx, "acquire lease", err)
	}
	return n == 1, nil
}

// ReleaseLease implements store.Leaser with a compare-and-delete script.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := checkLease(name, holder); err != nil {
		return err
	}
	if err := releaseScript.Run(ctx, s.c, []string{s.leaseKey(name)}, holder).Err(); err != nil {
		return unavailable(ctx, "release lease", err)
	}
	return nil
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
