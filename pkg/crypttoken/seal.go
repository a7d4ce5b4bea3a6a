package crypttoken

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// Option configures a Sealer or an Opener.
type Option interface{ apply(*options) error }

type options struct {
	now     func() time.Time
	algs    []keys.Alg
	maxSize int
}

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

// WithClock sets the clock, which defaults to time.Now. Sealing uses it to
// pick the active key and fill "iat"; opening, to decide key expiry.
// Expected.Time, when set, takes precedence for claim validation.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(o *options) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrConfig)
		}
		o.now = now
		return nil
	})
}

// WithAlgorithms narrows the key-management algorithms an Opener accepts;
// by default it accepts A256KW and dir, and always only with the algorithm
// recorded for the key named by "kid".
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
		o.algs = append([]keys.Alg(nil), algs...)
		return nil
	})
}

// WithMaxSize sets the largest token, in bytes, an Opener considers
// (default 8 KiB); longer input is ErrMalformed before any decoding.
func WithMaxSize(n int) Option {
	return optionFunc(func(o *options) error {
		if n < 64 || n > 1<<20 {
			return fmt.Errorf("%w: max size %d out of range [64, 1MiB]", ErrConfig, n)
		}
		o.maxSize = n
		return nil
	})
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

// Sealer seals claims into compact JWE tokens with the active key of a ring.
// It is safe for concurrent use; the ring may be swapped while it seals.
type Sealer struct {
	ring *keys.Ring
	now  func() time.Time
}

// NewSealer returns a Sealer for ring.
func NewSealer(ring *keys.Ring, opts ...Option) (*Sealer, error) {
	if ring == nil || ring.Load() == nil {
		return nil, fmt.Errorf("%w: nil ring", ErrConfig)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Sealer{ring: ring, now: o.now}, nil
}

// scratch is a reusable plaintext buffer for sealing.
type scratch struct{ b []byte }

var scratchPool = sync.Pool{New: func() any { return &scratch{b: make([]byte, 0, 1024)} }}

// Seal encrypts c as a token of type typ and returns it in compact form.
//
// Seal sets c.ID to a fresh random "jti" when it is empty and c.IssuedAt to
// the current time when it is zero; c.Expiry is required. The key is the
// ring's active key, and the algorithm is that key's (A256KW or dir), with
// content encryption A256GCM.
func (s *Sealer) Seal(typ Type, c *Claims) (string, error) {
	b, err := s.AppendSeal(make([]byte, 0, 512), typ, c)
	if err != nil {
		return "", err
	}
	return view(b), nil
}

// AppendSeal is Seal appending the token to dst.
func (s *Sealer) AppendSeal(dst []byte, typ Type, c *Claims) ([]byte, error) {
	if !typ.Valid() {
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
	if c.ID == "" {
		c.ID, err = NewID()
		if err != nil {
			return dst, err
		}
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}

	sc := scratchPool.Get().(*scratch)
	defer func() {
		clear(sc.b[:cap(sc.b)]) // plaintext claims must not linger
		sc.b = sc.b[:0]
		scratchPool.Put(sc)
	}()
	plain, err := appendClaims(sc.b[:0], c)
	if err != nil {
		return dst, err
	}
	plain = slices.Grow(plain, tagSize) // room for the ciphertext's tag
	sc.b = plain[:0]                    // keep any growth for the next caller

	// Part 1: protected header, also the AAD.
	headerStart := len(dst)
	dst = appendHeader(dst, key, typ)
	aadEnd := len(dst)

	// Random material: the IV, and for A256KW the content key.
	var rnd [ivSize + cekSize]byte
	need := ivSize
	if key.Alg == keys.A256KW {
		need += cekSize
	}
	if err := randomFill(rnd[:need]); err != nil {
		return dst[:headerStart], fmt.Errorf("crypttoken: reading randomness: %w", err)
	}
	iv := rnd[:ivSize]

	// Part 2: the encrypted key.
	dst = append(dst, '.')
	aead := key.AEAD()
	if key.Alg == keys.A256KW {
		cek := (*[cekSize]byte)(rnd[ivSize:])
		var wrapped [wrappedSize]byte
		keyWrap(key.Block(), &wrapped, cek)
		dst = b64.AppendEncode(dst, wrapped[:])
		aead, err = newGCM(cek[:])
		clear(cek[:])
		if err != nil {
			return dst[:headerStart], err
		}
	}
	// Parts 3 to 5: IV, ciphertext, tag. The plaintext is encrypted in
	// place in the scratch buffer, then encoded into dst.
	dst = append(dst, '.')
	dst = b64.AppendEncode(dst, iv)
	dst = append(dst, '.')
	sealed := aead.Seal(plain[:0], iv, plain, dst[headerStart:aadEnd])
	ct, tag := sealed[:len(sealed)-tagSize], sealed[len(sealed)-tagSize:]
	dst = b64.AppendEncode(dst, ct)
	dst = append(dst, '.')
	dst = b64.AppendEncode(dst, tag)
	return dst, nil
}

// appendHeader appends the base64url protected header for key and typ.
func appendHeader(dst []byte, key *keys.Key, typ Type) []byte {
	var buf [256]byte
	h := append(buf[:0], `{"alg":"`...)
	h = append(h, key.Alg...)
	h = append(h, `","enc":"A256GCM","kid":"`...)
	h = append(h, key.ID...) // key ids never need JSON escaping (keys.NewKey checks)
	h = append(h, `","typ":"`...)
	h = append(h, typ...)
	h = append(h, `"}`...)
	return b64.AppendEncode(dst, h)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// NewID returns a fresh random token identifier ("jti"): 128 bits from
// crypto/rand, base64url-encoded.
func NewID() (string, error) {
	var b [16]byte
	if err := randomFill(b[:]); err != nil {
		return "", fmt.Errorf("crypttoken: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
