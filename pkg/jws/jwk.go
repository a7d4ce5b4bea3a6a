package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/internal/jsonscan"
)

// ErrUnsupportedKey means a JWK is well formed but of a type, curve or size
// this package does not verify with (an X25519 or P-521 key, RSA below 2048
// bits), or is marked for another use ("use":"enc", "key_ops" without
// "verify", an encryption "alg"). A key set skips such keys (RFC 7517 §5)
// and reports them in KeySet.Skipped.
var ErrUnsupportedKey = errors.New("jws: unsupported key")

// maxJWK bounds the JSON of one JWK that ParseJWK reads: an 8192-bit RSA
// key with a certificate chain of a few certificates.
const maxJWK = 64 << 10

// jwkMember bits, for the duplicate check.
const (
	jwkKty = 1 << iota
	jwkCrv
	jwkX
	jwkY
	jwkN
	jwkE
	jwkKid
	jwkAlg
	jwkUse
	jwkKeyOps
	jwkX5c
)

// rawJWK is a JWK's members as read, before they make a key.
type rawJWK struct {
	kty, crv, x, y, n, e, kid, alg, use string
	keyOps                              []string
	x5c                                 []string
	seen                                uint32
}

// ParseJWK reads one public JWK (RFC 7517 §4): EC P-256 or P-384
// (RFC 7518 §6.2.1), OKP Ed25519 (RFC 8037 §2) or RSA (RFC 7518 §6.3.1).
//
// A member of private key material ("d", "p", "q", "dp", "dq", "qi",
// "oth", or an "oct" key's "k") is refused with ErrPrivateKey, before
// anything else is looked at. A repeated member, a coordinate that is not
// canonical base64url of the curve's full size (RFC 7518 §6.2.1.2), an RSA
// integer with leading zeros (§6.3.1.1), a point off its curve, or an
// "x5c" whose first certificate holds another key is ErrInvalidKey. A key
// type, curve or size this package does not support is ErrUnsupportedKey.
// "use" and "key_ops" are honoured: a key marked for encryption never
// verifies. Other members are ignored (RFC 7517 §4); "jku", "x5u" and the
// like are never fetched.
func ParseJWK(b []byte) (*Key, error) {
	if len(b) > maxJWK {
		return nil, fmt.Errorf("%w: JWK longer than %d bytes", ErrInvalidKey, maxJWK)
	}
	d := jsonscan.New(b)
	j, err := readJWK(&d)
	if err != nil {
		return nil, err
	}
	if err := d.End(); err != nil {
		return nil, fmt.Errorf("%w: JWK is not one JSON object", ErrInvalidKey)
	}
	return j.key()
}

// readJWK reads a JWK object at d.
func readJWK(d *jsonscan.Decoder) (*rawJWK, error) {
	if err := d.Expect('{'); err != nil {
		return nil, fmt.Errorf("%w: JWK is not a JSON object", ErrInvalidKey)
	}
	j := &rawJWK{}
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return nil, fmt.Errorf("%w: JWK is not a JSON object", ErrInvalidKey)
		}
		if !ok {
			return j, nil
		}
		var dst *string
		var list *[]string
		var bit uint32
		switch name {
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k":
			return nil, fmt.Errorf("%w: JWK member %q", ErrPrivateKey, name)
		case "kty":
			dst, bit = &j.kty, jwkKty
		case "crv":
			dst, bit = &j.crv, jwkCrv
		case "x":
			dst, bit = &j.x, jwkX
		case "y":
			dst, bit = &j.y, jwkY
		case "n":
			dst, bit = &j.n, jwkN
		case "e":
			dst, bit = &j.e, jwkE
		case "kid":
			dst, bit = &j.kid, jwkKid
		case "alg":
			dst, bit = &j.alg, jwkAlg
		case "use":
			dst, bit = &j.use, jwkUse
		case "key_ops":
			list, bit = &j.keyOps, jwkKeyOps
		case "x5c":
			list, bit = &j.x5c, jwkX5c
		default:
			if _, err := d.Skip(); err != nil {
				return nil, fmt.Errorf("%w: JWK is not a JSON object", ErrInvalidKey)
			}
			continue
		}
		if j.seen&bit != 0 {
			return nil, fmt.Errorf("%w: JWK member %q appears twice", ErrInvalidKey, name)
		}
		j.seen |= bit
		if dst != nil {
			if *dst, err = d.String(); err != nil {
				return nil, fmt.Errorf("%w: JWK member %q is not a string", ErrInvalidKey, name)
			}
			continue
		}
		if err := d.Expect('['); err != nil {
			return nil, fmt.Errorf("%w: JWK member %q is not an array", ErrInvalidKey, name)
		}
		for first := true; ; first = false {
			more, err := d.Element(first)
			if err == nil && more {
				var s string
				if s, err = d.String(); err == nil {
					*list = append(*list, s)
					continue
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%w: JWK member %q is not an array of strings", ErrInvalidKey, name)
			}
			break
		}
	}
}

