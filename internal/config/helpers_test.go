package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Hashes made by the real algorithms, so that the syntactic checks are
// tested against what pkg/secret and other tools actually produce.
var realHashes = sync.OnceValue(func() (h struct{ sha, bcrypt, argon string }) {
	sum := sha256.Sum256([]byte("generated-secret"))
	h.sha = "sha256$" + hex.EncodeToString(sum[:])
	b, err := bcrypt.GenerateFromPassword([]byte("webapp-secret"), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	h.bcrypt = string(b)
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("alice-password"), salt, 1, 64, 1, 32)
	h.argon = fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s",
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	return h
})

// specSample returns the SPEC §6 sample with real hashes substituted.
func specSample(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/spec-sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := realHashes()
	s := strings.ReplaceAll(string(b), `"sha256$<hex>"`, `"`+h.sha+`"`)
	return strings.ReplaceAll(s, `"$2a$10$..."`, `"`+h.bcrypt+`"`)
}

// baseYAML is a valid configuration exercising every kind of client; the
// validation table mutates it one rule at a time.
func baseYAML() string {
	h := realHashes()
	return `issuer: https://auth.example.com
tls: {cert_file: cert.pem, key_file: key.pem}
audiences:
  - {name: "https://api.example.com", default: true}
  - {name: "https://other.example.com"}
clients:
  - id: backend
    secret_hash: "` + h.sha + `"
    grant_types: [client_credentials]
    scopes: [read, write]
    default_scopes: [read]
  - id: webapp
    secret_hash: "` + h.bcrypt + `"
    redirect_uris: ["https://app.example.com/cb"]
    grant_types: [authorization_code, refresh_token]
    scopes: [profile]
  - id: spa
    public: true
    redirect_uris: ["http://127.0.0.1:3000/cb"]
    grant_types: [authorization_code]
users:
  - {username: alice, id: u-1, password_hash: "` + h.argon + `"}
`
}

const testBase = "/srv/issuer"

func parse(data string, opts ...Option) (*Config, error) {
	return Parse([]byte(data), "issuer.yaml", append([]Option{WithBaseDir(testBase)}, opts...)...)
}

func mustParse(t testing.TB, data string, opts ...Option) *Config {
	t.Helper()
	c, err := parse(data, opts...)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// problems splits a joined error into its *Error values.
func problems(t testing.TB, err error) []*Error {
	t.Helper()
	if err == nil {
		return nil
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	var out []*Error
	for _, e := range list {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Fatalf("problem is not a *config.Error: %T %v", e, e)
		}
		out = append(out, ce)
	}
	return out
}
