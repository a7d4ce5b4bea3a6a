package cli_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/internal/config"
)

// TestClientNewGrants: "client new" makes entries for the SPEC §12 grants
// (short names expand to the URNs) that load in a configuration, and names
// the flag when a rule of the loader is broken.
func TestClientNewGrants(t *testing.T) {
	const host = `issuer: https://issuer.test
tls: {cert_file: c.pem, key_file: k.pem}
audiences:
  - {name: "https://api.test", default: true}
  - {name: "https://billing.test"}
login: {trusted_header: X-Remote-User, trusted_proxies: [10.0.0.0/8]}
trusted_issuers: [{issuer: "https://platform.test", jwks_uri: "https://platform.test/jwks", subjects_as: as_is}]
clients:
`
	tests := []struct {
		name       string
		args       []string
		check      func(t *testing.T, c config.Client)
		wantCode   int
		wantStderr string
	}{
		{name: "RFC 8628 a public device client", args: []string{"--id", "tv", "--public", "--grant", "device_code,refresh_token"},
			check: func(t *testing.T, c config.Client) {
				if !slices.Equal(c.GrantTypes, []string{config.GrantDeviceCode, config.GrantRefreshToken}) || !c.Public {
					t.Errorf("%+v", c)
				}
			}},
		{name: "RFC 8693 a token exchange service", args: []string{"--id", "svc", "--grant", "token-exchange", "--token-exchange-audience", "https://billing.test"},
			check: func(t *testing.T, c config.Client) {
				if !slices.Equal(c.GrantTypes, []string{config.GrantTokenExchange}) || !slices.Equal(c.TokenExchange.Audiences, []string{"https://billing.test"}) {
					t.Errorf("%+v", c)
				}
			}},
		{name: "RFC 7523 a workload by the grant's URN", args: []string{"--id", "wl", "--grant", config.GrantJWTBearer},
			check: func(t *testing.T, c config.Client) {
				if !slices.Equal(c.GrantTypes, []string{config.GrantJWTBearer}) {
					t.Errorf("%+v", c)
				}
			}},
		{name: "RFC 9126 a client that must push", args: []string{"--id", "web", "--grant", "authorization_code", "--redirect-uri", "https://app.test/cb", "--require-par"},
			check: func(t *testing.T, c config.Client) {
				if !c.RequirePushedAuthorizationRequests {
					t.Errorf("%+v", c)
				}
			}},
		{name: "RFC 8693 token exchange without audiences names --token-exchange-audience", args: []string{"--grant", "token-exchange"},
			wantCode: 2, wantStderr: "--token-exchange-audience"},
		{name: "RFC 9126 --require-par without authorization requests is named", args: []string{"--require-par"},
			wantCode: 2, wantStderr: "--require-par"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(append([]string{"client", "new"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want %d naming %q", code, errOut, tt.wantCode, tt.wantStderr)
			}
			if code != 0 {
				return
			}
			cfg, err := config.Parse([]byte(host+entryOf(t, out)), "pasted.yaml")
			if err != nil {
				t.Fatalf("the printed entry does not load: %v\n%s", err, entryOf(t, out))
			}
			tt.check(t, cfg.Clients[0])
		})
	}
}
