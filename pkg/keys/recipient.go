package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
	gjson "github.com/go-jose/go-jose/v4/json"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// Curves of a resource server's key-agreement keys (RFC 7518 §6.2.1.1,
// RFC 8037 §2): the "crv" of its "enc" JWK.
const (
	CurveP256   = "P-256"
	CurveX25519 = "X25519"
)

// AlgECDHESA256KW is the JWE key-management algorithm of key deliveries
// (RFC 7518 §4.6): ECDH-ES key agreement, Concat KDF, AES-256 key wrap.
const AlgECDHESA256KW = "ECDH-ES+A256KW"

// MaxRecipientKeys bounds the keys of a resource server's JWK Set.
const MaxRecipientKeys = 16

// maxRecipientJWKS bounds the size of a resource server's JWK Set.
const maxRecipientJWKS = 64 << 10

// ErrNoEncryptionKey means a resource server's JWK Set holds no encryption
// key (use "enc", EC P-256 or OKP X25519), so no key delivery can be
// encrypted to it.
var ErrNoEncryptionKey = errors.New("keys: no encryption key (use \"enc\", EC P-256 or OKP X25519)")

// Recipient holds a resource server's registered keys (SPEC §9): the
// key-agreement keys that key deliveries are encrypted to ("use" "enc", EC
// P-256 or OKP X25519, ECDH-ES+A256KW), public on the issuer and private on
// the resource server, and, for client authentication with
// private_key_jwt, its public signing keys ("use" "sig").
//
// Deliveries are encrypted to the first encryption key of the set; a
// resource server may hold several private keys and opens a delivery with
// the one its "kid" names, so its key is rotated by adding the new key
// behind the old one, then moving it first once the resource server holds
// it, then dropping the old one.
//
// A Recipient is immutable and safe for concurrent use.
type Recipient struct {
	enc  []*agreementKey
	byID map[string]*agreementKey
	sig  []*jws.Key
	// sigPriv is the private signing key GenerateRecipient made, written
	// by PrivateJWKS; nil otherwise.
	sigPriv crypto.Signer
}

// agreementKey is one ECDH key of a Recipient.
type agreementKey struct {
	kid  string
	crv  string
	pub  *ecdh.PublicKey
	priv *ecdh.PrivateKey // nil on the issuer's side
}

// curve returns the crypto/ecdh curve of a JWK "crv".
func curve(crv string) ecdh.Curve {
	switch crv {
	case CurveP256:
		return ecdh.P256()
	case CurveX25519:
		return ecdh.X25519()
	}
	return nil
}

// GenerateRecipient makes a resource server's key pair for key deliveries
// on crv (CurveP256 or CurveX25519) with a random kid, and with sig also
// an ES256 signing key for private_key_jwt. `issuer rs new` uses it: the
// private half goes to the resource server (PrivateJWKS), the public half
// into the configuration (PublicJWKS).
func GenerateRecipient(crv string, sig bool) (*Recipient, error) {
	c := curve(crv)
	if c == nil {
		return nil, fmt.Errorf("%w: curve %q (want %q or %q)", ErrKeyType, crv, CurveP256, CurveX25519)
	}
	priv, err := c.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keys: generating a %s key: %w", crv, err)
	}
	k := &agreementKey{kid: "enc-" + NewKeyID(), crv: crv, pub: priv.PublicKey(), priv: priv}
	r := &Recipient{enc: []*agreementKey{k}, byID: map[string]*agreementKey{k.kid: k}}
	if sig {
		priv, err := generateSigner(ES256)
		if err != nil {
			return nil, err
		}
		jk, err := jws.NewPublicKey(priv.Public(), "sig-"+NewKeyID(), string(ES256))
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		r.sig, r.sigPriv = []*jws.Key{jk}, priv
	}
	return r, nil
}

// KeyID returns the kid of the key deliveries are encrypted to: the first
// encryption key.
func (r *Recipient) KeyID() string { return r.enc[0].kid }

// Curve returns the curve of the key deliveries are encrypted to.
func (r *Recipient) Curve() string { return r.enc[0].crv }

