package crypttoken

import (
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
// with the ASCII of the first part as the additional authenticated data.

const (
	cekSize     = 32 // A256GCM content key
	wrappedSize = cekSize + 8
	ivSize      = 12
	tagSize     = 16
	encA256GCM  = "A256GCM"
)

var b64 = base64.RawURLEncoding.Strict()

// b64Bytes returns s as a byte slice without copying; the slice must only be
// read.
func b64Bytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// wrapIV is the default initial value of AES key wrap (RFC 3394 §2.2.3.1).
const wrapIV = 0xA6A6A6A6A6A6A6A6

// keyWrap wraps the 32-byte content key cek with kek (RFC 3394 §2.2.1, the
// A256KW algorithm of RFC 7518 §4.4) into dst, which has room for 40 bytes.
func keyWrap(kek cipher.Block, dst *[wrappedSize]byte, cek *[cekSize]byte) {
	const n = cekSize / 8
	var r [n]uint64
	for i := range r {
		r[i] = binary.BigEndian.Uint64(cek[8*i:])
	}
	a := uint64(wrapIV)
	var b [16]byte
	for j := 0; j < 6; j++ {
		for i := 0; i < n; i++ {
			binary.BigEndian.PutUint64(b[:8], a)
			binary.BigEndian.PutUint64(b[8:], r[i])
			kek.Encrypt(b[:], b[:])
			a = binary.BigEndian.Uint64(b[:8]) ^ uint64(n*j+i+1)
			r[i] = binary.BigEndian.Uint64(b[8:])
		}
	}
	binary.BigEndian.PutUint64(dst[:8], a)
	for i := range r {
		binary.BigEndian.PutUint64(dst[8+8*i:], r[i])
	}
}

// keyUnwrap unwraps a 40-byte wrapped key (RFC 3394 §2.2.2) and reports
// whether its integrity check held, in constant time.
func keyUnwrap(kek cipher.Block, cek *[cekSize]byte, wrapped []byte) bool {
	const n = cekSize / 8
	if len(wrapped) != wrappedSize {
		return false
	}
	a := binary.BigEndian.Uint64(wrapped[:8])
	var r [n]uint64
	for i := range r {
		r[i] = binary.BigEndian.Uint64(wrapped[8+8*i:])
	}
	var b [16]byte
	for j := 5; j >= 0; j-- {
		for i := n - 1; i >= 0; i-- {
			binary.BigEndian.PutUint64(b[:8], a^uint64(n*j+i+1))
			binary.BigEndian.PutUint64(b[8:], r[i])
			kek.Decrypt(b[:], b[:])
			a = binary.BigEndian.Uint64(b[:8])
			r[i] = binary.BigEndian.Uint64(b[8:])
		}
	}
	for i := range r {
		binary.BigEndian.PutUint64(cek[8*i:], r[i])
	}
	var got, want [8]byte
	binary.BigEndian.PutUint64(got[:], a)
	binary.BigEndian.PutUint64(want[:], wrapIV)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// entropy hands out bytes from crypto/rand in blocks, so that a seal costs a
// memory copy rather than a system call. Each block is owned by one caller at
// a time (sync.Pool), every byte is handed out once and wiped after use.
type entropy struct {
	buf [4096]byte
	off int
}

var entropyPool = sync.Pool{New: func() any { return &entropy{off: len(entropy{}.buf)} }}

// randomFill fills p with bytes from crypto/rand.
func randomFill(p []byte) error {
	e := entropyPool.Get().(*entropy)
	defer entropyPool.Put(e)
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
