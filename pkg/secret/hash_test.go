package secret

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Reference vectors.
const (
	// Argon2 reference implementation (phc-winner-argon2 src/test.c, also
	// replayed by libar2): password "password", salt "somesalt".
	refArgon2idM64T2P1 = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	// The raw tag of refArgon2idM64T2P1 as the reference test prints it.
	refArgon2idM64T2P1Hex = "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"

	// Pinned once from encodeArgon2id with DefaultArgon2Params and the salt
	// 00 01 … 0f; the same encoder reproduces refArgon2idM64T2P1 exactly
	// (TestEncodeArgon2idReference), and TestArgon2idPinnedParams decodes
	// its parameters and salt back.
	pinnedArgon2idSecret = "correct horse battery staple"
	pinnedArgon2id       = "$argon2id$v=19$m=65536,t=3,p=2$AAECAwQFBgcICQoLDA0ODw$wrFQiwrdeIehGpqW8aRyJctAv6BudXD/c6QUGLKhXWE"

	// A valid cost-4 bcrypt hash shape for parse tests (from the "U*U"
	// vector below with the cost digits replaced; it does not verify).
	bcryptShape = "$2a$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"

	sha256OfABC = "sha256$ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // FIPS 180-2 "abc"
)

func TestParse(t *testing.T) {
	hex64 := strings.Repeat("a", 64)
	b60 := func(prefix string) string { return prefix + bcryptShape[len(prefix):] }
	tests := []struct {
		name    string
		in      string
		want    error // nil: valid
		scheme  Scheme
		slow    bool
		wantMsg string // substring of the error message
	}{
		// Valid forms.
		{name: "sha256 FIPS 180-2 abc", in: sha256OfABC, scheme: SHA256},
		{name: "bcrypt 2a", in: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", scheme: Bcrypt, slow: true},
		{name: "bcrypt 2b", in: "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", scheme: Bcrypt, slow: true},
		{name: "bcrypt 2y", in: "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", scheme: Bcrypt, slow: true},
		{name: "bcrypt cost at max", in: b60("$2a$13$"), scheme: Bcrypt, slow: true},
		{name: "argon2id reference", in: refArgon2idM64T2P1, scheme: Argon2id, slow: true},
		{name: "argon2id minimal m=8p", in: "$argon2id$v=19$m=16,t=1,p=2$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", scheme: Argon2id, slow: true},
		{name: "argon2id work at cap", in: "$argon2id$v=19$m=262144,t=2,p=1$c29tZXNhbHQ$eP4eyR+zqlZX1y5xCFTkw9m5GYx0L5YWwvCFvtlbLow", scheme: Argon2id, slow: true},

		// Anything.
		{name: "empty", in: "", want: ErrEmpty},
		{name: "plaintext secret pasted as hash", in: "hunter2-my-real-password", want: ErrUnknownScheme},
		{name: "leading space", in: " " + sha256OfABC, want: ErrUnknownScheme},
		{name: "upper-case scheme", in: "SHA256$" + hex64, want: ErrUnknownScheme, wantMsg: "lower case"},
		{name: "sha512", in: "sha512$" + hex64, want: ErrUnknownScheme, wantMsg: "sha512 is not supported"},
		{name: "md5-crypt", in: "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", want: ErrUnknownScheme, wantMsg: "md5-crypt"},
		{name: "sha512-crypt", in: "$6$rounds=5000$salt$hash", want: ErrUnknownScheme},
		{name: "argon2i", in: "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", want: ErrUnknownScheme, wantMsg: "argon2i is not supported"},
		{name: "argon2d", in: "$argon2d$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", want: ErrUnknownScheme},
		{name: "scrypt", in: "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E", want: ErrUnknownScheme},

		// sha256.
		{name: "sha256 no digits", in: "sha256$", want: ErrSHA256Length, wantMsg: "got 0"},
		{name: "sha256 63 digits", in: "sha256$" + hex64[:63], want: ErrSHA256Length},
		{name: "sha256 65 digits", in: "sha256$" + hex64 + "a", want: ErrSHA256Length},
		{name: "sha256 trailing newline", in: sha256OfABC + "\n", want: ErrSHA256Length},
		{name: "sha256 upper-case hex", in: "sha256$" + strings.ToUpper(sha256OfABC[7:]), want: ErrSHA256Hex},
		{name: "sha256 non-hex", in: "sha256$" + hex64[:10] + "g" + hex64[11:], want: ErrSHA256Hex, wantMsg: "offset 10"},
		{name: "sha256 base64 instead of hex", in: "sha256$ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0aaaaaaaaaaaaaaaaaaaaa", want: ErrSHA256Hex},
		{name: "sha256 second $", in: "sha256$$" + hex64[:63], want: ErrSHA256Hex},

		// bcrypt.
		{name: "bcrypt no minor", in: "$2$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWx", want: ErrBcryptFormat, wantMsg: "version"},
		{name: "bcrypt 2x (buggy crypt_blowfish)", in: b60("$2x$"), want: ErrBcryptFormat},
		{name: "bcrypt 3a", in: "$3a" + bcryptShape[3:], want: ErrUnknownScheme},
		{name: "bcrypt prefix only", in: "$2a$", want: ErrBcryptFormat, wantMsg: "length 4"},
		{name: "bcrypt 59 chars", in: bcryptShape[:59], want: ErrBcryptFormat},
		{name: "bcrypt 61 chars", in: bcryptShape + "a", want: ErrBcryptFormat},
		{name: "bcrypt cost one digit", in: "$2a$4$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWxx", want: ErrBcryptFormat},
		{name: "bcrypt cost not digits", in: b60("$2a$1a$"), want: ErrBcryptFormat},
		{name: "bcrypt missing $ after cost", in: b60("$2a$10C"), want: ErrBcryptFormat},
		{name: "bcrypt cost 03", in: b60("$2a$03$"), want: ErrBcryptCost, wantMsg: "cost 3"},
		{name: "bcrypt cost 14 (seconds)", in: b60("$2a$14$"), want: ErrBcryptCost, wantMsg: "cost 14, allowed 4..13"},
		{name: "bcrypt cost 31", in: b60("$2a$31$"), want: ErrBcryptCost},
		{name: "bcrypt cost 99", in: b60("$2a$99$"), want: ErrBcryptCost},
		{name: "bcrypt char outside alphabet", in: bcryptShape[:20] + "+" + bcryptShape[21:], want: ErrBcryptFormat, wantMsg: "offset 20"},
		{name: "bcrypt $ in body", in: bcryptShape[:29] + "$" + bcryptShape[30:], want: ErrBcryptFormat},
		{name: "bcrypt non-canonical last char", in: bcryptShape[:59] + "X", want: ErrBcryptFormat, wantMsg: "never match"},

		// argon2id: structure.
		{name: "argon2id prefix only", in: "$argon2id$", want: ErrArgon2Format},
		{name: "argon2id missing version", in: "$argon2id$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", want: ErrArgon2Version, wantMsg: "missing v=19"},
		{name: "argon2id v=16", in: strings.Replace(refArgon2idM64T2P1, "v=19", "v=16", 1), want: ErrArgon2Version},
		{name: "argon2id v=019", in: strings.Replace(refArgon2idM64T2P1, "v=19", "v=019", 1), want: ErrArgon2Version},
		{name: "argon2id v=", in: strings.Replace(refArgon2idM64T2P1, "v=19", "v=", 1), want: ErrArgon2Version},
		{name: "argon2id x=19", in: strings.Replace(refArgon2idM64T2P1, "v=19", "x=19", 1), want: ErrArgon2Version},
		{name: "argon2id extra field", in: refArgon2idM64T2P1 + "$", want: ErrArgon2Format},
		{name: "argon2id no hash", in: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ", want: ErrArgon2Format},
		{name: "argon2id empty hash", in: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$", want: ErrArgon2Format},
		{name: "argon2id empty salt", in: "$argon2id$v=19$m=65536,t=2,p=1$$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", want: ErrArgon2Format},

		// argon2id: parameters.
		{name: "argon2id params order t,m,p", in: strings.Replace(refArgon2idM64T2P1, "m=65536,t=2", "t=2,m=65536", 1), want: ErrArgon2Format},
		{name: "argon2id params ; separator", in: strings.Replace(refArgon2idM64T2P1, "m=65536,t=2,p=1", "m=65536;t=2;p=1", 1), want: ErrArgon2Format},
		{name: "argon2id missing p", in: strings.Replace(refArgon2idM64T2P1, ",p=1", "", 1), want: ErrArgon2Format},
		{name: "argon2id extra keyid", in: strings.Replace(refArgon2idM64T2P1, "p=1", "p=1,keyid=AA", 1), want: ErrArgon2Format},
		{name: "argon2id leading zero", in: strings.Replace(refArgon2idM64T2P1, "m=65536", "m=065536", 1), want: ErrArgon2Format, wantMsg: "canonical"},
		{name: "argon2id negative", in: strings.Replace(refArgon2idM64T2P1, "t=2", "t=-2", 1), want: ErrArgon2Format},
		{name: "argon2id plus sign", in: strings.Replace(refArgon2idM64T2P1, "t=2", "t=+2", 1), want: ErrArgon2Format},
		{name: "argon2id empty number", in: strings.Replace(refArgon2idM64T2P1, "t=2", "t=", 1), want: ErrArgon2Format},
		{name: "argon2id 11-digit number", in: strings.Replace(refArgon2idM64T2P1, "m=65536", "m=99999999999", 1), want: ErrArgon2Format},
		{name: "argon2id m over uint32", in: strings.Replace(refArgon2idM64T2P1, "m=65536", "m=4294967296", 1), want: ErrArgon2Params, wantMsg: "too large"},
		{name: "argon2id m 1 GiB", in: strings.Replace(refArgon2idM64T2P1, "m=65536", "m=1048576", 1), want: ErrArgon2Params, wantMsg: "m=1048576 KiB"},
		{name: "argon2id m below 8p", in: strings.Replace(refArgon2idM64T2P1, "m=65536,t=2,p=1", "m=15,t=2,p=2", 1), want: ErrArgon2Params, wantMsg: "8×p"},
		{name: "argon2id m zero", in: strings.Replace(refArgon2idM64T2P1, "m=65536", "m=0", 1), want: ErrArgon2Params},
		{name: "argon2id t zero", in: strings.Replace(refArgon2idM64T2P1, "t=2", "t=0", 1), want: ErrArgon2Params},
		{name: "argon2id t 17", in: strings.Replace(refArgon2idM64T2P1, "m=65536,t=2", "m=64,t=17", 1), want: ErrArgon2Params, wantMsg: "t=17"},
		{name: "argon2id p zero", in: strings.Replace(refArgon2idM64T2P1, "p=1", "p=0", 1), want: ErrArgon2Params},
		{name: "argon2id p 17", in: strings.Replace(refArgon2idM64T2P1, "p=1", "p=17", 1), want: ErrArgon2Params},
		{name: "argon2id p 256", in: strings.Replace(refArgon2idM64T2P1, "p=1", "p=256", 1), want: ErrArgon2Params},
		{name: "argon2id work over cap", in: strings.Replace(refArgon2idM64T2P1, "m=65536,t=2", "m=131072,t=5", 1), want: ErrArgon2Params, wantMsg: "m×t"},
		{name: "argon2id salt padded", in: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", want: ErrArgon2Format, wantMsg: "salt"},
		{name: "argon2id salt base64url", in: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbH-_$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", want: ErrArgon2Format},
		{name: "argon2id salt non-canonical bits", in: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHR$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", want: ErrArgon2Format},
		{name: "argon2id salt 6 bytes", in: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNh$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", want: ErrArgon2Params, wantMsg: "salt of 6 bytes"},
		{name: "argon2id salt 65 bytes", in: "$argon2id$v=19$m=65536,t=2,p=1$" + strings.Repeat("AAAA", 21) + "AAA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", want: ErrArgon2Params},
		{name: "argon2id hash padded", in: refArgon2idM64T2P1 + "=", want: ErrArgon2Format, wantMsg: "hash"},
		{name: "argon2id hash 8 bytes", in: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO0", want: ErrArgon2Params, wantMsg: "hash of 8 bytes"},
		{name: "argon2id hash 66 bytes", in: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$" + strings.Repeat("AAAA", 22), want: ErrArgon2Params},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.in)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Parse: err = %v, want %v", err, tt.want)
				}
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("Parse: err %T is not a *ParseError", err)
				}
				if !h.IsZero() {
					t.Error("Parse returned a non-zero Hash with an error")
				}
				if !strings.HasPrefix(err.Error(), "secret: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q does not mention %q", err, tt.wantMsg)
				}
				if len(tt.in) > 12 && strings.Contains(err.Error(), tt.in[4:]) {
					t.Errorf("error %q quotes the input", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := h.String(); got != tt.in {
				t.Errorf("String() = %q, want the input", got)
			}
			if h.Scheme() != tt.scheme || h.Slow() != tt.slow || h.IsZero() {
				t.Errorf("Scheme/Slow/IsZero = %q/%v/%v, want %q/%v/false", h.Scheme(), h.Slow(), h.IsZero(), tt.scheme, tt.slow)
			}
		})
	}
}

// TestVerifyKnownAnswers checks Verify against vectors from other
// implementations.
func TestVerifyKnownAnswers(t *testing.T) {
	tests := []struct {
		name   string
		hash   string
		secret string
		want   bool
	}{
		// FIPS 180-2 appendix B.1.
		{name: "sha256 abc", hash: sha256OfABC, secret: "abc", want: true},
		{name: "sha256 abd", hash: sha256OfABC, secret: "abd", want: false},
		{name: "sha256 prefix", hash: sha256OfABC, secret: "ab", want: false},

		// OpenBSD bcrypt vectors as shipped with jBCrypt (TestBCrypt.java).
		{name: "bcrypt jBCrypt a cost 6", hash: "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe", secret: "a", want: true},
		{name: "bcrypt jBCrypt abc cost 6", hash: "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i", secret: "abc", want: true},
		{name: "bcrypt jBCrypt alphabet cost 6", hash: "$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC", secret: "abcdefghijklmnopqrstuvwxyz", want: true},
		{name: "bcrypt jBCrypt symbols cost 6", hash: "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO", secret: "~!@#$%^&*()      ~!@#$%^&*()PNBFRD", want: true},
		{name: "bcrypt jBCrypt abc cost 8", hash: "$2a$08$Ro0CUfOqk6cXEKf3dyaM7OhSCvnwM9s4wIX9JeLapehKK5YdLxKcm", secret: "abc", want: true},
		{name: "bcrypt jBCrypt a, wrong secret", hash: "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe", secret: "b", want: false},
		{name: "bcrypt jBCrypt abc, secret plus one char", hash: "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i", secret: "abcx", want: false},
		// The empty-password vector is valid bcrypt, but an empty secret
		// never verifies here.
		{name: "bcrypt jBCrypt empty secret refused", hash: "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.", secret: "", want: false},
		// Openwall crypt_blowfish wrapper.c vectors.
		{name: "bcrypt openwall U*U", hash: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", secret: "U*U", want: true},
		{name: "bcrypt openwall U*U*", hash: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", secret: "U*U*", want: true},
		{name: "bcrypt openwall 72-byte truncation", hash: "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui", secret: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored", want: true},
		{name: "bcrypt openwall 72-byte truncation, other tail", hash: "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui", secret: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", want: true},
		// $2b$ and $2y$ differ from $2a$ only for secrets of 255+ bytes or
		// with 8-bit characters in buggy implementations, so the same salt
		// and hash verify under each prefix.
		{name: "bcrypt 2b U*U", hash: "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", secret: "U*U", want: true},
		{name: "bcrypt 2y U*U", hash: "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", secret: "U*U", want: true},
		// PHP manual, password_verify example.
		{name: "bcrypt php 2y", hash: "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", secret: "rasmuslerdorf", want: true},
		{name: "bcrypt php 2y wrong", hash: "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", secret: "rasmuslerdorF", want: false},

		// Argon2 reference implementation vectors (phc-winner-argon2).
		{name: "argon2id ref m=64MiB t=2 p=1", hash: refArgon2idM64T2P1, secret: "password", want: true},
		{name: "argon2id ref m=256 t=2 p=1", hash: "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", secret: "password", want: true},
		{name: "argon2id ref m=256 t=2 p=2", hash: "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc", secret: "password", want: true},
		{name: "argon2id ref m=64MiB t=1 p=1", hash: "$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg", secret: "password", want: true},
		{name: "argon2id ref differentpassword", hash: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94", secret: "differentpassword", want: true},
		{name: "argon2id ref diffsalt", hash: "$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw", secret: "password", want: true},
		{name: "argon2id ref wrong secret", hash: "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", secret: "passwore", want: false},
		{name: "argon2id ref lanes differ", hash: "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", secret: "password", want: false},
		{name: "argon2id pinned defaults", hash: pinnedArgon2id, secret: pinnedArgon2idSecret, want: true},
		{name: "argon2id pinned defaults wrong", hash: pinnedArgon2id, secret: pinnedArgon2idSecret + " ", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.hash)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := h.Verify(tt.secret); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVerifyRefusesOutOfRangeSecrets(t *testing.T) {
	long := strings.Repeat("x", MaxSecretLen+1)
	h, err := Parse(NewSHA256(long))
	if err != nil {
		t.Fatal(err)
	}
	if h.Verify(long) {
		t.Error("a secret longer than MaxSecretLen verified")
	}
	ok, err := Parse(NewSHA256(long[:MaxSecretLen]))
	if err != nil {
		t.Fatal(err)
	}
	if !ok.Verify(long[:MaxSecretLen]) {
		t.Error("a secret of exactly MaxSecretLen did not verify")
	}
	empty, err := Parse(NewSHA256(""))
	if err != nil {
		t.Fatal(err)
	}
	if empty.Verify("") {
		t.Error("the empty secret verified")
	}
	var zero Hash
	if zero.Verify("x") || zero.Slow() || zero.Scheme() != "" || zero.String() != "" || !zero.IsZero() {
		t.Error("zero Hash is not inert")
	}
}

// TestEncodeArgon2idReference checks the PHC encoder against the reference
// implementation's output, byte for byte.
func TestEncodeArgon2idReference(t *testing.T) {
	got := encodeArgon2id("password", []byte("somesalt"), Argon2Params{Memory: 65536, Time: 2, Threads: 1, KeyLen: 32})
	if got != refArgon2idM64T2P1 {
		t.Errorf("encodeArgon2id = %s\nwant             %s", got, refArgon2idM64T2P1)
	}
	h, err := Parse(refArgon2idM64T2P1)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(h.p.key) != refArgon2idM64T2P1Hex {
		t.Errorf("decoded tag = %x, want %s", h.p.key, refArgon2idM64T2P1Hex)
	}
}

// TestArgon2idPinnedParams cross-checks the pinned vector by decoding it.
func TestArgon2idPinnedParams(t *testing.T) {
	h, err := Parse(pinnedArgon2id)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := h.Argon2Params()
	want := DefaultArgon2Params
	if !ok || p != want {
		t.Errorf("Argon2Params = %+v, %v; want %+v", p, ok, want)
	}
	for i, b := range h.p.salt {
		if b != byte(i) {
			t.Fatalf("salt = %x, want 000102…0f", h.p.salt)
		}
	}
	if _, ok := h.BcryptCost(); ok {
		t.Error("BcryptCost reported ok for an argon2id hash")
	}
	b, err := Parse("$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe")
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := b.BcryptCost(); !ok || c != 6 {
		t.Errorf("BcryptCost = %d, %v; want 6, true", c, ok)
	}
	if _, ok := b.Argon2Params(); ok {
		t.Error("Argon2Params reported ok for a bcrypt hash")
	}
}

func TestHashTextRoundTrip(t *testing.T) {
	type conf struct {
		SecretHash Hash `json:"secret_hash"`
	}
	var c conf
	if err := json.Unmarshal([]byte(`{"secret_hash":"`+sha256OfABC+`"}`), &c); err != nil {
		t.Fatal(err)
	}
	if !c.SecretHash.Verify("abc") {
		t.Error("unmarshalled hash does not verify")
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"secret_hash":"` + sha256OfABC + `"}`; string(out) != want {
		t.Errorf("Marshal = %s, want %s", out, want)
	}
	before := c.SecretHash
	err = json.Unmarshal([]byte(`{"secret_hash":"sha256$00"}`), &c)
	if !errors.Is(err, ErrSHA256Length) {
		t.Errorf("Unmarshal of a bad hash: err = %v, want ErrSHA256Length", err)
	}
	if c.SecretHash != before {
		t.Error("a failed UnmarshalText changed the Hash")
	}
}
