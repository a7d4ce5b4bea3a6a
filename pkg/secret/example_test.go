package secret_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/pkg/secret"
)

// `issuer client new`: make a client id and a 256-bit secret, print the
// secret once, and store only its sha256 form in the configuration. At load
// time the server parses the hash once and verifies presented secrets.
func ExampleNewClientSecret() {
	id, err := secret.NewClientID()
	if err != nil {
		panic(err)
	}
	s, err := secret.NewClientSecret()
	if err != nil {
		panic(err)
	}
	hashForConfig := secret.NewSHA256(s)
	_ = id // printed alongside the secret and the hash

	// Server side, at configuration load.
	h, err := secret.Parse(hashForConfig)
	if err != nil {
		panic(err)
	}
	v := secret.NewVerifier(secret.VerifierConfig{})
	ok, err := v.Verify(context.Background(), h, s)
	fmt.Println(len(s), h.Scheme(), ok, err)
	ok, err = v.Verify(context.Background(), h, "guess")
	fmt.Println(ok, err)
	// Output:
	// 43 sha256 true <nil>
	// false <nil>
}

func ExampleParse() {
	_, err := secret.Parse("$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
	fmt.Println(err)
	_, err = secret.Parse("my-plaintext-password")
	fmt.Println(err)
	// Output:
	// secret: bcrypt cost out of range: cost 31, allowed 4..13
	// secret: unknown hash scheme: want sha256$<hex>, $2a$/$2b$/$2y$ (bcrypt) or $argon2id$ (PHC)
}

// A server checks the limiter for the client and the address before any
// hash is computed, and records the outcome afterwards.
func ExampleLimiter() {
	l := secret.NewLimiter(secret.LimiterConfig{Threshold: 3})
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	keys := []string{"client:webapp", "addr:192.0.2.10"}

	authenticate := func(correct bool) string {
		for _, k := range keys {
			if ok, retry := l.Allow(k, now); !ok {
				return fmt.Sprintf("429 Retry-After: %d", secret.RetryAfterSeconds(retry))
			}
		}
		if !correct { // the Verifier said no
			for _, k := range keys {
				l.Fail(k, now)
			}
			return "401 invalid_client"
		}
		l.Succeed(keys[0], now)
		return "200"
	}
	for range 4 {
		fmt.Println(authenticate(false))
		now = now.Add(time.Second)
	}
	fmt.Println(authenticate(true))
	now = now.Add(time.Minute)
	fmt.Println(authenticate(true))
	// Output:
	// 401 invalid_client
	// 401 invalid_client
	// 401 invalid_client
	// 429 Retry-After: 59
	// 429 Retry-After: 58
	// 200
}

func ExampleSecret() {
	type login struct {
		User     string
		Password secret.Secret
	}
	l := login{User: "alice", Password: "hunter2"}
	fmt.Printf("%v\n%+v\n", l, l)
	fmt.Println(len(l.Password.Reveal()))
	// Output:
	// {alice [REDACTED]}
	// {User:alice Password:[REDACTED]}
	// 7
}
