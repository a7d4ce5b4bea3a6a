package cli_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/cli"
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

// privateJWKSOf returns the private JWK Set rs new printed.
func privateJWKSOf(t *testing.T, out string) []byte {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, `{"keys":`) {
			return []byte(l)
		}
	}
	t.Fatalf("no private JWK Set in:\n%s", out)
	return nil
}

// TestRSNew registers a resource server as an operator does: the printed
// entry, pasted into the configuration, loads; its public JWK Set is the
// printed private one's; the private set opens the deliveries encrypted to
// the entry's key.
func TestRSNew(t *testing.T) {
	cfgPath := writeConfig(t, testConfig)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"P-256 with --config and its default audience", []string{"--config", cfgPath}},
		{"X25519 with a signing key and a secret", []string{"--crv", "X25519", "--sig", "--secret", "--audience", "https://api.test,https://billing.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(append([]string{"rs", "new", "--id", "orders"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			priv, err := keys.ParsePrivateRecipient(privateJWKSOf(t, out))
			if err != nil {
				t.Fatal(err)
			}
			entry := out[strings.Index(out, "  - id:"):]
			body, _ := os.ReadFile(cfgPath)
			withRS := writeConfig(t, string(body)+"resource_servers:\n"+entry)
			cfg, err := config.Load(withRS)
			if err != nil {
				t.Fatalf("the printed entry does not load: %v\n%s", err, entry)
			}
			rs := cfg.ResourceServers[0]
			pub, err := keys.ParseRecipient([]byte(rs.JWKS))
			if err != nil {
				t.Fatal(err)
			}
			openable(t, pub, priv)
			if strings.Contains(string(rs.JWKS), `"d"`) {
				t.Fatal("the entry holds a private member")
			}
			if strings.Contains(tc.name, "secret") {
				sec := strings.TrimSpace(between(out, "secret: ", "\n"))
				h, err := secret.Parse(string(rs.SecretHash))
				if err != nil {
					t.Fatal(err)
				}
				if ok, _ := secret.NewVerifier(secret.VerifierConfig{}).Verify(context.Background(), h, sec); !ok {
					t.Fatal("the secret does not match the entry's hash")
				}
				if len(cfg.ResourceServers[0].Audiences) != 2 || len(pub.SigningKeys()) != 1 {
					t.Fatalf("entry %+v", rs)
				}
			} else if rs.Audiences[0] != "https://api.test" || rs.SecretHash != "" {
				t.Fatalf("entry %+v", rs)
			}
		})
	}
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"no id", "--id is required", []string{"--audience", "https://api.test"}},
		{"no audience without a configuration", "--audience is required", []string{"--id", "x"}},
		{"an unknown audience names the flag", "--audience: unknown audience", []string{"--id", "x", "--config", cfgPath, "--audience", "https://nope.test"}},
		{"the id of a client names the flag", "--id: duplicate id", []string{"--id", "backend", "--config", cfgPath}},
		{"a curve it does not agree keys on", "--crv must be", []string{"--id", "x", "--audience", "https://api.test", "--crv", "P-384"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(append([]string{"rs", "new"}, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.want) || strings.Contains(out, `"d"`) {
				t.Fatalf("exit %d, stderr %q, stdout %q", code, errOut, out)
			}
		})
	}
	t.Run("--out writes the private set 0600 and never overwrites it", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "rs.jwks")
		code, out, errOut := run("rs", "new", "--id", "orders", "--audience", "https://api.test", "--out", p)
		if code != 0 || strings.Contains(out, `"d"`) {
			t.Fatalf("exit %d %s; stdout %s", code, errOut, out)
		}
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("stat: %v %v", st, err)
		}
		b, _ := os.ReadFile(p)
		if _, err := keys.ParsePrivateRecipient(b); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := run("rs", "new", "--id", "orders", "--audience", "https://api.test", "--out", p); code != 2 || !strings.Contains(errOut, "never overwritten") {
			t.Fatalf("second run: %d %s", code, errOut)
		}
		if after, _ := os.ReadFile(p); string(after) != string(b) {
			t.Fatal("the file was overwritten")
		}
	})
}

