package endpoint_test

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// proxyAddr is a trusted proxy of the bind fixture (10.0.0.0/8).
const proxyAddr = "10.1.2.3"

// TestMutualTLSConformance: one row per rule of RFC 8705 §2 (client
// authentication) and RFC 9440 (the certificate from a proxy), each with a
// request that follows or breaks it; a successful one yields an access
// token bound to the certificate (§3.1).
func TestMutualTLSConformance(t *testing.T) {
	b := newBindFixture(t)
	inter := b.ca.intermediate(t, "intermediate CA")
	viaInter, _ := inter.issue(t, mtlsDNS)
	otherCA, _ := b.otherCA.issue(t, mtlsDNS)
	wrongSAN, _ := b.ca.issue(t, "someone-else.example.com")
	expired, _ := b.ca.issue(t, mtlsDNS, notAfter(t0.Add(-time.Hour)))
	serverEKU, _ := b.ca.issue(t, mtlsDNS, serverOnly())
	otherSelf := selfSigned(t, ecKey(t))
	caKeyNotRegistered, _ := b.ca.issue(t, "self.example.com")

	tests := []struct {
		name  string
		id    string
		opts  []reqOpt
		bound *x509.Certificate // 200, bound to this certificate
		want  string            // else the description fragment of a 401
	}{
		{name: "RFC 8705 §2.1 tls_client_auth: chains to the CA, SAN DNS matches", id: "mtls",
			opts: []reqOpt{withCert(b.mtlsCert)}, bound: b.mtlsCert},
		{name: "RFC 8705 §2.1 tls_client_auth: through an intermediate the client sends", id: "mtls",
			opts: []reqOpt{withCert(viaInter, inter.cert)}, bound: viaInter},
		{name: "RFC 8705 §2.1 tls_client_auth: an intermediate the client does not send", id: "mtls",
			opts: []reqOpt{withCert(viaInter)}, want: "does not chain"},
		{name: "RFC 8705 §2.1 tls_client_auth: certificate from another CA", id: "mtls",
			opts: []reqOpt{withCert(otherCA)}, want: "does not chain"},
		{name: "RFC 8705 §2.1 tls_client_auth: expired certificate", id: "mtls",
			opts: []reqOpt{withCert(expired)}, want: "does not chain"},
		{name: "RFC 8705 §2.1 tls_client_auth: certificate not for client authentication (EKU)", id: "mtls",
			opts: []reqOpt{withCert(serverEKU)}, want: "does not chain"},
		{name: "RFC 8705 §2.1.2 tls_client_auth: wrong SAN", id: "mtls",
			opts: []reqOpt{withCert(wrongSAN)}, want: "registered subject"},
		{name: "RFC 8705 §2 tls_client_auth: no certificate", id: "mtls",
			want: "no valid client certificate"},
		{name: "RFC 8705 §2.1 a self-signed certificate is not tls_client_auth", id: "mtls",
			opts: []reqOpt{withCert(b.selfCert)}, want: "does not chain"},
		{name: "RFC 9440 §2 Client-Cert from a trusted proxy", id: "mtls",
			opts: []reqOpt{fromAddr(proxyAddr), clientCertHeader(b.mtlsCert)}, bound: b.mtlsCert},
		{name: "RFC 9440 §2.3 Client-Cert-Chain from a trusted proxy", id: "mtls",
			opts: []reqOpt{fromAddr(proxyAddr), clientCertHeader(viaInter),
				header(certbind.ChainHeaderName, string(certbind.AppendHeader(nil, inter.cert)))}, bound: viaInter},
		{name: "RFC 9440 §4 Client-Cert from an untrusted peer is ignored", id: "mtls",
			opts: []reqOpt{clientCertHeader(b.mtlsCert)}, want: "no valid client certificate"},
		{name: "RFC 9440 §4 behind a trusted proxy its own TLS certificate is not the client's", id: "mtls",
			opts: []reqOpt{fromAddr(proxyAddr), withCert(b.mtlsCert)}, want: "no valid client certificate"},
		{name: "RFC 9440 §2.2 malformed Client-Cert", id: "mtls",
			opts: []reqOpt{fromAddr(proxyAddr), header(certbind.HeaderName, ":not base64:")}, want: "no valid client certificate"},
		{name: "RFC 8705 §2.2 self_signed_tls_client_auth: the registered key", id: "selfsigned",
			opts: []reqOpt{withCert(b.selfCert)}, bound: b.selfCert},
		{name: "RFC 8705 §2.2 self_signed_tls_client_auth: another key", id: "selfsigned",
			opts: []reqOpt{withCert(otherSelf)}, want: "registered keys"},
		{name: "RFC 8705 §2.2 self_signed_tls_client_auth: a CA-issued certificate of an unregistered key", id: "selfsigned",
			opts: []reqOpt{withCert(caKeyNotRegistered)}, want: "registered keys"},
		{name: "RFC 8705 §2.2 self_signed_tls_client_auth: no certificate", id: "selfsigned",
			want: "no valid client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, res := b.srv.Token(context.Background(), request("/token", form("grant_type", "client_credentials", "client_id", tt.id), tt.opts...))
			b.checkResult(resp, res)
			if tt.bound == nil {
				require.Equal(t, 401, resp.Status, "body %s", resp.Body)
				assert.Equal(t, endpoint.InvalidClient, errCode(t, resp))
				assert.Contains(t, description(t, resp), tt.want)
				return
			}
			tok := decodeTokens(t, resp)
			assert.Equal(t, "Bearer", tok.TokenType, "RFC 8705 §3: a certificate-bound token stays a Bearer token")
			c, err := b.openAccess(apiAud, tok.AccessToken)
			require.NoError(t, err)
			assert.Equal(t, certbind.Thumbprint(tt.bound), c.Confirmation.X5TS256, "RFC 8705 §3.1 cnf.x5t#S256")
			assert.Empty(t, c.Confirmation.JKT)
		})
	}
}

