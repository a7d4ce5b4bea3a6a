package server_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// TestSignedAudienceApp: audiences[].sign reaches the endpoint (SPEC §9):
// the App issues nested tokens for that audience, whose inner JWS verifies
// against the keys served at /jwks.json, and which introspect active.
func TestSignedAudienceApp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := devConfig(t, ln.Addr().String(), "")
	cfg.Audiences[0].Sign = true
	aud := cfg.Audiences[0].Name
	app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- app.Run(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		_ = app.Close()
	})
	pem, err := os.ReadFile(cfg.TLS.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := httpsClient(pool, 0)
	base := cfg.Issuer

	code, body := post(t, c, base+"/token", url.Values{"grant_type": {"client_credentials"}}, true)
	if code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		t.Fatal(err)
	}
	hdr, err := base64.RawURLEncoding.DecodeString(tr.AccessToken[:strings.IndexByte(tr.AccessToken, '.')])
	if err != nil || !strings.Contains(string(hdr), `"cty":"JWT"`) {
		t.Fatalf("JWE header %s (%v): not a nested JWT", hdr, err)
	}
	code, jwks := get(t, c, base+server.PathJWKS)
	if code != 200 {
		t.Fatalf("jwks: %d", code)
	}
	set, err := jws.ParseKeySet([]byte(jwks))
	if err != nil {
		t.Fatal(err)
	}
	ring, ok := app.Keys.Ring(aud)
	if !ok {
		t.Fatal("no audience ring")
	}
	o, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: cfg.Issuer, Audience: aud}, crypttoken.WithSignedTokens(set))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Open(tr.AccessToken); err != nil {
		t.Fatalf("verifying against the published JWK Set: %v", err)
	}
}
