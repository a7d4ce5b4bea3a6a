package crypttoken

import (
	"crypto/ed25519"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// nestedFuzz is the fixed material of FuzzOpenNested: an audience key, a
// deterministic (Ed25519) signing key, and Openers with and without the
// signature requirement.
type nestedFuzz struct {
	key             *keys.Key
	sigKey          *keys.Key
	strict, lenient *Opener
	hdr             string
}

func newNestedFuzz(t testing.TB) *nestedFuzz {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	sk, err := keys.NewSigningKey("fuzz-sig", keys.EdDSA, ed25519.NewKeyFromSeed(seed), testLifecycle())
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.NewSet(keys.SigningRing, sk)
	if err != nil {
		t.Fatal(err)
	}
	src, err := RingKeys(keys.NewRing(set), testClock)
	if err != nil {
		t.Fatal(err)
	}
	n := &nestedFuzz{key: testKey(t, "fuzz-kw", keys.A256KW, 0x5a), sigKey: sk}
	ring := testRing(t, n.key)
	if n.strict, err = NewOpener(ring, Expected{}, WithClock(testClock), WithSignedTokens(src)); err != nil {
		t.Fatal(err)
	}
	if n.lenient, err = NewOpener(ring, Expected{}, WithClock(testClock)); err != nil {
		t.Fatal(err)
	}
	n.hdr = `{"alg":"A256KW","enc":"A256GCM","kid":"fuzz-kw","typ":"at+jwt","cty":"JWT"}`
	return n
}

// genuine returns the JWSs the issuer would sign: Ed25519 is deterministic,
// so they are fixed strings.
func (n *nestedFuzz) genuine(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, payload := range []string{claimsJSON(""), claimsJSON(`,"status":{"status_list":{"idx":1,"uri":"https://i/s"}}`)} {
		tok, err := jws.Sign(n.sigKey, jws.Protected{Type: string(TypeAccess)}, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok)
	}
	return out
}

var nestedGarbage = []string{
	"", "..", "a.b.c", b64s(`{"alg":"none","typ":"at+jwt"}`) + "." + b64s(claimsJSON("")) + ".",
	b64s(`{"alg":"EdDSA","kid":"fuzz-sig","typ":"JWT"}`) + "." + b64s(claimsJSON("")) + ".AAAA",
	claimsJSON(""),
}

// TestNestedSeeds keeps FuzzOpenNested's seeds meaningful: the genuine
// JWSs open under both Openers. With -update it rewrites the seed corpus.
func TestNestedSeeds(t *testing.T) {
	n := newNestedFuzz(t)
	seeds := append(n.genuine(t), nestedGarbage...)
	if *update {
		writeCorpus(t, filepath.Join("testdata", "fuzz", "FuzzOpenNested"), func(s string) string { return "string(" + strconv.Quote(s) + ")" }, seeds)
	}
	for _, inner := range n.genuine(t) {
		tok := forge(t, n.key, n.hdr, inner)
		for _, o := range []*Opener{n.strict, n.lenient} {
			if _, err := o.Open(tok); err != nil {
				t.Fatalf("genuine nested token: %v", err)
			}
		}
	}
}

// FuzzOpenNested: whatever a holder of the audience key puts inside a
// nested token, Open never panics, and the Opener that requires signatures
// opens only the issuer's own JWSs, byte for byte.
func FuzzOpenNested(f *testing.F) {
	n := newNestedFuzz(f)
	genuine := map[string]bool{}
	for _, s := range n.genuine(f) {
		genuine[s] = true
		f.Add(s)
	}
	for _, s := range nestedGarbage {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, inner string) {
		tok := forge(t, n.key, n.hdr, inner)
		c, err := n.strict.Open(tok)
		if err == nil && !genuine[inner] {
			t.Fatalf("opened a nested token the issuer did not sign: %q", inner)
		}
		if (err == nil) != (c != nil) {
			t.Fatalf("claims %v with error %v", c, err)
		}
		c, err = n.lenient.Open(tok)
		if (err == nil) != (c != nil) {
			t.Fatalf("claims %v with error %v", c, err)
		}
	})
}