// KeyIDs returns the kids of the encryption keys, in order.
func (r *Recipient) KeyIDs() []string {
	out := make([]string, len(r.enc))
	for i, k := range r.enc {
		out[i] = k.kid
	}
	return out
}

// SigningKeys returns the resource server's public signing keys (for
// private_key_jwt, RFC 7523), possibly none. Callers must not modify them.
func (r *Recipient) SigningKeys() []*jws.Key { return slices.Clone(r.sig) }

// HasPrivate reports whether the Recipient holds the private halves of its
// encryption keys: it can open deliveries.
func (r *Recipient) HasPrivate() bool { return r.enc[0].priv != nil }

// Equal reports whether r and o hold the same encryption keys (kid, curve
// and public key, in order) and the same signing keys' kids.
func (r *Recipient) Equal(o *Recipient) bool {
	if r == nil || o == nil {
		return r == o
	}
	if len(r.enc) != len(o.enc) || len(r.sig) != len(o.sig) {
		return false
	}
	for i, k := range r.enc {
		if k.kid != o.enc[i].kid || k.crv != o.enc[i].crv || !k.pub.Equal(o.enc[i].pub) {
			return false
		}
	}
	for i, k := range r.sig {
		if k.KeyID() != o.sig[i].KeyID() {
			return false
		}
	}
	return true
}

// Public returns r without its private keys: what the issuer holds.
func (r *Recipient) Public() *Recipient {
	p := &Recipient{byID: make(map[string]*agreementKey, len(r.enc)), sig: r.sig}
	for _, k := range r.enc {
		c := &agreementKey{kid: k.kid, crv: k.crv, pub: k.pub}
		p.enc = append(p.enc, c)
		p.byID[c.kid] = c
	}
	return p
}

// PublicJWKS returns the public JWK Set of r (RFC 7517 §5), for the
// resource server's "jwks" entry in the issuer's configuration:
//
//	{"keys":[{"kty":"EC","crv":"P-256","kid":"enc-…","use":"enc","alg":"ECDH-ES+A256KW","x":"…","y":"…"}]}
//
// It holds no private member; ParseRecipient reads it back.
func (r *Recipient) PublicJWKS() []byte {
	b := []byte(`{"keys":[`)
	for i, k := range r.enc {
		if i > 0 {
			b = append(b, ',')
		}
		b = k.appendJWK(b, false)
	}
	for _, k := range r.sig {
		b = append(b, ',')
		jwk, _ := jws.AppendPublicJWK(nil, k.Public(), k.KeyID(), k.Algorithm()) // a key jws.NewPublicKey built
		b = append(b, jwk[:len(jwk)-1]...)
		b = append(b, `,"use":"sig"}`...)
	}
	return append(b, "]}"...)
}

// PrivateJWKS returns the private JWK Set of r: what the resource server
// keeps (mode 0600) and reads with ParsePrivateRecipient. It is a secret:
// never log it. A Recipient without private keys returns ErrCannotSign.
func (r *Recipient) PrivateJWKS() ([]byte, error) {
	if !r.HasPrivate() {
		return nil, fmt.Errorf("%w: the resource server's private keys are not held here", ErrCannotSign)
	}
	b := []byte(`{"keys":[`)
	for i, k := range r.enc {
		if i > 0 {
			b = append(b, ',')
		}
		b = k.appendJWK(b, true)
	}
	if r.sigPriv != nil {
		jwk := jose.JSONWebKey{Key: r.sigPriv, KeyID: r.sig[0].KeyID(), Algorithm: string(ES256), Use: useSig}
		raw, err := jwk.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("keys: encoding the signing key: %w", err)
		}
		b = append(append(b, ','), raw...)
		clear(raw)
	}
	return append(b, "]}"...), nil
}

