package jsonenc

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "read write", `"read write"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"control characters", "a\nb\tc\x01", `"a\nb\tc\u0001"`},
		{"html characters", "<a>&", `"\u003ca\u003e\u0026"`},
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
			// The output must agree with encoding/json.
			want, _ := json.Marshal(tt.in)
			if got != string(want) {
				t.Fatalf("AppendString(%q) = %s, encoding/json gives %s", tt.in, got, want)
			}
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\xff\xfe", "\u2028<>&", "\x00\x1f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		want, _ := json.Marshal(s)
		if string(out) != string(want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json gives %s", s, out, want)
		}
	})
}
