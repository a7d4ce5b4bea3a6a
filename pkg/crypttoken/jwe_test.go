package crypttoken

import (
	"crypto/aes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyWrapKnownAnswers checks AES key wrap against published vectors of
// 256-bit key data: RFC 3394 §4.6 ("Wrap 256 bits of Key Data with a 256-bit
// KEK", exactly A256KW) and RFC 7516 Appendix A.3.3 (A128KW of the 256-bit
// A128CBC-HS256 content key: the same algorithm under a 128-bit KEK).
func TestKeyWrapKnownAnswers(t *testing.T) {
	tests := []struct {
		name            string
		kek, cek, wrapd []byte
	}{
		{
			name:  "RFC 3394 §4.6",
			kek:   mustHex(t, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"),
			cek:   mustHex(t, "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F"),
			wrapd: mustHex(t, "28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21"),
		},
		{
			name: "RFC 7516 Appendix A.3.3",
			kek: func() []byte {
				b, _ := base64.RawURLEncoding.DecodeString("GawgguFyGrWKav7AX4VKUg") // A.3.3 JWK "k"
				return b
			}(),
			cek: []byte{4, 211, 31, 197, 84, 157, 252, 254, 11, 100, 157, 250, 63, 170, 106, 206,
				107, 124, 212, 45, 111, 107, 9, 219, 200, 177, 0, 240, 143, 156, 44, 207},
			wrapd: func() []byte {
				b, _ := base64.RawURLEncoding.DecodeString("6KB707dM9YTIgHtLvtgWQ8mKwboJW3of9locizkDTHzBC2IlrT1oOQ") // A.3.3
				return b
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			block, err := aes.NewCipher(tt.kek)
			if err != nil {
				t.Fatal(err)
			}
			var blk [blockSize]byte
			var got [wrappedSize]byte
			keyWrap(block, &got, (*[cekSize]byte)(tt.cek), &blk)
			if hex.EncodeToString(got[:]) != hex.EncodeToString(tt.wrapd) {
				t.Fatalf("wrap = %x, want %x", got, tt.wrapd)
			}
			if blk != [blockSize]byte{} {
				t.Error("wrap left key material in the scratch block")
			}
			var cek [cekSize]byte
			if !keyUnwrap(block, &cek, (*[wrappedSize]byte)(tt.wrapd), &blk) {
				t.Fatal("unwrap of the vector failed its integrity check")
			}
			if hex.EncodeToString(cek[:]) != hex.EncodeToString(tt.cek) {
				t.Fatalf("unwrap = %x, want %x", cek, tt.cek)
			}
			if blk != [blockSize]byte{} {
				t.Error("unwrap left key material in the scratch block")
			}
			// Any flipped bit fails the integrity check (RFC 3394 §2.2.3).
			for i := range wrappedSize * 8 {
				bad := *(*[wrappedSize]byte)(tt.wrapd)
				bad[i/8] ^= 1 << (i % 8)
				if keyUnwrap(block, &cek, &bad, &blk) {
					t.Fatalf("unwrap accepted bit %d flipped", i)
				}
			}
		})
	}
}

func TestDecodeSegment(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // hex; "" with ok false
		ok   bool
	}{
		{name: "empty", in: "", ok: true},
		{name: "one byte", in: "_w", want: "ff", ok: true},
		{name: "two bytes", in: "__8", want: "ffff", ok: true},
		{name: "three bytes", in: "____", want: "ffffff", ok: true},
		{name: "trailing bits set", in: "_x", ok: false},
		{name: "trailing bits set, two bytes", in: "__9", ok: false},
		{name: "impossible length", in: "_____", ok: false},
		{name: "padding", in: "_w==", ok: false},
		{name: "standard alphabet plus", in: "+w", ok: false},
		{name: "standard alphabet slash", in: "/w", ok: false},
		{name: "newline", in: "__\n__", ok: false},
		{name: "newline at the end", in: "____\n", ok: false},
		{name: "carriage return", in: "\r____", ok: false},
		{name: "newline making a valid length", in: "___\n", ok: false},
		{name: "space", in: "__ _", ok: false},
		{name: "NUL", in: "___\x00", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, lenOK := decodedLen(len(tt.in))
			dst := make([]byte, n)
			ok := lenOK && decodeSegment(dst, tt.in)
			if ok != tt.ok {
				t.Fatalf("decodeSegment(%q) = %v, want %v", tt.in, ok, tt.ok)
			}
			if ok && hex.EncodeToString(dst) != tt.want {
				t.Errorf("decoded %x, want %s", dst, tt.want)
			}
		})
	}
	// Every decoding of one segment length fills its buffer exactly.
	for n := range 64 {
		s := base64.RawURLEncoding.EncodeToString(make([]byte, n))
		m, ok := decodedLen(len(s))
		if !ok || m != n || !decodeSegment(make([]byte, m), s) {
			t.Errorf("length %d: decodedLen = %d, %v", n, m, ok)
		}
	}
	if decodeSegment(make([]byte, 2), "____") {
		t.Error("decodeSegment accepted a buffer of the wrong size")
	}
}

func TestEntropy(t *testing.T) {
	e := newEntropy()
	seen := map[string]bool{}
	p := make([]byte, 44)
	for range 1000 { // crosses several 4 KiB refills
		if err := e.fill(p); err != nil {
			t.Fatal(err)
		}
		if seen[string(p)] {
			t.Fatal("entropy repeated itself")
		}
		seen[string(p)] = true
	}
	for i, b := range e.buf[:e.off] {
		if b != 0 {
			t.Fatalf("handed-out byte %d not wiped", i)
		}
	}
	big := make([]byte, 5000)
	if err := e.fill(big); err != nil || strings.Count(string(big), "\x00") > 100 {
		t.Fatalf("large fill: %v", err)
	}
}
