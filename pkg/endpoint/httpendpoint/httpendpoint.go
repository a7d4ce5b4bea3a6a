package httpendpoint

import (
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// DefaultMaxBodyBytes bounds a request body unless WithMaxBodyBytes says
// otherwise. Token, introspection and revocation requests are a few
// hundred bytes to a few kilobytes (a refresh token or a code is under
// 1 KiB); 64 KiB leaves room for large assertions and long scope lists.
const DefaultMaxBodyBytes = 64 << 10

// WellKnownPath is the RFC 8414 §3 well-known path of the metadata document,
// before the issuer's own path, if any, is appended.
const WellKnownPath = "/.well-known/oauth-authorization-server"

// Option configures the handlers.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	maxBody     int64
	onResult    func(*http.Request, endpoint.Result)
	credentials func(*http.Request) map[string]any
	owner       endpoint.ResourceOwner
}

func newConfig(opts []Option) config {
	c := config{maxBody: DefaultMaxBodyBytes}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithMaxBodyBytes bounds the request body; a longer one is answered 413
// with an invalid_request error. n <= 0 keeps DefaultMaxBodyBytes.
func WithMaxBodyBytes(n int64) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxBody = n
		}
	})
}

// WithResultFunc calls f after each response is written, with the
// endpoint's Result (client, grant, token jti, error and its internal
// cause): the hook for a log line or metrics. The Result holds no secret or
// token. f runs on the request's goroutine and must not keep r.
func WithResultFunc(f func(r *http.Request, res endpoint.Result)) Option {
	return optionFunc(func(c *config) { c.onResult = f })
}

// WithCredentials sets a function that computes Request.Credentials, the
// data the endpoint passes to its hooks unchanged: a mutual-TLS identity
// from r.TLS, a tenant from the host, and so on.
func WithCredentials(f func(r *http.Request) map[string]any) Option {
	return optionFunc(func(c *config) { c.credentials = f })
}

// WithResourceOwner makes Register mount the authorization endpoint too,
// asking owner for each user's decision (see endpoint.Server.HandleAuthorize).
func WithResourceOwner(owner endpoint.ResourceOwner) Option {
	return optionFunc(func(c *config) { c.owner = owner })
}

// handler serves one endpoint.
type handler struct {
	cfg  config
	call func(r *http.Request, er *endpoint.Request) (*endpoint.Response, endpoint.Result)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	er, e := readRequest(w, r, &h.cfg)
	var (
		resp *endpoint.Response
		res  endpoint.Result
	)
	if e != nil {
		resp, res = endpoint.ErrorResponse(e), endpoint.Result{Err: e}
	} else {
		resp, res = h.call(r, er)
	}
	WriteResponse(w, resp)
	resp.Release() // written: net/http has copied the body
	if h.cfg.onResult != nil {
		h.cfg.onResult(r, res)
	}
}

// Token returns a handler serving the token endpoint (RFC 6749 §3.2) of s.
func Token(s *endpoint.Server, opts ...Option) http.Handler {
	return &handler{cfg: newConfig(opts), call: func(r *http.Request, er *endpoint.Request) (*endpoint.Response, endpoint.Result) {
		return s.Token(r.Context(), er)
	}}
}

// Introspect returns a handler serving the introspection endpoint
// (RFC 7662) of s.
func Introspect(s *endpoint.Server, opts ...Option) http.Handler {
	return &handler{cfg: newConfig(opts), call: func(r *http.Request, er *endpoint.Request) (*endpoint.Response, endpoint.Result) {
		return s.Introspect(r.Context(), er)
	}}
}

// Revoke returns a handler serving the revocation endpoint (RFC 7009) of s.
func Revoke(s *endpoint.Server, opts ...Option) http.Handler {
	return &handler{cfg: newConfig(opts), call: func(r *http.Request, er *endpoint.Request) (*endpoint.Response, endpoint.Result) {
		return s.Revoke(r.Context(), er)
	}}
}

// Authorize returns a handler serving the authorization endpoint (RFC 6749
// §3.1) of s, GET and POST, with owner deciding for the user (a login or
// consent page, or a trusted proxy's header).
func Authorize(s *endpoint.Server, owner endpoint.ResourceOwner, opts ...Option) http.Handler {
	return &handler{cfg: newConfig(opts), call: func(r *http.Request, er *endpoint.Request) (*endpoint.Response, endpoint.Result) {
		return s.HandleAuthorize(r.Context(), er, owner)
	}}
}

// Metadata returns a handler serving the RFC 8414 metadata document of s
// to GET and HEAD requests; other methods are answered 405.
func Metadata(s *endpoint.Server) http.Handler {
	resp := s.Metadata() // immutable: the Server is
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		WriteResponse(w, resp)
	})
}

// StatusLists returns a handler serving the Token Status Lists of s and
// their aggregation (endpoint.Server.StatusList, SPEC §9): mount it at
// Paths.StatusLists and below it.
func StatusLists(s *endpoint.Server, opts ...Option) http.Handler {
	return &handler{cfg: newConfig(opts), call: func(r *http.Request, er *endpoint.Request) (*endpoint.Response, endpoint.Result) {
		return s.StatusList(r.Context(), er)
	}}
}

