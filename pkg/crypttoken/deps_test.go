package crypttoken

import (
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/internal/deptest"
)

// TestDependencies: SPEC §2, a resource server importing crypttoken pulls
// in neither fasthttp nor zerolog, nor even net/http; the middlewares live
// in subpackages.
func TestDependencies(t *testing.T) {
	for _, dep := range deptest.Deps(t, deptest.Module+"/pkg/crypttoken") {
		if strings.Contains(dep, "fasthttp") || strings.Contains(dep, "zerolog") || dep == "net/http" {
			t.Errorf("crypttoken depends on %s", dep)
		}
	}
}
