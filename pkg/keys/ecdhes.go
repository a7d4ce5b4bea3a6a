package keys

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	josecipher "github.com/go-jose/go-jose/v4/cipher"
	gjson "github.com/go-jose/go-jose/v4/json"

	"github.com/sealedtoken/issuer/internal/jsonenc"
)

// This file is the compact JWE (RFC 7516 §7.1) of key deliveries:
// ECDH-ES+A256KW key agreement (RFC 7518 §4.6) on P-256 or X25519
// (RFC 8037 §3.2) and A256GCM content encryption (RFC 7518 §5.3). go-jose
// does ECDH-ES only on NIST curves, so both curves go through crypto/ecdh
// here, with go-jose's Concat KDF and AES key wrap; tests check the result
// against go-jose (P-256) and Python jwcrypto (both curves).

// encA256GCM is the JWE "enc" of key deliveries.
const encA256GCM = "A256GCM"

// maxAgreementInfo bounds the decoded "apu" and "apv" header members.
const maxAgreementInfo = 256

var jweB64 = base64.RawURLEncoding.Strict()

// sealECDHES encrypts plaintext to k as a compact JWE with the protected
// header {"alg":"ECDH-ES+A256KW","enc":"A256GCM","cty":cty,"kid":…,"epk":…}.
func sealECDHES(k *agreementKey, plaintext []byte, cty string) (string, error) {
	eph, err := k.pub.Curve().GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("keys: ephemeral key: %w", err)
	}
	z, err := eph.ECDH(k.pub)
	if err != nil {
		return "", fmt.Errorf("keys: key agreement: %w", err)
	}
	defer clear(z)
	kek := concatKDF(z, nil, nil)
	defer clear(kek)
	cek := make([]byte, 32)
	defer clear(cek)
	if _, err := rand.Read(cek); err != nil {
		return "", fmt.Errorf("keys: content key: %w", err)
	}
	block, _ := aes.NewCipher(kek) // 32 bytes: no error
	wrapped, err := josecipher.KeyWrap(block, cek)
	if err != nil {
		return "", fmt.Errorf("keys: key wrap: %w", err)
	}
	epk := &agreementKey{crv: k.crv, pub: eph.PublicKey()}
	h := []byte(`{"alg":"` + AlgECDHESA256KW + `","enc":"` + encA256GCM + `","cty":`)
	h = jsonenc.AppendString(h, cty)
	h = append(h, `,"kid":`...)
	h = jsonenc.AppendString(h, k.kid)
	h = append(h, `,"epk":`...)
	h = epk.appendEPK(h)
	h = append(h, '}')
	header := jweB64.EncodeToString(h)
	cblock, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(cblock)
	iv := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(iv); err != nil {
		return "", fmt.Errorf("keys: IV: %w", err)
	}
	sealed := gcm.Seal(nil, iv, plaintext, []byte(header))
	ct, tag := sealed[:len(sealed)-gcm.Overhead()], sealed[len(sealed)-gcm.Overhead():]
	var b strings.Builder
	b.Grow(len(header) + 4 + jweB64.EncodedLen(len(wrapped)+len(iv)+len(sealed)))
	for i, part := range [][]byte{nil, wrapped, iv, ct, tag} {
		if i == 0 {
			b.WriteString(header)
			continue
		}
		b.WriteByte('.')
		b.WriteString(jweB64.EncodeToString(part))
	}
	return b.String(), nil
}

// appendEPK appends the ephemeral public key of a JWE header (RFC 7518
// §4.6.1.1): the public members only.
func (k *agreementKey) appendEPK(b []byte) []byte {
	pub := k.pub.Bytes()
	if k.crv == CurveP256 {
		b = append(b, `{"kty":"EC","crv":"P-256","x":"`...)
		b = jweB64.AppendEncode(b, pub[1:33])
		b = append(b, `","y":"`...)
		b = jweB64.AppendEncode(b, pub[33:])
		return append(b, `"}`...)
	}
	b = append(b, `{"kty":"OKP","crv":"X25519","x":"`...)
	b = jweB64.AppendEncode(b, pub)
	return append(b, `"}`...)
}

