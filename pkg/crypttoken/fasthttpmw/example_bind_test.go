package fasthttpmw_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/fasthttpmw"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// A fasthttp resource server accepts a DPoP-bound access token (RFC 9449)
// only with the DPoP scheme and a fresh proof of the token's key; with
// nonces required, the first proof is answered with the nonce to use.
func ExampleWithDPoPNonces() {
	now := time.Now()
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
	opener, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: "https://issuer.example.com", Audience: "https://api.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	// The nonce key: from a secret store in production, shared by the
	// resource server's replicas.
	nonces, err := dpop.NewNonces(time.Minute, nil, []byte("resource server nonce key 012345"))
	if err != nil {
		log.Fatal(err)
	}
	replay, err := dpop.NewMemoryReplay(100_000, nil)
	if err != nil {
		log.Fatal(err)
	}
	handler := fasthttpmw.Require(opener,
		fasthttpmw.WithDPoPNonces(nonces),
		fasthttpmw.WithDPoPReplayCache(replay),
		fasthttpmw.WithExternalURL("https://api.example.com"),
	)(func(ctx *fasthttp.RequestCtx) {
		claims, _ := fasthttpmw.FromRequest(ctx)
		fmt.Fprintf(ctx, "orders of %s", claims.Subject)
	})
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: handler}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown() }()
	client := &fasthttp.HostClient{Addr: "api.example.com", Dial: func(string) (net.Conn, error) { return ln.Dial() }}

	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	jkt, err := jws.ThumbprintString(clientKey.Public())
	if err != nil {
		log.Fatal(err)
	}
	sealer, err := crypttoken.NewSealer(ring)
	if err != nil {
		log.Fatal(err)
	}
	token, err := sealer.Seal(crypttoken.TypeAccess, &crypttoken.Claims{
		Issuer: "https://issuer.example.com", Subject: "u-1001", Audience: []string{"https://api.example.com"},
		Expiry: now.Add(10 * time.Minute), ClientID: "webapp", Confirmation: crypttoken.Confirmation{JKT: jkt},
	})
	if err != nil {
		log.Fatal(err)
	}
	nonce := ""
	for i := 0; i < 2; i++ {
		proof, err := dpop.NewProof(clientKey, jws.ES256, dpop.Claims{Method: "GET", URI: "https://api.example.com/orders", AccessToken: token, Nonce: nonce})
		if err != nil {
			log.Fatal(err)
		}
		req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://api.example.com/orders")
		req.Header.Set("Authorization", "DPoP "+token)
		req.Header.Set("DPoP", proof)
		if err := client.Do(req, res); err != nil {
			log.Fatal(err)
		}
		if res.StatusCode() == fasthttp.StatusOK {
			fmt.Println(res.StatusCode(), string(res.Body()))
		} else {
			nonce = string(res.Header.Peek("DPoP-Nonce")) // retry with it
			fmt.Println(res.StatusCode(), string(res.Header.Peek("WWW-Authenticate")), nonce != "")
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(res)
	}
	// Output:
	// 401 DPoP algs="ES256 EdDSA PS256 RS256", error="use_dpop_nonce", error_description="the DPoP proof must carry the nonce of the DPoP-Nonce header (RFC 9449 section 8, section 9)" true
	// 200 orders of u-1001
}
