package cli_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// entryOf returns the YAML entry "client new" printed (the lines from
// "  - id:" on).
func entryOf(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "  - id: ")
	if i < 0 {
		t.Fatalf("no entry in the output:\n%s", out)
	}
	return out[i:]
}

// TestClientNewEntryLoads: the entry "client new" prints, pasted under
// clients: of a configuration, loads with the configuration loader and
// holds what the flags asked for; flags that break a rule of the loader
// are refused naming the flag.
func TestClientNewEntryLoads(t *testing.T) {
	const host = `issuer: https://issuer.test
tls: {cert_file: c.pem, key_file: k.pem}
audiences:
  - {name: "https://api.test", default: true}
  - {name: "https://billing.test"}
login: {trusted_header: X-Remote-User, trusted_proxies: [10.0.0.0/8]}
clients:
`
	tests := []struct {
		name       string
		args       []string
		want       config.Client // ID and SecretHash are not compared
		wantCode   int
		wantStderr string
	}{
		{name: "the default: client_credentials, scope read", args: nil,
			want: config.Client{GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}},
		{name: "a web application", args: []string{"--id", "web", "--grant", "authorization_code", "--grant", "refresh_token",
			"--redirect-uri", "https://app.example.com/cb", "--scope", "read,profile", "--default-scope", "read", "--skip-consent"},
			want: config.Client{ID: "web", GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
				RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"read", "profile"}, DefaultScopes: []string{"read"}, SkipConsent: true}},
		{name: "a public client with PKCE", args: []string{"--id", "spa", "--public", "--redirect-uri", "http://127.0.0.1:3000/cb", "--grant", "authorization_code,refresh_token"},
			want: config.Client{ID: "spa", Public: true, GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
				RedirectURIs: []string{"http://127.0.0.1:3000/cb"}, Scopes: []string{"read"}}},
		{name: "a backend of another audience", args: []string{"--id", "billing-batch", "--audience", "https://billing.test", "--scope", "charge"},
			want: config.Client{ID: "billing-batch", GrantTypes: []string{"client_credentials"}, Scopes: []string{"charge"}, Audiences: []string{"https://billing.test"}}},
		{name: "an id with YAML-special characters", args: []string{"--id", `a:b#c"d"`},
			want: config.Client{ID: `a:b#c"d"`, GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}},
		{name: "RFC 6749 §3.1.2 authorization_code without a redirect URI names --redirect-uri", args: []string{"--grant", "authorization_code"},
			wantCode: 2, wantStderr: "--redirect-uri"},
		{name: "RFC 6749 §4.4 a public client with client_credentials names --grant", args: []string{"--public", "--grant", "client_credentials"},
			wantCode: 2, wantStderr: "--grant"},
		{name: "a default scope outside the scopes names --default-scope", args: []string{"--default-scope", "write"},
			wantCode: 2, wantStderr: "--default-scope"},
		{name: "an unknown grant names --grant", args: []string{"--grant", "implicit"}, wantCode: 2, wantStderr: "--grant"},
		{name: "an unknown response type names --response-type", args: []string{"--response-type", "id_token"}, wantCode: 2, wantStderr: "--response-type"},
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
			got := cfg.Clients[0]
			id := regexp.MustCompile(`(?m)^client_id:\s+(.+)$`).FindStringSubmatch(out)
			if id == nil || got.ID != id[1] || (tt.want.ID != "" && got.ID != tt.want.ID) {
				t.Fatalf("id %q, printed %v, want %q", got.ID, id, tt.want.ID)
			}
			sec := regexp.MustCompile(`(?m)^client_secret: (\S+)$`).FindStringSubmatch(out)
			if tt.want.Public {
				if sec != nil || got.SecretHash != "" {
					t.Fatal("a public client got a secret")
				}
			} else {
				h, err := secret.Parse(string(got.SecretHash))
				if sec == nil || err != nil || !h.Verify(sec[1]) {
					t.Fatalf("the loaded secret_hash does not verify the printed secret: %v", err)
				}
			}
			got.ID, got.SecretHash, tt.want.ID = "", "", ""
			for _, f := range []struct {
				name      string
				got, want []string
			}{{"grant_types", got.GrantTypes, tt.want.GrantTypes}, {"response_types", got.ResponseTypes, tt.want.ResponseTypes},
				{"redirect_uris", got.RedirectURIs, tt.want.RedirectURIs}, {"scopes", got.Scopes, tt.want.Scopes},
				{"default_scopes", got.DefaultScopes, tt.want.DefaultScopes}, {"audiences", got.Audiences, tt.want.Audiences}} {
				if !slices.Equal(f.got, f.want) {
					t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
				}
			}
			if got.Public != tt.want.Public || got.SkipConsent != tt.want.SkipConsent {
				t.Errorf("public %v skip_consent %v, want %v %v", got.Public, got.SkipConsent, tt.want.Public, tt.want.SkipConsent)
			}
		})
	}
}
