package endpoint_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	xff := func(values ...string) endpoint.Headers {
		h := endpoint.Headers{}
		for _, v := range values {
			h = append(h, endpoint.HeaderField{Name: "X-Forwarded-For", Value: v})
		}
		return h
	}
	tests := []struct {
		name   string
		peer   string
		header endpoint.Header
		want   string
	}{
		{name: "SPEC §5 an untrusted peer is the client, whatever it forwards", peer: "203.0.113.7", header: xff("1.2.3.4"), want: "203.0.113.7"},
		{name: "SPEC §5 a trusted proxy's last hop is the client", peer: "10.0.0.1", header: xff("198.51.100.5"), want: "198.51.100.5"},
		{name: "SPEC §5 the chain is walked from the right past trusted proxies", peer: "10.0.0.1", header: xff("198.51.100.5, 10.1.2.3"), want: "198.51.100.5"},
		{name: "SPEC §5 entries left of the first untrusted hop are the client's own claims", peer: "10.0.0.1", header: xff("6.6.6.6, 198.51.100.5, 10.1.2.3"), want: "198.51.100.5"},
		{name: "RFC 9110 §5.3 several field lines are one list, in order", peer: "10.0.0.1", header: xff("6.6.6.6", "198.51.100.5"), want: "198.51.100.5"},
		{name: "RFC 9110 §5.6.1 empty list elements are skipped", peer: "10.0.0.1", header: xff("198.51.100.5, ,"), want: "198.51.100.5"},
		{name: "SPEC §5 all hops trusted: the leftmost is the client", peer: "10.0.0.1", header: xff("10.9.9.9, 10.1.2.3"), want: "10.9.9.9"},
		{name: "SPEC §5 no header from a trusted proxy: the peer", peer: "10.0.0.1", header: endpoint.Headers{}, want: "10.0.0.1"},
		{name: "SPEC §5 a malformed entry before the client falls back to the peer", peer: "10.0.0.1", header: xff("198.51.100.5, garbage"), want: "10.0.0.1"},
		{name: "SPEC §5 a malformed entry left of the client is ignored", peer: "10.0.0.1", header: xff("garbage, 198.51.100.5"), want: "198.51.100.5"},
		{name: "SPEC §5 an unknown hop is malformed", peer: "10.0.0.1", header: xff("unknown"), want: "10.0.0.1"},
		{name: "SPEC §5 a zone is malformed", peer: "10.0.0.1", header: xff("fe80::1%eth0"), want: "10.0.0.1"},
		{name: "SPEC §5 an entry with a port", peer: "10.0.0.1", header: xff("198.51.100.5:4711"), want: "198.51.100.5"},
		{name: "SPEC §5 an IPv6 entry with a port", peer: "10.0.0.1", header: xff("[2001:db8::5]:4711"), want: "2001:db8::5"},
		{name: "SPEC §5 IPv4-mapped addresses are unmapped", peer: "::ffff:10.0.0.1", header: xff("::ffff:198.51.100.5"), want: "198.51.100.5"},
		{name: "SPEC §5 a trusted IPv6 proxy", peer: "fd00::1", header: xff("2001:db8::5"), want: "2001:db8::5"},
		{name: "SPEC §5 more than 32 hops is malformed", peer: "10.0.0.1", header: xff(strings.Repeat("10.0.0.2, ", 40) + "198.51.100.5"), want: "198.51.100.5"},
		{name: "SPEC §5 more than 32 trusted hops falls back to the peer", peer: "10.0.0.1", header: xff(strings.Repeat("10.0.0.2, ", 40) + "10.0.0.3"), want: "10.0.0.1"},
		{name: "SPEC §5 a header without Values: the first line only", peer: "10.0.0.1", header: firstOnly{xff("198.51.100.5", "198.51.100.6")}, want: "198.51.100.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := endpoint.ClientAddr(netip.MustParseAddr(tt.peer), tt.header, trusted)
			if got != netip.MustParseAddr(tt.want) {
				t.Errorf("ClientAddr = %v, want %s", got, tt.want)
			}
		})
	}
	if got := endpoint.ClientAddr(netip.Addr{}, xff("1.2.3.4"), trusted); got.IsValid() {
		t.Errorf("no peer: %v, want the zero Addr", got)
	}
}

// firstOnly is a Header without Values.
type firstOnly struct{ h endpoint.Headers }

func (f firstOnly) Get(name string) string { return f.h.Get(name) }

// FuzzClientAddr: never a panic, and the answer is always the peer or an
// address written in the header.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1", "198.51.100.5, 10.1.2.3")
	f.Add("10.0.0.1", "[2001:db8::5]:4711,,garbage")
	f.Add("203.0.113.7", "1.2.3.4")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::ffff:0:0/96")}
	f.Fuzz(func(t *testing.T, peer, value string) {
		p, err := netip.ParseAddr(peer)
		if err != nil {
			return
		}
		got := endpoint.ClientAddr(p, endpoint.Headers{{Name: "X-Forwarded-For", Value: value}}, trusted)
		if got == p.Unmap() {
			return
		}
		for _, e := range strings.Split(value, ",") {
			e = strings.TrimSpace(e)
			if a, err := netip.ParseAddr(e); err == nil && a.Unmap() == got {
				return
			}
			if ap, err := netip.ParseAddrPort(e); err == nil && ap.Addr().Unmap() == got {
				return
			}
		}
		t.Fatalf("ClientAddr(%s, %q) = %v: neither the peer nor an entry", peer, value, got)
	})
}
