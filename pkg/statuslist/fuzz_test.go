package statuslist_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpora")

// TestWriteSeeds rewrites the seed corpora with -update (the stored
// Status List Token seed is signed by testKey(t, "sig-1", 1)).
func TestWriteSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the seed corpora")
	}
	_, s, _ := testKey(t, "sig-1", 1)
	writeCorpus(t, "FuzzVerify", []string{
		`string(` + strconv.Quote(signList(t, s, testURI, revokedList(t))) + `)`,
		`string(` + strconv.Quote(draftToken) + `)`,
		`string("")`, `string("a.b.c")`,
	})
	var dec []string
	for _, c := range []struct {
		bits int
		lst  string
	}{{1, draftLst1Short}, {2, draftLst2Short}, {1, draftLst1Long}, {4, draftLst4Long}, {3, draftLst1Short}, {8, "eJwDAAAAAAE"}, {1, "AAAA"}} {
		dec = append(dec, fmt.Sprintf("uint8(%d)\nstring(%s)", c.bits, strconv.Quote(c.lst)))
	}
	writeCorpus(t, "FuzzDecode", dec)
	var claims []string
	for _, c := range []string{`{"status_list":{"idx":0,"uri":"https://example.com/statuslists/1"}}`, `{"x":{},"status_list":{"idx":1e3,"uri":"x"}}`, `{}`} {
		claims = append(claims, `[]byte(`+strconv.Quote(c)+`)`)
	}
	writeCorpus(t, "FuzzParseClaim", claims)
}

func writeCorpus(t *testing.T, target string, values []string) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte("go test fuzz v1\n"+v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzDecode: Decode never panics nor exceeds its bound, fails only with
// its sentinels, and a list it reads re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(1), draftLst1Short)
	f.Add(uint8(2), draftLst2Long)
	f.Fuzz(func(t *testing.T, bits uint8, lst string) {
		const bound = 1 << 16
		l, err := statuslist.Decode(int(bits), lst, bound)
		if err != nil {
			if !errors.Is(err, statuslist.ErrBits) && !errors.Is(err, statuslist.ErrMalformed) && !errors.Is(err, statuslist.ErrTooLarge) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			return
		}
		if len(l.Bytes()) > bound {
			t.Fatalf("%d bytes past the bound", len(l.Bytes()))
		}
		back, err := statuslist.Decode(int(bits), l.Encode(), bound)
		if err != nil || !bytes.Equal(back.Bytes(), l.Bytes()) {
			t.Fatalf("re-encoding: %v", err)
		}
		if l.Len() > 0 {
			if _, err := l.Get(uint64(l.Len() - 1)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := l.Get(uint64(l.Len())); !errors.Is(err, statuslist.ErrIndex) {
			t.Fatal("Get(Len) in bounds")
		}
	})
}

// FuzzVerify: the Status List Token verifier never panics, and nothing but
// the exact stored tokens verifies.
func FuzzVerify(f *testing.F) {
	_, _, set := testKey(f, "sig-1", 1)
	v, err := statuslist.NewVerifier(set, statuslist.WithClock(testClock))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := v.Verify(tok, testURI)
		if err != nil {
			if got != nil {
				t.Fatal("token with error")
			}
			return
		}
		if got.Subject != testURI || got.List == nil {
			t.Fatalf("verified %+v", got)
		}
		if _, _, err := jws.ParseUnverified(tok); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseClaim: the status claim parser never panics; what it reads
// writes back and reads again the same.
func FuzzParseClaim(f *testing.F) {
	f.Add([]byte(`{"status_list":{"idx":0,"uri":"https://example.com/statuslists/1"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ref, err := statuslist.ParseClaim(raw)
		if err != nil {
			if !errors.Is(err, statuslist.ErrMalformed) && !errors.Is(err, statuslist.ErrNoStatus) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			return
		}
		back, err := statuslist.ParseClaim(ref.AppendClaim(nil))
		if err != nil || back != ref {
			t.Fatalf("round trip %+v -> %+v, %v", ref, back, err)
		}
	})
}

// FuzzParseAggregation: the aggregation parser never panics; a document it
// reads writes back and reads again the same.
func FuzzParseAggregation(f *testing.F) {
	f.Add([]byte(`{"status_lists":["https://example.com/statuslists/1","https://example.com/statuslists/2"]}`))
	f.Add([]byte(`{"status_lists":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := statuslist.ParseAggregation(b)
		if err != nil {
			if !errors.Is(err, statuslist.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		back, err := statuslist.ParseAggregation(a.AppendJSON(nil))
		if err != nil || len(back.StatusLists) != len(a.StatusLists) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range a.StatusLists {
			if back.StatusLists[i] != a.StatusLists[i] {
				t.Fatalf("round trip changed %q to %q", a.StatusLists[i], back.StatusLists[i])
			}
		}
	})
}
