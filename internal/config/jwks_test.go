package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// rfcEncKey is the public EC P-256 encryption key of RFC 7517 Appendix A.1.
const rfcEncKey = `{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"enc","kid":"1"}`

// rsYAML is baseYAML with one resource server whose jwks is the YAML
// given.
func rsYAML(jwks string) string {
	return baseYAML() + "resource_servers:\n  - id: rs\n    audiences: [\"https://api.example.com\"]\n    jwks: " + jwks + "\n"
}

// TestJWKSForms reads resource_servers[].jwks in the forms an operator
// writes it: the JSON object inline (YAML reads JSON), a YAML block
// mapping, or a string of JSON; each is stored as the same canonical JSON
// and written back by Marshal as an inline mapping.
func TestJWKSForms(t *testing.T) {
	want := `{"keys":[{"crv":"P-256","kid":"1","kty":"EC","use":"enc","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`
	for _, tc := range []struct{ name, yaml string }{
		{"RFC 7517 §5: JSON inline", `{"keys": [` + rfcEncKey + `]}`},
		{"a string of JSON", `'{"keys":[` + rfcEncKey + `]}'`},
		{"a YAML block mapping", "\n      keys:\n        - {kty: EC, crv: P-256, x: MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4, y: 4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM, use: enc, kid: \"1\"}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(rsYAML(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(c.ResourceServers[0].JWKS); got != want {
				t.Fatalf("stored %s\nwant %s", got, want)
			}
			out, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), `jwks: {"keys": [{"crv": "P-256"`) {
				t.Fatalf("Marshal writes:\n%s", out)
			}
			back, err := parse(string(out))
			if err != nil || !reflect.DeepEqual(back.ResourceServers, c.ResourceServers) {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
	for _, tc := range []struct{ name, yaml, msg string }{
		{"a list", `[1, 2]`, "want a JWK Set"},
		{"a number", `12`, "want a JWK Set"},
		{"a string that is not JSON", `"keys"`, "not a JSON object"},
		{"a string of a JSON array", `'[]'`, "not a JSON object"},
		{"a YAML value that is not JSON", `{keys: !!binary aGVsbG8=}`, "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(rsYAML(tc.yaml))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "resource_servers[0].jwks") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v; want one at resource_servers[0].jwks saying %q", err, tc.msg)
			}
		})
	}
}

// TestJWKSPrivateKeyNotEchoed: a private JWK Set pasted into the
// configuration by mistake is refused, and no message quotes it.
func TestJWKSPrivateKeyNotEchoed(t *testing.T) {
	r, err := keys.GenerateRecipient(keys.CurveP256, false)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := r.PrivateJWKS()
	if err != nil {
		t.Fatal(err)
	}
	d := priv[strings.Index(string(priv), `"d":"`)+5:]
	d = d[:strings.IndexByte(string(d), '"')]
	_, err = parse(rsYAML(string(priv)))
	if err == nil || !strings.Contains(err.Error(), ".d (kid") {
		t.Fatalf("private JWK Set: %v", err)
	}
	if strings.Contains(err.Error(), string(d)) {
		t.Fatal("the error quotes the private key")
	}
}

// jwksFuzzSeeds are the seeds of FuzzJWKS: the forms of TestJWKSForms and
// sets ParseRecipient refuses.
func jwksFuzzSeeds(t testing.TB) []string {
	r, err := keys.GenerateRecipient(keys.CurveX25519, true)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := r.PrivateJWKS()
	return []string{
		`{"keys": [` + rfcEncKey + `]}`,
		`'{"keys":[` + rfcEncKey + `]}'`,
		string(r.PublicJWKS()),
		string(priv),
		`{"keys": []}`,
		`{"keys": [{"kty": "RSA", "kid": "r", "use": "enc", "n": "AQAB", "e": "AQAB"}]}`,
		"&a {keys: [*a]}",
		`[1]`,
	}
}

// TestWriteJWKSFuzzSeeds writes FuzzJWKS's seed corpus with -update.
func TestWriteJWKSFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzJWKS")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range jwksFuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzJWKS feeds arbitrary YAML as a resource server's jwks: Parse never
// panics, errors are config errors, and a set that is accepted is a
// resource server's public JWK Set that keys.ParseRecipient reads, with no
// private key in it.
func FuzzJWKS(f *testing.F) {
	f.Fuzz(func(t *testing.T, jwks string) {
		if strings.ContainsAny(jwks, "\n\r") {
			return // one YAML line: the value of jwks
		}
		c, err := parse(rsYAML(jwks))
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(c.ResourceServers) != 1 {
			return
		}
		r, err := keys.ParseRecipient([]byte(c.ResourceServers[0].JWKS))
		if err != nil {
			t.Fatalf("accepted a jwks ParseRecipient refuses: %v", err)
		}
		if r.HasPrivate() {
			t.Fatal("accepted a private key")
		}
	})
}
