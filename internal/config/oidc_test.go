package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestValidateOpenIDRules has one row per rule of the OpenID Connect keys
// (SPEC §11), in the form of TestValidateRules: one problem at path with
// msg, or none for a row with an empty path.
func TestValidateOpenIDRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		path   string
		msg    string
	}{
		{"login.session_ttl default ok", func(c *Config) {}, "", ""},
		{"login.session_ttl 0s disables single sign-on", func(c *Config) { c.Login.SessionTTL = 0 }, "", ""},
		{"login.session_ttl too short", func(c *Config) { c.Login.SessionTTL = time.Second }, "login.session_ttl", "between 1m and 720h"},
		{"login.session_ttl too long", func(c *Config) { c.Login.SessionTTL = 721 * time.Hour }, "login.session_ttl", "between 1m and 720h"},
		{"login.consent_ttl 0s: never remembered", func(c *Config) { c.Login.ConsentTTL = 0 }, "", ""},
		{"login.consent_ttl too long", func(c *Config) { c.Login.ConsentTTL = 9000 * time.Hour }, "login.consent_ttl", "between 1m and 8760h"},
		{"login.trusted_amr without the header", func(c *Config) { c.Login.TrustedAMR = []string{"mfa"} }, "login.trusted_amr", "no effect without login.trusted_header"},
		{"login.trusted_amr RFC 8176 value ok", func(c *Config) {
			setLogin(c, "X-Remote-User")
			c.Login.TrustedAMR = []string{"mfa", "hwk"}
		}, "", ""},
		{"login.trusted_amr unregistered value", func(c *Config) {
			setLogin(c, "X-Remote-User")
			c.Login.TrustedAMR = []string{"password"}
		}, "login.trusted_amr[0]", "not a registered amr value (RFC 8176 §2"},
		{"login.trusted_amr duplicate", func(c *Config) {
			setLogin(c, "X-Remote-User")
			c.Login.TrustedAMR = []string{"otp", "otp"}
		}, "login.trusted_amr[1]", "duplicate"},

		{"post_logout_redirect_uris ok", func(c *Config) { c.Clients[1].PostLogoutRedirectURIs = []string{"https://app.example.com/bye"} }, "", ""},
		{"post_logout_redirect_uris fragment", func(c *Config) { c.Clients[1].PostLogoutRedirectURIs = []string{"https://app.example.com/bye#x"} }, "clients[1].post_logout_redirect_uris[0]", "fragment"},
		{"post_logout_redirect_uris plain http", func(c *Config) { c.Clients[1].PostLogoutRedirectURIs = []string{"http://app.example.com/bye"} }, "clients[1].post_logout_redirect_uris[0]", "loopback"},
		{"post_logout_redirect_uris javascript:", func(c *Config) { c.Clients[1].PostLogoutRedirectURIs = []string{"javascript:alert(1)"} }, "clients[1].post_logout_redirect_uris[0]", "scheme"},
		{"post_logout_redirect_uris duplicate", func(c *Config) {
			c.Clients[1].PostLogoutRedirectURIs = []string{"https://app.example.com/bye", "https://app.example.com/bye"}
		}, "clients[1].post_logout_redirect_uris[1]", "duplicate"},
		{"post_logout_redirect_uris without authorization_code", func(c *Config) { c.Clients[0].PostLogoutRedirectURIs = []string{"https://app.example.com/bye"} }, "clients[0].post_logout_redirect_uris", "does not sign users in"},

		{"Core §5.1: a full set of claims ok", func(c *Config) { c.Users[0].Claims = exampleConfig().Users[0].Claims }, "", ""},
		{"Core §5.1: email without @", func(c *Config) { c.Users[0].Claims.Email = "alice.example.com" }, "users[0].claims.email", "not an email address"},
		{"Core §5.1: email_verified without email", func(c *Config) { c.Users[0].Claims.EmailVerified = true }, "users[0].claims.email_verified", "no email"},
		{"Core §5.1: phone_number_verified without phone_number", func(c *Config) { c.Users[0].Claims.PhoneNumberVerified = true }, "users[0].claims.phone_number_verified", "no phone_number"},
		{"Core §5.1: phone_number with letters", func(c *Config) { c.Users[0].Claims.PhoneNumber = "call me" }, "users[0].claims.phone_number", "not a telephone number"},
		{"Core §5.1: phone_number E.164 with extension ok", func(c *Config) { c.Users[0].Claims.PhoneNumber = "+14255551212;ext=5678" }, "", ""},
		{"Core §5.1: picture not a URL", func(c *Config) { c.Users[0].Claims.Picture = "photo.jpg" }, "users[0].claims.picture", "absolute http(s) URL"},
		{"Core §5.1: website javascript:", func(c *Config) { c.Users[0].Claims.Website = "javascript:alert(1)" }, "users[0].claims.website", "absolute http(s) URL"},
		{"Core §5.1: birthdate YYYY ok", func(c *Config) { c.Users[0].Claims.Birthdate = "1970" }, "", ""},
		{"Core §5.1: birthdate 0000-MM-DD ok (year withheld), Feb 29", func(c *Config) { c.Users[0].Claims.Birthdate = "0000-02-29" }, "", ""},
		{"Core §5.1: birthdate impossible date", func(c *Config) { c.Users[0].Claims.Birthdate = "1970-02-30" }, "users[0].claims.birthdate", "not YYYY-MM-DD"},
		{"Core §5.1: birthdate other format", func(c *Config) { c.Users[0].Claims.Birthdate = "04/05/1970" }, "users[0].claims.birthdate", "not YYYY-MM-DD"},
		{"Core §5.1: zoneinfo not a tz name", func(c *Config) { c.Users[0].Claims.Zoneinfo = "GMT +1" }, "users[0].claims.zoneinfo", "time zone"},
		{"Core §5.1: locale BCP 47 ok", func(c *Config) { c.Users[0].Claims.Locale = "zh-Hant-TW" }, "", ""},
		{"Core §5.1: locale not a tag", func(c *Config) { c.Users[0].Claims.Locale = "english!" }, "users[0].claims.locale", "BCP 47"},
		{"Core §5.1: a control character in name", func(c *Config) { c.Users[0].Claims.Name = "Alice\x00" }, "users[0].claims.name", "control character"},
		{"Core §5.1: name too long", func(c *Config) { c.Users[0].Claims.Name = strings.Repeat("a", maxClaimLen+1) }, "users[0].claims.name", "longer than"},
		{"Core §5.1.1: a multi-line formatted address ok", func(c *Config) { c.Users[0].Claims.Address.Formatted = "1 Main St\nSpringfield" }, "", ""},
		{"Core §5.1.1: a multi-line locality", func(c *Config) { c.Users[0].Claims.Address.Locality = "Spring\nfield" }, "users[0].claims.address.locality", "control character"},
		{"Core §5.1: updated_at negative", func(c *Config) { c.Users[0].Claims.UpdatedAt = -1 }, "users[0].claims.updated_at", "NumericDate"},
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
			if len(ps) != 1 || ps[0].Path != tt.path || !strings.Contains(ps[0].Msg, tt.msg) {
				t.Fatalf("want one problem at %s containing %q, got %v", tt.path, tt.msg, err)
			}
		})
	}
}

