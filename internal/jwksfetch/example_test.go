package jwksfetch_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/internal/jwksfetch"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// The issuer verifies a private_key_jwt assertion with the keys at the
// client's registered jwks_uri.
func ExampleFetcher_Source() {
	f, err := jwksfetch.New(jwksfetch.WithTimeout(3*time.Second), jwksfetch.WithRefetchInterval(time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	const assertion = "eyJhbGciOiJFUzI1NiJ9.e30.sig" // from client_assertion
	_, err = jws.Verify(assertion, jws.AsymmetricAlgorithms, f.Source(ctx, "http://client.example.com/jwks"))
	fmt.Println(err)
	// Output: jwksfetch: jwks_uri not allowed: scheme "http", https required
}
