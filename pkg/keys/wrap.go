package keys

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// Key wrapping follows RFC 7517 §7 ("Encrypting JWK and JWK Set
// Objects"): each key's JWK is the plaintext of a compact JWE with
//
//	{"alg":"A256KW","enc":"A256GCM","cty":"jwk+json","kid":<KEK id>,
//	 "ring":<ring name>,"ring_kid":<the key's kid>}
//
// as protected header. The protected header is the AES-GCM additional
// authenticated data (RFC 7516 §5.1 step 14), so an entry moved to another
// ring or under another kid fails to authenticate. Any JOSE library holding
// the KEK can unwrap an entry.
const (
	headerRing    jose.HeaderKey = "ring"
	headerRingKID jose.HeaderKey = "ring_kid"
	ctyJWK                       = "jwk+json"
)

// kekID identifies a key-encryption key without revealing it: 72 bits of a
// domain-separated SHA-256 of the 256-bit KEK, base64url. It lets Parse tell
// "wrong KEK" from "tampered entry".
func kekID(kek []byte) string {
	h := sha256.New()
	h.Write([]byte("sealedtoken/keys KEK id v1\x00"))
	h.Write(kek)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

// wrapKey encrypts the JWK of key kid under kek, bound to ring and kid.
func wrapKey(kek []byte, ring, kid string, jwk jose.JSONWebKey) (string, error) {
	plain, err := jwk.MarshalJSON()
	if err != nil {
		return "", fmt.Errorf("keys: encoding key %q: %w", kid, err)
	}
	defer clear(plain)
	opts := (&jose.EncrypterOptions{}).WithContentType(ctyJWK).
		WithHeader(headerRing, ring).WithHeader(headerRingKID, kid)
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.A256KW, Key: kek, KeyID: kekID(kek)}, opts)
	if err != nil {
		return "", fmt.Errorf("keys: wrapping key %q: %w", kid, err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return "", fmt.Errorf("keys: wrapping key %q: %w", kid, err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("keys: wrapping key %q: %w", kid, err)
	}
	return s, nil
}

// unwrapKey decrypts a wrapped entry and returns its JWK JSON, after
// checking that the JWE is A256KW/A256GCM, uncompressed, typed jwk+json,
// made with kek, and bound to ring and kid.
func unwrapKey(kek []byte, ring, kid, s string) ([]byte, error) {
	obj, err := jose.ParseEncryptedCompact(s, []jose.KeyAlgorithm{jose.A256KW}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, fmt.Errorf("%w: not a compact A256KW/A256GCM JWE", ErrFormat)
	}
	h := obj.Header
	str := func(k jose.HeaderKey) string {
		v, _ := h.ExtraHeaders[k].(string)
		return v
	}
	switch {
	case h.KeyID != kekID(kek):
		return nil, fmt.Errorf("%w: entry wrapped with KEK id %q", ErrWrongKEK, h.KeyID)
	case h.ExtraHeaders[jose.HeaderKey("zip")] != nil:
		return nil, fmt.Errorf("%w: compressed JWE", ErrFormat)
	case str(jose.HeaderContentType) != ctyJWK:
		return nil, fmt.Errorf("%w: JWE cty is not %q", ErrFormat, ctyJWK)
	case str(headerRing) != ring || str(headerRingKID) != kid:
		return nil, fmt.Errorf("%w: entry is bound to ring %q kid %q", ErrUnwrap, str(headerRing), str(headerRingKID))
	}
	plain, err := obj.Decrypt(kek)
	if err != nil {
		return nil, ErrUnwrap
	}
	return plain, nil
}
