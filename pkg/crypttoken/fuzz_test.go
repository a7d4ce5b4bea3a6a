package crypttoken

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/keys"
)

var update = flag.Bool("update", false, "rewrite testdata/valid-tokens.txt and the fuzz seed corpora")

// fuzzKeys are the fixed keys the fuzz targets' tokens are sealed with.
func fuzzRing(t testing.TB) *keys.Ring {
	return testRing(t, testKey(t, "fuzz-kw", keys.A256KW, 0x5a), testKey(t, "fuzz-dir", keys.Direct, 0xa5))
}

const validTokensFile = "testdata/valid-tokens.txt"

// validTokens reads the tokens that open under fuzzRing at testNow: one per
// token type and algorithm, sealed once and kept (go test -run
// TestValidTokens -update writes new ones).
func validTokens(t testing.TB) map[string]Type {
	t.Helper()
	f, err := os.Open(validTokensFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]Type{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<16)
	for sc.Scan() {
		typ, tok, ok := strings.Cut(sc.Text(), " ")
		if ok {
			out[tok] = Type(typ)
		}
	}
	if err := sc.Err(); err != nil || len(out) != 2*numTypes {
		t.Fatalf("%s: %d tokens, %v", validTokensFile, len(out), err)
	}
	return out
}

// TestValidTokens checks the stored tokens still open (so the fuzz seeds
// stay meaningful) and, with -update, seals new ones and rewrites the seed
// corpora in testdata/fuzz.
func TestValidTokens(t *testing.T) {
	ring := fuzzRing(t)
	if *update {
		var lines []string
		for _, k := range ring.Load().Keys() {
			s, err := NewSealer(testRing(t, k), WithClock(testClock))
			if err != nil {
				t.Fatal(err)
			}
			for _, typ := range types {
				tok, err := s.Seal(typ, fullClaims())
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, string(typ)+" "+tok)
			}
		}
		if err := os.WriteFile(validTokensFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		writeOpenCorpus(t, lines)
		writeCodecCorpus(t)
	}
	for tok, typ := range validTokens(t) {
		o, err := NewOpener(ring, Expected{Type: typ}, WithClock(testClock))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Open(tok); err != nil {
			t.Errorf("stored %s token does not open: %v", typ, err)
		}
	}
}

// garbageSeeds are inputs of every shape that must not open.
var garbageSeeds = []string{
	"", ".", "....", ".....", "a.b.c.d.e", "eyJhbGciOiJub25lIn0.e30.",
	b64s(`{"alg":"A256KW","enc":"A256GCM","kid":"fuzz-kw","typ":"at+jwt"}`) + ".AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA",
	b64s(`{"alg":"dir","enc":"A256GCM","kid":"fuzz-dir","typ":"at+jwt","zip":"DEF"}`) + "..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA",
	b64s(`{"alg":"none"}`) + "....",
	strings.Repeat("A", 9000),
}

func writeOpenCorpus(t *testing.T, lines []string) {
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	seeds := append([]string(nil), garbageSeeds...)
	for _, l := range lines {
		_, tok, _ := strings.Cut(l, " ")
		seeds = append(seeds, tok)
	}
	writeCorpus(t, dir, func(s string) string { return "string(" + strconv.Quote(s) + ")" }, seeds)
}

var codecSeeds = []string{
	`{}`,
	`{"iss":"https://issuer.example.com","sub":"u-1","aud":["a","b"],"exp":1700000600,"nbf":1.5,"iat":17e8,"jti":"j","client_id":"c","scope":"a b","auth_time":0,"fid":"f","gen":3,"resource":"r","redirect_uri":"https://x/cb","code_challenge":"cc","code_challenge_method":"S256"}`,
	`{"sub":"\ud83d\ude00\u00e9\n\"","x":{"y":[1,true,null,"z"]},"aud":null}`,
	`{"sub":"a","sub":"b"}`,
	`{"status":{"status_list":{"idx":12,"uri":"https://i/s/1"},"x":[]},"cnf":{"jkt":"a","x5t#S256":"b"}}`,
	"{\"sub\":\"\xff\"}",
	`[1]`,
}

func writeCodecCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzClaimsCodec")
	writeCorpus(t, dir, func(s string) string { return "[]byte(" + strconv.Quote(s) + ")" }, codecSeeds)
}

func writeCorpus(t *testing.T, dir string, literal func(string) string, seeds []string) {
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seeds {
		body := "go test fuzz v1\n" + literal(s) + "\n"
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzOpen: Open never panics, and nothing opens but the exact valid
// tokens: any change to one, however small, fails.
func FuzzOpen(f *testing.F) {
	valid := validTokens(f)
	for tok := range valid {
		f.Add(tok)
	}
	for _, s := range garbageSeeds {
		f.Add(s)
	}
	ring := fuzzRing(f)
	var openers []*Opener
	for _, typ := range types {
		o, err := NewOpener(ring, Expected{Type: typ}, WithClock(testClock))
		if err != nil {
			f.Fatal(err)
		}
		openers = append(openers, o)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		for _, o := range openers {
			c, err := o.Open(tok)
			if err == nil {
				if typ, ok := valid[tok]; !ok || typ != o.typ {
					t.Fatalf("opened a token that is not one of the valid ones: %q", tok)
				}
				if c == nil || c.Subject != fullClaims().Subject {
					t.Fatalf("opened claims %+v", c)
				}
			} else if c != nil {
				t.Fatalf("claims with error %v", err)
			}
		}
	})
}

// FuzzClaimsCodec: whatever parses is valid JSON, re-encodes, and parses
// back to equal claims.
func FuzzClaimsCodec(f *testing.F) {
	for _, s := range codecSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append([]byte(nil), b...)
		var c Claims
		if err := parseClaims(in, &c); err != nil {
			return
		}
		if string(in) != string(b) {
			t.Fatal("parse modified its input")
		}
		// Differential check: encoding/json reads the same strings.
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("accepted what encoding/json rejects: %q: %v", b, err)
		}
		for name, got := range map[string]string{"iss": c.Issuer, "sub": c.Subject, "jti": c.ID, "client_id": c.ClientID, "scope": c.Scope} {
			if want, ok := m[name].(string); ok && want != got {
				t.Fatalf("%s: %q, encoding/json %q", name, got, want)
			}
		}
		out, err := appendClaims(nil, &c)
		if err != nil {
			t.Fatalf("re-encoding %q: %v", b, err)
		}
		var c2 Claims
		if err := parseClaims(out, &c2); err != nil {
			t.Fatalf("re-parsing %q (from %q): %v", out, b, err)
		}
		if !claimsEqual(&c, &c2) {
			t.Fatalf("round trip of %q via %q:\n%+v\n%+v", b, out, c, c2)
		}
		out2, _ := appendClaims(nil, &c2)
		if string(out2) != string(out) {
			t.Fatalf("encoding not stable: %q then %q", out, out2)
		}
	})
}
