package fasthttpmw_test

import (
	"fmt"
	"log"
	"net"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/fasthttpmw"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// A fasthttp resource server guards its handler with Require and
// RequireScope.
func Example() {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now } // leave out in production

	// In production the ring comes from the JWK Set the issuer exported
	// for this audience. Never hard-code key material.
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

	orders := func(ctx *fasthttp.RequestCtx) {
		claims, _ := fasthttpmw.FromRequest(ctx)
		fmt.Fprintf(ctx, "orders of %s", claims.Subject)
	}
	handler := fasthttpmw.Require(opener, fasthttpmw.WithRealm("api"))(fasthttpmw.RequireScope("orders:read")(orders))

	// Serve it in memory and call it.
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: handler}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown() }()
	client := &fasthttp.HostClient{Addr: "api.test", Dial: func(string) (net.Conn, error) { return ln.Dial() }}

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
	for _, auth := range []string{"", "Bearer " + token} {
		req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://api.test/orders")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if err := client.Do(req, res); err != nil {
			log.Fatal(err)
		}
		if res.StatusCode() == fasthttp.StatusOK {
			fmt.Println(res.StatusCode(), string(res.Body()))
		} else {
			fmt.Println(res.StatusCode(), string(res.Header.Peek("WWW-Authenticate")))
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(res)
	}
	// Output:
	// 401 Bearer realm="api"
	// 200 orders of u-1001
}
