package memory

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
)

// Compile-time interface checks.
var (
	_ store.Store  = (*Store)(nil)
	_ store.Leaser = (*Store)(nil)
)

// ErrFull means a table is full of live entries and a write needed room in
// it (see the package documentation, "Bounded memory"). It matches
// store.ErrUnavailable too, so callers that only know package store answer
// temporarily_unavailable.
var ErrFull error = fullError{}

type fullError struct{}

func (fullError) Error() string { return "memory: table full" }
func (fullError) Unwrap() error { return store.ErrUnavailable }

// DefaultMaxEntries is the default bound on each table's entries.
const DefaultMaxEntries = 1_000_000

// DefaultSweepInterval is the default period of the background sweep.
const DefaultSweepInterval = time.Second

const (
	maxShards = 64
	// minPerShard is the fewest entries a shard is planned for: small
	// bounds get fewer shards, so the per-shard bound stays meaningful.
	minPerShard = 4096
	// sweepPerWrite is how many expired entries each write removes from
	// its shard's table, so a table under steady writes stays clean even
	// without the background sweep.
	sweepPerWrite = 2
	// reserveDivisor sets the reserve of security-relevant revocations:
	// an eighth of each table's bound (see "Bounded memory").
	reserveDivisor = 8
)

// table names one of the tables of a shard.
type table uint8

const (
	codes    table = iota // redeemed authorization codes
	families              // refresh families: generation and revocation
	tokens                // revoked tokens
	leases                // leases
	once                  // single-use values (UseOnce)
	records               // records (PutRecord)
	lists                 // registered status lists
	bits                  // set status bits, one entry per list
	numTables
)

var tableNames = [numTables]string{
	"authorization codes", "refresh families", "revoked tokens", "leases",
	"single-use values", "records", "status lists", "status bits",
}

// entry is one row of a table. Fields beyond key, exp and idx are used by
// some tables only.
type entry struct {
	key     string
	exp     int64 // Unix nanoseconds; live while now < exp
	idx     int   // position in the heap
	gen     uint64
	holder  string
	revoked bool
	value   []byte   // records
	bits    []uint64 // status bits: the set indexes, ascending
}

// weight is what e counts against its table's bound: one entry, or in the
// status-bits table one per set bit.
func (e *entry) weight() int {
	if e.bits != nil {
		return len(e.bits)
	}
	return 1
}

// part is one table within one shard: a map for lookup and a min-heap on
// exp for expiry.
type part struct {
	m    map[string]*entry
	h    []*entry
	size int // sum of the entries' weights, which the bound limits
	peak int // most entries m held since it was last rebuilt
}

type shard struct {
	mu      sync.Mutex
	parts   [numTables]part
	max     int // entries per table in this shard
	reserve int // further entries only priority revocations may take
	_       [64]byte
}

// Store is the in-memory store.Store and store.Leaser. Create it with New
// and stop its background sweep with Close. It is safe for concurrent use.
type Store struct {
	now    func() time.Time
	seed   maphash.Seed
	mask   uint64
	shards []shard
	max    int

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// New returns an empty Store and starts its background sweep, which Close
// stops. Options are validated; an invalid one is an error wrapping
// store.ErrInvalidArgument.
func New(opts ...Option) (*Store, error) {
	o := options{now: time.Now, max: DefaultMaxEntries, sweep: DefaultSweepInterval}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt.apply(&o); err != nil {
			return nil, err
		}
	}
	n := 1
	for n*2 <= maxShards && n*2*minPerShard <= o.max {
		n *= 2
	}
	s := &Store{
		now:    o.now,
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		shards: make([]shard, n),
		max:    o.max,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	// Spread the bound exactly: the shards' bounds add up to o.max.
	for i := range s.shards {
		sh := &s.shards[i]
		sh.max = o.max / n
		if i < o.max%n {
			sh.max++
		}
		sh.reserve = max(sh.max/reserveDivisor, 1)
		for t := range sh.parts {
			sh.parts[t].m = make(map[string]*entry)
		}
	}
	if o.sweep > 0 {
		go s.sweepLoop(o.sweep)
	} else {
		close(s.done)
	}
	return s, nil
}

// Close stops the background sweep and waits for it to return. The store
// keeps answering afterwards. Close is idempotent and always returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *Store) sweepLoop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Sweep removes every expired entry now. The background sweep calls it
// periodically; calling it directly is only useful with WithSweepInterval(0).
func (s *Store) Sweep() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		now := s.nowNano()
		for t := range sh.parts {
			sh.expire(table(t), now, -1)
			sh.parts[t].compact()
		}
		sh.mu.Unlock()
	}
}

