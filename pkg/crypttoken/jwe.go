package crypttoken

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"sync"
	"unsafe"
)

// Compact JWE (RFC 7516 §7.1):
//
//	BASE64URL(header) "." BASE64URL(encrypted key) "." BASE64URL(IV) "."
//	BASE64URL(ciphertext) "." BASE64URL(tag)
//
// with the ASCII of the first part as the additional authenticated data
// (RFC 7516 §5.1 step 14).

const (
	cekSize     = 32 // A256GCM content key (RFC 7518 §5.3)
	wrappedSize = cekSize + 8
	ivSize      = 12 // RFC 7518 §5.3: 96-bit IV
	tagSize     = 16 // RFC 7518 §5.3: 128-bit tag
	blockSize   = 16 // AES block: the key-wrap scratch
	encA256GCM  = "A256GCM"

	// Lengths of the fixed-size parts in base64url without padding.
	wrappedB64 = (wrappedSize*8 + 5) / 6 // 54
	ivB64      = (ivSize*8 + 5) / 6      // 16
	tagB64     = (tagSize*8 + 5) / 6     // 22

	// maxHeader bounds the decoded protected header Open considers. Ours
	// are under 200 bytes (key ids are at most 128 characters).
	maxHeader = 512
)

// b64 is base64url without padding (RFC 7515 §2), rejecting non-zero
// trailing bits so that every token has exactly one spelling.
var b64 = base64.RawURLEncoding.Strict()

// b64Bytes returns s as a byte slice without copying; the slice must only be
// read.
func b64Bytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// decodedLen returns the length of the decoding of an n-byte base64url
// segment, and whether n is a possible length at all.
func decodedLen(n int) (int, bool) { return n * 6 / 8, n%4 != 1 }

// decodeSegment decodes the base64url segment s into dst, which has room for
// exactly decodedLen(len(s)) bytes, and reports whether s was canonical
// base64url: no padding, no trailing bits, and no line breaks.
//
// encoding/base64 skips '\r' and '\n' anywhere in its input, which a
// compact serialization never holds (RFC 7515 §7.1); accepting them would
// give one token many spellings. Every skipped byte shortens the output and
// the decoded length grows strictly with the input length over the lengths
// that are valid (n%4 != 1), so checking that the output fills dst exactly
// rejects them at no cost.
func decodeSegment(dst []byte, s string) bool {
	want, ok := decodedLen(len(s))
	if !ok || len(dst) != want {
		return false
	}
	n, err := b64.Decode(dst, b64Bytes(s))
	return err == nil && n == want
}

// wrapIV is the default initial value of AES key wrap (RFC 3394 §2.2.3.1).
const wrapIV = 0xA6A6A6A6A6A6A6A6

// keyWrap wraps the 32-byte content key cek with kek (RFC 3394 §2.2.1, the
// A256KW algorithm of RFC 7518 §4.4) into dst. blk is a 16-byte scratch
// block owned by the caller: the cipher is an interface, so a local array
// handed to it would move to the heap on every call.
func keyWrap(kek cipher.Block, dst *[wrappedSize]byte, cek *[cekSize]byte, blk *[blockSize]byte) {
	const n = cekSize / 8
	var r [n]uint64
	for i := range r {
		r[i] = binary.BigEndian.Uint64(cek[8*i:])
	}
	a := uint64(wrapIV)
	for j := 0; j < 6; j++ {
		for i := 0; i < n; i++ {
			binary.BigEndian.PutUint64(blk[:8], a)
			binary.BigEndian.PutUint64(blk[8:], r[i])
			kek.Encrypt(blk[:], blk[:])
			a = binary.BigEndian.Uint64(blk[:8]) ^ uint64(n*j+i+1)
			r[i] = binary.BigEndian.Uint64(blk[8:])
		}
	}
	binary.BigEndian.PutUint64(dst[:8], a)
	for i := range r {
		binary.BigEndian.PutUint64(dst[8+8*i:], r[i])
	}
	clear(blk[:])
	clear(r[:])
}

// keyUnwrap unwraps a wrapped key (RFC 3394 §2.2.2) into cek and reports,
// in constant time, whether its integrity check held. blk is a scratch block
// as for keyWrap; it is cleared before returning.
func keyUnwrap(kek cipher.Block, cek *[cekSize]byte, wrapped *[wrappedSize]byte, blk *[blockSize]byte) bool {
	const n = cekSize / 8
	a := binary.BigEndian.Uint64(wrapped[:8])
	var r [n]uint64
	for i := range r {
		r[i] = binary.BigEndian.Uint64(wrapped[8+8*i:])
	}
	for j := 5; j >= 0; j-- {
		for i := n - 1; i >= 0; i-- {
			binary.BigEndian.PutUint64(blk[:8], a^uint64(n*j+i+1))
			binary.BigEndian.PutUint64(blk[8:], r[i])
			kek.Decrypt(blk[:], blk[:])
			a = binary.BigEndian.Uint64(blk[:8])
			r[i] = binary.BigEndian.Uint64(blk[8:])
		}
	}
	for i := range r {
		binary.BigEndian.PutUint64(cek[8*i:], r[i])
	}
	clear(blk[:])
	clear(r[:])
	var got, want [8]byte
	binary.BigEndian.PutUint64(got[:], a)
	binary.BigEndian.PutUint64(want[:], wrapIV)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// newGCM returns AES-256-GCM keyed with key (a content key, RFC 7518 §5.3).
// The key is copied into the cipher's schedule; the caller wipes its copy.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// entropy hands out bytes from crypto/rand in blocks, so that a seal costs a
// memory copy rather than a system call. An entropy is owned by one caller
// at a time; every byte is handed out once and wiped as it is.
type entropy struct {
	buf [4096]byte
	off int
}

func newEntropy() *entropy { return &entropy{off: len(entropy{}.buf)} }

// fill fills p with fresh bytes from crypto/rand.
func (e *entropy) fill(p []byte) error {
	if len(p) > len(e.buf) {
		_, err := rand.Read(p)
		return err
	}
	if len(e.buf)-e.off < len(p) {
		if _, err := rand.Read(e.buf[:]); err != nil {
			e.off = len(e.buf)
			return err
		}
		e.off = 0
	}
	n := copy(p, e.buf[e.off:])
	clear(e.buf[e.off : e.off+n])
	e.off += n
	return nil
}

var entropyPool = sync.Pool{New: func() any { return newEntropy() }}

// randomFill fills p with bytes from crypto/rand, through the pool.
func randomFill(p []byte) error {
	e := entropyPool.Get().(*entropy)
	defer entropyPool.Put(e)
	return e.fill(p)
}
