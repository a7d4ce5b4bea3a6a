package devtls_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/devtls"
)

func files(t *testing.T) (dir, cert, key string) {
	t.Helper()
	dir = t.TempDir()
	return dir, filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem")
}

func TestEnsure(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		setup       func(t *testing.T, cert, key string)
		hosts       []string
		at          time.Time
		wantCreated bool
		wantErr     error
	}{
		{name: "fresh directory creates a pair", hosts: devtls.DefaultHosts, at: now, wantCreated: true},
		{
			name:  "existing pair is reused",
			setup: func(t *testing.T, cert, key string) { mustEnsure(t, cert, key, devtls.DefaultHosts, now) },
			hosts: devtls.DefaultHosts, at: now.Add(24 * time.Hour),
		},
		{
			name:  "pair not covering a new host is replaced",
			setup: func(t *testing.T, cert, key string) { mustEnsure(t, cert, key, devtls.DefaultHosts, now) },
			hosts: append([]string{"10.1.2.3"}, devtls.DefaultHosts...), at: now, wantCreated: true,
		},
		{
			name:  "pair near expiry is replaced",
			setup: func(t *testing.T, cert, key string) { mustEnsure(t, cert, key, devtls.DefaultHosts, now) },
			hosts: devtls.DefaultHosts, at: now.Add(devtls.Validity - 24*time.Hour), wantCreated: true,
		},
		{
			name: "corrupt key file is an error, not overwritten",
			setup: func(t *testing.T, cert, key string) {
				mustEnsure(t, cert, key, devtls.DefaultHosts, now)
				if err := os.WriteFile(key, []byte("garbage"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			hosts: devtls.DefaultHosts, at: now, wantErr: devtls.ErrInvalid,
		},
		{
			name: "lone certificate is replaced",
			setup: func(t *testing.T, cert, key string) {
				mustEnsure(t, cert, key, devtls.DefaultHosts, now)
				if err := os.Remove(key); err != nil {
					t.Fatal(err)
				}
			},
			hosts: devtls.DefaultHosts, at: now, wantCreated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cert, key := files(t)
			if tt.setup != nil {
				tt.setup(t, cert, key)
			}
			before, _ := os.ReadFile(key)
			created, err := devtls.Ensure(cert, key, tt.hosts, tt.at)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Ensure error = %v, want %v", err, tt.wantErr)
			}
			if created != tt.wantCreated {
				t.Fatalf("created = %v, want %v", created, tt.wantCreated)
			}
			after, _ := os.ReadFile(key)
			if tt.wantErr != nil {
				if string(before) != string(after) {
					t.Fatal("key file changed after an error")
				}
				return
			}
			certPEM, _ := os.ReadFile(cert)
			leaf, err := devtls.Check(certPEM, after)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			for _, h := range tt.hosts {
				if err := leaf.VerifyHostname(h); err != nil {
					t.Errorf("certificate does not cover %s: %v", h, err)
				}
			}
			pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
			if !ok || pub.Curve != elliptic.P256() {
				t.Errorf("public key is %T, want ECDSA P-256", leaf.PublicKey)
			}
			st, err := os.Stat(key)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("key file mode = %v, want 0600", st.Mode().Perm())
			}
		})
	}
}

func mustEnsure(t *testing.T, cert, key string, hosts []string, now time.Time) {
	t.Helper()
	if _, err := devtls.Ensure(cert, key, hosts, now); err != nil {
		t.Fatal(err)
	}
}

func TestFingerprint(t *testing.T) {
	c, _, err := devtls.Generate([]string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fp := devtls.Fingerprint(c)
	if len(fp) != 32*3-1 || strings.Count(fp, ":") != 31 {
		t.Fatalf("fingerprint %q is not 32 colon-separated hex bytes", fp)
	}
	if got := devtls.Fingerprint([]byte("not pem")); got != "" {
		t.Fatalf("Fingerprint(garbage) = %q, want empty", got)
	}
}
