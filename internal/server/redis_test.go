package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/secret"

	"github.com/sealedtoken/issuer/pkg/store/redis/redistest"
)

// TestRedisOutageAndRecovery runs the App on a real Redis, stops it, and
// starts it again: grants needing the store fail with 503 only while it is
// down.
func TestRedisOutageAndRecovery(t *testing.T) {
	rs := redistest.Start(t)
	base, c, _, _ := devApp(t, rs.URL)
	token := func() string {
		code, body := post(t, c, base+"/token", url.Values{"grant_type": {"client_credentials"}}, true)
		if code != 200 {
			t.Fatalf("token: %d %s", code, body)
		}
		return between(body, `"access_token":"`, `"`)
	}
	if code, body := post(t, c, base+"/revoke", url.Values{"token": {token()}}, true); code != 200 {
		t.Fatalf("revoke with redis up: %d %s", code, body)
	}
	if code, _ := get(t, c, base+"/readyz"); code != 200 {
		t.Fatalf("readyz with redis up = %d", code)
	}
	rs.Stop()
	tok := token() // client_credentials needs no store
	if code, body := post(t, c, base+"/revoke", url.Values{"token": {tok}}, true); code != 503 || !strings.Contains(body, "temporarily_unavailable") {
		t.Fatalf("revoke with redis down: %d %s", code, body)
	}
	if code, _ := get(t, c, base+"/readyz"); code != 503 {
		t.Fatalf("readyz with redis down = %d", code)
	}
	rs.Restart()
	if code, body := post(t, c, base+"/revoke", url.Values{"token": {tok}}, true); code != 200 {
		t.Fatalf("revoke after redis came back: %d %s", code, body)
	}
}

// TestKeyRotationLease runs two replicas on one key directory and one
// Redis: the replica holding the rotation lease rotates the rings when
// the clock passes a key's retirement, and the other replica reloads what
// it wrote, so both seal with the same keys.
func TestKeyRotationLease(t *testing.T) {
	rs := redistest.Start(t)
	dir := t.TempDir()
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	var reps []*server.App
	for i := 0; i < 2; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{config.EnvListen: ln.Addr().String(), config.EnvStore: rs.URL}
		cfg, err := config.Dev(dir, config.WithEnv(func(k string) string { return env[k] }))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Keys.RotateEvery, cfg.Keys.Propagation = time.Minute, 10*time.Second // ticks every second
		cfg.Clients = append(cfg.Clients, config.DemoClient(config.Hash(secret.NewSHA256(testSecret))))
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if _, err := devtls.Ensure(cfg.TLS.CertFile, cfg.TLS.KeyFile, devtls.DefaultHosts, time.Now()); err != nil {
			t.Fatal(err)
		}
		app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.Nop(), Now: now, Holder: fmt.Sprintf("replica-%d", i)})
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
		reps = append(reps, app)
	}
	kids := func(a *server.App) string {
		r, _ := a.Keys.Ring(config.DevAudience)
		var ids []string
		for _, k := range r.Load().Keys() {
			ids = append(ids, k.ID)
		}
		return strings.Join(ids, ",")
	}
	before := kids(reps[0])
	if before != kids(reps[1]) {
		t.Fatalf("replicas start with different rings: %s / %s", before, kids(reps[1]))
	}
	offset.Store(int64(2 * time.Minute)) // past the active key's retirement
	rotations := func(a *server.App) int {
		m := regexp.MustCompile(`issuer_key_rotations_total\{ring="https://api.example.com"\} (\d+)`).FindStringSubmatch(metricsText(t, a.Metrics))
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	// Every ring of both replicas can seal again: the audience rings, the
	// internal ring and the signing ring are written by one tick of the
	// lease holder, one after the other, and the follower reloads them
	// at its own next tick, so they are waited for together.
	active := func() error {
		return errors.Join(reps[0].Keys.CheckActive(now()), reps[1].Keys.CheckActive(now()))
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		a, b := kids(reps[0]), kids(reps[1])
		// The writer counts its rotation just after swapping the ring in.
		if a != before && a == b && rotations(reps[0])+rotations(reps[1]) > 0 && active() == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	a, b := kids(reps[0]), kids(reps[1])
	if a == before || a != b {
		t.Fatalf("rings after rotation: %s / %s (before %s)", a, b, before)
	}
	if r0, r1 := rotations(reps[0]), rotations(reps[1]); (r0 > 0) == (r1 > 0) {
		t.Fatalf("rotations written: replica 0 %d, replica 1 %d; want exactly one writer", r0, r1)
	}
	for _, app := range reps {
		if err := app.Keys.CheckActive(now()); err != nil {
			t.Fatalf("a replica cannot seal after rotation: %v", err)
		}
	}
}
