package crypttoken

import (
	"testing"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// TestEveryMutationFails changes a valid token in every way that keeps it
// short: each bit of each byte flipped, each byte replaced by every
// base64url character and by the characters a lenient decoder skips or
// accepts ('=', '.', '\n', '\r', ' ', '+', '/'), each byte deleted, and a
// line break inserted at each position. No result may open: one token has
// exactly one spelling.
func TestEveryMutationFails(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.\n\r +/"
	for _, alg := range []keys.Alg{keys.A256KW, keys.Direct} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, alg)
			tok := f.seal(t, TypeAccess, accessClaims())
			if _, err := f.opener.Open(tok); err != nil {
				t.Fatal(err)
			}
			tried := 0
			try := func(what string, at int, m []byte) {
				tried++
				if string(m) == tok {
					return
				}
				if c, err := f.opener.Open(string(m)); err == nil || c != nil {
					t.Fatalf("%s at %d opened: %q", what, at, m)
				}
			}
			b := []byte(tok)
			for i := range b {
				for bit := range 8 {
					m := append([]byte(nil), b...)
					m[i] ^= 1 << bit
					try("bit flip", i, m)
				}
				for _, r := range []byte(alphabet) {
					m := append([]byte(nil), b...)
					m[i] = r
					try("replacement", i, m)
				}
				try("deletion", i, append(append([]byte(nil), b[:i]...), b[i+1:]...))
				try("inserted line break", i, append(append(append([]byte(nil), b[:i]...), '\n'), b[i:]...))
			}
			try("appended line break", len(b), append(append([]byte(nil), b...), '\n'))
			if tried < len(b)*80 {
				t.Fatalf("only %d mutations tried", tried)
			}
		})
	}
}
