package endpoint

import (
	"crypto/x509"
	"net/netip"
	"strings"
	"sync"
)

// Request is an HTTP request as the endpoints need it, independent of any
// HTTP framework. Adapters fill it from their own request type.
//
// The endpoints read a Request and never keep it, or anything it refers to,
// after they return; an adapter may therefore point Body at a buffer it
// reuses for the next request.
type Request struct {
	// Method is the HTTP method, upper case.
	Method string
	// URI is the request-target as received: an origin-form path with
	// optional query ("/token?tenant=a"), or an absolute URI.
	URI string
	// Secure reports whether the request arrived over TLS.
	Secure bool
	// RemoteAddr is the address of the peer the request came from.
	RemoteAddr netip.Addr
	// Header gives the request's header fields.
	Header Header
	// Body is the request body (application/x-www-form-urlencoded for the
	// endpoints that take a form).
	Body []byte
	// ClientCertificates is the certificate chain the TLS client
	// presented, leaf first (tls.ConnectionState.PeerCertificates), or nil.
	// The handshake must have proved possession of the leaf's key and
	// nothing more: a listener that requests certificates without
	// verifying them (tls.RequestClientCert) lets the self-signed ones of
	// self_signed_tls_client_auth through, and the endpoints verify chains
	// themselves (WithClientCAs). Behind a TLS-terminating proxy leave it
	// nil: the endpoints read the RFC 9440 Client-Cert header of trusted
	// proxies instead.
	ClientCertificates []*x509.Certificate
	// Credentials carries whatever the embedding server knows about the
	// request beyond HTTP (a mutual-TLS identity, a tenant, ...), the
	// counterpart of oauthlib's credentials argument. The endpoints pass it
	// unchanged to the hooks that validate requests and extend claims.
	Credentials map[string]any

	// pushing marks the request PushedAuthorization validates a pushed
	// authorization request with (par.go): it is being pushed, so the
	// rule that some clients must push does not apply to it.
	pushing bool
}

// Header gives read access to request header fields. Get returns the first
// value of the named field, matched case-insensitively, or "". net/http's
// http.Header satisfies it.
type Header interface {
	Get(name string) string
}

// HeaderField is one response or request header field.
type HeaderField struct {
	Name, Value string
}

// Headers is a list of header fields that satisfies Header; adapters and
// tests use it to build a Request.
type Headers []HeaderField

// Get returns the value of the first field called name, case-insensitively.
func (h Headers) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Response is what an endpoint answers: a status, header fields and a body.
// The adapter writes all three; the endpoints set every header the RFCs
// require (Content-Type, Cache-Control, Pragma, WWW-Authenticate, Location,
// Retry-After).
type Response struct {
	Status int
	Header Headers
	Body   []byte

	pooled   bool // from responsePool: Release wipes and recycles it
	released bool // in the pool: a second Release does nothing
}

// Release hands a response's memory back for reuse by later responses. An
// adapter may call it once it has written the response (fasthttp and
// net/http copy the body); neither the response nor its Body may be used
// after. Calling it is optional: a response never released is collected as
// usual. The token endpoint's responses carry tokens, so Release wipes
// the body before keeping it. It does nothing on a nil Response, one the
// pool did not make, or one already released.
func (r *Response) Release() {
	if r == nil || !r.pooled || r.released {
		return
	}
	clear(r.Body[:cap(r.Body)])
	if cap(r.Body) > maxPooledBody {
		r.Body = nil
	}
	*r = Response{Body: r.Body[:0], pooled: true, released: true}
	responsePool.Put(r)
}

// maxPooledBody bounds the body a released response keeps, so that one
// large answer does not pin its memory in the pool.
const maxPooledBody = 8 << 10

var responsePool = sync.Pool{New: func() any {
	return &Response{Body: make([]byte, 0, 1024), pooled: true}
}}

// acquireJSON returns a pooled response with the no-store JSON headers and
// an empty Body with room for a token response; the caller appends the
// body and stores it back in Body.
func acquireJSON(status int) *Response {
	r := responsePool.Get().(*Response)
	r.Status, r.Header, r.released = status, jsonHeaders[:len(jsonHeaders):len(jsonHeaders)], false
	return r
}

// Common header sets.
var (
	// jsonHeaders go on every token-endpoint response (RFC 6749 §5.1).
	jsonHeaders = []HeaderField{
		{"Content-Type", "application/json;charset=UTF-8"},
		{"Cache-Control", "no-store"},
		{"Pragma", "no-cache"},
	}
)

// jsonResponse returns a response with a JSON body and the no-store
// headers. The header slice is shared and full to capacity, so appending to
// it copies; its fields must never be assigned to.
func jsonResponse(status int, body []byte) *Response {
	return &Response{Status: status, Header: jsonHeaders[:len(jsonHeaders):len(jsonHeaders)], Body: body}
}