// TestCertificateBoundTokens: RFC 8705 §3 for clients that authenticate
// otherwise: tls_client_certificate_bound_access_tokens binds to the
// certificate presented and refuses a request without one; a client
// without it gets a bearer token whatever it presents; introspection
// reports the binding (§3.2); a public client's refresh token is bound too
// (§4), so a thief's refresh with another certificate fails.
func TestCertificateBoundTokens(t *testing.T) {
	b := newBindFixture(t)
	cert, _ := b.otherCA.issue(t, "any.example.com") // binding needs no CA

	resp := b.token(form("grant_type", "client_credentials"), basic("certbound", backendSecret), withCert(cert))
	tok := decodeTokens(t, resp)
	c, err := b.openAccess(apiAud, tok.AccessToken)
	require.NoError(t, err)
	require.Equal(t, certbind.Thumbprint(cert), c.Confirmation.X5TS256)

	intro := body(t, b.introspect(form("token", tok.AccessToken), asRS()))
	require.Equal(t, map[string]any{"x5t#S256": certbind.Thumbprint(cert)}, intro["cnf"], "RFC 8705 §3.2")

	resp = b.token(form("grant_type", "client_credentials"), basic("certbound", backendSecret))
	require.Equal(t, 400, resp.Status)
	assert.Contains(t, description(t, resp), "certificate-bound")

	tok = decodeTokens(t, b.token(form("grant_type", "client_credentials"), basic("backend", backendSecret), withCert(cert)))
	c, err = b.openAccess(apiAud, tok.AccessToken)
	require.NoError(t, err)
	require.True(t, c.Confirmation.IsZero(), "a client that did not ask for binding gets a bearer token")
	_, hasCnf := body(t, b.introspect(form("token", tok.AccessToken), asRS()))["cnf"]
	require.False(t, hasCnf)

	// RFC 8705 §4: the public client's refresh token is bound to its
	// certificate.
	code := b.code("spa-bound", codeRedirect(spaRedirect))
	resp = b.token(form("grant_type", "authorization_code", "client_id", "spa-bound", "code", code,
		"redirect_uri", spaRedirect, "code_verifier", verifierS256), withCert(cert))
	tok = decodeTokens(t, resp)
	require.NotEmpty(t, tok.RefreshToken)
	rt, err := b.openRefresh(tok.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, certbind.Thumbprint(cert), rt.Confirmation.X5TS256)

	thief, _ := b.otherCA.issue(t, "thief.example.com")
	resp = b.token(form("grant_type", "refresh_token", "client_id", "spa-bound", "refresh_token", tok.RefreshToken), withCert(thief))
	require.Equal(t, 400, resp.Status)
	require.Equal(t, endpoint.InvalidGrant, errCode(t, resp))
	assert.Contains(t, description(t, resp), "another client certificate")

	// The victim still refreshes: the thief's attempt spent nothing.
	tok = decodeTokens(t, b.token(form("grant_type", "refresh_token", "client_id", "spa-bound", "refresh_token", tok.RefreshToken), withCert(cert)))
	c, err = b.openAccess(apiAud, tok.AccessToken)
	require.NoError(t, err)
	require.Equal(t, certbind.Thumbprint(cert), c.Confirmation.X5TS256)
}

// TestMutualTLSAtCompanionEndpoints: a tls_client_auth client introspects
// and revokes its own tokens with its certificate (SPEC §10: the same
// methods at every endpoint).
func TestMutualTLSAtCompanionEndpoints(t *testing.T) {
	b := newBindFixture(t)
	tok := decodeTokens(t, b.token(form("grant_type", "client_credentials", "client_id", "mtls"), withCert(b.mtlsCert))).AccessToken
	resp := b.introspect(form("token", tok, "client_id", "mtls"), withCert(b.mtlsCert))
	require.Equal(t, true, body(t, resp)["active"], "body %s", resp.Body)
	resp = b.introspect(form("token", tok, "client_id", "mtls"))
	require.Equal(t, 401, resp.Status)
	resp = b.revoke(form("token", tok, "client_id", "mtls"), withCert(b.mtlsCert))
	require.Equal(t, 200, resp.Status)
	isInactive(t, b.introspect(form("token", tok), asRS()))
}
