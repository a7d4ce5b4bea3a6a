package endpoint_test

import (
	"crypto"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// TestMetadataClientAuthentication: RFC 8414 §2, RFC 8705 §3.3 and RFC 9449
// §5.1 members advertise exactly what the registered clients and resource
// servers use.
func TestMetadataClientAuthentication(t *testing.T) {
	b := newBindFixture(t)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b.srv.Metadata().Body, &doc))
	all := []any{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"}
	algs := []any{"ES256", "EdDSA", "PS256", "RS256", "HS256"}
	assert.Equal(t, append(append([]any{}, all...), "none"), doc["token_endpoint_auth_methods_supported"])
	assert.Equal(t, algs, doc["token_endpoint_auth_signing_alg_values_supported"])
	assert.Equal(t, all, doc["introspection_endpoint_auth_methods_supported"])
	assert.Equal(t, algs, doc["introspection_endpoint_auth_signing_alg_values_supported"])
	assert.Equal(t, append(append([]any{}, all...), "none"), doc["revocation_endpoint_auth_methods_supported"])
	assert.Equal(t, algs, doc["revocation_endpoint_auth_signing_alg_values_supported"])
	assert.Equal(t, []any{"ES256", "EdDSA", "PS256", "RS256"}, doc["dpop_signing_alg_values_supported"])
	assert.Equal(t, true, doc["tls_client_certificate_bound_access_tokens"])
	assert.NotContains(t, doc, "mtls_endpoint_aliases", "RFC 8705 §5: the endpoints are their own mTLS aliases")

	// Only secrets: no JWT algorithms, no mTLS.
	f := newFixture(t)
	doc = nil
	require.NoError(t, json.Unmarshal(f.srv.Metadata().Body, &doc))
	for _, gone := range []string{"token_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_signing_alg_values_supported",
		"revocation_endpoint_auth_signing_alg_values_supported", "tls_client_certificate_bound_access_tokens"} {
		assert.NotContains(t, doc, gone)
	}
	assert.Equal(t, []any{"ES256", "EdDSA", "PS256", "RS256"}, doc["dpop_signing_alg_values_supported"], "DPoP is always accepted")

	// One private_key_jwt client: its algorithms, without HS256.
	key := ecKey(t)
	f = newFixtureConfig(t, fixtureConfig{clients: []*endpoint.Client{{ID: "k", GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
		Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKS: keySet(t, map[string]crypto.Signer{"a": key})}}}})
	doc = nil
	require.NoError(t, json.Unmarshal(f.srv.Metadata().Body, &doc))
	assert.Equal(t, []any{"private_key_jwt"}, doc["token_endpoint_auth_methods_supported"])
	assert.Equal(t, []any{"ES256", "EdDSA", "PS256", "RS256"}, doc["token_endpoint_auth_signing_alg_values_supported"])
}

