package deptest

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Module is this project's module path: its packages are always allowed.
const Module = "github.com/sealedtoken/issuer"

// Deps returns the import paths of pkg and of every package it depends on,
// as `go list -deps` prints them. It skips t when go list fails.
func Deps(t testing.TB, pkg string) []string {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(gobin, "list", "-deps", pkg).Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	return strings.Fields(string(out))
}

// Check fails t once for every package that pkg depends on and may not:
// one outside the standard library that is neither in Module nor under one
// of the allowed import paths, or one named in denied (which may name
// standard-library packages, such as net/http). A path allows itself and
// the packages below it.
func Check(t testing.TB, pkg string, allowed []string, denied ...string) {
	t.Helper()
	for _, dep := range Deps(t, pkg) {
		first, _, _ := strings.Cut(dep, "/")
		std := !strings.Contains(first, ".")
		if under(dep, denied) || (!std && !under(dep, allowed) && !under(dep, []string{Module})) {
			t.Errorf("%s depends on %s", pkg, dep)
		}
	}
}

// under reports whether path is one of roots or a package below one.
func under(path string, roots []string) bool {
	for _, r := range roots {
		if path == r || strings.HasPrefix(path, r+"/") {
			return true
		}
	}
	return false
}
