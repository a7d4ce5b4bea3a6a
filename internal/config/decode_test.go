package config

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestParseErrors: decoding problems name the key path and the line.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string // appended to baseYAML unless raw
		raw  bool
		kind error
		want string // substring of the error, including file:line and path
	}{
		{"unknown key with suggestion", "clients:\n  - id: x\n    redirect_uri: [\"https://a.example/cb\"]\n", false, ErrUnknownKey,
			`config: issuer.yaml:3: unknown key "clients[0].redirect_uri" (did you mean "redirect_uris"?)`},
		{"unknown key at the wrong level", "cert_file: a.pem\n", true, ErrUnknownKey,
			`config: issuer.yaml:1: unknown key "cert_file" (did you mean "tls.cert_file"?)`},
		{"unknown nested key typo", "tokens: {acces_ttl: 5m}\n", true, ErrUnknownKey,
			`config: issuer.yaml:1: unknown key "tokens.acces_ttl" (did you mean "access_ttl"?)`},
		{"unknown key case", "Issuer: https://a.example\n", true, ErrUnknownKey,
			`unknown key "Issuer" (did you mean "issuer"?)`},
		{"unknown key without suggestion", "issuer: https://a.example\nfrobnicate: 1\n", true, ErrUnknownKey,
			"config: issuer.yaml:2: unknown key \"frobnicate\"\n"},
		{"duplicate key", "issuer: https://a.example\nissuer: https://b.example\n", true, ErrInvalid,
			"config: issuer.yaml:2: issuer: duplicate key (first given on line 1)"},
		{"list expected", "trusted_proxies: 10.0.0.0/8\n", true, ErrInvalid,
			"config: issuer.yaml:1: trusted_proxies: want a list, got a string"},
		{"mapping expected", "tls: [a.pem]\n", true, ErrInvalid,
			"config: issuer.yaml:1: tls: want a mapping of keys, got a list"},
		{"string expected", "issuer: {a: b}\n", true, ErrInvalid,
			"config: issuer.yaml:1: issuer: want a string, got a mapping"},
		{"bool yes refused", "clients:\n  - id: x\n    public: yes\n", true, ErrInvalid,
			`config: issuer.yaml:3: clients[0].public: want true or false, got "yes"`},
		{"bool quoted refused", "audiences:\n  - {name: \"https://a.example\", default: \"true\"}\n", true, ErrInvalid,
			`config: issuer.yaml:2: audiences[0].default: want true or false, got "true"`},
		{"int float", "limits: {max_conns_per_ip: 1.5}\n", true, ErrInvalid,
			`config: issuer.yaml:1: limits.max_conns_per_ip: want an integer, got "1.5"`},
		{"int overflow", "rate_limit: {failures: 99999999999999999999}\n", true, ErrInvalid,
			`rate_limit.failures: want an integer`},
		{"duration without unit", "tokens:\n  access_ttl: 10\n", true, ErrInvalid,
			`config: issuer.yaml:2: tokens.access_ttl: want a duration such as "30s", "10m" or "720h" (units ns, us, ms, s, m, h), got "10"`},
		{"duration days", "tokens: {refresh_ttl: 30d}\n", true, ErrInvalid,
			`tokens.refresh_ttl: want a duration`},
		{"size decimal suffix", "limits: {max_body_bytes: 64kb}\n", true, ErrInvalid,
			`config: issuer.yaml:1: limits.max_body_bytes: want a size in bytes such as 65536 or "64KiB"`},
		{"cidr host bits", "trusted_proxies: [10.0.0.0/8, 10.1.2.3/8]\n", true, ErrInvalid,
			`config: issuer.yaml:1: trusted_proxies[1]: "10.1.2.3/8" has host bits set; did you mean "10.0.0.0/8"?`},
		{"cidr garbage", "login:\n  trusted_proxies:\n    - localhost\n", true, ErrInvalid,
			`config: issuer.yaml:3: login.trusted_proxies[0]: want a CIDR`},
		{"cidr zone", "trusted_proxies: [\"fe80::1%eth0\"]\n", true, ErrInvalid, `trusted_proxies[0]: want a CIDR`},
		{"secret hash not a string", "clients:\n  - id: x\n    secret_hash: [a]\n", true, ErrInvalid,
			"config: issuer.yaml:3: clients[0].secret_hash: want a string, got a list"},
		{"binary refused", "issuer: !!binary aGVsbG8=\n", true, ErrInvalid,
			`issuer: want a string, got binary data "aGVsbG8="`},
		{"merge key refused", "base: &b {cert_file: a}\n", true, ErrUnknownKey, `unknown key "base"`},
		{"merge key refused in mapping", "tls:\n  <<: {cert_file: a.pem}\n", true, ErrInvalid,
			"config: issuer.yaml:2: tls.<<: merge keys (<<) are not supported"},
		{"non-scalar key", "? [a]\n: b\n", true, ErrInvalid, "config: issuer.yaml:1: keys must be plain strings"},
		{"syntax error with line", "issuer: https://a.example\nlisten: [unclosed\n", true, ErrSyntax, "config: issuer.yaml:"},
		{"bad indentation", "issuer: a\n  listen: b\n", true, ErrSyntax, "config: issuer.yaml:2: mapping values are not allowed"},
		{"tab indentation", "tls:\n\tcert_file: a\n", true, ErrSyntax, "config: issuer.yaml"},
		{"empty", "", true, ErrSyntax, "config: issuer.yaml: empty configuration"},
		{"only comments", "# nothing\n", true, ErrSyntax, "empty configuration"},
		{"null document", "~\n", true, ErrSyntax, "empty configuration"},
		{"top-level list", "- issuer\n", true, ErrSyntax, "config: issuer.yaml:1: the configuration must be a mapping"},
		{"top-level scalar", "issuer\n", true, ErrSyntax, "must be a mapping"},
		{"two documents", "issuer: a\n---\nlisten: b\n", true, ErrSyntax, "more than one YAML document"},
		{"unknown anchor", "issuer: *nope\n", true, ErrSyntax, "unknown anchor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.yaml
			if !tt.raw {
				data = tt.yaml
			}
			_, err := parse(data)
			if err == nil {
				t.Fatal("Parse: want an error, got nil")
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("errors.Is(err, %v) = false: %v", tt.kind, err)
			}
			if !strings.Contains(err.Error()+"\n", tt.want) {
				t.Errorf("error\n%v\ndoes not contain\n%s", err, tt.want)
			}
		})
	}
}

