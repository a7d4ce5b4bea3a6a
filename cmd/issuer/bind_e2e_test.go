package main_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/interop"
	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/httpmw"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
)

const (
	bindAudience   = "https://api.test"
	bindDPoPSecret = "node-dpop-client-secret-0123456789abcdef"
)

// bindServer is the issuer binary serving SPEC §10 clients: node-pkjwt
// (private_key_jwt, inline jwks), node-dpop (client_secret_basic,
// dpop_bound_access_tokens), mtls (tls_client_auth under the test CA),
// with DPoP nonces required.
type bindServer struct {
	*proc
	dir, base, configPath, certFile string
	pool                            *x509.CertPool
	clientKey, caKey                *ecdsa.PrivateKey
	ca                              *x509.Certificate
}

func ecP256(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issueCert returns a certificate for key from tmpl, signed by parent
// (self-signed when nil).
func issueCert(t *testing.T, key *ecdsa.PrivateKey, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) tls.Certificate {
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

func startBindServer(t *testing.T) *bindServer {
	t.Helper()
	s := &bindServer{dir: t.TempDir(), clientKey: ecP256(t), caKey: ecP256(t)}
	s.ca = issueCert(t, s.caKey, &x509.Certificate{Subject: pkix.Name{CommonName: "e2e client CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil).Leaf
	if err := os.MkdirAll(filepath.Join(s.dir, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "tls", "client-ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ca.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	jwk, err := jws.AppendPublicJWK(nil, s.clientKey.Public(), "k1", "ES256")
	if err != nil {
		t.Fatal(err)
	}
	addr := scaleFreeAddr(t)
	s.base = "https://" + addr
	cfg := fmt.Sprintf(`issuer: %s
listen: %s
tls: {cert_file: tls/cert.pem, key_file: tls/key.pem, client_ca_file: tls/client-ca.pem}
keys: {dir: keys, propagation: 10s, rotate_every: 1h}
audiences:
  - {name: %q}
log: {format: json}
dpop: {require_nonce: true, nonce_key_env: TEST_DPOP_NONCE_KEY}
clients:
  - id: node-pkjwt
    token_endpoint_auth_method: private_key_jwt
    jwks: {"keys": [%s]}
    grant_types: [client_credentials]
    scopes: [read]
  - id: node-dpop
    secret_hash: %q
    dpop_bound_access_tokens: true
    grant_types: [client_credentials]
    scopes: [read]
  - id: mtls
    token_endpoint_auth_method: tls_client_auth
    tls_client_auth_san_dns: mtls.test
    grant_types: [client_credentials]
    scopes: [read]
    default_scopes: [read]
`, s.base, addr, bindAudience, jwk, secret.NewSHA256(bindDPoPSecret))
	s.configPath = filepath.Join(s.dir, "issuer.yaml")
	if err := os.WriteFile(s.configPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.certFile = filepath.Join(s.dir, "tls", "cert.pem")
	if _, err := devtls.Ensure(s.certFile, filepath.Join(s.dir, "tls", "key.pem"), devtls.DefaultHosts, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.proc = start(t, []string{"TEST_DPOP_NONCE_KEY=" + base64.StdEncoding.EncodeToString([]byte("dpop nonce key for the e2e tests"))}, "serve", "--config", s.configPath)
	s.waitStderr(listeningLine, 15*time.Second)
	certPEM, err := os.ReadFile(s.certFile)
	if err != nil {
		t.Fatal(err)
	}
	s.pool = x509.NewCertPool()
	s.pool.AppendCertsFromPEM(certPEM)
	return s
}

// opener opens the audience's access tokens with the keys "issuer keys
// export" prints, as a resource server would.
func (s *bindServer) opener(t *testing.T) *crypttoken.Opener {
	t.Helper()
	code, out, errOut := runBinary(t, "", "keys", "export", "--config", s.configPath, "--audience", bindAudience)
	if code != 0 {
		t.Fatalf("keys export: %d %s", code, errOut)
	}
	set, err := keys.ParseJWKS(bindAudience, []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	o, err := crypttoken.NewOpener(keys.NewRing(set), crypttoken.Expected{Issuer: s.base, Audience: bindAudience})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// resourceServer serves /orders protected by httpmw over TLS on loopback,
// asking for (not requiring) client certificates, with a DPoP replay
// cache; it returns its URL and the PEM of its certificate.
func resourceServer(t *testing.T, o *crypttoken.Opener) (string, []byte) {
	t.Helper()
	// A certificate of its own subject: node keeps one trusted
	// certificate per subject name, and the issuer's is devtls's.
	cert := issueCert(t, ecP256(t), &x509.Certificate{Subject: pkix.Name{CommonName: "e2e resource server"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, nil, nil)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw})
	replay, err := dpop.NewMemoryReplay(10_000, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/orders", httpmw.Require(o, httpmw.WithDPoPReplayCache(replay))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := httpmw.FromContext(r.Context())
		_, _ = io.WriteString(w, "orders of "+c.ClientID)
	})))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return "https://" + ln.Addr().String() + "/orders", certPEM
}

// TestNodeOpenIDClientSenderConstrained drives the binary with npm
// openid-client 6.9.0 (SPEC §10): a client_credentials grant authenticated
// with PrivateKeyJwt, and one with a DPoP proof (the server requires
// nonces, so openid-client retries with the DPoP-Nonce it is given) whose
// DPoP-bound token openid-client then presents to a resource server
// protected by httpmw: accepted with its proof, refused as a bearer token.
func TestNodeOpenIDClientSenderConstrained(t *testing.T) {
	node := interop.RequireNode(t)
	s := startBindServer(t)
	rsURL, rsCert := resourceServer(t, s.opener(t))

	// NODE_EXTRA_CA_CERTS: the issuer's and the resource server's
	// self-signed certificates.
	issuerCert, err := os.ReadFile(s.certFile)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, append(issuerCert, rsCert...), 0o600); err != nil {
		t.Fatal(err)
	}
	privJWK, err := json.Marshal(map[string]string{
		"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
		"x": b64u(s.clientKey.X.FillBytes(make([]byte, 32))), "y": b64u(s.clientKey.Y.FillBytes(make([]byte, 32))),
		"d": b64u(s.clientKey.D.FillBytes(make([]byte, 32))),
	})
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "client.jwk")
	if err := os.WriteFile(keyFile, privJWK, 0o600); err != nil {
		t.Fatal(err)
	}
	metadata := s.base + "/.well-known/oauth-authorization-server"
	runNode := func(args ...string) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(interop.NodeDir(), "sender_constrained.mjs"), metadata}, args...)...)
		cmd.Dir = interop.NodeDir()
		cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+bundle)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node %v: %v\n%s\nissuer log:\n%s", args, err, out, s.stderr)
		}
		var m map[string]any
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
			t.Fatalf("node output %q: %v", out, err)
		}
		return m
	}

	o := s.opener(t)
	pk := runNode("private_key_jwt", "node-pkjwt", keyFile)
	// openid-client normalizes token_type to lower case.
	if tt, _ := pk["token_type"].(string); !strings.EqualFold(tt, "Bearer") {
		t.Fatalf("private_key_jwt: %v", pk)
	}
	if c, err := o.Open(pk["access_token"].(string)); err != nil || c.ClientID != "node-pkjwt" {
		t.Fatalf("the private_key_jwt token: %v %v", c, err)
	}

	dp := runNode("dpop", "node-dpop", bindDPoPSecret, rsURL)
	if tt, _ := dp["token_type"].(string); !strings.EqualFold(tt, "DPoP") {
		t.Fatalf("dpop: %v", dp)
	}
	c, err := o.Open(dp["access_token"].(string))
	if err != nil || c.Confirmation.JKT != dp["jkt"] {
		t.Fatalf("cnf.jkt %q, the client's key %v (%v)", c.Confirmation.JKT, dp["jkt"], err)
	}
	if dp["resource_with_proof"] != float64(200) || dp["resource_body"] != "orders of node-dpop" {
		t.Fatalf("the resource server refused the DPoP-bound token with its proof: %v", dp)
	}
	if dp["resource_as_bearer"] != float64(401) {
		t.Fatalf("the resource server accepted the DPoP-bound token as a bearer token: %v", dp)
	}
	// The issuer's log names no token or secret.
	for _, v := range []string{pk["access_token"].(string), dp["access_token"].(string), bindDPoPSecret} {
		if strings.Contains(s.stderr.String(), v) {
			t.Fatalf("the log contains a token or secret")
		}
	}
}

