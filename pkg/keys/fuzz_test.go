package keys

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files and fuzz seed corpora in testdata/")

// fuzzSeeds returns the seed inputs of FuzzParse and FuzzDecode: valid ring
// files (plain and wrapped with testKEK), a JWK Set, and broken variants.
func fuzzSeeds(t testing.TB) [][]byte {
	set := sampleSet(t)
	plain, err := Marshal(set)
	require.NoError(t, err)
	wrapped, err := Marshal(set, WithKEK(testKEK))
	require.NoError(t, err)
	jwks, err := ExportJWKS(set, t0)
	require.NoError(t, err)
	seeds := [][]byte{plain, wrapped, jwks, plain[:len(plain)/2], wrapped[:len(wrapped)-40], []byte(`{}`), []byte(`{"version":1,"ring":"r","keys":[]}`)}
	for _, c := range corruptionCases[:12] {
		seeds = append(seeds, []byte(c.mutate(string(plain))))
	}
	return append(seeds, signingSeeds(t)...)
}

// signingSeeds are signing ring files: the golden one (an RS256, an ES256
// and an EdDSA key), wrapped, truncated, and broken as TestParseSigningCorruption
// breaks it.
func signingSeeds(t testing.TB) [][]byte {
	plain, err := os.ReadFile(filepath.Join("testdata", "signing-ring.golden.json"))
	require.NoError(t, err)
	set, err := Parse(plain)
	require.NoError(t, err)
	wrapped, err := Marshal(set, WithKEK(testKEK))
	require.NoError(t, err)
	seeds := [][]byte{plain, wrapped, plain[:len(plain)/2]}
	for _, c := range signingCorruption {
		var f map[string]any
		require.NoError(t, json.Unmarshal(plain, &f))
		c.mutate(f)
		bad, err := json.Marshal(f)
		require.NoError(t, err)
		seeds = append(seeds, bad)
	}
	return seeds
}

// publicJWKSSeeds are public JWK Sets: the golden signing ring's export
// and variants ParsePublicJWKS must skip or refuse.
func publicJWKSSeeds(t testing.TB) [][]byte {
	plain, err := os.ReadFile(filepath.Join("testdata", "signing-ring.golden.json"))
	require.NoError(t, err)
	set, err := Parse(plain)
	require.NoError(t, err)
	doc, err := ExportJWKS(set, t0)
	require.NoError(t, err)
	ec := `{"kty":"EC","kid":"e","crv":"P-256","alg":"ES256","x":"` + b64(make([]byte, 32)) + `","y":"` + b64(make([]byte, 32)) + `"}`
	return [][]byte{
		doc,
		[]byte(`{"keys":[]}`),
		[]byte(`{"keys":[{"kty":"PQC","kid":"x"}]}`),
		[]byte(`{"keys":[` + ec + `]}`),
		[]byte(`{"keys":[{"kty":"OKP","kid":"o","crv":"Ed25519","alg":"EdDSA","x":"` + b64(make([]byte, 32)) + `","d":"AA"}]}`),
		[]byte(`{"keys":[{"kty":"RSA","kid":"r","alg":"RS256","n":"AQAB","e":"AQAB"}]}`),
		doc[:len(doc)/2],
	}
}

func jwksSeeds(t testing.TB) [][]byte {
	jwks, err := ExportJWKS(sampleSet(t), t0)
	require.NoError(t, err)
	m := b64(material(1))
	return [][]byte{
		jwks,
		[]byte(`{"keys":[]}`),
		[]byte(`{"keys":[{"kty":"oct","kid":"a","alg":"dir","k":"` + m + `"}]}`),
		[]byte(`{"keys":[{"kty":"oct","kid":"a","alg":"A256KW","use":"sig","k":"` + m + `"}]}`),
		[]byte(`{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`),
		jwks[:len(jwks)/3],
	}
}

// writeCorpus writes seeds to testdata/fuzz/<name>/ in the go fuzz corpus
// format.
func writeCorpus(t *testing.T, name string, seeds [][]byte) {
	dir := filepath.Join("testdata", "fuzz", name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, s := range seeds {
		sum := sha256.Sum256(s)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "seed-"+hex.EncodeToString(sum[:8])), []byte(body), 0o644))
	}
}