// appendJWK appends k as a JWK (RFC 7518 §6.2, RFC 8037 §2), with "d" when
// private is set.
func (k *agreementKey) appendJWK(b []byte, private bool) []byte {
	pub := k.pub.Bytes()
	if k.crv == CurveP256 {
		b = append(b, `{"kty":"EC","crv":"P-256","kid":`...)
		b = jsonenc.AppendString(b, k.kid)
		b = append(b, `,"use":"enc","alg":"`+AlgECDHESA256KW+`","x":"`...)
		b = base64.RawURLEncoding.AppendEncode(b, pub[1:33])
		b = append(b, `","y":"`...)
		b = base64.RawURLEncoding.AppendEncode(b, pub[33:])
	} else {
		b = append(b, `{"kty":"OKP","crv":"X25519","kid":`...)
		b = jsonenc.AppendString(b, k.kid)
		b = append(b, `,"use":"enc","alg":"`+AlgECDHESA256KW+`","x":"`...)
		b = base64.RawURLEncoding.AppendEncode(b, pub)
	}
	if private && k.priv != nil {
		d := k.priv.Bytes()
		b = append(b, `","d":"`...)
		b = base64.RawURLEncoding.AppendEncode(b, d)
		clear(d)
	}
	return append(b, `"}`...)
}

// ParseRecipient reads a resource server's public JWK Set (RFC 7517 §5),
// as the issuer's configuration holds it (resource_servers[].jwks):
//
//   - an encryption key has "use" "enc", or "alg" ECDH-ES+A256KW, or crv
//     X25519 (which only agrees keys); it must be kty "EC" with crv
//     "P-256" or kty "OKP" with crv "X25519", with "alg", if present,
//     ECDH-ES+A256KW; at least one is required (ErrNoEncryptionKey);
//   - any other key is a signing key, read by pkg/jws (ES256, EdDSA, RS256,
//     ...): it must be one jws.ParseJWK accepts;
//   - every key has a distinct "kid" (deliveries name the key they are
//     encrypted to);
//   - no key holds a private member (d, p, q, dp, dq, qi, oth, k): a
//     private key in the issuer's configuration is a leak.
//
// Errors are *ParseError values naming the key (index and kid) and the
// member at fault; they never quote key material.
func ParseRecipient(data []byte) (*Recipient, error) { return parseRecipient(data, false) }

// ParsePrivateRecipient reads a resource server's private JWK Set, as
// PrivateJWKS writes it: what a resource server needs to open its key
// deliveries (OpenDelivery). Its encryption keys must hold "d", matching
// their public halves; signing keys are read for their public halves only.
func ParsePrivateRecipient(data []byte) (*Recipient, error) { return parseRecipient(data, true) }

func parseRecipient(data []byte, private bool) (*Recipient, error) {
	entries, err := jwkSetEntries("", data, maxRecipientJWKS, MaxRecipientKeys)
	if err != nil {
		return nil, err
	}
	r := &Recipient{byID: make(map[string]*agreementKey, len(entries))}
	seen := make(map[string]int, len(entries))
	for i, raw := range entries {
		kid, field, err := r.addJWK(raw, private)
		if err == nil {
			if j, dup := seen[kid]; dup {
				field, err = "kid", fmt.Errorf("%w: same kid as keys[%d]", ErrDuplicateKeyID, j)
			}
		}
		if err != nil {
			e := &ParseError{Kind: kindJWKS, Index: i, Field: field, Err: err}
			if validKeyID(kid) {
				e.KeyID = kid
			} else {
				e.KeyID = peekKID(raw)
			}
			return nil, e
		}
		seen[kid] = i
	}
	if len(r.enc) == 0 {
		return nil, &ParseError{Kind: kindJWKS, Index: -1, Field: "keys", Err: ErrNoEncryptionKey}
	}
	return r, nil
}

