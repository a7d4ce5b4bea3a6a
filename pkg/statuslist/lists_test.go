package statuslist_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/sealedtoken/issuer/pkg/statuslist"
)

func TestLists(t *testing.T) {
	var cur atomic.Pointer[statuslist.Lists]
	cur.Store(statuslist.NewLists(statuslist.Limits{MaxLists: 2, MaxTotalBytes: 300}))
	a, b := revokedList(t), revokedList(t) // 128 bytes each
	ref := statuslist.Reference{Index: 3, URI: "https://i.example/a"}
	if _, err := cur.Load().Status(ref); !errors.Is(err, statuslist.ErrUnknownList) {
		t.Fatalf("before the list is known: %v", err)
	}
	next, err := cur.Load().With("https://i.example/a", a)
	if err != nil {
		t.Fatal(err)
	}
	cur.Store(next)
	if st, err := cur.Load().Status(ref); err != nil || st != statuslist.Invalid {
		t.Fatalf("revoked index: %d, %v", st, err)
	}
	if st, err := cur.Load().Status(statuslist.Reference{Index: 4, URI: ref.URI}); err != nil || st != statuslist.Valid {
		t.Fatalf("valid index: %d, %v", st, err)
	}
	if _, err := cur.Load().Status(statuslist.Reference{Index: 1 << 20, URI: ref.URI}); !errors.Is(err, statuslist.ErrIndex) {
		t.Fatalf("out of bounds: %v", err)
	}
	two, err := cur.Load().With("https://i.example/b", b)
	if err != nil || two.Len() != 2 {
		t.Fatalf("second list: %v", err)
	}
	// Replacing a list keeps the count.
	if _, err := two.With("https://i.example/b", a); err != nil {
		t.Fatalf("replacing: %v", err)
	}
	// Bounded: a third list, or more bytes, is refused.
	if _, err := two.With("https://i.example/c", a); !errors.Is(err, statuslist.ErrTooLarge) {
		t.Fatalf("third list: %v", err)
	}
	big, _ := statuslist.New(1, 8*400)
	if _, err := next.With("https://i.example/b", big); !errors.Is(err, statuslist.ErrTooLarge) {
		t.Fatalf("too many bytes: %v", err)
	}
	if w := two.Without("https://i.example/a"); w.Len() != 1 || two.Len() != 2 {
		t.Fatal("Without changed the original or removed nothing")
	}
	var empty *statuslist.Lists
	if _, err := empty.Status(ref); !errors.Is(err, statuslist.ErrUnknownList) {
		t.Fatalf("nil Lists: %v", err)
	}
}

func TestAggregation(t *testing.T) {
	a := &statuslist.Aggregation{StatusLists: []string{"https://example.com/statuslists/1", "https://example.com/statuslists/2"}}
	b, _ := a.MarshalJSON()
	if string(b) != `{"status_lists":["https://example.com/statuslists/1","https://example.com/statuslists/2"]}` {
		t.Fatalf("encoded %s", b)
	}
	back, err := statuslist.ParseAggregation(b)
	if err != nil || len(back.StatusLists) != 2 || back.StatusLists[1] != a.StatusLists[1] {
		t.Fatalf("parsed %+v, %v", back, err)
	}
	tests := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"draft §9.3: the example", `{"status_lists":["https://example.com/statuslists/1","https://example.com/statuslists/2","https://example.com/statuslists/3"]}`, true},
		{"draft §9.3: an empty list", `{"status_lists":[]}`, true},
		{"draft §9.3: other members ignored", `{"x":1,"status_lists":[]}`, true},
		{"draft §9.3: status_lists required", `{}`, false},
		{"draft §9.3: an array", `{"status_lists":"https://example.com/1"}`, false},
		{"draft §9.3: of strings", `{"status_lists":[1]}`, false},
		{"draft §9.3: of URIs", `{"status_lists":["not a uri"]}`, false},
		{"twice", `{"status_lists":[],"status_lists":[]}`, false},
	}
	for _, tt := range tests {
		_, err := statuslist.ParseAggregation([]byte(tt.doc))
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, statuslist.ErrMalformed)) {
			t.Errorf("%s: %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
