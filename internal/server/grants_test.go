package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/jwksfetch"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/secret"
)

const workloadSecret = "workload-secret-0123456789abcdefgh"

// issuerKey is a trusted issuer's ES256 key and its JWK Set.
type issuerKey struct {
	signer jws.Signer
	jwks   string
}

func newIssuerKey(t *testing.T, kid string) issuerKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.NewSigner(jws.ES256, priv, kid)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jws.AppendPublicJWK(nil, &priv.PublicKey, kid, jws.ES256)
	if err != nil {
		t.Fatal(err)
	}
	return issuerKey{signer: s, jwks: `{"keys":[` + string(jwk) + `]}`}
}

// assertion signs a JWT bearer assertion of iss for sub, addressed to aud.
func (k issuerKey) assertion(t *testing.T, iss, sub, aud string) string {
	t.Helper()
	id, err := crypttoken.NewID()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	payload, err := (&jws.Claims{Issuer: iss, Subject: sub, Audience: []string{aud}, IssuedAt: now,
		Expiry: now.Add(5 * time.Minute), ID: id}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.Sign(k.signer, jws.Protected{Type: "JWT"}, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestTrustedIssuersThroughTheApp: trusted_issuers as the App builds them
// (SPEC §12): a jwks_uri fetched through the App's fetcher, subjects_as
// as_is refusing a local identity, subjects_as user mapping a username,
// and a trusted issuer added by a reload (trusted_issuers is live).
func TestTrustedIssuersThroughTheApp(t *testing.T) {
	platform, partner := newIssuerKey(t, "platform-1"), newIssuerKey(t, "partner-1")
	var fetches atomic.Int64
	jwksSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(platform.jwks))
	}))
	t.Cleanup(jwksSrv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(jwksSrv.Certificate())
	fetcher, err := jwksfetch.New(jwksfetch.WithAllowPrivate(), jwksfetch.WithRootCAs(roots))
	if err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := devConfig(t, ln.Addr().String(), "")
	cfg.Users = append(cfg.Users, config.DemoUser(config.Hash(secret.NewSHA256("alice-password-0123456789"))))
	cfg.Clients = append(cfg.Clients, config.Client{ID: "workload", SecretHash: config.Hash(secret.NewSHA256(workloadSecret)),
		GrantTypes: []string{config.GrantJWTBearer}, Scopes: []string{"read"}, DefaultScopes: []string{"read"}})
	cfg.TrustedIssuers = []config.TrustedIssuer{
		{Issuer: jwksSrv.URL, JWKSURI: jwksSrv.URL + "/jwks.json", SubjectsAs: config.SubjectsAsIs},
		{Issuer: "https://down.test", JWKSURI: jwksSrv.URL + "/broken", SubjectsAs: config.SubjectsAsIs},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := &syncBuf{}
	app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.New(log), KeySetFetcher: fetcher})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- app.Run(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() { cancel(); <-ran; _ = app.Close() })
	pem, err := os.ReadFile(cfg.TLS.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := httpsClient(pool, 0)
	tokenURL := cfg.Issuer + "/token"
	bearer := func(a string) (int, string) {
		return postAs(t, c, tokenURL, "workload", workloadSecret, url.Values{"grant_type": {config.GrantJWTBearer}, "assertion": {a}})
	}

	a := platform.assertion(t, jwksSrv.URL, "spiffe://platform/batch", tokenURL)
	if code, body := bearer(a); code != 200 || !strings.Contains(body, "access_token") {
		t.Fatalf("assertion with keys from jwks_uri: %d %s", code, body)
	}
	if fetches.Load() != 1 {
		t.Errorf("jwks_uri fetched %d times", fetches.Load())
	}
	if code, body := bearer(a); code != 400 || !strings.Contains(body, "invalid_grant") {
		t.Fatalf("replayed assertion: %d %s", code, body)
	}
	if code, body := bearer(platform.assertion(t, "https://down.test", "spiffe://x", tokenURL)); code != 503 || !strings.Contains(body, "temporarily_unavailable") {
		t.Fatalf("an issuer whose jwks_uri fails: %d %s", code, body)
	}
	if code, body := bearer(platform.assertion(t, jwksSrv.URL, config.DemoUserID, tokenURL)); code != 400 {
		t.Fatalf("as_is speaking for a local user id: %d %s", code, body)
	}
	if code, body := bearer(platform.assertion(t, jwksSrv.URL, "demo", tokenURL)); code != 400 {
		t.Fatalf("as_is speaking for a client id: %d %s", code, body)
	}

	// A partner added by a reload, its keys inline, subjects_as user.
	pa := partner.assertion(t, "https://idp.partner.test", config.DemoUsername, tokenURL)
	if code, _ := bearer(pa); code != 400 {
		t.Fatalf("the partner before the reload: %d", code)
	}
	next := reloadable(app.Current())
	next.TrustedIssuers = append(append([]config.TrustedIssuer(nil), next.TrustedIssuers...),
		config.TrustedIssuer{Issuer: "https://idp.partner.test", JWKS: config.JSON(partner.jwks), SubjectsAs: config.SubjectsAsUser})
	if err := app.Reload(context.Background(), func() (*config.Config, error) { return next, next.Validate() }); err != nil {
		t.Fatal(err)
	}
	code, body := bearer(pa)
	if code != 200 {
		t.Fatalf("the partner after the reload: %d %s", code, body)
	}
	tok := between(body, `"access_token":"`, `"`)
	ring, _ := app.Keys.Ring(config.DevAudience)
	o, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: cfg.Issuer, Audience: config.DevAudience})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := o.Open(tok)
	if err != nil || cl.Subject != config.DemoUserID || cl.ClientID != "workload" {
		t.Fatalf("claims %+v %v", cl, err)
	}
	l := logLine(t, log, "configuration reloaded")
	ti, _ := l["trusted_issuers"].(map[string]any)
	if added, _ := ti["added"].([]any); len(added) != 1 || added[0] != "https://idp.partner.test" {
		t.Errorf("the reload's log line does not name the trusted issuer added: %v", l)
	}
}

// TestGrantRoutes: the §12 routes are mounted with their methods, and the
// verification page is 404 without a resource owner that serves it.
func TestGrantRoutes(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/par", 405, "POST"},
		{"GET", "/device_authorization", 405, "POST"},
		{"PUT", "/device", 405, "GET, POST"},
		{"GET", "/device", 404, ""},
		{"POST", "/par", 400, ""}, // reached the endpoint: not a form
		{"POST", "/device_authorization", 400, ""},
	} {
		resp := do(f.h.ServeFastHTTP, req{method: tc.method, uri: tc.path, header: map[string]string{"X-Forwarded-Proto": "https"}})
		if resp.StatusCode() != tc.status || string(resp.Header.Peek("Allow")) != tc.allow {
			t.Errorf("%s %s: %d (Allow %q), want %d (Allow %q): %s", tc.method, tc.path, resp.StatusCode(), resp.Header.Peek("Allow"), tc.status, tc.allow, resp.Body())
		}
	}
	text := metricsText(t, f.metrics)
	for _, route := range []string{"par", "device_authorization", "device"} {
		if !strings.Contains(text, `endpoint="`+route+`"`) {
			t.Errorf("no requests counted for route %s", route)
		}
	}
}
