//go:build !race

package endpoint_test

import (
	"context"
	"testing"
)

// maxTokenAllocs is the measured allocation count of a client_credentials
// token request (Go 1.26) whose response is released, as the adapters do:
// in this package the body copied to a string, the parameter list, the
// decoded Basic credentials and the TokenRequest (the response and its
// body come from a pool); in crypttoken the jti and the content key's AES
// and GCM instances. A change that adds one fails here.
const maxTokenAllocs = 7

// TestTokenAllocs guards the allocations of the token endpoint's hot path
// (STYLE: an allocation guard on the token handler).
func TestTokenAllocs(t *testing.T) {
	f := newFixture(t)
	req := request("/token", ccBody, basic("backend", backendSecret))
	ctx := context.Background()
	var status int
	allocs := testing.AllocsPerRun(200, func() {
		resp, _ := f.srv.Token(ctx, req)
		status = resp.Status
		resp.Release()
	})
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if allocs > maxTokenAllocs {
		t.Errorf("client_credentials token request: %.1f allocations, want at most %d", allocs, maxTokenAllocs)
	}
	t.Logf("client_credentials token request: %.1f allocations", allocs)
}

// TestTokenAllocsWithStatus guards the same request with status lists on
// (SPEC §9): an index is an atomic increment into a list opened once, and
// the status claim is appended in place; no allocation is added.
func TestTokenAllocsWithStatus(t *testing.T) {
	f := newStatusFixture(t)
	req := request("/token", ccBody, basic("backend", backendSecret))
	ctx := context.Background()
	var status int
	allocs := testing.AllocsPerRun(200, func() {
		resp, _ := f.srv.Token(ctx, req)
		status = resp.Status
		resp.Release()
	})
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if allocs > maxTokenAllocs {
		t.Errorf("client_credentials token request with status lists: %.1f allocations, want at most %d", allocs, maxTokenAllocs)
	}
	t.Logf("client_credentials token request with status lists: %.1f allocations", allocs)
}
