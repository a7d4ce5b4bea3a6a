package endpoint

import (
	"net/netip"
	"slices"
	"strings"
)

// HeaderValues is implemented by a Header that can return every field line
// of a name, in order, as net/http's http.Header does. ClientAddr uses it to
// read an X-Forwarded-For sent on several lines (RFC 9110 §5.3 lets a proxy
// append a line rather than extend the last one); with a Header that lacks
// it only the first line is seen, so an adapter for a proxied deployment
// should implement it.
type HeaderValues interface {
	Values(name string) []string
}

// Values returns the value of every field called name, case-insensitively,
// in order.
func (h Headers) Values(name string) []string {
	var out []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// maxForwardedHops bounds the X-Forwarded-For entries ClientAddr walks:
// a longer chain than any deployment has is taken as malformed.
const maxForwardedHops = 32

// ClientAddr returns the address of the client that sent a request which
// arrived from peer with header fields h, given the networks of the
// proxies that are trusted to report it (SPEC §5, trusted_proxies):
//
//   - a peer that is not a trusted proxy is the client, whatever it sends;
//   - from a trusted proxy, X-Forwarded-For (every field line, joined in
//     order) is walked from the right, the end each proxy appends to, and
//     the first address that is not itself a trusted proxy is the client:
//     entries to its left were written by the client or by proxies nobody
//     vouches for, and are ignored;
//   - when every entry is a trusted proxy, the leftmost one is the client
//     (a request that started inside the proxies' network);
//   - a missing header, or one with an entry that is not an IP address
//     (optionally with a port: "192.0.2.1:4711", "[2001:db8::1]:4711")
//     before the client is reached, or with more than 32 entries, gives
//     the peer: a proxy that writes garbage cannot be believed.
//
// IPv4-mapped IPv6 addresses are unmapped. ClientAddr is the one rule every
// part of the server uses for the address it throttles, counts and logs:
// the endpoints (Server.ClientAddr), the login page and the request log.
// It allocates nothing when the peer is not trusted.
func ClientAddr(peer netip.Addr, h Header, trusted []netip.Prefix) netip.Addr {
	peer = peer.Unmap()
	if !peer.IsValid() || !containsAddr(trusted, peer) || h == nil {
		return peer
	}
	var lines []string
	if hv, ok := h.(HeaderValues); ok {
		lines = hv.Values("X-Forwarded-For")
	} else if v := h.Get("X-Forwarded-For"); v != "" {
		lines = []string{v}
	}
	client, hops := netip.Addr{}, 0
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for more := true; more; {
			entry := rest
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				more = false
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue // RFC 9110 §5.6.1: empty list elements do not count
			}
			if hops++; hops > maxForwardedHops {
				return peer
			}
			a, ok := parseForwarded(entry)
			if !ok {
				return peer
			}
			if !containsAddr(trusted, a) {
				return a
			}
			client = a
		}
	}
	if !client.IsValid() {
		return peer
	}
	return client
}

// ClientAddr returns the address of the client that sent r: the peer, or
// the address the server's trusted proxies (WithTrustedProxies) report in
// X-Forwarded-For; see the package function ClientAddr for the rule. The
// endpoints throttle and count failed authentications against it, and an
// embedding server should log it and use it for anything else per client.
func (s *Server) ClientAddr(r *Request) netip.Addr {
	if r == nil {
		return netip.Addr{}
	}
	return ClientAddr(r.RemoteAddr, r.Header, s.trustedProxies)
}

// parseForwarded parses one X-Forwarded-For entry: an IP address, or an
// address with a port as some proxies write it.
func parseForwarded(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// containsAddr reports whether one of prefixes contains a.
func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	return slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return p.Contains(a) })
}
