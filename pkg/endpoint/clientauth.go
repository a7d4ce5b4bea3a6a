package endpoint

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// Client authentication methods with keys and certificates (SPEC §10),
// named as RFC 7591 §2 and OpenID Connect Registration name them.
const (
	// AuthSecretJWT is a JWT assertion signed with HS256 under the client
	// secret itself (RFC 7523 §2.2, OIDC Core §9 client_secret_jwt).
	AuthSecretJWT AuthMethod = "client_secret_jwt"
	// AuthPrivateKeyJWT is a JWT assertion signed with one of the client's
	// registered private keys (RFC 7523 §2.2, OIDC Core §9).
	AuthPrivateKeyJWT AuthMethod = "private_key_jwt"
	// AuthTLS is mutual TLS with a certificate chaining to a trusted CA
	// and matching the client's registered subject or SAN (RFC 8705 §2.1).
	AuthTLS AuthMethod = "tls_client_auth"
	// AuthSelfSignedTLS is mutual TLS with a certificate whose key is one
	// of the client's registered keys (RFC 8705 §2.2).
	AuthSelfSignedTLS AuthMethod = "self_signed_tls_client_auth"
)

// AssertionAlgorithms are the JWS algorithms a private_key_jwt assertion
// may be signed with (SPEC §10); client_secret_jwt uses HS256 alone. Never
// "none", and never an HMAC algorithm with a public key (RFC 8725 §3.1).
var AssertionAlgorithms = []string{jws.ES256, jws.EdDSA, jws.PS256, jws.RS256}

// ErrAuthMethod is the logged cause of a refused client authentication
// that used a method the client is not registered for
// (ClientAuth.Method).
var ErrAuthMethod = errors.New("endpoint: client authentication method not allowed for this client")

// ErrWrongSecret is the logged cause of a refused client authentication
// of a known client whose secret did not match. The client sees the same
// answer as for an unknown id (ErrUnknownClient); an operator sees every
// guess at a secret in the log, at the warn level of failures with a
// cause.
var ErrWrongSecret = errors.New("endpoint: wrong client secret")

// ClientAuth is how a client or resource server authenticates beyond a
// secret hash (SPEC §10, RFC 7591 §2 client metadata). Its zero value keeps
// the default rule: a confidential client uses client_secret_basic or
// client_secret_post with its secret, a public client none.
//
// A ClientAuth is read concurrently and must not be modified once its
// client is in a ClientStore.
type ClientAuth struct {
	// Method, when set, is the only method the client may authenticate
	// with (token_endpoint_auth_method), at the token, introspection and
	// revocation endpoints alike: AuthSecretBasic, AuthSecretPost,
	// AuthSecretJWT, AuthPrivateKeyJWT, AuthTLS, AuthSelfSignedTLS, or
	// AuthNone for a public client.
	Method AuthMethod
	// JWKS is the client's public JWK Set (jwks): the keys that verify
	// its private_key_jwt assertions, or that its self-signed certificate
	// must hold. At most one of JWKS and JWKSURI is set.
	JWKS *jws.KeySet
	// JWKSURI is the https URL of the client's JWK Set (jwks_uri),
	// fetched through the Server's KeySetFetcher (WithKeySetFetcher), with
	// a bounded cache and a refetch on an unknown kid.
	JWKSURI string
	// HMACKey is the client secret as an HS256 key, for client_secret_jwt
	// (RFC 7523 §2.2 with RFC 7518 §3.2: at least 32 bytes). It needs the
	// secret itself, which a hash cannot give.
	HMACKey *jws.Key
	// TLS matches the client certificate for tls_client_auth (RFC 8705
	// §2.1.2: a subject DN or one subjectAltName); the certificate must
	// also chain to a CA of WithClientCAs.
	TLS *certbind.Matcher
}

