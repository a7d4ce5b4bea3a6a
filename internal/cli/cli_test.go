package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/internal/cli"
	"github.com/sealedtoken/issuer/pkg/secret"
)

const testConfig = `issuer: https://issuer.test
listen: 127.0.0.1:0
data_dir: .
tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}
keys: {dir: keys, propagation: 1m, rotate_every: 1h}
audiences:
  - {name: "https://api.test", default: true}
  - {name: "https://billing.test"}
clients:
  - id: backend
    secret_hash: "sha256$` + "4b5ac5e4a4c64a2a1b0f1bcd2a4b0a3f9d2b1c6e7f8091a2b3c4d5e6f7a8b9c0" + `"
    grant_types: [client_credentials]
    scopes: [read]
`

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "issuer.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

func TestUsageAndHelp(t *testing.T) {
	cfg := writeConfig(t, testConfig)
	bad := writeConfig(t, testConfig+"bogus_key: 1\n")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no command", args: nil, wantCode: 2, wantStderr: "usage: issuer COMMAND"},
		{name: "help", args: []string{"help"}, wantCode: 0, wantStdout: "exit codes:"},
		{name: "--help", args: []string{"--help"}, wantCode: 0, wantStdout: "commands:"},
		{name: "help for a command", args: []string{"help", "keys"}, wantCode: 0, wantStdout: "usage: issuer keys"},
		{name: "help for an unknown command", args: []string{"help", "nope"}, wantCode: 2, wantStderr: "unknown command"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
		{name: "serve -h", args: []string{"serve", "-h"}, wantCode: 0, wantStdout: "DEV SERVER"},
		{name: "serve with an unknown flag", args: []string{"serve", "--bogus"}, wantCode: 2, wantStderr: "flag provided but not defined"},
		{name: "serve with an argument", args: []string{"serve", "extra"}, wantCode: 2, wantStderr: "no arguments"},
		{name: "serve with a missing config file", args: []string{"serve", "--config", "/nonexistent/issuer.yaml"}, wantCode: 2, wantStderr: "no such file"},
		{name: "serve with an unknown config key names it", args: []string{"serve", "--config", bad}, wantCode: 2, wantStderr: "bogus_key"},
		{name: "keys without subcommand", args: []string{"keys"}, wantCode: 2, wantStderr: "missing subcommand"},
		{name: "keys -h", args: []string{"keys", "-h"}, wantCode: 0, wantStdout: "export --audience NAME"},
		{name: "keys list without --config", args: []string{"keys", "list"}, wantCode: 2, wantStderr: "--config FILE is required"},
		{name: "keys export without --audience", args: []string{"keys", "export", "--config", cfg}, wantCode: 2, wantStderr: "--audience"},
		{name: "keys export of the internal ring", args: []string{"keys", "export", "--config", cfg, "--audience", "internal"}, wantCode: 2, wantStderr: "never exported"},
		{name: "keys export of an unknown audience", args: []string{"keys", "export", "--config", cfg, "--audience", "https://nope"}, wantCode: 2, wantStderr: "not an audience"},
		{name: "keys list before init", args: []string{"keys", "list", "--config", cfg}, wantCode: 1, wantStderr: "issuer keys init"},
		{name: "keys unknown subcommand", args: []string{"keys", "burn", "--config", cfg}, wantCode: 2, wantStderr: "unknown subcommand"},
		{name: "client new with a bad id", args: []string{"client", "new", "--id", "a b"}, wantCode: 2, wantStderr: "--id"},
		{name: "client without subcommand", args: []string{"client"}, wantCode: 2, wantStderr: "missing subcommand"},
		{name: "token inspect without a ring", args: []string{"token", "inspect", "abc"}, wantCode: 2, wantStderr: "exactly one of"},
		{name: "token inspect without a token", args: []string{"token", "inspect", "--config", cfg}, wantCode: 2, wantStderr: "one TOKEN"},
		{name: "version", args: []string{"version"}, wantCode: 0, wantStdout: "issuer "},
		{name: "version -h", args: []string{"version", "-h"}, wantCode: 0, wantStdout: "usage: issuer version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(out, tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", out, tt.wantStdout)
			}
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.wantStderr)
			}
		})
	}
}

