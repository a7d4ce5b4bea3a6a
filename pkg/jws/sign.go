package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/sealedtoken/issuer/internal/jsonenc"
)

// Signer produces JWS signatures (RFC 7515 §5.1). The signing ring's keys
// (pkg/keys) satisfy it, and NewSigner makes one from a plain private key or
// HMAC secret. Implementations must be safe for concurrent use.
type Signer interface {
	// KeyID is the "kid" written into the header; empty leaves it out.
	KeyID() string
	// Algorithm is the JWS "alg": ES256, ES384, EdDSA, RS256, PS256 or
	// HS256.
	Algorithm() string
	// Sign returns the JWS Signature octets over signingInput, the ASCII
	// of BASE64URL(header) "." BASE64URL(payload): for ECDSA the fixed-size
	// R || S of RFC 7518 §3.4, not ASN.1. signingInput must not be kept.
	Sign(signingInput []byte) ([]byte, error)
}

// Member is one extra protected-header member for Sign: a name and its
// raw JSON value, for instance {"jwk", <public JWK>} in a DPoP proof.
type Member struct {
	Name  string
	Value json.RawMessage
}

// Protected is what Sign writes into the protected header besides "alg" and
// "kid", which come from the Signer. Its zero value writes neither "typ"
// nor "cty".
type Protected struct {
	// Type is the "typ" member (RFC 7515 §4.1.9), e.g. "JWT",
	// "dpop+jwt", "statuslist+jwt".
	Type string
	// ContentType is the "cty" member (RFC 7515 §4.1.10).
	ContentType string
	// Extra members, written in order after the others. Their names must
	// be distinct and none of alg, kid, typ, cty, crit or b64: this package
	// writes no critical extensions.
	Extra []Member
}

