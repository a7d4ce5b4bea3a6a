package server_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/server"
)

// TestNonCanonicalPathsAreNotRouted: issue 8 — "//token", "/%74oken",
// "/./token" and "/x/../token" all reached /token, so a front proxy's path
// rules could be bypassed. Any path that normalisation would change is
// answered 400 and never routed. The requests go over a raw socket: HTTP
// clients normalise paths before sending them.
func TestNonCanonicalPathsAreNotRouted(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewServer(f.h.ServeFastHTTP, server.Limits{}, nil, zerolog.Nop())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret))
	send := func(t *testing.T, method, target string) int {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := "grant_type=client_credentials"
		req := method + " " + target + " HTTP/1.1\r\nHost: issuer.test\r\nX-Forwarded-Proto: https\r\nAuthorization: " + auth +
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name, method, target string
		want                 int
	}{
		{name: "the canonical token path is served", method: "POST", target: "/token", want: 200},
		{name: "a query does not make a path non-canonical", method: "POST", target: "/token?tenant=a", want: 200},
		{name: "the canonical health path is served", method: "GET", target: "/healthz", want: 200},
		{name: "an unknown canonical path is 404", method: "GET", target: "/token/", want: 404},
		{name: "issue 8: a doubled slash", method: "POST", target: "//token", want: 400},
		{name: "issue 8: a percent-encoded unreserved character", method: "POST", target: "/%74oken", want: 400},
		{name: "issue 8: a dot segment", method: "POST", target: "/./token", want: 400},
		{name: "issue 8: a dot-dot segment", method: "POST", target: "/x/../token", want: 400},
		{name: "a trailing dot-dot", method: "POST", target: "/token/x/..", want: 400},
		{name: "an encoded slash", method: "GET", target: "/.well-known%2Foauth-authorization-server", want: 400},
		{name: "an encoded dot segment", method: "POST", target: "/%2e/token", want: 400},
		{name: "a GET of the metadata through a dot segment", method: "GET", target: "/./.well-known/oauth-authorization-server", want: 400},
		{name: "a non-canonical unknown path is 400, not 404", method: "GET", target: "//nope", want: 400},
		{name: "absolute form with a canonical path", method: "POST", target: "https://issuer.test/token", want: 200},
		{name: "absolute form with a doubled slash", method: "POST", target: "https://issuer.test//token", want: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := send(t, tt.method, tt.target); got != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.target, got, tt.want)
			}
		})
	}
	if !contains(f.log.String(), `"endpoint":"bad_path"`) {
		t.Errorf("no bad_path log line:\n%s", f.log.String())
	}
}
