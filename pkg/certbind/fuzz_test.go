package certbind_test

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sealedtoken/issuer/pkg/certbind"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpora")

// TestWriteSeeds rewrites the seed corpora with -update.
func TestWriteSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the seed corpora")
	}
	c := clientCert(t)
	b64 := base64.StdEncoding.EncodeToString(c.Raw)
	write(t, "FuzzParseHeader", []string{":" + b64 + ":", " :" + b64[:len(b64)-2] + ":;a=1;b=\"x\";c=?1", "::", ":AAAA", "x", ":" + b64 + ":, :" + b64 + ":"})
	write(t, "FuzzParseDN", []string{`CN=billing-client,OU=Billing,O=Example\, Inc.,C=DE`, `CN=#0c03616263`, `CN=a+UID=b;O=c`, `2.5.4.3=x\2C y`, `CN=\`, `=`, `CN=#1e0400610062`})
}

func write(t *testing.T, target string, seeds []string) {
	dir := filepath.Join("testdata", "fuzz", target)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seeds {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte("go test fuzz v1\nstring("+strconv.Quote(s)+")\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzParseHeader: the Client-Cert and Client-Cert-Chain parsers never
// panic and fail only with their sentinels.
func FuzzParseHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, v string) {
		c, err := certbind.ParseHeader([]string{v})
		if err != nil {
			if !errors.Is(err, certbind.ErrMalformedHeader) && !errors.Is(err, certbind.ErrMalformedCertificate) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
		} else if c == nil || len(certbind.Thumbprint(c)) != 43 {
			t.Fatal("no certificate")
		}
		if _, err := certbind.ParseChainHeader([]string{v}); err != nil &&
			!errors.Is(err, certbind.ErrMalformedHeader) && !errors.Is(err, certbind.ErrMalformedCertificate) {
			t.Fatalf("chain: error %v is none of the sentinels", err)
		}
	})
}

// FuzzParseDN: a DN that parses prints (String) to one that parses to an
// equal DN.
func FuzzParseDN(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		dn, err := certbind.ParseDN(s)
		if err != nil {
			if !errors.Is(err, certbind.ErrConfig) {
				t.Fatalf("error %v is not ErrConfig", err)
			}
			return
		}
		back, err := certbind.ParseDN(dn.String())
		if err != nil || !back.Equal(dn) {
			t.Fatalf("ParseDN(%q).String() = %q, which parses to another DN: %v", s, dn.String(), err)
		}
	})
}