// compact rebuilds the map once it holds a quarter of its peak: Go maps
// never give back the room of deleted entries, and a burst should not pin
// its memory for the life of the process.
func (p *part) compact() {
	if p.peak <= 1024 || len(p.m) >= p.peak/4 {
		return
	}
	m := make(map[string]*entry, len(p.m))
	for k, e := range p.m {
		m[k] = e
	}
	p.m, p.peak = m, len(m)
}

// Lens is the size of each table: its entries, expired ones not yet
// removed included, and for StatusBits the set bits of all lists.
type Lens struct {
	Codes, Families, Tokens, Leases int
	UseOnce, Records                int
	StatusLists, StatusBits         int
}

// Len returns the size of each table. It is meant for metrics and tests.
func (s *Store) Len() Lens {
	var n [numTables]int
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for t := range sh.parts {
			n[t] += sh.parts[t].size
		}
		sh.mu.Unlock()
	}
	return Lens{
		Codes: n[codes], Families: n[families], Tokens: n[tokens], Leases: n[leases],
		UseOnce: n[once], Records: n[records], StatusLists: n[lists], StatusBits: n[bits],
	}
}

// MaxEntries returns the bound on each table's entries (WithMaxEntries).
// It is meant for metrics: with Len it tells how full each table is.
func (s *Store) MaxEntries() int { return s.max }

func (s *Store) nowNano() int64 { return s.now().UnixNano() }

func (s *Store) shard(key string) *shard {
	return &s.shards[maphash.String(s.seed, key)&s.mask]
}

// lock locks key's shard and removes a few expired entries of table t.
func (s *Store) lock(t table, key string) (sh *shard, now int64) {
	sh = s.shard(key)
	sh.mu.Lock()
	now = s.nowNano()
	sh.expire(t, now, sweepPerWrite)
	return sh, now
}

func invalid(what string) error {
	return fmt.Errorf("memory: %s: %w", what, store.ErrInvalidArgument)
}

// RedeemCode implements store.Store.
func (s *Store) RedeemCode(_ context.Context, codeID string, exp time.Time) error {
	if codeID == "" {
		return invalid("empty code id")
	}
	sh, now := s.lock(codes, codeID)
	defer sh.mu.Unlock()
	if sh.get(codes, codeID, now) != nil {
		return store.ErrCodeReused
	}
	_, err := sh.add(codes, codeID, exp.UnixNano(), now, false)
	return err
}

// RotateRefresh implements store.Store. A presented generation other than
// the current one is reported as ErrRefreshReused even when the family is
// already revoked, so all losers of a race see reuse; the current
// generation of a revoked family is ErrFamilyRevoked. A revocation lasts
// until the latest expiry the family was ever given.
func (s *Store) RotateRefresh(_ context.Context, fid string, gen uint64, exp time.Time) error {
	if fid == "" {
		return invalid("empty family id")
	}
	sh, now := s.lock(families, fid)
	defer sh.mu.Unlock()
	e := sh.get(families, fid, now)
	var cur uint64
	if e != nil {
		cur = e.gen
	}
	if gen != cur {
		if e == nil {
			var err error
			// Revoking on reuse is security-relevant: it may use the reserve.
			if e, err = sh.add(families, fid, exp.UnixNano(), now, true); err != nil {
				return err
			}
			if e == nil { // exp already past: nothing to keep
				return store.ErrRefreshReused
			}
		}
		e.revoked = true
		sh.extend(families, e, exp.UnixNano())
		return store.ErrRefreshReused
	}
	if e != nil && e.revoked {
		return store.ErrFamilyRevoked
	}
	// cur+1 cannot wrap: a family reaches generation 2^64-1 only after
	// as many rotations.
	if e == nil {
		e, err := sh.add(families, fid, exp.UnixNano(), now, false)
		if e != nil {
			e.gen = cur + 1
		}
		return err
	}
	e.gen = cur + 1
	sh.extend(families, e, exp.UnixNano())
	return nil
}

// RevokeFamily implements store.Store. The revocation lasts until the
// latest expiry the family was ever given. Revoking a family the table
// holds needs no room; a new entry marked with store.Priority may use the
// reserve.
func (s *Store) RevokeFamily(ctx context.Context, fid string, exp time.Time) error {
	if fid == "" {
		return invalid("empty family id")
	}
	sh, now := s.lock(families, fid)
	defer sh.mu.Unlock()
	e := sh.get(families, fid, now)
	if e == nil {
		var err error
		if e, err = sh.add(families, fid, exp.UnixNano(), now, store.IsPriority(ctx)); e == nil {
			return err
		}
	}
	e.revoked = true
	sh.extend(families, e, exp.UnixNano())
	return nil
}