// TestGolden checks that the ring file and JWK Set formats do not change by
// accident: files written by this version must be byte-identical to the
// committed ones, and the committed ones must still parse. Run with
// -update to rewrite them (and the fuzz seed corpora) after a deliberate
// change.
func TestGolden(t *testing.T) {
	set := sampleSet(t)
	plain, err := Marshal(set)
	require.NoError(t, err)
	jwks, err := ExportJWKS(set, t0)
	require.NoError(t, err)
	golden := map[string][]byte{"ring.golden.json": plain, "jwks.golden.json": jwks}
	if *update {
		for name, data := range golden {
			require.NoError(t, os.WriteFile(filepath.Join("testdata", name), data, 0o644))
		}
		writeCorpus(t, "FuzzParse", fuzzSeeds(t))
		writeCorpus(t, "FuzzDecode", fuzzSeeds(t))
		writeCorpus(t, "FuzzParseJWKS", jwksSeeds(t))
		writeCorpus(t, "FuzzParsePublicJWKS", publicJWKSSeeds(t))
	}
	for name, want := range golden {
		got, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%s changed; run go test -run TestGolden -update if on purpose", name)
	}
	parsed, err := ReadFile(t.Context(), filepath.Join("testdata", "ring.golden.json"))
	require.NoError(t, err)
	requireSameSet(t, set, parsed)
}

// FuzzParse feeds arbitrary bytes to Parse, with and without a KEK: it must
// never panic, and whatever parses must marshal and parse back to the same
// set.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range [][]Option{nil, {WithKEK(testKEK)}} {
			set, err := Parse(data, opts...)
			if err != nil {
				if set != nil {
					t.Fatal("set returned with an error")
				}
				continue
			}
			out, err := Marshal(set, opts...)
			if err != nil {
				t.Fatalf("parsed set does not marshal: %v", err)
			}
			again, err := Parse(out, opts...)
			if err != nil {
				t.Fatalf("re-marshalled set does not parse: %v", err)
			}
			if !set.equal(again) {
				t.Fatal("round trip changed the set")
			}
		}
	})
}

// FuzzDecode feeds arbitrary bytes to Decode, which tells ring files from
// JWK Sets: no panic, and a decoded set round-trips as a ring file.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Decode(data, WithRingName("r"))
		if err != nil {
			return
		}
		out, err := Marshal(set)
		if err != nil {
			t.Fatalf("decoded set does not marshal: %v", err)
		}
		again, err := Parse(out)
		if err != nil || !set.equal(again) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

// FuzzParseJWKS feeds arbitrary bytes to ParseJWKS: no panic, and a parsed
// set exports (every key is openable) and parses back to the same set.
func FuzzParseJWKS(f *testing.F) {
	for _, s := range jwksSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := ParseJWKS("fuzz", data)
		if err != nil {
			if set != nil {
				t.Fatal("set returned with an error")
			}
			return
		}
		out, err := ExportJWKS(set, time.Now())
		if err != nil {
			t.Fatalf("parsed set does not export: %v", err)
		}
		again, err := ParseJWKS("fuzz", out)
		if err != nil {
			t.Fatalf("exported set does not parse: %v", err)
		}
		if !set.equal(again) {
			t.Fatal("round trip changed the set")
		}
	})
}

// FuzzParsePublicJWKS feeds arbitrary bytes to ParsePublicJWKS, the parser
// of the issuer's published signing keys: no panic, no key that can sign,
// and a parsed set exports and parses back to the same public keys.
func FuzzParsePublicJWKS(f *testing.F) {
	for _, s := range publicJWKSSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := ParsePublicJWKS("fuzz", data)
		if err != nil {
			if set != nil {
				t.Fatal("set returned with an error")
			}
			return
		}
		for _, k := range set.Keys() {
			if k.CanSign() {
				t.Fatalf("key %s from a public JWK Set can sign", k.ID)
			}
		}
		out, err := ExportJWKS(set, time.Now())
		if err != nil {
			t.Fatalf("parsed set does not export: %v", err)
		}
		again, err := ParsePublicJWKS("fuzz", out)
		if err != nil {
			t.Fatalf("exported set does not parse: %v", err)
		}
		if !set.equal(again) {
			t.Fatal("round trip changed the set")
		}
	})
}
