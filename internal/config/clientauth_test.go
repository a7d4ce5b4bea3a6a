package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// testJWKS is RFC 7517 Appendix A.1's EC public key, without its "use".
const testJWKS = `{"keys":[{"kty":"EC","crv":"P-256","kid":"1","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`

// TestValidateClientAuth has one row per SPEC §10 configuration rule, each
// breaking it in the base configuration (clients[0] is backend, a
// confidential client_credentials client; clients[2] the public spa) and
// expecting exactly one problem naming the key; rows with an empty path
// must stay valid.
func TestValidateClientAuth(t *testing.T) {
	backend := func(f func(cl *Client)) func(c *Config) { return func(c *Config) { f(&c.Clients[0]) } }
	pkjwt := func(cl *Client) { cl.SecretHash, cl.TokenEndpointAuthMethod, cl.JWKS = "", AuthPrivateKeyJWT, testJWKS }
	tests := []struct {
		name   string
		mutate func(c *Config)
		path   string
		msg    string
	}{
		{"private_key_jwt with inline jwks ok", backend(pkjwt), "", ""},
		{"private_key_jwt with jwks_uri ok", backend(func(cl *Client) {
			cl.SecretHash, cl.TokenEndpointAuthMethod, cl.JWKSURI = "", AuthPrivateKeyJWT, "https://keys.example.com/jwks.json"
		}), "", ""},
		{"unknown method", backend(func(cl *Client) { cl.TokenEndpointAuthMethod = "magic" }), "clients[0].token_endpoint_auth_method", `unknown method "magic"`},
		{"private_key_jwt without keys", backend(func(cl *Client) { cl.SecretHash, cl.TokenEndpointAuthMethod = "", AuthPrivateKeyJWT }), "clients[0].jwks", "required with private_key_jwt"},
		{"private_key_jwt with a secret hash", backend(func(cl *Client) { cl.TokenEndpointAuthMethod, cl.JWKS = AuthPrivateKeyJWT, testJWKS }),
			"clients[0].secret_hash", "has no use with token_endpoint_auth_method private_key_jwt"},
		{"jwks and jwks_uri", backend(func(cl *Client) { pkjwt(cl); cl.JWKSURI = "https://k.example.com/j" }), "clients[0].jwks_uri", "not both"},
		{"jwks with a private key", backend(func(cl *Client) {
			pkjwt(cl)
			cl.JWKS = JSON(strings.Replace(testJWKS, `"kid":"1"`, `"kid":"1","d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"`, 1))
		}), "clients[0].jwks", "private key"},
		{"jwks with no signing key", backend(func(cl *Client) { pkjwt(cl); cl.JWKS = `{"keys":[]}` }), "clients[0].jwks", "holds no key"},
		{"jwks not JSON", backend(func(cl *Client) { pkjwt(cl); cl.JWKS = "keys" }), "clients[0].jwks", "not a JWK Set"},
		{"jwks_uri over http", backend(func(cl *Client) {
			cl.SecretHash, cl.TokenEndpointAuthMethod, cl.JWKSURI = "", AuthPrivateKeyJWT, "http://keys.example.com/j"
		}), "clients[0].jwks_uri", "must be an https URL"},
		{"jwks without a key method", backend(func(cl *Client) { cl.JWKS = testJWKS }), "clients[0].jwks", "has no use"},
		{"client_secret_jwt with a hash, naming the key", backend(func(cl *Client) { cl.TokenEndpointAuthMethod = AuthSecretJWT }),
			"clients[0].secret_hash", "a hash cannot give: put the secret in an environment variable named by secret_env"},
		{"client_secret_jwt with secret_env ok", backend(func(cl *Client) {
			cl.SecretHash, cl.TokenEndpointAuthMethod, cl.SecretEnv = "", AuthSecretJWT, "BACKEND_SECRET"
		}), "", ""},
		{"client_secret_jwt without a secret", backend(func(cl *Client) { cl.SecretHash, cl.TokenEndpointAuthMethod = "", AuthSecretJWT }),
			"clients[0].secret_env", "required with client_secret_jwt"},
		{"secret_env and secret_hash", backend(func(cl *Client) { cl.SecretEnv = "X" }), "clients[0].secret_env", "not both"},
		{"secret_env instead of a hash ok", backend(func(cl *Client) { cl.SecretHash, cl.SecretEnv = "", "BACKEND_SECRET" }), "", ""},
		{"secret_env name", backend(func(cl *Client) { cl.SecretHash, cl.SecretEnv = "", "1X" }), "clients[0].secret_env", "not an environment variable name"},
		{"tls_client_auth ok", func(c *Config) {
			c.TLS.ClientCAFile = "ca.pem"
			cl := &c.Clients[0]
			cl.SecretHash, cl.TokenEndpointAuthMethod, cl.TLSClientAuthSANDNS = "", AuthTLS, "svc.example.com"
		}, "", ""},
		{"tls_client_auth needs tls.client_ca_file", backend(func(cl *Client) {
			cl.SecretHash, cl.TokenEndpointAuthMethod, cl.TLSClientAuthSANDNS = "", AuthTLS, "svc.example.com"
		}), "tls.client_ca_file", "clients[0] uses tls_client_auth"},
		{"tls_client_auth without a matcher", func(c *Config) {
			c.TLS.ClientCAFile = "ca.pem"
			c.Clients[0].SecretHash, c.Clients[0].TokenEndpointAuthMethod = "", AuthTLS
		}, "clients[0].tls_client_auth_subject_dn", "needs one of"},
		{"tls_client_auth with two matchers", func(c *Config) {
			c.TLS.ClientCAFile = "ca.pem"
			cl := &c.Clients[0]
			cl.SecretHash, cl.TokenEndpointAuthMethod, cl.TLSClientAuthSANDNS, cl.TLSClientAuthSANIP = "", AuthTLS, "a.example.com", "192.0.2.1"
		}, "clients[0].tls_client_auth_subject_dn", "certbind"},
		{"tls_client_auth bad DN", func(c *Config) {
			c.TLS.ClientCAFile = "ca.pem"
			cl := &c.Clients[0]
			cl.SecretHash, cl.TokenEndpointAuthMethod, cl.TLSClientAuthSubjectDN = "", AuthTLS, "not a DN"
		}, "clients[0].tls_client_auth_subject_dn", "certbind"},
		{"a matcher without tls_client_auth", backend(func(cl *Client) { cl.TLSClientAuthSANDNS = "a.example.com" }),
			"clients[0].tls_client_auth_subject_dn", "no use without"},
		{"self_signed_tls_client_auth ok", backend(func(cl *Client) {
			cl.SecretHash, cl.TokenEndpointAuthMethod, cl.JWKS = "", AuthSelfSignedTLS, testJWKS
		}), "", ""},
		{"none for a confidential client", backend(func(cl *Client) { cl.TokenEndpointAuthMethod = AuthNone }),
			"clients[0].token_endpoint_auth_method", "set public: true"},
		{"a public client with private_key_jwt", func(c *Config) { c.Clients[2].TokenEndpointAuthMethod = AuthPrivateKeyJWT },
			"clients[2].token_endpoint_auth_method", "public client authenticates with none"},
		{"a public client with none ok", func(c *Config) { c.Clients[2].TokenEndpointAuthMethod = AuthNone }, "", ""},
		{"dpop_bound_access_tokens ok", func(c *Config) { c.Clients[2].DPoPBoundAccessTokens = true }, "", ""},
		{"dpop_bound_access_tokens with the implicit grant", func(c *Config) {
			c.Clients[2].ResponseTypes, c.Clients[2].DPoPBoundAccessTokens = []string{ResponseCode, ResponseToken}, true
		}, "clients[2].dpop_bound_access_tokens", "implicit grant"},
		{"tls_client_certificate_bound_access_tokens with the implicit grant", func(c *Config) {
			c.Clients[2].ResponseTypes, c.Clients[2].TLSClientCertificateBoundAccessTokens = []string{ResponseCode, ResponseToken}, true
		}, "clients[2].tls_client_certificate_bound_access_tokens", "implicit grant"},
		{"resource server with private_key_jwt and no secret ok", func(c *Config) {
			c.ResourceServers = []ResourceServer{{ID: "rs", Audiences: []string{"https://api.example.com"}, TokenEndpointAuthMethod: AuthPrivateKeyJWT, JWKS: testJWKS}}
		}, "", ""},
		{"resource server with none", func(c *Config) {
			c.ResourceServers = []ResourceServer{{ID: "rs", Audiences: []string{"https://api.example.com"}, TokenEndpointAuthMethod: AuthNone}}
		}, "resource_servers[0].token_endpoint_auth_method", "must authenticate"},
		{"resource server without any credential", func(c *Config) {
			c.ResourceServers = []ResourceServer{{ID: "rs", Audiences: []string{"https://api.example.com"}}}
		}, "resource_servers[0].secret_hash", "required"},
		{"dpop nonce step", func(c *Config) { c.DPoP.NonceStep = 0 }, "dpop.nonce_step", "between 1s and 1h"},
		{"dpop nonce key without require_nonce", func(c *Config) { c.DPoP.NonceKeyEnv = "NONCE_KEY" }, "dpop.require_nonce", "has no use"},
		{"dpop nonce key file and env", func(c *Config) {
			c.DPoP = DPoP{RequireNonce: true, NonceStep: time.Minute, NonceKeyEnv: "K", NonceKeyFile: "k"}
		}, "dpop.nonce_key_env", "at most one"},
		{"dpop nonces ok", func(c *Config) { c.DPoP = DPoP{RequireNonce: true, NonceStep: time.Minute, NonceKeyEnv: "K"} }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, baseYAML())
			tt.mutate(c)
			err := c.Validate()
			if tt.path == "" {
				if err != nil {
					t.Fatalf("Validate: want no error, got %v", err)
				}
				return
			}
			ps := problems(t, err)
			if len(ps) != 1 {
				t.Fatalf("want exactly one problem at %s, got %d: %v", tt.path, len(ps), err)
			}
			if p := ps[0]; p.Path != tt.path || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("got path %q msg %q; want path %q msg containing %q", p.Path, p.Msg, tt.path, tt.msg)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			if strings.Contains(err.Error(), "870MB6gf") {
				t.Errorf("the error quotes private key material: %v", err)
			}
		})
	}
}

