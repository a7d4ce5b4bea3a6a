package endpoint

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/store"
)

// StatusAllocator hands out the Token Status List entries
// (draft-ietf-oauth-status-list §6.2) that access tokens carry in their
// "status" claim (SPEC §9). The Server asks for one entry per grant: the
// tokens of one refresh family (its code, refresh tokens and access
// tokens) share it, and an access token issued without a refresh token
// has its own. Revoking sets the entry's bit in the store, and every
// replica publishes the list at its URI.
//
// Implementations must never hand out one (list, index) pair twice, must
// register a list in the store (store.Store AddStatusList) before handing
// out its first index, keep it registered until every token indexed in it
// has expired, and name lists with StatusListID, whose URI is the Server's
// status list path followed by the id (StatusListURIPrefix). They are
// shared by every Server of a process (a configuration reload builds a new
// Server, not a new allocator) and called concurrently.
type StatusAllocator interface {
	// Allocate returns a fresh entry for a grant of audience aud whose
	// tokens are all refused, by every replica, after until (their "exp"
	// plus the leeway). now is the request's clock reading.
	Allocate(ctx context.Context, aud string, now, until time.Time) (crypttoken.StatusRef, error)
	// Keep keeps the list of ref registered at least until until: a
	// refresh extended its grant.
	Keep(ctx context.Context, ref crypttoken.StatusRef, now, until time.Time) error
}

// StatusListURIPrefix returns the prefix of the URIs of the status lists a
// Server publishes: the issuer URL without a trailing slash, the status
// list path and a slash ("https://issuer.example.com/statuslists/").
func StatusListURIPrefix(issuer string, p Paths) string {
	return strings.TrimSuffix(issuer, "/") + p.StatusLists + "/"
}

// Bounds of a status list's size, as the base-2 logarithm of its number of
// one-bit entries: 2^4 to 2^24 entries (2 MiB).
const (
	MinStatusListSizeLog2     = 4
	MaxStatusListSizeLog2     = 24
	DefaultStatusListSizeLog2 = 20 // 2^20 entries, 128 KiB uncompressed
)

// StatusListID names a status list this issuer publishes. Its text form,
//
//	<incarnation>.<epoch>.<audience tag>.<size>
//
// for example "qX3k9sB2Lw1cZ0Ta.4.Hq0Zs1eA.20", is the last segment of the
// list's URI:
//
//   - incarnation identifies the allocating process: 16 base64url
//     characters (96 random bits) drawn at its start, so replicas and
//     restarts never share a list;
//   - epoch counts the lists that process has opened (decimal);
//   - the audience tag is 8 base64url characters of the SHA-256 of the
//     audience name of the tokens in the list, which lets the issuer refuse
//     a token that points at a list of another audience (only the issuer
//     and that audience's resource servers can write an access token's
//     claims);
//   - size is the base-2 logarithm of the number of entries
//     (MinStatusListSizeLog2 to MaxStatusListSizeLog2), so that any replica
//     can publish any list at its full size from the store's set bits.
type StatusListID struct {
	Incarnation string
	Epoch       uint64
	AudienceTag string
	SizeLog2    uint8
}

// String returns the id's text form.
func (id StatusListID) String() string {
	b := make([]byte, 0, 48)
	b = append(b, id.Incarnation...)
	b = append(b, '.')
	b = strconv.AppendUint(b, id.Epoch, 10)
	b = append(b, '.')
	b = append(b, id.AudienceTag...)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(id.SizeLog2), 10)
	return string(b)
}

// Size returns the number of entries of the list.
func (id StatusListID) Size() uint64 { return 1 << id.SizeLog2 }

const (
	incarnationLen = 16
	audienceTagLen = 8
)

// ParseStatusListID reads a StatusListID's text form, strictly: anything
// else is an id this issuer never made.
func ParseStatusListID(s string) (StatusListID, bool) {
	var id StatusListID
	var parts [4]string
	rest := s
	for i := range parts {
		var ok bool
		if parts[i], rest, ok = strings.Cut(rest, "."); ok != (i < 3) {
			return id, false
		}
	}
	if len(parts[0]) != incarnationLen || len(parts[2]) != audienceTagLen ||
		!isBase64URL(parts[0]) || !isBase64URL(parts[2]) {
		return id, false
	}
	epoch, ok := decimal(parts[1], 1<<53)
	if !ok {
		return id, false
	}
	size, ok := decimal(parts[3], MaxStatusListSizeLog2)
	if !ok || size < MinStatusListSizeLog2 {
		return id, false
	}
	return StatusListID{Incarnation: parts[0], Epoch: epoch, AudienceTag: parts[2], SizeLog2: uint8(size)}, true
}