// key builds the Key a JWK describes.
func (j *rawJWK) key() (*Key, error) {
	var pub crypto.PublicKey
	var err error
	switch j.kty {
	case "EC":
		pub, err = j.ecKey()
	case "OKP":
		pub, err = j.okpKey()
	case "RSA":
		pub, err = j.rsaKey()
	case "":
		return nil, fmt.Errorf("%w: JWK without \"kty\"", ErrInvalidKey)
	default:
		return nil, fmt.Errorf("%w: kty %q", ErrUnsupportedKey, safeValue(j.kty))
	}
	if err != nil {
		return nil, err
	}
	kind, err := publicKind(pub)
	if err != nil {
		if errors.Is(err, ErrInvalidKey) {
			// Sizes and curves that parse but are not supported.
			return nil, fmt.Errorf("%w: %w", ErrUnsupportedKey, err)
		}
		return nil, err
	}
	if err := checkX5C(j.x5c, pub); err != nil {
		return nil, err
	}
	return newJWKKey(pub, kind, j.kid, j.alg, j.use, j.keyOps)
}

// newJWKKey applies the JWK members that restrict a key's use.
func newJWKKey(pub crypto.PublicKey, kind keyKind, kid, alg, use string, keyOps []string) (*Key, error) {
	k := &Key{kid: kid, alg: alg, kind: kind, pub: pub, verifyOK: true}
	if alg != "" {
		info, ok := lookupAlg(alg)
		switch {
		case !ok:
			// An encryption algorithm, or a signature algorithm not
			// supported here: not a key to verify with.
			k.verifyOK = false
		case info.kind != kind:
			return nil, fmt.Errorf("%w: JWK alg %q does not fit a %s key", ErrInvalidKey, safeValue(alg), kind)
		}
	}
	if use != "" && use != "sig" { // RFC 7517 §4.2
		k.verifyOK = false
	}
	if keyOps != nil && !slices.Contains(keyOps, "verify") { // RFC 7517 §4.3
		k.verifyOK = false
	}
	return k, nil
}

func (j *rawJWK) ecKey() (crypto.PublicKey, error) {
	var curve elliptic.Curve
	var size int
	switch j.crv {
	case "P-256":
		curve, size = elliptic.P256(), 32
	case "P-384":
		curve, size = elliptic.P384(), 48
	case "P-521":
		return nil, fmt.Errorf("%w: EC curve P-521", ErrUnsupportedKey)
	case "":
		return nil, fmt.Errorf("%w: EC JWK without \"crv\"", ErrInvalidKey)
	default:
		return nil, fmt.Errorf("%w: EC curve %q", ErrUnsupportedKey, safeValue(j.crv))
	}
	var point [1 + 2*48]byte
	point[0] = 4 // uncompressed (SEC 1 §2.3.3)
	if len(j.x) != b64Len(size) || !decodeInto(point[1:1+size], j.x) {
		return nil, fmt.Errorf("%w: EC JWK \"x\" is not %d bytes of base64url", ErrInvalidKey, size)
	}
	if len(j.y) != b64Len(size) || !decodeInto(point[1+size:1+2*size], j.y) {
		return nil, fmt.Errorf("%w: EC JWK \"y\" is not %d bytes of base64url", ErrInvalidKey, size)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point[:1+2*size])
	if err != nil {
		return nil, fmt.Errorf("%w: EC JWK point is not on %s", ErrInvalidKey, j.crv)
	}
	return pub, nil
}

