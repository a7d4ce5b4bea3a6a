package dpop_test

import (
	"testing"

	"github.com/sealedtoken/issuer/internal/deptest"
)

// TestDependencies: SPEC §2, what a resource server imports needs only the
// standard library, go-jose and golang.org/x/crypto: no fasthttp, no
// zerolog, not even net/http.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Module+"/pkg/dpop",
		[]string{"github.com/go-jose/go-jose/v4", "golang.org/x/crypto"}, "net/http")
}
