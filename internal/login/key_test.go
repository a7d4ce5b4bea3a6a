package login_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/internal/login"
)

// key32 and key48 are fixed keys; key24 is too short.
var (
	proxies127 = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

	key32 = bytes.Repeat([]byte{0xa7}, 32)
	key48 = bytes.Repeat([]byte{0x5c}, 48)
	key24 = bytes.Repeat([]byte{0x11}, 24)
)

func TestDecodeKey(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []byte // nil: ErrKey
	}{
		{name: "standard base64 with padding (openssl rand -base64 32)", text: base64.StdEncoding.EncodeToString(key32), want: key32},
		{name: "base64url without padding (RFC 4648 §5)", text: base64.RawURLEncoding.EncodeToString(key32), want: key32},
		{name: "longer key, trailing newline", text: base64.StdEncoding.EncodeToString(key48) + "\n", want: key48},
		{name: "24 bytes: too short", text: base64.StdEncoding.EncodeToString(key24)},
		{name: "empty", text: "  \n"},
		{name: "not base64", text: "this is a passphrase, not a key!!"},
		{name: "both alphabets mixed", text: strings.Replace(base64.StdEncoding.EncodeToString(key48), "X", "-", 1) + "+/"},
		{name: "too long", text: strings.Repeat("A", login.MaxKeyFileSize+4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := login.DecodeKey(tt.text)
			if tt.want == nil {
				if !errors.Is(err, login.ErrKey) || got != nil {
					t.Fatalf("DecodeKey = %x, %v; want ErrKey", got, err)
				}
				if s := strings.TrimSpace(tt.text); len(s) > 8 && strings.Contains(err.Error(), s) {
					t.Fatal("the error repeats the key")
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("DecodeKey = %x, %v; want %x", got, err, tt.want)
			}
		})
	}
}

func TestParseKeyFile(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []byte // nil: ErrKey
	}{
		{name: "base64 text with a newline", data: []byte(base64.StdEncoding.EncodeToString(key32) + "\n"), want: key32},
		{name: "base64url text", data: []byte(base64.RawURLEncoding.EncodeToString(key48)), want: key48},
		{name: "raw 32 bytes (head -c 32 /dev/urandom)", data: key32, want: key32},
		{name: "raw bytes are taken as they are, white space included", data: append([]byte{' ', 0, '\n'}, key32...), want: append([]byte{' ', 0, '\n'}, key32...)},
		{name: "base64 of 24 bytes is refused, not taken raw", data: []byte(base64.StdEncoding.EncodeToString(key24) + "\n")},
		{name: "raw 24 bytes", data: key24},
		{name: "empty file", data: nil},
		{name: "larger than MaxKeyFileSize", data: bytes.Repeat([]byte{0x80}, login.MaxKeyFileSize+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := login.ParseKeyFile(tt.data)
			if tt.want == nil {
				if !errors.Is(err, login.ErrKey) || got != nil {
					t.Fatalf("ParseKeyFile = %x, %v; want ErrKey", got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("ParseKeyFile = %x, %v; want %x", got, err, tt.want)
			}
			// What the parser accepts, New accepts.
			if _, err := login.New(login.Config{TrustedHeader: "X-User", TrustedProxies: proxies127, Key: got}); err != nil {
				t.Fatalf("New refuses the parsed key: %v", err)
			}
		})
	}
}

// FuzzParseKeyFile: no panic; a key is returned only when it is at least
// MinKeyLen bytes, and every error wraps ErrKey. DecodeKey, given the same
// input as text, agrees with ParseKeyFile whenever it accepts.
func FuzzParseKeyFile(f *testing.F) {
	f.Add([]byte(base64.StdEncoding.EncodeToString(key32) + "\n"))
	f.Add([]byte(base64.RawURLEncoding.EncodeToString(key24)))
	f.Add(key32)
	f.Add([]byte{})
	f.Add([]byte("====\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := login.ParseKeyFile(data)
		switch {
		case err != nil:
			if key != nil || !errors.Is(err, login.ErrKey) {
				t.Fatalf("ParseKeyFile = %x, %v", key, err)
			}
		case len(key) < login.MinKeyLen:
			t.Fatalf("ParseKeyFile returned %d bytes", len(key))
		}
		if dk, derr := login.DecodeKey(string(data)); derr == nil {
			if err != nil || !bytes.Equal(dk, key) {
				t.Fatalf("DecodeKey = %x but ParseKeyFile = %x, %v", dk, key, err)
			}
		} else if !errors.Is(derr, login.ErrKey) {
			t.Fatalf("DecodeKey error %v does not wrap ErrKey", derr)
		}
	})
}