// check reports whether a is consistent with a client or resource server
// that is public, or has a secret hash.
func (a *ClientAuth) check(public, hasSecret bool) error {
	keys := a.JWKS != nil || a.JWKSURI != ""
	switch {
	case a.JWKS != nil && a.JWKSURI != "":
		return fmt.Errorf("set JWKS or JWKSURI, not both")
	case public && a.Method != "" && a.Method != AuthNone:
		return fmt.Errorf("a public client authenticates with none, not %s", a.Method)
	}
	need := func(ok bool, what string) error {
		if !ok {
			return fmt.Errorf("%s needs %s", a.Method, what)
		}
		return nil
	}
	unused := func(set bool, what string) error {
		if set {
			return fmt.Errorf("%s has no use with method %q", what, a.method(public))
		}
		return nil
	}
	var err error
	switch a.Method {
	case "", AuthSecretBasic, AuthSecretPost:
		if a.Method != "" {
			err = need(hasSecret, "a secret hash")
		}
	case AuthNone:
		err = need(public, "a public client")
	case AuthSecretJWT:
		err = need(a.HMACKey != nil, "the secret as an HMAC key")
	case AuthPrivateKeyJWT, AuthSelfSignedTLS:
		err = need(keys, "JWKS or JWKSURI")
	case AuthTLS:
		err = need(a.TLS != nil, "a certificate matcher (TLS)")
	default:
		return fmt.Errorf("unknown authentication method %q", a.Method)
	}
	if err != nil {
		return err
	}
	m := a.method(public)
	return errors.Join(
		unused(keys && m != AuthPrivateKeyJWT && m != AuthSelfSignedTLS, "JWKS or JWKSURI"),
		unused(a.HMACKey != nil && m != AuthSecretJWT, "an HMAC key"),
		unused(a.TLS != nil && m != AuthTLS, "a certificate matcher"),
		unused(hasSecret && !m.secretBased() && a.Method != "", "a secret hash"),
	)
}

// method returns the registered method, or the default's name: none for a
// public client, client_secret_basic (which implies post) otherwise.
func (a *ClientAuth) method(public bool) AuthMethod {
	switch {
	case a.Method != "":
		return a.Method
	case public:
		return AuthNone
	}
	return AuthSecretBasic
}

// secretBased reports whether m proves possession of the client secret by
// sending it (Basic or the body), the methods a secret hash verifies.
func (m AuthMethod) secretBased() bool { return m == AuthSecretBasic || m == AuthSecretPost }

// allows reports whether a client with this registration may authenticate
// with the presented method.
func (a *ClientAuth) allows(public bool, presented AuthMethod) bool {
	if a.Method == "" {
		if public {
			return presented == AuthNone
		}
		return presented.secretBased()
	}
	return presented == a.Method
}

// keySet returns the client's JWK Set: JWKS, or the one at JWKSURI.
func (s *Server) keySet(ctx context.Context, a *ClientAuth) (*jws.KeySet, error) {
	if a.JWKS != nil {
		return a.JWKS, nil
	}
	if s.keyFetcher == nil {
		return nil, errNoFetcher
	}
	return s.keyFetcher.KeySet(ctx, a.JWKSURI)
}

// errNoFetcher is the cause of a client registered with a jwks_uri on a
// Server without a KeySetFetcher: a configuration mistake, server_error.
var errNoFetcher = errors.New("endpoint: a client has a jwks_uri but the server has no KeySetFetcher (WithKeySetFetcher)")

// KeySetFetcher fetches the JWK Sets that clients publish at their
// jwks_uri (RFC 7591 §2). internal/jwksfetch.Fetcher implements it with
// the SSRF defences and bounded cache such a fetch needs; pkg/endpoint
// imports no HTTP client.
type KeySetFetcher interface {
	// KeySet returns the JWK Set at uri, cached.
	KeySet(ctx context.Context, uri string) (*jws.KeySet, error)
	// Key returns the key of uri's set for a token with header h (by its
	// kid), refetching the set, at a bounded rate, on a kid it does not
	// know; else an error wrapping jws.ErrUnknownKey.
	Key(ctx context.Context, uri string, h *jws.Header) (*jws.Key, error)
}

// WithKeySetFetcher sets the fetcher of clients' jwks_uri. Without it a
// client with a JWKSURI cannot authenticate (New refuses one a
// ClientLister lists).
func WithKeySetFetcher(f KeySetFetcher) Option {
	return optionFunc(func(s *Server) error {
		if f == nil {
			return fmt.Errorf("endpoint: nil KeySetFetcher")
		}
		s.keyFetcher = f
		return nil
	})
}

// WithClientCAs sets the certificate authorities that tls_client_auth
// certificates must chain to (RFC 8705 §2.1; tls.client_ca_file). Without
// it, no client may use AuthTLS (New refuses one a ClientLister lists).
func WithClientCAs(pool *x509.CertPool) Option {
	return optionFunc(func(s *Server) error {
		if pool == nil {
			return fmt.Errorf("endpoint: nil client CA pool")
		}
		s.clientCAs = pool
		return nil
	})
}

