package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestParseSpecSample: the sample of SPEC §6, with real hashes in place of
// its placeholders, parses and means what the SPEC says.
func TestParseSpecSample(t *testing.T) {
	c := mustParse(t, specSample(t))
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"issuer", c.Issuer, "https://127.0.0.1:8443"},
		{"keys.dir resolved, trailing slash dropped", c.Keys.Dir, "/srv/issuer/keys"},
		{"tls.cert_file resolved", c.TLS.CertFile, "/srv/issuer/tls/cert.pem"},
		{"code_ttl", c.Tokens.CodeTTL, 60 * time.Second},
		{"store", c.Store, StoreMemory},
		{"login header", c.Login.TrustedHeader, "X-Remote-User"},
		{"login key_file absent", c.Login.KeyFile, ""},
		{"clients", len(c.Clients), 3},
		{"webapp skip_consent", c.Clients[1].SkipConsent, true},
		{"spa public", c.Clients[2].Public, true},
		{"spa response_types derived", c.Clients[2].ResponseTypes, []string{"code"}},
		{"user id", c.Users[0].ID, "u-1001"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	if name, ok := c.DefaultAudience(); !ok || name != "https://api.example.com" {
		t.Errorf("DefaultAudience() = %q, %v", name, ok)
	}
}

// TestSpecSamplePlaceholdersRejected: the SPEC's placeholders are not
// hashes, and the errors say where without quoting them.
func TestSpecSamplePlaceholdersRejected(t *testing.T) {
	b, err := os.ReadFile("testdata/spec-sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = parse(string(b))
	var paths []string
	for _, p := range problems(t, err) {
		paths = append(paths, p.Path)
		if strings.Contains(p.Error(), "<hex>") || strings.Contains(p.Error(), "$2a$10$...") {
			t.Errorf("error quotes a hash value: %v", p)
		}
	}
	want := "clients[0].secret_hash clients[1].secret_hash users[0].password_hash"
	if got := strings.Join(paths, " "); got != want {
		t.Fatalf("problem paths = %q, want %q", got, want)
	}
}

// TestDefaultsGolden pins every default: a minimal file, marshalled after
// parsing. Regenerate with -update.
func TestDefaultsGolden(t *testing.T) {
	c := mustParse(t, "issuer: https://auth.example.com\ntls: {cert_file: tls/cert.pem, key_file: tls/key.pem}\naudiences: [{name: \"https://api.example.com\"}]\n")
	got, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/defaults.golden.yaml", got)
}

// TestExampleFile: testdata/issuer.example.yaml is Example(), loads without
// error, and documents every key.
func TestExampleFile(t *testing.T) {
	ex := Example()
	golden(t, "testdata/issuer.example.yaml", ex)
	c, err := Load("testdata/issuer.example.yaml")
	if err != nil {
		t.Fatalf("Load example: %v", err)
	}
	if len(c.Clients) != 4 || len(c.Users) != 1 || len(c.Audiences) != 2 || len(c.ResourceServers) != 1 {
		t.Fatalf("example has %d clients, %d users, %d audiences, %d resource servers", len(c.Clients), len(c.Users), len(c.Audiences), len(c.ResourceServers))
	}
	if c.Login.KeyFile != "/var/lib/issuer/login.key" || c.Login.KeyEnv != "" {
		t.Errorf("login.key_file = %q (want resolved against data_dir), key_env = %q", c.Login.KeyFile, c.Login.KeyEnv)
	}
	for _, p := range keyPaths() {
		leaf := p[strings.LastIndexAny(p, ".]")+1:]
		if !bytes.Contains(ex, []byte(leaf+":")) {
			t.Errorf("example does not show key %q", p)
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run go test -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestMarshalRoundTrip: Parse(Marshal(c)) == c, including explicit zeros
// that differ from their defaults.
func TestMarshalRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"base", baseYAML()},
		{"spec sample", specSample(t)},
		{"example", string(Example())},
		{"explicit zeros", baseYAML() + "tokens: {leeway: 0s}\nlimits: {max_conns_per_ip: 0, max_body_bytes: 1500}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.yaml)
			out, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			c2 := mustParse(t, string(out))
			if !reflect.DeepEqual(c, c2) {
				t.Fatalf("round trip changed the config\nfirst:  %+v\nsecond: %+v\nyaml:\n%s", c, c2, out)
			}
		})
	}
}

