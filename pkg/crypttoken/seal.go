package crypttoken

import (
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonscan"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// Option configures a Sealer or an Opener. Options are built only by this
// package's With functions.
type Option interface{ apply(*options) error }

type options struct {
	now     func() time.Time
	algs    []keys.Alg
	maxSize int
	// Opener: WithStatus and WithSignedTokens.
	status       StatusSource
	statusPolicy StatusPolicy
	signatures   jws.KeySource
	sigRequired  func() bool
	// Sealer: WithSigningRing.
	signing *keys.Ring
	// openerOnly and sealerOnly name the first option given that only an
	// Opener (a Sealer) uses, so that the other constructor can refuse it
	// instead of ignoring it.
	openerOnly, sealerOnly string
}

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

// WithClock sets the clock, which defaults to time.Now. A Sealer uses it to
// pick the active key and to fill "iat". An Opener uses it to decide key
// expiry and to check "exp", "nbf" and "iat"; Expected.Time, when set, takes
// precedence over it.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(o *options) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrConfig)
		}
		o.now = now
		return nil
	})
}

// WithAlgorithms narrows the key-management algorithms an Opener accepts.
// By default it accepts A256KW and dir, and always only with the algorithm
// recorded for the key named by "kid" (RFC 8725 §3.1). Opener only.
func WithAlgorithms(algs ...keys.Alg) Option {
	return optionFunc(func(o *options) error {
		if len(algs) == 0 {
			return fmt.Errorf("%w: empty algorithm list", ErrConfig)
		}
		for _, a := range algs {
			if !a.Valid() {
				return fmt.Errorf("%w: algorithm %q", ErrConfig, a)
			}
		}
		o.algs = slices.Clone(algs)
		o.markOpenerOnly("WithAlgorithms")
		return nil
	})
}

// WithMaxSize sets the longest token, in bytes, an Opener considers (default
// 8 KiB); longer input is ErrMalformed before any decoding. Opener only.
func WithMaxSize(n int) Option {
	return optionFunc(func(o *options) error {
		if n < 64 || n > 1<<20 {
			return fmt.Errorf("%w: max size %d out of range [64, 1MiB]", ErrConfig, n)
		}
		o.maxSize = n
		o.markOpenerOnly("WithMaxSize")
		return nil
	})
}

func (o *options) markOpenerOnly(name string) {
	if o.openerOnly == "" {
		o.openerOnly = name
	}
}

func (o *options) markSealerOnly(name string) {
	if o.sealerOnly == "" {
		o.sealerOnly = name
	}
}

