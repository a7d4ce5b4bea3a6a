package dpop_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testClock() time.Time { return testNow }

const (
	tokenURL = "https://issuer.example.com/token"
	apiURL   = "https://api.example.com/v1/items"
)

// clientKey is one algorithm's client key.
type clientKey struct {
	alg  string
	priv crypto.Signer
}

var (
	keysOnce sync.Once
	keys     []clientKey
	keysErr  error
)

// clientKeys returns fixed keys for every proof algorithm (the RSA key is
// pkg/jws's test key).
func clientKeys(t testing.TB) []clientKey {
	t.Helper()
	keysOnce.Do(func() {
		d := make([]byte, 32)
		for i := range d {
			d[i] = byte(i*5 + 1)
		}
		ec, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
		if err != nil {
			keysErr = err
			return
		}
		ed := ed25519.NewKeyFromSeed(d)
		raw, err := os.ReadFile("../jws/testdata/rsa2048-test-key.pem")
		if err != nil {
			keysErr = err
			return
		}
		blk, _ := pem.Decode(raw)
		rk, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			keysErr = err
			return
		}
		keys = []clientKey{{jws.ES256, ec}, {jws.EdDSA, ed}, {jws.PS256, rk.(*rsa.PrivateKey)}, {jws.RS256, rk.(*rsa.PrivateKey)}}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keys
}

func keyFor(t testing.TB, alg string) clientKey {
	for _, k := range clientKeys(t) {
		if k.alg == alg {
			return k
		}
	}
	t.Fatalf("no key for %s", alg)
	return clientKey{}
}

func proof(t testing.TB, k clientKey, c dpop.Claims) string {
	t.Helper()
	if c.IssuedAt.IsZero() {
		c.IssuedAt = testNow
	}
	p, err := dpop.NewProof(k.priv, k.alg, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func thumbprint(t testing.TB, k clientKey) string {
	t.Helper()
	tp, err := jws.ThumbprintString(k.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func verifier(t testing.TB, opts ...dpop.Option) *dpop.Verifier {
	t.Helper()
	v, err := dpop.NewVerifier(append([]dpop.Option{dpop.WithClock(testClock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
