package dpop_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/dpop"
)

// TestNonces: RFC 9449 §8, §9 server nonces without state: every replica
// with the key agrees, the current and previous steps are accepted, older
// ones and other keys' are not, and a rotated key's nonces still pass.
func TestNonces(t *testing.T) {
	now := time.Unix(1_800_000_000, 0) // a step boundary for 30 s steps
	clock := func() time.Time { return now }
	key := []byte(strings.Repeat("a", 32))
	a, err := dpop.NewNonces(30*time.Second, clock, key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := dpop.NewNonces(30*time.Second, clock, key) // another replica
	other, _ := dpop.NewNonces(30*time.Second, clock, []byte(strings.Repeat("b", 32)))
	n0 := a.Current()
	if len(n0) != 22 || strings.ContainsAny(n0, "\" \\") {
		t.Fatalf("nonce %q is not 22 NQCHARs", n0)
	}
	if b.Current() != n0 || !b.Valid(n0) {
		t.Fatal("replicas with one key disagree")
	}
	if other.Valid(n0) {
		t.Fatal("a nonce accepted under another key")
	}
	now = now.Add(29 * time.Second)
	if a.Current() != n0 {
		t.Fatal("the nonce changed within its step")
	}
	now = now.Add(time.Second) // next step
	n1 := a.Current()
	if n1 == n0 || !a.Valid(n0) || !a.Valid(n1) {
		t.Fatal("the previous step's nonce is refused")
	}
	now = now.Add(30 * time.Second) // two steps on
	if a.Valid(n0) {
		t.Fatal("a nonce two steps old accepted")
	}
	rotated, _ := dpop.NewNonces(30*time.Second, clock, []byte(strings.Repeat("c", 32)), key)
	if !rotated.Valid(a.Current()) || rotated.Current() == a.Current() {
		t.Fatal("rotation: the old key's nonce refused, or the old key still mints")
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 23), n1 + "="} {
		if a.Valid(bad) {
			t.Fatalf("Valid(%q)", bad)
		}
	}
	if _, err := dpop.NewNonces(30*time.Second, nil, []byte("short")); err == nil {
		t.Fatal("a short key accepted")
	}
	if _, err := dpop.NewNonces(500*time.Millisecond, nil, key); err == nil {
		t.Fatal("a sub-second step accepted")
	}
}
