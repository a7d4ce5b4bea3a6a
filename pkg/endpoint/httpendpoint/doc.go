// Package httpendpoint serves the endpoints of package endpoint with
// net/http, for Go programs that embed a token issuer in their own server.
//
// Each handler converts the *http.Request into an endpoint.Request —
// Secure when it arrived over TLS (r.TLS != nil), the peer address parsed
// from r.RemoteAddr, r.Header as it is, r.TLS.PeerCertificates as the
// client certificates (for mutual-TLS clients and certificate-bound
// tokens, serve with tls.Config.ClientAuth = tls.RequestClientCert: the
// endpoints verify what each client's method requires), the body read through
// http.MaxBytesReader (a body over the limit is answered 413
// invalid_request) — calls the endpoint with the request's context, and
// writes the endpoint.Response: its header fields, Content-Length, status
// and body. Nothing is logged; WithResultFunc hands each endpoint.Result to
// the caller's logger or metrics.
//
// The smallest issuer mounts everything at the paths its metadata
// advertises:
//
//	srv, err := endpoint.New(issuer, rings, clients, store)
//	...
//	mux := http.NewServeMux()
//	httpendpoint.Register(mux, srv)
//	log.Fatal(http.ListenAndServeTLS(":8443", "cert.pem", "key.pem", mux))
//
// or picks handlers one by one: Token, Introspect, Revoke, Metadata and
// Authorize (which needs an endpoint.ResourceOwner to decide for users).
// An OpenID Provider (endpoint.WithOpenID) adds RegisterOpenID, or the
// handlers UserInfo, EndSession (with an endpoint.SessionEnder that ends
// login sessions) and OpenIDConfiguration.
//
// Behind a TLS-terminating proxy, r.TLS is nil; configure the proxy's
// address with endpoint.WithTrustedProxies so that its X-Forwarded-Proto
// header (and the RFC 9440 Client-Cert header of the client certificate)
// is believed. The handlers are safe for concurrent use.
package httpendpoint
