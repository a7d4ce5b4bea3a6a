package jws

import (
	"crypto"
	_ "crypto/sha256" // SHA-256 for ES256, RS256, PS256, HS256
	_ "crypto/sha512" // SHA-384 for ES384
	"strings"
)

// The JWS algorithms this package signs and verifies (RFC 7518 §3.1,
// RFC 8037 §3.1). "none" is not among them and never will be.
const (
	ES256 = "ES256" // ECDSA P-256 with SHA-256 (RFC 7518 §3.4)
	ES384 = "ES384" // ECDSA P-384 with SHA-384 (RFC 7518 §3.4)
	EdDSA = "EdDSA" // Ed25519 (RFC 8037 §3.1)
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3)
	PS256 = "PS256" // RSASSA-PSS with SHA-256, MGF1 SHA-256, 32-byte salt (RFC 7518 §3.5)
	HS256 = "HS256" // HMAC SHA-256 (RFC 7518 §3.2)
)

// AsymmetricAlgorithms lists the public-key algorithms, the usual
// allow-list for tokens signed by someone else.
var AsymmetricAlgorithms = []string{ES256, ES384, EdDSA, RS256, PS256}

// Key sizes (RFC 7518 §3.2, §3.3): an RSA modulus of at least 2048 bits
// (and at most 8192, which bounds what a hostile JWK can make a verifier
// compute), an HMAC secret at least as long as the hash output.
const (
	MinRSABits    = 2048
	MaxRSABits    = 8192
	MinHMACSecret = 32
)

// algInfo describes one algorithm.
type algInfo struct {
	kind    keyKind
	hash    crypto.Hash
	sigSize int // fixed signature size; 0 for RSA (the modulus size)
}

type keyKind uint8

const (
	kindNone keyKind = iota
	kindP256
	kindP384
	kindEd25519
	kindRSA
	kindHMAC
)

func (k keyKind) String() string {
	switch k {
	case kindP256:
		return "EC P-256"
	case kindP384:
		return "EC P-384"
	case kindEd25519:
		return "OKP Ed25519"
	case kindRSA:
		return "RSA"
	case kindHMAC:
		return "HMAC secret"
	}
	return "unsupported"
}

// lookupAlg returns the description of a supported algorithm.
func lookupAlg(alg string) (algInfo, bool) {
	switch alg {
	case ES256:
		return algInfo{kindP256, crypto.SHA256, 64}, true
	case ES384:
		return algInfo{kindP384, crypto.SHA384, 96}, true
	case EdDSA:
		return algInfo{kindEd25519, 0, 64}, true
	case RS256, PS256:
		return algInfo{kindRSA, crypto.SHA256, 0}, true
	case HS256:
		return algInfo{kindHMAC, crypto.SHA256, 32}, true
	}
	return algInfo{}, false
}

// algSet is an allow-list of algorithms, one bit each.
type algSet uint8

func (s algSet) has(alg string) bool {
	b := algBit(alg)
	return b != 0 && s&b != 0
}

func algBit(alg string) algSet {
	switch alg {
	case ES256:
		return 1 << 0
	case ES384:
		return 1 << 1
	case EdDSA:
		return 1 << 2
	case RS256:
		return 1 << 3
	case PS256:
		return 1 << 4
	case HS256:
		return 1 << 5
	}
	return 0
}

// TypeMatches reports whether a "typ" header value names the media type
// want, as RFC 7515 §4.1.9 compares them: ignoring case, and reading a value
// without a "/" as if "application/" were prepended to it, so that
// "dpop+jwt", "DPoP+JWT" and "application/dpop+jwt" are the same type.
func TypeMatches(got, want string) bool {
	return strings.EqualFold(trimApplication(got), trimApplication(want))
}

// trimApplication removes an "application/" prefix (case-insensitively), so
// that two values compare as RFC 7515 §4.1.9 says. A value with another
// "/" keeps it and can match only that same media type.
func trimApplication(s string) string {
	const prefix = "application/"
	if len(s) > len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):]
	}
	return s
}

// safeValue copies an attacker-chosen value for an error message, cut
// short so that errors stay small.
func safeValue(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.Clone(s)
}
