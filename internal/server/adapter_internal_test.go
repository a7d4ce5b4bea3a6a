package server

import (
	"net"
	"net/netip"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

func TestAcquireRequest(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		uri        string
		remote     net.IP
		body       string
		wantURI    string
		wantRemote netip.Addr
	}{
		{name: "POST with query keeps the request-target", method: "POST", uri: "/token?tenant=a&x=%20", remote: net.IPv4(192, 0, 2, 7), body: "grant_type=client_credentials",
			wantURI: "/token?tenant=a&x=%20", wantRemote: netip.MustParseAddr("192.0.2.7")},
		{name: "IPv6 peer", method: "GET", uri: "/authorize?client_id=x", remote: net.ParseIP("2001:db8::1"),
			wantURI: "/authorize?client_id=x", wantRemote: netip.MustParseAddr("2001:db8::1")},
		{name: "IPv4-mapped peer is unmapped", method: "GET", uri: "/healthz", remote: net.ParseIP("::ffff:10.0.0.1"),
			wantURI: "/healthz", wantRemote: netip.MustParseAddr("10.0.0.1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fr fasthttp.Request
			fr.Header.SetMethod(tt.method)
			fr.SetRequestURI(tt.uri)
			fr.Header.Set("Authorization", "Basic eDp5")
			fr.SetBodyString(tt.body)
			var ctx fasthttp.RequestCtx
			ctx.Init(&fr, &net.TCPAddr{IP: tt.remote, Port: 5}, nil)
			q := acquireRequest(&ctx)
			r := q.r
			if r.Method != tt.method || r.URI != tt.wantURI || r.Secure || r.RemoteAddr != tt.wantRemote || string(r.Body) != tt.body {
				t.Fatalf("request = %+v", r)
			}
			if got := r.Header.Get("authorization"); got != "Basic eDp5" {
				t.Fatalf("Header.Get = %q", got)
			}
			releaseRequest(q)
			if q.r.Body != nil || q.hdr.h != nil {
				t.Fatal("release kept references into fasthttp's buffers")
			}
		})
	}
}

func TestWriteResponse(t *testing.T) {
	var ctx fasthttp.RequestCtx
	writeResponse(&ctx, &endpoint.Response{Status: 302, Header: endpoint.Headers{
		{Name: "Location", Value: "https://app.test/cb?code=x"},
		{Name: "Cache-Control", Value: "no-store"},
		{Name: "Set-Cookie", Value: "a=1; Secure; HttpOnly"},
		{Name: "Set-Cookie", Value: "b=2; Secure; HttpOnly"},
		{Name: "Content-Type", Value: "text/html; charset=utf-8"},
	}, Body: []byte("<p>moved</p>")})
	r := &ctx.Response
	if r.StatusCode() != 302 || string(r.Header.Peek("Location")) != "https://app.test/cb?code=x" ||
		string(r.Header.ContentType()) != "text/html; charset=utf-8" || string(r.Body()) != "<p>moved</p>" {
		t.Fatalf("response %s", r.String())
	}
	n := 0
	r.Header.VisitAllCookie(func(_, _ []byte) { n++ })
	if n != 2 {
		t.Fatalf("%d cookies written, want 2", n)
	}
}

func TestWithoutArgs(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "fasthttp's connection error", in: "error when serving connection %q<->%q: %v", want: "error when serving connection …<->…: …"},
		{name: "flags and width", in: "n=%-08.3f done", want: "n=… done"},
		{name: "a literal percent", in: "100%% of %d", want: "100% of …"},
		{name: "a trailing percent", in: "cut %", want: "cut …"},
		{name: "no verb", in: "plain", want: "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := withoutArgs(tt.in); got != tt.want {
				t.Errorf("withoutArgs(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
