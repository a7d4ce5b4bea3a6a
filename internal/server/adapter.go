package server

import (
	"crypto/x509"
	"net/netip"
	"strings"
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
//
// The endpoints ask for constant names, almost all already in the form
// fasthttp stores names in (it normalizes them as it parses a request:
// the server never sets DisableHeaderNamesNormalizing). Such a name is
// looked up with normalization off, which finds the same field without
// copying and normalizing the name first.
func (h Header) Get(name string) string {
	if h.h == nil {
		return ""
	}
	if normalizedName(name) {
		h.h.DisableNormalizing()
		v := h.h.Peek(name)
		h.h.EnableNormalizing()
		return unsafeString(v)
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
// zero-copy view), Body and ClientCertificates (the TLS client's chain). Its strings and Body alias fasthttp's buffers:
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
	if pc, ok := ctx.Conn().(peerCertificates); ok {
		q.r.ClientCertificates = pc.PeerCertificates()
	}
	return q
}

// peerCertificates is implemented by the server's TLS connections
// (trackedTLSConn): the client certificate chain of the handshake, for
// mutual-TLS client authentication and certificate-bound tokens (SPEC §10).
type peerCertificates interface {
	PeerCertificates() []*x509.Certificate
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
//
// The endpoints' header names are constants, nearly all already in the
// form fasthttp normalizes names to, and normalizing them cost about a
// tenth of a microsecond each on every token (three passes over the name).
// A name found in that form is added with normalization off, which
// stores it unchanged: the same bytes either way (TestWriteResponseHeaders).
// Content-Type goes straight to its field, as Add would put it there.
// fasthttp still replaces any CR or LF in names and values.
func writeResponse(ctx *fasthttp.RequestCtx, resp *endpoint.Response) {
	ctx.SetStatusCode(resp.Status)
	h := &ctx.Response.Header
	for _, f := range resp.Header {
		switch {
		case f.Name == "Content-Type" && strings.IndexByte(f.Value, '\r') < 0 && strings.IndexByte(f.Value, '\n') < 0:
			h.SetContentType(f.Value)
		case normalizedName(f.Name):
			h.DisableNormalizing()
			h.Add(f.Name, f.Value)
			h.EnableNormalizing()
		default:
			h.Add(f.Name, f.Value)
		}
	}
	ctx.SetBody(resp.Body)
}

// normalizedName reports whether name is a header name fasthttp leaves as
// it is when it normalizes it: letters, digits and dashes, with a capital
// letter first and after each dash and small letters elsewhere.
func normalizedName(name string) bool {
	if name == "" {
		return false
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			if !upper {
				return false
			}
		case c >= 'a' && c <= 'z':
			if upper {
				return false
			}
		case c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
		upper = c == '-'
	}
	return true
}