func (j *rawJWK) okpKey() (crypto.PublicKey, error) {
	switch j.crv {
	case "Ed25519":
	case "":
		return nil, fmt.Errorf("%w: OKP JWK without \"crv\"", ErrInvalidKey)
	default: // X25519, X448 (key agreement), Ed448
		return nil, fmt.Errorf("%w: OKP curve %q", ErrUnsupportedKey, safeValue(j.crv))
	}
	pub := make(ed25519.PublicKey, ed25519.PublicKeySize)
	if len(j.x) != b64Len(ed25519.PublicKeySize) || !decodeInto(pub, j.x) {
		return nil, fmt.Errorf("%w: Ed25519 JWK \"x\" is not 32 bytes of base64url", ErrInvalidKey)
	}
	return pub, nil
}

func (j *rawJWK) rsaKey() (crypto.PublicKey, error) {
	if len(j.n) > b64Len(MaxRSABits/8) {
		return nil, fmt.Errorf("%w: RSA modulus over %d bits", ErrUnsupportedKey, MaxRSABits)
	}
	n, ok := decodeString(j.n)
	if !ok || len(n) == 0 || n[0] == 0 {
		return nil, fmt.Errorf("%w: RSA JWK \"n\" is not minimal base64url", ErrInvalidKey)
	}
	e, ok := decodeString(j.e)
	if !ok || len(e) == 0 || e[0] == 0 || len(e) > 4 {
		return nil, fmt.Errorf("%w: RSA JWK \"e\" is not a minimal base64url integer of at most 4 bytes", ErrInvalidKey)
	}
	var ev uint64
	for _, c := range e {
		ev = ev<<8 | uint64(c)
	}
	if ev > 1<<31-1 {
		return nil, fmt.Errorf("%w: RSA public exponent too large", ErrUnsupportedKey)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ev)}, nil
}

// b64Len is the length of n bytes in base64url without padding.
func b64Len(n int) int { return (n*8 + 5) / 6 }

// checkX5C checks that the first certificate of an "x5c" chain holds pub
// (RFC 7517 §4.7: "The key in the first certificate MUST match the public
// key represented by other members of the JWK"). The chain is not
// validated: nothing here trusts a certificate.
func checkX5C(chain []string, pub crypto.PublicKey) error {
	if len(chain) == 0 {
		return nil
	}
	der, err := base64.StdEncoding.Strict().DecodeString(chain[0]) // RFC 7517 §4.7: base64, not base64url
	if err != nil {
		return fmt.Errorf("%w: JWK \"x5c\" is not base64", ErrInvalidKey)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("%w: JWK \"x5c\" is not a certificate", ErrInvalidKey)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := pub.(equaler); !ok || !e.Equal(cert.PublicKey) {
		return fmt.Errorf("%w: JWK \"x5c\" certificate holds another key", ErrInvalidKey)
	}
	return nil
}

// KeyFromJOSE returns the verification key of a go-jose JWK. A private or
// symmetric JWK is refused with ErrPrivateKey; "alg", "use" and "key_ops"
// restrict the key as in ParseJWK.
func KeyFromJOSE(j *jose.JSONWebKey) (*Key, error) {
	if j == nil || j.Key == nil {
		return nil, fmt.Errorf("%w: empty JWK", ErrInvalidKey)
	}
	if !j.IsPublic() {
		return nil, fmt.Errorf("%w: JWK %q is private or symmetric", ErrPrivateKey, safeValue(j.KeyID))
	}
	kind, err := publicKind(j.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedKey, err)
	}
	// go-jose v4 does not keep "key_ops"; "alg" and "use" apply.
	return newJWKKey(j.Key, kind, j.KeyID, j.Algorithm, j.Use, nil)
}