// addJWK reads one key of a resource server's JWK Set into r and returns
// its kid, or the member at fault.
func (r *Recipient) addJWK(raw []byte, private bool) (kid, field string, err error) {
	m, err := objectMembers(raw)
	if err != nil {
		return "", "", err
	}
	if err := member(m, "kid", &kid); err != nil {
		return "", "kid", fmt.Errorf("%w: a kid is required (deliveries name their key)", err)
	}
	if !validKeyID(kid) {
		return kid, "kid", fmt.Errorf("%w: %q", ErrKeyID, kid)
	}
	var kty, crv, use, alg string
	for _, f := range []struct {
		name string
		dst  *string
	}{{"kty", &kty}, {"crv", &crv}, {"use", &use}, {"alg", &alg}} {
		if _, ok := m[f.name]; !ok {
			continue
		}
		if err := member(m, f.name, f.dst); err != nil {
			return kid, f.name, err
		}
	}
	enc := use == useEnc || alg == AlgECDHESA256KW || (use == "" && crv == CurveX25519)
	if private && !enc {
		// A resource server opens deliveries with its encryption keys
		// only; its private signing keys are its own business.
		return kid, "", nil
	}
	if !private {
		for _, name := range jwkAnyPrivate {
			if _, ok := m[name]; ok {
				return kid, name, fmt.Errorf("%w: private key member in a public JWK Set", ErrFormat)
			}
		}
	}
	if !enc {
		if use != "" && use != useSig {
			return kid, "use", fmt.Errorf("%w: use %q, want %q or %q", ErrFormat, use, useEnc, useSig)
		}
		k, err := jws.ParseJWK(raw)
		if err != nil {
			return kid, "", fmt.Errorf("%w: signing key: %s", ErrFormat, err.Error())
		}
		r.sig = append(r.sig, k)
		return kid, "", nil
	}
	if use != "" && use != useEnc {
		return kid, "use", fmt.Errorf("%w: use %q with alg %s", ErrFormat, use, alg)
	}
	if alg != "" && alg != AlgECDHESA256KW {
		return kid, "alg", fmt.Errorf("%w: %q for an encryption key (want %s)", ErrAlg, alg, AlgECDHESA256KW)
	}
	k := &agreementKey{kid: kid, crv: crv}
	switch {
	case kty == "EC" && crv == CurveP256:
		var x, y []byte
		if x, field, err = b64Member(m, "x", 32); err != nil {
			return kid, field, err
		}
		if y, field, err = b64Member(m, "y", 32); err != nil {
			return kid, field, err
		}
		if k.pub, err = ecdh.P256().NewPublicKey(slices.Concat([]byte{4}, x, y)); err != nil {
			return kid, "x", fmt.Errorf("%w: the point is not on P-256", ErrKeyType)
		}
	case kty == "OKP" && crv == CurveX25519:
		var x []byte
		if x, field, err = b64Member(m, "x", 32); err != nil {
			return kid, field, err
		}
		if k.pub, err = ecdh.X25519().NewPublicKey(x); err != nil {
			return kid, "x", fmt.Errorf("%w: not an X25519 public key", ErrKeyType)
		}
	default:
		f := "crv"
		if kty != "EC" && kty != "OKP" {
			f = "kty"
		}
		return kid, f, fmt.Errorf("%w: an encryption key must be kty EC with crv P-256 or kty OKP with crv X25519, not kty %q crv %q", ErrKeyType, kty, crv)
	}
	if private {
		d, field, err := b64Member(m, "d", 32)
		if err != nil {
			return kid, field, err
		}
		defer clear(d)
		if k.priv, err = curve(crv).NewPrivateKey(d); err != nil {
			return kid, "d", fmt.Errorf("%w: not a %s private key", ErrKeyType, crv)
		}
		if !k.priv.PublicKey().Equal(k.pub) {
			return kid, "d", fmt.Errorf("%w: the private key does not match x", ErrKeyType)
		}
	}
	r.enc = append(r.enc, k)
	r.byID[kid] = k
	return kid, "", nil
}

// b64Member decodes the required base64url member name of m, which must
// be size bytes long.
func b64Member(m map[string]gjson.RawMessage, name string, size int) ([]byte, string, error) {
	var s string
	if err := member(m, name, &s); err != nil {
		return nil, name, err
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || bytes.ContainsAny([]byte(s), "\r\n") {
		return nil, name, fmt.Errorf("%w: not base64url", ErrFormat)
	}
	if len(b) != size {
		return nil, name, fmt.Errorf("%w: %d bytes, want %d", ErrKeyType, len(b), size)
	}
	return b, "", nil
}