// TestParseCollectsAll: unknown keys, type errors and validation problems
// of one file are all reported together, each with its own line.
func TestParseCollectsAll(t *testing.T) {
	data := baseYAML() + "rotate: 1h\n"
	data = strings.Replace(data, "issuer: https://auth.example.com", "issuer: http://auth.example.com\nlisten: nowhere", 1)
	data = strings.Replace(data, "grant_types: [client_credentials]", "grant_types: [client_credentials, implicit]", 1)
	data = strings.Replace(data, "    public: true\n", "    public: maybe\n", 1)
	_, err := parse(data)
	want := []string{ // in file order
		"config: issuer.yaml:1: issuer: must be an https URL",
		"config: issuer.yaml:2: listen: want host:port",
		`config: issuer.yaml:10: clients[0].grant_types[1]: unknown grant type "implicit" (want authorization_code, client_credentials, refresh_token, password, urn:ietf:params:oauth:grant-type:device_code, urn:ietf:params:oauth:grant-type:token-exchange, urn:ietf:params:oauth:grant-type:jwt-bearer)`,
		// clients[2].public kept its default (false), so the spa client is
		// also confidential without a secret; the problem points at the
		// client, as the key is absent.
		"config: issuer.yaml:18: clients[2].secret_hash: required for a confidential client",
		"config: issuer.yaml:19: clients[2].public: want true or false, got \"maybe\"",
		"config: issuer.yaml:24: unknown key \"rotate\"",
	}
	ps := problems(t, err)
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(ps[i].Error(), w) {
			t.Errorf("problem %d = %q, want prefix %q", i, ps[i], w)
		}
	}
}

// TestParseNoDoubleReport: a value that failed to decode is not reported
// again by validation.
func TestParseNoDoubleReport(t *testing.T) {
	data := strings.Replace(baseYAML(), `redirect_uris: ["https://app.example.com/cb"]`, `redirect_uris: "https://app.example.com/cb"`, 1)
	ps := problems(t, func() error { _, err := parse(data); return err }())
	if len(ps) != 1 || ps[0].Path != "clients[1].redirect_uris" || !strings.Contains(ps[0].Msg, "want a list") {
		t.Fatalf("want one problem at clients[1].redirect_uris (want a list), got %v", ps)
	}
}

// TestParseAliasBomb: nested aliases cannot make decoding run away.
func TestParseAliasBomb(t *testing.T) {
	// 1000 clients, each an alias of one client with 1100 redirect URIs:
	// a small file that expands to over a million nodes.
	var b strings.Builder
	b.WriteString("clients:\n  - &c {id: a, redirect_uris: [")
	b.WriteString(strings.Repeat("x, ", 1100))
	b.WriteString("x]}\n")
	b.WriteString(strings.Repeat("  - *c\n", 1000))
	start := time.Now()
	_, err := parse(b.String())
	if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("want a too-large syntax error, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("decoding took %v", d)
	}
}

func TestParseTooLarge(t *testing.T) {
	_, err := parse("issuer: x\n" + strings.Repeat("#", MaxFileSize))
	if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("want a too-large error, got %v", err)
	}
}

