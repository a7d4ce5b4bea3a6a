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
	writeSeeds(t, "FuzzParseCache", "[]byte", append(cacheSeeds, string(real)))
	writeSeeds(t, "FuzzParseMetadata", "[]byte", metadataSeeds)
	writeSeeds(t, "FuzzMaxAge", "string", cacheControlSeeds)
}

// writeSeeds writes a seed corpus of values of type typ.
func writeSeeds(t *testing.T, target, typ string, seeds []string) {
	dir := filepath.Join("testdata", "fuzz", target)
	must(t, os.RemoveAll(dir))
	must(t, os.MkdirAll(dir, 0o755))
	for i, s := range seeds {
		body := "go test fuzz v1\n" + typ + "(" + strconv.Quote(s) + ")\n"
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

var metadataSeeds = []string{
	`{"issuer":"https://i.example","jwks_uri":"https://i.example/jwks.json","resource_keys_endpoint":"https://i.example/resource-keys","status_list_aggregation_endpoint":"https://i.example/statuslists"}`,
	`{"issuer":"https://i.example","jwks_uri":"http://i.example/jwks.json","resource_keys_endpoint":"https://i.example/k"}`,
	`{"issuer":"https://other.example"}`, `{}`, `[]`, `null`, `{"issuer":1}`, `{"issuer":"https://i.example","jwks_uri":"https://u:p@i.example/j","resource_keys_endpoint":"https://i.example/k#f"}`,
}

// FuzzParseMetadata: the issuer's metadata never panics the Client, and
// what it accepts names the issuer and https endpoints.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range metadataSeeds {
		f.Add([]byte(s))
	}
	c := &Client{issuer: "https://i.example"}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := c.parseMetadata(b)
		if err != nil {
			return
		}
		if m.Issuer != c.issuer {
			t.Fatalf("accepted the metadata of %q", m.Issuer)
		}
		for _, u := range []string{m.JWKSURI, m.ResourceKeys} {
			if _, err := httpsURL(u); err != nil {
				t.Fatalf("accepted endpoint %q: %v", u, err)
			}
		}
		if m.Aggregation != "" {
			if _, err := httpsURL(m.Aggregation); err != nil {
				t.Fatalf("accepted aggregation endpoint %q", m.Aggregation)
			}
		}
	})
}

var cacheControlSeeds = []string{"public, max-age=60", "max-age=0", `max-age="5"`, "no-store", "MAX-AGE=7,private", "max-age=99999999999999999999", ""}

// FuzzMaxAge: a Cache-Control value never panics, and the max-age it
// yields is zero or within a year.
func FuzzMaxAge(f *testing.F) {
	for _, s := range cacheControlSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cc string) {
		if d := maxAgeOf(cc); d < 0 || d > 366*24*time.Hour {
			t.Fatalf("max-age %s from %q", d, cc)
		}
	})
}
