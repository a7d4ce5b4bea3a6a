//go:build !race

package crypttoken

import (
	"testing"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// TestAllocations guards the hot paths' allocation counts (SPEC §8: single
// digits per open). The ceilings are what the code reaches:
//
//   - Seal: the token; for A256KW also the content key's AES cipher and
//     GCM (crypto/aes and crypto/cipher allocate both); one more for a
//     generated jti.
//   - Open: the decrypted buffer and the Claims; for A256KW also the
//     content key's cipher and GCM. The status check (WithStatus) adds
//     nothing: a map lookup and a bit test.
func TestAllocations(t *testing.T) {
	tests := []struct {
		name string
		alg  keys.Alg
		op   string
		max  float64
	}{
		{name: "seal dir", alg: keys.Direct, op: "seal", max: 1},
		{name: "seal A256KW", alg: keys.A256KW, op: "seal", max: 3},
		{name: "seal dir with a new jti", alg: keys.Direct, op: "seal-jti", max: 2},
		{name: "open dir", alg: keys.Direct, op: "open", max: 2},
		{name: "open A256KW", alg: keys.A256KW, op: "open", max: 4},
		{name: "open dir with status", alg: keys.Direct, op: "open-status", max: 2},
		{name: "open A256KW with status", alg: keys.A256KW, op: "open-status", max: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.alg)
			c := accessClaims()
			if tt.op == "open-status" {
				src := &fakeStatus{}
				src.put(t, testListURI, newList(t, 1, 1<<16, nil))
				c.Status = StatusRef{Index: 4242, URI: testListURI}
				f.opener = f.newOpener(t, Expected{Issuer: testIssuer, Audience: testAudience}, WithStatus(src, StatusPolicy{}))
			}
			tok := f.seal(t, TypeAccess, c)
			if _, err := f.opener.Open(tok); err != nil { // warm the header cache
				t.Fatal(err)
			}
			var fn func()
			switch tt.op {
			case "seal":
				fn = func() {
					if _, err := f.sealer.Seal(TypeAccess, c); err != nil {
						t.Fatal(err)
					}
				}
			case "seal-jti":
				fn = func() {
					c.ID = ""
					if _, err := f.sealer.Seal(TypeAccess, c); err != nil {
						t.Fatal(err)
					}
				}
			case "open", "open-status":
				fn = func() {
					if _, err := f.opener.Open(tok); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := testing.AllocsPerRun(500, fn); got > tt.max {
				t.Errorf("%s: %.1f allocations, want at most %.0f", tt.name, got, tt.max)
			}
		})
	}
}
