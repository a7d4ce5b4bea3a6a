package server_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/jwksfetch"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// bindEnv is an App over a real TLS listener with SPEC §10 clients: mtls
// (tls_client_auth, SAN DNS mtls.test, under a CA of tls.client_ca_file),
// selfsigned (self_signed_tls_client_auth), pkjwt (private_key_jwt with a
// jwks_uri served over https on loopback), secjwt (client_secret_jwt with
// its secret in the environment), and DPoP nonces required.
type bindEnv struct {
	*devRun
	caKey      *ecdsa.PrivateKey
	caCert     *x509.Certificate
	mtls, self tls.Certificate
	clientKey  *ecdsa.PrivateKey
	secret     string
	// keyFetches counts requests to the pkjwt client's jwks_uri.
	keyFetches atomic.Int64
}

const bindSecret = "client-secret-jwt-secret-from-env-0123456789"

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// certOf makes a certificate for key signed by parent (self-signed when
// parent is nil) and returns it as a tls.Certificate.
func certOf(t *testing.T, key *ecdsa.PrivateKey, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) tls.Certificate {
	t.Helper()
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func startBindApp(t *testing.T) *bindEnv {
	t.Helper()
	e := &bindEnv{caKey: newECKey(t), clientKey: newECKey(t), secret: bindSecret}
	ca := certOf(t, e.caKey, &x509.Certificate{Subject: pkix.Name{CommonName: "test client CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	e.caCert = ca.Leaf
	e.mtls = certOf(t, newECKey(t), &x509.Certificate{Subject: pkix.Name{CommonName: "mtls"}, DNSNames: []string{"mtls.test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca.Leaf, e.caKey)
	selfKey := newECKey(t)
	e.self = certOf(t, selfKey, &x509.Certificate{Subject: pkix.Name{CommonName: "self"}}, nil, nil)

	// The client's jwks_uri, over https on loopback.
	jwk, err := jws.AppendPublicJWK(nil, e.clientKey.Public(), "k1", "ES256")
	if err != nil {
		t.Fatal(err)
	}
	keysSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.keyFetches.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write([]byte(`{"keys":[` + string(jwk) + `]}`))
	}))
	t.Cleanup(keysSrv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(keysSrv.Certificate())
	fetcher, err := jwksfetch.New(jwksfetch.WithAllowPrivate(), jwksfetch.WithRootCAs(pool))
	if err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := devConfig(t, ln.Addr().String(), "")
	caFile := filepath.Join(cfg.DataDir, "client-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Leaf.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	selfJWK, err := jws.AppendPublicJWK(nil, selfKey.Public(), "self", "")
	if err != nil {
		t.Fatal(err)
	}
	cc, read := []string{config.GrantClientCredentials}, []string{"read"}
	cfg.TLS.ClientCAFile = caFile
	cfg.DPoP = config.DPoP{RequireNonce: true, NonceStep: time.Minute, NonceKeyEnv: "TEST_NONCE_KEY"}
	cfg.Clients = append(cfg.Clients,
		config.Client{ID: "mtls", TokenEndpointAuthMethod: config.AuthTLS, TLSClientAuthSANDNS: "mtls.test", GrantTypes: cc, Scopes: read, DefaultScopes: read},
		config.Client{ID: "selfsigned", TokenEndpointAuthMethod: config.AuthSelfSignedTLS, JWKS: config.JSON(`{"keys":[` + string(selfJWK) + `]}`),
			GrantTypes: cc, Scopes: read, DefaultScopes: read},
		config.Client{ID: "pkjwt", TokenEndpointAuthMethod: config.AuthPrivateKeyJWT, JWKSURI: keysSrv.URL + "/jwks.json", GrantTypes: cc, Scopes: read, DefaultScopes: read},
		config.Client{ID: "secjwt", TokenEndpointAuthMethod: config.AuthSecretJWT, SecretEnv: "TEST_CLIENT_SECRET", GrantTypes: cc, Scopes: read, DefaultScopes: read},
	)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TEST_CLIENT_SECRET": bindSecret, "TEST_NONCE_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	d := &devRun{base: cfg.Issuer, addr: ln.Addr().String(), log: &syncBuf{}, ran: make(chan error, 1)}
	d.app, err = server.Build(context.Background(), cfg, server.Options{Log: zerolog.New(d.log), Getenv: func(k string) string { return env[k] }, KeySetFetcher: fetcher})
	if err != nil {
		t.Fatal(err)
	}
	var ctx context.Context
	ctx, d.cancel = context.WithCancel(context.Background())
	go func() { d.ran <- d.app.Run(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		_ = d.app.Close()
	})
	serverPEM, err := os.ReadFile(cfg.TLS.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	d.pool = x509.NewCertPool()
	d.pool.AppendCertsFromPEM(serverPEM)
	e.devRun = d
	return e
}

// client returns an https client presenting cert (none when nil), on
// connections of its own.
func (e *bindEnv) client(cert *tls.Certificate, asked *bool) *http.Client {
	conf := &tls.Config{RootCAs: e.pool}
	conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if asked != nil {
			*asked = true
		}
		if cert == nil {
			return &tls.Certificate{}, nil
		}
		return cert, nil
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: conf, DisableKeepAlives: true}}
}

// token posts a client_credentials request and returns status, the
// DPoP-Nonce header and the decoded body.
func (e *bindEnv) token(t *testing.T, c *http.Client, form url.Values, header map[string]string) (int, string, map[string]any) {
	t.Helper()
	form.Set("grant_type", "client_credentials")
	r, _ := http.NewRequest("POST", e.base+"/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return resp.StatusCode, resp.Header.Get("DPoP-Nonce"), m
}

// confirmation opens tok with the audience's ring, as its resource server
// would, and returns its cnf members.
func (e *bindEnv) confirmation(t *testing.T, tok string) (jkt, x5t string) {
	t.Helper()
	rings, err := e.app.Keys.Endpoint(config.DevAudience, config.DevAudience)
	if err != nil {
		t.Fatal(err)
	}
	o, err := crypttoken.NewOpener(rings.Audiences[config.DevAudience], crypttoken.Expected{Issuer: e.base, Audience: config.DevAudience})
	if err != nil {
		t.Fatal(err)
	}
	c, err := o.Open(tok)
	if err != nil {
		t.Fatal(err)
	}
	return c.Confirmation.JKT, c.Confirmation.X5TS256
}

// TestClientCertificatesOverTheListener: a Go TLS client presenting a
// certificate, through the real listener (SPEC §10, RFC 8705): the
// listener asks for a certificate without requiring one, a tls_client_auth
// client with a certificate of the configured CA and a
// self_signed_tls_client_auth client get certificate-bound tokens, the
// same clients without a certificate are refused, and a secret-based client
// that presents none is served as before.
func TestClientCertificatesOverTheListener(t *testing.T) {
	e := startBindApp(t)
	var asked bool
	st, _, m := e.token(t, e.client(&e.mtls, &asked), url.Values{"client_id": {"mtls"}}, nil)
	if st != 200 || !asked {
		t.Fatalf("mtls: %d %v (certificate asked for: %v)", st, m, asked)
	}
	if _, x5t := e.confirmation(t, m["access_token"].(string)); x5t != certbind.Thumbprint(e.mtls.Leaf) {
		t.Fatalf("cnf.x5t#S256 = %q", x5t)
	}
	st, _, m = e.token(t, e.client(&e.self, nil), url.Values{"client_id": {"selfsigned"}}, nil)
	if st != 200 {
		t.Fatalf("selfsigned: %d %v", st, m)
	}
	if _, x5t := e.confirmation(t, m["access_token"].(string)); x5t != certbind.Thumbprint(e.self.Leaf) {
		t.Fatalf("cnf.x5t#S256 = %q", x5t)
	}
	// RFC 8705 §2.1: the self-signed certificate is not from the CA.
	if st, _, m = e.token(t, e.client(&e.self, nil), url.Values{"client_id": {"mtls"}}, nil); st != 401 {
		t.Fatalf("mtls with the self-signed certificate: %d %v", st, m)
	}
	if st, _, m = e.token(t, e.client(nil, nil), url.Values{"client_id": {"mtls"}}, nil); st != 401 {
		t.Fatalf("mtls without a certificate: %d %v", st, m)
	}
	// The demo client (a secret) presents no certificate and is served.
	code, body := post(t, e.client(nil, nil), e.base+"/token", url.Values{"grant_type": {"client_credentials"}}, true)
	if code != 200 {
		t.Fatalf("demo client: %d %s", code, body)
	}
	// The metadata advertises it.
	_, meta := get(t, e.client(nil, nil), e.base+"/.well-known/oauth-authorization-server")
	for _, want := range []string{`"tls_client_certificate_bound_access_tokens":true`, `"tls_client_auth"`, `"self_signed_tls_client_auth"`, `"private_key_jwt"`, `"client_secret_jwt"`, `"dpop_signing_alg_values_supported"`} {
		if !strings.Contains(meta, want) {
			t.Errorf("metadata lacks %s: %s", want, meta)
		}
	}
}

// TestNoCertificateRequestWithoutMTLS: a server none of whose clients uses
// mutual TLS does not ask for client certificates (a browser would prompt
// its user to choose one on the login page).
func TestNoCertificateRequestWithoutMTLS(t *testing.T) {
	d := startDevApp(t, "")
	var asked bool
	conf := &tls.Config{RootCAs: d.pool, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asked = true
		return &tls.Certificate{}, nil
	}}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
	if code, body := post(t, c, d.base+"/token", url.Values{"grant_type": {"client_credentials"}}, true); code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}
	if asked {
		t.Fatal("the listener asked for a client certificate")
	}
}

// TestAssertionsAndDPoPThroughTheApp: private_key_jwt with the jwks_uri
// fetched over https, client_secret_jwt with the secret from the
// environment, and DPoP with required nonces, end to end through the
// handler and the listener.
func TestAssertionsAndDPoPThroughTheApp(t *testing.T) {
	e := startBindApp(t)
	c := e.client(nil, nil)
	assertion := func(s jws.Signer, id string) string {
		now := time.Now()
		jti := make([]byte, 12)
		_, _ = rand.Read(jti)
		payload, _ := json.Marshal(map[string]any{"iss": id, "sub": id, "aud": e.base, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": base64url(jti)})
		tok, err := jws.Sign(s, jws.Protected{}, payload)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	es, err := jws.NewSigner(jws.ES256, e.clientKey, "k1")
	if err != nil {
		t.Fatal(err)
	}
	hs, err := jws.NewSigner(jws.HS256, []byte(e.secret), "")
	if err != nil {
		t.Fatal(err)
	}
	form := func(a string) url.Values {
		return url.Values{"client_assertion_type": {endpoint.AssertionType}, "client_assertion": {a}}
	}
	for _, tc := range []struct {
		id string
		s  jws.Signer
	}{{"pkjwt", es}, {"secjwt", hs}} {
		a := assertion(tc.s, tc.id)
		if st, _, m := e.token(t, c, form(a), nil); st != 200 {
			t.Fatalf("%s: %d %v", tc.id, st, m)
		}
		if st, _, m := e.token(t, c, form(a), nil); st != 401 {
			t.Fatalf("%s replayed: %d %v", tc.id, st, m)
		}
	}

	// DPoP with nonces: the first proof is answered use_dpop_nonce with
	// the nonce, the retry carrying it gets a DPoP token.
	key := newECKey(t)
	proof := func(nonce string) string {
		p, err := dpop.NewProof(key, jws.ES256, dpop.Claims{Method: "POST", URI: e.base + "/token", Nonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	demo := func(p string) map[string]string {
		return map[string]string{"DPoP": p, "Authorization": "Basic " + base64std("demo:"+testSecret)}
	}
	st, nonce, m := e.token(t, c, url.Values{}, demo(proof("")))
	if st != 400 || m["error"] != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("without a nonce: %d %q %v", st, nonce, m)
	}
	st, _, m = e.token(t, c, url.Values{}, demo(proof(nonce)))
	if st != 200 || m["token_type"] != "DPoP" {
		t.Fatalf("with the nonce: %d %v", st, m)
	}
	jkt, _ := e.confirmation(t, m["access_token"].(string))
	want, _ := jws.ThumbprintString(key.Public())
	if jkt != want {
		t.Fatalf("cnf.jkt = %q, want %q", jkt, want)
	}
}

// TestUnknownKidFloodAttack: an attacker sends assertions for a
// private_key_jwt client under kids it never published, to make the issuer
// hammer the client's jwks_uri (or amplify its traffic there); the issuer
// refuses them all and refetches the set at most once per refetch interval
// (internal/jwksfetch), and the client itself still authenticates.
func TestUnknownKidFloodAttack(t *testing.T) {
	e := startBindApp(t)
	c := e.client(nil, nil)
	attacker := newECKey(t)
	for i := 0; i < 30; i++ {
		s, err := jws.NewSigner(jws.ES256, attacker, "kid-"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		payload, _ := json.Marshal(map[string]any{"iss": "pkjwt", "sub": "pkjwt", "aud": e.base, "exp": now.Add(time.Minute).Unix(), "jti": "flood-" + strconv.Itoa(i)})
		a, err := jws.Sign(s, jws.Protected{}, payload)
		if err != nil {
			t.Fatal(err)
		}
		if st, _, m := e.token(t, c, url.Values{"client_assertion_type": {endpoint.AssertionType}, "client_assertion": {a}}, nil); st != 401 {
			t.Fatalf("forged assertion %d: %d %v", i, st, m)
		}
	}
	if n := e.keyFetches.Load(); n > 2 {
		t.Fatalf("30 unknown kids made %d fetches of the jwks_uri, want at most 2 (the first and one refetch)", n)
	}
	s, err := jws.NewSigner(jws.ES256, e.clientKey, "k1")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	payload, _ := json.Marshal(map[string]any{"iss": "pkjwt", "sub": "pkjwt", "aud": e.base, "exp": now.Add(time.Minute).Unix(), "jti": "victim"})
	a, err := jws.Sign(s, jws.Protected{}, payload)
	if err != nil {
		t.Fatal(err)
	}
	if st, _, m := e.token(t, c, url.Values{"client_assertion_type": {endpoint.AssertionType}, "client_assertion": {a}}, nil); st != 200 {
		t.Fatalf("the client after the flood: %d %v", st, m)
	}
}

// TestClientAuthConfigErrors: Build and Check refuse a configuration whose
// secret_env is unset or too short, naming the key and not the value.
func TestClientAuthConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{"unset", "", "].secret_env names TEST_SECRET, which is not set"},
		{"short", "short-secret", "].secret_env: TEST_SECRET holds fewer than 32 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := devConfig(t, "127.0.0.1:8443", "")
			cfg.Clients = append(cfg.Clients, config.Client{ID: "env", TokenEndpointAuthMethod: config.AuthSecretJWT, SecretEnv: "TEST_SECRET",
				GrantTypes: []string{config.GrantClientCredentials}})
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			getenv := func(k string) string {
				if k == "TEST_SECRET" {
					return tc.value
				}
				return ""
			}
			err := server.Check(cfg, getenv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check: %v", err)
			}
			if tc.value != "" && strings.Contains(err.Error(), tc.value) {
				t.Fatalf("the error quotes the secret: %v", err)
			}
			if _, err := server.Build(context.Background(), cfg, server.Options{Getenv: getenv}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build: %v", err)
			}
		})
	}
}

var _ crypto.Signer = (*ecdsa.PrivateKey)(nil)

func base64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
func base64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