// decimal parses a canonical decimal (no sign, no leading zero) of at most
// limit.
func decimal(s string, limit uint64) (uint64, bool) {
	if s == "" || len(s) > 16 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n <= limit
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// AudienceTag returns the audience tag of StatusListID for audience aud.
func AudienceTag(aud string) string {
	h := sha256.Sum256([]byte("sealedtoken status list audience\x00" + aud))
	return base64.RawURLEncoding.EncodeToString(h[:6])
}

// LocalStatusAllocator is the StatusAllocator of one process (SPEC §9):
// each replica allocates from lists of its own, with no coordination and
// no store write per token.
//
// It keeps, for each audience and token lifetime (rounded up to a
// minute), one open list: an id with the process's incarnation and a
// fresh epoch, registered in the store (AddStatusList) before its first
// index is handed out, until it retires — after its period (at most a
// day) or when full — and the lifetime plus the period ahead, so that it
// outlives every token indexed in it. An index is the value of the open
// list's atomic counter: each caller gets a distinct one, and a counter
// past the list's size opens the next epoch under a mutex, so no (list,
// index) pair is ever handed out twice, whatever the concurrency. Grants
// of one lifetime share lists, and short-lived lists are not kept alive
// by long-lived grants.
//
// It is safe for concurrent use and shared by every Server of the
// process.
type LocalStatusAllocator struct {
	st          store.Store
	prefix      string
	incarnation string
	sizeLog2    uint8
	maxPeriod   time.Duration
	epochs      atomic.Uint64

	classes atomic.Pointer[map[classKey]*statusClass] // copy on write
	mu      sync.Mutex                                // adds classes

	keptMu sync.Mutex
	kept   map[string]time.Time // list id -> registered until, by Keep
}

// classKey identifies the lists of one audience and token lifetime.
type classKey struct {
	aud  string
	life time.Duration
}

// statusClass is the open list of one classKey.
type statusClass struct {
	key    classKey
	tag    string
	period time.Duration
	cur    atomic.Pointer[openList]
	mu     sync.Mutex // one rotation at a time
}

// openList is a list handing out indexes.
type openList struct {
	id, uri  string
	size     uint64
	next     atomic.Uint64
	retireAt time.Time // no index is handed out at or after it
}

// maxStatusClasses bounds the classes of an allocator: audiences times
// the lifetimes a Server uses (a handful).
const maxStatusClasses = 4096

// StatusAllocatorOption configures a LocalStatusAllocator.
type StatusAllocatorOption interface {
	apply(*LocalStatusAllocator) error
}

type allocOptionFunc func(*LocalStatusAllocator) error

func (f allocOptionFunc) apply(a *LocalStatusAllocator) error { return f(a) }

// WithStatusListSize sets the number of entries of each list as its
// base-2 logarithm (default DefaultStatusListSizeLog2, 2^20). A large list
// gives every token more company (draft §12.1, herd privacy); a small one
// is cheaper to serve and to hold.
func WithStatusListSize(log2 int) StatusAllocatorOption {
	return allocOptionFunc(func(a *LocalStatusAllocator) error {
		if log2 < MinStatusListSizeLog2 || log2 > MaxStatusListSizeLog2 {
			return fmt.Errorf("endpoint: status list size 2^%d out of range [2^%d, 2^%d]", log2, MinStatusListSizeLog2, MaxStatusListSizeLog2)
		}
		a.sizeLog2 = uint8(log2)
		return nil
	})
}

// WithStatusListPeriod bounds how long a list hands out indexes (default
// and at most 24 h; at least 1 min). A class of tokens living less than the
// period retires its lists after that lifetime instead, so that a list of
// short-lived tokens lives at most twice their lifetime.
func WithStatusListPeriod(d time.Duration) StatusAllocatorOption {
	return allocOptionFunc(func(a *LocalStatusAllocator) error {
		if d < time.Minute || d > 24*time.Hour {
			return fmt.Errorf("endpoint: status list period %s out of range [1m, 24h]", d)
		}
		a.maxPeriod = d
		return nil
	})
}

// NewStatusAllocator returns the allocator of this process, registering
// its lists in st and naming them with URIs starting with prefix
// (StatusListURIPrefix of the Server's issuer and paths). Its incarnation
// is drawn from crypto/rand.
func NewStatusAllocator(st store.Store, prefix string, opts ...StatusAllocatorOption) (*LocalStatusAllocator, error) {
	if st == nil {
		return nil, errors.New("endpoint: status allocator: nil store")
	}
	if !strings.HasPrefix(prefix, "https://") || !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("endpoint: status list URI prefix %q must be an https URL ending in /", prefix)
	}
	var inc [12]byte
	if _, err := rand.Read(inc[:]); err != nil {
		return nil, fmt.Errorf("endpoint: status allocator incarnation: %w", err)
	}
	a := &LocalStatusAllocator{
		st: st, prefix: prefix, incarnation: base64.RawURLEncoding.EncodeToString(inc[:]),
		sizeLog2: DefaultStatusListSizeLog2, maxPeriod: 24 * time.Hour, kept: map[string]time.Time{},
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("endpoint: nil status allocator option")
		}
		if err := o.apply(a); err != nil {
			return nil, err
		}
	}
	empty := map[classKey]*statusClass{}
	a.classes.Store(&empty)
	return a, nil
}