// TestUserClaimsDecode: the decoder admits only standard claim names, each
// with its JSON type, and says which key is wrong (SPEC §6).
func TestUserClaimsDecode(t *testing.T) {
	withClaims := func(claims string) string {
		return strings.Replace(baseYAML(), `password_hash: "`, `claims: `+claims+`, password_hash: "`, 1)
	}
	tests := []struct {
		name, claims string
		path         string
		kind         error
	}{
		{"Core §5.1: standard claims", `{name: Alice, email: a@example.com, email_verified: true, address: {locality: Oxford}, updated_at: 1767225600}`, "", nil},
		{"Core §5.1: a name that is no standard claim", `{nickame: Al}`, "users[0].claims.nickame", ErrUnknownKey},
		{"Core §5.1: sub is the user id, not a claim here", `{sub: other}`, "users[0].claims.sub", ErrUnknownKey},
		{"Core §5.1: email_verified is a boolean", `{email: a@example.com, email_verified: "yes"}`, "users[0].claims.email_verified", ErrInvalid},
		{"Core §5.1: updated_at is a number", `{updated_at: yesterday}`, "users[0].claims.updated_at", ErrInvalid},
		{"Core §5.1.1: address is an object", `{address: "1 Main St"}`, "users[0].claims.address", ErrInvalid},
		{"Core §5.1.1: an unknown address member", `{address: {street: x}}`, "users[0].claims.address.street", ErrUnknownKey},
		{"Core §5.1: name is a string, not a list", `{name: [a, b]}`, "users[0].claims.name", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(withClaims(tt.claims))
			if tt.path == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ps := problems(t, err)
			if len(ps) != 1 || ps[0].Path != tt.path || !errors.Is(err, tt.kind) {
				t.Fatalf("want one %v problem at %s, got %v", tt.kind, tt.path, err)
			}
		})
	}
}

// TestUserClaimsOIDC: the JSON values the endpoint gets.
func TestUserClaimsOIDC(t *testing.T) {
	c := UserClaims{Name: "Alice <A>", Email: "a@example.com", PhoneNumber: "+1 555", PhoneNumberVerified: true,
		Address: Address{Locality: "Oxford", Country: "UK"}, UpdatedAt: 1767225600}
	got := map[string]any{}
	for k, v := range c.OIDC() {
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		got[k] = x
	}
	want := map[string]any{"name": "Alice <A>", "email": "a@example.com", "email_verified": false,
		"phone_number": "+1 555", "phone_number_verified": true,
		"address": map[string]any{"locality": "Oxford", "country": "UK"}, "updated_at": float64(1767225600)}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		gj, _ := json.Marshal(got[k])
		wj, _ := json.Marshal(v)
		if string(gj) != string(wj) {
			t.Errorf("%s: got %s, want %s", k, gj, wj)
		}
	}
	if len((&UserClaims{}).OIDC()) != 0 {
		t.Error("no claims should be no members")
	}
}
