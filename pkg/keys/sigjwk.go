package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
)

// The members of the signing keys' JWKs (RFC 7517 §4, RFC 7518 §6.2 and
// §6.3, RFC 8037 §2), by kty: the common ones, the public ones and the
// private ones.
var (
	jwkCommon  = []string{"kty", "kid", "alg", "use"}
	jwkPublic  = map[string][]string{"EC": {"crv", "x", "y"}, "OKP": {"crv", "x"}, "RSA": {"n", "e"}}
	jwkPrivate = map[string][]string{"EC": {"d"}, "OKP": {"d"}, "RSA": {"d", "p", "q", "dp", "dq", "qi"}}
	// Private members of any key type, refused in a public JWK Set. "k" is
	// a symmetric key; "oth" holds further RSA primes.
	jwkAnyPrivate = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}
)

// algForKty maps a signature algorithm to the kty (and crv) of its keys.
var algForKty = map[Alg]struct{ kty, crv string }{
	ES256: {"EC", "P-256"},
	EdDSA: {"OKP", "Ed25519"},
	RS256: {"RSA", ""},
}

// maxRSAMember bounds the base64url length of each member of an RSA JWK:
// a MaxRSABits-bit modulus is 1366 characters. Longer values are refused
// before go-jose decodes them, so a hostile key cannot make the checks of a
// huge modulus take seconds.
const maxRSAMember = (MaxRSABits/8*4+2)/3 + 4

// errSkip marks a key of a public JWK Set that RFC 7517 §5 says to ignore:
// a kty, alg or use this package does not use.
type errSkip struct{ why string }

func (e errSkip) Error() string { return "skipped: " + e.why }

// parseSigningJWK decodes one signing key's JWK with go-jose: kty "EC"
// (crv P-256) for ES256, "OKP" (crv Ed25519) for EdDSA, "RSA" for RS256.
//
// With private set (ring files) the JWK must hold the private key, and
// strict must be set too: only the members of its kty are allowed, and use
// "sig" and alg are required. Without private (public JWK Sets) any private
// member is refused, other members are ignored (RFC 7517 §4), and a key
// whose kty, alg or use this package does not verify with is reported as
// errSkip so the caller can ignore it as RFC 7517 §5 asks. On error it
// returns the member at fault.
func parseSigningJWK(raw []byte, strict, private bool) (parsedJWK, string, error) {
	m, err := objectMembers(raw)
	if err != nil {
		return parsedJWK{}, "", err
	}
	var kty string
	if err := member(m, "kty", &kty); err != nil {
		return parsedJWK{}, "kty", err
	}
	pub, known := jwkPublic[kty]
	if !known {
		if !private {
			return parsedJWK{}, "kty", errSkip{"kty " + kty}
		}
		return parsedJWK{}, "kty", fmt.Errorf("%w: kty %q, want \"oct\", \"EC\", \"OKP\" or \"RSA\"", ErrFormat, kty)
	}
	if _, ok := m["k"]; ok && private {
		return parsedJWK{}, "kty", fmt.Errorf("%w: kty %q with member \"k\" of a symmetric (\"oct\") key", ErrFormat, kty)
	}
	if strict {
		allowed := slices.Concat(jwkCommon, pub, jwkPrivate[kty])
		for name := range m {
			if !slices.Contains(allowed, name) {
				return parsedJWK{}, name, fmt.Errorf("%w: unknown member", ErrFormat)
			}
		}
	}
	if !private {
		for _, name := range jwkAnyPrivate {
			if _, ok := m[name]; ok {
				return parsedJWK{}, name, fmt.Errorf("%w: private key member in a public JWK Set", ErrFormat)
			}
		}
	}
	var kid, alg, use string
	for _, f := range []struct {
		name     string
		dst      *string
		required bool
	}{{"kid", &kid, true}, {"alg", &alg, true}, {"use", &use, private}} {
		if _, ok := m[f.name]; !ok && !f.required {
			continue
		}
		if err := member(m, f.name, f.dst); err != nil {
			if !private && f.name == "alg" {
				return parsedJWK{}, "alg", errSkip{"no alg"}
			}
			return parsedJWK{}, f.name, err
		}
	}
	if !validKeyID(kid) {
		return parsedJWK{}, "kid", fmt.Errorf("%w: %q", ErrKeyID, kid)
	}
	if _, ok := m["use"]; ok && use != useSig {
		if !private {
			return parsedJWK{}, "use", errSkip{"use " + use}
		}
		return parsedJWK{}, "use", fmt.Errorf("%w: use %q, want %q", ErrFormat, use, useSig)
	}
	a := Alg(alg)
	want, ok := algForKty[a]
	if !ok {
		if !private {
			return parsedJWK{}, "alg", errSkip{"alg " + alg}
		}
		return parsedJWK{}, "alg", fmt.Errorf("%w: %q (want ES256, EdDSA or RS256)", ErrAlg, alg)
	}
	if want.kty != kty {
		return parsedJWK{}, "alg", fmt.Errorf("%w: alg %s with kty %q", ErrKeyType, a, kty)
	}
	if want.crv != "" {
		var crv string
		if err := member(m, "crv", &crv); err != nil {
			return parsedJWK{}, "crv", err
		}
		if crv != want.crv {
			return parsedJWK{}, "crv", fmt.Errorf("%w: crv %q, %s wants %q", ErrKeyType, crv, a, want.crv)
		}
	}
	need := pub
	if private {
		need = slices.Concat(pub, jwkPrivate[kty][:1])
		if kty == "RSA" {
			need = slices.Concat(pub, []string{"d", "p", "q"})
		}
	}
	for _, name := range need {
		var v string
		if err := member(m, name, &v); err != nil {
			return parsedJWK{}, name, err
		}
	}
	if kty == "RSA" {
		for _, name := range slices.Concat(pub, jwkPrivate[kty]) {
			var v string
			if _, ok := m[name]; ok && (member(m, name, &v) != nil || len(v) > maxRSAMember) {
				return parsedJWK{}, name, fmt.Errorf("%w: RSA keys have at most %d bits", ErrKeyType, MaxRSABits)
			}
		}
	}
	var jk jose.JSONWebKey
	if err := jk.UnmarshalJSON(raw); err != nil {
		// go-jose's messages quote no key material, but keep them out
		// anyway: say what kind of key failed.
		return parsedJWK{}, "", fmt.Errorf("%w: not a valid %s %s key", ErrFormat, a, keyHalf(private))
	}
	out := parsedJWK{kid: kid, alg: a}
	if private {
		signer, ok := jk.Key.(crypto.Signer)
		if !ok || !isPrivate(jk.Key) {
			return parsedJWK{}, "d", fmt.Errorf("%w: not a %s private key", ErrKeyType, a)
		}
		out.signer = signer
		return out, "", nil
	}
	if isPrivate(jk.Key) {
		return parsedJWK{}, "d", fmt.Errorf("%w: private key member in a public JWK Set", ErrFormat)
	}
	out.pub = jk.Key
	return out, "", nil
}

func keyHalf(private bool) string {
	if private {
		return "private"
	}
	return "public"
}

func isPrivate(k any) bool {
	switch k.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
		return true
	}
	return false
}
