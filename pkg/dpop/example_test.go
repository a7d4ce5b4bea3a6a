package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// A resource server checks the DPoP proof that comes with a DPoP-bound
// access token: the proof's key must be the token's cnf.jkt, its ath the
// token's hash, and it may be used once.
func Example() {
	clientKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jkt, _ := jws.ThumbprintString(&clientKey.PublicKey) // in the token's cnf.jkt
	const accessToken = "eyJ...the.access.token"

	// The client.
	p, _ := dpop.NewProof(clientKey, jws.ES256, dpop.Claims{Method: "GET", URI: "https://api.example.com/items?page=2", AccessToken: accessToken})

	// The resource server.
	replay, _ := dpop.NewMemoryReplay(100_000, nil)
	v, _ := dpop.NewVerifier(dpop.WithReplayCache(replay))
	req := dpop.Request{Method: "GET", URI: "https://api.example.com/items", AccessToken: accessToken, JKT: jkt}
	_, err := v.Verify(context.Background(), []string{p}, req)
	fmt.Println(err)

	_, err = v.Verify(context.Background(), []string{p}, req)
	fmt.Println(errors.Is(err, dpop.ErrReplayed), dpop.ErrorCode(err))
	// Output:
	// <nil>
	// true invalid_dpop_proof
}

// Every replica configured with the same key issues and accepts the same
// nonces, without storing anything (RFC 9449 §8).
func ExampleNonces() {
	key := []byte("a 32-byte secret from the config")
	replicaA, _ := dpop.NewNonces(30*time.Second, nil, key)
	replicaB, _ := dpop.NewNonces(30*time.Second, nil, key)
	nonce := replicaA.Current() // sent in DPoP-Nonce with use_dpop_nonce
	fmt.Println(replicaB.Valid(nonce), len(nonce))
	// Output: true 22
}