// Sign returns the compact serialization (RFC 7515 §7.1) of a JWS over
// payload, signed by s, with the protected header
// {"alg":…,"kid":…,"typ":…,"cty":…,extra…}. Errors are ErrConfig for an
// unusable header or signer, or the signer's own error.
func Sign(s Signer, h Protected, payload []byte) (string, error) {
	b, err := AppendSign(nil, s, h, payload)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// AppendSign is Sign appending to dst.
func AppendSign(dst []byte, s Signer, h Protected, payload []byte) ([]byte, error) {
	if s == nil {
		return dst, fmt.Errorf("%w: nil signer", ErrConfig)
	}
	alg := s.Algorithm()
	if _, ok := lookupAlg(alg); !ok {
		return dst, fmt.Errorf("%w: signer algorithm %q", ErrConfig, safeValue(alg))
	}
	var hb [256]byte
	header, err := appendHeader(hb[:0], alg, s.KeyID(), h)
	if err != nil {
		return dst, err
	}
	start := len(dst)
	dst = slices.Grow(dst, b64.EncodedLen(len(header))+b64.EncodedLen(len(payload))+2+b64Len(512))
	dst = b64.AppendEncode(dst, header)
	dst = append(dst, '.')
	dst = b64.AppendEncode(dst, payload)
	sig, err := s.Sign(dst[start:])
	if err != nil {
		return dst[:start], fmt.Errorf("jws: signing: %w", err)
	}
	dst = append(dst, '.')
	return b64.AppendEncode(dst, sig), nil
}

// appendHeader appends the protected header JSON.
func appendHeader(dst []byte, alg, kid string, h Protected) ([]byte, error) {
	dst = append(dst, `{"alg":`...)
	dst = jsonenc.AppendString(dst, alg)
	if kid != "" {
		dst = append(dst, `,"kid":`...)
		dst = jsonenc.AppendString(dst, kid)
	}
	if h.Type != "" {
		dst = append(dst, `,"typ":`...)
		dst = jsonenc.AppendString(dst, h.Type)
	}
	if h.ContentType != "" {
		dst = append(dst, `,"cty":`...)
		dst = jsonenc.AppendString(dst, h.ContentType)
	}
	for i, m := range h.Extra {
		switch m.Name {
		case "alg", "kid", "typ", "cty", "crit", "b64":
			return dst, fmt.Errorf("%w: header member %q is not an extra member", ErrConfig, m.Name)
		}
		if m.Name == "" || !utf8.ValidString(m.Name) {
			return dst, fmt.Errorf("%w: header member name %q", ErrConfig, m.Name)
		}
		for _, o := range h.Extra[:i] {
			if o.Name == m.Name {
				return dst, fmt.Errorf("%w: header member %q twice", ErrConfig, m.Name)
			}
		}
		if !json.Valid(m.Value) {
			return dst, fmt.Errorf("%w: header member %q is not valid JSON", ErrConfig, m.Name)
		}
		dst = append(dst, ',')
		dst = jsonenc.AppendString(dst, m.Name)
		dst = append(dst, ':')
		dst = appendCompact(dst, m.Value)
	}
	return append(dst, '}'), nil
}

// appendCompact appends valid JSON v without insignificant white space.
func appendCompact(dst []byte, v []byte) []byte {
	inString, escaped := false, false
	for _, c := range v {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// keySigner signs with a private key or HMAC secret.
type keySigner struct {
	alg  string
	kid  string
	info algInfo
	priv crypto.Signer // nil for HMAC
	hmac *hmacKey
	size int // ECDSA coordinate size
}

// NewSigner returns a Signer for alg with key, named kid (may be empty):
// for ES256 and ES384 a crypto.Signer whose public key is ECDSA on the
// matching curve (an *ecdsa.PrivateKey, or a key in a KMS or HSM); for
// EdDSA an Ed25519 one; for RS256 and PS256 an RSA one of 2048 bits or more;
// for HS256 a []byte secret of at least 32 bytes (copied). A key that does
// not fit alg is refused with ErrConfig.
func NewSigner(alg string, key any, kid string) (Signer, error) {
	info, ok := lookupAlg(alg)
	if !ok {
		return nil, fmt.Errorf("%w: algorithm %q", ErrConfig, safeValue(alg))
	}
	s := &keySigner{alg: alg, kid: kid, info: info}
	if info.kind == kindHMAC {
		secret, ok := key.([]byte)
		if !ok {
			return nil, fmt.Errorf("%w: HS256 takes a []byte secret, not %T", ErrConfig, key)
		}
		if len(secret) < MinHMACSecret {
			return nil, fmt.Errorf("%w: HMAC secret of %d bytes, at least %d required", ErrConfig, len(secret), MinHMACSecret)
		}
		s.hmac = newHMACKey(secret)
		return s, nil
	}
	priv, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %s takes a crypto.Signer, not %T", ErrConfig, alg, key)
	}
	kind, err := publicKind(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if kind != info.kind {
		return nil, fmt.Errorf("%w: %s with a %s key", ErrConfig, alg, kind)
	}
	s.priv = priv
	if kind == kindP256 || kind == kindP384 {
		s.size = info.sigSize / 2
	}
	return s, nil
}

func (s *keySigner) KeyID() string     { return s.kid }
func (s *keySigner) Algorithm() string { return s.alg }

// Public returns the signer's public key (nil for HMAC), for publishing it
// as a JWK.
func (s *keySigner) Public() crypto.PublicKey {
	if s.priv == nil {
		return nil
	}
	return s.priv.Public()
}

func (s *keySigner) Sign(input []byte) ([]byte, error) {
	switch s.info.kind {
	case kindHMAC:
		return s.hmac.sum(nil, input), nil
	case kindEd25519:
		if k, ok := s.priv.(ed25519.PrivateKey); ok {
			return ed25519.Sign(k, input), nil
		}
		return s.priv.Sign(rand.Reader, input, crypto.Hash(0))
	}
	var digest [48]byte
	d := hashInto(digest[:0], s.info.hash, input)
	switch s.info.kind {
	case kindP256, kindP384:
		var der []byte
		var err error
		if k, ok := s.priv.(*ecdsa.PrivateKey); ok {
			der, err = ecdsa.SignASN1(rand.Reader, k, d)
		} else {
			der, err = s.priv.Sign(rand.Reader, d, s.info.hash)
		}
		if err != nil {
			return nil, err
		}
		return derToRaw(der, s.size)
	default: // RSA
		if s.alg == PS256 {
			return s.priv.Sign(rand.Reader, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: s.info.hash})
		}
		return s.priv.Sign(rand.Reader, d, s.info.hash)
	}
}
