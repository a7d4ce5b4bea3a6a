package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
)

// Concurrency is the number of goroutines the race subtests start.
const Concurrency = 32

// Run runs the conformance suite against the stores newStore returns. Every
// subtest calls newStore once and uses ids of its own, so newStore may hand
// out stores that share one backing server; it should register any cleanup
// with t.Cleanup. Stores that implement store.Leaser are run through the
// lease subtests too.
//
// The suite uses real time: the expiry subtests give entries lifetimes of
// two seconds and run in parallel, so Run takes three to four seconds.
// Run returns when every subtest is done.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	// The group makes Run return only after its parallel subtests are done,
	// so callers may stop a backing server with defer.
	t.Run("conformance", func(t *testing.T) { run(t, newStore) })
}

func run(t *testing.T, newStore func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"RedeemCode/once", testRedeemOnce},
		{"RedeemCode/codes are independent", testRedeemIndependent},
		{"RedeemCode/concurrent redemption has one winner", testRedeemConcurrent},
		{"RedeemCode/past exp never releases a live code", testRedeemPastExp},
		{"RotateRefresh/generations advance 0 to 1 to 2", testRotate},
		{"RotateRefresh/reuse revokes the family", testRotateReuse},
		{"RotateRefresh/unseen family at a later generation is reuse", testRotateUnseenLater},
		{"RotateRefresh/revoked family refuses the current generation", testRotateRevoked},
		{"RotateRefresh/concurrent rotation has one winner", testRotateConcurrent},
		{"RotateRefresh/families are independent", testRotateIndependent},
		{"RevokeFamily/idempotent", testRevokeFamilyIdempotent},
		{"RefreshState/unseen family is generation 0, not revoked", testStateUnseen},
		{"RefreshState/follows rotations and never advances", testStateRotations},
		{"RefreshState/reuse revokes and keeps the generation", testStateReuse},
		{"RefreshState/revocation keeps the generation", testStateRevoked},
		{"RevokeToken/unknown token is not revoked", testTokenUnknown},
		{"RevokeToken/idempotent", testRevokeTokenIdempotent},
		{"UseOnce/once", testUseOnce},
		{"UseOnce/namespaces are independent", testUseOnceNamespaces},
		{"UseOnce/concurrent use has one winner", testUseOnceConcurrent},
		{"UseOnce/past exp never releases a live value", testUseOncePastExp},
		{"Record/put, get, replace, delete", testRecordPutGet},
		{"Record/take returns and removes", testRecordTake},
		{"Record/concurrent take has one winner", testRecordTakeConcurrent},
		{"Record/past exp stores nothing and replaces", testRecordPastExp},
		{"StatusLists/registration is idempotent and sorted", testStatusListsRegister},
		{"StatusLists/concurrent registration lists once", testStatusListsConcurrent},
		{"SetStatus/bits are idempotent and ascending", testSetStatus},
		{"SetStatus/concurrent bits all land", testSetStatusConcurrent},
		{"SetStatus/past exp stores nothing", testSetStatusPastExp},
		{"InvalidArgument", testInvalidArgument},
		{"InvalidArgument/bounds", testBounds},
		{"Ping", testPing},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
	t.Run("Expiry", func(t *testing.T) {
		t.Parallel()
		testExpiry(t, newStore(t))
	})
	t.Run("Leaser", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		l, ok := s.(store.Leaser)
		if !ok {
			t.Skipf("%T does not implement store.Leaser", s)
		}
		testLeaser(t, l)
	})
}

// Timing of the expiry subtests. The sleep margin absorbs millisecond
// rounding and scheduling delays; shortLife leaves a durable store, whose
// every write waits for an fsync, time for its setup on a busy disk.
const (
	shortLife = 2 * time.Second
	longLife  = 6 * time.Second
	checkAt   = shortLife + 700*time.Millisecond
)

