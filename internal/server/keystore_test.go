package server_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/redis"
	"github.com/sealedtoken/issuer/pkg/store/redis/redistest"
)

var testKEK = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x3c}, keys.KEKSize))

// ringKids lists the kids of every ring of app, ring by ring.
func ringKids(app *server.App) string {
	var b strings.Builder
	for _, set := range app.Keys.List() {
		b.WriteString(set.Name() + ":")
		for _, k := range set.Keys() {
			b.WriteString(k.ID + ",")
		}
		b.WriteString(" ")
	}
	return b.String()
}

// TestKeyStoreRedisReplicas is SPEC §9 "Replicas without a shared volume"
// end to end: two issuer processes' Apps with keys.store: redis, each with
// its own (empty) keys.dir, on one Redis. They start with the same rings;
// when the clock passes the keys' retirement the lease holder rotates every
// ring, the signing ring included, and the other replica follows; both
// publish the same /jwks.json; nothing is written to either keys.dir.
func TestKeyStoreRedisReplicas(t *testing.T) {
	rs := redistest.Start(t)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	type rep struct {
		app    *server.App
		base   string
		client *http.Client
		dir    string
	}
	var reps []rep
	for i := 0; i < 2; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{config.EnvListen: ln.Addr().String(), config.EnvStore: rs.URL, "ISSUER_KEK": testKEK}
		cfg, err := config.Dev(t.TempDir(), config.WithEnv(func(k string) string { return env[k] }))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Keys.Store, cfg.Keys.KEKEnv = config.KeyStoreRedis, "ISSUER_KEK"
		cfg.Keys.SigningAlg = config.SigningEdDSA
		cfg.Keys.RotateEvery, cfg.Keys.Propagation = time.Minute, 10*time.Second // ticks every second
		cfg.Clients = append(cfg.Clients, config.DemoClient(config.Hash(secret.NewSHA256(testSecret))))
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if _, err := devtls.Ensure(cfg.TLS.CertFile, cfg.TLS.KeyFile, devtls.DefaultHosts, time.Now()); err != nil {
			t.Fatal(err)
		}
		app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.Nop(), Now: now,
			Holder: fmt.Sprintf("replica-%d", i), Getenv: func(k string) string { return env[k] }})
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
		pool := certPool(t, cfg.TLS.CertFile)
		reps = append(reps, rep{app: app, base: cfg.Issuer, client: httpsClient(pool, 0), dir: cfg.Keys.Dir})
	}
	before := ringKids(reps[0].app)
	if before != ringKids(reps[1].app) {
		t.Fatalf("replicas start with different rings:\n%s\n%s", before, ringKids(reps[1].app))
	}
	if !strings.Contains(before, keys.SigningRing+":") {
		t.Fatalf("no signing ring: %s", before)
	}
	jwks := func(r rep) (string, string) {
		resp, err := r.client.Get(r.base + server.PathJWKS)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("jwks: %d", resp.StatusCode)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.Header.Get("ETag"), b.String()
	}
	e0, _ := jwks(reps[0])
	if e1, _ := jwks(reps[1]); e0 != e1 {
		t.Fatalf("replicas publish different JWK Sets: %s / %s", e0, e1)
	}

	offset.Store(int64(2 * time.Minute)) // past every active key's retirement
	deadline := time.Now().Add(15 * time.Second)
	var a, b string
	for time.Now().Before(deadline) {
		a, b = ringKids(reps[0].app), ringKids(reps[1].app)
		if a != before && a == b && rotatedAll(before, a) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a == before || a != b || !rotatedAll(before, a) {
		t.Fatalf("rings after rotation:\n%s\n%s\n(before %s)", a, b, before)
	}
	for _, r := range reps {
		if err := r.app.Keys.CheckActive(now()); err != nil {
			t.Fatalf("a replica cannot seal or sign after rotation: %v", err)
		}
		entries, err := os.ReadDir(r.dir)
		if err == nil && len(entries) > 0 {
			t.Errorf("keys.store redis wrote to keys.dir %s: %d entries", r.dir, len(entries))
		}
	}
	// A token sealed by one replica opens on the other.
	code, body := post(t, reps[0].client, reps[0].base+"/token", map[string][]string{"grant_type": {"client_credentials"}}, true)
	if code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}
	tok := between(body, `"access_token":"`, `"`)
	ring, _ := reps[1].app.Keys.Ring(config.DevAudience)
	op, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: reps[0].base, Audience: config.DevAudience, Time: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Open(tok); err != nil {
		t.Fatalf("replica 1 cannot open replica 0's token: %v", err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		e0, d0 := jwks(reps[0])
		e1, d1 := jwks(reps[1])
		if e0 == e1 && d0 == d1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas publish different JWK Sets after rotation")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rotatedAll reports whether every ring of after holds a key that before
// did not.
func rotatedAll(before, after string) bool {
	old := map[string]bool{}
	for _, f := range strings.FieldsFunc(before, func(r rune) bool { return r == ',' || r == ' ' || r == ':' }) {
		old[f] = true
	}
	for _, ring := range strings.Fields(after) {
		_, list, _ := strings.Cut(ring, ":")
		fresh := false
		for _, kid := range strings.Split(strings.TrimSuffix(list, ","), ",") {
			if kid != "" && !old[kid] {
				fresh = true
			}
		}
		if !fresh {
			return false
		}
	}
	return true
}

func certPool(t *testing.T, certFile string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(pem)
	return p
}

// TestKeyStoreRedisImportsDir: a deployment moving from a shared keys.dir
// to keys.store: redis keeps its keys: the first Init copies every ring
// file into Redis (wrapped with the KEK), so tokens sealed before the move
// still open and the signing ring keeps its published keys.
func TestKeyStoreRedisImportsDir(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	cfg := devConfig(t, "127.0.0.1:18443", rs.URL)
	getenv := func(k string) string {
		if k == "ISSUER_KEK" {
			return testKEK
		}
		return ""
	}
	dirRings, err := server.NewKeyRings(cfg, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dirRings.Init(ctx); err != nil {
		t.Fatal(err)
	}
	ring, _ := dirRings.Ring(config.DevAudience)
	s, err := crypttoken.NewSealer(ring)
	if err != nil {
		t.Fatal(err)
	}
	n := time.Now()
	tok, err := s.Seal(crypttoken.TypeAccess, &crypttoken.Claims{Issuer: cfg.Issuer, Subject: "x", Audience: []string{config.DevAudience}, IssuedAt: n, Expiry: n.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}

	cfg.Keys.Store, cfg.Keys.KEKEnv = config.KeyStoreRedis, "ISSUER_KEK"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	kr, closeRings, err := server.ConnectKeyRings(ctx, cfg, getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRings()
	created, imported, err := kr.Init(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 0 || strings.Join(imported, ",") != strings.Join(kr.Names(), ",") {
		t.Fatalf("created %v imported %v, want every ring imported", created, imported)
	}
	r2, _ := kr.Ring(config.DevAudience)
	op, err := crypttoken.NewOpener(r2, crypttoken.Expected{Issuer: cfg.Issuer, Audience: config.DevAudience})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Open(tok); err != nil {
		t.Fatalf("a token sealed before the move does not open: %v", err)
	}
	if got, want := kr.Signing().Load().Keys()[0].ID, dirRings.Signing().Load().Keys()[0].ID; got != want {
		t.Fatalf("signing key %s, want the imported %s", got, want)
	}
	// In Redis the rings are wrapped: no JWK in clear.
	st, err := redis.New(ctx, rs.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	data, _, err := st.Rings().Read(ctx, keys.SigningRing, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"kek"`) || strings.Contains(string(data), `"jwk"`) {
		t.Fatalf("ring stored in Redis unwrapped")
	}
	// A second Init imports nothing more.
	if _, imported, err := kr.Init(ctx); err != nil || len(imported) != 0 {
		t.Fatalf("second init imported %v: %v", imported, err)
	}
}

// TestKeyStoreRedisNeedsKEK: without the KEK the rings are not put in
// Redis, and the error names the key.
func TestKeyStoreRedisNeedsKEK(t *testing.T) {
	cfg := devConfig(t, "127.0.0.1:18443", "redis://127.0.0.1:1/0")
	cfg.Keys.Store = config.KeyStoreRedis
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "keys.kek_env") {
		t.Fatalf("config without kek_env: %v", err)
	}
	if _, err := server.NewKeyRingsWithStorage(cfg, func(string) string { return "" }, nil); err == nil || !strings.Contains(err.Error(), "keys.kek_env") {
		t.Fatalf("NewKeyRingsWithStorage without a KEK: %v", err)
	}
	if _, err := server.NewKeyRings(cfg, nil); err == nil {
		t.Fatal("NewKeyRings accepted keys.store redis without a connection")
	}
}

// TestKeyStoreRedisUnreachableAtStart: with keys.store: redis a replica
// that cannot reach Redis has no rings, so Build fails with an error that
// says so (it does not serve without keys, nor create rings elsewhere).
func TestKeyStoreRedisUnreachableAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "redis://" + l.Addr().String() + "/0"
	_ = l.Close()
	cfg := devConfig(t, "127.0.0.1:18443", dead)
	cfg.Keys.Store, cfg.Keys.KEKEnv = config.KeyStoreRedis, "ISSUER_KEK"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.Nop(), StoreWait: 200 * time.Millisecond,
		Getenv: func(k string) string {
			if k == "ISSUER_KEK" {
				return testKEK
			}
			return ""
		}})
	if err == nil {
		_ = app.Close()
		t.Fatal("Build succeeded without the rings")
	}
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "key rings") {
		t.Fatalf("Build: %v", err)
	}
	if entries, _ := os.ReadDir(cfg.Keys.Dir); len(entries) > 0 {
		t.Fatalf("rings written to keys.dir instead")
	}
}
