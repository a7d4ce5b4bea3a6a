package httpendpoint

import (
	"net/http"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// UserInfo returns a handler serving the UserInfo endpoint (OpenID Connect
// Core 1.0 §5.3) of s, GET and POST.
func UserInfo(s *endpoint.Server, opts ...Option) http.Handler {
	return &handler{cfg: newConfig(opts), call: func(r *http.Request, er *endpoint.Request) (*endpoint.Response, endpoint.Result) {
		return s.UserInfo(r.Context(), er)
	}}
}

// EndSession returns a handler serving the end-session endpoint (OpenID
// Connect RP-Initiated Logout 1.0) of s, GET and POST, with ender ending
// the user's login session (nil: the server keeps none, and the user is
// sent on at once).
func EndSession(s *endpoint.Server, ender endpoint.SessionEnder, opts ...Option) http.Handler {
	return &handler{cfg: newConfig(opts), call: func(r *http.Request, er *endpoint.Request) (*endpoint.Response, endpoint.Result) {
		return s.HandleEndSession(r.Context(), er, ender)
	}}
}

// OpenIDConfiguration returns a handler serving the OpenID Provider
// configuration of s (Discovery 1.0 §4) to GET and HEAD; other methods are
// answered 405, and a Server without endpoint.WithOpenID 404.
func OpenIDConfiguration(s *endpoint.Server) http.Handler {
	resp := s.OpenIDConfiguration() // immutable: the Server is
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case resp == nil:
			http.NotFound(w, r)
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		default:
			WriteResponse(w, resp)
		}
	})
}

// RegisterOpenID mounts the OpenID Provider's endpoints of s on mux, next
// to Register's: the UserInfo and end-session endpoints at the issuer's
// path followed by Server.Paths, and the provider configuration at the
// issuer's path followed by /.well-known/openid-configuration (Discovery
// 1.0 §4 appends it, where RFC 8414 inserts its well-known path). ender
// ends login sessions (see EndSession). It mounts nothing for a Server
// without endpoint.WithOpenID.
func RegisterOpenID(mux *http.ServeMux, s *endpoint.Server, ender endpoint.SessionEnder, opts ...Option) {
	if !s.OpenIDEnabled() {
		return
	}
	prefix := issuerPath(s.Issuer())
	p := s.Paths()
	if p.UserInfo != "" {
		mux.Handle(prefix+p.UserInfo, UserInfo(s, opts...))
	}
	if p.EndSession != "" {
		mux.Handle(prefix+p.EndSession, EndSession(s, ender, opts...))
	}
	mux.Handle(prefix+endpoint.PathOpenIDConfiguration, OpenIDConfiguration(s))
}
