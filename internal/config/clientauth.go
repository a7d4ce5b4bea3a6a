package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// Client authentication methods accepted in
// [Client.TokenEndpointAuthMethod] and [ResourceServer.TokenEndpointAuthMethod]
// (RFC 7591 §2, OpenID Connect Core §9, RFC 8705 §2).
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthSecretJWT     = "client_secret_jwt"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthTLS           = "tls_client_auth"
	AuthSelfSignedTLS = "self_signed_tls_client_auth"
	AuthNone          = "none"
)

var authMethods = []string{AuthSecretBasic, AuthSecretPost, AuthSecretJWT, AuthPrivateKeyJWT, AuthTLS, AuthSelfSignedTLS, AuthNone}

// MinEnvSecret is the shortest secret a secret_env variable may hold: 32
// bytes, what HS256 needs (RFC 7518 §3.2) and what makes a secret checked
// without throttling (a sha256 hash) hopeless to guess.
const MinEnvSecret = 32

// Auth is the authentication registration of a client or resource server,
// as [authOf] and [authOfRS] read it.
type Auth struct {
	Method     string
	SecretHash Hash
	SecretEnv  string
	JWKS       JSON
	JWKSURI    string
	Rule       certbind.Rule
}

// authOf returns the authentication registration of a client.
func authOf(c *Client) Auth {
	return Auth{Method: c.TokenEndpointAuthMethod, SecretHash: c.SecretHash, SecretEnv: c.SecretEnv, JWKS: c.JWKS, JWKSURI: c.JWKSURI,
		Rule: certbind.Rule{SubjectDN: c.TLSClientAuthSubjectDN, SANDNS: c.TLSClientAuthSANDNS, SANURI: c.TLSClientAuthSANURI,
			SANIP: c.TLSClientAuthSANIP, SANEmail: c.TLSClientAuthSANEmail}}
}

// authOfRS returns the authentication registration of a resource server.
func authOfRS(r *ResourceServer) Auth {
	return Auth{Method: r.TokenEndpointAuthMethod, SecretHash: r.SecretHash, SecretEnv: r.SecretEnv, JWKS: r.JWKS, JWKSURI: r.JWKSURI,
		Rule: certbind.Rule{SubjectDN: r.TLSClientAuthSubjectDN, SANDNS: r.TLSClientAuthSANDNS, SANURI: r.TLSClientAuthSANURI,
			SANIP: r.TLSClientAuthSANIP, SANEmail: r.TLSClientAuthSANEmail}}
}

// AuthOf returns the authentication registration of the client, for the
// server that builds it.
func (c *Client) AuthOf() Auth { return authOf(c) }

// AuthOf returns the authentication registration of the resource server.
func (r *ResourceServer) AuthOf() Auth { return authOfRS(r) }

// HasTLSRule reports whether any tls_client_auth_* value is set.
func (a *Auth) HasTLSRule() bool { return a.Rule != (certbind.Rule{}) }

// UsesClientCertificate reports whether the registration needs the TLS
// client certificate: one of the mutual-TLS methods.
func (a *Auth) UsesClientCertificate() bool {
	return a.Method == AuthTLS || a.Method == AuthSelfSignedTLS
}

