package server_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/statuslist"
	"github.com/sealedtoken/issuer/pkg/store/redis/redistest"
)

// replica is an App listening on its own address.
type replica struct {
	addr   string
	client *http.Client
	app    *server.App
}

// startReplicas runs n Apps with one issuer URL, one key directory and the
// store st, each configuration changed by edit; with n > 1, st must be
// shared (Redis).
func startReplicas(t *testing.T, n int, st string, edit func(c *config.Config)) []*replica {
	t.Helper()
	dir := t.TempDir()
	var issuer string
	var reps []*replica
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{config.EnvListen: ln.Addr().String()}
		if st != "" {
			env[config.EnvStore] = st
		}
		cfg, err := config.Dev(dir, config.WithEnv(func(k string) string { return env[k] }))
		if err != nil {
			t.Fatal(err)
		}
		if issuer == "" {
			issuer = cfg.Issuer
		}
		cfg.Issuer = issuer // one issuer, several replicas behind it
		cfg.Clients = append(cfg.Clients, config.DemoClient(config.Hash(secret.NewSHA256(testSecret))))
		if edit != nil {
			edit(cfg)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if _, err := devtls.Ensure(cfg.TLS.CertFile, cfg.TLS.KeyFile, devtls.DefaultHosts, time.Now()); err != nil {
			t.Fatal(err)
		}
		app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.Nop(), StoreWait: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- app.Run(ctx, ln, 5*time.Second) }()
		t.Cleanup(func() {
			cancel()
			<-ran
			_ = app.Close()
		})
		pem, err := os.ReadFile(cfg.TLS.CertFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		reps = append(reps, &replica{addr: "https://" + ln.Addr().String(), client: httpsClient(pool, 0), app: app})
	}
	return reps
}

// fetch GETs path at r with the request headers hdr.
func (r *replica) fetch(t *testing.T, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", r.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (r *replica) token(t *testing.T) string {
	t.Helper()
	code, body := post(t, r.client, r.addr+"/token", url.Values{"grant_type": {"client_credentials"}}, true)
	if code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}
	return between(body, `"access_token":"`, `"`)
}

// status opens an access token with the dev audience's ring, as a
// resource server holding it, and returns its status entry.
func (r *replica) status(t *testing.T, tok string) crypttoken.StatusRef {
	t.Helper()
	ring, _ := r.app.Keys.Ring(config.DevAudience)
	o, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: r.app.Config.Issuer, Audience: config.DevAudience})
	if err != nil {
		t.Fatal(err)
	}
	c, err := o.Open(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status.IsZero() {
		t.Fatal("the access token carries no status entry")
	}
	return c.Status
}

