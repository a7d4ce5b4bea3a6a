package crypttoken

import (
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// Expected is what Open requires of a token beyond decrypting. Its zero value
// is meaningful: an access token, checked for expiry with no leeway against
// time.Now, whatever its issuer and audience.
//
// A resource server's ring already confines it to tokens sealed for its own
// audience (SPEC §3, key separation); setting Issuer and Audience as well
// guards against a misconfigured ring and is recommended (RFC 9068 §4).
type Expected struct {
	// Issuer, when set, must equal the "iss" claim (RFC 7519 §4.1.1).
	Issuer string
	// Audience, when set, must be one of the "aud" claim's values
	// (RFC 7519 §4.1.3).
	Audience string
	// Type is the required "typ" header; zero means TypeAccess.
	Type Type
	// Leeway is the clock skew tolerated on "exp", "nbf" and "iat", at
	// most 10 minutes (RFC 7519 §4.1.4: "some small leeway").
	Leeway time.Duration
	// Time is the clock, for key expiry and the time claims; nil means the
	// Opener's clock (WithClock, or time.Now).
	Time func() time.Time
}

// Opener opens and validates tokens sealed with the keys of a ring. It is
// safe for concurrent use, and the ring may be swapped while it opens: each
// Open looks its key up in the set current at its start.
type Opener struct {
	ring     *keys.Ring
	exp      Expected
	typ      Type
	now      func() time.Time
	allowKW  bool
	allowDir bool
	maxSize  int
	// headers caches the protected headers of tokens that opened, keyed by
	// their base64url text (see remember).
	headers atomic.Pointer[map[string]openHeader]
}

// openHeader is what Open retains of a protected header that passed the
// checks that depend on the header alone.
type openHeader struct {
	alg   keys.Alg
	kid   string
	typOK bool
}

// maxCachedHeaders bounds an Opener's header cache. An issuer writes one
// header per key and token type, so a handful of entries serve a ring.
const maxCachedHeaders = 32

// NewOpener returns an Opener that accepts tokens sealed by keys of ring and
// meeting exp. Options: WithClock, WithAlgorithms, WithMaxSize.
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
// returning its claims.
//
// The checks run in this order, and the first failure is returned, matched
// with errors.Is: size and shape (ErrMalformed); header: zip
// (ErrCompression), crit (ErrCritical), enc and alg against the allow-list
// (ErrAlgorithm); kid known and not expired (ErrUnknownKey); the key's own
// algorithm (ErrAlgorithm); part sizes and base64url (ErrMalformed);
// decryption, which authenticates header and content (ErrDecrypt); typ
// (ErrType); the claims' JSON (ErrMalformed); exp present
// (ErrMissingClaim); exp (ErrExpired), nbf (ErrNotYetValid), iat
// (ErrIssuedInFuture); iss (ErrIssuer); aud (ErrAudience). Nothing the
// token says is trusted before it has decrypted, except what picks the key.
//
// Open keeps no reference to token, nor to any part of it, once it returns:
// token may view a buffer the caller reuses, such as a fasthttp request's.
func (o *Opener) Open(token string) (*Claims, error) {
	if len(token) > o.maxSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, o.maxSize)
	}
	var p [5]string
	if !split(token, &p) {
		return nil, fmt.Errorf("%w: not five dot-separated parts", ErrMalformed)
	}
	h, cached := o.cachedHeader(p[0])
	if !cached {
		var err error
		if h, err = o.checkHeader(p[0]); err != nil {
			return nil, err
		}
	}
	now := o.now()
	set := o.ring.Load()
	key, ok := set.Opening(h.kid, now)
	if !ok {
		return nil, unknownKey(set, h.kid, now)
	}
	if key.Alg != h.alg {
		// A key is only ever used with its own algorithm (RFC 8725 §3.1).
		return nil, fmt.Errorf("%w: alg %q with a %s key", ErrAlgorithm, h.alg, key.Alg)
	}
	kw := key.Alg == keys.A256KW

	// The fixed-size parts, then one buffer for IV, ciphertext, tag and the
	// key-wrap scratch block. The ciphertext is opened in place, and the
	// claims' strings view the plaintext: this buffer is the token's only
	// allocation besides the Claims.
	if len(p[2]) != ivB64 || len(p[4]) != tagB64 {
		return nil, fmt.Errorf("%w: IV or tag of wrong size", ErrMalformed)
	}
	if kw && len(p[1]) != wrappedB64 {
		return nil, fmt.Errorf("%w: encrypted key of wrong size", ErrMalformed)
	}
	if !kw && p[1] != "" {
		return nil, fmt.Errorf("%w: dir tokens carry no encrypted key", ErrMalformed)
	}
	ctLen, ok := decodedLen(len(p[3]))
	if !ok {
		return nil, fmt.Errorf("%w: ciphertext is not base64url", ErrMalformed)
	}
	buf := make([]byte, ivSize+ctLen+tagSize+blockSize)
	iv := buf[:ivSize]
	sealed := buf[ivSize : ivSize+ctLen+tagSize]
	blk := (*[blockSize]byte)(buf[ivSize+ctLen+tagSize:])
	if !decodeSegment(iv, p[2]) || !decodeSegment(sealed[:ctLen], p[3]) || !decodeSegment(sealed[ctLen:], p[4]) {
		return nil, fmt.Errorf("%w: part is not base64url", ErrMalformed)
	}
	aead := key.AEAD()
	unwrapped := true
	if kw {
		var wrapped [wrappedSize]byte
		if !decodeSegment(wrapped[:], p[1]) {
			return nil, fmt.Errorf("%w: encrypted key is not base64url", ErrMalformed)
		}
		var cek [cekSize]byte
		unwrapped = keyUnwrap(key.Block(), &cek, &wrapped, blk)
		if !unwrapped {
			// RFC 7516 §11.5: after a failed unwrap, go on with a random
			// content key, so that the failure takes the same path and
			// the same error as a bad tag, and reveals which step failed
			// neither by its value nor by its timing.
			_ = randomFill(cek[:])
		}
		var err error
		aead, err = newGCM(cek[:])
		clear(cek[:])
		if err != nil {
			return nil, ErrDecrypt
		}
	}
	plain, err := aead.Open(sealed[:0], iv, sealed, b64Bytes(p[0]))
	if err != nil || !unwrapped {
		return nil, ErrDecrypt
	}

	// Only authenticated data decides anything from here on.
	if !h.typOK {
		return nil, fmt.Errorf("%w: want %s", ErrType, o.typ)
	}
	if !cached {
		o.remember(p[0], h)
	}
	c := new(Claims)
	if err := parseClaims(plain, c); err != nil {
		return nil, fmt.Errorf("%w: claims are not a valid JSON object", ErrMalformed)
	}
	if err := o.validate(c, now); err != nil {
		return nil, err
	}
	return c, nil
}