func TestMarshalNil(t *testing.T) {
	if _, err := Marshal(nil); err == nil {
		t.Fatal("Marshal(nil): want an error")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "conf", "issuer.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(baseYAML()+"data_dir: ../state\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("relative data_dir is resolved against the file", func(t *testing.T) {
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, "state"); c.DataDir != want || c.Keys.Dir != filepath.Join(want, "keys") {
			t.Fatalf("DataDir = %q, Keys.Dir = %q, want under %q", c.DataDir, c.Keys.Dir, want)
		}
	})
	t.Run("WithBaseDir overrides the file's directory", func(t *testing.T) {
		c, err := Load(path, WithBaseDir("/opt/x/y"))
		if err != nil {
			t.Fatal(err)
		}
		if c.DataDir != "/opt/x/state" {
			t.Fatalf("DataDir = %q, want /opt/x/state", c.DataDir)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "nope.yaml"))
		if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "config: ") {
			t.Fatalf("want a config: ... not-exist error, got %v", err)
		}
	})
	t.Run("errors name the file as given", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(bad, []byte("issuer: https://a.example\nlisten: x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(bad)
		if want := "config: " + bad + ":2: listen: "; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q in %v", want, err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		big := filepath.Join(dir, "big.yaml")
		if err := os.WriteFile(big, bytes.Repeat([]byte("#"), MaxFileSize+1), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(big); !errors.Is(err, ErrSyntax) {
			t.Fatalf("want ErrSyntax, got %v", err)
		}
	})
}

// TestSecretsNeverShown: hashes and the Redis password appear in no error
// and in no rendering of a Config other than Marshal.
func TestSecretsNeverShown(t *testing.T) {
	const marker = "S3CR3TMARKER"
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			edit func(string) string
			env  map[string]string
		}{
			{"bad secret_hash", func(s string) string {
				return strings.Replace(s, realHashes().sha, "sha256$"+marker, 1)
			}, nil},
			{"bad bcrypt", func(s string) string {
				return strings.Replace(s, realHashes().bcrypt, "$2a$10$"+marker, 1)
			}, nil},
			{"bad argon2id", func(s string) string {
				return strings.Replace(s, realHashes().argon, "$argon2id$v=19$m=1,t=1,p=1$"+marker+"$"+marker, 1)
			}, nil},
			{"plaintext password", func(s string) string {
				return strings.Replace(s, realHashes().argon, marker, 1)
			}, nil},
			{"secret on a public client", func(s string) string {
				return strings.Replace(s, "public: true", "public: true\n    secret_hash: "+marker, 1)
			}, nil},
			{"binary secret", func(s string) string {
				return strings.Replace(s, `"`+realHashes().sha+`"`, "!!binary "+marker, 1)
			}, nil},
			{"store with password", func(s string) string { return s + "store: redis://:" + marker + "@h:port/x\n" }, nil},
			{"store bad scheme", func(s string) string { return s + "store: " + marker + "://u:" + marker + "@h\n" }, nil},
			{"store from env", nil, map[string]string{EnvStore: "redis://:" + marker + "@/nodb"}},
			{"store not a url", func(s string) string { return s + "store: \"%" + marker + "\"\n" }, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				data := baseYAML()
				if tt.edit != nil {
					data = tt.edit(data)
				}
				_, err := parse(data, WithEnv(mapEnv(tt.env)))
				if err == nil {
					t.Fatal("want an error")
				}
				if strings.Contains(err.Error(), marker) {
					t.Fatalf("error shows the secret: %v", err)
				}
			})
		}
	})
	t.Run("renderings", func(t *testing.T) {
		c := mustParse(t, baseYAML()+"store: redis://user:"+marker+"@redis.internal:6379/0\n")
		c.Users[0].PasswordHash = Hash("$argon2id$" + marker)
		c.Clients[0].SecretHash = Hash("sha256$" + marker)
		js, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		ym, err := yaml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		for name, s := range map[string]string{
			"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
			"%s hash": fmt.Sprintf("%s", c.Users[0].PasswordHash), "json": string(js), "yaml.v3": string(ym),
		} {
			if strings.Contains(s, marker) {
				t.Errorf("%s rendering shows a secret: %s", name, s)
			}
		}
		if !strings.Contains(string(js), `"[REDACTED]"`) || !strings.Contains(string(js), "redis://user:xxxxx@redis.internal:6379/0") {
			t.Errorf("json rendering lacks the redacted forms: %s", js)
		}
		out, err := Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte("sha256$"+marker)) {
			t.Errorf("Marshal must write the hash value, got\n%s", out)
		}
	})
}