// checkAuthSetup checks what the listed clients' and the resource servers'
// registrations need of the Server: a fetcher for a jwks_uri, CAs for
// tls_client_auth.
func (s *Server) checkAuthSetup() error {
	var auths []*ClientAuth
	var ids []string
	if l, ok := s.clients.(ClientLister); ok {
		for _, c := range l.Clients() {
			auths, ids = append(auths, &c.Auth), append(ids, "client "+c.ID)
		}
	}
	for _, rs := range s.resourceServers {
		auths, ids = append(auths, &rs.Auth), append(ids, "resource server "+rs.ID)
	}
	for i, a := range auths {
		switch {
		case a.JWKSURI != "" && s.keyFetcher == nil:
			return fmt.Errorf("endpoint: %s has a jwks_uri but the server has no KeySetFetcher (WithKeySetFetcher)", ids[i])
		case a.Method == AuthTLS && s.clientCAs == nil:
			return fmt.Errorf("endpoint: %s uses tls_client_auth but the server has no client CAs (WithClientCAs)", ids[i])
		}
	}
	return nil
}

// authMethods are the metadata members of one endpoint's client
// authentication (RFC 8414 §2).
type authMethods struct {
	methods, algs []string
}

func (m *authMethods) add(method AuthMethod) {
	if !slices.Contains(m.methods, string(method)) {
		m.methods = append(m.methods, string(method))
	}
	var algs []string
	switch method {
	case AuthPrivateKeyJWT:
		algs = AssertionAlgorithms
	case AuthSecretJWT:
		algs = []string{jws.HS256}
	}
	for _, a := range algs {
		if !slices.Contains(m.algs, a) {
			m.algs = append(m.algs, a)
		}
	}
}

// addAuth adds the methods a registration allows.
func (m *authMethods) addAuth(a *ClientAuth, public bool) {
	if a.Method == "" && !public {
		m.add(AuthSecretBasic)
		m.add(AuthSecretPost)
		return
	}
	m.add(a.method(public))
}

// put writes the members named prefix_auth_methods_supported and
// prefix_auth_signing_alg_values_supported (the latter only when a JWT
// method is listed, as RFC 8414 §2 asks) into doc, in a fixed order.
func (m *authMethods) put(doc map[string]any, prefix string) {
	order := []AuthMethod{AuthSecretBasic, AuthSecretPost, AuthSecretJWT, AuthPrivateKeyJWT, AuthTLS, AuthSelfSignedTLS, AuthNone}
	methods := []string{}
	for _, o := range order {
		if slices.Contains(m.methods, string(o)) {
			methods = append(methods, string(o))
		}
	}
	doc[prefix+"_auth_methods_supported"] = methods
	if len(m.algs) > 0 {
		var algs []string
		for _, a := range append(slices.Clone(AssertionAlgorithms), jws.HS256) {
			if slices.Contains(m.algs, a) {
				algs = append(algs, a)
			}
		}
		doc[prefix+"_auth_signing_alg_values_supported"] = algs
	}
}

// addAuthMetadata adds the client authentication and sender-constraining
// members of the metadata document (RFC 8414 §2, RFC 8705 §3.3, RFC 9449
// §5.1), advertising only what the registered clients and resource
// servers use when the ClientStore can list them (ClientLister), else
// every method this Server can check.
func (s *Server) addAuthMetadata(doc map[string]any) {
	var token, introspect, revoke authMethods
	mtls := false
	if l, ok := s.clients.(ClientLister); ok {
		for _, c := range l.Clients() {
			token.addAuth(&c.Auth, c.Public)
			revoke.addAuth(&c.Auth, c.Public)
			if !c.Public {
				introspect.addAuth(&c.Auth, false)
			}
			m := c.Auth.method(c.Public)
			mtls = mtls || c.CertificateBoundAccessTokens || m == AuthTLS || m == AuthSelfSignedTLS
		}
	} else {
		all := []AuthMethod{AuthSecretBasic, AuthSecretPost, AuthSecretJWT, AuthPrivateKeyJWT, AuthSelfSignedTLS}
		if s.clientCAs != nil {
			all = append(all, AuthTLS)
		}
		for _, m := range all {
			token.add(m)
			introspect.add(m)
			revoke.add(m)
		}
		token.add(AuthNone)
		revoke.add(AuthNone)
		mtls = true
	}
	for _, rs := range s.resourceServers {
		introspect.addAuth(&rs.Auth, false)
		revoke.addAuth(&rs.Auth, false)
		m := rs.Auth.method(false)
		mtls = mtls || m == AuthTLS || m == AuthSelfSignedTLS
	}
	token.put(doc, "token_endpoint")
	introspect.put(doc, "introspection_endpoint")
	revoke.put(doc, "revocation_endpoint")
	doc["dpop_signing_alg_values_supported"] = s.dpopAlgs
	if mtls {
		// RFC 8705 §3.3. The mTLS endpoints are the endpoints themselves
		// (the listener asks every client for a certificate), so
		// mtls_endpoint_aliases (§5) is left out: it would only repeat
		// them.
		doc["tls_client_certificate_bound_access_tokens"] = true
	}
}
