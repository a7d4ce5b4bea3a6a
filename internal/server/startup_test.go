package server_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// TestStartupLineAndMetricsListen: the start-up line says what the
// process serves (version, store kind, rings with their active key,
// address, TLS, lease holder, metrics address) and with metrics.listen
// /metrics moves to its own address, off the public one.
func TestStartupLineAndMetricsListen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	maddr := mln.Addr().String()
	mln.Close() // Run listens there itself
	cfg := devConfig(t, ln.Addr().String(), "")
	cfg.Metrics = config.Metrics{Listen: maddr}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := &syncBuf{}
	app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.New(log), Version: "v1.2.3-test", Holder: "replica-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- app.Run(ctx, ln, 5*time.Second) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var line map[string]any
	for deadline := time.Now().Add(5 * time.Second); line == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		line = logLine(t, log, "listening")
	}
	if line == nil {
		t.Fatal("no start-up line")
	}
	for k, want := range map[string]any{"version": "v1.2.3-test", "store": "file", "store_path": cfg.StorePath, "tls": true, "lease_holder": "replica-a",
		"addr": ln.Addr().String(), "metrics_addr": maddr, "issuer": cfg.Issuer} {
		if line[k] != want {
			t.Errorf("start-up line %s = %v, want %v", k, line[k], want)
		}
	}
	rings, _ := json.Marshal(line["rings"])
	for _, n := range app.Keys.Names() {
		r, _ := app.Keys.Ring(n)
		k, _ := r.Load().Sealing(time.Now())
		if !strings.Contains(string(rings), `"ring":"`+n+`"`) || !strings.Contains(string(rings), k.ID) {
			t.Errorf("start-up line rings %s lack %s and its active kid", rings, n)
		}
	}

	c := httpsClient(pool(t, cfg), 0)
	if code, _ := get(t, c, cfg.Issuer+"/metrics"); code != 404 {
		t.Errorf("public /metrics = %d, want 404 with metrics.listen", code)
	}
	resp, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `issuer_build_info{goversion="go`) || !strings.Contains(string(body), `version="v1.2.3-test"`) {
		t.Fatalf("metrics.listen /metrics = %d:\n%.300s", resp.StatusCode, body)
	}
	if r, err := http.Get("http://" + maddr + "/token"); err != nil || r.StatusCode != 404 {
		t.Fatalf("metrics.listen serves more than /metrics: %v %v", r, err)
	}
}

// TestRingReloadLogged: a ring another process changed (a rotation by
// "issuer keys rotate" or by the replica holding the lease) is logged once
// this process loads it, with each key's kid and state, and no key
// material.
func TestRingReloadLogged(t *testing.T) {
	d := startDevApp(t, "")
	cfg := d.app.Current()
	other, err := server.NewKeyRings(cfg, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := other.Rotate(context.Background(), keys.InternalRing); err != nil {
		t.Fatal(err)
	}
	if err := d.app.Reload(context.Background(), func() (*config.Config, error) { return cfg, nil }); err != nil {
		t.Fatal(err)
	}
	m := logLine(t, d.log, "key ring reloaded")
	if m == nil || m["ring"] != keys.InternalRing {
		t.Fatalf("no reload line for the internal ring: %v", m)
	}
	ks, _ := json.Marshal(m["keys"])
	var logged []struct{ Kid, State string }
	if err := json.Unmarshal(ks, &logged); err != nil {
		t.Fatal(err)
	}
	r, _ := other.Ring(keys.InternalRing)
	for _, k := range r.Load().Keys() {
		if !slices.Contains(logged, struct{ Kid, State string }{k.ID, k.State(time.Now()).String()}) {
			t.Errorf("reload line keys %s lack %s (%s)", ks, k.ID, k.State(time.Now()))
		}
		text, _ := d.log.snapshot()
		for _, form := range []string{base64.RawURLEncoding.EncodeToString(k.Material()), base64.StdEncoding.EncodeToString(k.Material())} {
			if strings.Contains(text, form) {
				t.Fatal("key material in the log")
			}
		}
	}
	_, metrics := get(t, d.client, d.base+"/metrics")
	if !strings.Contains(metrics, `issuer_key_ring_reloads_total{ring="internal"} 1`) {
		t.Error("the reload is not counted")
	}
}

// pool trusts cfg's certificate.
func pool(t *testing.T, cfg *config.Config) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(cfg.TLS.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(pem)
	return p
}
