package secret

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is a
// *ParseError with a sentinel, and that every accepted hash round-trips and
// can be verified without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		sha256OfABC,
		"sha256$",
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$2y$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$2a$99$",
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=4294967295,t=4294967295,p=255$$",
		"$argon2id$m=128,t=128,p=128$AAAABBBBCCCC$",
	} {
		f.Add(s)
	}
	sentinels := []error{ErrEmpty, ErrUnknownScheme, ErrSHA256Length, ErrSHA256Hex, ErrBcryptFormat,
		ErrBcryptCost, ErrArgon2Format, ErrArgon2Version, ErrArgon2Params}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			known := false
			for _, e := range sentinels {
				known = known || errors.Is(err, e)
			}
			if !known {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			if !h.IsZero() {
				t.Fatal("non-zero Hash with an error")
			}
			return
		}
		if h.String() != s {
			t.Fatalf("String() = %q, want %q", h.String(), s)
		}
		again, err := Parse(h.String())
		if err != nil || again.String() != s {
			t.Fatalf("re-Parse: %v", err)
		}
		// Verify only cheap hashes: the fuzzer may produce costly valid ones.
		cheap := h.Scheme() == SHA256
		if c, ok := h.BcryptCost(); ok {
			cheap = c <= 5
		}
		if p, ok := h.Argon2Params(); ok {
			cheap = uint64(p.Memory)*uint64(p.Time) <= 1024
		}
		if cheap && h.Verify("fuzz") && h.Scheme() != SHA256 {
			t.Fatalf("random hash %q matched a fixed secret", s)
		}
	})
}
