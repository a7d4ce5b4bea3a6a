package cli_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/devtls"
)

// withCert writes a self-signed certificate for the test configuration's
// tls files (tls/cert.pem, tls/key.pem beside it).
func withCert(t *testing.T, cfgPath string) {
	t.Helper()
	dir := filepath.Join(filepath.Dir(cfgPath), "tls")
	if _, err := devtls.Ensure(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), devtls.DefaultHosts, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestServeCheck: "serve --check" validates what serve would refuse and
// exits 0 or 2, opening no port and writing nothing.
func TestServeCheck(t *testing.T) {
	good := writeConfig(t, testConfig)
	withCert(t, good)
	noCert := writeConfig(t, testConfig)
	badKey := writeConfig(t, testConfig+"login: {key_file: /nonexistent/login.key}\n")
	withCert(t, badKey)
	unknown := writeConfig(t, testConfig+"tokens: {acces_ttl: 5m}\n")
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "a valid configuration", args: []string{"--config", good}, wantCode: 0, wantStdout: "configuration OK: " + good},
		{name: "a missing certificate file is a configuration error naming tls.cert_file", args: []string{"--config", noCert}, wantCode: 2, wantStderr: "tls.cert_file"},
		{name: "a missing login key file names login.key_file", args: []string{"--config", badKey}, wantCode: 2, wantStderr: "login.key_file"},
		{name: "an unknown key is named", args: []string{"--config", unknown}, wantCode: 2, wantStderr: "tokens.acces_ttl"},
		{name: "an unset key-encryption key names keys.kek_env", args: []string{"--config", writeConfig(t, strings.Replace(testConfig, "rotate_every: 1h}", "rotate_every: 1h, kek_env: NOPE_KEK}", 1))}, wantCode: 2, wantStderr: "NOPE_KEK"},
		{name: "the dev set-up", args: nil, env: map[string]string{"ISSUER_DATA_DIR": t.TempDir()}, wantCode: 0, wantStdout: "dev configuration OK"},
		{name: "the dev set-up with a bad listen address names ISSUER_LISTEN", args: nil, env: map[string]string{"ISSUER_DATA_DIR": t.TempDir(), "ISSUER_LISTEN": "nope"}, wantCode: 2, wantStderr: "ISSUER_LISTEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEnv(tt.env, append([]string{"serve", "--check"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantStdout) || !strings.Contains(errOut, tt.wantStderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
	// --check writes nothing: no key rings, no dev data directory.
	if _, err := os.Stat(filepath.Join(filepath.Dir(good), "keys")); !os.IsNotExist(err) {
		t.Errorf("serve --check created the key directory: %v", err)
	}
}

// TestServeStartErrors: serve's own start-up failures, with their exit
// codes: a missing certificate file is a configuration error (2), and an
// address in use a runtime error (1) that says how to choose another.
func TestServeStartErrors(t *testing.T) {
	noCert := writeConfig(t, testConfig)
	if code, _, errOut := run("serve", "--config", noCert); code != 2 || !strings.Contains(errOut, "tls.cert_file") || !strings.Contains(errOut, "no such file") {
		t.Fatalf("missing certificate: exit %d, stderr %q; want 2 naming tls.cert_file", code, errOut)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	good := writeConfig(t, strings.Replace(testConfig, "listen: 127.0.0.1:0", "listen: "+busy.Addr().String(), 1))
	withCert(t, good)
	for _, args := range [][]string{{"serve", "--config", good}, {"serve", "--data-dir", t.TempDir(), "--listen", busy.Addr().String()}} {
		code, _, errOut := run(args...)
		if code != 1 || !strings.Contains(errOut, "address already in use") || !strings.Contains(errOut, "--listen") || !strings.Contains(errOut, "ISSUER_LISTEN") {
			t.Fatalf("%v on a busy port: exit %d, stderr %q; want 1 with the --listen / ISSUER_LISTEN hint", args, code, errOut)
		}
	}
}
