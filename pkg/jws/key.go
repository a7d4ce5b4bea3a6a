package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Key is a verification key: a public key (EC P-256 or P-384, Ed25519,
// RSA) or an HMAC secret, with the JWK members that restrict its use. Build
// one with NewPublicKey, NewHMACKey, ParseJWK or KeyFromJOSE. A Key is
// immutable and safe for concurrent use.
//
// A Key verifies only algorithms of its own type (RFC 8725 §3.1): an EC
// P-256 key only ES256, an RSA key RS256 or PS256, an HMAC secret only
// HS256. A public key is never an HMAC secret, whatever a header asks for.
type Key struct {
	kid  string
	alg  string // JWK "alg": "" allows any algorithm of the key's type
	kind keyKind
	pub  crypto.PublicKey // *ecdsa.PublicKey, ed25519.PublicKey, *rsa.PublicKey; nil for HMAC
	// verifyOK is false when the JWK's "use" or "key_ops" forbid
	// verifying signatures with it.
	verifyOK bool
	hmac     *hmacKey
}

// NewPublicKey returns a verification key for pub (*ecdsa.PublicKey on
// P-256 or P-384, ed25519.PublicKey, or *rsa.PublicKey of 2048 to 8192
// bits), named kid (may be empty). alg, when not empty, is the one
// algorithm the key may verify, as a JWK "alg" member says (RFC 7517 §4.4).
func NewPublicKey(pub crypto.PublicKey, kid, alg string) (*Key, error) {
	kind, err := publicKind(pub)
	if err != nil {
		return nil, err
	}
	k := &Key{kid: kid, alg: alg, kind: kind, pub: pub, verifyOK: true}
	if alg != "" {
		if info, ok := lookupAlg(alg); !ok || info.kind != kind {
			return nil, fmt.Errorf("%w: alg %q does not fit a %s key", ErrInvalidKey, safeValue(alg), kind)
		}
	}
	return k, nil
}

// NewHMACKey returns an HS256 verification key for secret, which must hold
// at least 32 bytes (RFC 7518 §3.2). The secret is copied.
func NewHMACKey(secret []byte, kid string) (*Key, error) {
	if len(secret) < MinHMACSecret {
		return nil, fmt.Errorf("%w: HMAC secret of %d bytes, at least %d required", ErrInvalidKey, len(secret), MinHMACSecret)
	}
	return &Key{kid: kid, alg: HS256, kind: kindHMAC, verifyOK: true, hmac: newHMACKey(secret)}, nil
}

// hmacKey is an HMAC secret with a pool of ready hash states.
type hmacKey struct {
	pool sync.Pool // of *hmacState, keyed with the secret
}

// hmacState is a keyed HMAC and room for its output, so that computing a
// MAC allocates nothing.
type hmacState struct {
	h   hash.Hash
	out [sha256.Size]byte
}

func newHMACKey(secret []byte) *hmacKey {
	s := append([]byte(nil), secret...)
	h := &hmacKey{}
	h.pool.New = func() any { return &hmacState{h: hmac.New(sha256.New, s)} }
	return h
}

// sum returns the HMAC SHA-256 of msg, appended to dst.
func (h *hmacKey) sum(dst, msg []byte) []byte {
	st := h.pool.Get().(*hmacState)
	st.h.Reset()
	st.h.Write(msg)
	dst = append(dst, st.h.Sum(st.out[:0])...)
	clear(st.out[:])
	h.pool.Put(st)
	return dst
}

// equal reports, in constant time, whether mac is the HMAC SHA-256 of msg.
func (h *hmacKey) equal(msg, mac []byte) bool {
	st := h.pool.Get().(*hmacState)
	st.h.Reset()
	st.h.Write(msg)
	ok := hmac.Equal(mac, st.h.Sum(st.out[:0]))
	clear(st.out[:])
	h.pool.Put(st)
	return ok
}

// publicKind checks a public key's type and size.
func publicKind(pub crypto.PublicKey) (keyKind, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if p == nil {
			break
		}
		switch p.Curve {
		case elliptic.P256():
			return kindP256, nil
		case elliptic.P384():
			return kindP384, nil
		}
		return kindNone, fmt.Errorf("%w: EC curve %s is not supported (P-256, P-384)", ErrInvalidKey, curveName(p.Curve))
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return kindNone, fmt.Errorf("%w: Ed25519 key of %d bytes", ErrInvalidKey, len(p))
		}
		return kindEd25519, nil
	case *rsa.PublicKey:
		if p == nil || p.N == nil {
			break
		}
		if n := p.N.BitLen(); n < MinRSABits || n > MaxRSABits {
			return kindNone, fmt.Errorf("%w: RSA key of %d bits, %d to %d supported", ErrInvalidKey, n, MinRSABits, MaxRSABits)
		}
		if p.E < 3 || p.E&1 == 0 {
			return kindNone, fmt.Errorf("%w: RSA public exponent %d", ErrInvalidKey, p.E)
		}
		return kindRSA, nil
	case []byte:
		return kindNone, fmt.Errorf("%w: a byte slice is not a public key (use NewHMACKey for an HMAC secret)", ErrInvalidKey)
	}
	return kindNone, fmt.Errorf("%w: unsupported public key type %T", ErrInvalidKey, pub)
}

