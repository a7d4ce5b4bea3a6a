package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// A signing ring's key is what pkg/jws signs with.
var _ jws.Signer = (*Key)(nil)

var signingAlgs = []Alg{ES256, EdDSA, RS256}

// rsaOnce caches one RSA key for the tests: generating a 2048-bit key
// costs tens of milliseconds, more on a busy machine.
var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// testSigner returns a private key for alg; RS256 keys are shared between
// tests, the others are fresh.
func testSigner(t testing.TB, alg Alg) crypto.Signer {
	t.Helper()
	switch alg {
	case ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		return k
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		return k
	case RS256:
		rsaOnce.Do(func() {
			var err error
			rsaKey, err = rsa.GenerateKey(rand.Reader, RSABits)
			if err != nil {
				panic(err)
			}
		})
		return rsaKey
	}
	t.Fatalf("no signer for %s", alg)
	return nil
}

func mustSigningKey(t testing.TB, id string, alg Alg, l Lifecycle) *Key {
	t.Helper()
	k, err := NewSigningKey(id, alg, testSigner(t, alg), l)
	require.NoError(t, err)
	return k
}

// sampleSigningSet is a signing ring with one key of each algorithm:
// retired, active and pending at t0.
func sampleSigningSet(t testing.TB) *Set {
	t.Helper()
	return mustSet(t, SigningRing,
		mustSigningKey(t, "s-retired", RS256, lc(-48*time.Hour, -47*time.Hour, -23*time.Hour, 30*time.Minute)),
		mustSigningKey(t, "s-active", ES256, lc(-24*time.Hour, -23*time.Hour, time.Hour, time.Hour+30*time.Minute)),
		mustSigningKey(t, "s-pending", EdDSA, lc(-time.Hour, time.Hour, 25*time.Hour, 25*time.Hour+30*time.Minute)),
	)
}

var b64url = base64.RawURLEncoding

// compactJWS assembles a compact JWS (RFC 7515 §7.1) signed by k, the way
// pkg/jws will: the signature octets are exactly what Sign returns.
func compactJWS(t testing.TB, k *Key, payload []byte) string {
	t.Helper()
	hdr, err := json.Marshal(map[string]string{"alg": k.Algorithm(), "kid": k.KeyID(), "typ": "JWT"})
	require.NoError(t, err)
	input := b64url.EncodeToString(hdr) + "." + b64url.EncodeToString(payload)
	sig, err := k.Sign([]byte(input))
	require.NoError(t, err)
	return input + "." + b64url.EncodeToString(sig)
}

// stdVerify checks sig over input with the standard library's verifiers
// only.
func stdVerify(t testing.TB, alg Alg, pub crypto.PublicKey, input, sig []byte) bool {
	t.Helper()
	digest := sha256.Sum256(input)
	switch alg {
	case ES256:
		if len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub.(*ecdsa.PublicKey), digest[:], r, s)
	case EdDSA:
		return ed25519.Verify(pub.(ed25519.PublicKey), input, sig)
	case RS256:
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig) == nil
	}
	return false
}

