package redis

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseURL checks the store URL parser never panics, fails only with
// ErrURL, and refuses with fixed texts that repeat nothing of the URL, so
// never a password.
func FuzzParseURL(f *testing.F) {
	for _, seed := range []struct{ password, rest string }{
		{"s3cret", "127.0.0.1:6379/0"},
		{"s3cret", "127.0.0.1:notaport/0"},
		{"s3cret", "[::1]:6379/15?dial_timeout=2s&pool_size=4"},
		{"s3cret", "host/zero"},
		{"s3cret", "host:6379/0/1"},
		{"s3cret", "host:6379/0?colour=blue"},
		{"s3cret", "host/0#frag"},
		{"pw", "/0"},
		{"", "h%zz/0"},
	} {
		f.Add("redis", seed.password, seed.rest)
	}
	f.Add("rediss", "pw", "redis.example.com:6380/1?read_timeout=500ms")
	f.Add("unix", "pw", "/tmp/redis.sock")
	f.Add("http", "pw", "example.com/")
	f.Fuzz(func(t *testing.T, scheme, password, rest string) {
		raw := scheme + "://:" + password + "@" + rest
		o, err := parseURL(raw)
		if err != nil {
			if o != nil {
				t.Fatalf("parseURL(%q) returned options and error %v", raw, err)
			}
			if !errors.Is(err, ErrURL) {
				t.Fatalf("parseURL(%q): error %v does not match ErrURL", raw, err)
			}
			// Fixed texts only: nothing of the URL, so no password.
			if !slices.ContainsFunc(urlProblems, func(p string) bool { return err.Error() == urlError(p).Error() }) {
				t.Fatalf("parseURL(%q): error %q is not one of the fixed texts", raw, err)
			}
			return
		}
		// URL schemes are case-insensitive (RFC 3986 §3.1).
		scheme = strings.ToLower(scheme)
		if scheme != "redis" && scheme != "rediss" {
			t.Fatalf("parseURL(%q) accepted scheme %q", raw, scheme)
		}
		if (scheme == "rediss") != (o.TLSConfig != nil) {
			t.Fatalf("parseURL(%q): TLS config %v for scheme %q", raw, o.TLSConfig != nil, scheme)
		}
	})
}

// FuzzParseFamilyRecord checks the generation record parser never panics
// and accepts exactly the records rotateScript writes and reads:
// "<gen>:<exp ms>" with a canonical decimal generation that fits 64 bits,
// whose value it returns.
func FuzzParseFamilyRecord(f *testing.F) {
	for _, seed := range []string{
		"0:1", "1:1767225600000", "18446744073709551615:1", "18446744073709551616:1",
		"01:1", "1:", ":1", "1", "1:2:3", "-1:1", "+1:1", " 1:1", "1:1 ", "garbage", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rec string) {
		gen, ok := parseFamilyRecord(rec)
		g, e, found := strings.Cut(rec, ":")
		canonical := found && e != "" && !strings.ContainsFunc(e, notDigit) &&
			g == strconv.FormatUint(gen, 10)
		if ok != canonical {
			t.Fatalf("parseFamilyRecord(%q) = %d, %v; canonical %v", rec, gen, ok, canonical)
		}
		if !ok && gen != 0 {
			t.Fatalf("parseFamilyRecord(%q) refused but returned generation %d", rec, gen)
		}
	})
}

func notDigit(r rune) bool { return r < '0' || r > '9' }
