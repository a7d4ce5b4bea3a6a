// Package interop locates the real third-party clients that interop tests
// drive against the issuer: npm openid-client and jose (installed in
// internal/interop/node by `npm ci`) and Debian's python3 libraries.
//
// Every helper skips its test with an install hint when the tool is
// missing on a developer's machine, and fails it under CI=true, where
// .ci/run installs everything.
package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// NodeInstallHint is how a developer gets the npm clients.
const NodeInstallHint = "npm openid-client not installed: run (cd internal/interop/node && npm ci)"

// Python is the interpreter Debian's python3-* packages install into.
const Python = "/usr/bin/python3"

// NodeDir returns the absolute path of internal/interop/node, where the
// pinned npm packages live; scripts run there import them by bare name.
func NodeDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "node")
}

// missing skips t (fails it under CI=true) because a tool is absent.
func missing(t testing.TB, hint, why string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI: %s: %v", hint, why, err)
	}
	t.Skipf("%s (%s: %v)", hint, why, err)
}

// RequireNode returns the node binary (version 20 or later) and checks that
// every package pinned by internal/interop/node/package.json is installed at
// the pinned version; otherwise it skips t with NodeInstallHint (fails it
// under CI=true).
func RequireNode(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, NodeInstallHint, "node not found", err)
	}
	v, err := exec.Command(node, "--version").Output()
	if err != nil {
		missing(t, NodeInstallHint, "node --version", err)
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(v)), "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < 20 {
		missing(t, NodeInstallHint, "node too old", fmt.Errorf("node %s, need >= 20", strings.TrimSpace(string(v))))
	}
	dir := NodeDir()
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		t.Fatal(err) // committed: its absence is a broken checkout
	}
	if err := json.Unmarshal(raw, &pkg); err != nil || len(pkg.Dependencies) == 0 {
		t.Fatalf("%s/package.json pins nothing: %v", dir, err)
	}
	for name, want := range pkg.Dependencies {
		var installed struct {
			Version string `json:"version"`
		}
		raw, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
		if err == nil {
			err = json.Unmarshal(raw, &installed)
		}
		if err != nil {
			missing(t, NodeInstallHint, "reading node_modules/"+name, err)
		}
		if installed.Version != want {
			missing(t, NodeInstallHint, "stale install", fmt.Errorf("node_modules has %s %s, package.json pins %s", name, installed.Version, want))
		}
	}
	return node
}

// RequirePython checks that /usr/bin/python3 imports every module named
// (Debian packages python3-<module>, e.g. "jwcrypto", "authlib",
// "requests_oauthlib") and returns the interpreter's path; otherwise it
// skips t with an apt-get hint (fails it under CI=true).
func RequirePython(t testing.TB, modules ...string) string {
	t.Helper()
	for _, m := range modules {
		pkgName := "python3-" + strings.ReplaceAll(m, "_", "-")
		hint := "install " + pkgName + " (apt-get install -y " + pkgName + ")"
		if out, err := exec.Command(Python, "-c", "import "+m).CombinedOutput(); err != nil {
			missing(t, hint, strings.TrimSpace(string(out)), err)
		}
	}
	return Python
}
