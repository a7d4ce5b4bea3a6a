//go:build !race

package dpop_test

import (
	"context"
	"testing"

	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// TestAllocations guards a resource server's proof check: with Ed25519
// (whose verification allocates nothing of its own) it costs the token
// buffer and Token, the parsed key, the thumbprint and the Proof.
func TestAllocations(t *testing.T) {
	k := keyFor(t, jws.EdDSA)
	const at = "the.access.token"
	p := proof(t, k, dpop.Claims{Method: "GET", URI: apiURL, AccessToken: at})
	req := dpop.Request{Method: "GET", URI: apiURL + "?page=2", AccessToken: at, JKT: thumbprint(t, k)}
	v := verifier(t)
	values := []string{p}
	n := testing.AllocsPerRun(200, func() {
		if _, err := v.Verify(context.Background(), values, req); err != nil {
			t.Fatal(err)
		}
	})
	if n > 10 {
		t.Errorf("Verify: %.1f allocations, want at most 10", n)
	}
	t.Logf("Verify (EdDSA): %.1f allocations", n)
}
