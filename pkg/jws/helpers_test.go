package jws_test

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

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// testNow is the clock of every claims test.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testClock() time.Time { return testNow }

// hmacSecret is the fixed HS256 secret of the tests.
var hmacSecret = []byte("0123456789abcdef0123456789abcdef")

// fixture is one algorithm's signing and verification keys.
type fixture struct {
	alg    string
	kid    string
	priv   any              // what NewSigner takes
	pub    crypto.PublicKey // nil for HS256
	signer jws.Signer
	key    *jws.Key
	jose   jose.SignatureAlgorithm
}

var (
	fixturesOnce sync.Once
	fixtures     []*fixture
	fixturesErr  error
)

// testFixtures returns one fixture per supported algorithm, with fixed keys
// (so that stored fuzz seeds stay valid): EC and Ed25519 keys from fixed
// bytes, the RSA key from testdata, the HMAC secret above.
func testFixtures(t testing.TB) []*fixture {
	t.Helper()
	fixturesOnce.Do(func() { fixtures, fixturesErr = makeFixtures() })
	if fixturesErr != nil {
		t.Fatal(fixturesErr)
	}
	return fixtures
}

func fixtureFor(t testing.TB, alg string) *fixture {
	t.Helper()
	for _, f := range testFixtures(t) {
		if f.alg == alg {
			return f
		}
	}
	t.Fatalf("no fixture for %s", alg)
	return nil
}

func makeFixtures() ([]*fixture, error) {
	p256, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), fixedBytes(32, 1))
	if err != nil {
		return nil, err
	}
	p384, err := ecdsa.ParseRawPrivateKey(elliptic.P384(), fixedBytes(48, 2))
	if err != nil {
		return nil, err
	}
	ed := ed25519.NewKeyFromSeed(fixedBytes(32, 3))
	rsaKey, err := testRSAKey()
	if err != nil {
		return nil, err
	}
	specs := []struct {
		alg  string
		priv any
		pub  crypto.PublicKey
		jose jose.SignatureAlgorithm
	}{
		{jws.ES256, p256, &p256.PublicKey, jose.ES256},
		{jws.ES384, p384, &p384.PublicKey, jose.ES384},
		{jws.EdDSA, ed, ed.Public(), jose.EdDSA},
		{jws.RS256, rsaKey, &rsaKey.PublicKey, jose.RS256},
		{jws.PS256, rsaKey, &rsaKey.PublicKey, jose.PS256},
		{jws.HS256, hmacSecret, nil, jose.HS256},
	}
	var out []*fixture
	for _, s := range specs {
		f := &fixture{alg: s.alg, kid: "k-" + s.alg, priv: s.priv, pub: s.pub, jose: s.jose}
		if f.signer, err = jws.NewSigner(s.alg, s.priv, f.kid); err != nil {
			return nil, err
		}
		if s.pub == nil {
			f.key, err = jws.NewHMACKey(hmacSecret, f.kid)
		} else {
			f.key, err = jws.NewPublicKey(s.pub, f.kid, "")
		}
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func fixedBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)*7
	}
	return b
}

func testRSAKey() (*rsa.PrivateKey, error) {
	raw, err := os.ReadFile("testdata/rsa2048-test-key.pem")
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(raw)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	return k.(*rsa.PrivateKey), nil
}

// joseKey is what go-jose signs with for f.
func (f *fixture) joseSigningKey() any { return f.priv }

// joseVerifyKey is what go-jose verifies with for f.
func (f *fixture) joseVerifyKey() any {
	if f.pub == nil {
		return hmacSecret
	}
	return f.pub
}

// sign signs payload with f's signer and the given header fields.
func (f *fixture) sign(t testing.TB, h jws.Protected, payload string) string {
	t.Helper()
	tok, err := jws.Sign(f.signer, h, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
