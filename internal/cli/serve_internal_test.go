package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/login"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// TestEnsureLoginKey: the dev server's login key is created once, mode
// 0600, in a form login.ParseKeyFile accepts, and kept on later starts.
func TestEnsureLoginKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), config.DevLoginKeyFile)
	if err := ensureLoginKey(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v %v", st, err)
	}
	first, _ := os.ReadFile(path)
	key, err := login.ParseKeyFile(first)
	if err != nil || len(key) != 32 {
		t.Fatalf("key: %d bytes, %v", len(key), err)
	}
	if err := ensureLoginKey(path); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(first, again) {
		t.Fatal("the key was replaced on the second start")
	}
	if err := ensureLoginKey(filepath.Join(t.TempDir(), "missing-dir", "login.key")); err == nil {
		t.Fatal("no error for a missing directory")
	}
}

// TestDevSecrets: the generated password verifies against its bcrypt hash,
// the PKCE pair matches (RFC 7636 §4.2), and two starts differ.
func TestDevSecrets(t *testing.T) {
	a, err := newDevSecrets()
	if err != nil {
		t.Fatal(err)
	}
	b, err := newDevSecrets()
	if err != nil {
		t.Fatal(err)
	}
	h, err := secret.Parse(a.passwordHash)
	if err != nil || !h.Verify(a.password) || h.Verify(b.password) {
		t.Fatalf("password hash: %v", err)
	}
	if cost, ok := h.BcryptCost(); !ok || cost != devPasswordCost {
		t.Fatalf("bcrypt cost %d %v", cost, ok)
	}
	sum := sha256.Sum256([]byte(a.verifier))
	if a.challenge != base64.RawURLEncoding.EncodeToString(sum[:]) || len(a.verifier) < 43 {
		t.Fatalf("PKCE pair %q %q", a.verifier, a.challenge)
	}
	if a.secret == b.secret || a.password == b.password || a.verifier == b.verifier {
		t.Fatal("two starts generated the same values")
	}
}

// TestBanner: the banner prints the password once and the secret in its
// two curl lines, and names the flows.
func TestBanner(t *testing.T) {
	d, err := newDevSecrets()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Dev(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	printBanner(&b, cfg, "/data", "/data/issuer.dev.yaml", d)
	out := b.String()
	for _, c := range []struct {
		what  string
		value string
		n     int
	}{
		{"password", d.password, 1},
		{"secret", d.secret, 2},
		{"verifier", d.verifier, 1},
		{"challenge", d.challenge, 1},
		{"browser URL", cfg.Issuer + "/authorize?response_type=code&client_id=demo&scope=read+write&state=xyz", 1},
		{"code lifetime", "within 1m", 1},
	} {
		if got := strings.Count(out, c.value); got != c.n {
			t.Errorf("%s appears %d times, want %d:\n%s", c.what, got, c.n, out)
		}
	}
}