// clientAuth checks the SPEC §10 keys of a client or resource server at
// path p: the method, and that exactly what it needs is set.
func (v *validator) clientAuth(p string, a Auth, public, rs bool, c *Config) {
	m := a.Method
	mp := p + ".token_endpoint_auth_method"
	switch {
	case m == "":
	case !contains(authMethods, m):
		v.errf(mp, "unknown method %q (want %s)", m, strings.Join(authMethods, ", "))
		return
	case rs && m == AuthNone:
		v.errf(mp, "a resource server must authenticate; none is for public clients")
		return
	case public && m != AuthNone:
		v.errf(mp, "a public client authenticates with none, not %s", m)
		return
	case !public && m == AuthNone:
		v.errf(mp, "none is a public client's method: set public: true")
		return
	}
	if a.SecretEnv != "" {
		switch {
		case !validEnvName(a.SecretEnv):
			v.errf(p+".secret_env", "%q is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)", a.SecretEnv)
		case public:
			v.errf(p+".secret_env", "must be empty for a public client")
		case a.SecretHash != "":
			v.errf(p+".secret_env", "set secret_hash or secret_env, not both")
		}
	}
	secretBased := m == "" || m == AuthSecretBasic || m == AuthSecretPost
	if !secretBased && m != AuthSecretJWT && a.SecretEnv != "" {
		v.errf(p+".secret_env", "has no use with token_endpoint_auth_method %s", m)
	}
	if !secretBased && a.SecretHash != "" {
		if m == AuthSecretJWT {
			v.errf(p+".secret_hash", "client_secret_jwt signs with the secret itself (HS256, RFC 7523 §2.2), which a hash cannot give: put the secret in an environment variable named by secret_env instead")
		} else {
			v.errf(p+".secret_hash", "has no use with token_endpoint_auth_method %s", m)
		}
	}
	if m == AuthSecretJWT && a.SecretEnv == "" && a.SecretHash == "" {
		v.errf(p+".secret_env", "required with client_secret_jwt: the environment variable holding the client secret (HS256 needs the secret itself)")
	}
	keysUsed := m == AuthPrivateKeyJWT || m == AuthSelfSignedTLS
	switch {
	case a.JWKS != "" && a.JWKSURI != "":
		v.errf(p+".jwks_uri", "set jwks or jwks_uri, not both")
	case keysUsed && a.JWKS == "" && a.JWKSURI == "":
		v.errf(p+".jwks", "required with %s (or jwks_uri): the client's public keys", m)
	case !keysUsed && a.JWKS != "":
		v.errf(p+".jwks", "has no use without token_endpoint_auth_method private_key_jwt or self_signed_tls_client_auth")
	case !keysUsed && a.JWKSURI != "":
		v.errf(p+".jwks_uri", "has no use without token_endpoint_auth_method private_key_jwt or self_signed_tls_client_auth")
	}
	if a.JWKS != "" {
		if set, err := jws.ParseKeySet([]byte(a.JWKS)); err != nil {
			v.errf(p+".jwks", "not a JWK Set of public keys: %v", err)
		} else if set.Len() == 0 {
			v.errf(p+".jwks", "holds no key that can verify signatures (ES256, ES384, EdDSA, RS256, PS256)")
		}
	}
	if a.JWKSURI != "" {
		if err := checkJWKSURI(a.JWKSURI); err != nil {
			v.errf(p+".jwks_uri", "%v", err)
		}
	}
	rulePath := p + ".tls_client_auth_subject_dn"
	switch {
	case m == AuthTLS && !a.HasTLSRule():
		v.errf(rulePath, "tls_client_auth needs one of tls_client_auth_subject_dn, _san_dns, _san_uri, _san_ip, _san_email (RFC 8705 §2.1.2)")
	case m != AuthTLS && a.HasTLSRule():
		v.errf(rulePath, "the tls_client_auth_* values have no use without token_endpoint_auth_method tls_client_auth")
	case m == AuthTLS:
		if _, err := certbind.NewMatcher(a.Rule); err != nil {
			v.errf(rulePath, "%v", err)
		}
		if c.TLS.ClientCAFile == "" {
			v.errf("tls.client_ca_file", "required: %s uses tls_client_auth, whose certificates must chain to these CAs (RFC 8705 §2.1)", p)
		}
	}
}

// senderConstrained checks the binding flags of a client: the implicit
// grant cannot bind a token (RFC 9449 §5.2, RFC 8705 §3.4).
func (v *validator) senderConstrained(p string, cl *Client) {
	if !contains(cl.ResponseTypes, ResponseToken) {
		return
	}
	if cl.DPoPBoundAccessTokens {
		v.errf(p+".dpop_bound_access_tokens", "the implicit grant (response type token) cannot bind tokens; remove one of them")
	}
	if cl.TLSClientCertificateBoundAccessTokens {
		v.errf(p+".tls_client_certificate_bound_access_tokens", "the implicit grant (response type token) cannot bind tokens; remove one of them")
	}
}

// checkJWKSURI: an https URL with a host, no user information or
// fragment; the fetcher refuses non-public addresses when it connects.
func checkJWKSURI(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs():
		return fmt.Errorf("%q is not an absolute URL", s)
	case u.Scheme != "https":
		return fmt.Errorf("%q must be an https URL", s)
	case u.Hostname() == "":
		return fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return fmt.Errorf("%q must not contain user information", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Errorf("%q must not have a fragment", s)
	}
	return nil
}

// dpop checks the dpop section.
func (v *validator) dpop(d *DPoP) {
	if d.NonceStep < time.Second || d.NonceStep > time.Hour {
		v.errf("dpop.nonce_step", "must be between 1s and 1h, got %s", fmtDuration(d.NonceStep))
	}
	switch {
	case d.NonceKeyEnv != "" && !validEnvName(d.NonceKeyEnv):
		v.errf("dpop.nonce_key_env", "%q is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)", d.NonceKeyEnv)
	case d.NonceKeyEnv != "" && d.NonceKeyFile != "":
		v.errf("dpop.nonce_key_env", "set at most one of dpop.nonce_key_file and dpop.nonce_key_env")
	}
	if !d.RequireNonce && (d.NonceKeyFile != "" || d.NonceKeyEnv != "") {
		v.errf("dpop.require_nonce", "false, so the nonce key has no use; set require_nonce: true or remove the key")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