// split cuts a compact serialization into its five parts.
func split(token string, p *[5]string) bool {
	rest := token
	for i := range 4 {
		j := strings.IndexByte(rest, '.')
		if j < 0 {
			return false
		}
		p[i], rest = rest[:j], rest[j+1:]
	}
	if strings.IndexByte(rest, '.') >= 0 {
		return false
	}
	p[4] = rest
	return true
}

// checkHeader decodes and checks the protected header seg (RFC 7516 §4.1,
// §5.2 steps 2 to 5): no compression, no critical extensions, A256GCM, and
// an allowed key-management algorithm.
func (o *Opener) checkHeader(seg string) (openHeader, error) {
	n, ok := decodedLen(len(seg))
	if !ok || n > maxHeader {
		return openHeader{}, fmt.Errorf("%w: header is not base64url or too long", ErrMalformed)
	}
	// The parsed strings view this buffer, which is never written again;
	// it may live on in the header cache.
	hb := make([]byte, n)
	if !decodeSegment(hb, seg) {
		return openHeader{}, fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	h, err := parseHeader(hb)
	if err != nil {
		return openHeader{}, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	switch {
	case h.zip:
		return openHeader{}, ErrCompression
	case h.crit:
		return openHeader{}, ErrCritical
	case h.enc != encA256GCM:
		return openHeader{}, fmt.Errorf("%w: enc %q", ErrAlgorithm, safeValue(h.enc))
	}
	var alg keys.Alg
	switch {
	case h.alg == string(keys.A256KW) && o.allowKW:
		alg = keys.A256KW
	case h.alg == string(keys.Direct) && o.allowDir:
		alg = keys.Direct
	default:
		return openHeader{}, fmt.Errorf("%w: alg %q", ErrAlgorithm, safeValue(h.alg))
	}
	return openHeader{alg: alg, kid: h.kid, typOK: typeMatches(h.typ, o.typ)}, nil
}

func (o *Opener) cachedHeader(seg string) (openHeader, bool) {
	if m := o.headers.Load(); m != nil {
		h, ok := (*m)[seg]
		return h, ok
	}
	return openHeader{}, false
}

// remember caches a header that has just been authenticated by a successful
// decryption, so only headers the issuer wrote are ever cached, and decoding
// and parsing are skipped for every later token of the same key and type.
// The cache is a copy-on-write map: reads take no lock. When it is full it
// starts over, which bounds it even as keys rotate for years.
func (o *Opener) remember(seg string, h openHeader) {
	old := o.headers.Load()
	var m map[string]openHeader
	if old == nil || len(*old) >= maxCachedHeaders {
		m = make(map[string]openHeader, 4)
	} else {
		m = maps.Clone(*old)
	}
	// Clone the key: a substring would pin the whole token, a credential,
	// in memory.
	m[strings.Clone(seg)] = h
	o.headers.CompareAndSwap(old, &m) // a lost race only costs a later miss
}

// validate checks the time, issuer and audience claims (RFC 7519 §4.1,
// RFC 9068 §4). exp must be after now, nbf and iat at or before it, each
// with the leeway.
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
	const prefix = "application/"
	if len(got) > len(prefix) && strings.EqualFold(got[:len(prefix)], prefix) {
		got = got[len(prefix):]
	}
	return strings.EqualFold(got, string(want))
}

// safeValue copies an attacker-chosen header value for an error message,
// cut short so that errors stay small.
// unknownKey is the ErrUnknownKey of a kid that set cannot open with at
// now, saying what can honestly be told: a key of this ring that expired,
// or a kid this ring does not hold. The header of a token names no
// audience, and each audience's keys are random, so a token sealed for
// another audience looks exactly like one sealed with a key of this
// audience that the ring has not loaded yet (or like a forgery); the
// message names both.
func unknownKey(set *keys.Set, kid string, now time.Time) error {
	if k, ok := set.Lookup(kid); ok {
		return fmt.Errorf("%w: kid %q of ring %q expired at %s", ErrUnknownKey, safeValue(kid), safeValue(set.Name()),
			k.Expires.UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("%w: kid %q is not in ring %q: the token was sealed for another audience, or with a key this ring has not loaded yet",
		ErrUnknownKey, safeValue(kid), safeValue(set.Name()))
}

func safeValue(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.Clone(s)
}
