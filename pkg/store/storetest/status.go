package storetest

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
)

// statusIndexes checks that list's set bits are want, in ascending order.
func statusIndexes(t *testing.T, s store.Store, what, list string, want ...uint64) {
	t.Helper()
	got, err := s.StatusIndexes(ctx(t), list)
	is(t, what, err, nil)
	if len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
		t.Fatalf("%s: StatusIndexes = %v, want %v", what, got, want)
	}
	// The point lookup answers from the same bits: set for each index
	// listed, clear for a neighbour that is not.
	for _, i := range want {
		statusBit(t, s, what, list, i, true)
		if !slices.Contains(want, i+1) {
			statusBit(t, s, what, list, i+1, false)
		}
	}
	if !slices.Contains(want, 3) {
		statusBit(t, s, what, list, 3, false)
	}
}

// statusBit checks StatusBit of one index.
func statusBit(t *testing.T, s store.Store, what, list string, idx uint64, want bool) {
	t.Helper()
	got, err := s.StatusBit(ctx(t), list, idx)
	is(t, what+": StatusBit", err, nil)
	if got != want {
		t.Fatalf("%s: StatusBit(%d) = %v, want %v", what, idx, got, want)
	}
}

// liveLists returns StatusLists, checking it is sorted and without
// duplicates. Other subtests' lists may be in it when stores share a
// server.
func liveLists(t *testing.T, s store.Store, what string) []string {
	t.Helper()
	ids, err := s.StatusLists(ctx(t))
	is(t, what, err, nil)
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Fatalf("%s: StatusLists not sorted and unique at %d: %q, %q", what, i, ids[i-1], ids[i])
		}
	}
	return ids
}

// listed checks whether StatusLists includes each of lists.
func listed(t *testing.T, s store.Store, what string, want bool, lists ...string) {
	t.Helper()
	ids := liveLists(t, s, what)
	for _, l := range lists {
		if _, found := slices.BinarySearch(ids, l); found != want {
			t.Fatalf("%s: list %q listed = %v, want %v", what, l, found, want)
		}
	}
}

// draft-ietf-oauth-status-list §8 (the aggregation endpoint lists every
// live list): registration is idempotent and lists come sorted.
func testStatusListsRegister(t *testing.T, s store.Store) {
	c := ctx(t)
	a, b, unseen := id("list-b"), id("list-a"), id("list")
	listed(t, s, "before registration", false, a, b)
	is(t, "register a", s.AddStatusList(c, a, hour()), nil)
	is(t, "register b", s.AddStatusList(c, b, hour()), nil)
	is(t, "register a again", s.AddStatusList(c, a, hour().Add(time.Hour)), nil)
	listed(t, s, "after registration", true, a, b)
	listed(t, s, "a list never registered", false, unseen)
	// Setting a status registers nothing.
	is(t, "status of an unregistered list", s.SetStatus(c, unseen, 3, hour()), nil)
	listed(t, s, "after setting a status", false, unseen)
}

func testStatusListsConcurrent(t *testing.T, s store.Store) {
	c, list := ctx(t), id("list")
	for _, err := range race(func() error { return s.AddStatusList(c, list, hour()) }) {
		is(t, "concurrent registration", err, nil)
	}
	ids := liveLists(t, s, "after concurrent registration")
	n := 0
	for _, l := range ids {
		if l == list {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("list registered concurrently appears %d times, want 1", n)
	}
}

// SPEC §9: revoking sets one bit; bits are idempotent and read back in
// ascending order, whatever the order they were set in.
func testSetStatus(t *testing.T, s store.Store) {
	c, list, other := ctx(t), id("list"), id("list")
	statusIndexes(t, s, "list without bits", list)
	for _, idx := range []uint64{5, 0, 1<<20 - 1, 5, 1 << 20, 0} {
		is(t, "set bit "+itoa(idx), s.SetStatus(c, list, idx, hour()), nil)
	}
	statusIndexes(t, s, "after setting bits", list, 0, 5, 1<<20-1, 1<<20)
	statusIndexes(t, s, "another list", other)
	is(t, "bit 5 of another list", s.SetStatus(c, other, 5, hour()), nil)
	statusIndexes(t, s, "another list after its bit", other, 5)
	statusIndexes(t, s, "first list unchanged", list, 0, 5, 1<<20-1, 1<<20)
	// A status list id is not a token, code or family id.
	tokenRevoked(t, s, "token named like the list", list, false)
	refreshState(t, s, "family named like the list", list, 0, false)
}

// Replicas revoking at once (SPEC §9): every bit lands, each once.
func testSetStatusConcurrent(t *testing.T, s store.Store) {
	c, list := ctx(t), id("list")
	var next atomic.Uint64
	errs := race(func() error {
		i := next.Add(1)
		if err := s.SetStatus(c, list, i*7, hour()); err != nil {
			return err
		}
		return s.SetStatus(c, list, 1000, hour()) // one bit everyone sets
	})
	for _, err := range errs {
		is(t, "concurrent SetStatus", err, nil)
	}
	want := []uint64{}
	for i := uint64(1); i <= Concurrency; i++ {
		want = append(want, i*7)
	}
	want = append(want, 1000)
	slices.Sort(want)
	statusIndexes(t, s, "after concurrent SetStatus", list, want...)
}

// A past exp stores nothing.
func testSetStatusPastExp(t *testing.T, s store.Store) {
	c, list := ctx(t), id("list")
	past := time.Now().Add(-time.Minute)
	is(t, "set with a past exp", s.SetStatus(c, list, 9, past), nil)
	statusIndexes(t, s, "after a set with a past exp", list)
	is(t, "register with a past exp", s.AddStatusList(c, list, past), nil)
	listed(t, s, "after registering with a past exp", false, list)
}
