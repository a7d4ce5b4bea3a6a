package jwksfetch_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/internal/jwksfetch"
)

// TestAttackSSRF: a client registers jwks_uri values that point the issuer
// at things it must never fetch. Each is refused with a typed error, and
// the internal service is never reached; then a legitimate client's set is
// fetched as usual.
func TestAttackSSRF(t *testing.T) {
	internal := newServer(t, "k1") // an "internal" service on loopback
	pool := x509.NewCertPool()
	pool.AddCert(internal.Certificate())
	strict, err := jwksfetch.New(jwksfetch.WithRootCAs(pool)) // no WithAllowPrivate: production
	if err != nil {
		t.Fatal(err)
	}
	port := internal.URL[strings.LastIndexByte(internal.URL, ':'):]
	tests := []struct {
		name string
		uri  string
		want error
	}{
		{"loopback address", internal.URL + "/jwks", jwksfetch.ErrDestination},
		{"a name resolving to loopback (DNS)", "https://localhost" + port + "/jwks", jwksfetch.ErrDestination},
		{"IPv6 loopback", "https://[::1]" + port + "/jwks", jwksfetch.ErrDestination},
		{"cloud metadata", "https://169.254.169.254/latest/meta-data", jwksfetch.ErrDestination},
		{"private network", "https://10.0.0.1/jwks", jwksfetch.ErrDestination},
		{"IPv4-mapped loopback", "https://[::ffff:127.0.0.1]" + port + "/jwks", jwksfetch.ErrDestination},
		{"plain http", "http://example.com/jwks", jwksfetch.ErrURL},
		{"file URL", "file:///etc/passwd", jwksfetch.ErrURL},
		{"gopher", "gopher://example.com/", jwksfetch.ErrURL},
		{"user information", "https://user:pass@example.com/jwks", jwksfetch.ErrURL},
		{"no host", "https:///jwks", jwksfetch.ErrURL},
		{"a fragment", "https://example.com/jwks#x", jwksfetch.ErrURL},
		{"not a URL", "::", jwksfetch.ErrURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := strict.KeySet(context.Background(), tt.uri)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
	if internal.hits.Load() != 0 {
		t.Fatalf("the internal service was reached %d times", internal.hits.Load())
	}
	// The legitimate case, on a network the operator allows.
	lenient := newFetcher(t, internal, nil)
	if set, err := lenient.KeySet(context.Background(), internal.URL+"/jwks"); err != nil || set.Len() != 1 {
		t.Fatalf("legitimate fetch: %v", err)
	}
}

// TestRedirects: redirects are followed only within the origin; a redirect
// elsewhere (another port, plain http) fails and the target is not asked.
func TestRedirects(t *testing.T) {
	target := newServer(t, "k1")
	origin := httptest.NewUnstartedServer(nil)
	origin.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/jwks", http.StatusFound)
		case "/other":
			http.Redirect(w, r, target.URL+"/jwks", http.StatusFound)
		case "/http":
			http.Redirect(w, r, strings.Replace(origin.URL, "https://", "http://", 1)+"/jwks", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			target.serve(w, r)
		}
	})
	origin.StartTLS()
	t.Cleanup(origin.Close)
	pool := x509.NewCertPool()
	pool.AddCert(origin.Certificate())
	pool.AddCert(target.Certificate())
	f, err := jwksfetch.New(jwksfetch.WithAllowPrivate(), jwksfetch.WithRootCAs(pool))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.KeySet(ctx, origin.URL+"/same"); err != nil {
		t.Fatalf("same-origin redirect: %v", err)
	}
	hits := target.hits.Load()
	for _, p := range []string{"/other", "/http", "/loop"} {
		if _, err := f.KeySet(ctx, origin.URL+p); !errors.Is(err, jwksfetch.ErrFetch) {
			t.Errorf("%s: %v, want ErrFetch", p, err)
		}
	}
	if target.hits.Load() != hits {
		t.Fatal("a cross-origin redirect reached its target")
	}
}
