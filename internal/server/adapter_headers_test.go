package server

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// addAll is writeResponse as it was: every field through Add.
func addAll(ctx *fasthttp.RequestCtx, resp *endpoint.Response) {
	ctx.SetStatusCode(resp.Status)
	for _, f := range resp.Header {
		ctx.Response.Header.Add(f.Name, f.Value)
	}
	ctx.SetBody(resp.Body)
}

// TestWriteResponseHeaders: writeResponse puts the same bytes on the wire
// as adding every field with fasthttp's Add, for the names the endpoints
// send and for names fasthttp must normalize, repeat or refuse.
func TestWriteResponseHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header endpoint.Headers
	}{
		{name: "token response (RFC 6749 §5.1)", header: endpoint.Headers{{Name: "Content-Type", Value: "application/json;charset=UTF-8"}, {Name: "Cache-Control", Value: "no-store"}, {Name: "Pragma", Value: "no-cache"}}},
		{name: "names fasthttp rewrites", header: endpoint.Headers{{Name: "WWW-Authenticate", Value: `Basic realm="oauth"`}, {Name: "DPoP-Nonce", Value: "n"}, {Name: "x-lower", Value: "v"}, {Name: "content-type", Value: "text/plain"}}},
		{name: "repeated names", header: endpoint.Headers{{Name: "Link", Value: "<a>"}, {Name: "Link", Value: "<b>"}, {Name: "Vary", Value: "Origin"}}},
		{name: "digits, dashes and odd names", header: endpoint.Headers{{Name: "X-2fa-Hint", Value: "1"}, {Name: "X-", Value: "2"}, {Name: "-X", Value: "3"}, {Name: "A b", Value: "4"}, {Name: "X_Y", Value: "5"}}},
		{name: "CR and LF in names and values", header: endpoint.Headers{{Name: "Location", Value: "https://a.test/\r\nSet-Cookie: x=1"}, {Name: "Content-Type", Value: "text/html\r\nX: y"}, {Name: "X-Evil\r\nInjected", Value: "v"}}},
		{name: "special headers", header: endpoint.Headers{{Name: "Content-Type", Value: "text/html; charset=utf-8"}, {Name: "Server", Value: "s"}, {Name: "Content-Encoding", Value: "identity"}, {Name: "Set-Cookie", Value: "a=b; Secure"}, {Name: "Retry-After", Value: "3"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &endpoint.Response{Status: 200, Header: tt.header, Body: []byte(`{"a":1}`)}
			var got, want fasthttp.RequestCtx
			writeResponse(&got, resp)
			addAll(&want, resp)
			if g, w := got.Response.String(), want.Response.String(); g != w {
				t.Errorf("response\n got %q\nwant %q", g, w)
			}
		})
	}
}

func TestNormalizedName(t *testing.T) {
	for name, want := range map[string]bool{
		"Content-Type": true, "Cache-Control": true, "Pragma": true, "Retry-After": true, "X-2fa": true, "A": true, "X-": true,
		"": false, "WWW-Authenticate": false, "DPoP-Nonce": false, "content-type": false, "X_Y": false, "A b": false, "Ab\r": false, "X-a": false,
	} {
		if got := normalizedName(name); got != want {
			t.Errorf("normalizedName(%q) = %v, want %v", name, got, want)
		}
	}
}

// BenchmarkWriteResponse compares writing the token response's header
// fields with fasthttp's Add and with writeResponse.
func BenchmarkWriteResponse(b *testing.B) {
	resp := &endpoint.Response{Status: 200, Header: endpoint.Headers{{Name: "Content-Type", Value: "application/json;charset=UTF-8"},
		{Name: "Cache-Control", Value: "no-store"}, {Name: "Pragma", Value: "no-cache"}}, Body: make([]byte, 641)}
	for _, impl := range []struct {
		name  string
		write func(*fasthttp.RequestCtx, *endpoint.Response)
	}{{"add", addAll}, {"writeResponse", writeResponse}} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				impl.write(&ctx, resp)
			}
		})
	}
}
