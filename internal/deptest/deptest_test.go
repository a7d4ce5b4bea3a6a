package deptest

import "testing"

// recorder is a testing.TB that records failures instead of acting on
// them, so that Check's verdicts can be tested.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}

func TestCheck(t *testing.T) {
	const jws = Module + "/pkg/jws" // depends on go-jose and x/crypto
	tests := []struct {
		name    string
		allowed []string
		denied  []string
		fails   bool
	}{
		{name: "allowed third-party modules", allowed: []string{"github.com/go-jose/go-jose/v4", "golang.org/x/crypto"}},
		{name: "a module left off the allow-list", allowed: []string{"golang.org/x/crypto"}, fails: true},
		{name: "a prefix is not a path: go-jose/v allows nothing", allowed: []string{"github.com/go-jose/go-jose/v", "golang.org/x/crypto"}, fails: true},
		{name: "a denied standard-library package", allowed: []string{"github.com/go-jose/go-jose/v4", "golang.org/x/crypto"}, denied: []string{"crypto/sha256"}, fails: true},
		{name: "a denied package it does not import", allowed: []string{"github.com/go-jose/go-jose/v4", "golang.org/x/crypto"}, denied: []string{"net/http"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Check(r, jws, tt.allowed, tt.denied...)
			if got := len(r.errors) > 0; got != tt.fails {
				t.Errorf("Check failed = %v (%d errors), want %v", got, len(r.errors), tt.fails)
			}
		})
	}
}

func TestDepsListsThePackageAndItsImports(t *testing.T) {
	deps := Deps(t, Module+"/internal/deptest")
	want := map[string]bool{Module + "/internal/deptest": false, "os/exec": false, "testing": false}
	for _, d := range deps {
		if _, ok := want[d]; ok {
			want[d] = true
		}
	}
	for d, seen := range want {
		if !seen {
			t.Errorf("Deps does not list %s: %v", d, deps)
		}
	}
}
