package server_test

import (
	"encoding/base64"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/internal/server"
)

// BenchmarkHandler measures the handler in-process, without network or
// TLS: the token endpoint with and without its log line, beside a bare
// handler answering a fixed body.
func BenchmarkHandler(b *testing.B) {
	f := newFixture(b, fixtureOpts{})
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret))
	body := make([]byte, 494)
	handlers := []struct {
		name string
		h    fasthttp.RequestHandler
	}{
		{name: "impl=bare", h: func(ctx *fasthttp.RequestCtx) {
			ctx.SetStatusCode(200)
			ctx.Response.Header.Add("Content-Type", "application/json;charset=UTF-8")
			ctx.Response.Header.Add("Cache-Control", "no-store")
			ctx.Response.Header.Add("Pragma", "no-cache")
			ctx.SetBody(body)
		}},
		// log=json is the handler as issuer serve builds it (successful
		// request lines by the request-line encoder); log=zerolog leaves
		// every line to zerolog.
		{name: "impl=token/log=json", h: server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.New(io.Discard).Hook(server.Timestamp), RequestLines: io.Discard, Metrics: f.metrics}).ServeFastHTTP},
		{name: "impl=token/log=zerolog", h: server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.New(io.Discard).Hook(server.Timestamp), Metrics: f.metrics}).ServeFastHTTP},
		{name: "impl=token/log=off", h: server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.Nop()}).ServeFastHTTP},
		{name: "impl=token/log=off/metrics", h: server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.Nop(), Metrics: f.metrics}).ServeFastHTTP},
		{name: "impl=token/log=json/nometrics", h: server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.New(io.Discard).Hook(server.Timestamp), RequestLines: io.Discard}).ServeFastHTTP},
	}
	// The full token handler on every core at once, each goroutine on a
	// request (a connection) of its own: what the handler shares between
	// cores (metrics, the log writer, pools, the status index) shows here
	// as CPU per request above the single-core rows (ns/op is wall time;
	// with GOMAXPROCS goroutines the CPU per request is that many times it).
	b.Run("impl=token/log=json/parallel=GOMAXPROCS", func(b *testing.B) {
		h := server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.New(io.Discard).Hook(server.Timestamp), RequestLines: io.Discard, Metrics: f.metrics}).ServeFastHTTP
		var conn atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := tokenRequestCtx(auth, int(conn.Add(1)))
			for pb.Next() {
				ctx.Response.Reset()
				h(ctx)
				if ctx.Response.StatusCode() != 200 {
					b.Errorf("status %d", ctx.Response.StatusCode())
					return
				}
			}
		})
	})
	for _, hh := range handlers {
		b.Run(hh.name, func(b *testing.B) {
			ctx := tokenRequestCtx(auth, 1)
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				hh.h(ctx)
			}
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("status %d", ctx.Response.StatusCode())
			}
		})
	}
}

// tokenRequestCtx is a client_credentials request to /token with the
// Authorization header auth, as a TLS-terminating proxy on loopback
// (X-Forwarded-Proto: https) forwards it from the client port port.
func tokenRequestCtx(auth string, port int) *fasthttp.RequestCtx {
	var fr fasthttp.Request
	fr.Header.SetMethod("POST")
	fr.SetRequestURI("/token")
	fr.Header.SetContentType("application/x-www-form-urlencoded")
	fr.Header.Set("Authorization", auth)
	fr.Header.Set("X-Forwarded-Proto", "https")
	fr.SetBodyString("grant_type=client_credentials&scope=read")
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&fr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, nil)
	return ctx
}
