package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// SigningRing is the name of the issuer's signing ring (SPEC §4, §11): the
// asymmetric keys that sign ID tokens, Status List Tokens, key deliveries
// and signed access tokens. Its public keys are published (ExportJWKS, the
// issuer's jwks_uri); its private keys are never exported. An audience must
// not be given this name; audience names are absolute URIs, which it is not.
const SigningRing = "signing"

// RSA key sizes of RS256 keys. Generate makes RSABits-bit keys; keys read
// from a ring file or a JWK Set must have MinRSABits to MaxRSABits bits.
// The upper bound keeps a hostile JWK Set from making a verifier spend
// seconds on one signature.
const (
	RSABits    = 2048
	MinRSABits = 2048
	MaxRSABits = 8192
)

// Errors of signing keys. Match them with errors.Is.
var (
	// ErrKeyType means a key does not fit its algorithm: ES256 needs a
	// P-256 ECDSA key, EdDSA an Ed25519 key, RS256 an RSA key of MinRSABits
	// to MaxRSABits bits; or a private key does not match its public key.
	ErrKeyType = errors.New("keys: key type does not fit its algorithm")
	// ErrCannotSign means Sign was called on a key that holds no private
	// signing key: a symmetric key, or a public key from a JWK Set.
	ErrCannotSign = errors.New("keys: key cannot sign (symmetric or public-only key)")
	// ErrKeyKind means symmetric and signing keys were mixed in one set, or
	// a ring holds keys of another kind than its policy makes.
	ErrKeyKind = errors.New("keys: symmetric and signing keys do not mix in one ring")
)

// NewSigningKey builds a signing key from its private key: an
// *ecdsa.PrivateKey on P-256 for ES256, an ed25519.PrivateKey for EdDSA, an
// *rsa.PrivateKey of MinRSABits to MaxRSABits bits for RS256. The private
// key is checked (its public part must match it) and copied; the caller's
// value is not modified.
func NewSigningKey(id string, alg Alg, priv crypto.Signer, lc Lifecycle) (*Key, error) {
	k, err := newAsymmetric(id, alg, lc)
	if err != nil {
		return nil, err
	}
	if k.signer, k.pub, err = checkSigner(alg, priv); err != nil {
		return nil, fmt.Errorf("%w: key %q: %s", ErrKeyType, id, err.Error())
	}
	return k, nil
}

// NewVerifyingKey builds a public-only signing key: it verifies (Public)
// and cannot Sign. pub is an *ecdsa.PublicKey on P-256 for ES256, an
// ed25519.PublicKey for EdDSA, an *rsa.PublicKey of MinRSABits to
// MaxRSABits bits for RS256; it is checked and copied.
func NewVerifyingKey(id string, alg Alg, pub crypto.PublicKey, lc Lifecycle) (*Key, error) {
	k, err := newAsymmetric(id, alg, lc)
	if err != nil {
		return nil, err
	}
	if k.pub, err = checkPublic(alg, pub); err != nil {
		return nil, fmt.Errorf("%w: key %q: %s", ErrKeyType, id, err.Error())
	}
	return k, nil
}

func newAsymmetric(id string, alg Alg, lc Lifecycle) (*Key, error) {
	if !validKeyID(id) {
		return nil, fmt.Errorf("%w: %q", ErrKeyID, id)
	}
	if !alg.Signing() {
		return nil, fmt.Errorf("%w: %q is not a signature algorithm (want ES256, EdDSA or RS256)", ErrAlg, alg)
	}
	if err := lc.check(id); err != nil {
		return nil, err
	}
	return &Key{
		ID: id, Alg: alg,
		Created: lc.Created, Activates: lc.Activates, Retires: lc.Retires, Expires: lc.Expires,
		sealed: new(atomic.Uint64),
	}, nil
}

// generateSigner makes a new private key for alg.
func generateSigner(alg Alg) (crypto.Signer, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, RSABits)
	default:
		return nil, fmt.Errorf("%w: %q", ErrAlg, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: generating a %s key: %w", alg, err)
	}
	return priv, nil
}

// checkSigner checks that priv fits alg and returns a private copy of it
// and its public key. Error texts name no key material.
func checkSigner(alg Alg, priv crypto.Signer) (crypto.Signer, crypto.PublicKey, error) {
	switch p := priv.(type) {
	case *ecdsa.PrivateKey:
		if alg != ES256 || p.Curve != elliptic.P256() {
			break
		}
		raw, err := p.Bytes()
		if err != nil {
			return nil, nil, errors.New("invalid P-256 private key")
		}
		defer clear(raw)
		c, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
		if err != nil {
			return nil, nil, errors.New("invalid P-256 private key")
		}
		if !c.PublicKey.Equal(&p.PublicKey) {
			return nil, nil, errors.New("the public key does not match the private key")
		}
		return c, &c.PublicKey, nil
	case ed25519.PrivateKey:
		if alg != EdDSA {
			break
		}
		if len(p) != ed25519.PrivateKeySize {
			return nil, nil, fmt.Errorf("Ed25519 private key of %d bytes", len(p))
		}
		c := ed25519.NewKeyFromSeed(p.Seed())
		if !c.Equal(p) {
			// A mismatched public half would make Ed25519 signatures leak
			// the private key.
			return nil, nil, errors.New("the public key does not match the private key")
		}
		return c, c.Public(), nil
	case *rsa.PrivateKey:
		if alg != RS256 {
			break
		}
		if _, err := checkPublic(alg, &p.PublicKey); err != nil {
			return nil, nil, err
		}
		if err := p.Validate(); err != nil {
			return nil, nil, errors.New("invalid RSA private key")
		}
		c := *p
		c.Precompute()
		return &c, &c.PublicKey, nil
	case nil:
		return nil, nil, errors.New("nil private key")
	}
	return nil, nil, fmt.Errorf("a %T is not a %s private key", priv, alg)
}

