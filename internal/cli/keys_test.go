package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// rings opens the rings of the configuration at cfgPath, as a separate
// process (a running issuer) would.
func rings(t *testing.T, cfgPath string) (*config.Config, *server.KeyRings) {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := server.NewKeyRings(cfg, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return cfg, kr
}

// sealAccess seals an access token for aud with the ring's current key.
func sealAccess(t *testing.T, cfg *config.Config, kr *server.KeyRings, aud string) string {
	t.Helper()
	r, _ := kr.Ring(aud)
	s, err := crypttoken.NewSealer(r)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := s.Seal(crypttoken.TypeAccess, &crypttoken.Claims{Issuer: cfg.Issuer, Subject: "backend", Audience: []string{aud},
		ClientID: "backend", IssuedAt: now, Expiry: now.Add(5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// kidOf returns the kid of a compact JWE's protected header.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	obj, err := jose.ParseEncrypted(tok, []jose.KeyAlgorithm{jose.A256KW, jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	return obj.Header.KeyID
}

// TestKeysExportAtomic: export --out replaces the file in one step (a
// reader holding the old file keeps the old content; no temporary file is
// left) and forces mode 0600 on a file that existed with another mode.
func TestKeysExportAtomic(t *testing.T) {
	cfg := writeConfig(t, testConfig)
	if code, _, errOut := run("keys", "init", "--config", cfg); code != 0 {
		t.Fatal(errOut)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "api.jwks")
	if err := os.WriteFile(out, []byte("old content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(out, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	held := filepath.Join(dir, "held-by-a-reader")
	if err := os.Link(out, held); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run("keys", "export", "--config", cfg, "--audience", "https://api.test", "--out", out); code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode of the replaced file: %v %v, want 0600", st.Mode(), err)
	}
	data, _ := os.ReadFile(out)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("the exported file is not a JWK Set: %v", err)
	}
	if old, _ := os.ReadFile(held); string(old) != "old content\n" {
		t.Fatalf("the old file was rewritten in place (a reader saw %q), not replaced", old)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("files left in the directory: %v", entries)
	}
	if code, _, errOut := run("keys", "export", "--config", cfg, "--audience", "https://api.test", "--out", filepath.Join(dir, "missing", "x.jwks")); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Fatalf("export into a missing directory: %d %s", code, errOut)
	}
}

// TestKeysRotateRefusesToReplacePending: a second rotate would silently
// replace the pending key the first one published; it is refused unless
// --force, which says what it replaced.
func TestKeysRotateRefusesToReplacePending(t *testing.T) {
	cfg := writeConfig(t, testConfig)
	if code, _, errOut := run("keys", "init", "--config", cfg); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := run("keys", "rotate", "--config", cfg, "--ring", "https://api.test")
	if code != 0 {
		t.Fatalf("first rotate: %d %s", code, errOut)
	}
	pending := regexp.MustCompile(`(?m)^https://api\.test\s+(\S+)\s+A256KW\s+pending`).FindStringSubmatch(out)
	if pending == nil {
		t.Fatalf("no pending key after rotate:\n%s", out)
	}
	code, out, errOut = run("keys", "rotate", "--config", cfg, "--ring", "https://api.test")
	if code != 2 || !strings.Contains(errOut, pending[1]) || !strings.Contains(errOut, "--force") {
		t.Fatalf("second rotate: exit %d, stderr %q; want 2 naming the pending key %s and --force", code, errOut, pending[1])
	}
	if _, kr := rings(t, cfg); !strings.Contains(listKIDs(kr), pending[1]) {
		t.Fatal("the refused rotate changed the ring")
	}
	// Other rings are not affected by the refusal of this one.
	if code, _, errOut = run("keys", "rotate", "--config", cfg, "--ring", "https://billing.test"); code != 0 {
		t.Fatalf("rotate of another ring: %d %s", code, errOut)
	}
	code, out, errOut = run("keys", "rotate", "--config", cfg, "--ring", "https://api.test", "--force")
	if code != 0 || !strings.Contains(out, "replaced pending key "+pending[1]) {
		t.Fatalf("rotate --force: exit %d, stdout %q, stderr %q; want it to name the replaced key", code, out, errOut)
	}
	if _, kr := rings(t, cfg); strings.Contains(listKIDs(kr), pending[1]) {
		t.Fatal("--force did not replace the pending key")
	}
}

func listKIDs(kr *server.KeyRings) string {
	var b strings.Builder
	for _, s := range kr.List() {
		for _, k := range s.Keys() {
			b.WriteString(k.ID + " ")
		}
	}
	return b.String()
}

// TestKeysRetire attacks as the holder of a compromised key would: a token
// sealed with it keeps working until the key is retired with --now, and
// after "keys retire KID" no new token is sealed with it. The victim (the
// service) keeps issuing tokens that open, sealed with the successor.
func TestKeysRetire(t *testing.T) {
	const aud = "https://api.test"
	cfgPath := writeConfig(t, testConfig)
	if code, _, errOut := run("keys", "init", "--config", cfgPath); code != 0 {
		t.Fatal(errOut)
	}
	cfg, kr := rings(t, cfgPath)
	stolen := sealAccess(t, cfg, kr, aud) // what the thief holds
	bad := kidOf(t, stolen)

	code, out, errOut := run("keys", "retire", "--config", cfgPath, bad)
	if code != 0 || !strings.Contains(out, "retired key "+bad) || !strings.Contains(out, "seals in its place") || !strings.Contains(out, "issuer keys export") {
		t.Fatalf("retire: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	// A running issuer (another process) reloads the ring: new tokens are
	// sealed with another key at once.
	cfg, kr = rings(t, cfgPath)
	fresh := sealAccess(t, cfg, kr, aud)
	if kidOf(t, fresh) == bad {
		t.Fatal("the retired key still seals")
	}
	inspect := func(tok string) (int, string) {
		code, _, errOut := run("token", "inspect", "--config", cfgPath, tok)
		return code, errOut
	}
	if code, errOut := inspect(stolen); code != 0 {
		t.Fatalf("without --now, tokens of the retired key open until they expire: %d %s", code, errOut)
	}

	code, out, errOut = run("keys", "retire", bad, "--config", cfgPath, "--now")
	if code != 0 || !strings.Contains(out, "no longer open") {
		t.Fatalf("retire --now: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if code, errOut := inspect(stolen); code != 1 || !strings.Contains(errOut, "crypttoken: unknown or expired key") || !strings.Contains(errOut, "none of the rings") {
		t.Fatalf("the stolen token after retire --now: exit %d %s, want it refused", code, errOut)
	}
	if code, errOut := inspect(fresh); code != 0 {
		t.Fatalf("the victim's token after retire --now: %d %s", code, errOut)
	}
	_, jwks, _ := run("keys", "export", "--config", cfgPath, "--audience", aud)
	if strings.Contains(jwks, bad) {
		t.Fatal("the exported JWK Set still holds the retired key")
	}
	if code, _, errOut = run("keys", "retire", "--config", cfgPath, "no-such-kid"); code != 2 || !strings.Contains(errOut, "no-such-kid") {
		t.Fatalf("retire of an unknown kid: %d %s", code, errOut)
	}
	if code, _, errOut = run("keys", "retire", "--config", cfgPath); code != 2 || !strings.Contains(errOut, "KID") {
		t.Fatalf("retire without a kid: %d %s", code, errOut)
	}
}