// openable checks that a delivery sealed to pub opens with priv: the
// configuration's key is the resource server's.
func openable(t *testing.T, pub, priv *keys.Recipient) {
	t.Helper()
	now := time.Now()
	signing, err := keys.NewSetFromPolicy(keys.SigningRing, now, keys.Policy{Alg: keys.ES256, RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	aud, err := keys.NewSetFromPolicy("https://api.test", now, keys.Policy{RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := signing.Sealing(now)
	tok, err := keys.SealDelivery(&keys.Delivery{Issuer: "https://issuer.test", ResourceServer: "orders", IssuedAt: now, Expiry: now.Add(time.Hour),
		Audiences: map[string]*keys.Set{"https://api.test": aud}}, signer, pub)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := keys.ExportJWKS(signing, now)
	ks, _ := jws.ParseKeySet(doc)
	if _, err := keys.OpenDelivery(tok, priv, ks, keys.DeliveryExpected{Issuer: "https://issuer.test", ResourceServer: "orders"}); err != nil {
		t.Fatalf("the entry's key is not the printed private key's: %v", err)
	}
}

func tlsConfig(pool *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

// TestRevoke runs an issuer on Redis, gets a token from it, and revokes
// the token with `issuer revoke` as a separate command: the running
// issuer's published list shows the bit within its rebuild interval and
// introspection answers inactive; the command prints the jti, never the
// token.
func TestRevoke(t *testing.T) {
	rs := redistest.Start(t)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const sec = "backend-secret-for-the-revoke-test-0123"
	body := `issuer: https://` + ln.Addr().String() + `
listen: ` + ln.Addr().String() + `
data_dir: ` + dir + `
tls: {cert_file: cert.pem, key_file: key.pem}
keys: {dir: keys, propagation: 1m, rotate_every: 1h}
store: "` + rs.URL + `"
audiences:
  - {name: "https://api.test", default: true}
clients:
  - id: backend
    secret_hash: "` + secret.NewSHA256(sec) + `"
    grant_types: [client_credentials]
    scopes: [read]
    default_scopes: [read]
`
	cfgPath := filepath.Join(dir, "issuer.yaml")
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := devtls.Ensure(cfg.TLS.CertFile, cfg.TLS.KeyFile, devtls.DefaultHosts, time.Now()); err != nil {
		t.Fatal(err)
	}
	app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- app.Run(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() { cancel(); <-ran; _ = app.Close() })
	pem, _ := os.ReadFile(cfg.TLS.CertFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig(pool)}, Timeout: 10 * time.Second}
	base := cfg.Issuer
	post := func(path string, form url.Values) (int, []byte) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("backend:"+sec)))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, tb := post("/token", url.Values{"grant_type": {"client_credentials"}})
	if code != 200 {
		t.Fatalf("token: %d %s", code, tb)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(tb, &tr)
	ring, _ := app.Keys.Ring("https://api.test")
	op, _ := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: base, Audience: "https://api.test"})
	claims, err := op.Open(tr.AccessToken)
	if err != nil || claims.Status.IsZero() {
		t.Fatalf("token without status: %v", err)
	}
	listBit := func() statuslist.Status {
		resp, err := client.Get(claims.Status.URI)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		jr, err := client.Get(base + server.PathJWKS)
		if err != nil {
			t.Fatal(err)
		}
		jb, _ := io.ReadAll(jr.Body)
		jr.Body.Close()
		ks, err := jws.ParseKeySet(jb)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := statuslist.NewVerifier(ks, statuslist.WithLeeway(time.Second))
		slt, err := v.Verify(string(b), claims.Status.URI)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := slt.List.Get(claims.Status.Index)
		return s
	}
	if listBit() != statuslist.Valid {
		t.Fatal("a fresh token is revoked")
	}

	var out, errb strings.Builder
	code = cli.Main(context.Background(), []string{"revoke", "--config", cfgPath, "-"},
		cli.Env{Stdin: strings.NewReader(tr.AccessToken + "\n"), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "jti="+claims.ID) || !strings.Contains(out.String(), "status list bit set: "+claims.Status.URI) {
		t.Fatalf("revoke printed:\n%s", out.String())
	}
	if strings.Contains(out.String()+errb.String(), tr.AccessToken) {
		t.Fatal("revoke printed the token")
	}
	deadline := time.Now().Add(8 * time.Second) // the running issuer rebuilds a list at most every 5 s
	for listBit() != statuslist.Invalid {
		if time.Now().After(deadline) {
			t.Fatal("the running issuer never published the bit")
		}
		time.Sleep(250 * time.Millisecond)
	}
	if _, ib := post("/introspect", url.Values{"token": {tr.AccessToken}}); !strings.Contains(string(ib), `"active":false`) {
		t.Fatalf("introspection after revoke: %s", ib)
	}

	if code, _, errOut := run("revoke", "--config", cfgPath, "not-a-token"); code != 1 || !strings.Contains(errOut, "nothing was revoked") {
		t.Fatalf("garbage: exit %d %s", code, errOut)
	}
	memCfg := writeConfig(t, testConfig+"store: memory\n")
	if code, _, errOut := run("revoke", "--config", memCfg, tr.AccessToken); code != 2 || !strings.Contains(errOut, "POST /revoke") || strings.Contains(errOut, tr.AccessToken) {
		t.Fatalf("memory store: exit %d %s", code, errOut)
	}
}

// TestRevokeFileStore: with the default durable file store, which one
// process holds at a time, issuer revoke refuses while an issuer runs on
// the file (naming POST /revoke, changing nothing), revokes once it is
// stopped, and the issuer started again answers the token inactive.
func TestRevokeFileStore(t *testing.T) {
	dir := t.TempDir()
	const sec = "backend-secret-for-the-revoke-test-0123"
	body := `issuer: https://127.0.0.1:8443
listen: 127.0.0.1:8443
data_dir: ` + dir + `
tls: {cert_file: cert.pem, key_file: key.pem}
keys: {dir: keys, propagation: 1m, rotate_every: 1h}
audiences:
  - {name: "https://api.test", default: true}
clients:
  - id: backend
    secret_hash: "` + secret.NewSHA256(sec) + `"
    grant_types: [client_credentials]
    scopes: [read]
    default_scopes: [read]
`
	cfgPath := filepath.Join(dir, "issuer.yaml")
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Store.IsFile() {
		t.Fatalf("store %s: want the file store by default", cfg.Store)
	}
	if _, err := devtls.Ensure(cfg.TLS.CertFile, cfg.TLS.KeyFile, devtls.DefaultHosts, time.Now()); err != nil {
		t.Fatal(err)
	}
	build := func() *server.App {
		app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		return app
	}
	auth := endpoint.Headers{
		{Name: "Content-Type", Value: "application/x-www-form-urlencoded"},
		{Name: "Authorization", Value: "Basic " + base64.StdEncoding.EncodeToString([]byte("backend:"+sec))},
	}
	call := func(h func(context.Context, *endpoint.Request) (*endpoint.Response, endpoint.Result), path, form string) map[string]any {
		resp, _ := h(context.Background(), &endpoint.Request{Method: "POST", URI: path, Secure: true, Header: auth, Body: []byte(form)})
		var m map[string]any
		if err := json.Unmarshal(resp.Body, &m); err != nil || resp.Status != 200 {
			t.Fatalf("%s: %d %s", path, resp.Status, resp.Body)
		}
		return m
	}
	app := build()
	tok, _ := call(app.Endpoint.Token, "/token", "grant_type=client_credentials")["access_token"].(string)
	if tok == "" {
		t.Fatal("no access token")
	}
	code, _, errOut := run("revoke", "--config", cfgPath, tok)
	if code != 1 || !strings.Contains(errOut, "POST /revoke") || !strings.Contains(errOut, cfg.StorePath) || strings.Contains(errOut, tok) {
		t.Fatalf("revoke while an issuer holds the file: exit %d %s", code, errOut)
	}
	if m := call(app.Endpoint.Introspect, "/introspect", "token="+tok); m["active"] != true {
		t.Fatalf("the refused revoke changed something: %v", m)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run("revoke", "--config", cfgPath, tok); code != 0 || !strings.Contains(out, "status list bit set") {
		t.Fatalf("revoke with the issuer stopped: exit %d\n%s\n%s", code, out, errOut)
	}
	app = build()
	defer app.Close()
	if m := call(app.Endpoint.Introspect, "/introspect", "token="+tok); m["active"] != false {
		t.Fatalf("after revoke and restart: %v", m)
	}
}