// checkPublic checks that pub fits alg and returns a copy of it.
func checkPublic(alg Alg, pub crypto.PublicKey) (crypto.PublicKey, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if alg != ES256 || p.Curve != elliptic.P256() {
			break
		}
		raw, err := p.Bytes()
		if err != nil {
			return nil, errors.New("invalid P-256 public key")
		}
		c, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, errors.New("invalid P-256 public key")
		}
		return c, nil
	case ed25519.PublicKey:
		if alg != EdDSA {
			break
		}
		if len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("Ed25519 public key of %d bytes", len(p))
		}
		return ed25519.PublicKey(append([]byte(nil), p...)), nil
	case *rsa.PublicKey:
		if alg != RS256 {
			break
		}
		if p.N == nil || p.N.BitLen() < MinRSABits || p.N.BitLen() > MaxRSABits {
			n := 0
			if p.N != nil {
				n = p.N.BitLen()
			}
			return nil, fmt.Errorf("RSA key of %d bits (want %d to %d)", n, MinRSABits, MaxRSABits)
		}
		if p.E < 3 || p.E%2 == 0 {
			return nil, errors.New("RSA public exponent must be odd and at least 3")
		}
		c := *p
		return &c, nil
	case nil:
		return nil, errors.New("nil public key")
	}
	return nil, fmt.Errorf("a %T is not a %s public key", pub, alg)
}

func samePublic(a, b crypto.PublicKey) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

func sameSigner(a, b crypto.Signer) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	e, ok := a.(interface{ Equal(crypto.PrivateKey) bool })
	return ok && e.Equal(b)
}

// KeyID returns the key's id, the "kid" header parameter of what it signs
// (RFC 7515 §4.1.4).
func (k *Key) KeyID() string { return k.ID }

// Algorithm returns the key's algorithm as the JOSE "alg" header value:
// "ES256", "EdDSA" or "RS256" for signing keys, "A256KW" or "dir" for
// symmetric ones.
func (k *Key) Algorithm() string { return string(k.Alg) }

// Public returns the public key of a signing key (*ecdsa.PublicKey,
// ed25519.PublicKey or *rsa.PublicKey), or nil for a symmetric key. Callers
// must not modify it.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// CanSign reports whether the key holds a private signing key.
func (k *Key) CanSign() bool { return k.signer != nil }

// Sign returns the JWS Signature of signingInput (RFC 7515 §5.1 step 5:
// the octets ASCII(BASE64URL(header) || '.' || BASE64URL(payload))) under
// the key's algorithm:
//
//   - ES256: ECDSA P-256 over SHA-256, the 64 octets R || S, each a 32-octet
//     big-endian integer (RFC 7518 §3.4), not ASN.1;
//   - EdDSA: the 64-octet Ed25519 signature (RFC 8037 §3.1);
//   - RS256: RSASSA-PKCS1-v1_5 over SHA-256, as long as the modulus
//     (RFC 7518 §3.3).
//
// A symmetric or public-only key returns ErrCannotSign. Sign does not look
// at the key's lifecycle: pick the key with Set.Sealing(now). It is safe
// for concurrent use; ES256 signatures are randomized.
func (k *Key) Sign(signingInput []byte) ([]byte, error) {
	switch priv := k.signer.(type) {
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256(signingInput)
		der, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
		if err != nil {
			return nil, fmt.Errorf("keys: signing with key %q: %w", k.ID, err)
		}
		sig, ok := rawECDSA(der, 32)
		if !ok {
			return nil, fmt.Errorf("keys: signing with key %q: malformed ECDSA signature", k.ID)
		}
		return sig, nil
	case ed25519.PrivateKey:
		return ed25519.Sign(priv, signingInput), nil
	case *rsa.PrivateKey:
		digest := sha256.Sum256(signingInput)
		sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest[:])
		if err != nil {
			return nil, fmt.Errorf("keys: signing with key %q: %w", k.ID, err)
		}
		return sig, nil
	}
	return nil, fmt.Errorf("%w: key %q (%s)", ErrCannotSign, k.ID, k.Alg)
}

// rawECDSA turns an ASN.1 DER ECDSA signature, SEQUENCE { r INTEGER, s
// INTEGER }, into the JWS form of RFC 7518 §3.4: r and s as big-endian
// octet strings of size octets each, concatenated.
func rawECDSA(der []byte, size int) ([]byte, bool) {
	var seq, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&r, asn1.INTEGER) || !seq.ReadASN1(&s, asn1.INTEGER) || !seq.Empty() {
		return nil, false
	}
	out := make([]byte, 2*size)
	for i, v := range []cryptobyte.String{r, s} {
		// DER integers are minimal and positive: at most one leading zero.
		for len(v) > 0 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) > size {
			return nil, false
		}
		copy(out[(i+1)*size-len(v):(i+1)*size], v)
	}
	return out, true
}
