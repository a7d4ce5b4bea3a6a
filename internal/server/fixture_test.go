package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "https://api.test"
	testClientID = "backend"
	testSecret   = "s3cr3t-value-for-tests-only-0123456789abcdef"
	// slowClientID has a bcrypt secret: the limiter throttles guesses at
	// slow hashes only (a sha256 secret is hopeless to guess).
	slowClientID = "slow"
)

// fixture is an endpoint server with one confidential client, in memory,
// behind a Handler whose log goes to a buffer.
type fixture struct {
	ep      *endpoint.Server
	h       *server.Handler
	metrics *server.Metrics
	log     *bytes.Buffer
	ring    *keys.Ring
}

type fixtureOpts struct {
	owner endpoint.ResourceOwner
	ready func(context.Context) error
}

func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	now := time.Now()
	p := keys.Policy{RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: 2 * time.Hour}
	mk := func(name string) *keys.Ring {
		set, err := keys.NewSetFromPolicy(name, now, p)
		if err != nil {
			t.Fatal(err)
		}
		return keys.NewRing(set)
	}
	aud := mk(testAudience)
	h, err := secret.Parse(secret.NewSHA256(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	bc, err := secret.NewBcrypt(slowSecret, 4)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := secret.Parse(bc)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := endpoint.NewStaticClients(&endpoint.Client{
		ID: testClientID, Secret: h,
		GrantTypes:    []endpoint.GrantType{endpoint.GrantClientCredentials, endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken},
		RedirectURIs:  []string{"https://app.test/cb"},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read"},
	}, &endpoint.Client{
		ID: slowClientID, Secret: slow,
		GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
		Scopes:     []string{"read"},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ep, err := endpoint.New(testIssuer, endpoint.Rings{
		Internal:  mk(keys.InternalRing),
		Audiences: map[string]*keys.Ring{testAudience: aud},
		Default:   testAudience,
	}, clients, st, endpoint.WithTrustedProxies(netip.MustParsePrefix("127.0.0.1/32")))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ep: ep, metrics: server.NewMetrics("test"), log: &bytes.Buffer{}, ring: aud}
	f.h = server.NewHandler(ep, server.HandlerOptions{
		Owner: o.owner, Log: zerolog.New(f.log).Hook(server.Timestamp), RequestLines: f.log, Metrics: f.metrics, Ready: o.ready,
	})
	return f
}

// req is a request to run through the handler in-process.
type req struct {
	method, uri, body string
	header            map[string]string
	remote            string // default 127.0.0.1
}

// do runs r through handler in-process and returns the response.
func do(handler fasthttp.RequestHandler, r req) *fasthttp.Response {
	var fr fasthttp.Request
	fr.Header.SetMethod(r.method)
	fr.SetRequestURI(r.uri)
	fr.Header.SetHost("issuer.test")
	for k, v := range r.header {
		fr.Header.Set(k, v)
	}
	if r.body != "" {
		fr.SetBodyString(r.body)
	}
	remote := r.remote
	if remote == "" {
		remote = "127.0.0.1"
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&fr, &net.TCPAddr{IP: net.ParseIP(remote), Port: 40000}, nil)
	handler(&ctx)
	resp := new(fasthttp.Response)
	ctx.Response.CopyTo(resp)
	return resp
}

// tokenReq is a client_credentials request from a trusted proxy that
// terminated TLS.
func tokenReq() req {
	return req{
		method: "POST", uri: "/token", body: "grant_type=client_credentials&scope=read",
		header: map[string]string{
			"Content-Type":      "application/x-www-form-urlencoded",
			"Authorization":     "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret)),
			"X-Forwarded-Proto": "https",
		},
	}
}

func contains(haystack, needle string) bool { return strings.Contains(haystack, needle) }

// metricsText is the /metrics exposition of m.
func metricsText(t testing.TB, m *server.Metrics) string {
	t.Helper()
	b, err := m.AppendText(nil)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
