package remote

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDependencies: SPEC §2, what a resource server imports needs only the
// standard library, go-jose and x/crypto; net/http is this package's job,
// but never fasthttp or zerolog.
func TestDependencies(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(dep, "/")
		if !strings.Contains(first, ".") || strings.HasPrefix(dep, "github.com/sealedtoken/issuer/") {
			continue
		}
		if !strings.HasPrefix(dep, "github.com/go-jose/go-jose/v4") && !strings.HasPrefix(dep, "golang.org/x/crypto") &&
			!strings.HasPrefix(dep, "golang.org/x/sys") {
			t.Errorf("remote depends on %s", dep)
		}
	}
}
