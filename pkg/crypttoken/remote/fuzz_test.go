package remote

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus")

// cacheSeeds are cache documents of every shape: a real one (written by a
// Client against the fake issuer, see TestCacheSeeds), and broken ones.
var cacheSeeds = []string{
	``, `{}`, `[]`, `null`, `{"version":1}`,
	`{"version":2,"issuer":"https://i","resource_server":"r"}`,
	`{"version":1,"issuer":"https://i","resource_server":"r","metadata":{"url":"https://i/m","fetched":"2026-01-01T00:00:00Z","body":"{}"},` +
		`"jwks":{"url":"https://i/j","fetched":"2026-01-01T00:00:00Z","body":"{\"keys\":[]}"},` +
		`"delivery":{"url":"https://i/k","fetched":"2026-01-01T00:00:00Z","body":"a.b.c.d.e"},"lists":[null]}`,
	`{"version":1,"issuer":"https://i","resource_server":"r","unknown":true}`,
	`{"version":1} {"version":1}`,
}

// TestCacheSeeds writes the seed corpus of FuzzParseCache with -update:
// the garbage above and a real cache file.
func TestCacheSeeds(t *testing.T) {
	f := newFakeIssuer(t)
	f.revoke("1", 3)
	path := filepath.Join(t.TempDir(), "cache.json")
	must(t, f.mustClient(t, WithCacheFile(path)).Close())
	real, err := os.ReadFile(path)
	must(t, err)
	doc, err := parseCache(real)
	must(t, err)
	if doc.Issuer != f.url || doc.ResourceServer != testRS || len(doc.Lists) != 1 {
		t.Fatalf("cache document %+v", doc)
	}
	if !*update {
		return
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseCache")
	must(t, os.RemoveAll(dir))
	must(t, os.MkdirAll(dir, 0o755))
	for i, s := range append(cacheSeeds, string(real)) {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(s) + ")\n"
		must(t, os.WriteFile(filepath.Join(dir, "seed-"+strconv.Itoa(i)), []byte(body), 0o644))
	}
}

// FuzzParseCache: parseCache never panics, and what it accepts has every
// document it requires and marshals back to a document it accepts again.
func FuzzParseCache(f *testing.F) {
	for _, s := range cacheSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := parseCache(data)
		if err != nil {
			return
		}
		if doc.Metadata == nil || doc.JWKS == nil || doc.Delivery == nil || doc.Version != cacheVersion {
			t.Fatalf("accepted an incomplete document: %+v", doc)
		}
		for _, r := range doc.Lists {
			if r == nil || r.Body == "" || r.URL == "" || r.Fetched.Equal(time.Time{}) {
				t.Fatalf("accepted an empty list: %+v", r)
			}
		}
		again, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseCache(again); err != nil && !bytes.Equal(again, data) {
			t.Fatalf("re-encoded document refused: %v", err)
		}
	})
}