func TestKeysLifecycle(t *testing.T) {
	cfg := writeConfig(t, testConfig)
	code, out, errOut := run("keys", "init", "--config", cfg)
	// Two audiences, the internal ring and the signing ring.
	if code != 0 || strings.Count(out, "created") != 4 || !strings.Contains(out, "created  signing ") {
		t.Fatalf("init: %d %s %s", code, out, errOut)
	}
	if code, out, _ = run("keys", "init", "--config", cfg); code != 0 || strings.Count(out, "exists") != 4 {
		t.Fatalf("second init: %d %s", code, out)
	}
	code, list, _ := run("keys", "list", "--config", cfg)
	if code != 0 || strings.Count(list, "active") != 4 || !regexp.MustCompile(`(?m)^signing\s+\S+\s+ES256\s+active`).MatchString(list) {
		t.Fatalf("list: %d\n%s", code, list)
	}
	// list never prints key material: no "k" value of any ring file, nor
	// a private member ("d") of the signing ring's keys.
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg), "keys", "*.json"))
	if len(files) != 4 {
		t.Fatalf("%d ring files, want 4", len(files))
	}
	material := regexp.MustCompile(`"[kd]"\s*:\s*"([A-Za-z0-9_-]{43})"`)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, m := range material.FindAllStringSubmatch(string(data), -1) {
			if strings.Contains(list, m[1]) {
				t.Fatal("keys list printed key material")
			}
		}
	}
	code, out, errOut = run("keys", "rotate", "--config", cfg, "--ring", "https://api.test")
	if code != 0 || !strings.Contains(out, "pending") {
		t.Fatalf("rotate: %d %s %s", code, out, errOut)
	}
	if code, _, errOut = run("keys", "rotate", "--config", cfg, "--ring", "https://nope"); code != 2 {
		t.Fatalf("rotate of an unknown ring: %d %s", code, errOut)
	}
	if code, out, errOut = run("keys", "rotate", "--config", cfg, "--ring", "signing"); code != 0 || strings.Count(out, "pending") != 2 {
		t.Fatalf("rotate of the signing ring: %d %s %s", code, out, errOut)
	}
	// The signing ring's private keys never leave it.
	if code, out, errOut = run("keys", "export", "--config", cfg, "--audience", "signing"); code != 2 || out != "" || !strings.Contains(errOut, "never exported") {
		t.Fatalf("export of the signing ring: %d %q %s", code, out, errOut)
	}
	code, jwks, errOut := run("keys", "export", "--config", cfg, "--audience", "https://api.test")
	if code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(jwks), &set); err != nil || len(set.Keys) != 2 {
		t.Fatalf("export is not a 2-key JWK Set: %v\n%s", err, jwks)
	}
	for _, k := range set.Keys {
		if b, ok := k.Key.([]byte); !ok || len(b) != 32 || k.Use != "enc" || k.KeyID == "" {
			t.Fatalf("exported key %+v is not a 256-bit enc key", k)
		}
	}
	outFile := filepath.Join(t.TempDir(), "api.jwks")
	if code, _, _ = run("keys", "export", "--config", cfg, "--audience", "https://api.test", "--out", outFile); code != 0 {
		t.Fatal("export --out failed")
	}
	if st, err := os.Stat(outFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("export --out file mode: %v %v", st, err)
	}
}

func TestClientNew(t *testing.T) {
	code, out, _ := run("client", "new", "--id", "billing-batch")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	sec := regexp.MustCompile(`(?m)^client_secret: (\S+)$`).FindStringSubmatch(out)
	hash := regexp.MustCompile(`secret_hash: "(sha256\$[0-9a-f]{64})"`).FindStringSubmatch(out)
	if sec == nil || hash == nil || !strings.Contains(out, `client_id:     billing-batch`) || !strings.Contains(out, `- id: "billing-batch"`) {
		t.Fatalf("output lacks id, secret or hash:\n%s", out)
	}
	h, err := secret.Parse(hash[1])
	if err != nil || !h.Verify(sec[1]) {
		t.Fatalf("the printed hash does not verify the printed secret: %v", err)
	}
	_, out2, _ := run("client", "new")
	id := regexp.MustCompile(`(?m)^client_id:\s+([0-9a-f]{32})$`).FindStringSubmatch(out2)
	if id == nil {
		t.Fatalf("no random client id:\n%s", out2)
	}
	if strings.Contains(out2, sec[1]) {
		t.Fatal("two runs printed the same secret")
	}
}
