package endpoint_test

// The fixture of the SPEC §10 tests: clients that authenticate with keys
// and certificates, a fake JWK Set fetcher, a small PKI, and builders of
// client assertions and DPoP proofs.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/secret"
)

const (
	// hmacSecret is the secret of the client_secret_jwt client: 32 bytes
	// or more (RFC 7518 §3.2).
	hmacSecret = "client-secret-jwt-secret-0123456789abcdef"
	jwksURI    = "https://keys.example.com/jwks.json"
	mtlsDNS    = "mtls-client.example.com"
)

// ecKey is a fresh P-256 key.
func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// keySet is the public JWK Set of keys, each named by its kid.
func keySet(t testing.TB, keys map[string]crypto.Signer) *jws.KeySet {
	t.Helper()
	var list []*jws.Key
	for kid, k := range keys {
		pk, err := jws.NewPublicKey(k.Public(), kid, "")
		require.NoError(t, err)
		list = append(list, pk)
	}
	set, err := jws.NewKeySet(list...)
	require.NoError(t, err)
	return set
}

// fakeFetcher is an endpoint.KeySetFetcher over sets a test may replace,
// counting fetches; an unknown kid triggers one refetch, as
// internal/jwksfetch does.
type fakeFetcher struct {
	mu      sync.Mutex
	sets    map[string]*jws.KeySet // what the URL serves now
	cached  map[string]*jws.KeySet // what the fetcher last fetched
	fetches atomic.Int64
}

func (f *fakeFetcher) serve(uri string, set *jws.KeySet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sets == nil {
		f.sets, f.cached = map[string]*jws.KeySet{}, map[string]*jws.KeySet{}
	}
	f.sets[uri] = set
}

func (f *fakeFetcher) fetch(uri string) (*jws.KeySet, error) {
	f.fetches.Add(1)
	set := f.sets[uri]
	if set == nil {
		return nil, fmt.Errorf("fake fetcher: %s: 404", uri)
	}
	f.cached[uri] = set
	return set, nil
}

func (f *fakeFetcher) KeySet(_ context.Context, uri string) (*jws.KeySet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if set := f.cached[uri]; set != nil {
		return set, nil
	}
	return f.fetch(uri)
}

func (f *fakeFetcher) Key(ctx context.Context, uri string, h *jws.Header) (*jws.Key, error) {
	set, err := f.KeySet(ctx, uri)
	if err != nil {
		return nil, err
	}
	if k, err := set.VerificationKey(h); err == nil {
		return k, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if set, err = f.fetch(uri); err != nil {
		return nil, err
	}
	return set.VerificationKey(h)
}

// ---- a small PKI ----

// pki is a CA and what it issues.
type pki struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial atomic.Int64

func newCA(t testing.TB, name string) *pki {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: name},
		NotBefore: t0.Add(-24 * time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &pki{cert: c, key: key}
}

func (p *pki) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.cert)
	return pool
}

// intermediate returns a CA certificate signed by p.
func (p *pki) intermediate(t testing.TB, name string) *pki {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: name},
		NotBefore: t0.Add(-24 * time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &pki{cert: c, key: key}
}

// leafOpt changes a leaf certificate's template.
type leafOpt func(*x509.Certificate)

func notAfter(t time.Time) leafOpt { return func(c *x509.Certificate) { c.NotAfter = t } }
func serverOnly() leafOpt {
	return func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }
}

