package cli_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/cli"
	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// runEnv runs the command with env as its whole environment.
func runEnv(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return code, out.String(), errb.String()
}

// TestKEKFromGetenv: the key-encryption key (keys.kek_env, and ISSUER_KEK
// for "token inspect --ring") is read through cli.Env.Getenv, not from the
// process environment.
func TestKEKFromGetenv(t *testing.T) {
	kek := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x6b}, 32))
	cfgPath := writeConfig(t, strings.Replace(testConfig, "keys: {dir: keys, propagation: 1m, rotate_every: 1h}",
		"keys: {dir: keys, propagation: 1m, rotate_every: 1h, kek_env: TEST_CLI_KEK}", 1))
	if _, ok := os.LookupEnv("TEST_CLI_KEK"); ok {
		t.Fatal("TEST_CLI_KEK is set in the process environment; the test proves it is not read from there")
	}
	env := map[string]string{"TEST_CLI_KEK": kek, "ISSUER_KEK": kek}

	if code, out, errOut := runEnv(env, "keys", "init", "--config", cfgPath); code != 0 || strings.Count(out, "created") != 4 {
		t.Fatalf("keys init with the KEK: %d %s %s", code, out, errOut)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := server.NewKeyRings(cfg, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	ring, _ := kr.Ring("https://api.test")
	s, err := crypttoken.NewSealer(ring)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := s.Seal(crypttoken.TypeAccess, &crypttoken.Claims{Issuer: cfg.Issuer, Subject: "backend", Audience: []string{"https://api.test"},
		ClientID: "backend", IssuedAt: now, Expiry: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	ringFile := kr.Path("https://api.test")
	if data, _ := os.ReadFile(ringFile); !strings.Contains(string(data), `"kek"`) {
		t.Fatal("the ring file is not wrapped")
	}

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "inspect --config with keys.kek_env from Getenv", env: env, args: []string{"--config", cfgPath, tok}},
		{name: "inspect --config without the variable", env: nil, args: []string{"--config", cfgPath, tok}, wantCode: 1, wantErr: "keys.kek_env names TEST_CLI_KEK, which is not set"},
		{name: "inspect --config with a malformed variable", env: map[string]string{"TEST_CLI_KEK": "short"}, args: []string{"--config", cfgPath, tok}, wantCode: 1, wantErr: "keys.kek_env TEST_CLI_KEK"},
		{name: "inspect --ring of a wrapped file with ISSUER_KEK from Getenv", env: env, args: []string{"--ring", ringFile, tok}},
		{name: "inspect --ring of a wrapped file without ISSUER_KEK", env: nil, args: []string{"--ring", ringFile, tok}, wantCode: 1, wantErr: "key-encryption key"},
		{name: "inspect --ring with a malformed ISSUER_KEK", env: map[string]string{"ISSUER_KEK": "short"}, args: []string{"--ring", ringFile, tok}, wantCode: 1, wantErr: "environment variable ISSUER_KEK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEnv(tt.env, append([]string{"token", "inspect"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d stderr %q, want %d with %q", code, errOut, tt.wantCode, tt.wantErr)
			}
			if code == 0 && !strings.Contains(out, `"sub": "backend"`) {
				t.Fatalf("output %s", out)
			}
			if strings.Contains(errOut, kek) || strings.Contains(out, kek) {
				t.Fatal("the KEK was printed")
			}
		})
	}
}