// concatKDF derives the 256-bit AES key-wrapping key of ECDH-ES+A256KW
// from the shared secret z (RFC 7518 §4.6.2): Concat KDF with SHA-256,
// AlgorithmID the "alg" value, PartyUInfo and PartyVInfo from "apu" and
// "apv", SuppPubInfo the key length in bits.
func concatKDF(z, apu, apv []byte) []byte {
	var supPub [4]byte
	binary.BigEndian.PutUint32(supPub[:], 256)
	r := josecipher.NewConcatKDF(crypto.SHA256, z, lengthPrefixed([]byte(AlgECDHESA256KW)),
		lengthPrefixed(apu), lengthPrefixed(apv), supPub[:], nil)
	key := make([]byte, 32)
	_, _ = io.ReadFull(r, key) // the KDF reader never fails
	return key
}

func lengthPrefixed(b []byte) []byte {
	out := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(out, uint32(len(b)))
	copy(out[4:], b)
	return out
}

// openECDHES decrypts a compact JWE made by sealECDHES, or by any library
// writing ECDH-ES+A256KW with A256GCM, with r's private keys. It returns
// the plaintext and the header's "cty". Every failure of the cryptography
// (an unknown kid, a point off the curve, a key that does not unwrap, a
// tag that does not verify) is the one opaque ErrDeliveryDecrypt; a token
// of the wrong shape or algorithm is ErrDeliveryFormat.
func openECDHES(r *Recipient, token string) (plaintext []byte, cty string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 5 {
		return nil, "", deliveryErrorf(ErrDeliveryFormat, "not a compact JWE (5 parts)")
	}
	if len(parts[0]) > 4096 {
		return nil, "", deliveryErrorf(ErrDeliveryFormat, "JWE header too long")
	}
	raw, err := jweB64.DecodeString(parts[0])
	if err != nil {
		return nil, "", deliveryErrorf(ErrDeliveryFormat, "JWE header is not base64url")
	}
	h, err := parseJWEHeader(raw)
	if err != nil {
		return nil, "", err
	}
	var k *agreementKey
	switch {
	case h.kid != "":
		k = r.byID[h.kid]
	case len(r.enc) == 1:
		k = r.enc[0]
	}
	if k == nil || k.priv == nil || k.crv != h.epkCrv {
		return nil, "", ErrDeliveryDecrypt
	}
	epk, err := k.priv.Curve().NewPublicKey(h.epk)
	if err != nil {
		return nil, "", ErrDeliveryDecrypt
	}
	var segs [4][]byte
	for i, want := range []int{40, 12, -1, 16} {
		s, err := jweB64.DecodeString(parts[i+1])
		if err != nil || (want >= 0 && len(s) != want) {
			return nil, "", deliveryErrorf(ErrDeliveryFormat, "JWE part %d is not base64url of the expected size", i+2)
		}
		segs[i] = s
	}
	z, err := k.priv.ECDH(epk)
	if err != nil {
		// X25519 with a low-order point: an all-zero shared secret.
		return nil, "", ErrDeliveryDecrypt
	}
	defer clear(z)
	kek := concatKDF(z, h.apu, h.apv)
	defer clear(kek)
	block, _ := aes.NewCipher(kek)
	cek, err := josecipher.KeyUnwrap(block, segs[0])
	if err != nil || len(cek) != 32 {
		return nil, "", ErrDeliveryDecrypt
	}
	defer clear(cek)
	cblock, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(cblock)
	sealed := append(segs[2], segs[3]...)
	pt, err := gcm.Open(sealed[:0], segs[1], sealed, []byte(parts[0]))
	if err != nil {
		return nil, "", ErrDeliveryDecrypt
	}
	return pt, h.cty, nil
}

// jweHeader is what openECDHES reads from a protected header.
type jweHeader struct {
	kid, cty string
	epkCrv   string
	epk      []byte // the public key in crypto/ecdh's encoding
	apu, apv []byte
}

