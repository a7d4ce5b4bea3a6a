package server_test

import (
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/internal/server"
)

// A Header lets pkg/endpoint read a fasthttp request's fields without
// copying them; names match case-insensitively.
func ExampleNewHeader() {
	var h fasthttp.RequestHeader
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Forwarded-Proto", "https")
	hdr := server.NewHeader(&h)
	fmt.Println(hdr.Get("content-type"))
	fmt.Println(hdr.Get("X-FORWARDED-PROTO"))
	fmt.Printf("%q\n", hdr.Get("Authorization"))
	// Output:
	// application/x-www-form-urlencoded
	// https
	// ""
}

// TickInterval derives how often a server plans or reloads its key rings
// from the propagation time.
func ExampleTickInterval() {
	for _, p := range []string{"5s", "1m", "1h"} {
		d, _ := time.ParseDuration(p)
		fmt.Println(p, "->", server.TickInterval(d))
	}
	// Output:
	// 5s -> 1s
	// 1m -> 6s
	// 1h -> 1m0s
}
