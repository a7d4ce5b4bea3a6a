package httpmw_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/httpmw"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// A resource server guards its routes with Require, and one of them with a
// scope as well.
func Example() {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now } // leave out in production

	// The resource server's ring: in production, loaded from the JWK Set
	// the issuer exported for this audience. Never hard-code key material.
	key, err := keys.NewKey("2025-01", keys.A256KW, []byte("0123456789abcdef0123456789abcdef"), keys.Lifecycle{
		Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour), Retires: now.Add(time.Hour), Expires: now.Add(2 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	set, err := keys.NewSet("https://api.example.com", key)
	if err != nil {
		log.Fatal(err)
	}
	ring := keys.NewRing(set)
	opener, err := crypttoken.NewOpener(ring, crypttoken.Expected{
		Issuer: "https://issuer.example.com", Audience: "https://api.example.com", Time: clock,
	})
	if err != nil {
		log.Fatal(err)
	}

	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := httpmw.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s", claims.Subject)
	})
	requireToken := httpmw.Require(opener, httpmw.WithRealm("api"))
	mux := http.NewServeMux()
	mux.Handle("GET /orders", requireToken(orders))
	mux.Handle("DELETE /orders", requireToken(httpmw.RequireScope("orders:write")(orders)))

	// A token as the issuer would hand it out.
	sealer, err := crypttoken.NewSealer(ring, crypttoken.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	token, err := sealer.Seal(crypttoken.TypeAccess, &crypttoken.Claims{
		Issuer: "https://issuer.example.com", Subject: "u-1001", Audience: []string{"https://api.example.com"},
		Expiry: now.Add(10 * time.Minute), ClientID: "webapp", Scope: "orders:read",
	})
	if err != nil {
		log.Fatal(err)
	}

	for _, req := range []struct{ method, auth string }{
		{"GET", ""},
		{"GET", "Bearer " + token},
		{"DELETE", "Bearer " + token},
		{"GET", "Bearer not-a-token"},
	} {
		r := httptest.NewRequest(req.method, "/orders", nil)
		if req.auth != "" {
			r.Header.Set("Authorization", req.auth)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			fmt.Println(req.method, w.Code, w.Body)
		} else {
			fmt.Println(req.method, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	// Output:
	// GET 401 Bearer realm="api"
	// GET 200 orders of u-1001
	// DELETE 403 Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="orders:write"
	// GET 401 Bearer realm="api", error="invalid_token", error_description="the access token is invalid"
}
