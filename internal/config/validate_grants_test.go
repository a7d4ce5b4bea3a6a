package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// trustedTestJWKS is a public P-256 JWK Set; privateJWKS holds a private member.
const (
	trustedTestJWKS = `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","alg":"ES256","x":"CZkmifdDmxwS4u_drHG3cH79k9A8NDN-RTrcPvETSUA","y":"UQ6NvvD190kL_cyPuHrY-b8EpkQHLfdDr1B5vX6mUJ8"}]}`
	privateJWKS     = `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"CZkmifdDmxwS4u_drHG3cH79k9A8NDN-RTrcPvETSUA","y":"UQ6NvvD190kL_cyPuHrY-b8EpkQHLfdDr1B5vX6mUJ8","d":"AAAA"}]}`
	encJWKS         = `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"enc","x":"CZkmifdDmxwS4u_drHG3cH79k9A8NDN-RTrcPvETSUA","y":"UQ6NvvD190kL_cyPuHrY-b8EpkQHLfdDr1B5vX6mUJ8"}]}`
)

// grantsYAML is baseYAML with a client of each §12 grant and two trusted
// issuers.
func grantsYAML() string {
	h := realHashes()
	return strings.Replace(baseYAML(), "users:\n", `  - id: tv
    public: true
    grant_types: ["urn:ietf:params:oauth:grant-type:device_code", refresh_token]
    scopes: [read]
  - id: svc
    secret_hash: "`+h.sha+`"
    grant_types: ["urn:ietf:params:oauth:grant-type:token-exchange"]
    scopes: [read]
    token_exchange: {audiences: ["https://other.example.com"]}
  - id: workload
    secret_hash: "`+h.sha+`"
    grant_types: ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    scopes: [read]
  - id: par
    secret_hash: "`+h.sha+`"
    redirect_uris: ["https://par.example.com/cb"]
    grant_types: [authorization_code]
    require_pushed_authorization_requests: true
users:
`, 1) + `trusted_issuers:
  - issuer: https://platform.example.net
    jwks_uri: https://platform.example.net/jwks.json
    subjects_as: as_is
    audience: https://auth.example.com/for-platform
  - issuer: https://idp.partner.example
    subjects_as: user
    jwks:
      keys:
        - {kty: EC, crv: P-256, kid: k1, alg: ES256, x: CZkmifdDmxwS4u_drHG3cH79k9A8NDN-RTrcPvETSUA, y: UQ6NvvD190kL_cyPuHrY-b8EpkQHLfdDr1B5vX6mUJ8}
require_pushed_authorization_requests: true
tokens: {device_code_ttl: 5m}
`
}

func TestGrantsConfig(t *testing.T) {
	c := mustParse(t, grantsYAML())
	if c.Tokens.DeviceCodeTTL != 5*time.Minute || !c.RequirePushedAuthorizationRequests {
		t.Fatalf("tokens.device_code_ttl %s, require_pushed_authorization_requests %v", c.Tokens.DeviceCodeTTL, c.RequirePushedAuthorizationRequests)
	}
	if got := c.Clients[4].TokenExchange.Audiences; len(got) != 1 || got[0] != "https://other.example.com" {
		t.Fatalf("token_exchange.audiences %v", got)
	}
	if !c.Clients[6].RequirePushedAuthorizationRequests {
		t.Fatal("clients[6].require_pushed_authorization_requests not read")
	}
	// A jwks mapping becomes its JSON; a string is kept as it is.
	var set map[string]any
	if err := json.Unmarshal([]byte(c.TrustedIssuers[1].JWKS), &set); err != nil {
		t.Fatalf("jwks as JSON: %v: %s", err, c.TrustedIssuers[1].JWKS)
	}
	if _, err := ParseTrustedJWKS(c.TrustedIssuers[1].JWKS); err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(grantsYAML(), "    jwks:\n      keys:\n", "    jwks: '"+trustedTestJWKS+"'\n      _drop:\n", 1)
	s = strings.Replace(s, "      _drop:\n        - {kty: EC, crv: P-256, kid: k1, alg: ES256, x: CZkmifdDmxwS4u_drHG3cH79k9A8NDN-RTrcPvETSUA, y: UQ6NvvD190kL_cyPuHrY-b8EpkQHLfdDr1B5vX6mUJ8}\n", "", 1)
	if c2 := mustParse(t, s); string(c2.TrustedIssuers[1].JWKS) != trustedTestJWKS {
		t.Fatalf("jwks string: %q", c2.TrustedIssuers[1].JWKS)
	}
	// The configuration marshals and parses back equal.
	out, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back := mustParse(t, string(out))
	if string(back.TrustedIssuers[1].JWKS) != string(c.TrustedIssuers[1].JWKS) || back.Clients[4].TokenExchange.Audiences[0] != "https://other.example.com" {
		t.Fatalf("round trip:\n%s", out)
	}
}

func TestValidateGrantRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		path   string
		msg    string
	}{
		{"valid", func(c *Config) {}, "", ""},
		{"device_code_ttl below 10s", func(c *Config) { c.Tokens.DeviceCodeTTL = 5 * time.Second }, "tokens.device_code_ttl", "between 10s and 1h"},
		{"device_code_ttl above 1h", func(c *Config) { c.Tokens.DeviceCodeTTL = 2 * time.Hour }, "tokens.device_code_ttl", "between 10s and 1h"},
		{"unknown URN grant", func(c *Config) { c.Clients[5].GrantTypes[0] = "urn:ietf:params:oauth:grant-type:saml2-bearer" }, "clients[5].grant_types[0]", "unknown grant type"},
		{"refresh with the device grant is fine", func(c *Config) {}, "", ""},
		{"token exchange without audiences", func(c *Config) { c.Clients[4].TokenExchange.Audiences = nil }, "clients[4].token_exchange.audiences", "required with the token-exchange grant"},
		{"token exchange audiences without the grant", func(c *Config) {
			c.Clients[0].TokenExchange.Audiences = []string{"https://api.example.com"}
		}, "clients[0].token_exchange.audiences", "does not have the token-exchange grant"},
		{"token exchange into an unknown audience", func(c *Config) {
			c.Clients[4].TokenExchange.Audiences = []string{"https://nowhere.example.com"}
		}, "clients[4].token_exchange.audiences[0]", `unknown audience "https://nowhere.example.com"`},
		{"token exchange audience twice", func(c *Config) {
			c.Clients[4].TokenExchange.Audiences = []string{"https://other.example.com", "https://other.example.com"}
		}, "clients[4].token_exchange.audiences[1]", "duplicate audience"},
		{"token exchange by a public client", func(c *Config) {
			c.Clients[3].GrantTypes = []string{GrantTokenExchange}
			c.Clients[3].TokenExchange.Audiences = []string{"https://api.example.com"}
		}, "clients[3].grant_types", "a public client cannot use token exchange"},
		{"jwt-bearer without trusted issuers", func(c *Config) { c.TrustedIssuers = nil }, "clients[5].grant_types", "needs trusted_issuers"},
		{"PAR required without authorization requests", func(c *Config) { c.Clients[0].RequirePushedAuthorizationRequests = true }, "clients[0].require_pushed_authorization_requests", "has no effect"},
		{"device grant with nobody to approve", func(c *Config) {
			c.Users = nil
			c.Clients = c.Clients[3:4]
			c.TrustedIssuers = c.TrustedIssuers[:1]
		}, "clients[0].grant_types", "nobody can approve a device code"},
		{"trusted issuer without issuer", func(c *Config) { c.TrustedIssuers[0].Issuer = "" }, "trusted_issuers[0].issuer", "required"},
		{"trusted issuer twice", func(c *Config) { c.TrustedIssuers[1].Issuer = c.TrustedIssuers[0].Issuer }, "trusted_issuers[1].issuer", "duplicate issuer"},
		{"trusted issuer is this issuer", func(c *Config) { c.TrustedIssuers[0].Issuer = c.Issuer }, "trusted_issuers[0].issuer", "this server's own issuer"},
		{"trusted issuer without keys", func(c *Config) { c.TrustedIssuers[0].JWKSURI = "" }, "trusted_issuers[0]", "set jwks"},
		{"trusted issuer with both", func(c *Config) { c.TrustedIssuers[1].JWKSURI = "https://x.example/jwks" }, "trusted_issuers[1].jwks_uri", "not both"},
		{"jwks_uri over http", func(c *Config) { c.TrustedIssuers[0].JWKSURI = "http://platform.example.net/jwks.json" }, "trusted_issuers[0].jwks_uri", "https"},
		{"jwks_uri with user info", func(c *Config) { c.TrustedIssuers[0].JWKSURI = "https://u:p@platform.example.net/jwks.json" }, "trusted_issuers[0].jwks_uri", "user information"},
		{"jwks_uri relative", func(c *Config) { c.TrustedIssuers[0].JWKSURI = "/jwks.json" }, "trusted_issuers[0].jwks_uri", "is not an absolute URL"},
		{"jwks not JSON", func(c *Config) { c.TrustedIssuers[1].JWKS = "keys: 1" }, "trusted_issuers[1].jwks", "jws:"},
		{"jwks with a private key", func(c *Config) { c.TrustedIssuers[1].JWKS = privateJWKS }, "trusted_issuers[1].jwks", "private"},
		{"jwks without a signing key", func(c *Config) { c.TrustedIssuers[1].JWKS = encJWKS }, "trusted_issuers[1].jwks", "no key that can verify"},
		{"subjects_as missing", func(c *Config) { c.TrustedIssuers[0].SubjectsAs = "" }, "trusted_issuers[0].subjects_as", "required"},
		{"subjects_as unknown", func(c *Config) { c.TrustedIssuers[0].SubjectsAs = "email" }, "trusted_issuers[0].subjects_as", `unknown value "email"`},
		{"subjects_as user without users", func(c *Config) {
			c.Users = nil
			c.Login.TrustedHeader, c.Login.TrustedProxies = "X-Remote-User", c.TrustedProxies
			setLogin(c, "X-Remote-User")
		}, "trusted_issuers[1].subjects_as", "user needs users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, grantsYAML())
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
		})
	}
}

// TestJWKSNodeErrors: a jwks that is neither a mapping nor a string is an
// error naming the key, and a YAML mapping that JSON cannot hold too.
func TestJWKSNodeErrors(t *testing.T) {
	for name, jwks := range map[string]string{
		"list of lists":  "[[1, 2]]",
		"non-string key": "{1: a}",
	} {
		s := strings.Replace(grantsYAML(), "subjects_as: as_is\n", "subjects_as: as_is\n    jwks: "+jwks+"\n", 1)
		s = strings.Replace(s, "    jwks_uri: https://platform.example.net/jwks.json\n", "", 1)
		_, err := parse(s)
		if err == nil || !strings.Contains(err.Error(), "trusted_issuers[0].jwks") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
