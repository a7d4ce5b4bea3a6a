package remote_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/httpmw"
	"github.com/sealedtoken/issuer/pkg/crypttoken/remote"
)

// A resource server protected by tokens of the issuer, with nothing but the
// issuer's URL, its id and its private key.
func Example() {
	ctx := context.Background()
	key, err := os.ReadFile("/etc/orders-api/rs-key.json") // printed once by `issuer rs new --id orders-api`
	if err != nil {
		log.Fatal(err)
	}
	rs, err := remote.New(ctx, "https://issuer.example.com", "orders-api", key,
		remote.WithCacheFile("/var/lib/orders-api/issuer-cache.json"),
		remote.WithOnError(func(err error) { log.Printf("issuer: %v", err) }))
	if err != nil {
		log.Fatal(err)
	}
	defer rs.Close()
	opener, err := rs.Opener("https://orders.example.com")
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/orders", httpmw.Require(opener)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := httpmw.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s\n", claims.Subject)
	})))
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// Without the middleware: Open refuses a revoked token with ErrRevoked.
func ExampleClient_Opener() {
	var rs *remote.Client // from remote.New
	var token string      // from the request
	opener, err := rs.Opener("https://orders.example.com")
	if err != nil {
		log.Fatal(err)
	}
	claims, err := opener.Open(token)
	switch {
	case errors.Is(err, crypttoken.ErrRevoked):
		// 401 invalid_token: revoked at the issuer.
	case errors.Is(err, crypttoken.ErrStatusUnknown):
		// 503, Retry-After: the token's status list is being fetched.
	case err != nil:
		// 401 invalid_token.
	default:
		_ = claims.Subject
	}
}
