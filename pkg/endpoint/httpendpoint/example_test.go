package httpendpoint_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/endpoint/httpendpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// Another Go server embeds the token endpoint in a few lines: key rings,
// a client list, a store, and one handler on its mux. Any OAuth 2.0 client
// then gets tokens from it; here golang.org/x/oauth2's client credentials
// flow.
func Example() {
	// Key rings: one per audience, plus the issuer's internal ring.
	ring := func(name string) *keys.Ring {
		now := time.Now()
		k, err := keys.Generate(keys.A256KW, keys.Lifecycle{Created: now, Activates: now, Retires: now.Add(24 * time.Hour), Expires: now.Add(48 * time.Hour)})
		if err != nil {
			log.Fatal(err)
		}
		set, err := keys.NewSet(name, k)
		if err != nil {
			log.Fatal(err)
		}
		return keys.NewRing(set)
	}
	// Clients, with the hash of their secret (issuer client new prints it).
	h, err := secret.Parse(secret.NewSHA256("backend-secret"))
	if err != nil {
		log.Fatal(err)
	}
	clients, err := endpoint.NewStaticClients(&endpoint.Client{
		ID: "backend", Secret: h,
		GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
		Scopes:     []string{"read", "write"}, DefaultScopes: []string{"read"},
	})
	if err != nil {
		log.Fatal(err)
	}
	st, err := memory.New()
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	srv, err := endpoint.New("https://issuer.example.com", endpoint.Rings{
		Internal:  ring(keys.InternalRing),
		Audiences: map[string]*keys.Ring{"https://api.example.com": ring("https://api.example.com")},
		Default:   "https://api.example.com",
	}, clients, st)
	if err != nil {
		log.Fatal(err)
	}

	// The embedding: one handler on the server's own mux.
	mux := http.NewServeMux()
	mux.Handle("/oauth/token", httpendpoint.Token(srv))
	ts := httptest.NewTLSServer(mux) // in production: http.ListenAndServeTLS
	defer ts.Close()

	// A client of it.
	cfg := clientcredentials.Config{
		ClientID: "backend", ClientSecret: "backend-secret",
		TokenURL: ts.URL + "/oauth/token", Scopes: []string{"read", "write"},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, ts.Client())
	tok, err := cfg.Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType, tok.Expiry.After(time.Now()), len(tok.AccessToken) > 100)
	// Output: Bearer true true
}

// Register mounts every endpoint at the URLs the metadata document
// advertises, the document itself at its well-known URI, and, given a
// ResourceOwner, the authorization endpoint.
func ExampleRegister() {
	srv := exampleIssuer()
	owner := endpoint.ResourceOwnerFunc(func(ctx context.Context, r *endpoint.Request, ar *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
		// A real owner shows a login and consent page (endpoint.Interact)
		// or reads a trusted proxy's header.
		return endpoint.Reject(nil), nil
	})
	mux := http.NewServeMux()
	httpendpoint.Register(mux, srv, httpendpoint.WithResourceOwner(owner))
	ts := httptest.NewTLSServer(mux)
	defer ts.Close()

	resp, err := ts.Client().Get(ts.URL + httpendpoint.WellKnownPath)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output: 200 application/json
}

// exampleIssuer is the Server of Example, built in one go.
func exampleIssuer() *endpoint.Server {
	now := time.Now()
	ring := func(name string) *keys.Ring {
		k, _ := keys.Generate(keys.A256KW, keys.Lifecycle{Created: now, Activates: now, Retires: now.Add(time.Hour), Expires: now.Add(2 * time.Hour)})
		set, _ := keys.NewSet(name, k)
		return keys.NewRing(set)
	}
	clients, _ := endpoint.NewStaticClients()
	st, _ := memory.New(memory.WithSweepInterval(0))
	srv, err := endpoint.New("https://issuer.example.com", endpoint.Rings{
		Internal:  ring(keys.InternalRing),
		Audiences: map[string]*keys.Ring{"https://api.example.com": ring("https://api.example.com")},
		Default:   "https://api.example.com",
	}, clients, st)
	if err != nil {
		log.Fatal(err)
	}
	return srv
}
