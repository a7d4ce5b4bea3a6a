package crypttoken_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// exampleNow is the examples' fixed clock, so their output never changes.
var exampleNow = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func exampleClock() time.Time { return exampleNow }

// exampleRing builds the key ring of the audience https://api.example.com
// from one key. A resource server builds it from the JWK Set the issuer
// exported for it; the material here is fixed only to keep the example
// short. Never hard-code real key material.
func exampleRing() *keys.Ring {
	material := []byte("0123456789abcdef0123456789abcdef") // 256 bits
	key, err := keys.NewKey("2025-01", keys.A256KW, material, keys.Lifecycle{
		Created:   exampleNow.Add(-48 * time.Hour),
		Activates: exampleNow.Add(-24 * time.Hour),
		Retires:   exampleNow.Add(24 * time.Hour),
		Expires:   exampleNow.Add(25 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	set, err := keys.NewSet("https://api.example.com", key)
	if err != nil {
		log.Fatal(err)
	}
	return keys.NewRing(set)
}

// exampleToken seals the access token the examples open.
func exampleToken(ring *keys.Ring, exp time.Time) string {
	sealer, err := crypttoken.NewSealer(ring, crypttoken.WithClock(exampleClock))
	if err != nil {
		log.Fatal(err)
	}
	token, err := sealer.Seal(crypttoken.TypeAccess, &crypttoken.Claims{
		Issuer:   "https://issuer.example.com",
		Subject:  "u-1001",
		Audience: []string{"https://api.example.com"},
		Expiry:   exp,
		ClientID: "webapp",
		Scope:    "profile read",
	})
	if err != nil {
		log.Fatal(err)
	}
	return token
}

// A resource server opens the bearer token of each request locally: no
// database, no call to the issuer.
func ExampleOpener_Open() {
	ring := exampleRing()
	token := exampleToken(ring, exampleNow.Add(10*time.Minute))

	// Once, at start-up. The ring may be swapped while the opener serves.
	opener, err := crypttoken.NewOpener(ring, crypttoken.Expected{
		Issuer:   "https://issuer.example.com",
		Audience: "https://api.example.com",
		Leeway:   30 * time.Second,
		Time:     exampleClock, // leave nil in production: time.Now
	})
	if err != nil {
		log.Fatal(err)
	}

	// Per request.
	claims, err := opener.Open(token)
	if err != nil {
		fmt.Println("401:", err)
		return
	}
	fmt.Println("client:", claims.ClientID)
	fmt.Println("user:", claims.Subject)
	fmt.Println("scopes:", claims.Scopes())
	fmt.Println("expires:", claims.Expiry.UTC().Format(time.RFC3339))
	// Output:
	// client: webapp
	// user: u-1001
	// scopes: [profile read]
	// expires: 2025-01-02T03:14:05Z
}

// Every failure has its own sentinel error; an expired token is
// ErrExpired.
func ExampleOpener_Open_expired() {
	ring := exampleRing()
	token := exampleToken(ring, exampleNow.Add(-time.Minute))
	opener, err := crypttoken.NewOpener(ring, crypttoken.Expected{Time: exampleClock})
	if err != nil {
		log.Fatal(err)
	}
	_, err = opener.Open(token)
	switch {
	case errors.Is(err, crypttoken.ErrExpired):
		fmt.Println("expired: ask the client to refresh")
	case err != nil:
		fmt.Println("invalid:", err)
	}

	// A token changed anywhere does not decrypt, expired or not.
	tampered := []byte(token)
	i := strings.LastIndexByte(token, '.') - 5 // inside the ciphertext
	if tampered[i] == 'x' {
		tampered[i] = 'y'
	} else {
		tampered[i] = 'x'
	}
	_, err = opener.Open(string(tampered))
	fmt.Println(errors.Is(err, crypttoken.ErrDecrypt), errors.Is(err, crypttoken.ErrExpired))
	// Output:
	// expired: ask the client to refresh
	// true false
}

// The issuer seals claims with the ring's active key. The token is a
// standard compact JWE: five base64url parts, the first of which is the
// protected header.
func ExampleNewSealer() {
	sealer, err := crypttoken.NewSealer(exampleRing(), crypttoken.WithClock(exampleClock))
	if err != nil {
		log.Fatal(err)
	}
	claims := &crypttoken.Claims{
		Issuer:   "https://issuer.example.com",
		Subject:  "backend", // client_credentials: the client is the subject
		Audience: []string{"https://api.example.com"},
		Expiry:   exampleNow.Add(10 * time.Minute),
		ClientID: "backend",
		Scope:    "read",
	}
	token, err := sealer.Seal(crypttoken.TypeAccess, claims)
	if err != nil {
		log.Fatal(err)
	}
	parts := strings.Split(token, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	fmt.Println(len(parts), "parts")
	fmt.Println(string(header))
	// Seal filled in a random jti and the issue time.
	fmt.Println(len(claims.ID), claims.IssuedAt.UTC().Format(time.RFC3339))
	// Output:
	// 5 parts
	// {"alg":"A256KW","enc":"A256GCM","kid":"2025-01","typ":"at+jwt"}
	// 22 2025-01-02T03:04:05Z
}

func ExampleClaims_HasScope() {
	claims := &crypttoken.Claims{Scope: "profile read:orders write"}
	fmt.Println(claims.HasScope("read:orders"))
	fmt.Println(claims.HasScope("read")) // whole scope tokens only
	fmt.Println(claims.HasScope("Write"))
	// Output:
	// true
	// false
	// false
}
