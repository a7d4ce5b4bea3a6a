package crypttoken

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// testNow is the fixed time every test runs at, unless it says otherwise.
var testNow = time.Unix(1_700_000_000, 0)

const (
	testIssuer   = "https://issuer.example.com"
	testAudience = "https://api.example.com"
)

func testClock() time.Time { return testNow }

// testMaterial returns fixed key material that differs by seed.
func testMaterial(seed byte) []byte {
	return bytes.Repeat([]byte{seed}, keys.KeySize)
}

// testLifecycle places a key active around testNow.
func testLifecycle() keys.Lifecycle {
	return keys.Lifecycle{
		Created: testNow.Add(-time.Hour), Activates: testNow.Add(-time.Hour),
		Retires: testNow.Add(time.Hour), Expires: testNow.Add(2 * time.Hour),
	}
}

// testKey returns a key with fixed id and material, active at testNow.
func testKey(t testing.TB, id string, alg keys.Alg, seed byte) *keys.Key {
	t.Helper()
	k, err := keys.NewKey(id, alg, testMaterial(seed), testLifecycle())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testRing returns a ring named testAudience holding ks.
func testRing(t testing.TB, ks ...*keys.Key) *keys.Ring {
	t.Helper()
	set, err := keys.NewSet(testAudience, ks...)
	if err != nil {
		t.Fatal(err)
	}
	return keys.NewRing(set)
}

// fixture is a ring with one key, and a Sealer and an access-token Opener
// on it, all at testNow.
type fixture struct {
	key    *keys.Key
	ring   *keys.Ring
	sealer *Sealer
	opener *Opener
}

func newFixture(t testing.TB, alg keys.Alg) *fixture {
	t.Helper()
	k := testKey(t, "k-"+string(alg), alg, 7)
	f := &fixture{key: k, ring: testRing(t, k)}
	var err error
	if f.sealer, err = NewSealer(f.ring, WithClock(testClock)); err != nil {
		t.Fatal(err)
	}
	f.opener = f.newOpener(t, Expected{Issuer: testIssuer, Audience: testAudience})
	return f
}

// newOpener returns an Opener on f's ring at testNow (unless exp.Time is set).
func (f *fixture) newOpener(t testing.TB, exp Expected, opts ...Option) *Opener {
	t.Helper()
	o, err := NewOpener(f.ring, exp, append([]Option{WithClock(testClock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// seal seals c as typ, failing the test on error.
func (f *fixture) seal(t testing.TB, typ Type, c *Claims) string {
	t.Helper()
	tok, err := f.sealer.Seal(typ, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// accessClaims returns a realistic RFC 9068 access token's claims.
func accessClaims() *Claims {
	return &Claims{
		Issuer: testIssuer, Subject: "u-1001", Audience: []string{testAudience},
		Expiry: testNow.Add(10 * time.Minute), IssuedAt: testNow, ID: "jti-0001",
		ClientID: "webapp", Scope: "openid profile read",
	}
}

// headerJSON is the protected header Seal writes for key and typ.
func headerJSON(key *keys.Key, typ Type) string {
	return `{"alg":"` + string(key.Alg) + `","enc":"A256GCM","kid":"` + key.ID + `","typ":"` + string(typ) + `"}`
}

// forge builds a correctly encrypted compact JWE under key with any header
// and plaintext, for the inputs Seal would never produce. The encrypted
// key is present (A256KW) or empty (dir) according to key.Alg.
func forge(t testing.TB, key *keys.Key, header, plaintext string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	hdr := enc.EncodeToString([]byte(header))
	aead := key.AEAD()
	var ek []byte
	if key.Alg == keys.A256KW {
		var cek [cekSize]byte
		var wrapped [wrappedSize]byte
		var blk [blockSize]byte
		if _, err := rand.Read(cek[:]); err != nil {
			t.Fatal(err)
		}
		keyWrap(key.Block(), &wrapped, &cek, &blk)
		ek = wrapped[:]
		var err error
		if aead, err = newGCM(cek[:]); err != nil {
			t.Fatal(err)
		}
	}
	iv := make([]byte, ivSize)
	if _, err := rand.Read(iv); err != nil {
		t.Fatal(err)
	}
	sealed := aead.Seal(nil, iv, []byte(plaintext), []byte(hdr))
	ct, tag := sealed[:len(sealed)-tagSize], sealed[len(sealed)-tagSize:]
	return hdr + "." + enc.EncodeToString(ek) + "." + enc.EncodeToString(iv) + "." +
		enc.EncodeToString(ct) + "." + enc.EncodeToString(tag)
}

// claimsJSON is the plaintext of a valid access token at testNow, with
// extra members appended before the closing brace.
func claimsJSON(extra string) string {
	s := `{"iss":"` + testIssuer + `","aud":"` + testAudience + `","sub":"u-1","exp":1700000600,"iat":1700000000`
	return s + extra + "}"
}
