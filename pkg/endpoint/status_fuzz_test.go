package endpoint

import (
	"strings"
	"testing"
)

// FuzzParseStatusListID: ParseStatusListID never panics, accepts only what
// String writes back byte for byte, and sizes within bounds.
func FuzzParseStatusListID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := ParseStatusListID(s)
		if !ok {
			return
		}
		if id.String() != s {
			t.Fatalf("%q parsed as %+v, which writes %q", s, id, id.String())
		}
		if id.SizeLog2 < MinStatusListSizeLog2 || id.SizeLog2 > MaxStatusListSizeLog2 || id.Size() != 1<<id.SizeLog2 {
			t.Fatalf("size 2^%d", id.SizeLog2)
		}
		if strings.ContainsAny(s, "/?#%") {
			t.Fatalf("%q is not one path segment", s)
		}
	})
}

// FuzzRequestPath: requestPath never panics and returns the path of the
// request-target: no query, and for an absolute URI what follows its host.
func FuzzRequestPath(f *testing.F) {
	f.Fuzz(func(t *testing.T, uri string) {
		p := requestPath(uri)
		if strings.Contains(p, "?") {
			t.Fatalf("requestPath(%q) = %q keeps a query", uri, p)
		}
		if (strings.HasPrefix(uri, "https://") || strings.HasPrefix(uri, "http://")) && !strings.HasPrefix(p, "/") {
			t.Fatalf("requestPath(%q) = %q is not a path", uri, p)
		}
	})
}

// FuzzETagMatches: etagMatches never panics, "*" matches, and a tag
// matches itself weak or strong.
func FuzzETagMatches(f *testing.F) {
	f.Fuzz(func(t *testing.T, header, tag string) {
		_ = etagMatches(header, tag)
		etag := `W/"` + strings.NewReplacer(`"`, "", ",", "").Replace(tag) + `"`
		if !etagMatches("*", etag) || !etagMatches(etag, etag) || !etagMatches(strings.TrimPrefix(etag, "W/"), etag) {
			t.Fatalf("%q does not match itself", etag)
		}
	})
}
