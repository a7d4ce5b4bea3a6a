package dpop_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpora")

// TestWriteSeeds rewrites the seed corpora with -update.
func TestWriteSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the seed corpora")
	}
	var seeds []string
	for _, k := range clientKeys(t) {
		seeds = append(seeds, proof(t, k, dpop.Claims{Method: "POST", URI: tokenURL, ID: "seed-" + k.alg}))
	}
	seeds = append(seeds, "", "a.b.c", hs256Proof(t, `{}`),
		craft(t, keyFor(t, jws.ES256), "dpop+jwt", "", `{"jti":"j","htm":"POST","htm":"GET","htu":"`+tokenURL+`","iat":1772366400}`))
	write(t, "FuzzVerify", seeds)
	write(t, "FuzzNormalizeURI", []string{tokenURL, "HTTPS://A.example:443/%7e/%2f?q#f", "http://[::1]:80", "https://u@h/", "%zz"})
}

func write(t *testing.T, target string, seeds []string) {
	dir := filepath.Join("testdata", "fuzz", target)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seeds {
		body := "go test fuzz v1\nstring(" + strconv.Quote(s) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzVerify: Verify never panics; every refusal has an RFC 9449 code; an
// accepted proof names the request and a thumbprint.
func FuzzVerify(f *testing.F) {
	v := verifier(f)
	req := dpop.Request{Method: "POST", URI: tokenURL}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := v.Verify(context.Background(), []string{p}, req)
		if err != nil {
			if got != nil || dpop.ErrorCode(err) == "" {
				t.Fatalf("error %v without a code, or with a proof", err)
			}
			return
		}
		if got.Method != "POST" || len(got.JKT) != 43 || got.ID == "" {
			t.Fatalf("accepted %+v", got)
		}
	})
}

// FuzzNormalizeURI: normalizing is idempotent and never panics.
func FuzzNormalizeURI(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		n, err := dpop.NormalizeURI(s)
		if err != nil {
			return
		}
		n2, err := dpop.NormalizeURI(n)
		if err != nil || n2 != n {
			t.Fatalf("NormalizeURI(%q) = %q, then %q, %v", s, n, n2, err)
		}
	})
}

// FuzzNonce: Nonces.Valid never panics and accepts nothing but the nonces
// of the current and previous steps.
func FuzzNonce(f *testing.F) {
	n, err := dpop.NewNonces(30*time.Second, testClock, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	cur := n.Current()
	f.Add(cur)
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		if n.Valid(s) && s != cur {
			prev, _ := dpop.NewNonces(30*time.Second, func() time.Time { return testNow.Add(-30 * time.Second) }, []byte("0123456789abcdef0123456789abcdef"))
			if s != prev.Current() {
				t.Fatalf("Valid(%q)", s)
			}
		}
	})
}
