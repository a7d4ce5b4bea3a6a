package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"

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
