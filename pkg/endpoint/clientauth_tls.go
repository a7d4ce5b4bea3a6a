package endpoint

import (
	"context"
	"crypto/x509"
	"errors"
	"time"

	"github.com/sealedtoken/issuer/pkg/certbind"
)

// usesTLS reports whether a is a mutual-TLS registration (RFC 8705 §2).
func (a *ClientAuth) usesTLS() bool { return a.Method == AuthTLS || a.Method == AuthSelfSignedTLS }

// clientCertificate returns the client certificate of r and the
// certificates the client sent with it (leaf first, then intermediates):
//
//   - from a trusted proxy (WithTrustedProxies), the RFC 9440 Client-Cert
//     and Client-Cert-Chain header fields, and only those: the TLS peer is
//     then the proxy, and its own certificate is never the client's;
//   - from anyone else, Request.ClientCertificates, the certificates of
//     the TLS handshake (which proved possession of the leaf's key); a
//     Client-Cert header from an untrusted peer is ignored, so a client
//     cannot claim a certificate it does not hold.
//
// No certificate is certbind.ErrNoCertificate; a malformed header,
// certbind.ErrMalformedHeader or certbind.ErrMalformedCertificate.
func (s *Server) clientCertificate(r *Request) (*x509.Certificate, []*x509.Certificate, error) {
	if s.fromTrustedProxy(r) {
		leaf, err := certbind.ParseHeader(headerValues(r.Header, certbind.HeaderName))
		if err != nil {
			return nil, nil, err
		}
		chain, err := certbind.ParseChainHeader(headerValues(r.Header, certbind.ChainHeaderName))
		if err != nil {
			return nil, nil, err
		}
		return leaf, chain, nil
	}
	if len(r.ClientCertificates) == 0 || r.ClientCertificates[0] == nil {
		return nil, nil, certbind.ErrNoCertificate
	}
	return r.ClientCertificates[0], r.ClientCertificates[1:], nil
}

// fromTrustedProxy reports whether r's peer is one of the trusted proxies.
func (s *Server) fromTrustedProxy(r *Request) bool {
	return len(s.trustedProxies) > 0 && r.RemoteAddr.IsValid() && containsAddr(s.trustedProxies, r.RemoteAddr.Unmap())
}

// headerValues returns every value of the header field name: all its field
// lines when h implements HeaderValues, else the first one; none for a nil
// Header.
func headerValues(h Header, name string) []string {
	if h == nil {
		return nil
	}
	if hv, ok := h.(HeaderValues); ok {
		return hv.Values(name)
	}
	if v := h.Get(name); v != "" {
		return []string{v}
	}
	return nil
}

// authenticateTLS authenticates a client registered for mutual TLS that
// sent its client_id (RFC 8705 §2):
//
//   - tls_client_auth (§2.1): the certificate chains, through the
//     intermediates the client sent, to a CA of WithClientCAs, is valid now,
//     allows client authentication (extended key usage clientAuth, or none),
//     and matches the client's registered subject DN or subjectAltName
//     (§2.1.2, certbind.Matcher);
//   - self_signed_tls_client_auth (§2.2): the certificate's public key is
//     one of the client's registered keys (jwks or jwks_uri); nothing else
//     of the certificate is checked, it only carries the key.
//
// Possession of the certificate's key is what the TLS handshake proved, or
// the trusted proxy vouches for (RFC 9440 §4). Every failure is
// invalid_client; like a wrong secret, it is counted by the Limiter
// against the client id and address (it costs a chain verification).
func (s *Server) authenticateTLS(ctx context.Context, r *Request, acct account, now time.Time) (account, AuthMethod, *Error) {
	var none account
	fail := func(description string, cause error) (account, AuthMethod, *Error) {
		attempt, _, _ := s.limiter.Begin("client:"+acct.id, s.ClientAddr(r), "", false, now)
		attempt.Fail()
		return none, "", NewError(InvalidClient, "client authentication failed: "+description).withCause(cause)
	}
	leaf, chain, err := s.clientCertificate(r)
	if err != nil {
		return fail("no valid client certificate was presented (RFC 8705 §2)", err)
	}
	switch acct.auth.Method {
	case AuthTLS:
		if s.clientCAs == nil {
			return none, "", AsError(errors.New("endpoint: tls_client_auth without client CAs (WithClientCAs)"))
		}
		opts := x509.VerifyOptions{
			Roots:       s.clientCAs,
			CurrentTime: now,
			KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if len(chain) > 0 {
			opts.Intermediates = x509.NewCertPool()
			for _, c := range chain {
				opts.Intermediates.AddCert(c)
			}
		}
		if _, err := leaf.Verify(opts); err != nil {
			return fail("the client certificate does not chain to a trusted CA (RFC 8705 §2.1)", err)
		}
		if err := acct.auth.TLS.Match(leaf); err != nil {
			return fail("the client certificate does not match the client's registered subject (RFC 8705 §2.1.2)", err)
		}
	case AuthSelfSignedTLS:
		set, err := s.keySet(ctx, acct.auth)
		switch {
		case errors.Is(err, errNoFetcher), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return none, "", AsError(err)
		case err != nil:
			return fail("the client's registered keys could not be obtained", err)
		}
		if err := certbind.MatchSelfSigned(leaf, set); err != nil {
			return fail("the client certificate's key is not one of the client's registered keys (RFC 8705 §2.2)", err)
		}
	}
	acct.cert = leaf
	return acct, acct.auth.Method, nil
}

// certBinding returns the x5t#S256 the access tokens of a token request
// are bound to (RFC 8705 §3), or "": the certificate the client
// authenticated with, or, for a client with CertificateBoundAccessTokens,
// the one it presented. Such a client presenting none is refused rather
// than given a bearer token it asked never to get.
func (s *Server) certBinding(r *Request, acct account) (string, *Error) {
	if acct.cert != nil {
		return certbind.Thumbprint(acct.cert), nil
	}
	if acct.client == nil || !acct.client.CertificateBoundAccessTokens {
		return "", nil
	}
	leaf, _, err := s.clientCertificate(r)
	if err != nil {
		return "", NewError(InvalidRequest, "the client's access tokens are certificate-bound (RFC 8705 §3): present a TLS client certificate").withCause(err)
	}
	return certbind.Thumbprint(leaf), nil
}
