package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeClientsLoad proves the pinned npm clients import and expose the
// functions the interop tests rely on.
func TestNodeClientsLoad(t *testing.T) {
	node := RequireNode(t)
	script := `import * as oc from 'openid-client'; import * as jose from 'jose';
for (const f of ['discovery','authorizationCodeGrant','clientCredentialsGrant','getDPoPHandle','PrivateKeyJwt','initiateDeviceAuthorization','pollDeviceAuthorizationGrant','genericGrantRequest','buildAuthorizationUrlWithPAR','fetchUserInfo'])
  if (typeof oc[f] !== 'function') throw new Error('openid-client lacks ' + f);
if (typeof jose.jwtVerify !== 'function') throw new Error('jose lacks jwtVerify');
console.log('ok');`
	f := filepath.Join(NodeDir(), "load_check.test.mjs")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f)
	out, err := exec.Command(node, f).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("node: %v\n%s", err, out)
	}
}

func TestRequirePythonSkipsOrFindsModule(t *testing.T) {
	py := RequirePython(t, "json")
	if out, err := exec.Command(py, "-c", "import json; print(1)").Output(); err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("%s: %v %s", py, err, out)
	}
}