// TestGoTLSClientCertificate: a Go TLS client presenting a certificate of
// the configured CA authenticates to the binary with tls_client_auth (RFC
// 8705 §2.1) and gets a certificate-bound token, which a resource server
// accepts from the same certificate only (§3); without the certificate the
// client is refused, and a secret-based client that presents none is not
// disturbed by the listener asking for one.
func TestGoTLSClientCertificate(t *testing.T) {
	s := startBindServer(t)
	cert := issueCert(t, ecP256(t), &x509.Certificate{Subject: pkix.Name{CommonName: "mtls"}, DNSNames: []string{"mtls.test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, s.ca, s.caKey)
	client := func(c *tls.Certificate, pool *x509.CertPool) *http.Client {
		conf := &tls.Config{RootCAs: pool}
		if c != nil {
			conf.Certificates = []tls.Certificate{*c}
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: conf, DisableKeepAlives: true}}
	}
	tokenReq := func(c *http.Client) (int, map[string]any) {
		resp, err := c.PostForm(s.base+"/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"mtls"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	st, m := tokenReq(client(&cert, s.pool))
	if st != 200 {
		t.Fatalf("with the certificate: %d %v\n%s", st, m, s.stderr)
	}
	tok := m["access_token"].(string)
	o := s.opener(t)
	c, err := o.Open(tok)
	if err != nil || c.Confirmation.X5TS256 != certbind.Thumbprint(cert.Leaf) {
		t.Fatalf("cnf.x5t#S256 %q (%v)", c.Confirmation.X5TS256, err)
	}
	if st, m = tokenReq(client(nil, s.pool)); st != 401 || m["error"] != "invalid_client" {
		t.Fatalf("without a certificate: %d %v", st, m)
	}

	rsURL, rsCertPEM := resourceServer(t, o)
	rsPool := x509.NewCertPool()
	rsPool.AppendCertsFromPEM(rsCertPEM)
	get := func(c *http.Client) int {
		r, _ := http.NewRequest("GET", rsURL, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(client(&cert, rsPool)); st != 200 {
		t.Fatalf("the resource server refused the certificate-bound token with its certificate: %d", st)
	}
	thief := issueCert(t, ecP256(t), &x509.Certificate{Subject: pkix.Name{CommonName: "thief"}}, nil, nil)
	if st := get(client(&thief, rsPool)); st != 401 {
		t.Fatalf("a stolen certificate-bound token with another certificate: %d", st)
	}
	if st := get(client(nil, rsPool)); st != 401 {
		t.Fatalf("a stolen certificate-bound token without a certificate: %d", st)
	}
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