// issuerKeys fetches the published JWK Set, as a resource server does.
func (r *replica) issuerKeys(t *testing.T) *jws.KeySet {
	t.Helper()
	resp, b := r.fetch(t, server.PathJWKS)
	if resp.StatusCode != 200 {
		t.Fatalf("jwks: %d", resp.StatusCode)
	}
	ks, err := jws.ParseKeySet(b)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// list fetches and verifies the Status List Token at ref's URI from r.
func (r *replica) list(t *testing.T, ref crypttoken.StatusRef) (*statuslist.Token, *http.Response) {
	t.Helper()
	u, err := url.Parse(ref.URI)
	if err != nil {
		t.Fatal(err)
	}
	resp, b := r.fetch(t, u.Path)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != statuslist.MediaType {
		t.Fatalf("GET %s: %d %s %s", u.Path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	v, err := statuslist.NewVerifier(r.issuerKeys(t), statuslist.WithIssuer(r.app.Config.Issuer), statuslist.WithLeeway(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := v.Verify(string(b), ref.URI)
	if err != nil {
		t.Fatalf("the status list does not verify: %v", err)
	}
	return tok, resp
}

func bit(t *testing.T, tok *statuslist.Token, idx uint64) statuslist.Status {
	t.Helper()
	s, err := tok.List.Get(idx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPublishedForResourceServers runs the issuer and reads, over HTTPS as
// a resource server would, what SPEC §9 publishes: the metadata members,
// the status list of a token (verified with the published JWK Set),
// revoked by RFC 7009 at once, with conditional requests; and the key
// delivery of a registered resource server, which opens with its private
// key.
func TestPublishedForResourceServers(t *testing.T) {
	rsKeys, err := keys.GenerateRecipient(keys.CurveX25519, false)
	if err != nil {
		t.Fatal(err)
	}
	r := startReplicas(t, 1, "", func(c *config.Config) {
		c.ResourceServers = []config.ResourceServer{{ID: "orders", Audiences: []string{config.DevAudience}, JWKS: config.JSON(rsKeys.PublicJWKS())}}
	})[0]
	iss := r.app.Config.Issuer
	_, meta := get(t, r.client, r.addr+server.PathMetadata)
	var m map[string]any
	if err := json.Unmarshal([]byte(meta), &m); err != nil {
		t.Fatal(err)
	}
	if m["status_list_aggregation_endpoint"] != iss+server.PathStatusLists || m["resource_keys_endpoint"] != iss+server.PathResourceKeys {
		t.Fatalf("metadata: %s", meta)
	}

	tok := r.token(t)
	ref := r.status(t, tok)
	if !strings.HasPrefix(ref.URI, iss+server.PathStatusLists+"/") {
		t.Fatalf("status uri %s", ref.URI)
	}
	slt, resp := r.list(t, ref)
	if bit(t, slt, ref.Index) != statuslist.Valid || slt.TTL != 30*time.Second {
		t.Fatalf("fresh token: bit %d, ttl %s", bit(t, slt, ref.Index), slt.TTL)
	}
	etag := resp.Header.Get("ETag")
	if r304, _ := r.fetch(t, strings.TrimPrefix(ref.URI, iss), "If-None-Match", etag); r304.StatusCode != 304 || r304.Header.Get("ETag") != etag {
		t.Fatalf("conditional GET: %d", r304.StatusCode)
	}
	if code, body := post(t, r.client, r.addr+"/revoke", url.Values{"token": {tok}}, true); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	slt, resp = r.list(t, ref)
	if bit(t, slt, ref.Index) != statuslist.Invalid || resp.Header.Get("ETag") == etag {
		t.Fatal("the revoked token's bit is not set in the published list")
	}
	_, agg := r.fetch(t, server.PathStatusLists)
	if !strings.Contains(string(agg), ref.URI) {
		t.Fatalf("aggregation %s", agg)
	}

	resp, body := r.fetch(t, server.PathResourceKeys+"?resource_server=orders")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != keys.DeliveryMediaType || resp.Header.Get("Cache-Control") == "" {
		t.Fatalf("key delivery: %d %v", resp.StatusCode, resp.Header)
	}
	d, err := keys.OpenDelivery(string(body), rsKeys, r.issuerKeys(t), keys.DeliveryExpected{Issuer: iss, ResourceServer: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := r.app.Keys.Ring(config.DevAudience)
	if got := d.Audiences[config.DevAudience]; len(d.Audiences) != 1 || got == nil || got.Len() != ring.Load().Len() {
		t.Fatalf("delivered audiences %v", d.Audiences)
	}
	if resp, _ := r.fetch(t, server.PathResourceKeys+"?resource_server=nobody"); resp.StatusCode != 404 {
		t.Fatalf("unknown resource server: %d", resp.StatusCode)
	}
	if resp, _ := r.fetch(t, server.PathStatusLists+"/not-a-list"); resp.StatusCode != 404 {
		t.Fatalf("unknown list: %d", resp.StatusCode)
	}
}

// TestStatusListsOnRedisReplicas runs two replicas on one Redis: a token
// one issues and the other revokes shows revoked in the list either
// replica serves, with identical bits and ETags, and the aggregation of
// each lists the lists of both.
func TestStatusListsOnRedisReplicas(t *testing.T) {
	rs := redistest.Start(t)
	reps := startReplicas(t, 2, rs.URL, nil)
	a, b := reps[0], reps[1]
	tokA, tokB := a.token(t), b.token(t)
	refA, refB := a.status(t, tokA), b.status(t, tokB)
	if refA.URI == refB.URI {
		t.Fatal("two replicas allocate from one list")
	}
	if code, body := post(t, b.client, b.addr+"/revoke", url.Values{"token": {tokA}}, true); code != 200 {
		t.Fatalf("revoke at the other replica: %d %s", code, body)
	}
	la, ra := a.list(t, refA)
	lb, rb := b.list(t, refA)
	if bit(t, la, refA.Index) != statuslist.Invalid || bit(t, lb, refA.Index) != statuslist.Invalid {
		t.Fatal("a replica serves the revoked token's bit clear")
	}
	if string(la.List.Bytes()) != string(lb.List.Bytes()) || ra.Header.Get("ETag") != rb.Header.Get("ETag") {
		t.Fatal("the replicas serve different lists")
	}
	for _, r := range reps {
		_, agg := r.fetch(t, server.PathStatusLists)
		if !strings.Contains(string(agg), refA.URI) || !strings.Contains(string(agg), refB.URI) {
			t.Fatalf("aggregation of a replica lacks a list: %s", agg)
		}
	}
	if lb2, _ := a.list(t, refB); bit(t, lb2, refB.Index) != statuslist.Valid {
		t.Fatal("another token's bit was set")
	}
}

// TestReloadResourceServer: a resource server added to the file by
// `issuer rs new` and a reload (SIGHUP) gets its key delivery at once;
// status list entries keep coming from the same lists (one allocator per
// process), and the bounds the signing ring publishes its keys for cover
// what it signs.
func TestReloadResourceServer(t *testing.T) {
	d := startDevApp(t, "")
	r := &replica{addr: d.base, client: d.client, app: d.app}
	before := r.status(t, r.token(t))
	rsKeys, err := keys.GenerateRecipient(keys.CurveP256, false)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := r.fetch(t, server.PathResourceKeys+"?resource_server=orders"); resp.StatusCode != 404 {
		t.Fatalf("before the reload: %d", resp.StatusCode)
	}
	next := reloadable(d.app.Current())
	next.ResourceServers = append(slices.Clone(next.ResourceServers), config.ResourceServer{ID: "orders", Audiences: []string{config.DevAudience}, JWKS: config.JSON(rsKeys.PublicJWKS())})
	if err := d.app.Reload(context.Background(), func() (*config.Config, error) { return next, nil }); err != nil {
		t.Fatal(err)
	}
	resp, body := r.fetch(t, server.PathResourceKeys+"?resource_server=orders")
	if resp.StatusCode != 200 {
		t.Fatalf("after the reload: %d", resp.StatusCode)
	}
	if _, err := keys.OpenDelivery(string(body), rsKeys, r.issuerKeys(t), keys.DeliveryExpected{Issuer: d.base, ResourceServer: "orders"}); err != nil {
		t.Fatal(err)
	}
	m := logLine(t, d.log, "configuration reloaded")
	if m == nil || !strings.Contains(jsonOf(m["resource_servers"]), `"added":["orders"]`) {
		t.Fatalf("no reload line naming the added resource server: %v", m)
	}
	after := r.status(t, r.token(t))
	if after.URI != before.URI || after.Index != before.Index+1 {
		t.Fatalf("a reload changed the allocator: %v then %v", before, after)
	}
	if endpoint.KeyDeliveryLifetime > server.MaxKeyDeliveryLifetime {
		t.Fatalf("key deliveries live %s, the signing keys stay published for %s", endpoint.KeyDeliveryLifetime, server.MaxKeyDeliveryLifetime)
	}
}
