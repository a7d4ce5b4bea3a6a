package keys

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseKEK(t *testing.T) {
	kek := testKEK
	tests := []struct {
		name  string
		value string
		want  []byte
		err   error
	}{
		{"empty: no wrapping", "", nil, nil},
		{"white space only: no wrapping", " \t\n", nil, nil},
		{"base64url without padding (RFC 4648 §5)", base64.RawURLEncoding.EncodeToString(kek), kek, nil},
		{"base64url with padding", base64.URLEncoding.EncodeToString(kek), kek, nil},
		{"standard base64 with padding (RFC 4648 §4, openssl rand -base64 32)", base64.StdEncoding.EncodeToString(kek), kek, nil},
		{"standard base64 without padding", base64.RawStdEncoding.EncodeToString(kek), kek, nil},
		{"surrounding white space and a newline", "  " + base64.StdEncoding.EncodeToString(kek) + "\n", kek, nil},
		{"128 bits", base64.StdEncoding.EncodeToString(kek[:16]), nil, ErrKEKSize},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(bytes.Clone(kek), 1)), nil, ErrKEKSize},
		{"not base64", "not base64 at all!", nil, ErrKEKSize},
		{"hex of 32 bytes", strings.Repeat("ab", 32), nil, ErrKEKSize},
		{"inner white space", base64.StdEncoding.EncodeToString(kek)[:20] + " " + base64.StdEncoding.EncodeToString(kek)[20:], nil, ErrKEKSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKEK(tt.value)
			require.ErrorIs(t, err, tt.err)
			require.Equal(t, tt.want, got)
			if err != nil && strings.TrimSpace(tt.value) != "" {
				require.NotContains(t, err.Error(), strings.TrimSpace(tt.value), "error repeats the secret")
			}
			if err == nil && got != nil {
				// What ParseKEK accepts, WithKEK accepts.
				_, err := Marshal(sampleSet(t), WithKEK(got))
				require.NoError(t, err)
			}
		})
	}
}

// FuzzParseKEK: no panic; a value is either refused with ErrKEKSize, empty
// (nil, nil) or exactly KEKSize bytes; and the base64url encoding of an
// accepted key parses back to it.
func FuzzParseKEK(f *testing.F) {
	f.Add("")
	f.Add(base64.StdEncoding.EncodeToString(testKEK))
	f.Add(base64.RawURLEncoding.EncodeToString(testKEK) + "\n")
	f.Add("not base64 at all!")
	f.Add(strings.Repeat("=", 44))
	f.Fuzz(func(t *testing.T, value string) {
		kek, err := ParseKEK(value)
		switch {
		case err != nil:
			if kek != nil || !errorsIsKEKSize(err) {
				t.Fatalf("ParseKEK(%q) = %x, %v", value, kek, err)
			}
			if len(strings.TrimSpace(value)) > 8 && strings.Contains(err.Error(), strings.TrimSpace(value)) {
				t.Fatal("the error repeats the value")
			}
		case kek == nil:
			if strings.TrimSpace(value) != "" {
				t.Fatalf("ParseKEK(%q) = nil, nil for a non-empty value", value)
			}
		case len(kek) != KEKSize:
			t.Fatalf("ParseKEK(%q) returned %d bytes", value, len(kek))
		default:
			again, err := ParseKEK(base64.RawURLEncoding.EncodeToString(kek))
			if err != nil || !bytes.Equal(again, kek) {
				t.Fatalf("round trip: %x %v", again, err)
			}
		}
	})
}

func errorsIsKEKSize(err error) bool { return errors.Is(err, ErrKEKSize) }

// ParseKEK takes the value of an environment variable from wherever the
// program keeps its environment; here a literal stands in for it.
func ExampleParseKEK() {
	value := "S0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0s=\n" // base64 of 32 bytes 0x4b
	kek, err := ParseKEK(value)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(kek), "bytes")
	_, err = ParseKEK("too short")
	fmt.Println(err)
	// Output:
	// 32 bytes
	// keys: key-encryption key must be 256 bits (32 bytes, base64 or base64url encoded)
}