// id returns a fresh random id with a readable prefix, so subtests never
// share entries even on one server across runs.
func id(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func hour() time.Time { return time.Now().Add(time.Hour) }

// is fails t unless err matches want (nil meaning no error).
func is(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func tokenRevoked(t *testing.T, s store.Store, what, jti string, want bool) {
	t.Helper()
	got, err := s.TokenRevoked(ctx(t), jti)
	is(t, what, err, nil)
	if got != want {
		t.Fatalf("%s: TokenRevoked = %v, want %v", what, got, want)
	}
}

// familyRevoked checks FamilyRevoked, and that RefreshState agrees.
func familyRevoked(t *testing.T, s store.Store, what, fid string, want bool) {
	t.Helper()
	got, err := s.FamilyRevoked(ctx(t), fid)
	is(t, what, err, nil)
	if got != want {
		t.Fatalf("%s: FamilyRevoked = %v, want %v", what, got, want)
	}
	_, revoked, err := s.RefreshState(ctx(t), fid)
	is(t, what+": RefreshState", err, nil)
	if revoked != want {
		t.Fatalf("%s: RefreshState revoked = %v, want %v", what, revoked, want)
	}
}

// refreshState checks RefreshState reports generation gen and revoked.
func refreshState(t *testing.T, s store.Store, what, fid string, gen uint64, revoked bool) {
	t.Helper()
	g, r, err := s.RefreshState(ctx(t), fid)
	is(t, what, err, nil)
	if g != gen || r != revoked {
		t.Fatalf("%s: RefreshState = (generation %d, revoked %v), want (%d, %v)", what, g, r, gen, revoked)
	}
}

// RFC 6749 §4.1.2: the client MUST NOT use the code more than once.
func testRedeemOnce(t *testing.T, s store.Store) {
	c, code := ctx(t), id("code")
	is(t, "first redemption", s.RedeemCode(c, code, hour()), nil)
	is(t, "second redemption", s.RedeemCode(c, code, hour()), store.ErrCodeReused)
	is(t, "third redemption", s.RedeemCode(c, code, hour().Add(time.Hour)), store.ErrCodeReused)
}

func testRedeemIndependent(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b := id("code"), id("code")
	is(t, "code a", s.RedeemCode(c, a, hour()), nil)
	is(t, "code b", s.RedeemCode(c, b, hour()), nil)
	is(t, "code a again", s.RedeemCode(c, a, hour()), store.ErrCodeReused)
	// A code id is not a token id nor a family id.
	tokenRevoked(t, s, "token named like the code", a, false)
	familyRevoked(t, s, "family named like the code", a, false)
}

func testRedeemConcurrent(t *testing.T, s store.Store) {
	c, code := ctx(t), id("code")
	errs := race(func() error { return s.RedeemCode(c, code, hour()) })
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrCodeReused):
		default:
			t.Fatalf("concurrent redemption: unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("concurrent redemption: %d of %d succeeded, want exactly 1", wins, len(errs))
	}
}

// store package documentation, "Expiry": a past exp stores nothing, but a
// live redemption is still refused.
func testRedeemPastExp(t *testing.T, s store.Store) {
	c, code := ctx(t), id("code")
	is(t, "redemption", s.RedeemCode(c, code, hour()), nil)
	is(t, "again with a past exp", s.RedeemCode(c, code, time.Now().Add(-time.Minute)), store.ErrCodeReused)
}

// race runs f on Concurrency goroutines released at once and returns their
// errors.
func race(f func() error) []error {
	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
		errs  = make([]error, Concurrency)
	)
	for i := range errs {
		wg.Go(func() {
			<-start
			errs[i] = f()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func testRotate(t *testing.T, s store.Store) {
	c, fid := ctx(t), id("fam")
	for gen := range uint64(3) {
		is(t, "rotation from generation "+itoa(gen), s.RotateRefresh(c, fid, gen, hour()), nil)
	}
	familyRevoked(t, s, "family after rotations", fid, false)
}

func itoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// RFC 9700 §4.14.2 and RFC 6819 §5.2.2.3: presenting a superseded refresh
// token revokes the whole family, so the current token fails too.
func testRotateReuse(t *testing.T, s store.Store) {
	c, fid := ctx(t), id("fam")
	is(t, "rotation 0", s.RotateRefresh(c, fid, 0, hour()), nil)
	is(t, "rotation 1", s.RotateRefresh(c, fid, 1, hour()), nil)
	is(t, "reuse of generation 0", s.RotateRefresh(c, fid, 0, hour()), store.ErrRefreshReused)
	familyRevoked(t, s, "family after reuse", fid, true)
	is(t, "current generation 2 after reuse", s.RotateRefresh(c, fid, 2, hour()), store.ErrFamilyRevoked)
	is(t, "generation 1 after reuse", s.RotateRefresh(c, fid, 1, hour()), store.ErrRefreshReused)
	is(t, "current generation 2 once more", s.RotateRefresh(c, fid, 2, hour()), store.ErrFamilyRevoked)
}

// An unseen family is at generation 0 (store.Store), so any other
// generation is a superseded token.
func testRotateUnseenLater(t *testing.T, s store.Store) {
	c, fid := ctx(t), id("fam")
	is(t, "generation 5 of an unseen family", s.RotateRefresh(c, fid, 5, hour()), store.ErrRefreshReused)
	familyRevoked(t, s, "family afterwards", fid, true)
	is(t, "generation 0 afterwards", s.RotateRefresh(c, fid, 0, hour()), store.ErrFamilyRevoked)
}

// RFC 6749 §4.1.2: a replayed code revokes the tokens issued from it, which
// the endpoint does with RevokeFamily before the family was ever rotated.
func testRotateRevoked(t *testing.T, s store.Store) {
	c, fid := ctx(t), id("fam")
	is(t, "revocation of an unseen family", s.RevokeFamily(c, fid, hour()), nil)
	familyRevoked(t, s, "family", fid, true)
	is(t, "rotation 0 of the revoked family", s.RotateRefresh(c, fid, 0, hour()), store.ErrFamilyRevoked)

	fid2 := id("fam")
	is(t, "rotation 0", s.RotateRefresh(c, fid2, 0, hour()), nil)
	is(t, "revocation", s.RevokeFamily(c, fid2, hour()), nil)
	is(t, "rotation 1 of the revoked family", s.RotateRefresh(c, fid2, 1, hour()), store.ErrFamilyRevoked)
}

func testRotateConcurrent(t *testing.T, s store.Store) {
	c, fid := ctx(t), id("fam")
	is(t, "rotation 0", s.RotateRefresh(c, fid, 0, hour()), nil)
	errs := race(func() error { return s.RotateRefresh(c, fid, 1, hour()) })
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrRefreshReused):
		default:
			t.Fatalf("concurrent rotation: loser got %v, want %v", err, store.ErrRefreshReused)
		}
	}
	if wins != 1 {
		t.Fatalf("concurrent rotation: %d of %d succeeded, want exactly 1", wins, len(errs))
	}
	// The losers presented a superseded token: the family is revoked, the
	// winner's new generation included.
	familyRevoked(t, s, "family after the race", fid, true)
	refreshState(t, s, "family after the race", fid, 2, true)
	is(t, "winner's generation 2", s.RotateRefresh(c, fid, 2, hour()), store.ErrFamilyRevoked)
}

func testRotateIndependent(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b := id("fam"), id("fam")
	is(t, "family a rotation 0", s.RotateRefresh(c, a, 0, hour()), nil)
	is(t, "family a reuse", s.RotateRefresh(c, a, 0, hour()), store.ErrRefreshReused)
	familyRevoked(t, s, "family b", b, false)
	is(t, "family b rotation 0", s.RotateRefresh(c, b, 0, hour()), nil)
	tokenRevoked(t, s, "token named like family a", a, false)
}

func testRevokeFamilyIdempotent(t *testing.T, s store.Store) {
	c, fid := ctx(t), id("fam")
	familyRevoked(t, s, "unseen family", fid, false)
	for i := range 3 {
		is(t, "revocation "+itoa(uint64(i)), s.RevokeFamily(c, fid, hour()), nil)
		familyRevoked(t, s, "family", fid, true)
	}
}

// store.Store RefreshState: a family never seen is at generation 0, the
// generation of a refresh token issued from a code (RFC 7662 §2.2: that
// token is active).
func testStateUnseen(t *testing.T, s store.Store) {
	fid := id("fam")
	refreshState(t, s, "unseen family", fid, 0, false)
	refreshState(t, s, "unseen family read again", fid, 0, false)
	// A read creates nothing: generation 0 still rotates.
	is(t, "rotation 0 after reads", s.RotateRefresh(ctx(t), fid, 0, hour()), nil)
	// Ids of other kinds are not families.
	code, jti := id("code"), id("jti")
	is(t, "code", s.RedeemCode(ctx(t), code, hour()), nil)
	is(t, "token revocation", s.RevokeToken(ctx(t), jti, hour()), nil)
	refreshState(t, s, "family named like a code", code, 0, false)
	refreshState(t, s, "family named like a revoked token", jti, 0, false)
}

// RFC 7662 §2.2 and RFC 9700 §4.14.2: after each rotation only the newest
// generation is current; reading it does not rotate.
func testStateRotations(t *testing.T, s store.Store) {
	c, fid := ctx(t), id("fam")
	for gen := range uint64(4) {
		refreshState(t, s, "before rotation from generation "+itoa(gen), fid, gen, false)
		refreshState(t, s, "read twice at generation "+itoa(gen), fid, gen, false)
		is(t, "rotation from generation "+itoa(gen), s.RotateRefresh(c, fid, gen, hour()), nil)
	}
	refreshState(t, s, "after 4 rotations", fid, 4, false)
	refreshState(t, s, "another family", id("fam"), 0, false)
}

// RFC 9700 §4.14.2: reuse revokes the family; the generation it had
// reached stays readable.
func testStateReuse(t *testing.T, s store.Store) {
	c, fid := ctx(t), id("fam")
	is(t, "rotation 0", s.RotateRefresh(c, fid, 0, hour()), nil)
	is(t, "rotation 1", s.RotateRefresh(c, fid, 1, hour()), nil)
	refreshState(t, s, "before reuse", fid, 2, false)
	is(t, "reuse of generation 1", s.RotateRefresh(c, fid, 1, hour()), store.ErrRefreshReused)
	refreshState(t, s, "after reuse", fid, 2, true)

	unseen := id("fam")
	is(t, "generation 3 of an unseen family", s.RotateRefresh(c, unseen, 3, hour()), store.ErrRefreshReused)
	refreshState(t, s, "unseen family after reuse", unseen, 0, true)
}

// RFC 7009 §2.1 and RFC 6749 §4.1.2: RevokeFamily revokes at any
// generation, an unseen family's included.
func testStateRevoked(t *testing.T, s store.Store) {
	c, fid, unseen := ctx(t), id("fam"), id("fam")
	is(t, "rotation 0", s.RotateRefresh(c, fid, 0, hour()), nil)
	is(t, "revocation", s.RevokeFamily(c, fid, hour()), nil)
	refreshState(t, s, "revoked at generation 1", fid, 1, true)
	is(t, "revocation of an unseen family", s.RevokeFamily(c, unseen, hour()), nil)
	refreshState(t, s, "revoked unseen family", unseen, 0, true)
}

// RFC 7009 §2.2: revoking an invalid or already revoked token succeeds.
func testTokenUnknown(t *testing.T, s store.Store) {
	tokenRevoked(t, s, "unknown token", id("jti"), false)
}

func testRevokeTokenIdempotent(t *testing.T, s store.Store) {
	c, jti, other := ctx(t), id("jti"), id("jti")
	for i := range 3 {
		is(t, "revocation "+itoa(uint64(i)), s.RevokeToken(c, jti, hour()), nil)
		tokenRevoked(t, s, "token", jti, true)
	}
	tokenRevoked(t, s, "another token", other, false)
	is(t, "code named like the token", s.RedeemCode(c, jti, hour()), nil)
}

func testInvalidArgument(t *testing.T, s store.Store) {
	c := ctx(t)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"RedeemCode empty id", func() error { return s.RedeemCode(c, "", hour()) }},
		{"RotateRefresh empty id", func() error { return s.RotateRefresh(c, "", 0, hour()) }},
		{"RevokeFamily empty id", func() error { return s.RevokeFamily(c, "", hour()) }},
		{"FamilyRevoked empty id", func() error { _, err := s.FamilyRevoked(c, ""); return err }},
		{"RefreshState empty id", func() error { _, _, err := s.RefreshState(c, ""); return err }},
		{"RevokeToken empty id", func() error { return s.RevokeToken(c, "", hour()) }},
		{"TokenRevoked empty id", func() error { _, err := s.TokenRevoked(c, ""); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) { is(t, tc.name, tc.call(), store.ErrInvalidArgument) })
	}
}

