//go:build !race

package server_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/netip"
	"testing"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// TestTokenPathAllocations is the allocation guard of the hot path: the
// handler (routing, adapter, response writing, metrics, the log line) adds
// no allocation to what endpoint.Server.Token itself costs.
func TestTokenPathAllocations(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	h := server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.New(io.Discard), Metrics: f.metrics})
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret))
	body := []byte("grant_type=client_credentials&scope=read")

	ctx := tokenRequestCtx(auth, 1)
	viaHandler := testing.AllocsPerRun(500, func() {
		ctx.Response.Reset()
		h.ServeFastHTTP(ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	})

	r := &endpoint.Request{
		Method: "POST", URI: "/token", RemoteAddr: netip.MustParseAddr("127.0.0.1"), Body: body,
		Header: endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}, {Name: "Authorization", Value: auth}, {Name: "X-Forwarded-Proto", Value: "https"}},
	}
	direct := testing.AllocsPerRun(500, func() {
		if resp, _ := f.ep.Token(context.Background(), r); resp.Status != 200 {
			t.Fatalf("status %d", resp.Status)
		}
	})
	t.Logf("allocations per token request: handler %.1f, endpoint alone %.1f", viaHandler, direct)
	if viaHandler > direct {
		t.Fatalf("the handler adds %.1f allocations per token request, want 0", viaHandler-direct)
	}
}