func buildOptions(opts []Option) (options, error) {
	o := options{now: time.Now, algs: []keys.Alg{keys.A256KW, keys.Direct}, maxSize: 8 << 10}
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("%w: nil option", ErrConfig)
		}
		if err := opt.apply(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// Sealer seals claims into compact JWE tokens (RFC 7516 §7.1) with the
// active key of a ring. It is safe for concurrent use, and the ring may be
// swapped while it seals: each seal uses the key that is active in the set
// loaded at its start.
type Sealer struct {
	ring *keys.Ring
	now  func() time.Time
	// signing, when set (WithSigningRing), signs the claims before they
	// are encrypted.
	signing *keys.Ring
	// hdr caches the encoded protected headers of the last sealing key;
	// it changes only when the ring's active key does.
	hdr atomic.Pointer[sealHeaders]
}

// sealHeaders are the base64url protected headers of one key, by Type.
type sealHeaders struct {
	key *keys.Key
	enc [numTypes]string
}

// NewSealer returns a Sealer for ring. Its options are WithClock and
// WithSigningRing; Opener-only options, and a ring of signing keys
// (keys.SigningRing) to encrypt with, are refused with ErrConfig.
func NewSealer(ring *keys.Ring, opts ...Option) (*Sealer, error) {
	if ring == nil || ring.Load() == nil {
		return nil, fmt.Errorf("%w: nil ring", ErrConfig)
	}
	if ring.Load().Signing() {
		return nil, fmt.Errorf("%w: ring %q holds signing keys, which seal nothing", ErrConfig, ring.Name())
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	if o.openerOnly != "" {
		return nil, fmt.Errorf("%w: %s applies to an Opener, not a Sealer", ErrConfig, o.openerOnly)
	}
	return &Sealer{ring: ring, now: o.now, signing: o.signing}, nil
}

// sealScratch is the per-seal working memory, pooled. Everything a seal
// passes to the cipher interfaces lives here rather than on the stack,
// where it would escape to the heap on every call.
type sealScratch struct {
	ent     entropy
	plain   []byte // the claims, encrypted in place
	used    int    // how much of plain to wipe
	signed  []byte // a signed token's JWS of the claims, encrypted in place
	sused   int    // how much of signed to wipe
	rnd     [ivSize + cekSize]byte
	wrapped [wrappedSize]byte
	blk     [blockSize]byte
}

// maxPooledPlain bounds the plaintext buffer kept in the pool, so that one
// huge token does not pin memory for good.
const maxPooledPlain = 64 << 10

var sealPool = sync.Pool{New: func() any {
	return &sealScratch{ent: entropy{off: len(entropy{}.buf)}, plain: make([]byte, 0, 1024)}
}}

func (sc *sealScratch) release() {
	clear(sc.plain[:sc.used])   // plaintext claims must not linger
	clear(sc.signed[:sc.sused]) // nor their signed form
	clear(sc.rnd[:])            // nor the content key
	sc.used, sc.sused = 0, 0
	if cap(sc.plain) > maxPooledPlain {
		sc.plain = make([]byte, 0, 1024)
	}
	if cap(sc.signed) > maxPooledPlain {
		sc.signed = nil
	}
	sealPool.Put(sc)
}

// Seal encrypts c as a token of type typ and returns it in compact form.
//
// c.Expiry is required. Seal sets c.ID to a fresh random "jti" when it is
// empty and c.IssuedAt to the current time when it is zero (even if it then
// fails), so that the caller learns both. The key is the ring's active key
// and the algorithm that key's (A256KW or dir), with content encryption
// A256GCM (RFC 7518 §4.4, §4.5, §5.3). Each A256KW token has a fresh random
// content key, and every token a fresh random 96-bit IV.
//
// Errors: ErrClaims (bad type or claims), ErrNoKey, ErrKeyExhausted, or a
// failure to read randomness.
func (s *Sealer) Seal(typ Type, c *Claims) (string, error) {
	b, err := s.AppendSeal(nil, typ, c)
	if err != nil {
		return "", err
	}
	return jsonscan.View(b), nil // b is ours alone and never written again
}

// AppendSeal is Seal appending the token to dst, for callers that write it
// straight into a response buffer. On error dst is returned unchanged.
func (s *Sealer) AppendSeal(dst []byte, typ Type, c *Claims) ([]byte, error) {
	ti := typ.index()
	if ti < 0 {
		return dst, fmt.Errorf("%w: token type %q", ErrClaims, typ)
	}
	if c == nil || c.Expiry.IsZero() {
		return dst, fmt.Errorf("%w: exp is required", ErrClaims)
	}
	now := s.now()
	key, err := s.ring.Load().Sealing(now)
	if err != nil {
		return dst, fmt.Errorf("%w: %w", ErrNoKey, err)
	}
	if key.Alg == keys.Direct && key.CountSeal() > keys.SealLimit {
		return dst, fmt.Errorf("%w: key %s", ErrKeyExhausted, key.ID)
	}

	sc := sealPool.Get().(*sealScratch)
	defer sc.release()
	if c.ID == "" {
		if c.ID, err = newID(&sc.ent); err != nil {
			return dst, err
		}
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	plain, err := appendClaims(sc.plain[:0], c)
	sc.used = len(plain)
	if err != nil {
		clear(plain)
		sc.used = 0
		return dst, err
	}
	sc.plain = plain[:0] // keep any growth for the next seal
	if s.signing != nil {
		// A nested JWT (RFC 7519 §11.2): the claims signed as a JWS
		// whose typ is the token's, encrypted as the token's content.
		skey, err := s.signing.Load().Sealing(now)
		if err != nil {
			return dst, fmt.Errorf("%w: signing ring: %w", ErrNoKey, err)
		}
		signed, err := jws.AppendSign(sc.signed[:0], skey, jws.Protected{Type: string(typ)}, plain)
		if err != nil {
			clear(signed[:cap(signed)])
			return dst, fmt.Errorf("crypttoken: signing the claims: %w", err)
		}
		signed = slices.Grow(signed, tagSize) // room for the tag, in place
		sc.signed, sc.sused = signed[:0], len(signed)
		plain = signed
	} else {
		plain = slices.Grow(plain, tagSize)
		sc.plain = plain[:0]
	}

	// Random material: the IV, and for A256KW the content key.
	kw := key.Alg == keys.A256KW
	need := ivSize
	if kw {
		need += cekSize
	}
	if err := sc.ent.fill(sc.rnd[:need]); err != nil {
		return dst, fmt.Errorf("crypttoken: reading randomness: %w", err)
	}
	iv := sc.rnd[:ivSize]
	aead := key.AEAD()
	if kw {
		cek := (*[cekSize]byte)(sc.rnd[ivSize:])
		keyWrap(key.Block(), &sc.wrapped, cek, &sc.blk)
		aead, err = newGCM(cek[:])
		clear(cek[:])
		if err != nil {
			return dst, fmt.Errorf("crypttoken: content cipher: %w", err)
		}
	}

	hdr := s.header(key, ti)
	size := len(hdr) + 4 + ivB64 + b64.EncodedLen(len(plain)) + tagB64
	if kw {
		size += wrappedB64
	}
	dst = slices.Grow(dst, size)
	dst = append(dst, hdr...) // part 1: the protected header, also the AAD
	dst = append(dst, '.')
	if kw {
		dst = b64.AppendEncode(dst, sc.wrapped[:]) // part 2: the encrypted key
	}
	dst = append(dst, '.')
	dst = b64.AppendEncode(dst, iv) // part 3
	dst = append(dst, '.')
	sealed := aead.Seal(plain[:0], iv, plain, b64Bytes(hdr))
	ct, tag := sealed[:len(sealed)-tagSize], sealed[len(sealed)-tagSize:]
	dst = b64.AppendEncode(dst, ct) // part 4
	dst = append(dst, '.')
	return b64.AppendEncode(dst, tag), nil // part 5
}

// header returns the base64url protected header for key and the type with
// index ti, from the cache when key is the cached one.
func (s *Sealer) header(key *keys.Key, ti int) string {
	if h := s.hdr.Load(); h != nil && h.key == key {
		return h.enc[ti]
	}
	h := &sealHeaders{key: key}
	for i, t := range types {
		h.enc[i] = string(appendHeader(nil, key, t, s.signing != nil))
	}
	s.hdr.Store(h)
	return h.enc[ti]
}

// appendHeader appends the base64url protected header for key and typ
// (RFC 7516 §4.1): alg, enc, kid and typ, in that order, and "cty":"JWT"
// when the content is a nested JWT (RFC 7519 §5.2).
func appendHeader(dst []byte, key *keys.Key, typ Type, nested bool) []byte {
	var buf [256]byte
	h := append(buf[:0], `{"alg":"`...)
	h = append(h, key.Alg...)
	h = append(h, `","enc":"A256GCM","kid":"`...)
	h = append(h, key.ID...) // key ids never need JSON escaping (keys.NewKey checks)
	h = append(h, `","typ":"`...)
	h = append(h, typ...)
	if nested {
		h = append(h, `","cty":"`+ContentTypeJWT...)
	}
	h = append(h, `"}`...)
	return b64.AppendEncode(dst, h)
}

// NewID returns a fresh random token identifier ("jti", RFC 7519 §4.1.7):
// 128 bits from crypto/rand, base64url-encoded (22 characters).
func NewID() (string, error) {
	var b [16]byte
	if err := randomFill(b[:]); err != nil {
		return "", fmt.Errorf("crypttoken: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// newID is NewID drawing from e.
func newID(e *entropy) (string, error) {
	var b [16]byte
	if err := e.fill(b[:]); err != nil {
		return "", fmt.Errorf("crypttoken: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