func testPing(t *testing.T, s store.Store) {
	is(t, "ping", s.Ping(ctx(t)), nil)
}

// testExpiry creates entries with short and long lives, waits once for the
// short ones to pass, and checks what was forgotten and what was kept.
func testExpiry(t *testing.T, s store.Store) {
	c := ctx(t)
	t0 := time.Now()
	short, long := t0.Add(shortLife), t0.Add(longLife)
	var (
		code, keptCode             = id("code"), id("code")
		fam, keptFam               = id("fam"), id("fam")
		revFam, shortenedFam       = id("fam"), id("fam")
		jti, shortenedJTI          = id("jti"), id("jti")
		extendedJTI, extFam        = id("jti"), id("fam")
		rotatedFam, reusedFam      = id("fam"), id("fam")
		onceKey, keptOnce          = id("once"), id("once")
		rec, keptRec, shortRec     = id("rec"), id("rec"), id("rec")
		list, keptList, extList    = id("list"), id("list"), id("list")
		bitList, extBits, longBits = id("list"), id("list"), id("list")
	)
	setup := []struct {
		name string
		err  error
	}{
		{"code", s.RedeemCode(c, code, short)},
		{"kept code", s.RedeemCode(c, keptCode, long)},
		{"family rotation", s.RotateRefresh(c, fam, 0, short)},
		{"kept family rotation", s.RotateRefresh(c, keptFam, 0, long)},
		{"family revocation", s.RevokeFamily(c, revFam, short)},
		{"long family revocation", s.RevokeFamily(c, shortenedFam, long)},
		{"shorter family revocation", s.RevokeFamily(c, shortenedFam, short)},
		{"short family revocation", s.RevokeFamily(c, extFam, short)},
		{"longer family revocation", s.RevokeFamily(c, extFam, long)},
		{"token revocation", s.RevokeToken(c, jti, short)},
		{"long token revocation", s.RevokeToken(c, shortenedJTI, long)},
		{"shorter token revocation", s.RevokeToken(c, shortenedJTI, short)},
		{"short token revocation", s.RevokeToken(c, extendedJTI, short)},
		{"longer token revocation", s.RevokeToken(c, extendedJTI, long)},
		// A rotation with a longer exp keeps the family for the longer.
		{"short rotation", s.RotateRefresh(c, rotatedFam, 0, short)},
		{"long rotation", s.RotateRefresh(c, rotatedFam, 1, long)},
		// Reuse revokes at least until the exp it was given.
		{"rotation before reuse", s.RotateRefresh(c, reusedFam, 0, short)},
		{"single use", s.UseOnce(c, nsA, onceKey, short)},
		{"kept single use", s.UseOnce(c, nsA, keptOnce, long)},
		{"record", s.PutRecord(c, nsA, rec, []byte("r"), short)},
		{"kept record", s.PutRecord(c, nsA, keptRec, []byte("k"), long)},
		// Put replaces the expiry too.
		{"long record", s.PutRecord(c, nsA, shortRec, []byte("l"), long)},
		{"record replaced by a shorter one", s.PutRecord(c, nsA, shortRec, []byte("s"), short)},
		{"status list", s.AddStatusList(c, list, short)},
		{"kept status list", s.AddStatusList(c, keptList, long)},
		{"long status list", s.AddStatusList(c, extList, long)},
		{"status list registered shorter", s.AddStatusList(c, extList, short)},
		{"status bit", s.SetStatus(c, bitList, 1, short)},
		{"short status bit", s.SetStatus(c, extBits, 1, short)},
		{"long status bit of the same list", s.SetStatus(c, extBits, 2, long)},
		{"long status bit", s.SetStatus(c, longBits, 1, long)},
		{"short status bit of the same list", s.SetStatus(c, longBits, 2, short)},
	}
	for _, st := range setup {
		is(t, "setup: "+st.name, st.err, nil)
	}
	is(t, "setup: reuse", s.RotateRefresh(c, reusedFam, 0, long), store.ErrRefreshReused)
	if el := time.Since(t0); el > shortLife/2 {
		t.Fatalf("setup took %v, too long for entries living %v", el, shortLife)
	}
	time.Sleep(time.Until(t0.Add(checkAt)))

	refreshState(t, s, "expired family is forgotten", fam, 0, false)
	refreshState(t, s, "kept family", keptFam, 1, false)
	refreshState(t, s, "expired family revocation is forgotten", revFam, 0, false)
	refreshState(t, s, "family kept by its longest rotation", rotatedFam, 2, false)
	is(t, "expired code redeems again", s.RedeemCode(c, code, long), nil)
	is(t, "kept code", s.RedeemCode(c, keptCode, long), store.ErrCodeReused)
	is(t, "expired family is back at generation 0", s.RotateRefresh(c, fam, 0, long), nil)
	is(t, "kept family is at generation 1", s.RotateRefresh(c, keptFam, 0, long), store.ErrRefreshReused)
	familyRevoked(t, s, "expired family revocation", revFam, false)
	familyRevoked(t, s, "family revocation never shortened", shortenedFam, true)
	familyRevoked(t, s, "family revocation extended", extFam, true)
	tokenRevoked(t, s, "expired token revocation", jti, false)
	tokenRevoked(t, s, "token revocation never shortened", shortenedJTI, true)
	tokenRevoked(t, s, "token revocation extended", extendedJTI, true)
	is(t, "family kept by its longest rotation", s.RotateRefresh(c, rotatedFam, 2, long), nil)
	familyRevoked(t, s, "reused family still revoked", reusedFam, true)
	is(t, "expired single-use value is usable again", s.UseOnce(c, nsA, onceKey, long), nil)
	is(t, "kept single-use value", s.UseOnce(c, nsA, keptOnce, long), store.ErrReplay)
	noRecord(t, s, "expired record", nsA, rec)
	getRecord(t, s, "kept record", nsA, keptRec, []byte("k"))
	noRecord(t, s, "record replaced by a shorter one", nsA, shortRec)
	listed(t, s, "expired status list", false, list)
	listed(t, s, "kept status lists", true, keptList, extList)
	statusIndexes(t, s, "expired status bits", bitList)
	statusIndexes(t, s, "bits kept until the list's latest exp", extBits, 1, 2)
	statusIndexes(t, s, "bits never shortened", longBits, 1, 2)
}