// TestSignVerifies signs with each algorithm and verifies with the
// standard library and with go-jose, never with this package's code.
func TestSignVerifies(t *testing.T) {
	tests := []struct {
		name   string
		alg    Alg
		sigLen int
	}{
		{"RFC 7518 §3.4 ES256: R||S, 64 octets", ES256, 64},
		{"RFC 8037 §3.1 EdDSA: Ed25519, 64 octets", EdDSA, ed25519.SignatureSize},
		{"RFC 7518 §3.3 RS256: PKCS #1 v1.5, modulus length", RS256, RSABits / 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewSigningKey("kid-"+string(tt.alg), tt.alg, testSigner(t, tt.alg), lc(0, 0, time.Hour, 2*time.Hour))
			require.NoError(t, err)
			require.Equal(t, "kid-"+string(tt.alg), k.KeyID())
			require.Equal(t, string(tt.alg), k.Algorithm())
			require.True(t, k.CanSign())

			input := []byte("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9")
			sig, err := k.Sign(input)
			require.NoError(t, err)
			require.Len(t, sig, tt.sigLen)
			require.True(t, stdVerify(t, tt.alg, k.Public(), input, sig), "standard library verifies")
			require.False(t, stdVerify(t, tt.alg, k.Public(), append(input, 'x'), sig), "another input does not verify")

			// go-jose verifies the compact JWS with the key, and with the
			// key as published in the JWK Set.
			payload := []byte(`{"sub":"alice"}`)
			token := compactJWS(t, k, payload)
			obj, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tt.alg)})
			require.NoError(t, err)
			got, err := obj.Verify(k.Public())
			require.NoError(t, err)
			require.Equal(t, payload, got)

			set := mustSet(t, SigningRing, k)
			doc, err := ExportJWKS(set, t0)
			require.NoError(t, err)
			var ks jose.JSONWebKeySet
			require.NoError(t, json.Unmarshal(doc, &ks))
			found := ks.Key(k.KeyID())
			require.Len(t, found, 1)
			got, err = obj.Verify(found[0])
			require.NoError(t, err)
			require.Equal(t, payload, got)

			// A tampered signature fails go-jose.
			tampered := token[:len(token)-2] + flip(token[len(token)-2:])
			if obj, err := jose.ParseSigned(tampered, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tt.alg)}); err == nil {
				_, err = obj.Verify(k.Public())
				require.Error(t, err)
			}
		})
	}
}

// flip changes the first base64url character of s.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// TestSignRandomizedAndConcurrent: ES256 signatures differ each time
// (random nonces) and every one verifies, also when signing from many
// goroutines at once.
func TestSignConcurrent(t *testing.T) {
	for _, alg := range signingAlgs {
		k := mustSigningKey(t, "c", alg, lc(0, 0, time.Hour, time.Hour))
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				input := []byte(strings.Repeat("x", i+1))
				sig, err := k.Sign(input)
				if err == nil && !stdVerify(t, alg, k.Public(), input, sig) {
					err = errors.New("signature does not verify")
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, alg)
		}
	}
}

func TestSignRefused(t *testing.T) {
	sym := mustKey(t, "sym", A256KW, 1, lc(0, 0, time.Hour, time.Hour))
	_, err := sym.Sign([]byte("x"))
	require.ErrorIs(t, err, ErrCannotSign)
	require.Nil(t, sym.Public())
	require.False(t, sym.CanSign())

	es := testSigner(t, ES256).(*ecdsa.PrivateKey)
	pub, err := NewVerifyingKey("pub", ES256, &es.PublicKey, lc(0, 0, time.Hour, time.Hour))
	require.NoError(t, err)
	_, err = pub.Sign([]byte("x"))
	require.ErrorIs(t, err, ErrCannotSign)
	require.False(t, pub.CanSign())
	require.True(t, pub.Public().(*ecdsa.PublicKey).Equal(&es.PublicKey))
	require.Nil(t, pub.Material())
	require.Nil(t, pub.AEAD())
}

