package crypttoken

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDependencies: SPEC §2, a resource server importing crypttoken pulls
// in neither fasthttp nor zerolog, nor even net/http; the middlewares live
// in subpackages.
func TestDependencies(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "fasthttp") || strings.Contains(dep, "zerolog") || dep == "net/http" {
			t.Errorf("crypttoken depends on %s", dep)
		}
	}
}
