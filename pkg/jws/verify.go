package jws

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sealedtoken/issuer/internal/jsonscan"
)

// DefaultMaxSize is the longest token a Verifier reads unless WithMaxSize
// says otherwise: room for a DPoP proof carrying an 8192-bit RSA key.
const DefaultMaxSize = 16 << 10

// maxMaxSize bounds WithMaxSize.
const maxMaxSize = 64 << 20

// maxHeader bounds the decoded protected header.
const maxHeader = 8 << 10

// Header is a JWS protected header as read from a token. Its strings are
// views of the token's decoded header, which nothing writes again.
type Header struct {
	Algorithm   string   // "alg"
	KeyID       string   // "kid"; may be empty
	Type        string   // "typ"; may be empty
	ContentType string   // "cty"; may be empty
	Critical    []string // "crit"; nil when absent

	raw []byte // the decoded header JSON
	jwk []byte // the raw "jwk" member, if any
}

// Raw returns the header's JSON. The slice must not be modified.
func (h *Header) Raw() []byte { return h.raw }

// Member returns the raw JSON value of the header member name, and whether
// the header has it. The slice must not be modified.
func (h *Header) Member(name string) (json.RawMessage, bool) {
	d := jsonscan.New(h.raw)
	if d.Expect('{') != nil {
		return nil, false
	}
	for first := true; ; first = false {
		n, ok, err := d.Member(first)
		if err != nil || !ok {
			return nil, false
		}
		v, err := d.Skip()
		if err != nil {
			return nil, false
		}
		if n == name {
			return v, true
		}
	}
}

// EmbeddedKey parses the header's "jwk" member (RFC 7515 §4.1.3) as a
// public key, as ParseJWK does: a private member is ErrPrivateKey, no
// "jwk" member ErrUnknownKey.
func (h *Header) EmbeddedKey() (*Key, error) {
	if h.jwk == nil {
		return nil, fmt.Errorf("%w: no \"jwk\" header", ErrUnknownKey)
	}
	return ParseJWK(h.jwk)
}

// Token is a verified JWS: its protected header, its payload, and the key
// that verified it. The payload belongs to the caller.
type Token struct {
	Header  Header
	Payload []byte
	Key     *Key
}

// KeySource finds the key that verifies a token, given its protected header
// (which has not been verified yet: only its alg, kid and, for an embedded
// key, jwk may select a key). KeySet, Key, KeyFunc and EmbeddedJWK are
// KeySources. Errors should wrap ErrUnknownKey.
type KeySource interface {
	VerificationKey(h *Header) (*Key, error)
}

// KeyFunc adapts a function to KeySource.
type KeyFunc func(h *Header) (*Key, error)

// VerificationKey calls f.
func (f KeyFunc) VerificationKey(h *Header) (*Key, error) { return f(h) }

// VerificationKey makes a single Key a KeySource: it is the key for every
// token whose kid is empty or equal to its own (or for every token, when
// the Key has no kid).
func (k *Key) VerificationKey(h *Header) (*Key, error) {
	if h.KeyID != "" && k.kid != "" && h.KeyID != k.kid {
		return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, safeValue(h.KeyID))
	}
	return k, nil
}

// EmbeddedJWK is the KeySource of self-signed tokens such as DPoP proofs
// (RFC 9449 §4.2): the key is the public JWK in the token's own "jwk"
// header. Such a signature proves possession of that key and nothing more;
// the caller decides whether the key is the one it expects.
var EmbeddedJWK KeySource = KeyFunc(func(h *Header) (*Key, error) { return h.EmbeddedKey() })

// Option configures a Verifier.
type Option interface{ apply(*Verifier) error }

type optionFunc func(*Verifier) error

func (f optionFunc) apply(v *Verifier) error { return f(v) }

// WithType requires the "typ" header to name the media type typ, compared
// as RFC 7515 §4.1.9 says (see TypeMatches). Without it, typ is not
// checked.
func WithType(typ string) Option {
	return optionFunc(func(v *Verifier) error {
		if typ == "" {
			return fmt.Errorf("%w: empty type", ErrConfig)
		}
		v.typ = typ
		return nil
	})
}