func testLeaser(t *testing.T, l store.Leaser) {
	c := ctx(t)
	const ttl = 10 * time.Second
	acquire := func(what, name, holder string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := l.AcquireLease(c, name, holder, ttl)
		is(t, what, err, nil)
		if got != want {
			t.Fatalf("%s: acquired = %v, want %v", what, got, want)
		}
	}
	release := func(what, name, holder string) {
		t.Helper()
		is(t, what, l.ReleaseLease(c, name, holder), nil)
	}

	t.Run("exclusive", func(t *testing.T) {
		name := id("lease")
		acquire("a acquires the free lease", name, "a", ttl, true)
		acquire("b is refused", name, "b", ttl, false)
		acquire("a renews", name, "a", ttl, true)
		release("b releases what it does not hold", name, "b")
		acquire("b is still refused", name, "b", ttl, false)
		release("a releases", name, "a")
		acquire("b acquires the released lease", name, "b", ttl, true)
		acquire("a is refused", name, "a", ttl, false)
		release("b releases", name, "b")
		release("b releases again", name, "b")
		acquire("other lease names are independent", id("lease"), "a", ttl, true)
	})

	t.Run("concurrent acquisition has one winner", func(t *testing.T) {
		name := id("lease")
		var n int
		var mu sync.Mutex
		errs := race(func() error {
			ok, err := l.AcquireLease(c, name, id("holder"), ttl)
			if ok {
				mu.Lock()
				n++
				mu.Unlock()
			}
			return err
		})
		for _, err := range errs {
			is(t, "concurrent acquisition", err, nil)
		}
		if n != 1 {
			t.Fatalf("concurrent acquisition: %d holders, want 1", n)
		}
	})

	t.Run("expires", func(t *testing.T) {
		t.Parallel()
		name, renewed := id("lease"), id("lease")
		acquire("a acquires", name, "a", shortLife, true)
		acquire("a acquires another", renewed, "a", shortLife, true)
		acquire("a renews it for longer", renewed, "a", longLife, true)
		time.Sleep(checkAt)
		acquire("b acquires the expired lease", name, "b", ttl, true)
		acquire("b is refused the renewed lease", renewed, "b", ttl, false)
	})

	t.Run("invalid arguments", func(t *testing.T) {
		for _, tc := range []struct {
			name          string
			lease, holder string
			ttl           time.Duration
		}{
			{"empty name", "", "a", ttl},
			{"empty holder", id("lease"), "", ttl},
			{"zero ttl", id("lease"), "a", 0},
			{"negative ttl", id("lease"), "a", -time.Second},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ok, err := l.AcquireLease(c, tc.lease, tc.holder, tc.ttl)
				is(t, "AcquireLease", err, store.ErrInvalidArgument)
				if ok {
					t.Fatal("AcquireLease: acquired with an invalid argument")
				}
				if tc.ttl > 0 {
					is(t, "ReleaseLease", l.ReleaseLease(c, tc.lease, tc.holder), store.ErrInvalidArgument)
				}
			})
		}
	})
}
