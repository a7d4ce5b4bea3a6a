package jws_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDependencies: SPEC §2, what a resource server imports needs only the
// standard library, go-jose and golang.org/x/crypto: no fasthttp, no
// zerolog, not even net/http.
func TestDependencies(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(dep, "/")
		std := !strings.Contains(first, ".")
		if dep == "net/http" || (!std && !strings.HasPrefix(dep, "github.com/go-jose/go-jose/v4") &&
			!strings.HasPrefix(dep, "golang.org/x/crypto") && !strings.HasPrefix(dep, "github.com/sealedtoken/issuer/")) {
			t.Errorf("jws depends on %s", dep)
		}
	}
}
