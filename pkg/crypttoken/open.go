package crypttoken

import (
	"fmt"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// Expected is what Open requires of a token beyond decrypting. Its zero value
// is meaningful: an access token, checked for expiry with no leeway against
// time.Now, whatever its issuer and audience.
//
// A resource server's ring already confines it to tokens sealed for its own
// audience (SPEC §3, key separation); setting Issuer and Audience as well
// guards against a misconfigured ring and is recommended.
type Expected struct {
	// Issuer, when set, must equal the "iss" claim.
	Issuer string
	// Audience, when set, must be one of the "aud" claim's values.
	Audience string
	// Type is the required "typ" header; zero means TypeAccess.
	Type Type
	// Leeway is the clock skew tolerated on "exp", "nbf" and "iat".
	Leeway time.Duration
	// Time is the clock; nil means the Opener's clock (time.Now by default).
	Time func() time.Time
}

// Opener opens and validates tokens sealed with the keys of a ring. It is
// safe for concurrent use; the ring may be swapped while it opens.
type Opener struct {
	ring     *keys.Ring
	exp      Expected
	typ      Type
	now      func() time.Time
	allowKW  bool
	allowDir bool
	maxSize  int
}

// NewOpener returns an Opener that accepts tokens sealed by keys of ring and
// meeting exp.
func NewOpener(ring *keys.Ring, exp Expected, opts ...Option) (*Opener, error) {
	if ring == nil || ring.Load() == nil {
		return nil, fmt.Errorf("%w: nil ring", ErrConfig)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	typ := exp.Type
	if typ == "" {
		typ = TypeAccess
	}
	if !typ.Valid() {
		return nil, fmt.Errorf("%w: token type %q", ErrConfig, typ)
	}
	if exp.Leeway < 0 || exp.Leeway > 10*time.Minute {
		return nil, fmt.Errorf("%w: leeway %s out of range [0, 10m]", ErrConfig, exp.Leeway)
	}
	op := &Opener{ring: ring, exp: exp, typ: typ, now: o.now, maxSize: o.maxSize}
	if exp.Time != nil {
		op.now = exp.Time
	}
	for _, a := range o.algs {
		switch a {
		case keys.A256KW:
			op.allowKW = true
		case keys.Direct:
			op.allowDir = true
		}
	}
	return op, nil
}

// Open decrypts token and validates it against the Opener's expectations,
// returning its claims. Every failure is reported with one of the package's
// sentinel errors (ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrDecrypt,
// ErrType, ErrExpired, ...), matched with errors.Is.
func (o *Opener) Open(token string) (*Claims, error) {
	c := new(Claims)
	if err := o.OpenInto(token, c); err != nil {
		return nil, err
	}
	return c, nil
}

// OpenInto is Open decoding into c, which it overwrites. On error c is left
// zero.
func (o *Opener) OpenInto(token string, c *Claims) error {
	c.reset()
	err := o.open(token, c)
	if err != nil {
		c.reset()
	}
	return err
}

func (o *Opener) open(token string, c *Claims) error {
	if len(token) > o.maxSize {
		return fmt.Errorf("%w: longer than %d bytes", ErrMalformed, o.maxSize)
	}
	var parts [5]string
	rest := token
	for i := 0; i < 4; i++ {
		j := strings.IndexByte(rest, '.')
		if j < 0 {
			return fmt.Errorf("%w: not five dot-separated parts", ErrMalformed)
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	if strings.IndexByte(rest, '.') >= 0 {
		return fmt.Errorf("%w: not five dot-separated parts", ErrMalformed)
	}
	parts[4] = rest

	// The protected header.
	var hbuf [384]byte
	if b64.DecodedLen(len(parts[0])) > len(hbuf) {
		return fmt.Errorf("%w: header too long", ErrMalformed)
	}
	n, err := b64.Decode(hbuf[:], b64Bytes(parts[0]))
	if err != nil {
		return fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	h, err := parseHeader(hbuf[:n])
	if err != nil {
		return fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	switch {
	case h.zip:
		return ErrCompression
	case h.crit:
		return ErrCritical
	case h.enc != encA256GCM:
		return fmt.Errorf("%w: enc must be A256GCM", ErrAlgorithm)
	}
	var alg keys.Alg
	switch {
	case h.alg == string(keys.A256KW) && o.allowKW:
		alg = keys.A256KW
	case h.alg == string(keys.Direct) && o.allowDir:
		alg = keys.Direct
	default:
		return fmt.Errorf("%w: alg %q", ErrAlgorithm, safeValue(h.alg))
	}
	now := o.now()
	key, ok := o.ring.Load().Opening(h.kid, now)
	if !ok {
		return fmt.Errorf("%w: kid %q", ErrUnknownKey, safeValue(h.kid))
	}
	if key.Alg != alg {
		// A key is only ever used with its own algorithm (no cross-use).
		return fmt.Errorf("%w: alg %q with a %s key", ErrAlgorithm, alg, key.Alg)
	}
	typOK := typeMatches(h.typ, o.typ)

	// Encrypted key, IV and tag have fixed sizes.
	var iv [ivSize]byte
	var tag [tagSize]byte
	if len(parts[2]) != 16 || len(parts[4]) != 22 {
		return fmt.Errorf("%w: IV or tag of wrong size", ErrMalformed)
	}
	if _, err := b64.Decode(iv[:], b64Bytes(parts[2])); err != nil {
		return fmt.Errorf("%w: IV is not base64url", ErrMalformed)
	}
	if _, err := b64.Decode(tag[:], b64Bytes(parts[4])); err != nil {
		return fmt.Errorf("%w: tag is not base64url", ErrMalformed)
	}
	aead := key.AEAD()
	if alg == keys.A256KW {
		var wrapped [wrappedSize]byte
		if len(parts[1]) != 54 {
			return fmt.Errorf("%w: encrypted key of wrong size", ErrMalformed)
		}
		if _, err := b64.Decode(wrapped[:], b64Bytes(parts[1])); err != nil {
			return fmt.Errorf("%w: encrypted key is not base64url", ErrMalformed)
		}
		var cek [cekSize]byte
		if !keyUnwrap(key.Block(), &cek, wrapped[:]) {
			return ErrDecrypt
		}
		aead, err = newGCM(cek[:])
		clear(cek[:])
		if err != nil {
			return ErrDecrypt
		}
	} else if parts[1] != "" {
		return fmt.Errorf("%w: dir tokens carry no encrypted key", ErrMalformed)
	}

	// Ciphertext and tag into one fresh buffer, opened in place. The
	// plaintext stays in this buffer, which the claims' strings view.
	buf := make([]byte, b64.DecodedLen(len(parts[3]))+tagSize)
	n, err = b64.Decode(buf, b64Bytes(parts[3]))
	if err != nil {
		return fmt.Errorf("%w: ciphertext is not base64url", ErrMalformed)
	}
	copy(buf[n:], tag[:])
	plain, err := aead.Open(buf[:0], iv[:], buf[:n+tagSize], b64Bytes(parts[0]))
	if err != nil {
		return ErrDecrypt
	}
	// Only authenticated data decides anything from here on.
	if !typOK {
		return fmt.Errorf("%w: want %s", ErrType, o.typ)
	}
	if err := parseClaims(plain, c); err != nil {
		return fmt.Errorf("%w: claims are not a valid JSON object", ErrMalformed)
	}
	return o.validate(c, now)
}

// validate checks the time, issuer and audience claims (RFC 7519 §4.1,
// RFC 9068 §4).
func (o *Opener) validate(c *Claims, now time.Time) error {
	leeway := o.exp.Leeway
	if c.Expiry.IsZero() {
		return fmt.Errorf("%w: exp", ErrMissingClaim)
	}
	if !now.Before(c.Expiry.Add(leeway)) {
		return ErrExpired
	}
	if !c.NotBefore.IsZero() && now.Add(leeway).Before(c.NotBefore) {
		return ErrNotYetValid
	}
	if !c.IssuedAt.IsZero() && now.Add(leeway).Before(c.IssuedAt) {
		return ErrIssuedInFuture
	}
	if o.exp.Issuer != "" && c.Issuer != o.exp.Issuer {
		return ErrIssuer
	}
	if o.exp.Audience != "" && !c.HasAudience(o.exp.Audience) {
		return ErrAudience
	}
	return nil
}

// typeMatches compares a "typ" header with the wanted type, ignoring case and
// an "application/" prefix (RFC 7515 §4.1.9, RFC 9068 §4).
func typeMatches(got string, want Type) bool {
	if len(got) > len("application/") && strings.EqualFold(got[:len("application/")], "application/") {
		got = got[len("application/"):]
	}
	return strings.EqualFold(got, string(want))
}

// safeValue copies an attacker-chosen header value for an error message,
// cut short so that errors stay small.
func safeValue(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.Clone(s)
}
