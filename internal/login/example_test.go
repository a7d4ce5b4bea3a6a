package login_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/sealedtoken/issuer/internal/login"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// ExampleNewUsers builds the authenticator over configured users, as the
// login page and the password grant use it.
func ExampleNewUsers() {
	h, err := secret.Parse(secret.NewSHA256("correct horse battery staple"))
	if err != nil {
		panic(err)
	}
	users, err := login.NewUsers([]login.User{{Username: "alice", ID: "u-1001", Hash: h}},
		secret.NewVerifier(secret.VerifierConfig{}))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	id, err := users.AuthenticateUser(ctx, "alice", "correct horse battery staple")
	fmt.Println(id, err)
	_, err = users.AuthenticateUser(ctx, "alice", "wrong")
	fmt.Println(errors.Is(err, endpoint.ErrBadCredentials))
	_, err = users.AuthenticateUser(ctx, "mallory", "correct horse battery staple")
	fmt.Println(errors.Is(err, endpoint.ErrBadCredentials))
	// Output:
	// u-1001 <nil>
	// true
	// true
}

// ExampleNew builds the page that cmd/issuer hands to
// endpoint.Server.HandleAuthorize for /authorize.
func ExampleNew() {
	users, err := login.NewUsers(nil, nil)
	if err != nil {
		panic(err)
	}
	page, err := login.New(login.Config{
		Issuer:         "https://issuer.example.com",
		Users:          users,
		Limiter:        secret.NewLimiter(secret.LimiterConfig{}),
		TrustedHeader:  "X-Remote-User",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		// Key: the same 32+ random bytes on every replica.
		Path: endpoint.DefaultPaths.Authorize,
	})
	if err != nil {
		panic(err)
	}
	var owner endpoint.ResourceOwner = page
	fmt.Println(owner != nil)
	// Output: true
}

// ExampleProxySubjects shows how cmd/issuer maps the user names of an
// authenticating proxy to token subjects.
func ExampleProxySubjects() {
	h, err := secret.Parse(secret.NewSHA256("correct horse battery staple"))
	if err != nil {
		panic(err)
	}
	users, err := login.NewUsers([]login.User{{Username: "alice", ID: "u-1001", Hash: h}}, nil)
	if err != nil {
		panic(err)
	}
	subject := login.ProxySubjects(users, []string{"backend"})
	for _, name := range []string{"alice", "carol", "u-1001", "backend"} {
		sub, ok := subject(name)
		fmt.Printf("%s -> %q %v\n", name, sub, ok)
	}
	// Output:
	// alice -> "u-1001" true
	// carol -> "carol" true
	// u-1001 -> "" false
	// backend -> "" false
}
