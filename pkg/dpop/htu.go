package dpop

import (
	"fmt"
	"net/url"
	"strings"
)

// NormalizeURI returns the form of an HTTP URI that RFC 9449 §4.3 (9)
// compares htu in: without query and fragment, scheme and host in lower
// case, the scheme's default port dropped, an empty path as "/", and the
// path's percent-encoding normalized (RFC 3986 §6.2.2.1, §6.2.2.2:
// upper-case hex digits, unreserved characters decoded). Anything else —
// trailing slashes, case in the path, dot segments — is kept, so that two
// URIs that a server could route differently never compare equal. Only
// absolute http and https URIs without user information are accepted.
func NormalizeURI(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("not a URI")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", fmt.Errorf("not an http or https URI")
	}
	if u.Opaque != "" || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("not an absolute URI with a host and no user information")
	}
	host := strings.ToLower(u.Host)
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = host[:len(host)-4]
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = host[:len(host)-3]
	}
	if strings.HasSuffix(host, ":") { // an empty port (RFC 3986 §6.2.3)
		host = host[:len(host)-1]
	}
	if host == "" || host[0] == ':' {
		return "", fmt.Errorf("not an absolute URI with a host")
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(host) + len(path))
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	normalizePercent(&b, path)
	return b.String(), nil
}

// normalizePercent writes path with its percent-encoded triplets
// normalized: unreserved characters decoded, other hex digits upper case.
func normalizePercent(b *strings.Builder, path string) {
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c != '%' || i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
			b.WriteByte(c)
			continue
		}
		v := unhex(path[i+1])<<4 | unhex(path[i+2])
		if unreserved(v) {
			b.WriteByte(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(upper(path[i+1]))
			b.WriteByte(upper(path[i+2]))
		}
		i += 2
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// unreserved reports whether c is an RFC 3986 §2.3 unreserved character.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