// TestClientAuthRegistration: NewStaticClients and WithResourceServers
// refuse a registration that cannot work, naming the client.
func TestClientAuthRegistration(t *testing.T) {
	set := keySet(t, map[string]crypto.Signer{"a": ecKey(t)})
	hmac, err := jws.NewHMACKey([]byte(hmacSecret), "")
	require.NoError(t, err)
	m, err := certbind.NewMatcher(certbind.Rule{SANDNS: "x.example.com"})
	require.NoError(t, err)
	h := mustHash(t, secret.NewSHA256("s"))
	tests := []struct {
		name string
		c    endpoint.Client
		want string // "" for valid
	}{
		{name: "private_key_jwt with jwks", c: endpoint.Client{Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKS: set}}},
		{name: "private_key_jwt with jwks_uri", c: endpoint.Client{Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKSURI: jwksURI}}},
		{name: "private_key_jwt without keys", c: endpoint.Client{Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT}}, want: "needs JWKS or JWKSURI"},
		{name: "both jwks and jwks_uri", c: endpoint.Client{Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKS: set, JWKSURI: jwksURI}}, want: "not both"},
		{name: "private_key_jwt with a secret hash", c: endpoint.Client{Secret: h, Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKS: set}}, want: "secret hash has no use"},
		{name: "client_secret_jwt without the key", c: endpoint.Client{Auth: endpoint.ClientAuth{Method: endpoint.AuthSecretJWT}}, want: "HMAC key"},
		{name: "client_secret_jwt", c: endpoint.Client{Auth: endpoint.ClientAuth{Method: endpoint.AuthSecretJWT, HMACKey: hmac}}},
		{name: "tls_client_auth without a matcher", c: endpoint.Client{Auth: endpoint.ClientAuth{Method: endpoint.AuthTLS}}, want: "certificate matcher"},
		{name: "tls_client_auth", c: endpoint.Client{Auth: endpoint.ClientAuth{Method: endpoint.AuthTLS, TLS: m}}},
		{name: "a matcher without tls_client_auth", c: endpoint.Client{Secret: h, Auth: endpoint.ClientAuth{TLS: m}}, want: "certificate matcher has no use"},
		{name: "self_signed_tls_client_auth without keys", c: endpoint.Client{Auth: endpoint.ClientAuth{Method: endpoint.AuthSelfSignedTLS}}, want: "needs JWKS"},
		{name: "client_secret_basic without a secret", c: endpoint.Client{Auth: endpoint.ClientAuth{Method: endpoint.AuthSecretBasic}}, want: "needs one"},
		{name: "public with private_key_jwt", c: endpoint.Client{Public: true, Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKS: set}}, want: "public client authenticates with none"},
		{name: "none for a confidential client", c: endpoint.Client{Secret: h, Auth: endpoint.ClientAuth{Method: endpoint.AuthNone}}, want: "needs a public client"},
		{name: "unknown method", c: endpoint.Client{Secret: h, Auth: endpoint.ClientAuth{Method: "magic"}}, want: "unknown authentication method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.ID, c.GrantTypes = "c", []endpoint.GrantType{endpoint.GrantClientCredentials}
			_, err := endpoint.NewStaticClients(&c)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), `client "c"`)
		})
	}

	// The Server checks what registrations need of it.
	clients := []*endpoint.Client{{ID: "u", GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
		Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKSURI: jwksURI}}}
	static, err := endpoint.NewStaticClients(clients...)
	require.NoError(t, err)
	_, err = endpoint.New(testIssuer, endpoint.Rings{Internal: testRing(t, "i"), Audiences: map[string]*keys.Ring{apiAud: testRing(t, apiAud)}}, static, memStore(t))
	require.ErrorContains(t, err, "no KeySetFetcher")
	static, err = endpoint.NewStaticClients(&endpoint.Client{ID: "m", GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
		Auth: endpoint.ClientAuth{Method: endpoint.AuthTLS, TLS: m}})
	require.NoError(t, err)
	_, err = endpoint.New(testIssuer, endpoint.Rings{Internal: testRing(t, "i"), Audiences: map[string]*keys.Ring{apiAud: testRing(t, apiAud)}}, static, memStore(t))
	require.ErrorContains(t, err, "no client CAs")

	// A resource server needs a secret only for the secret methods, and
	// never authenticates with none.
	rsOK := &endpoint.ResourceServer{ID: "r", Audiences: []string{apiAud}, Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKS: set}}
	rsNone := &endpoint.ResourceServer{ID: "r", Audiences: []string{apiAud}, Auth: endpoint.ClientAuth{Method: endpoint.AuthNone}}
	static, err = endpoint.NewStaticClients()
	require.NoError(t, err)
	_, err = endpoint.New(testIssuer, endpoint.Rings{Internal: testRing(t, "i"), Audiences: map[string]*keys.Ring{apiAud: testRing(t, apiAud)}}, static, memStore(t), endpoint.WithResourceServers(rsOK))
	require.NoError(t, err)
	_, err = endpoint.New(testIssuer, endpoint.Rings{Internal: testRing(t, "i"), Audiences: map[string]*keys.Ring{apiAud: testRing(t, apiAud)}}, static, memStore(t), endpoint.WithResourceServers(rsNone))
	require.ErrorContains(t, err, "must authenticate")
}

// memStore is a fresh memory store, closed when t ends.
func memStore(t testing.TB) *memory.Store {
	t.Helper()
	m, err := memory.New()
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}
