package jwksfetch

import (
	"testing"
)

// FuzzCacheControl: whatever Cache-Control a server sends, the cache time
// stays within the bounds and parsing never panics.
func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=600", "public, max-age=\"60\"", "no-store", "max-age=-1", "max-age=99999999999999999999", "MAX-AGE=5,,", ""} {
		f.Add(s)
	}
	fe, err := New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ttl := fe.ttl([]string{v})
		if ttl < DefaultMinTTL || ttl > DefaultMaxTTL {
			t.Fatalf("ttl(%q) = %s, outside [%s, %s]", v, ttl, DefaultMinTTL, DefaultMaxTTL)
		}
	})
}
