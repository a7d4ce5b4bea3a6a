package crypttoken

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

const (
	testListURI   = "https://issuer.example.com/statuslists/r1-e1"
	testListURI2b = "https://issuer.example.com/statuslists/two-bits"
)

// fakeStatus is a StatusSource over a swappable snapshot that records the
// lists it is told are missing.
type fakeStatus struct {
	lists   atomic.Pointer[statuslist.Lists]
	mu      sync.Mutex
	missing []string
}

func (f *fakeStatus) StatusLists() *statuslist.Lists { return f.lists.Load() }

func (f *fakeStatus) Missing(uri string) {
	f.mu.Lock()
	f.missing = append(f.missing, strings.Clone(uri))
	f.mu.Unlock()
}

func (f *fakeStatus) missed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.missing...)
}

// put publishes l at uri in a new snapshot.
func (f *fakeStatus) put(t testing.TB, uri string, l *statuslist.List) {
	t.Helper()
	next, err := f.lists.Load().With(uri, l)
	if err != nil {
		t.Fatal(err)
	}
	f.lists.Store(next)
}

// newList returns a list of size entries of bits bits with the given
// statuses set.
func newList(t testing.TB, bits, size int, set map[uint64]statuslist.Status) *statuslist.List {
	t.Helper()
	l, err := statuslist.New(bits, size)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range set {
		if err := l.Set(i, s); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// statusClaims returns access claims pointing at idx of the list at uri.
func statusClaims(uri string, idx uint64) *Claims {
	c := accessClaims()
	c.Status = StatusRef{Index: idx, URI: uri}
	return c
}

// TestOpenStatus: draft-ietf-oauth-status-list §8.3, one row per rule of
// the status check, under the default (strict) policy and the permissive
// one.
func TestOpenStatus(t *testing.T) {
	f := newFixture(t, keys.A256KW)
	src := &fakeStatus{}
	src.put(t, testListURI, newList(t, 1, 1024, map[uint64]statuslist.Status{7: statuslist.Invalid}))
	src.put(t, testListURI2b, newList(t, 2, 1024, map[uint64]statuslist.Status{3: statuslist.Suspended, 4: statuslist.Invalid, 5: 3}))
	exp := Expected{Issuer: testIssuer, Audience: testAudience}
	strict := f.newOpener(t, exp, WithStatus(src, StatusPolicy{RequireStatus: true}))
	def := f.newOpener(t, exp, WithStatus(src, StatusPolicy{}))
	lax := f.newOpener(t, exp, WithStatus(src, StatusPolicy{AcceptUnknown: true}))
	plain := f.newOpener(t, exp)

	tests := []struct {
		name     string
		opener   *Opener
		claims   *Claims
		want     error // nil: opens
		wantMiss bool  // src.Missing is told the list
	}{
		{name: "§7.1 VALID opens", opener: strict, claims: statusClaims(testListURI, 6)},
		{name: "§7.1 INVALID is revoked", opener: strict, claims: statusClaims(testListURI, 7), want: ErrRevoked},
		{name: "§7.1 INVALID is revoked under the permissive policy", opener: lax, claims: statusClaims(testListURI, 7), want: ErrRevoked},
		{name: "§7.1 VALID in a 2-bit list opens", opener: strict, claims: statusClaims(testListURI2b, 2)},
		{name: "§7.1 SUSPENDED is refused", opener: strict, claims: statusClaims(testListURI2b, 3), want: ErrRevoked},
		{name: "§7.1 INVALID in a 2-bit list", opener: strict, claims: statusClaims(testListURI2b, 4), want: ErrRevoked},
		{name: "§7.1 application-specific 0x03 is refused", opener: strict, claims: statusClaims(testListURI2b, 5), want: ErrRevoked},
		{name: "§8.3 step 6 index beyond the list", opener: strict, claims: statusClaims(testListURI, 1024), want: ErrRevoked},
		{name: "§8.3 step 6 index beyond the list, permissive policy", opener: lax, claims: statusClaims(testListURI, 1<<40), want: ErrRevoked},
		{name: "list not known: refused by default and fetched", opener: strict, claims: statusClaims("https://issuer.example.com/statuslists/new", 1), want: ErrStatusUnknown, wantMiss: true},
		{name: "list not known: AcceptUnknown opens and fetches", opener: lax, claims: statusClaims("https://issuer.example.com/statuslists/new", 1), wantMiss: true},
		{name: "URI compared exactly (RFC 3986 §6.2.1)", opener: strict, claims: statusClaims(strings.ToUpper(testListURI[:5])+testListURI[5:], 6), want: ErrStatusUnknown, wantMiss: true},
		{name: "no status claim: opens by default", opener: def, claims: accessClaims()},
		{name: "no status claim: RequireStatus refuses", opener: strict, claims: accessClaims(), want: ErrNoStatus},
		{name: "list not known: the default refuses", opener: def, claims: statusClaims("https://issuer.example.com/statuslists/new2", 1), want: ErrStatusUnknown, wantMiss: true},
		{name: "without WithStatus a revoked token opens", opener: plain, claims: statusClaims(testListURI, 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(src.missed())
			tok := f.seal(t, TypeAccess, tt.claims)
			c, err := tt.opener.Open(tok)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if c.Status != tt.claims.Status {
					t.Errorf("status = %+v, want %+v", c.Status, tt.claims.Status)
				}
			} else if !errors.Is(err, tt.want) || c != nil {
				t.Fatalf("Open = %v, %v; want %v", c, err, tt.want)
			}
			missed := src.missed()[before:]
			if tt.wantMiss {
				if len(missed) != 1 || missed[0] != tt.claims.Status.URI {
					t.Errorf("Missing calls = %q, want [%q]", missed, tt.claims.Status.URI)
				}
			} else if len(missed) != 0 {
				t.Errorf("Missing called with %q for a known list", missed)
			}
		})
	}
}

// TestStatusFollowsSnapshots: a revocation published by swapping the
// source's snapshot is seen by the next Open; other tokens are untouched;
// a list that arrives turns ErrStatusUnknown into a verdict.
func TestStatusFollowsSnapshots(t *testing.T) {
	f := newFixture(t, keys.Direct)
	src := &fakeStatus{}
	o := f.newOpener(t, Expected{}, WithStatus(src, StatusPolicy{}))
	victim := f.seal(t, TypeAccess, statusClaims(testListURI, 10))
	other := f.seal(t, TypeAccess, statusClaims(testListURI, 11))

	if _, err := o.Open(victim); !errors.Is(err, ErrStatusUnknown) {
		t.Fatalf("before the list arrives: %v, want ErrStatusUnknown", err)
	}
	src.put(t, testListURI, newList(t, 1, 64, nil))
	for _, tok := range []string{victim, other} {
		if _, err := o.Open(tok); err != nil {
			t.Fatalf("with the list: %v", err)
		}
	}
	src.put(t, testListURI, newList(t, 1, 64, map[uint64]statuslist.Status{10: statuslist.Invalid}))
	if _, err := o.Open(victim); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after revocation: %v, want ErrRevoked", err)
	}
	if _, err := o.Open(other); err != nil {
		t.Fatalf("another token of the list after revocation: %v", err)
	}
}

