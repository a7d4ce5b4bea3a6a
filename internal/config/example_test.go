package config_test

import (
	"errors"
	"fmt"

	"github.com/sealedtoken/issuer/internal/config"
)

// Parse reports every problem at once, each with its line and key path.
func ExampleParse() {
	const file = `issuer: https://auth.example.com
tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}
audiences:
  - name: https://api.example.com
clients:
  - id: backend
    secret_hash: "sha256$50517730f7baa8bdf8b22a3f93b048c39ff659a7282c92c82af89b4d53b63a04"
    grant_types: [client_credentials, implicit]
    redirect_uri: ["https://app.example.com/cb"]
`
	_, err := config.Parse([]byte(file), "issuer.yaml", config.WithBaseDir("/etc/issuer"))
	fmt.Println(err)
	fmt.Println(errors.Is(err, config.ErrUnknownKey), errors.Is(err, config.ErrInvalid))
	// Output:
	// config: issuer.yaml:8: clients[0].grant_types[1]: unknown grant type "implicit" (want authorization_code, client_credentials, refresh_token, password, urn:ietf:params:oauth:grant-type:device_code, urn:ietf:params:oauth:grant-type:token-exchange, urn:ietf:params:oauth:grant-type:jwt-bearer)
	// config: issuer.yaml:9: unknown key "clients[0].redirect_uri" (did you mean "redirect_uris"?)
	// true true
}

// Environment variables override the listen address, the data directory
// and the store; relative paths follow the data directory.
func ExampleWithEnv() {
	const file = `issuer: https://auth.example.com
tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}
audiences: [{name: "https://api.example.com"}]
`
	env := map[string]string{"ISSUER_LISTEN": ":9443", "ISSUER_DATA_DIR": "/var/lib/issuer"}
	c, err := config.Parse([]byte(file), "issuer.yaml", config.WithEnv(func(k string) string { return env[k] }))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Listen, c.TLS.CertFile, c.Keys.Dir)
	// Output: :9443 /var/lib/issuer/tls/cert.pem /var/lib/issuer/keys
}

// Dev returns the dev-mode configuration; the caller adds the demo client
// with the hash of a secret it generated, and validates.
func ExampleDev() {
	c, err := config.Dev("/tmp/issuer-dev")
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Clients = append(c.Clients, config.DemoClient("sha256$50517730f7baa8bdf8b22a3f93b048c39ff659a7282c92c82af89b4d53b63a04"))
	if err := c.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	aud, _ := c.DefaultAudience()
	fmt.Println(c.Issuer, c.TLS.CertFile, aud, c.Clients[0].ID)
	// Output: https://127.0.0.1:8443 /tmp/issuer-dev/tls/cert.pem https://api.example.com demo
}

// Hash values never show through fmt or encoders.
func ExampleHash() {
	u := config.User{Username: "alice", ID: "u-1", PasswordHash: "$2a$10$..."}
	fmt.Printf("%s %s %v %#v\n", u.Username, u.PasswordHash, u.PasswordHash, u.PasswordHash)
	// Output: alice [REDACTED] [REDACTED] "[REDACTED]"
}

// The dev server's demo user; its password hash comes from a generated
// password.
func ExampleDemoUser() {
	u := config.DemoUser("$2a$10$...")
	fmt.Println(u.Username, u.ID, u.PasswordHash)
	// Output: alice u-alice [REDACTED]
}
