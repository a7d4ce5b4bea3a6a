package endpoint

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE code challenge methods (RFC 7636 §4.2).
const (
	PKCES256  = "S256"
	PKCEPlain = "plain"
)

// validVerifier reports whether v is a code_verifier or a plain
// code_challenge of RFC 7636 §4.1: 43 to 128 characters of
// [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// verifyPKCE checks a code_verifier against the challenge recorded in a code
// (RFC 7636 §4.6), in constant time.
func verifyPKCE(method, challenge, verifier string) bool {
	if !validVerifier(verifier) {
		return false
	}
	switch method {
	case PKCES256:
		sum := sha256.Sum256([]byte(verifier))
		var enc [43]byte
		base64.RawURLEncoding.Encode(enc[:], sum[:])
		return subtle.ConstantTimeCompare(enc[:], []byte(challenge)) == 1
	case PKCEPlain:
		return subtle.ConstantTimeCompare([]byte(verifier), []byte(challenge)) == 1
	}
	return false
}