// issue returns a client certificate for dns signed by the CA, and its key.
func (p *pki) issue(t testing.TB, dns string, opts ...leafOpt) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: dns, Organization: []string{"Example"}},
		DNSNames:  []string{dns},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(30 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, o := range opts {
		o(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c, key
}

// selfSigned returns a self-signed certificate for key.
func selfSigned(t testing.TB, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: "self"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c
}

// withCert makes a request arrive over TLS with chain as its client
// certificates.
func withCert(chain ...*x509.Certificate) reqOpt {
	return func(r *endpoint.Request) { r.ClientCertificates = chain }
}

// clientCertHeader sets the RFC 9440 Client-Cert header of c.
func clientCertHeader(c *x509.Certificate) reqOpt {
	return header(certbind.HeaderName, string(certbind.AppendHeader(nil, c)))
}

// ---- the fixture ----

// bindFixture is a fixture with the SPEC §10 clients and their keys.
type bindFixture struct {
	*fixture
	clientKey   *ecdsa.PrivateKey // pkjwt's and pkjwt-uri's key, kid "k1"
	clientEd    ed25519.PrivateKey
	clientSig   jws.Signer // ES256 with clientKey, kid "k1"
	fetcher     *fakeFetcher
	ca, otherCA *pki
	mtlsCert    *x509.Certificate
	mtlsKey     *ecdsa.PrivateKey
	selfKey     *ecdsa.PrivateKey
	selfCert    *x509.Certificate
	rsKey       *ecdsa.PrivateKey
	nonces      *dpop.Nonces // the Server's, when a test configures them
}

// certThumb is a certificate's x5t#S256.
func certThumb(c *x509.Certificate) string { return certbind.Thumbprint(c) }

// bindClients are the SPEC §10 clients:
//
//	pkjwt       private_key_jwt, inline jwks (an ES256 key "k1", an Ed25519 key "ed")
//	pkjwt-uri   private_key_jwt, jwks_uri
//	secjwt      client_secret_jwt
//	mtls        tls_client_auth, SAN DNS mtlsDNS
//	selfsigned  self_signed_tls_client_auth, inline jwks
//	dpop-only   client_secret_basic, dpop_bound_access_tokens
//	certbound   client_secret_basic, tls_client_certificate_bound_access_tokens
//	post-only   client_secret_post only
//	spa-bound   public, code and refresh, tls_client_certificate_bound_access_tokens
func (b *bindFixture) bindClients(t testing.TB) []*endpoint.Client {
	inline := keySet(t, map[string]crypto.Signer{"k1": b.clientKey, "ed": b.clientEd})
	hmac, err := jws.NewHMACKey([]byte(hmacSecret), "")
	require.NoError(t, err)
	m, err := certbind.NewMatcher(certbind.Rule{SANDNS: mtlsDNS})
	require.NoError(t, err)
	cc := []endpoint.GrantType{endpoint.GrantClientCredentials}
	sc := []string{"read"}
	return append(standardClients(t),
		&endpoint.Client{ID: "pkjwt", GrantTypes: cc, Scopes: sc, DefaultScopes: sc,
			Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKS: inline}},
		&endpoint.Client{ID: "pkjwt-uri", GrantTypes: cc, Scopes: sc, DefaultScopes: sc,
			Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKSURI: jwksURI}},
		&endpoint.Client{ID: "secjwt", GrantTypes: cc, Scopes: sc, DefaultScopes: sc,
			Auth: endpoint.ClientAuth{Method: endpoint.AuthSecretJWT, HMACKey: hmac}},
		&endpoint.Client{ID: "mtls", GrantTypes: cc, Scopes: sc, DefaultScopes: sc,
			Auth: endpoint.ClientAuth{Method: endpoint.AuthTLS, TLS: m}},
		&endpoint.Client{ID: "selfsigned", GrantTypes: cc, Scopes: sc, DefaultScopes: sc,
			Auth: endpoint.ClientAuth{Method: endpoint.AuthSelfSignedTLS, JWKS: keySet(t, map[string]crypto.Signer{"self": b.selfKey})}},
		&endpoint.Client{ID: "dpop-only", Secret: mustHash(t, secret.NewSHA256(backendSecret)), GrantTypes: cc, Scopes: sc, DefaultScopes: sc,
			DPoPBoundAccessTokens: true},
		&endpoint.Client{ID: "certbound", Secret: mustHash(t, secret.NewSHA256(backendSecret)), GrantTypes: cc, Scopes: sc, DefaultScopes: sc,
			CertificateBoundAccessTokens: true},
		&endpoint.Client{ID: "post-only", Secret: mustHash(t, secret.NewSHA256(backendSecret)), GrantTypes: cc, Scopes: sc, DefaultScopes: sc,
			Auth: endpoint.ClientAuth{Method: endpoint.AuthSecretPost}},
		&endpoint.Client{ID: "spa-bound", Public: true, RedirectURIs: []string{spaRedirect},
			GrantTypes: []endpoint.GrantType{endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken},
			Scopes:     []string{"profile", "read"}, CertificateBoundAccessTokens: true},
	)
}

// newBindFixture builds a fixture with the standard and SPEC §10 clients,
// a resource server "rs-jwt" that authenticates with private_key_jwt, the
// fake fetcher serving pkjwt-uri's keys and the CA of the mtls client;
// opts are extra Server options.
func newBindFixture(t testing.TB, opts ...endpoint.Option) *bindFixture {
	t.Helper()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	b := &bindFixture{clientKey: ecKey(t), clientEd: ed, fetcher: &fakeFetcher{}, selfKey: ecKey(t), rsKey: ecKey(t)}
	b.clientSig, err = jws.NewSigner(jws.ES256, b.clientKey, "k1")
	require.NoError(t, err)
	b.fetcher.serve(jwksURI, keySet(t, map[string]crypto.Signer{"k1": b.clientKey}))
	b.ca, b.otherCA = newCA(t, "client CA"), newCA(t, "other CA")
	b.mtlsCert, b.mtlsKey = b.ca.issue(t, mtlsDNS)
	b.selfCert = selfSigned(t, b.selfKey)
	rsJWT := &endpoint.ResourceServer{ID: "rs-jwt", Audiences: []string{apiAud},
		Auth: endpoint.ClientAuth{Method: endpoint.AuthPrivateKeyJWT, JWKS: keySet(t, map[string]crypto.Signer{"rs": b.rsKey})}}
	all := append([]endpoint.Option{
		endpoint.WithKeySetFetcher(b.fetcher),
		endpoint.WithClientCAs(b.ca.pool()),
		endpoint.WithResourceServers(rsJWT),
		endpoint.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")),
	}, opts...)
	b.fixture = newFixtureConfig(t, fixtureConfig{clients: b.bindClients(t), opts: all})
	return b
}