// TestParseValues: how YAML values map onto Config fields.
func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(s string) string
		field func(c *Config) any
		want  any
	}{
		{"defaults fill absent keys", nil, func(c *Config) any { return c.Tokens }, Tokens{10 * time.Minute, 720 * time.Hour, time.Minute, 30 * time.Second, 30 * time.Second, 10 * time.Minute}},
		{"explicit zero is kept", appendYAML("tokens: {leeway: 0s}\n"), func(c *Config) any { return c.Tokens.Leeway }, time.Duration(0)},
		{"null keeps the default", appendYAML("tokens:\n  leeway: ~\n"), func(c *Config) any { return c.Tokens.Leeway }, DefaultLeeway},
		{"null section keeps defaults", appendYAML("limits:\n"), func(c *Config) any { return c.Limits }, Default().Limits},
		{"size with suffix", appendYAML("limits: {max_body_bytes: 1MiB}\n"), func(c *Config) any { return c.Limits.MaxBodyBytes }, ByteSize(1 << 20)},
		{"size as integer", appendYAML("limits: {max_body_bytes: 4096}\n"), func(c *Config) any { return c.Limits.MaxBodyBytes }, ByteSize(4096)},
		{"size in bytes", appendYAML("limits: {max_body_bytes: 2048B}\n"), func(c *Config) any { return c.Limits.MaxBodyBytes }, ByteSize(2048)},
		{"hex integer", appendYAML("limits: {max_conns_per_ip: 0x10}\n"), func(c *Config) any { return c.Limits.MaxConnsPerIP }, 16},
		{"memory store entries", appendYAML("limits: {memory_store_entries: 5000000}\n"), func(c *Config) any { return c.Limits.MemoryStoreEntries }, 5_000_000},
		{"memory store entries default", nil, func(c *Config) any { return c.Limits.MemoryStoreEntries }, 1_000_000},
		{"bare address is a host prefix", appendYAML("trusted_proxies: [10.1.2.3, \"::1\"]\n"), func(c *Config) any { return c.TrustedProxies },
			[]netip.Prefix{netip.MustParsePrefix("10.1.2.3/32"), netip.MustParsePrefix("::1/128")}},
		{"numeric user id is a string", func(s string) string { return strings.Replace(s, "id: u-1,", "id: 1001,", 1) }, func(c *Config) any { return c.Users[0].ID }, "1001"},
		{"aliases are followed", func(s string) string {
			s = strings.Replace(s, `redirect_uris: ["https://app.example.com/cb"]`, `redirect_uris: &uris ["https://app.example.com/cb"]`, 1)
			return strings.Replace(s, "grant_types: [client_credentials]", "grant_types: [client_credentials]\n    audiences: &aud [\"https://api.example.com\"]", 1)
		}, func(c *Config) any { return c.Clients[0].Audiences }, []string{"https://api.example.com"}},
		{"response_types derived", nil, func(c *Config) any { return c.Clients[2].ResponseTypes }, []string{"code"}},
		{"response_types absent without authorization_code", nil, func(c *Config) any { return c.Clients[0].ResponseTypes }, []string(nil)},
		{"lone audience is the default", func(s string) string {
			return strings.Replace(s, "  - {name: \"https://api.example.com\", default: true}\n  - {name: \"https://other.example.com\"}\n", "  - {name: \"https://api.example.com\"}\n", 1)
		}, func(c *Config) any { return c.Audiences }, []Audience{{Name: "https://api.example.com", Default: true}}},
		{"relative paths under data_dir", nil, func(c *Config) any { return []string{c.DataDir, c.TLS.CertFile, c.TLS.KeyFile, c.Keys.Dir} },
			[]string{"/srv/issuer", "/srv/issuer/cert.pem", "/srv/issuer/key.pem", "/srv/issuer/keys"}},
		{"relative data_dir under the base", appendYAML("data_dir: ./state/\nkeys: {dir: /etc/issuer/keys/}\n"), func(c *Config) any { return []string{c.DataDir, c.TLS.CertFile, c.Keys.Dir} },
			[]string{"/srv/issuer/state", "/srv/issuer/state/cert.pem", "/etc/issuer/keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := baseYAML()
			if tt.edit != nil {
				data = tt.edit(data)
			}
			c := mustParse(t, data)
			if got := tt.field(c); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func appendYAML(extra string) func(string) string {
	return func(s string) string { return s + extra }
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"equal", "issuer", "issuer", 0},
		{"insertion", "redirect_uri", "redirect_uris", 1},
		{"substitution", "aud", "adu", 2},
		{"empty", "", "abc", 3},
		{"too long to bother", strings.Repeat("a", 65), "a", 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := editDistance(tt.a, tt.b); got != tt.want {
				t.Fatalf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