// TestStatusConcurrentSwaps opens tokens while the snapshot is swapped, for
// the race detector, and checks every verdict is one of the two snapshots'.
func TestStatusConcurrentSwaps(t *testing.T) {
	f := newFixture(t, keys.A256KW)
	src := &fakeStatus{}
	valid := newList(t, 1, 64, nil)
	revoked := newList(t, 1, 64, map[uint64]statuslist.Status{1: statuslist.Invalid})
	src.put(t, testListURI, valid)
	o := f.newOpener(t, Expected{}, WithStatus(src, StatusPolicy{}))
	tok := f.seal(t, TypeAccess, statusClaims(testListURI, 1))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			l := valid
			if i%2 == 1 {
				l = revoked
			}
			next, _ := src.lists.Load().With(testListURI, l)
			src.lists.Store(next)
		}
	}()
	var ok, refused int
	for range 2000 {
		_, err := o.Open(tok)
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrRevoked):
			refused++
		default:
			t.Fatalf("Open: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	if ok+refused != 2000 {
		t.Fatalf("%d verdicts", ok+refused)
	}
}

func TestStatusConfig(t *testing.T) {
	f := newFixture(t, keys.A256KW)
	if _, err := NewOpener(f.ring, Expected{}, WithStatus(nil, StatusPolicy{})); !errors.Is(err, ErrConfig) {
		t.Errorf("nil source: %v, want ErrConfig", err)
	}
	if _, err := NewSealer(f.ring, WithStatus(&fakeStatus{}, StatusPolicy{})); !errors.Is(err, ErrConfig) {
		t.Errorf("sealer with WithStatus: %v, want ErrConfig", err)
	}
}

// TestStatusAttack: a resource server holding the audience key forges
// tokens to dodge revocation. Unsigned tokens cannot stop a forger naming
// an unrevoked entry (that needs WithSignedTokens, see TestSignedAttack),
// but a policy requiring a status refuses every forgery that merely drops
// or misplaces it, and the victim's own token still opens.
func TestStatusAttack(t *testing.T) {
	f := newFixture(t, keys.A256KW)
	src := &fakeStatus{}
	src.put(t, testListURI, newList(t, 1, 128, map[uint64]statuslist.Status{9: statuslist.Invalid}))
	o := f.newOpener(t, Expected{Issuer: testIssuer, Audience: testAudience}, WithStatus(src, StatusPolicy{RequireStatus: true}))
	victim := f.seal(t, TypeAccess, statusClaims(testListURI, 8))

	forgeries := []struct {
		name string
		c    *Claims
		want error
	}{
		{name: "revoked token resealed without its status", c: accessClaims(), want: ErrNoStatus},
		{name: "revoked token pointed past the end of its list", c: statusClaims(testListURI, 1<<20), want: ErrRevoked},
		{name: "revoked token pointed at a list of its own", c: statusClaims("https://attacker.example/list", 0), want: ErrStatusUnknown},
	}
	for _, tt := range forgeries {
		t.Run(tt.name, func(t *testing.T) {
			tok := f.seal(t, TypeAccess, tt.c)
			if _, err := o.Open(tok); !errors.Is(err, tt.want) {
				t.Fatalf("forgery: %v, want %v", err, tt.want)
			}
			if _, err := o.Open(victim); err != nil {
				t.Fatalf("victim after the attack: %v", err)
			}
		})
	}
}
