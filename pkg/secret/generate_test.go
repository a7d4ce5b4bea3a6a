package secret

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// fastArgon2 keeps tests quick: 64 KiB, one pass.
var fastArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1}

func TestNewRoundTrip(t *testing.T) {
	const secret = "s3cret-Value"
	tests := []struct {
		name   string
		make   func() (string, error)
		scheme Scheme
	}{
		{name: "sha256", make: func() (string, error) { return NewSHA256(secret), nil }, scheme: SHA256},
		{name: "bcrypt cost 4", make: func() (string, error) { return NewBcrypt(secret, 4) }, scheme: Bcrypt},
		{name: "argon2id small", make: func() (string, error) { return NewArgon2id(secret, fastArgon2) }, scheme: Argon2id},
		{name: "argon2id defaults", make: func() (string, error) { return NewArgon2id(secret, Argon2Params{}) }, scheme: Argon2id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := tt.make()
			if err != nil {
				t.Fatal(err)
			}
			h, err := Parse(enc)
			if err != nil {
				t.Fatalf("Parse(own output): %v", err)
			}
			if h.Scheme() != tt.scheme {
				t.Errorf("Scheme = %q, want %q", h.Scheme(), tt.scheme)
			}
			if !h.Verify(secret) {
				t.Error("own hash does not verify its secret")
			}
			for _, wrong := range []string{"", "s3cret-valuE", secret + "x", secret[:len(secret)-1]} {
				if h.Verify(wrong) {
					t.Errorf("Verify(%q) = true", wrong)
				}
			}
		})
	}
}

func TestNewSHA256Form(t *testing.T) {
	if got := NewSHA256("abc"); got != sha256OfABC {
		t.Errorf("NewSHA256(abc) = %s, want %s", got, sha256OfABC)
	}
}

func TestNewArgon2idDefaultsAndSalt(t *testing.T) {
	a, err := NewArgon2id("x", fastArgon2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewArgon2id("x", fastArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two hashes of one secret are equal: salt is not random")
	}
	h, err := Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := h.Argon2Params()
	want := Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	if p != want {
		t.Errorf("params = %+v, want %+v (zero fields defaulted)", p, want)
	}
	if !strings.HasPrefix(a, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("encoding %q lacks the expected PHC prefix", a)
	}
}

func TestNewErrors(t *testing.T) {
	long := strings.Repeat("x", MaxSecretLen+1)
	tests := []struct {
		name string
		fn   func() (string, error)
		want error
	}{
		{name: "bcrypt empty secret", fn: func() (string, error) { return NewBcrypt("", 4) }, want: ErrEmptySecret},
		{name: "bcrypt 73 bytes", fn: func() (string, error) { return NewBcrypt(strings.Repeat("x", 73), 4) }, want: ErrSecretTooLong},
		{name: "bcrypt cost 3", fn: func() (string, error) { return NewBcrypt("x", 3) }, want: ErrBcryptCost},
		{name: "bcrypt cost 14", fn: func() (string, error) { return NewBcrypt("x", 14) }, want: ErrBcryptCost},
		{name: "bcrypt negative cost", fn: func() (string, error) { return NewBcrypt("x", -1) }, want: ErrBcryptCost},
		{name: "argon2id empty secret", fn: func() (string, error) { return NewArgon2id("", fastArgon2) }, want: ErrEmptySecret},
		{name: "argon2id too long", fn: func() (string, error) { return NewArgon2id(long, fastArgon2) }, want: ErrSecretTooLong},
		{name: "argon2id memory over cap", fn: func() (string, error) {
			return NewArgon2id("x", Argon2Params{Memory: MaxArgon2Memory + 1, Time: 1})
		}, want: ErrArgon2Params},
		{name: "argon2id work over cap", fn: func() (string, error) {
			return NewArgon2id("x", Argon2Params{Memory: MaxArgon2Memory, Time: 3})
		}, want: ErrArgon2Params},
		{name: "argon2id threads over cap", fn: func() (string, error) {
			return NewArgon2id("x", Argon2Params{Memory: 1024, Threads: MaxArgon2Threads + 1})
		}, want: ErrArgon2Params},
		{name: "argon2id memory below 8p", fn: func() (string, error) {
			return NewArgon2id("x", Argon2Params{Memory: 8, Threads: 2})
		}, want: ErrArgon2Params},
		{name: "argon2id short salt", fn: func() (string, error) {
			return NewArgon2id("x", Argon2Params{Memory: 64, Time: 1, SaltLen: 4})
		}, want: ErrArgon2Params},
		{name: "argon2id short key", fn: func() (string, error) {
			return NewArgon2id("x", Argon2Params{Memory: 64, Time: 1, KeyLen: 8})
		}, want: ErrArgon2Params},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got != "" {
				t.Errorf("returned %q with an error", got)
			}
		})
	}
}

func TestNewClientSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := NewClientSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 43 {
			t.Fatalf("len = %d, want 43", len(s))
		}
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(raw) != ClientSecretLen {
			t.Fatalf("not 32 bytes of base64url: %v", err)
		}
		if seen[s] {
			t.Fatal("NewClientSecret repeated a value")
		}
		seen[s] = true
	}
}

func TestNewClientID(t *testing.T) {
	a, err := NewClientID()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewClientID()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("NewClientID repeated a value")
	}
	if raw, err := hex.DecodeString(a); err != nil || len(raw) != 16 || strings.ToLower(a) != a {
		t.Errorf("client id %q is not 32 lowercase hex digits", a)
	}
}