// ResourceKeys returns a handler serving the key deliveries of s
// (endpoint.Server.ResourceKeys, SPEC §9).
func ResourceKeys(s *endpoint.Server, opts ...Option) http.Handler {
	return &handler{cfg: newConfig(opts), call: func(r *http.Request, er *endpoint.Request) (*endpoint.Response, endpoint.Result) {
		return s.ResourceKeys(r.Context(), er)
	}}
}

// Register mounts the token, introspection and revocation endpoints of s on
// mux at the URLs its metadata advertises (the issuer's path followed by
// Server.Paths), and the metadata document at its RFC 8414 §3 well-known
// URI. With WithResourceOwner it mounts the authorization endpoint too;
// with status lists on (endpoint.WithStatusLists) the lists and their
// aggregation; with a signing ring and Paths.ResourceKeys the key
// deliveries. Endpoints whose path is empty are not mounted.
func Register(mux *http.ServeMux, s *endpoint.Server, opts ...Option) {
	cfg := newConfig(opts)
	prefix := issuerPath(s.Issuer())
	p := s.Paths()
	mount := func(path string, h http.Handler) {
		if path != "" {
			mux.Handle(prefix+path, h)
		}
	}
	mount(p.Token, Token(s, opts...))
	mount(p.Introspect, Introspect(s, opts...))
	mount(p.Revoke, Revoke(s, opts...))
	if cfg.owner != nil {
		mount(p.Authorize, Authorize(s, cfg.owner, opts...))
	}
	if s.StatusListsEnabled() && p.StatusLists != "" {
		h := StatusLists(s, opts...)
		mount(p.StatusLists, h)
		mount(p.StatusLists+"/", h)
	}
	if s.KeyDeliveryEnabled() {
		mount(p.ResourceKeys, ResourceKeys(s, opts...))
	}
	mux.Handle(WellKnownPath+prefix, Metadata(s))
}

// issuerPath returns the path of the issuer URL without a trailing slash:
// "" for https://issuer.example.com, "/tenant" for
// https://issuer.example.com/tenant/.
func issuerPath(issuer string) string {
	rest, ok := strings.CutPrefix(issuer, "https://")
	if !ok {
		return ""
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(rest[i:], "/")
}

// ReadRequest converts r into an endpoint.Request: the method, the
// request-target as received, Secure when r arrived over TLS, the peer's
// address from r.RemoteAddr, r.Header, and the body read through
// http.MaxBytesReader with the limit maxBody (<= 0: DefaultMaxBodyBytes).
// A body over the limit is a 413 invalid_request error; a body that cannot
// be read, a 400 one. The endpoint.Request refers to r.Header and must not
// outlive the handler.
func ReadRequest(w http.ResponseWriter, r *http.Request, maxBody int64) (*endpoint.Request, *endpoint.Error) {
	cfg := config{maxBody: maxBody}
	if maxBody <= 0 {
		cfg.maxBody = DefaultMaxBodyBytes
	}
	return readRequest(w, r, &cfg)
}

func readRequest(w http.ResponseWriter, r *http.Request, cfg *config) (*endpoint.Request, *endpoint.Error) {
	uri := r.RequestURI
	if uri == "" && r.URL != nil {
		uri = r.URL.RequestURI()
	}
	er := &endpoint.Request{
		Method:     r.Method,
		URI:        uri,
		Secure:     r.TLS != nil,
		RemoteAddr: remoteAddr(r.RemoteAddr),
		Header:     r.Header,
	}
	if r.Header == nil {
		er.Header = http.Header{}
	}
	if r.TLS != nil {
		// The client certificate chain of the handshake (SPEC §10,
		// RFC 8705): serve with tls.RequestClientCert for mTLS clients.
		er.ClientCertificates = r.TLS.PeerCertificates
	}
	if r.Body != nil && r.Body != http.NoBody {
		body, err := readBody(w, r, cfg.maxBody)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				e := endpoint.Errorf(endpoint.InvalidRequest, "request body larger than %d bytes", cfg.maxBody)
				e.Status, e.Cause = http.StatusRequestEntityTooLarge, err
				return nil, e
			}
			e := endpoint.NewError(endpoint.InvalidRequest, "the request body could not be read")
			e.Cause = err
			return nil, e
		}
		er.Body = body
	}
	if cfg.credentials != nil {
		er.Credentials = cfg.credentials(r)
	}
	return er, nil
}

// readBody reads the body up to limit bytes, in one allocation when
// Content-Length is known.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength > 0 {
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(rd)
}

// remoteAddr parses http.Request.RemoteAddr ("ip:port", or a bare address
// from some servers and tests); it returns the zero Addr when it cannot.
func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// WriteResponse writes resp to w: its header fields, Content-Length, the
// status and the body.
func WriteResponse(w http.ResponseWriter, resp *endpoint.Response) {
	h := w.Header()
	for _, f := range resp.Header {
		h.Add(f.Name, f.Value)
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	if len(resp.Body) > 0 {
		_, _ = w.Write(resp.Body) // the client went away: nothing to do
	}
}
