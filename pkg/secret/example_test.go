package secret_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
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

// A server runs every client authentication through Limiter.Begin and the
// Attempt it returns: the attempt is refused before any hash is computed
// once the client id is blocked, but the client's own address, from which
// it authenticated before, is never refused for an attacker's failures.
func ExampleLimiter() {
	l := secret.NewLimiter(secret.LimiterConfig{Threshold: 3})
	v := secret.NewVerifier(secret.VerifierConfig{})
	enc, _ := secret.NewBcrypt("correct horse", secret.MinBcryptCost)
	h, _ := secret.Parse(enc)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

	authenticate := func(from, sec string) string {
		a, retry, ok := l.Begin("client:webapp", netip.MustParseAddr(from), "", h.Slow(), now)
		if !ok {
			return fmt.Sprintf("429 Retry-After: %d", secret.RetryAfterSeconds(retry))
		}
		match, err := v.VerifyGated(context.Background(), h, sec, &a)
		switch {
		case errors.Is(err, secret.ErrThrottled):
			return fmt.Sprintf("429 Retry-After: %d", secret.RetryAfterSeconds(a.Fail()))
		case err != nil:
			a.Abandon()
			return "503"
		case !match:
			a.Fail()
			return "401 invalid_client"
		}
		a.Succeed()
		return "200"
	}
	fmt.Println("client:  ", authenticate("192.0.2.10", "correct horse"))
	for range 4 {
		fmt.Println("attacker:", authenticate("203.0.113.66", "guess"))
		now = now.Add(time.Second)
	}
	fmt.Println("client:  ", authenticate("192.0.2.10", "correct horse"))
	fmt.Println("newcomer:", authenticate("198.51.100.1", "correct horse"))
	// Output:
	// client:   200
	// attacker: 401 invalid_client
	// attacker: 401 invalid_client
	// attacker: 401 invalid_client
	// attacker: 429 Retry-After: 59
	// client:   200
	// newcomer: 429 Retry-After: 58
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