func TestStoreString(t *testing.T) {
	tests := []struct {
		name  string
		store Store
		want  string
	}{
		{"memory", StoreMemory, "memory"},
		{"empty", "", ""},
		{"no password", "redis://h:6379/0", "redis://h:6379/0"},
		{"password", "rediss://u:pw@h:6379/0", "rediss://u:xxxxx@h:6379/0"},
		{"unparsable", "redis://%zz", "[REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.store.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestByteSizeString(t *testing.T) {
	tests := []struct {
		name string
		size ByteSize
		want string
	}{
		{"zero", 0, "0"},
		{"bytes", 1000, "1000"},
		{"KiB", 64 << 10, "64KiB"},
		{"MiB", 3 << 20, "3MiB"},
		{"GiB", 1 << 30, "1GiB"},
		{"not a multiple", 1<<20 + 1, "1048577"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.size.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			back, err := parseByteSize(tt.want)
			if err != nil || back != tt.size {
				t.Fatalf("parseByteSize(%q) = %d, %v", tt.want, back, err)
			}
		})
	}
}

func TestFmtDuration(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{"zero", 0, "0s"},
		{"seconds", 30 * time.Second, "30s"},
		{"minutes", 10 * time.Minute, "10m"},
		{"hours", 720 * time.Hour, "720h"},
		{"mixed", 90 * time.Minute, "1h30m"},
		{"hour and seconds", time.Hour + time.Second, "1h0m1s"},
		{"sub-second", 1500 * time.Millisecond, "1.5s"},
		{"negative", -10 * time.Minute, "-10m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fmtDuration(tt.d)
			if got != tt.want {
				t.Fatalf("fmtDuration(%v) = %q, want %q", tt.d, got, tt.want)
			}
			if back, err := time.ParseDuration(got); err != nil || back != tt.d {
				t.Fatalf("ParseDuration(%q) = %v, %v", got, back, err)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	c := mustParse(t, baseYAML())
	if name, ok := c.DefaultAudience(); !ok || name != "https://api.example.com" {
		t.Errorf("DefaultAudience() = %q, %v", name, ok)
	}
	c.Audiences[0].Default = false
	if name, ok := c.DefaultAudience(); ok {
		t.Errorf("DefaultAudience() with none marked = %q, true", name)
	}
	cl, ok := c.Client("webapp")
	if !ok || cl.ID != "webapp" || !cl.HasGrant(GrantRefreshToken) || cl.HasGrant(GrantPassword) {
		t.Errorf("Client(webapp) = %+v, %v", cl, ok)
	}
	cl.SkipConsent = true
	if !c.Clients[1].SkipConsent {
		t.Error("Client must return a pointer into the Config")
	}
	if _, ok := c.Client("nobody"); ok {
		t.Error("Client(nobody) found")
	}
}
