package remote

import (
	"testing"

	"github.com/sealedtoken/issuer/internal/deptest"
)

// TestDependencies: SPEC §2, what a resource server imports needs only the
// standard library, go-jose and x/crypto; net/http is this package's job,
// but never fasthttp or zerolog.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Module+"/pkg/crypttoken/remote",
		[]string{"github.com/go-jose/go-jose/v4", "golang.org/x/crypto", "golang.org/x/sys"})
}
