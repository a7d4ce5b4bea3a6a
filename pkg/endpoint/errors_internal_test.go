package endpoint

import (
	"strings"
	"testing"
)

// TestSanitizeDescription pins RFC 6749 §5.2 / §4.1.2.1: error_description
// holds only %x20-21 / %x23-5B / %x5D-7E, and stays readable.
func TestSanitizeDescription(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"RFC 6749 §5.2 plain ASCII kept", "missing grant_type", "missing grant_type"},
		{"RFC 6749 §5.2 section sign spelled out", "TLS is required (RFC 6749 §3.1)", "TLS is required (RFC 6749 section 3.1)"},
		{"RFC 6749 §5.2 double quotes become single", `grant_type "x" is not supported`, "grant_type 'x' is not supported"},
		{"RFC 6749 §5.2 backslash replaced", `a\b`, "a?b"},
		{"RFC 6749 §5.2 control characters replaced", "a\nb\x00", "a?b?"},
		{"RFC 6749 §5.2 non-ASCII replaced per byte", "é", "??"},
		{"length bounded", strings.Repeat("a", 300), strings.Repeat("a", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sanitizeDescription(tt.in)
			if got != tt.want {
				t.Fatalf("sanitizeDescription(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for i := 0; i < len(got); i++ {
				if !descriptionChar(got[i]) {
					t.Fatalf("byte %#x at %d is outside the RFC 6749 §5.2 set", got[i], i)
				}
			}
		})
	}
}