// FamilyRevoked implements store.Store.
func (s *Store) FamilyRevoked(_ context.Context, fid string) (bool, error) {
	if fid == "" {
		return false, invalid("empty family id")
	}
	sh, now := s.lock(families, fid)
	defer sh.mu.Unlock()
	e := sh.get(families, fid, now)
	return e != nil && e.revoked, nil
}

// RefreshState implements store.Store. Like every read it never fails
// for a valid fid.
func (s *Store) RefreshState(_ context.Context, fid string) (generation uint64, revoked bool, err error) {
	if fid == "" {
		return 0, false, invalid("empty family id")
	}
	sh, now := s.lock(families, fid)
	defer sh.mu.Unlock()
	if e := sh.get(families, fid, now); e != nil {
		return e.gen, e.revoked, nil
	}
	return 0, false, nil
}

// RevokeToken implements store.Store. A revocation marked with
// store.Priority may use the reserve.
func (s *Store) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	if jti == "" {
		return invalid("empty token id")
	}
	sh, now := s.lock(tokens, jti)
	defer sh.mu.Unlock()
	if e := sh.get(tokens, jti, now); e != nil {
		sh.extend(tokens, e, exp.UnixNano())
		return nil
	}
	_, err := sh.add(tokens, jti, exp.UnixNano(), now, store.IsPriority(ctx))
	return err
}

// TokenRevoked implements store.Store.
func (s *Store) TokenRevoked(_ context.Context, jti string) (bool, error) {
	if jti == "" {
		return false, invalid("empty token id")
	}
	sh, now := s.lock(tokens, jti)
	defer sh.mu.Unlock()
	return sh.get(tokens, jti, now) != nil, nil
}

// joinKey joins a namespace and a key into one map key. The
// namespace's length comes first (one byte: it is at most
// store.MaxNamespaceLen), so no two pairs join alike.
func joinKey(ns, key string) string {
	b := make([]byte, 0, 1+len(ns)+len(key))
	b = append(b, byte(len(ns)))
	b = append(b, ns...)
	b = append(b, key...)
	return string(b)
}

// UseOnce implements store.Store.
func (s *Store) UseOnce(_ context.Context, ns, key string, exp time.Time) error {
	if err := store.CheckKey(ns, key); err != nil {
		return err
	}
	k := joinKey(ns, key)
	sh, now := s.lock(once, k)
	defer sh.mu.Unlock()
	if sh.get(once, k, now) != nil {
		return store.ErrReplay
	}
	_, err := sh.add(once, k, exp.UnixNano(), now, false)
	return err
}

// PutRecord implements store.Store. Replacing a record needs no room.
func (s *Store) PutRecord(_ context.Context, ns, key string, value []byte, exp time.Time) error {
	if err := store.CheckKey(ns, key); err != nil {
		return err
	}
	if err := store.CheckValue(value); err != nil {
		return err
	}
	k := joinKey(ns, key)
	sh, now := s.lock(records, k)
	defer sh.mu.Unlock()
	e := sh.get(records, k, now)
	if exp.UnixNano() <= now {
		if e != nil {
			sh.remove(records, e)
		}
		return nil
	}
	if e == nil {
		var err error
		if e, err = sh.add(records, k, exp.UnixNano(), now, false); e == nil {
			return err
		}
	} else {
		e.exp = exp.UnixNano()
		sh.fix(records, e)
	}
	e.value = append(make([]byte, 0, len(value)), value...)
	return nil
}

// GetRecord implements store.Store.
func (s *Store) GetRecord(_ context.Context, ns, key string) ([]byte, error) {
	if err := store.CheckKey(ns, key); err != nil {
		return nil, err
	}
	k := joinKey(ns, key)
	sh, now := s.lock(records, k)
	defer sh.mu.Unlock()
	e := sh.get(records, k, now)
	if e == nil {
		return nil, store.ErrNotFound
	}
	return append(make([]byte, 0, len(e.value)), e.value...), nil
}

// TakeRecord implements store.Store.
func (s *Store) TakeRecord(_ context.Context, ns, key string) ([]byte, error) {
	if err := store.CheckKey(ns, key); err != nil {
		return nil, err
	}
	k := joinKey(ns, key)
	sh, now := s.lock(records, k)
	defer sh.mu.Unlock()
	e := sh.get(records, k, now)
	if e == nil {
		return nil, store.ErrNotFound
	}
	sh.remove(records, e)
	// The entry is gone: its value, the store's own copy, is the caller's.
	return e.value, nil
}

