package server

import (
	"net/netip"
	"sync"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// Header gives an endpoint read access to a fasthttp request's header
// fields without copying them. It satisfies endpoint.Header.
//
// Get returns a string that aliases fasthttp's request buffer: it is valid
// only until the handler returns, which is all pkg/endpoint needs (its
// Request documentation promises never to keep a request or anything it
// refers to after returning). Header is not safe for concurrent use, like
// the fasthttp.RequestHeader it wraps.
type Header struct{ h *fasthttp.RequestHeader }

// NewHeader wraps h.
func NewHeader(h *fasthttp.RequestHeader) Header { return Header{h: h} }

// Get returns the first value of the named field, matched
// case-insensitively, or "" when the field is absent.
func (h Header) Get(name string) string {
	if h.h == nil {
		return ""
	}
	return unsafeString(h.h.Peek(name))
}

// Values returns the value of every field line called name, in order, so
// that endpoint.ClientAddr reads an X-Forwarded-For sent on several lines.
// The strings alias fasthttp's buffer, as Get's do.
func (h Header) Values(name string) []string {
	if h.h == nil {
		return nil
	}
	all := h.h.PeekAll(name)
	if len(all) == 0 {
		return nil
	}
	out := make([]string, len(all))
	for i, v := range all {
		out[i] = unsafeString(v)
	}
	return out
}

var (
	_ endpoint.Header       = Header{}
	_ endpoint.HeaderValues = Header{}
)

// unsafeString returns a string sharing b's memory. The caller must not let
// the string outlive b's validity or modify b while the string is in use.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// request is a pooled endpoint.Request with the Header that points into
// it, so that building a request per call allocates nothing.
type request struct {
	r   endpoint.Request
	hdr Header
}

var requestPool = sync.Pool{New: func() any { return new(request) }}

// acquireRequest returns an endpoint.Request describing ctx's request:
// Method, URI (the request-target as received), Secure (the connection is
// TLS), RemoteAddr (the peer, IPv4-mapped addresses unmapped), Header (a
// zero-copy view) and Body. Its strings and Body alias fasthttp's buffers:
// release it with releaseRequest before the handler returns and never keep
// anything it refers to.
func acquireRequest(ctx *fasthttp.RequestCtx) *request {
	q := requestPool.Get().(*request)
	q.hdr = Header{h: &ctx.Request.Header}
	q.r = endpoint.Request{
		Method:     unsafeString(ctx.Method()),
		URI:        unsafeString(ctx.RequestURI()),
		Secure:     ctx.IsTLS(),
		RemoteAddr: remoteAddr(ctx),
		Header:     &q.hdr,
		Body:       ctx.PostBody(),
	}
	return q
}

// releaseRequest returns q to the pool, dropping its references into
// fasthttp's buffers.
func releaseRequest(q *request) {
	q.r = endpoint.Request{}
	q.hdr = Header{}
	requestPool.Put(q)
}

// remoteAddr returns the peer's IP address, or the zero Addr if unknown.
func remoteAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	a, ok := netip.AddrFromSlice(ctx.RemoteIP())
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

// writeResponse copies resp into ctx's response: status, header fields
// and body. fasthttp copies every value, so resp may be discarded after.
func writeResponse(ctx *fasthttp.RequestCtx, resp *endpoint.Response) {
	ctx.SetStatusCode(resp.Status)
	for _, f := range resp.Header {
		ctx.Response.Header.Add(f.Name, f.Value)
	}
	ctx.SetBody(resp.Body)
}
