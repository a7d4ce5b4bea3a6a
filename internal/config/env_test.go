package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestEnvOverrides(t *testing.T) {
	cwd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		check   func(c *Config) string // "" if fine, else what is wrong
		wantErr string                 // substring; the variable must be named
	}{
		{"no variables", nil, func(c *Config) string {
			return want(c.Listen == DefaultListen && c.DataDir == testBase && c.Store == StoreFile &&
				c.StorePath == filepath.Join(testBase, DefaultStorePath), "defaults changed")
		}, ""},
		{"empty variables are unset", map[string]string{EnvListen: "", EnvDataDir: "", EnvStore: ""}, func(c *Config) string {
			return want(c.Listen == DefaultListen && c.DataDir == testBase, "empty variable applied")
		}, ""},
		{"listen", map[string]string{EnvListen: "0.0.0.0:9443"}, func(c *Config) string {
			return want(c.Listen == "0.0.0.0:9443", "listen = "+c.Listen)
		}, ""},
		{"absolute data dir moves relative paths", map[string]string{EnvDataDir: "/var/lib/issuer"}, func(c *Config) string {
			return want(c.DataDir == "/var/lib/issuer" && c.Keys.Dir == "/var/lib/issuer/keys" && c.TLS.CertFile == "/var/lib/issuer/cert.pem" &&
				c.StorePath == "/var/lib/issuer/store/issuer.db",
				"paths "+c.DataDir+" "+c.Keys.Dir+" "+c.TLS.CertFile+" "+c.StorePath)
		}, ""},
		{"relative data dir is under the working directory", map[string]string{EnvDataDir: "state"}, func(c *Config) string {
			return want(c.DataDir == filepath.Join(cwd, "state"), "data_dir = "+c.DataDir)
		}, ""},
		{"store", map[string]string{EnvStore: "rediss://:pw@redis.internal:6380/1"}, func(c *Config) string {
			return want(string(c.Store) == "rediss://:pw@redis.internal:6380/1", "store = "+c.Store.String())
		}, ""},
		{"bad listen names the variable", map[string]string{EnvListen: "9443"}, nil, "config: ISSUER_LISTEN: want host:port"},
		{"store memory", map[string]string{EnvStore: "memory"}, func(c *Config) string {
			return want(c.Store.IsMemory(), "store = "+c.Store.String())
		}, ""},
		{"bad store names the variable", map[string]string{EnvStore: "mysql://x"}, nil, "config: ISSUER_STORE: must be \"file\", \"memory\" or a redis://"},
		{"several bad variables", map[string]string{EnvListen: "x", EnvStore: "redis://"}, nil, "config: ISSUER_STORE: the Redis URL needs a host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(baseYAML(), WithEnv(mapEnv(tt.env)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(c); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

func want(ok bool, msg string) string {
	if ok {
		return ""
	}
	return msg
}

func TestDev(t *testing.T) {
	h := realHashes()
	t.Run("defaults", func(t *testing.T) {
		c, err := Dev("/tmp/issuer-dev")
		if err != nil {
			t.Fatal(err)
		}
		checks := map[string]bool{
			"issuer":   c.Issuer == "https://127.0.0.1:8443",
			"listen":   c.Listen == DefaultListen,
			"tls":      c.TLS.CertFile == "/tmp/issuer-dev/tls/cert.pem" && c.TLS.KeyFile == "/tmp/issuer-dev/tls/key.pem",
			"keys":     c.Keys.Dir == "/tmp/issuer-dev/keys",
			"audience": len(c.Audiences) == 1 && c.Audiences[0] == Audience{Name: DevAudience, Default: true},
			"store":    c.Store.IsFile() && c.StorePath == "/tmp/issuer-dev/store/issuer.db",
			"no users": len(c.Clients) == 0 && len(c.Users) == 0,
		}
		for name, ok := range checks {
			if !ok {
				t.Errorf("%s wrong: %+v", name, c)
			}
		}
	})
	t.Run("with the demo client it validates", func(t *testing.T) {
		c, err := Dev(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		c.Clients = append(c.Clients, DemoClient(Hash(h.sha)))
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if cl, ok := c.Client(DemoClientID); !ok || !cl.HasGrant(GrantClientCredentials) {
			t.Fatalf("demo client = %+v", cl)
		}
	})
	t.Run("demo client without hash is refused", func(t *testing.T) {
		c, err := Dev(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		c.Clients = append(c.Clients, DemoClient(""))
		ps := problems(t, c.Validate())
		if len(ps) != 1 || ps[0].Path != "clients[0].secret_hash" {
			t.Fatalf("want one problem at clients[0].secret_hash, got %v", ps)
		}
	})
	t.Run("environment moves listen, issuer and data dir", func(t *testing.T) {
		c, err := Dev("/ignored", WithEnv(mapEnv(map[string]string{EnvListen: "0.0.0.0:9443", EnvDataDir: "/srv/dev"})))
		if err != nil {
			t.Fatal(err)
		}
		if c.Listen != "0.0.0.0:9443" || c.Issuer != "https://127.0.0.1:9443" || c.Keys.Dir != "/srv/dev/keys" {
			t.Fatalf("got listen %q issuer %q keys %q", c.Listen, c.Issuer, c.Keys.Dir)
		}
	})
	t.Run("ipv6 listen", func(t *testing.T) {
		c, err := Dev("/d", WithEnv(mapEnv(map[string]string{EnvListen: "[::1]:8443"})))
		if err != nil || c.Issuer != "https://[::1]:8443" {
			t.Fatalf("got %v, %v", c, err)
		}
	})
	t.Run("port 0 leaves the issuer to the caller", func(t *testing.T) {
		c, err := Dev("/d", WithEnv(mapEnv(map[string]string{EnvListen: "127.0.0.1:0"})))
		if err != nil || c.Issuer != "" {
			t.Fatalf("got %+v, %v; want an empty issuer", c, err)
		}
		c.Issuer = "https://127.0.0.1:41234"
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad environment", func(t *testing.T) {
		_, err := Dev("/d", WithEnv(mapEnv(map[string]string{EnvListen: "nope"})))
		if err == nil || !strings.Contains(err.Error(), "config: ISSUER_LISTEN: ") {
			t.Fatalf("want an ISSUER_LISTEN error, got %v", err)
		}
	})
	t.Run("empty data dir is the working directory", func(t *testing.T) {
		c, err := Dev("")
		if err != nil {
			t.Fatal(err)
		}
		if cwd, _ := filepath.Abs("."); c.DataDir != cwd {
			t.Fatalf("DataDir = %q, want %q", c.DataDir, cwd)
		}
	})
}
