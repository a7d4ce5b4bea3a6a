//go:build !race

package statuslist_test

import (
	"testing"

	"github.com/sealedtoken/issuer/pkg/statuslist"
)

// TestAllocations: the request-path check of a resource server — a map
// lookup and a bit test — allocates nothing (SPEC §9).
func TestAllocations(t *testing.T) {
	l, err := statuslist.Decode(1, draftLst1Long, 0)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := statuslist.NewLists(statuslist.Limits{}).With("https://example.com/statuslists/1", l)
	if err != nil {
		t.Fatal(err)
	}
	ref := statuslist.Reference{Index: 1993, URI: "https://example.com/statuslists/1"}
	out := statuslist.Reference{Index: 1 << 30, URI: ref.URI}
	if n := testing.AllocsPerRun(1000, func() {
		if st, err := lists.Status(ref); err != nil || st != statuslist.Invalid {
			t.Fatal(st, err)
		}
		if _, err := lists.Status(out); err == nil {
			t.Fatal("out of bounds accepted")
		}
	}); n != 0 {
		t.Errorf("Lists.Status: %.1f allocations, want 0", n)
	}
}
