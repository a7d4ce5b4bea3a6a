package endpoint

import (
	"net/netip"
	"slices"
	"strings"
)

// checkTransport enforces RFC 6749 §3.1 and §3.2: TLS is required, and an
// endpoint URI never carries a fragment. Behind a TLS-terminating proxy the
// X-Forwarded-Proto header is believed only from a trusted proxy address.
func (s *Server) checkTransport(r *Request) *Error {
	if strings.IndexByte(r.URI, '#') >= 0 {
		return NewError(InvalidRequest, "the request URI must not include a fragment (RFC 6749 §3.1)")
	}
	if r.Secure {
		return nil
	}
	if len(s.trustedProxies) > 0 && r.RemoteAddr.IsValid() {
		addr := r.RemoteAddr.Unmap()
		trusted := slices.ContainsFunc(s.trustedProxies, func(p netip.Prefix) bool { return p.Contains(addr) })
		if trusted && strings.EqualFold(strings.TrimSpace(lastValue(r.Header.Get("X-Forwarded-Proto"))), "https") {
			return nil
		}
	}
	return NewError(InvalidRequest, "TLS is required (RFC 6749 §3.1, §3.2)")
}

// lastValue returns the last element of a comma-separated header value:
// the one the trusted proxy itself set or appended.
func lastValue(v string) string {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		return v[i+1:]
	}
	return v
}

// endpointQuery returns the query component of a request URI.
func endpointQuery(uri string) string {
	if _, q, ok := strings.Cut(uri, "?"); ok {
		return q
	}
	return ""
}