// Incarnation returns the random id of this allocator's lists.
func (a *LocalStatusAllocator) Incarnation() string { return a.incarnation }

// Allocate implements StatusAllocator. It costs an atomic increment and
// no allocation, except when it opens a list: then one store write
// (AddStatusList), whose failure it returns (wrapping store.ErrUnavailable
// when the store is down) and retries at the next call.
func (a *LocalStatusAllocator) Allocate(ctx context.Context, aud string, now, until time.Time) (crypttoken.StatusRef, error) {
	life := until.Sub(now)
	if life <= 0 || aud == "" {
		return crypttoken.StatusRef{}, fmt.Errorf("endpoint: status allocation for %q until %s at %s", aud, until, now)
	}
	if rem := life % time.Minute; rem != 0 {
		life += time.Minute - rem
	}
	c, err := a.class(classKey{aud: aud, life: life})
	if err != nil {
		return crypttoken.StatusRef{}, err
	}
	for {
		l := c.cur.Load()
		if l != nil && now.Before(l.retireAt) {
			if n := l.next.Add(1) - 1; n < l.size {
				return crypttoken.StatusRef{Index: n, URI: l.uri}, nil
			}
		}
		if err := a.open(ctx, c, l, now); err != nil {
			return crypttoken.StatusRef{}, err
		}
	}
}

// class returns the class of k, adding it if need be.
func (a *LocalStatusAllocator) class(k classKey) (*statusClass, error) {
	if c := (*a.classes.Load())[k]; c != nil {
		return c, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := *a.classes.Load()
	if c := cur[k]; c != nil {
		return c, nil
	}
	if len(cur) >= maxStatusClasses {
		return nil, fmt.Errorf("endpoint: more than %d status list classes (audiences × token lifetimes)", maxStatusClasses)
	}
	c := &statusClass{key: k, tag: AudienceTag(k.aud), period: min(k.life, a.maxPeriod)}
	next := make(map[classKey]*statusClass, len(cur)+1)
	for kk, v := range cur {
		next[kk] = v
	}
	next[k] = c
	a.classes.Store(&next)
	return c, nil
}

// open replaces c's list old, retired or full, by a new one registered in
// the store. Concurrent callers wait; the first opens, the others find the
// new list.
func (a *LocalStatusAllocator) open(ctx context.Context, c *statusClass, old *openList, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur.Load() != old {
		return nil // another caller opened one
	}
	id := StatusListID{Incarnation: a.incarnation, Epoch: a.epochs.Add(1), AudienceTag: c.tag, SizeLog2: a.sizeLog2}.String()
	l := &openList{id: id, uri: a.prefix + id, size: 1 << a.sizeLog2, retireAt: now.Add(c.period)}
	// Every token indexed in the list is refused everywhere by its
	// retirement plus the class's lifetime.
	if err := a.st.AddStatusList(ctx, id, l.retireAt.Add(c.key.life)); err != nil {
		return fmt.Errorf("endpoint: registering status list: %w", err)
	}
	c.cur.Store(l)
	return nil
}

// maxKept bounds the lists Keep remembers having extended.
const maxKept = 4096

// Keep implements StatusAllocator: it registers ref's list until until
// plus a margin (the time left, at most a day), so that a family refreshed
// all day costs one store write per list per day and replica, not one per
// refresh. A URI that is not one of this issuer's lists is ignored.
func (a *LocalStatusAllocator) Keep(ctx context.Context, ref crypttoken.StatusRef, now, until time.Time) error {
	id, ok := strings.CutPrefix(ref.URI, a.prefix)
	if !ok {
		return nil
	}
	if _, ok := ParseStatusListID(id); !ok {
		return nil
	}
	a.keptMu.Lock()
	known, ok := a.kept[id]
	a.keptMu.Unlock()
	if ok && !known.Before(until) {
		return nil
	}
	target := until.Add(min(until.Sub(now), 24*time.Hour))
	if err := a.st.AddStatusList(ctx, id, target); err != nil {
		return fmt.Errorf("endpoint: extending status list: %w", err)
	}
	a.keptMu.Lock()
	if len(a.kept) >= maxKept {
		clear(a.kept)
	}
	a.kept[id] = target
	a.keptMu.Unlock()
	return nil
}

var _ StatusAllocator = (*LocalStatusAllocator)(nil)
