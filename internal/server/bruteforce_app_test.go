package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"strconv"
	"testing"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/secret"
)

const slowSecret = "slow-secret-for-app-tests"

// securityApp builds (without serving) an App from a dev configuration
// behind the trusted proxy 10.0.0.0/8, with a bcrypt client "slow", a
// resource server "rs" for the default audience, rate limits of 3
// failures and a 5 s first block, and a client quota of 2 writes; its
// handler is driven in-process.
func securityApp(t *testing.T) (*server.App, *syncBuf) {
	t.Helper()
	cfg := devConfig(t, "127.0.0.1:18443", "") // never listened on: the handler runs in-process
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	enc, err := secret.NewBcrypt(slowSecret, secret.MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clients = append(cfg.Clients, config.Client{ID: "slow", SecretHash: config.Hash(enc),
		GrantTypes: []string{config.GrantClientCredentials}, Scopes: []string{"read"}, DefaultScopes: []string{"read"}})
	def, _ := cfg.DefaultAudience()
	cfg.ResourceServers = []config.ResourceServer{{ID: "rs", Audiences: []string{def}, SecretHash: config.Hash(secret.NewSHA256("rs-secret-0123456789"))}}
	cfg.RateLimit.Failures, cfg.RateLimit.Backoff = 3, 5e9
	cfg.RateLimit.ClientWrites = 2
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := &syncBuf{}
	app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	return app, log
}

// proxied is a form POST arriving from the trusted proxy 10.0.0.1 on behalf
// of client address forwarded.
func proxied(uri, body, id, sec, forwarded string) req {
	return req{method: "POST", uri: uri, body: body, remote: "10.0.0.1", header: map[string]string{
		"Content-Type":      "application/x-www-form-urlencoded",
		"Authorization":     "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+sec)),
		"X-Forwarded-Proto": "https",
		"X-Forwarded-For":   forwarded,
	}}
}

func TestAppRateLimitBackoffIsHonoured(t *testing.T) {
	// issue 8: "rate_limit.backoff is ignored (Retry-After is 60 with
	// backoff: 5s)".
	app, _ := securityApp(t)
	for range 3 {
		do(app.Handler.ServeFastHTTP, proxied("/token", "grant_type=client_credentials", "slow", "wrong", "203.0.113.5"))
	}
	resp := do(app.Handler.ServeFastHTTP, proxied("/token", "grant_type=client_credentials", "slow", slowSecret, "203.0.113.5"))
	if resp.StatusCode() != 429 || string(resp.Header.Peek("Retry-After")) != "5" {
		t.Fatalf("status %d Retry-After %q, want 429 and 5 (rate_limit.backoff)", resp.StatusCode(), resp.Header.Peek("Retry-After"))
	}
}

func TestAppBehindAProxy(t *testing.T) {
	// issue 8: "Behind a proxy, ten failures from anyone lock every
	// client out": the per-address key was the proxy's address.
	app, log := securityApp(t)
	h := app.Handler.ServeFastHTTP
	for i := range 10 {
		do(h, proxied("/token", "grant_type=client_credentials", "attacker"+strconv.Itoa(i), "wrong", "1.2.3.4"))
	}
	if st := do(h, proxied("/token", "grant_type=client_credentials", "slow", slowSecret, "5.6.7.8")).StatusCode(); st != 200 {
		t.Fatalf("a valid client behind the same proxy: %d", st)
	}
	if st := do(h, proxied("/token", "grant_type=client_credentials", "slow", slowSecret, "1.2.3.4")).StatusCode(); st != 429 {
		t.Errorf("the attacker's forwarded address: %d, want 429", st)
	}
	text, _ := log.snapshot()
	if !contains(text, `"remote":"5.6.7.8"`) || !contains(text, `"remote":"1.2.3.4"`) {
		t.Errorf("the log does not show the forwarded client addresses:\n%s", text)
	}
}

func TestAppResourceServersAndQuota(t *testing.T) {
	app, _ := securityApp(t)
	h := app.Handler.ServeFastHTTP
	token := func(id, sec string) string {
		resp := do(h, proxied("/token", "grant_type=client_credentials", id, sec, "192.0.2.1"))
		if resp.StatusCode() != 200 {
			t.Fatalf("token for %s: %d %s", id, resp.StatusCode(), resp.Body())
		}
		return jsonString(t, resp, "access_token")
	}
	introspect := func(tok, id, sec string) string {
		return string(do(h, proxied("/introspect", "token="+tok, id, sec, "192.0.2.2")).Body())
	}
	tok := token(config.DemoClientID, testSecret)
	if body := introspect(tok, "rs", "rs-secret-0123456789"); !contains(body, `"active":true`) {
		t.Errorf("the resource server of the audience: %s", body)
	}
	if body := introspect(tok, "slow", slowSecret); body != `{"active":false}` {
		t.Errorf("another client: %s, want inactive (RFC 7662 §4)", body)
	}
	if body := introspect(tok, config.DemoClientID, testSecret); !contains(body, `"active":true`) {
		t.Errorf("the token's own client: %s", body)
	}
	statuses := []int{}
	for range 3 {
		resp := do(h, proxied("/revoke", "token="+token(config.DemoClientID, testSecret), config.DemoClientID, testSecret, "192.0.2.3"))
		statuses = append(statuses, resp.StatusCode())
	}
	if statuses[0] != 200 || statuses[1] != 200 || statuses[2] != 429 {
		t.Errorf("revocations with rate_limit.client_writes 2: %v, want 200 200 429", statuses)
	}
}

func jsonString(t *testing.T, resp *fasthttp.Response, name string) string {
	t.Helper()
	var m map[string]any
	_ = json.Unmarshal(resp.Body(), &m)
	v, _ := m[name].(string)
	if v == "" {
		t.Fatalf("no %s in %s", name, resp.Body())
	}
	return v
}
