package statuslist_test

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/sealedtoken/issuer/pkg/statuslist"
)

// TestDraftVectors: the draft's own examples decode to the draft's
// statuses (draft §11.1: "Implementations SHOULD verify correctness using
// the test vectors given by this specification").
func TestDraftVectors(t *testing.T) {
	short1 := []uint8{1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1}
	short2 := []uint8{1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3}
	tests := []struct {
		name  string
		bits  int
		lst   string
		bytes string // the uncompressed array, when the draft gives it
		len   int
		want  func(idx uint64) uint8
	}{
		{name: "draft §4.1, §4.2: 16 entries of 1 bit", bits: 1, lst: draftLst1Short, bytes: "b9a3", len: 16, want: func(i uint64) uint8 { return short1[i] }},
		{name: "draft §4.1, §4.2: 12 entries of 2 bits", bits: 2, lst: draftLst2Short, bytes: "c944f9", len: 12, want: func(i uint64) uint8 { return short2[i] }},
		{name: "draft test vectors: 1-bit list of 2^20 entries", bits: 1, lst: draftLst1Long, len: 1 << 20, want: func(i uint64) uint8 { return draftSet1[i] }},
		{name: "draft test vectors: 2-bit list of 2^20 entries", bits: 2, lst: draftLst2Long, len: 1 << 20, want: func(i uint64) uint8 { return draftSet2[i] }},
		{name: "draft test vectors: 4-bit list of 2^20 entries", bits: 4, lst: draftLst4Long, len: 1 << 20, want: func(i uint64) uint8 { return draftSet4[i] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := statuslist.Decode(tt.bits, tt.lst, 0)
			if err != nil {
				t.Fatal(err)
			}
			if l.Len() != tt.len || l.Bits() != tt.bits {
				t.Fatalf("Len %d bits %d, want %d and %d", l.Len(), l.Bits(), tt.len, tt.bits)
			}
			if tt.bytes != "" && hex.EncodeToString(l.Bytes()) != tt.bytes {
				t.Fatalf("bytes %x, want %s", l.Bytes(), tt.bytes)
			}
			for i := uint64(0); i < uint64(tt.len); i++ {
				got, err := l.Get(i)
				if err != nil || uint8(got) != tt.want(i) {
					t.Fatalf("status[%d] = %d, %v; want %d", i, got, err, tt.want(i))
				}
			}
			if _, err := l.Get(uint64(tt.len)); !errors.Is(err, statuslist.ErrIndex) {
				t.Fatalf("Get(Len) = %v, want ErrIndex", err)
			}
			// Our encoding of the same statuses decodes to the same bytes.
			back, err := statuslist.Decode(tt.bits, l.Encode(), 0)
			if err != nil || !bytes.Equal(back.Bytes(), l.Bytes()) {
				t.Fatalf("re-encoded list differs: %v", err)
			}
		})
	}
	// §4.1 gives the ZLIB bytes of the 1-bit example too.
	z, _ := hex.DecodeString("78dadbb918000217015d")
	l, err := statuslist.Decode(1, base64.RawURLEncoding.EncodeToString(z), 0)
	if err != nil || hex.EncodeToString(l.Bytes()) != "b9a3" {
		t.Fatalf("draft §4.1 compressed array: %x, %v", l.Bytes(), err)
	}
}

// TestSetGet: draft §4.1 step 3, for every bits value, against a reference
// model; and ErrStatus for values that do not fit.
func TestSetGet(t *testing.T) {
	for _, bits := range []int{1, 2, 4, 8} {
		const size = 1000
		l, err := statuslist.New(bits, size)
		if err != nil {
			t.Fatal(err)
		}
		if l.Len() < size {
			t.Fatalf("bits %d: Len %d < %d", bits, l.Len(), size)
		}
		model := make([]uint8, size)
		r := rand.New(rand.NewPCG(1, uint64(bits)))
		for range 5000 {
			i := r.IntN(size)
			v := uint8(r.IntN(1 << bits))
			if err := l.Set(uint64(i), statuslist.Status(v)); err != nil {
				t.Fatal(err)
			}
			model[i] = v
		}
		back, err := statuslist.Decode(bits, l.Encode(), 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range model {
			for _, list := range []*statuslist.List{l, back} {
				if got, err := list.Get(uint64(i)); err != nil || uint8(got) != want {
					t.Fatalf("bits %d: status[%d] = %d, %v; want %d", bits, i, got, err, want)
				}
			}
		}
		if bits < 8 {
			if err := l.Set(0, statuslist.Status(1<<bits)); !errors.Is(err, statuslist.ErrStatus) {
				t.Fatalf("bits %d: oversized status: %v", bits, err)
			}
		}
		if err := l.Set(uint64(l.Len()), 0); !errors.Is(err, statuslist.ErrIndex) {
			t.Fatalf("bits %d: Set beyond the list: %v", bits, err)
		}
	}
	if _, err := statuslist.New(3, 8); !errors.Is(err, statuslist.ErrBits) {
		t.Fatalf("bits 3: %v", err)
	}
	if _, err := statuslist.New(1, -1); !errors.Is(err, statuslist.ErrConfig) {
		t.Fatalf("negative size: %v", err)
	}
}

func zlibB64(t testing.TB, data []byte, level int) string {
	t.Helper()
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, level)
	w.Write(data)
	w.Close()
	return base64.RawURLEncoding.EncodeToString(buf.Bytes())
}