// WithCritical declares header extensions the caller understands and will
// process itself, so that a token listing them in "crit" is accepted
// (RFC 7515 §4.1.11). Without it every "crit" is refused with ErrCritical.
func WithCritical(names ...string) Option {
	return optionFunc(func(v *Verifier) error {
		for _, n := range names {
			if n == "" || registeredHeader(n) {
				return fmt.Errorf("%w: %q cannot be a critical extension", ErrConfig, n)
			}
		}
		v.crit = append(v.crit, names...)
		return nil
	})
}

// WithMaxSize sets the longest token Verify reads, in bytes (default
// DefaultMaxSize, at most 64 MiB). Longer tokens are ErrMalformed before any
// decoding.
func WithMaxSize(n int) Option {
	return optionFunc(func(v *Verifier) error {
		if n < 16 || n > maxMaxSize {
			return fmt.Errorf("%w: max size %d out of range [16, %d]", ErrConfig, n, maxMaxSize)
		}
		v.maxSize = n
		return nil
	})
}

// Verifier verifies compact JWS tokens against an algorithm allow-list and a
// KeySource. It is immutable after construction and safe for concurrent
// use; the KeySource is asked once per token.
type Verifier struct {
	algs    algSet
	keys    KeySource
	typ     string
	crit    []string
	maxSize int
}

// NewVerifier returns a Verifier accepting tokens signed with one of algs
// by a key that keys finds. algs is required: an algorithm this package
// does not implement, and "none", are ErrConfig.
func NewVerifier(algs []string, keys KeySource, opts ...Option) (*Verifier, error) {
	if len(algs) == 0 {
		return nil, fmt.Errorf("%w: empty algorithm allow-list", ErrConfig)
	}
	if keys == nil {
		return nil, fmt.Errorf("%w: nil key source", ErrConfig)
	}
	v := &Verifier{keys: keys, maxSize: DefaultMaxSize}
	for _, a := range algs {
		b := algBit(a)
		if b == 0 {
			return nil, fmt.Errorf("%w: algorithm %q is not supported", ErrConfig, safeValue(a))
		}
		v.algs |= b
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Verify is NewVerifier(algs, keys, opts...) followed by Verify(token).
func Verify(token string, algs []string, keys KeySource, opts ...Option) (*Token, error) {
	v, err := NewVerifier(algs, keys, opts...)
	if err != nil {
		return nil, err
	}
	return v.Verify(token)
}

// Verify checks token and returns its header and payload. In order, the
// first failure returned:
//
//  1. size and shape: at most the maximum size, three parts, canonical
//     base64url without padding, a non-empty payload (ErrMalformed);
//  2. the header: a JSON object without repeated members (RFC 7515 §5.2
//     step 4), "alg" in the allow-list (ErrAlgorithm), "crit" well formed
//     and only listing understood extensions (ErrCritical), "b64" absent
//     or true (RFC 7797 is not supported), "typ" as required (ErrType);
//  3. the key: from the KeySource (ErrUnknownKey), of the algorithm's type
//     and allowed to verify it (ErrKeyType);
//  4. the signature (ErrSignature).
//
// Header members other than alg, kid, typ, cty, crit and jwk are ignored;
// "jku", "x5u" and "x5c" never select a key. Verify keeps no reference to
// token.
func (v *Verifier) Verify(token string) (*Token, error) {
	if len(token) > v.maxSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, v.maxSize)
	}
	hseg, pseg, sseg, ok := split3(token)
	if !ok {
		return nil, fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	hn, ok1 := decodedLen(len(hseg))
	pn, ok2 := decodedLen(len(pseg))
	sn, ok3 := decodedLen(len(sseg))
	switch {
	case !ok1 || !ok2 || !ok3:
		return nil, fmt.Errorf("%w: part is not base64url", ErrMalformed)
	case hn > maxHeader:
		return nil, fmt.Errorf("%w: header longer than %d bytes", ErrMalformed, maxHeader)
	case pn == 0:
		return nil, fmt.Errorf("%w: empty payload (detached content is not supported)", ErrMalformed)
	}
	// One buffer: header, payload, signature and the verification's
	// scratch space. The header's strings view it, and the payload is
	// handed to the caller.
	buf := make([]byte, hn+pn+sn+verifyScratch)
	hb, pb, sb, scratch := buf[:hn:hn], buf[hn:hn+pn:hn+pn], buf[hn+pn:hn+pn+sn:hn+pn+sn], buf[hn+pn+sn:]
	if !decodeInto(hb, hseg) || !decodeInto(pb, pseg) || !decodeInto(sb, sseg) {
		return nil, fmt.Errorf("%w: part is not canonical base64url", ErrMalformed)
	}
	t := &Token{Payload: pb}
	if err := parseHeader(hb, &t.Header); err != nil {
		return nil, err
	}
	h := &t.Header
	info, err := v.checkHeader(h)
	if err != nil {
		return nil, err
	}
	key, err := v.keys.VerificationKey(h)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, safeValue(h.KeyID))
	}
	if err := key.fits(h.Algorithm, info); err != nil {
		return nil, err
	}
	if !key.verify(h.Algorithm, info, stringBytes(token[:len(hseg)+1+len(pseg)]), sb, scratch) {
		return nil, ErrSignature
	}
	t.Key = key
	return t, nil
}