func TestNewSigningKeyRefuses(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	ed := testSigner(t, EdDSA).(ed25519.PrivateKey)
	other := testSigner(t, EdDSA).(ed25519.PrivateKey)
	// An Ed25519 private key whose public half belongs to another key: its
	// signatures would leak the private scalar.
	mixed := append(append(ed25519.PrivateKey{}, ed.Seed()...), other.Public().(ed25519.PublicKey)...)
	es := testSigner(t, ES256).(*ecdsa.PrivateKey)
	es2 := testSigner(t, ES256).(*ecdsa.PrivateKey)
	wrongPub := &ecdsa.PrivateKey{PublicKey: es2.PublicKey, D: es.D} //nolint:staticcheck // a deliberately inconsistent key

	tests := []struct {
		name string
		alg  Alg
		key  crypto.Signer
		want error
	}{
		{"RFC 7518 §3.4 ES256 needs P-256, not P-384", ES256, p384, ErrKeyType},
		{"RFC 7518 §3.4 ES256 needs an ECDSA key", ES256, ed, ErrKeyType},
		{"RFC 8037 §3.1 EdDSA needs an Ed25519 key", EdDSA, es, ErrKeyType},
		{"RFC 7518 §3.3 RS256 needs at least 2048 bits", RS256, small, ErrKeyType},
		{"RFC 7518 §3.3 RS256 needs an RSA key", RS256, es, ErrKeyType},
		{"RFC 8032 §5.1.5 Ed25519 public half must match the seed", EdDSA, mixed, ErrKeyType},
		{"ECDSA public key must match the private key", ES256, wrongPub, ErrKeyType},
		{"a JWE algorithm is not a signature algorithm", A256KW, es, ErrAlg},
		{"nil key", ES256, nil, ErrKeyType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewSigningKey("k", tt.alg, tt.key, lc(0, 0, time.Hour, time.Hour))
			require.ErrorIs(t, err, tt.want)
			require.Nil(t, k)
		})
	}
	_, err = NewVerifyingKey("k", RS256, &small.PublicKey, lc(0, 0, time.Hour, time.Hour))
	require.ErrorIs(t, err, ErrKeyType)
	_, err = NewKey("k", ES256, material(1), lc(0, 0, time.Hour, time.Hour))
	require.ErrorIs(t, err, ErrAlg, "a symmetric key cannot be an ES256 key")
}

// TestSigningKeyCopies: the caller's private key is not kept, so changing
// it later changes nothing.
func TestSigningKeyCopies(t *testing.T) {
	ed := testSigner(t, EdDSA).(ed25519.PrivateKey)
	orig := append(ed25519.PrivateKey{}, ed...)
	k, err := NewSigningKey("k", EdDSA, ed, lc(0, 0, time.Hour, time.Hour))
	require.NoError(t, err)
	clear(ed)
	sig, err := k.Sign([]byte("x"))
	require.NoError(t, err)
	require.True(t, ed25519.Verify(orig.Public().(ed25519.PublicKey), []byte("x"), sig))
}

func TestSetKinds(t *testing.T) {
	sym := mustKey(t, "sym", A256KW, 1, lc(0, 0, time.Hour, time.Hour))
	sig := mustSigningKey(t, "sig", ES256, lc(0, 0, time.Hour, time.Hour))
	_, err := NewSet("r", sym, sig)
	require.ErrorIs(t, err, ErrKeyKind)
	require.True(t, mustSet(t, SigningRing, sig).Signing())
	require.False(t, mustSet(t, "r", sym).Signing())
	empty := mustSet(t, "r")
	require.False(t, empty.Signing())
}

// TestRawECDSA: RFC 7518 §3.4 — R and S are each 32 octets, big-endian,
// left-padded with zeros; DER's sign octet is dropped.
func TestRawECDSA(t *testing.T) {
	der := func(r, s []byte) []byte {
		var b cryptobyte.Builder
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1BigInt(new(big.Int).SetBytes(r))
			b.AddASN1BigInt(new(big.Int).SetBytes(s))
		})
		return b.BytesOrPanic()
	}
	full := bytes.Repeat([]byte{0xff}, 32) // DER adds a 0x00 sign octet
	short := []byte{0x01, 0x02}            // DER keeps 2 octets
	tests := []struct {
		name string
		in   []byte
		want []byte
		ok   bool
	}{
		{"RFC 7518 §3.4 high bit set: sign octet dropped", der(full, short), append(append([]byte{}, full...), append(make([]byte, 30), 1, 2)...), true},
		{"RFC 7518 §3.4 short integers are left-padded", der(short, full), append(append(make([]byte, 30), 1, 2), full...), true},
		{"an integer longer than 32 octets is refused", der(bytes.Repeat([]byte{1}, 33), short), nil, false},
		{"trailing data is refused", append(der(short, short), 0), nil, false},
		{"not DER", []byte{0x30, 0x05, 0x02}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := rawECDSA(tt.in, 32)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}