func curveName(c elliptic.Curve) string {
	if c == nil || c.Params() == nil {
		return "(none)"
	}
	return c.Params().Name
}

// KeyID returns the key's "kid", which may be empty.
func (k *Key) KeyID() string { return k.kid }

// Algorithm returns the one algorithm the key is restricted to (the JWK
// "alg"), or "" when it verifies any algorithm of its type.
func (k *Key) Algorithm() string { return k.alg }

// Public returns the public key, or nil for an HMAC secret.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Thumbprint returns the key's RFC 7638 JWK thumbprint (SHA-256,
// base64url). An HMAC secret has none: the error is ErrInvalidKey.
func (k *Key) Thumbprint() (string, error) { return ThumbprintString(k.pub) }

// fits checks that k may verify alg (RFC 8725 §3.1).
func (k *Key) fits(alg string, info algInfo) error {
	switch {
	case !k.verifyOK:
		return fmt.Errorf("%w: the key's use or key_ops exclude verifying", ErrKeyType)
	case info.kind != k.kind:
		return fmt.Errorf("%w: %s with a %s key", ErrKeyType, alg, k.kind)
	case k.alg != "" && k.alg != alg:
		return fmt.Errorf("%w: %s with a key for %s", ErrKeyType, alg, k.alg)
	}
	return nil
}

// verifyScratch is the scratch space verify needs: a digest and a DER
// signature (2 + 2*(2+49) bytes for P-384).
const verifyScratch = 48 + 104

// verify checks sig over input with k, for alg (already checked by fits).
// scratch has room for verifyScratch bytes; passing it in (a part of the
// token's buffer) saves two allocations per verification.
func (k *Key) verify(alg string, info algInfo, input, sig, scratch []byte) bool {
	switch info.kind {
	case kindHMAC:
		return len(sig) == sha256.Size && k.hmac.equal(input, sig)
	case kindEd25519:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.pub.(ed25519.PublicKey), input, sig)
	}
	d := hashInto(scratch[:0:48], info.hash, input)
	switch info.kind {
	case kindP256, kindP384:
		if len(sig) != info.sigSize {
			return false
		}
		return ecdsa.VerifyASN1(k.pub.(*ecdsa.PublicKey), d, rawToDER(scratch[48:48], sig))
	case kindRSA:
		pub := k.pub.(*rsa.PublicKey)
		if len(sig) != pub.Size() {
			return false
		}
		if alg == PS256 {
			return rsa.VerifyPSS(pub, info.hash, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(pub, info.hash, d, sig) == nil
	}
	return false
}

// hashInto appends the hash of msg to dst.
func hashInto(dst []byte, h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA256:
		s := sha256.Sum256(msg)
		return append(dst, s[:]...)
	default:
		hh := h.New()
		hh.Write(msg)
		return hh.Sum(dst)
	}
}

// rawToDER converts a JWS ECDSA signature, R || S as two fixed-size
// big-endian integers (RFC 7518 §3.4), into the ASN.1 DER form that
// crypto/ecdsa verifies, appended to dst. Both halves fit short-form DER
// lengths for the curves supported here (at most 49 bytes each).
func rawToDER(dst, sig []byte) []byte {
	half := len(sig) / 2
	dst = append(dst, 0x30, 0)
	start := len(dst)
	dst = appendDERInt(dst, sig[:half])
	dst = appendDERInt(dst, sig[half:])
	dst[start-1] = byte(len(dst) - start)
	return dst
}

// appendDERInt appends the DER INTEGER of the unsigned big-endian v:
// leading zeros dropped, one zero byte added when the high bit is set.
func appendDERInt(dst, v []byte) []byte {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	pad := v[0]&0x80 != 0
	n := len(v)
	if pad {
		n++
	}
	dst = append(dst, 0x02, byte(n))
	if pad {
		dst = append(dst, 0)
	}
	return append(dst, v...)
}

// derToRaw converts an ASN.1 DER ECDSA signature into R || S, each of size
// bytes (RFC 7518 §3.4).
func derToRaw(der []byte, size int) ([]byte, error) {
	r, s, ok := parseDERSignature(der)
	if !ok || len(r) > size || len(s) > size {
		return nil, fmt.Errorf("jws: the signer returned a malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	copy(out[size-len(r):size], r)
	copy(out[2*size-len(s):], s)
	return out, nil
}

// parseDERSignature reads ECDSA-Sig-Value ::= SEQUENCE { r INTEGER,
// s INTEGER } (RFC 5480 §2.2.3), returning r and s as unsigned big-endian
// bytes without leading zeros.
func parseDERSignature(der []byte) (r, s []byte, ok bool) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, nil, false
	}
	return r, s, true
}
