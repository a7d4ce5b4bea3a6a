package jsonenc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"testing"
)

// encodingJSON encodes s as encoding/json does with HTML escaping off.
func encodingJSON(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "read write", `"read write"`},
		{"long plain crosses the 8-byte fast path", "https://api.example.com/v1", `"https://api.example.com/v1"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"quote after eight plain bytes", `abcdefgh"`, `"abcdefgh\""`},
		{"control characters", "a\nb\tc\x01\r", `"a\nb\tc\u0001\r"`},
		{"backspace and form feed", "\b\f", `"\b\f"`},
		{"html characters kept", "<a>&", `"<a>&"`},
		{"unicode kept", "grüße", `"grüße"`},
		{"invalid utf-8 replaced", "a\xffb", `"a\ufffdb"`},
		{"line separators escaped", "a\u2028b\u2029", `"a\u2028b\u2029"`},
		{"empty", "", `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendString(nil, tt.in))
			if got != tt.want {
				t.Fatalf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if want := encodingJSON(tt.in); got != want {
				t.Fatalf("AppendString(%q) = %s, encoding/json gives %s", tt.in, got, want)
			}
		})
	}
}

// TestSpecialMask checks that the lowest bit of specialMask marks the first
// special byte, for every byte value at every position of a word whose
// other bytes are plain or special at random.
func TestSpecialMask(t *testing.T) {
	fill := []byte{'a', 0xff, 0x20, 0x80, '"', '\\', 0x00, 0x1f, '!'}
	for pos := range 8 {
		for v := range 256 {
			for _, after := range fill {
				var b [8]byte
				for i := range b {
					b[i] = 'a'
					if i > pos {
						b[i] = after
					}
				}
				b[pos] = byte(v)
				w := binary.LittleEndian.Uint64(b[:])
				want := -1
				for i, c := range b {
					if c < 0x20 || c == '"' || c == '\\' {
						want = i
						break
					}
				}
				m := SpecialMask(w)
				got := -1
				if m != 0 {
					got = bits.TrailingZeros64(m) >> 3
				}
				if got != want {
					t.Fatalf("word % x: first special byte at %d, mask says %d", b, want, got)
				}
			}
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\xff\xfe", "\u2028<>&", "\x00\x1f", "abcdefghijklmnop\"q"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		if want := encodingJSON(s); string(out) != want {
			t.Fatalf("AppendString(%q) = %s, encoding/json gives %s", s, out, want)
		}
	})
}
