package crypttoken

// Signed access tokens (SPEC §9, audiences[].sign): a nested JWT, sign then
// encrypt (RFC 7519 §11.2). The claims are signed as a compact JWS
// (RFC 7515) by the issuer's signing ring, and that JWS is the JWE's
// plaintext, with "cty":"JWT" in the JWE header (RFC 7519 §5.2). Every
// holder of an audience key can seal a token; only the issuer can sign one.

import (
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonscan"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// ContentTypeJWT is the JWE "cty" header of a nested token (RFC 7519 §5.2):
// the plaintext is itself a JWT, here a JWS.
const ContentTypeJWT = "JWT"

// signatureAlgorithms are the JWS algorithms a signed token may use: those
// of the signing ring (keys.ES256, keys.EdDSA, keys.RS256). Never a MAC,
// which a resource server could compute.
var signatureAlgorithms = []string{jws.ES256, jws.EdDSA, jws.RS256}

// WithSigningRing makes a Sealer sign what it seals: the claims become a
// compact JWS signed by ring's active key, with "typ" the token's type,
// and that JWS is encrypted as the token, with "cty" "JWT" in its header
// (a nested JWT, RFC 7519 §11.2). ring must hold signing keys
// (keys.SigningRing); it may be swapped while the Sealer seals, as the
// encryption ring may. A Seal fails with ErrNoKey when the signing ring has
// no active key. Sealer only.
func WithSigningRing(ring *keys.Ring) Option {
	return optionFunc(func(o *options) error {
		if ring == nil || ring.Load() == nil {
			return fmt.Errorf("%w: nil signing ring", ErrConfig)
		}
		if !ring.Load().Signing() {
			return fmt.Errorf("%w: ring %q holds no signing keys", ErrConfig, ring.Name())
		}
		o.signing = ring
		o.markSealerOnly("WithSigningRing")
		return nil
	})
}

// WithSignedTokens makes an Opener require signed tokens: the decrypted
// content must be a compact JWS of "typ" the expected token type, signed
// (ES256, EdDSA or RS256) by a key that src finds — the issuer's published
// signing keys (jwks_uri) — else Open fails with ErrSignature, wrapping the
// pkg/jws sentinel of the failure. A resource server that holds an
// audience key can then no longer forge tokens its peers accept. The
// claims are those of the JWS.
//
// Without this option an Opener accepts both forms, and reads a nested
// token's claims without checking the inner signature: the encryption
// authenticates the token as sealed by a holder of the audience key, which
// is all an unsigned token proves. Opener only.
func WithSignedTokens(src jws.KeySource) Option {
	return optionFunc(func(o *options) error {
		if src == nil {
			return fmt.Errorf("%w: nil signature key source", ErrConfig)
		}
		o.signatures = src
		o.markOpenerOnly("WithSignedTokens")
		return nil
	})
}

// WithSignedTokensIf is WithSignedTokens whose requirement is decided for
// each token by required, so that it can follow the issuer's configuration
// as it changes: while required returns false the Opener behaves as
// without WithSignedTokens. required is called on every Open and must be
// cheap and safe for concurrent use (an atomic load). The remote client's
// Openers use it, with the audience's flag from the key delivery. Opener
// only.
func WithSignedTokensIf(src jws.KeySource, required func() bool) Option {
	return optionFunc(func(o *options) error {
		if src == nil || required == nil {
			return fmt.Errorf("%w: nil signature key source or condition", ErrConfig)
		}
		o.signatures, o.sigRequired = src, required
		o.markOpenerOnly("WithSignedTokensIf")
		return nil
	})
}

// RingKeys returns the verification keys of a signing ring as a
// jws.KeySource, for an Opener made WithSignedTokens inside the issuer,
// which holds the ring itself: a kid is looked up in the ring's current set
// and verifies while its key has not expired at now() (nil: time.Now).
// Resource servers verify against the published JWK Set instead
// (pkg/crypttoken/remote does). The source is safe for concurrent use and
// follows the ring as it is swapped.
func RingKeys(ring *keys.Ring, now func() time.Time) (jws.KeySource, error) {
	if ring == nil || ring.Load() == nil {
		return nil, fmt.Errorf("%w: nil signing ring", ErrConfig)
	}
	if now == nil {
		now = time.Now
	}
	return &ringKeys{ring: ring, now: now}, nil
}

// ringKeys is the KeySource of RingKeys. It converts each *keys.Key to a
// *jws.Key once, in a copy-on-write cache.
type ringKeys struct {
	ring  *keys.Ring
	now   func() time.Time
	cache atomic.Pointer[map[*keys.Key]*jws.Key]
}

// maxRingKeys bounds the cache of ringKeys: a signing ring holds a handful
// of keys, and the cache starts over when full.
const maxRingKeys = 32

func (r *ringKeys) VerificationKey(h *jws.Header) (*jws.Key, error) {
	k, ok := r.ring.Load().Opening(h.KeyID, r.now())
	if !ok || !k.Alg.Signing() {
		return nil, fmt.Errorf("%w: kid %q is not a signing key of the issuer", jws.ErrUnknownKey, safeValue(h.KeyID))
	}
	old := r.cache.Load()
	if old != nil {
		if jk, ok := (*old)[k]; ok {
			return jk, nil
		}
	}
	jk, err := jws.NewPublicKey(k.Public(), k.ID, string(k.Alg))
	if err != nil {
		return nil, fmt.Errorf("%w: kid %q: %w", jws.ErrUnknownKey, safeValue(h.KeyID), err)
	}
	m := make(map[*keys.Key]*jws.Key, 4)
	if old != nil && len(*old) < maxRingKeys {
		m = maps.Clone(*old)
	}
	m[k] = jk
	r.cache.CompareAndSwap(old, &m)
	return jk, nil
}

// newSignatureVerifier returns the verifier of the inner JWS of a signed
// token of type typ.
func newSignatureVerifier(src jws.KeySource, typ Type, maxSize int) (*jws.Verifier, error) {
	v, err := jws.NewVerifier(signatureAlgorithms, src, jws.WithType(string(typ)), jws.WithMaxSize(maxSize))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return v, nil
}

// signatureRequired reports whether this Open requires a signed token.
func (o *Opener) signatureRequired() bool {
	return o.sig != nil && (o.sigRequired == nil || o.sigRequired())
}

// innerClaims returns the claims JSON of a nested token's plaintext, a
// compact JWS: verified by o.sig when required, else read without
// verifying the signature (see WithSignedTokens). Either way its "typ"
// must be the expected type.
func (o *Opener) innerClaims(plain []byte, required bool) ([]byte, error) {
	if required {
		t, err := o.sig.Verify(jsonscan.View(plain))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSignature, err)
		}
		return t.Payload, nil
	}
	h, payload, err := jws.ParseUnverified(jsonscan.View(plain))
	if err != nil {
		return nil, fmt.Errorf("%w: nested content is not a compact JWS", ErrMalformed)
	}
	if !typeMatches(h.Type, o.typ) {
		return nil, fmt.Errorf("%w: nested JWS of type %q, want %s", ErrType, safeValue(h.Type), o.typ)
	}
	return payload, nil
}

// contentType classifies a JWE "cty" header: "" (the claims), or "JWT",
// compared as RFC 7515 §4.1.10 says (case-insensitively, "application/"
// optional).
func contentType(cty string) (nested, ok bool) {
	if cty == "" {
		return false, true
	}
	const prefix = "application/"
	if len(cty) > len(prefix) && strings.EqualFold(cty[:len(prefix)], prefix) {
		cty = cty[len(prefix):]
	}
	return true, strings.EqualFold(cty, ContentTypeJWT)
}