// TestDecodeRules: draft §4.2 and RFC 1950, rule by rule, and the
// decompression bound.
func TestDecodeRules(t *testing.T) {
	valid := zlibB64(t, []byte{0xb9, 0xa3}, zlib.BestCompression)
	raw, _ := base64.RawURLEncoding.DecodeString(valid)
	badSum := append([]byte(nil), raw...)
	badSum[len(badSum)-1] ^= 1
	tests := []struct {
		name string
		bits int
		lst  string
		max  int
		want error
	}{
		{name: "draft §4.2: a valid lst", bits: 1, lst: valid},
		{name: "draft §4.2: bits 3", bits: 3, lst: valid, want: statuslist.ErrBits},
		{name: "draft §4.2: bits 0", bits: 0, lst: valid, want: statuslist.ErrBits},
		{name: "draft §4.2: bits 16", bits: 16, lst: valid, want: statuslist.ErrBits},
		{name: "RFC 7515 §2: lst with padding", bits: 1, lst: valid + "=", want: statuslist.ErrMalformed},
		{name: "RFC 7515 §2: lst in the standard alphabet", bits: 1, lst: "eNrbuRgAAhcBXQ+/", want: statuslist.ErrMalformed},
		{name: "RFC 1950 §2.2: not a ZLIB header", bits: 1, lst: base64.RawURLEncoding.EncodeToString([]byte("hello world")), want: statuslist.ErrMalformed},
		{name: "RFC 1950 §2.2: ADLER-32 mismatch", bits: 1, lst: base64.RawURLEncoding.EncodeToString(badSum), want: statuslist.ErrMalformed},
		{name: "RFC 1950 §2.2: truncated stream", bits: 1, lst: base64.RawURLEncoding.EncodeToString(raw[:len(raw)-3]), want: statuslist.ErrMalformed},
		{name: "data after the stream", bits: 1, lst: base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), raw...), 0)), want: statuslist.ErrMalformed},
		{name: "RFC 1950 §2.2: raw DEFLATE without the ZLIB wrapper", bits: 1, lst: base64.RawURLEncoding.EncodeToString(raw[2 : len(raw)-4]), want: statuslist.ErrMalformed},
		{name: "an empty list is a list", bits: 1, lst: zlibB64(t, nil, 1)},
		{name: "exactly the bound", bits: 1, lst: zlibB64(t, make([]byte, 1024), 1), max: 1024},
		{name: "one byte over the bound", bits: 1, lst: zlibB64(t, make([]byte, 1025), 1), max: 1024, want: statuslist.ErrTooLarge},
		{name: "bound out of range", bits: 1, lst: valid, max: -1, want: statuslist.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := statuslist.Decode(tt.bits, tt.lst, tt.max)
			if tt.want == nil && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestZipBomb: an attacker serves a 20 KB lst that inflates to 20 MiB.
// Decode stops at the bound (4 MiB) without ever holding the whole, and a
// genuine list still decodes afterwards.
func TestZipBomb(t *testing.T) {
	bomb := zlibB64(t, make([]byte, 20<<20), zlib.BestCompression)
	if len(bomb) > 64<<10 {
		t.Fatalf("bomb of %d bytes is no bomb", len(bomb))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := statuslist.Decode(1, bomb, 0)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, statuslist.ErrTooLarge) {
		t.Fatalf("bomb: %v, want ErrTooLarge", err)
	}
	// Doubling up to the bound allocates at most about twice the bound.
	if got := after.TotalAlloc - before.TotalAlloc; got > 3*statuslist.DefaultMaxBytes {
		t.Fatalf("decoding the bomb allocated %d bytes, bound %d", got, statuslist.DefaultMaxBytes)
	}
	l, err := statuslist.Decode(1, draftLst1Long, 0)
	if err != nil || l.Len() != 1<<20 {
		t.Fatalf("genuine list after the bomb: %v", err)
	}
}
