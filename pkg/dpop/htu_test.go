package dpop_test

import (
	"testing"

	"github.com/sealedtoken/issuer/pkg/dpop"
)

// TestNormalizeURI: RFC 9449 §4.3 (9) with RFC 3986 §6.2.2 and §6.2.3.
func TestNormalizeURI(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"RFC 9449 §4.3: query and fragment dropped", "https://a.example/p?q=1#f", "https://a.example/p"},
		{"RFC 3986 §6.2.2.1: scheme and host case", "HTTPS://A.Example/p", "https://a.example/p"},
		{"RFC 3986 §6.2.2.1: path case kept", "https://a.example/P", "https://a.example/P"},
		{"RFC 3986 §6.2.3: default https port", "https://a.example:443/p", "https://a.example/p"},
		{"RFC 3986 §6.2.3: default http port", "http://a.example:80/p", "http://a.example/p"},
		{"RFC 3986 §6.2.3: other port kept", "https://a.example:8443/p", "https://a.example:8443/p"},
		{"RFC 3986 §6.2.3: http port 443 kept", "http://a.example:443/p", "http://a.example:443/p"},
		{"RFC 3986 §6.2.3: empty port", "https://a.example:/p", "https://a.example/p"},
		{"RFC 3986 §6.2.3: empty path", "https://a.example", "https://a.example/"},
		{"trailing slash kept", "https://a.example/p/", "https://a.example/p/"},
		{"RFC 3986 §6.2.2.1: percent-encoding hex case", "https://a.example/a%2fb", "https://a.example/a%2Fb"},
		{"RFC 3986 §6.2.2.2: unreserved decoded", "https://a.example/%7Euser", "https://a.example/~user"},
		{"IPv6 host", "https://[::1]:443/p", "https://[::1]/p"},
	}
	for _, tt := range tests {
		got, err := dpop.NormalizeURI(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("%s: NormalizeURI(%q) = %q, %v; want %q", tt.name, tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "/token", "ftp://a.example/p", "https://user@a.example/p", "https:opaque", "https://a.example/%zz", "https://", "http://:", "https://:443/p"} {
		if got, err := dpop.NormalizeURI(bad); err == nil {
			t.Errorf("NormalizeURI(%q) = %q, want an error", bad, got)
		}
	}
}
