//go:build !race

package jws_test

import (
	"testing"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// TestAllocations guards Verify's allocations: two of its own (the one
// buffer for the decoded parts and the scratch space, and the Token); HS256
// adds nothing (pooled HMAC states), Ed25519 nothing; ECDSA and RSA add what
// crypto/ecdsa (10) and crypto/rsa (9) allocate in Go 1.26.
func TestAllocations(t *testing.T) {
	tests := []struct {
		alg string
		max float64
	}{
		{jws.HS256, 2},
		{jws.EdDSA, 2},
		{jws.ES256, 12},
		{jws.RS256, 11},
	}
	set := allKeys(t)
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			f := fixtureFor(t, tt.alg)
			tok := f.sign(t, jws.Protected{Type: "JWT"}, validPayload)
			v, err := jws.NewVerifier([]string{tt.alg}, set, jws.WithType("JWT"))
			if err != nil {
				t.Fatal(err)
			}
			got := testing.AllocsPerRun(200, func() {
				if _, err := v.Verify(tok); err != nil {
					t.Fatal(err)
				}
			})
			if got > tt.max {
				t.Errorf("%s: %.1f allocations, want at most %.0f", tt.alg, got, tt.max)
			}
			t.Logf("%s: %.1f allocations", tt.alg, got)
		})
	}
	payload := []byte(validPayload)
	if got := testing.AllocsPerRun(200, func() {
		if _, err := jws.ParseClaims(payload); err != nil {
			t.Fatal(err)
		}
	}); got > 2 {
		t.Errorf("ParseClaims: %.1f allocations, want at most 2", got)
	}
}