// checkHeader applies the allow-list, crit and typ rules.
func (v *Verifier) checkHeader(h *Header) (algInfo, error) {
	if !v.algs.has(h.Algorithm) {
		return algInfo{}, fmt.Errorf("%w: alg %q", ErrAlgorithm, safeValue(h.Algorithm))
	}
	info, _ := lookupAlg(h.Algorithm)
	for _, c := range h.Critical {
		if !slices.Contains(v.crit, c) {
			return algInfo{}, fmt.Errorf("%w: %q", ErrCritical, safeValue(c))
		}
	}
	if v.typ != "" && !TypeMatches(h.Type, v.typ) {
		return algInfo{}, fmt.Errorf("%w: %q, want %q", ErrType, safeValue(h.Type), v.typ)
	}
	return info, nil
}

// ParseUnverified returns the header and payload of a compact JWS without
// verifying anything but its shape (step 1 and the JSON of step 2 of
// Verifier.Verify, with the default size bound). Nothing it returns may be
// trusted: it is for choosing how to verify, e.g. finding the client whose
// keys verify an RFC 7523 assertion from its unverified "iss".
func ParseUnverified(token string) (*Header, []byte, error) {
	if len(token) > DefaultMaxSize {
		return nil, nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, DefaultMaxSize)
	}
	hseg, pseg, _, ok := split3(token)
	if !ok {
		return nil, nil, fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	hb, ok1 := decodeString(hseg)
	pb, ok2 := decodeString(pseg)
	if !ok1 || !ok2 || len(hb) > maxHeader {
		return nil, nil, fmt.Errorf("%w: part is not canonical base64url", ErrMalformed)
	}
	h := new(Header)
	if err := parseHeader(hb, h); err != nil {
		return nil, nil, err
	}
	return h, pb, nil
}

// split3 cuts a compact JWS into its three parts.
func split3(token string) (h, p, s string, ok bool) {
	i := strings.IndexByte(token, '.')
	if i < 0 {
		return "", "", "", false
	}
	j := strings.IndexByte(token[i+1:], '.')
	if j < 0 {
		return "", "", "", false
	}
	j += i + 1
	if strings.IndexByte(token[j+1:], '.') >= 0 {
		return "", "", "", false
	}
	return token[:i], token[i+1 : j], token[j+1:], true
}

// registeredHeader reports whether name is a header parameter of RFC 7515
// §4.1 or RFC 7518 §4, which "crit" must not list (RFC 7515 §4.1.11).
func registeredHeader(name string) bool {
	switch name {
	case "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
		"enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c":
		return true
	}
	return false
}

// Header member bits, for the duplicate check.
const (
	hdrAlg = 1 << iota
	hdrKid
	hdrTyp
	hdrCty
	hdrCrit
	hdrJWK
	hdrB64
)

