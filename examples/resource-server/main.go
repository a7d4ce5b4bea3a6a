// Command resource-server serves one protected handler, given the issuer's URL, its id and its key.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/sealedtoken/issuer/pkg/crypttoken/httpmw"
	"github.com/sealedtoken/issuer/pkg/crypttoken/remote"
)

func main() {
	issuer := flag.String("issuer", os.Getenv("ISSUER_URL"), "the issuer's URL")
	id := flag.String("id", os.Getenv("RS_ID"), "this resource server's id")
	keyFile := flag.String("key", os.Getenv("RS_KEY_FILE"), "its private key, as `issuer rs new` printed it")
	listen := flag.String("listen", "127.0.0.1:8080", "the address to serve on")
	flag.Parse()
	key, err := os.ReadFile(*keyFile)
	if err != nil {
		log.Fatal(err)
	}
	rs, err := remote.New(context.Background(), *issuer, *id, key,
		remote.WithCacheFile(*keyFile+".cache"), remote.WithOnError(func(err error) { log.Print(err) }))
	if err != nil {
		log.Fatal(err)
	}
	opener, err := rs.Opener(rs.Audiences()[0]) // the first audience whose keys it receives
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe(*listen, httpmw.Require(opener)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := httpmw.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s, scope %q\n", claims.Subject, claims.Scope)
	}))))
}
