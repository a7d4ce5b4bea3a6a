package jsonenc

import "unicode/utf8"

// SWAR constants: one bit per byte of a 64-bit word.
const (
	// LSB has the lowest bit of every byte set.
	LSB = 0x0101010101010101
	// MSB has the highest bit of every byte set; w&MSB != 0 means w holds a
	// byte from 0x80 up (non-ASCII).
	MSB = 0x8080808080808080
)

// SpecialMask returns, for the 8 bytes of w (little-endian), a mask with
// the high bit set in every byte that is a quote, a backslash or a control
// character (below 0x20): the bytes a JSON string scan must stop at. Bytes
// from 0x80 up are not special here; callers validate UTF-8 separately.
// Each term is the "has a zero byte" idiom (v-LSB)&^v, whose borrows arise
// only at a true match, so the lowest set bit always marks the first
// special byte exactly (higher bits may be false positives).
func SpecialMask(w uint64) uint64 {
	q := w ^ (LSB * '"')
	e := w ^ (LSB * '\\')
	return ((q-LSB)&^q | (e-LSB)&^e | (w-LSB*0x20)&^w) & MSB
}

const hexDigits = "0123456789abcdef"

// AppendString appends s to dst as a JSON string literal, as encoding/json
// does with HTML escaping off: quotes, backslashes and control characters
// are escaped, U+2028 and U+2029 too, and invalid UTF-8 becomes U+FFFD.
// Plain ASCII is scanned eight bytes at a time.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight plain ASCII bytes at a time; the byte loads combine into
		// one 64-bit load.
		if i+8 <= len(s) {
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if w&MSB == 0 && SpecialMask(w) == 0 {
				i += 8
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