// maxHeaderMembers bounds the members of a protected header.
const maxHeaderMembers = 32

// parseHeader decodes a protected header (RFC 7515 §4) into h. Members are
// read strictly: a repeated member is ErrMalformed (RFC 7515 §5.2 step 4
// allows refusing them), alg, kid, typ and cty must be strings.
func parseHeader(b []byte, h *Header) error {
	h.raw = b
	d := jsonscan.New(b)
	if d.Expect('{') != nil {
		return fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	var (
		b64False bool
		names    [maxHeaderMembers]string
		count    int
	)
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
		}
		if !ok {
			break
		}
		if count == len(names) {
			return fmt.Errorf("%w: header has more than %d members", ErrMalformed, maxHeaderMembers)
		}
		for _, n := range names[:count] {
			if n == name {
				return fmt.Errorf("%w: header member %q appears twice", ErrMalformed, safeValue(name))
			}
		}
		names[count] = name
		count++
		var dst *string
		var bit uint32
		switch name {
		case "alg":
			dst, bit = &h.Algorithm, hdrAlg
		case "kid":
			dst, bit = &h.KeyID, hdrKid
		case "typ":
			dst, bit = &h.Type, hdrTyp
		case "cty":
			dst, bit = &h.ContentType, hdrCty
		case "crit":
			bit = hdrCrit
		case "jwk":
			bit = hdrJWK
		case "b64":
			bit = hdrB64
		}
		switch {
		case dst != nil:
			if *dst, err = d.String(); err != nil {
				return fmt.Errorf("%w: header member %q is not a string", ErrMalformed, name)
			}
		case bit == hdrCrit:
			if err := readCrit(&d, h); err != nil {
				return err
			}
		case bit == hdrB64:
			v, err := d.Bool()
			if err != nil {
				return fmt.Errorf("%w: header member \"b64\" is not a boolean", ErrMalformed)
			}
			b64False = !v
		default:
			v, err := d.Skip()
			if err != nil {
				return fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
			}
			if bit == hdrJWK {
				h.jwk = v
			}
		}
	}
	if d.End() != nil {
		return fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	if h.Algorithm == "" {
		return fmt.Errorf("%w: no \"alg\" header", ErrAlgorithm)
	}
	for _, c := range h.Critical {
		// RFC 7515 §4.1.11: every listed extension must be present.
		if _, ok := h.Member(c); !ok {
			return fmt.Errorf("%w: %q is listed in crit but absent", ErrCritical, safeValue(c))
		}
	}
	if b64False {
		// RFC 7797 unencoded payloads change what is signed; they are not
		// supported, whether "b64" is listed in crit or not.
		return fmt.Errorf("%w: unencoded payloads (b64 false) are not supported", ErrCritical)
	}
	return nil
}

// readCrit reads "crit": a non-empty array of distinct names, none of them
// a registered header parameter (RFC 7515 §4.1.11).
func readCrit(d *jsonscan.Decoder, h *Header) error {
	if d.Expect('[') != nil {
		return fmt.Errorf("%w: \"crit\" is not an array", ErrCritical)
	}
	for first := true; ; first = false {
		more, err := d.Element(first)
		if err != nil {
			return fmt.Errorf("%w: \"crit\" is not an array of strings", ErrCritical)
		}
		if !more {
			break
		}
		s, err := d.String()
		if err != nil {
			return fmt.Errorf("%w: \"crit\" is not an array of strings", ErrCritical)
		}
		if s == "" || registeredHeader(s) || slices.Contains(h.Critical, s) {
			return fmt.Errorf("%w: %q may not be listed in crit", ErrCritical, safeValue(s))
		}
		if len(h.Critical) >= 16 {
			return fmt.Errorf("%w: too many critical extensions", ErrCritical)
		}
		h.Critical = append(h.Critical, s)
	}
	if len(h.Critical) == 0 {
		return fmt.Errorf("%w: empty \"crit\"", ErrCritical)
	}
	return nil
}
