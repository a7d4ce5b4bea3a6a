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
// mapping, or a string of JSON; each is a resource server's JWK Set whose
// encryption key key deliveries are encrypted to (SPEC §9), and survives
// Marshal.
func TestJWKSForms(t *testing.T) {
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
			r, err := keys.ParseRecipient([]byte(c.ResourceServers[0].JWKS))
			if err != nil || r.KeyID() != "1" || r.Curve() != keys.CurveP256 {
				t.Fatalf("stored %s: %v", c.ResourceServers[0].JWKS, err)
			}
			out, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			back, err := parse(string(out))
			if err != nil || !reflect.DeepEqual(back.ResourceServers, c.ResourceServers) {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
	for _, tc := range []struct{ name, yaml, msg string }{
		{"a list", `[1, 2]`, "object is expected"},
		{"a string that is not JSON", `"keys"`, "invalid JSON"},
		{"a JWK Set without an encryption key", `{"keys": [{"kty": "EC", "crv": "P-256", "kid": "s", "use": "sig", "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`, "no encryption key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(rsYAML(tc.yaml))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "resource_servers[0].jwks") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v; want one at resource_servers[0].jwks saying %q", err, tc.msg)
			}
		})
	}
	// With private_key_jwt the set may hold signing keys only: the
	// resource server authenticates with it and receives no keys.
	sigOnly := `{"keys": [{"kty": "EC", "crv": "P-256", "kid": "s", "alg": "ES256", "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`
	if _, err := parse(rsYAML(sigOnly) + "    token_endpoint_auth_method: private_key_jwt\n"); err != nil {
		t.Fatalf("private_key_jwt with signing keys only: %v", err)
	}
	// Both: it authenticates with the signing key and receives its keys
	// encrypted to the encryption key, from one set (SPEC §9, §10).
	both, err := keys.GenerateRecipient(keys.CurveX25519, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parse(rsYAML(string(both.PublicJWKS())) + "    token_endpoint_auth_method: private_key_jwt\n")
	if err != nil {
		t.Fatalf("private_key_jwt with an encryption key too: %v", err)
	}
	if r, err := keys.ParseRecipient([]byte(c.ResourceServers[0].JWKS)); err != nil || len(r.SigningKeys()) != 1 {
		t.Fatalf("the set: %v", err)
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