// ---- client assertions ----

// assertionClaims are the claims of a client assertion; each test row
// changes some.
type assertionClaims struct {
	iss, sub string
	aud      any // a string or []string
	exp, nbf time.Time
	iat      time.Time
	jti      string
}

// goodAssertion returns valid claims for client id at the fixture's time.
func (f *fixture) goodAssertion(id string) assertionClaims {
	now := f.clock.Now()
	jti, err := randomID()
	require.NoError(f.t, err)
	return assertionClaims{iss: id, sub: id, aud: testIssuer, exp: now.Add(time.Minute), iat: now, jti: jti}
}

func randomID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", b), nil
}

// sign returns the compact JWS of c signed by s with header typ.
func (c assertionClaims) sign(t testing.TB, s jws.Signer) string {
	t.Helper()
	m := map[string]any{}
	set := func(k string, v any, ok bool) {
		if ok {
			m[k] = v
		}
	}
	set("iss", c.iss, c.iss != "")
	set("sub", c.sub, c.sub != "")
	set("aud", c.aud, c.aud != nil)
	set("exp", c.exp.Unix(), !c.exp.IsZero())
	set("nbf", c.nbf.Unix(), !c.nbf.IsZero())
	set("iat", c.iat.Unix(), !c.iat.IsZero())
	set("jti", c.jti, c.jti != "")
	payload, err := json.Marshal(m)
	require.NoError(t, err)
	tok, err := jws.Sign(s, jws.Protected{}, payload)
	require.NoError(t, err)
	return tok
}

// assertionForm is a client_credentials body authenticated by assertion.
func assertionForm(assertion string, extra ...string) string {
	kv := append([]string{"grant_type", "client_credentials",
		"client_assertion_type", endpoint.AssertionType, "client_assertion", assertion}, extra...)
	return form(kv...)
}

// unsignedJWT is an "alg":"none" JWT of c (RFC 7519 §6).
func unsignedJWT(t testing.TB, c assertionClaims) string {
	t.Helper()
	h := base64URL.EncodeToString([]byte(`{"alg":"none"}`))
	body, err := json.Marshal(map[string]any{"iss": c.iss, "sub": c.sub, "aud": c.aud, "exp": c.exp.Unix(), "jti": c.jti})
	require.NoError(t, err)
	return h + "." + base64URL.EncodeToString(body) + "."
}

// ---- DPoP proofs ----

// proof returns a DPoP proof by key for a POST to the token endpoint at
// the fixture's time, changed by mods.
func (f *fixture) proof(key crypto.Signer, mods ...func(*dpop.Claims)) string {
	f.t.Helper()
	c := dpop.Claims{Method: "POST", URI: testIssuer + "/token", IssuedAt: f.clock.Now()}
	for _, m := range mods {
		m(&c)
	}
	alg := jws.ES256
	if _, ok := key.(ed25519.PrivateKey); ok {
		alg = jws.EdDSA
	}
	p, err := dpop.NewProof(key, alg, c)
	require.NoError(f.t, err)
	return p
}

// jkt is the RFC 7638 thumbprint of key's public key.
func jkt(t testing.TB, key crypto.Signer) string {
	t.Helper()
	s, err := jws.ThumbprintString(key.Public())
	require.NoError(t, err)
	return s
}

// withProof sets the DPoP header.
func withProof(p string) reqOpt { return header(dpop.HeaderName, p) }

// tokenResponse is a decoded 200 token response, whatever its token_type.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
}

func decodeTokens(t testing.TB, resp *endpoint.Response) tokenResponse {
	t.Helper()
	require.Equal(t, 200, resp.Status, "body %s", resp.Body)
	var v tokenResponse
	require.NoError(t, json.Unmarshal(resp.Body, &v))
	require.NotEmpty(t, v.AccessToken)
	return v
}

// description returns the error_description of an error response.
func description(t testing.TB, resp *endpoint.Response) string {
	t.Helper()
	d, _ := body(t, resp)["error_description"].(string)
	return d
}

// contains reports whether s holds every part.
func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
