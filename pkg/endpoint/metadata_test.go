package endpoint_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
)

func TestMetadata(t *testing.T) {
	tests := []struct {
		name string
		cfg  fixtureConfig
		want map[string]any // members that must have exactly these values
		gone []string       // members that must be absent
	}{
		{
			name: "RFC 8414 §2 defaults",
			want: map[string]any{
				"issuer":                                        testIssuer,
				"authorization_endpoint":                        testIssuer + "/authorize",
				"token_endpoint":                                testIssuer + "/token",
				"introspection_endpoint":                        testIssuer + "/introspect",
				"revocation_endpoint":                           testIssuer + "/revoke",
				"response_types_supported":                      []any{"code"},
				"response_modes_supported":                      []any{"query"},
				"grant_types_supported":                         []any{"authorization_code", "client_credentials", "refresh_token", "password"},
				"token_endpoint_auth_methods_supported":         []any{"client_secret_basic", "client_secret_post", "none"},
				"introspection_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post"},
				"revocation_endpoint_auth_methods_supported":    []any{"client_secret_basic", "client_secret_post", "none"},
				"code_challenge_methods_supported":              []any{"S256"},
			},
			gone: []string{"scopes_supported", "jwks_uri"},
		},
		{
			name: "RFC 8414 §2 password grant listed only when enabled: no users",
			cfg:  fixtureConfig{noUsers: true},
			want: map[string]any{"grant_types_supported": []any{"authorization_code", "client_credentials", "refresh_token"}},
		},
		{
			name: "RFC 8414 §2 password grant listed only when enabled: no client has it",
			cfg: fixtureConfig{clients: []*endpoint.Client{{ID: "cc", Secret: mustHash(t, secret.NewSHA256(backendSecret)),
				GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials}}}},
			want: map[string]any{"grant_types_supported": []any{"client_credentials"}, "response_types_supported": []any{"code"}},
		},
		{
			name: "RFC 8414 §2 issue 8: implicit, token and fragment only when a client allows response type token",
			cfg: fixtureConfig{clients: append(standardClients(t), &endpoint.Client{ID: "js", Public: true, RedirectURIs: []string{spaRedirect},
				ResponseTypes: []endpoint.ResponseType{endpoint.ResponseToken}, Scopes: []string{"read"}})},
			want: map[string]any{
				"grant_types_supported":    []any{"authorization_code", "client_credentials", "refresh_token", "password", "implicit"},
				"response_types_supported": []any{"code", "token"},
				"response_modes_supported": []any{"query", "fragment"},
			},
		},
		{
			name: "RFC 8414 §2 issue 8: plain listed only when a client is allowed it (RFC 9700 §2.1.1)",
			cfg:  fixtureConfig{clients: plainClients(t)},
			want: map[string]any{"code_challenge_methods_supported": []any{"S256", "plain"}},
		},
		{
			name: "RFC 8414 §2 scopes_supported when configured, sorted and deduplicated",
			cfg:  fixtureConfig{opts: []endpoint.Option{endpoint.WithScopesSupported("write", "read", "write")}},
			want: map[string]any{"scopes_supported": []any{"read", "write"}},
		},
		{
			name: "RFC 8414 §2 jwks_uri when the embedding server serves the signing keys",
			cfg:  fixtureConfig{opts: []endpoint.Option{endpoint.WithPaths(endpoint.Paths{Token: "/token", JWKS: "/jwks.json"})}},
			want: map[string]any{"jwks_uri": testIssuer + "/jwks.json", "token_endpoint": testIssuer + "/token"},
		},
		{
			name: "RFC 8414 §2 custom paths; an endpoint with no path is left out",
			cfg:  fixtureConfig{opts: []endpoint.Option{endpoint.WithPaths(endpoint.Paths{Token: "/oauth2/token", Revoke: "/oauth2/revoke"})}},
			want: map[string]any{"token_endpoint": testIssuer + "/oauth2/token", "revocation_endpoint": testIssuer + "/oauth2/revoke"},
			gone: []string{"authorization_endpoint", "introspection_endpoint"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureConfig(t, tc.cfg)
			resp := f.srv.Metadata()
			require.Equal(t, 200, resp.Status)
			assert.Equal(t, "application/json", hdr(resp, "Content-Type"))
			assert.Equal(t, "public, max-age=3600", hdr(resp, "Cache-Control"))
			var m map[string]any
			require.NoError(t, json.Unmarshal(resp.Body, &m))
			for k, v := range tc.want {
				assert.Equal(t, v, m[k], k)
			}
			for _, k := range tc.gone {
				assert.NotContains(t, m, k)
			}
			// RFC 8414 §2: every endpoint is an absolute https URL under
			// the issuer; §3.3: issuer is exactly the configured one.
			assert.Equal(t, testIssuer, m["issuer"])
			for _, k := range []string{"authorization_endpoint", "token_endpoint", "introspection_endpoint", "revocation_endpoint", "jwks_uri"} {
				s, ok := m[k].(string)
				if !ok {
					continue
				}
				u, err := url.Parse(s)
				require.NoError(t, err)
				assert.Equal(t, "https", u.Scheme, k)
				assert.Equal(t, "issuer.example.com", u.Host, k)
				assert.Empty(t, u.RawQuery+u.Fragment, k)
			}
		})
	}
}

// TestMetadataIssuerWithPath: RFC 8414 §3.3 compares the issuer exactly,
// so a trailing slash is kept in "issuer" and not doubled in the URLs.
func TestMetadataIssuerWithPath(t *testing.T) {
	f := newFixture(t)
	for _, iss := range []string{"https://idp.example.com/tenant-a/", "https://idp.example.com/tenant-a"} {
		srv, err := endpoint.New(iss, endpoint.Rings{Internal: f.internal, Audiences: f.rings, Default: apiAud}, f.clients, f.store)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(srv.Metadata().Body, &m))
		assert.Equal(t, iss, m["issuer"])
		assert.Equal(t, "https://idp.example.com/tenant-a/token", m["token_endpoint"])
		assert.Equal(t, endpoint.DefaultPaths, srv.Paths())
	}
}
