package jws

import (
	"encoding/base64"
	"unsafe"
)

// b64 is base64url without padding (RFC 7515 §2), refusing non-zero
// trailing bits, so that every token has exactly one spelling.
var b64 = base64.RawURLEncoding.Strict()

// decodedLen returns the decoded length of an n-byte base64url segment,
// and whether n is a possible length at all.
func decodedLen(n int) (int, bool) { return n * 6 / 8, n%4 != 1 }

// decodeInto decodes the base64url segment s into dst, which has room for
// exactly decodedLen(len(s)) bytes, and reports whether s was canonical:
// no padding, no stray bits, no line breaks. encoding/base64 skips '\r' and
// '\n', which a compact serialization never holds (RFC 7515 §7.1); each
// skipped byte shortens the output, so requiring that it fills dst exactly
// refuses them.
func decodeInto(dst []byte, s string) bool {
	want, ok := decodedLen(len(s))
	if !ok || len(dst) != want {
		return false
	}
	n, err := b64.Decode(dst, stringBytes(s))
	return err == nil && n == want
}

// decodeString decodes a canonical base64url string into a new slice.
func decodeString(s string) ([]byte, bool) {
	n, ok := decodedLen(len(s))
	if !ok {
		return nil, false
	}
	out := make([]byte, n)
	if !decodeInto(out, s) {
		return nil, false
	}
	return out, true
}

// stringBytes returns s as a byte slice without copying; the slice must
// only be read.
func stringBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
