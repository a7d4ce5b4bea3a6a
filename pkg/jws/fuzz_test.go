package jws_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/jws"
)

var update = flag.Bool("update", false, "rewrite testdata/valid-tokens.txt and the fuzz seed corpora")

const validTokensFile = "testdata/valid-tokens.txt"

// validPayload is the payload of every stored valid token.
const validPayload = `{"iss":"https://issuer.example.com","sub":"u-1","aud":"a","exp":1772370000,"jti":"j-1"}`

// validTokens reads the stored tokens that verify under the fixtures' keys,
// one per algorithm (go test -run TestValidTokens -update writes new ones).
func validTokens(t testing.TB) map[string]string {
	t.Helper()
	f, err := os.Open(validTokensFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<16)
	for sc.Scan() {
		alg, tok, ok := strings.Cut(sc.Text(), " ")
		if ok {
			out[tok] = alg
		}
	}
	if err := sc.Err(); err != nil || len(out) != len(testFixtures(t)) {
		t.Fatalf("%s: %d tokens, %v", validTokensFile, len(out), err)
	}
	return out
}

// TestValidTokens checks that the stored tokens still verify (so the fuzz
// seeds stay meaningful) and, with -update, signs new ones and rewrites the
// seed corpora.
func TestValidTokens(t *testing.T) {
	if *update {
		var lines []string
		for _, f := range testFixtures(t) {
			lines = append(lines, f.alg+" "+f.sign(t, jws.Protected{Type: "JWT"}, validPayload))
		}
		if err := os.WriteFile(validTokensFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var toks []string
		for _, l := range lines {
			_, tok, _ := strings.Cut(l, " ")
			toks = append(toks, tok)
		}
		writeCorpus(t, "FuzzVerify", "string", append(toks, garbageTokens...))
		writeCorpus(t, "FuzzParseClaims", "[]byte", claimSeeds)
		writeCorpus(t, "FuzzParseJWK", "[]byte", jwkSeeds(t))
		writeCorpus(t, "FuzzParseKeySet", "[]byte", []string{string(publishedSet(t)), `{"keys":[]}`, `{"keys":[{"kty":"oct","k":"AA"}]}`, `{"keys":[{"kty":"EC"}],"keys":[]}`})
	}
	set := allKeys(t)
	for tok, alg := range validTokens(t) {
		if _, err := jws.Verify(tok, []string{alg}, set, jws.WithType("JWT")); err != nil {
			t.Errorf("stored %s token does not verify: %v", alg, err)
		}
	}
}

func writeCorpus(t *testing.T, target, typ string, seeds []string) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seeds {
		body := "go test fuzz v1\n" + typ + "(" + strconv.Quote(s) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func b64s(s string) string { return enc.EncodeToString([]byte(s)) }

// garbageTokens are inputs of every shape that must not verify.
var garbageTokens = []string{
	"", ".", "..", "...", "a.b.c", "eyJhbGciOiJub25lIn0.e30.",
	b64s(`{"alg":"ES256","kid":"k-ES256","crit":["x"],"x":1}`) + ".e30.AAAA",
	b64s(`{"alg":"HS256","kid":"k-RS256"}`) + ".e30." + strings.Repeat("A", 43),
	b64s(`{"alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"AAAA","d":"AAAA"}}`) + ".e30.AAAA",
	b64s(`{"alg":"ES256","alg":"ES256"}`) + ".e30.AAAA",
	strings.Repeat("A", jws.DefaultMaxSize+1),
}

// FuzzVerify: Verify never panics, fails only with its sentinels, and
// nothing verifies but the exact stored valid tokens — which go-jose must
// then verify too.
func FuzzVerify(f *testing.F) {
	valid := validTokens(f)
	for tok := range valid {
		f.Add(tok)
	}
	for _, s := range garbageTokens {
		f.Add(s)
	}
	set := allKeys(f)
	algs := append([]string{jws.HS256}, jws.AsymmetricAlgorithms...)
	v, err := jws.NewVerifier(algs, set)
	if err != nil {
		f.Fatal(err)
	}
	sentinels := []error{jws.ErrMalformed, jws.ErrAlgorithm, jws.ErrCritical, jws.ErrType, jws.ErrUnknownKey, jws.ErrKeyType, jws.ErrSignature}
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := v.Verify(tok)
		if err != nil {
			if got != nil {
				t.Fatal("token with error")
			}
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error %v is none of the sentinels", err)
		}
		if _, ok := valid[tok]; !ok {
			t.Fatalf("verified a token that is not one of the valid ones: %q", tok)
		}
		if string(got.Payload) != validPayload {
			t.Fatalf("payload %s", got.Payload)
		}
		if _, _, err := jws.ParseUnverified(tok); err != nil {
			t.Fatalf("ParseUnverified refuses a valid token: %v", err)
		}
	})
}