// DeleteRecord implements store.Store.
func (s *Store) DeleteRecord(_ context.Context, ns, key string) error {
	if err := store.CheckKey(ns, key); err != nil {
		return err
	}
	k := joinKey(ns, key)
	sh, now := s.lock(records, k)
	defer sh.mu.Unlock()
	if e := sh.get(records, k, now); e != nil {
		sh.remove(records, e)
	}
	return nil
}

// AddStatusList implements store.Store.
func (s *Store) AddStatusList(_ context.Context, list string, exp time.Time) error {
	if err := store.CheckList(list); err != nil {
		return err
	}
	sh, now := s.lock(lists, list)
	defer sh.mu.Unlock()
	if e := sh.get(lists, list, now); e != nil {
		sh.extend(lists, e, exp.UnixNano())
		return nil
	}
	_, err := sh.add(lists, list, exp.UnixNano(), now, false)
	return err
}

// StatusLists implements store.Store. It visits every shard: it is meant
// for the aggregation endpoint, which caches its answer, not for the
// request path.
func (s *Store) StatusLists(context.Context) ([]string, error) {
	var ids []string
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		now := s.nowNano()
		for k, e := range sh.parts[lists].m {
			if e.exp > now {
				ids = append(ids, k)
			}
		}
		sh.mu.Unlock()
	}
	slices.Sort(ids)
	return ids, nil
}

// SetStatus implements store.Store. Each set bit counts one against the
// status-bits table's bound; setting a bit marked with store.Priority may
// use the reserve.
func (s *Store) SetStatus(ctx context.Context, list string, idx uint64, exp time.Time) error {
	if err := store.CheckStatus(list, idx); err != nil {
		return err
	}
	sh, now := s.lock(bits, list)
	defer sh.mu.Unlock()
	priority := store.IsPriority(ctx)
	e := sh.get(bits, list, now)
	if e == nil {
		var err error
		if e, err = sh.add(bits, list, exp.UnixNano(), now, priority); e == nil {
			return err
		}
		e.bits = []uint64{idx}
		return nil
	}
	i, found := slices.BinarySearch(e.bits, idx)
	if !found {
		if err := sh.room(bits, 1, now, priority); err != nil {
			return err
		}
		// room may have removed expired entries, never e, which is live.
		e.bits = slices.Insert(e.bits, i, idx)
		sh.parts[bits].size++
	}
	sh.extend(bits, e, exp.UnixNano())
	return nil
}

// StatusIndexes implements store.Store.
func (s *Store) StatusIndexes(_ context.Context, list string) ([]uint64, error) {
	if err := store.CheckList(list); err != nil {
		return nil, err
	}
	sh, now := s.lock(bits, list)
	defer sh.mu.Unlock()
	e := sh.get(bits, list, now)
	if e == nil {
		return nil, nil
	}
	return slices.Clone(e.bits), nil
}

// StatusBit implements store.Store with a binary search of the list's set
// bits.
func (s *Store) StatusBit(_ context.Context, list string, idx uint64) (bool, error) {
	if err := store.CheckStatus(list, idx); err != nil {
		return false, err
	}
	sh, now := s.lock(bits, list)
	defer sh.mu.Unlock()
	e := sh.get(bits, list, now)
	if e == nil {
		return false, nil
	}
	_, found := slices.BinarySearch(e.bits, idx)
	return found, nil
}

// Ping implements store.Store; an in-memory store is always reachable.
func (s *Store) Ping(context.Context) error { return nil }

// AcquireLease implements store.Leaser. A memory store is private to one
// process, so its leases only arbitrate between goroutines of that process.
func (s *Store) AcquireLease(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := checkLease(name, holder); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, invalid("lease ttl not positive")
	}
	sh, now := s.lock(leases, name)
	defer sh.mu.Unlock()
	exp := now + int64(ttl)
	if exp < now { // overflow: a ttl of centuries
		exp = 1<<63 - 1
	}
	if e := sh.get(leases, name, now); e != nil {
		if e.holder != holder {
			return false, nil
		}
		e.exp = exp
		sh.fix(leases, e)
		return true, nil
	}
	e, err := sh.add(leases, name, exp, now, false)
	if e == nil {
		return false, err
	}
	e.holder = strings.Clone(holder)
	return true, nil
}