// TestJWKSInYAML: jwks is written as a YAML mapping or a JSON string, and
// kept as JSON; a list or number is a type error naming the key.
func TestJWKSInYAML(t *testing.T) {
	base := strings.Replace(baseYAML(), `  - id: backend
    secret_hash:`, `  - id: backend
    token_endpoint_auth_method: private_key_jwt
    jwks:
      keys:
        - {kty: EC, crv: P-256, kid: "1", x: MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4, y: 4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM}
    x_secret_hash:`, 1)
	base = strings.Replace(base, "    x_secret_hash: ", "    # ", 1)
	c := mustParse(t, base)
	if !strings.HasPrefix(string(c.Clients[0].JWKS), `{"keys":[{`) || !strings.Contains(string(c.Clients[0].JWKS), `"kid":"1"`) {
		t.Fatalf("jwks = %s", c.Clients[0].JWKS)
	}
	out, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	again := mustParse(t, string(out))
	if again.Clients[0].JWKS != c.Clients[0].JWKS {
		t.Fatalf("round trip: %s != %s", again.Clients[0].JWKS, c.Clients[0].JWKS)
	}
	_, err = parse(strings.Replace(base, "    jwks:\n", "    jwks: [1]\n    x:\n", 1))
	if err == nil || !strings.Contains(err.Error(), "clients[0].jwks") {
		t.Fatalf("a list for jwks: %v", err)
	}
}