// AppendPublicJWK appends the public JWK of pub (RFC 7517 §4) to dst: the
// members of its RFC 7638 thumbprint, in that order, then "kid" and "alg"
// when not empty. It is what a DPoP proof carries in its "jwk" header
// (RFC 9449 §4.2). pub is an *ecdsa.PublicKey (P-256, P-384),
// ed25519.PublicKey or *rsa.PublicKey.
func AppendPublicJWK(dst []byte, pub crypto.PublicKey, kid, alg string) ([]byte, error) {
	var err error
	dst, err = appendThumbprintJSON(dst, pub)
	if err != nil {
		return dst, err
	}
	dst = dst[:len(dst)-1] // reopen the object
	if kid != "" {
		dst = append(dst, `,"kid":`...)
		dst = jsonenc.AppendString(dst, kid)
	}
	if alg != "" {
		dst = append(dst, `,"alg":`...)
		dst = jsonenc.AppendString(dst, alg)
	}
	return append(dst, '}'), nil
}

// appendThumbprintJSON appends the RFC 7638 §3.2 JSON of pub: its required
// members only, in lexicographic order, no white space.
func appendThumbprintJSON(dst []byte, pub crypto.PublicKey) ([]byte, error) {
	kind, err := publicKind(pub)
	if err != nil {
		return dst, err
	}
	switch kind {
	case kindP256, kindP384:
		p := pub.(*ecdsa.PublicKey)
		raw, err := p.Bytes() // 04 || X || Y, each the full coordinate size
		if err != nil {
			return dst, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		size := (len(raw) - 1) / 2
		crv := "P-256"
		if kind == kindP384 {
			crv = "P-384"
		}
		dst = append(dst, `{"crv":"`...)
		dst = append(dst, crv...)
		dst = append(dst, `","kty":"EC","x":"`...)
		dst = b64.AppendEncode(dst, raw[1:1+size])
		dst = append(dst, `","y":"`...)
		dst = b64.AppendEncode(dst, raw[1+size:])
		return append(dst, `"}`...), nil
	case kindEd25519:
		dst = append(dst, `{"crv":"Ed25519","kty":"OKP","x":"`...)
		dst = b64.AppendEncode(dst, pub.(ed25519.PublicKey))
		return append(dst, `"}`...), nil
	default: // kindRSA
		p := pub.(*rsa.PublicKey)
		var e [8]byte
		eb := big.NewInt(int64(p.E)).FillBytes(e[:])
		for len(eb) > 1 && eb[0] == 0 {
			eb = eb[1:]
		}
		dst = append(dst, `{"e":"`...)
		dst = b64.AppendEncode(dst, eb)
		dst = append(dst, `","kty":"RSA","n":"`...)
		dst = b64.AppendEncode(dst, p.N.Bytes())
		return append(dst, `"}`...), nil
	}
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub: the SHA-256 of
// its canonical JWK (RFC 7638 §3), for EC, OKP (RFC 8037 §2) and RSA keys.
func Thumbprint(pub crypto.PublicKey) ([sha256.Size]byte, error) {
	var buf [1536]byte // room for an 8192-bit RSA key
	js, err := appendThumbprintJSON(buf[:0], pub)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(js), nil
}

// ThumbprintString returns the thumbprint of pub in base64url without
// padding, the form of DPoP's "jkt" (RFC 9449 §6.1) and of RFC 7638 §3.1's
// example.
func ThumbprintString(pub crypto.PublicKey) (string, error) {
	sum, err := Thumbprint(pub)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(sum[:]), nil
}