// ReleaseLease implements store.Leaser.
func (s *Store) ReleaseLease(_ context.Context, name, holder string) error {
	if err := checkLease(name, holder); err != nil {
		return err
	}
	sh, now := s.lock(leases, name)
	defer sh.mu.Unlock()
	if e := sh.get(leases, name, now); e != nil && e.holder == holder {
		sh.remove(leases, e)
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

// get returns the live entry for key in table t, or nil. An expired entry
// found on the way is removed. The shard must be locked.
func (sh *shard) get(t table, key string, now int64) *entry {
	e := sh.parts[t].m[key]
	if e == nil {
		return nil
	}
	if e.exp <= now {
		sh.remove(t, e)
		return nil
	}
	return e
}

// add inserts a new entry for key, which must not be live in table t, and
// returns it. It returns (nil, nil) when exp is not after now: such an entry
// would be forgotten at once. It needs room for one more (see room). The
// shard must be locked.
func (sh *shard) add(t table, key string, exp, now int64, priority bool) (*entry, error) {
	if exp <= now {
		return nil, nil
	}
	if err := sh.room(t, 1, now, priority); err != nil {
		return nil, err
	}
	p := &sh.parts[t]
	// Clone the key: it may be a slice of a larger buffer, such as a
	// decoded token, which the map would otherwise keep alive.
	e := &entry{key: strings.Clone(key), exp: exp, idx: len(p.h)}
	p.m[e.key] = e
	p.size++
	p.peak = max(p.peak, len(p.m))
	p.h = append(p.h, e)
	sh.up(t, e.idx)
	return e, nil
}

// room reports whether table t has room for n more weight: below the
// shard's bound, or for a priority revocation below the bound plus the
// reserve. When it has not, it removes every expired entry and checks
// again, and if there is still no room, fails with ErrFull; it never
// evicts a live entry. The shard must be locked.
func (sh *shard) room(t table, n int, now int64, priority bool) error {
	limit := sh.max
	if priority {
		limit += sh.reserve
	}
	p := &sh.parts[t]
	if p.size+n <= limit {
		return nil
	}
	sh.expire(t, now, -1)
	if p.size+n <= limit {
		return nil
	}
	if priority {
		return fmt.Errorf("%w: the %s table holds its bound and its reserve of live entries", ErrFull, tableNames[t])
	}
	return fmt.Errorf("%w: the %s table holds its bound of live entries", ErrFull, tableNames[t])
}

// extend moves e's expiry to exp if that is later; expiries never shrink.
func (sh *shard) extend(t table, e *entry, exp int64) {
	if exp > e.exp {
		e.exp = exp
		sh.down(t, e.idx)
	}
}

// fix restores the heap order after e.exp changed either way.
func (sh *shard) fix(t table, e *entry) {
	if !sh.down(t, e.idx) {
		sh.up(t, e.idx)
	}
}

// expire removes up to limit expired entries of table t (all of them if
// limit < 0), nearest expiry first. The shard must be locked.
func (sh *shard) expire(t table, now int64, limit int) {
	p := &sh.parts[t]
	for n := 0; n != limit && len(p.h) > 0 && p.h[0].exp <= now; n++ {
		sh.remove(t, p.h[0])
	}
}

// remove deletes e from table t. The shard must be locked.
func (sh *shard) remove(t table, e *entry) {
	p := &sh.parts[t]
	delete(p.m, e.key)
	p.size -= e.weight()
	i, last := e.idx, len(p.h)-1
	if i != last {
		p.h[i] = p.h[last]
		p.h[i].idx = i
	}
	p.h[last] = nil
	p.h = p.h[:last]
	if i != last {
		if !sh.down(t, i) {
			sh.up(t, i)
		}
	}
	// Give back the heap's array after a burst: keep at most four times
	// what is used, and never less than a small floor.
	if c := cap(p.h); c > 1024 && len(p.h) < c/4 {
		p.h = append(make([]*entry, 0, c/2), p.h...)
	}
}

func (sh *shard) up(t table, i int) {
	h := sh.parts[t].h
	for i > 0 {
		j := (i - 1) / 2
		if h[j].exp <= h[i].exp {
			break
		}
		h[i], h[j] = h[j], h[i]
		h[i].idx, h[j].idx = i, j
		i = j
	}
}

// down sifts the element at i down and reports whether it moved.
func (sh *shard) down(t table, i0 int) bool {
	h := sh.parts[t].h
	i, n := i0, len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h[r].exp < h[l].exp {
			j = r
		}
		if h[i].exp <= h[j].exp {
			break
		}
		h[i], h[j] = h[j], h[i]
		h[i].idx, h[j].idx = i, j
		i = j
	}
	return i > i0
}