var claimSeeds = []string{
	`{}`,
	validPayload,
	`{"aud":["a","b"],"exp":1.5e9,"nbf":-1,"iat":0,"x":{"y":[1,true,null,"z"]}}`,
	`{"sub":"\ud83d\ude00\u00e9\n\"","aud":null}`,
	`{"sub":"a","sub":"b"}`,
	"{\"sub\":\"\xff\"}",
	`[1]`,
}

// FuzzParseClaims: whatever parses is valid JSON that encoding/json reads
// with the same strings, re-encodes, and parses back to equal claims.
func FuzzParseClaims(f *testing.F) {
	for _, s := range claimSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append([]byte(nil), b...)
		c, err := jws.ParseClaims(in)
		if err != nil {
			if !errors.Is(err, jws.ErrClaims) {
				t.Fatalf("error %v is not ErrClaims", err)
			}
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("accepted what encoding/json rejects: %q: %v", b, err)
		}
		for name, got := range map[string]string{"iss": c.Issuer, "sub": c.Subject, "jti": c.ID} {
			if want, ok := m[name].(string); ok && want != got {
				t.Fatalf("%s: %q, encoding/json %q", name, got, want)
			}
		}
		out, err := c.AppendJSON(nil)
		if err != nil {
			t.Fatalf("re-encoding %q: %v", b, err)
		}
		c2, err := jws.ParseClaims(out)
		if err != nil {
			t.Fatalf("re-parsing %q (from %q): %v", out, b, err)
		}
		out2, _ := c2.AppendJSON(nil)
		if string(out2) != string(out) {
			t.Fatalf("encoding not stable: %q then %q", out, out2)
		}
		_ = c.Validate(jws.Expected{Time: testClock, MaxAge: 1, MaxLifetime: 1})
	})
}

func jwkSeeds(t testing.TB) []string {
	var out []string
	for _, f := range testFixtures(t) {
		if f.pub != nil && f.alg != jws.PS256 {
			out = append(out, publicJWK(t, f.pub))
		}
	}
	return append(out, rfc7638JWK, `{"kty":"oct","k":"AAAA"}`, `{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}`,
		`{"kty":"RSA","n":"AA","e":"AQAB","x5c":["AA=="]}`, `{"kty":"OKP","crv":"X25519","x":"AAAA"}`)
}

// FuzzParseJWK: ParseJWK never panics, fails only with its sentinels, and a
// key it reads writes back (AppendPublicJWK) to a JWK of the same
// thumbprint.
func FuzzParseJWK(f *testing.F) {
	for _, s := range jwkSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := jws.ParseJWK(b)
		if err != nil {
			if !errors.Is(err, jws.ErrInvalidKey) && !errors.Is(err, jws.ErrUnsupportedKey) && !errors.Is(err, jws.ErrPrivateKey) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			return
		}
		tp, err := k.Thumbprint()
		if err != nil {
			t.Fatal(err)
		}
		js, err := jws.AppendPublicJWK(nil, k.Public(), k.KeyID(), "")
		if err != nil {
			t.Fatal(err)
		}
		k2, err := jws.ParseJWK(js)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", js, err)
		}
		if tp2, _ := k2.Thumbprint(); tp2 != tp {
			t.Fatalf("thumbprint changed: %s then %s", tp, tp2)
		}
	})
}

// FuzzParseKeySet: ParseKeySet never panics; every key of a set it reads is
// found by its kid.
func FuzzParseKeySet(f *testing.F) {
	f.Add(publishedSet(f))
	f.Add([]byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		set, err := jws.ParseKeySet(b)
		if err != nil {
			return
		}
		for _, k := range set.Keys() {
			if k.KeyID() == "" {
				continue
			}
			if got, ok := set.Lookup(k.KeyID()); !ok || got != k {
				t.Fatalf("key %q not found by its kid", k.KeyID())
			}
		}
	})
}