// jweMembers are the header members openECDHES understands; any other is
// ignored unless "crit" lists it, which is refused.
var jweMembers = []string{"alg", "enc", "kid", "cty", "typ", "epk", "apu", "apv", "zip", "crit"}

// parseJWEHeader reads and checks a delivery's JWE protected header
// (RFC 7516 §4.1, RFC 7518 §4.6.1): alg ECDH-ES+A256KW, enc A256GCM, no
// zip (compression before encryption leaks), no crit, an epk of the
// recipient's curve holding public members only.
func parseJWEHeader(raw []byte) (*jweHeader, error) {
	m, err := objectMembers(raw)
	if err != nil {
		return nil, deliveryErrorf(ErrDeliveryFormat, "JWE header is not a JSON object")
	}
	str := func(name string) (string, error) {
		if _, ok := m[name]; !ok {
			return "", nil
		}
		var s string
		if member(m, name, &s) != nil {
			return "", deliveryErrorf(ErrDeliveryFormat, "JWE header %q is not a string", name)
		}
		return s, nil
	}
	h := &jweHeader{}
	var alg, enc string
	for _, f := range []struct {
		name string
		dst  *string
	}{{"alg", &alg}, {"enc", &enc}, {"kid", &h.kid}, {"cty", &h.cty}} {
		if *f.dst, err = str(f.name); err != nil {
			return nil, err
		}
	}
	switch {
	case alg != AlgECDHESA256KW:
		return nil, deliveryErrorf(ErrDeliveryFormat, "JWE alg %q, want %s", safeText(alg), AlgECDHESA256KW)
	case enc != encA256GCM:
		return nil, deliveryErrorf(ErrDeliveryFormat, "JWE enc %q, want %s", safeText(enc), encA256GCM)
	}
	if _, ok := m["zip"]; ok {
		return nil, deliveryErrorf(ErrDeliveryFormat, "JWE zip is not accepted")
	}
	if _, ok := m["crit"]; ok {
		return nil, deliveryErrorf(ErrDeliveryFormat, "JWE crit is not understood")
	}
	for _, name := range []string{"apu", "apv"} {
		s, err := str(name)
		if err != nil {
			return nil, err
		}
		b, derr := jweB64.DecodeString(s)
		if derr != nil || len(b) > maxAgreementInfo {
			return nil, deliveryErrorf(ErrDeliveryFormat, "JWE %s is not base64url of at most %d bytes", name, maxAgreementInfo)
		}
		if name == "apu" {
			h.apu = b
		} else {
			h.apv = b
		}
	}
	rawEPK, ok := m["epk"]
	if !ok {
		return nil, deliveryErrorf(ErrDeliveryFormat, "JWE header has no epk")
	}
	if h.epkCrv, h.epk, err = parseEPK(rawEPK); err != nil {
		return nil, err
	}
	return h, nil
}

// parseEPK reads an ephemeral public key: kty EC with crv P-256, or kty
// OKP with crv X25519, and no private member.
func parseEPK(raw gjson.RawMessage) (crv string, pub []byte, err error) {
	bad := deliveryErrorf(ErrDeliveryFormat, "JWE epk is not an EC P-256 or OKP X25519 public key")
	m, err := objectMembers(raw)
	if err != nil {
		return "", nil, bad
	}
	for _, name := range jwkAnyPrivate {
		if _, ok := m[name]; ok {
			return "", nil, bad
		}
	}
	var kty string
	if member(m, "kty", &kty) != nil || member(m, "crv", &crv) != nil {
		return "", nil, bad
	}
	switch {
	case kty == "EC" && crv == CurveP256:
		x, _, err1 := b64Member(m, "x", 32)
		y, _, err2 := b64Member(m, "y", 32)
		if err1 != nil || err2 != nil {
			return "", nil, bad
		}
		return crv, append(append([]byte{4}, x...), y...), nil
	case kty == "OKP" && crv == CurveX25519:
		x, _, err := b64Member(m, "x", 32)
		if err != nil {
			return "", nil, bad
		}
		return crv, x, nil
	}
	return "", nil, bad
}

// safeText cuts an untrusted header value short for an error message and
// keeps only printable ASCII.
func safeText(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
