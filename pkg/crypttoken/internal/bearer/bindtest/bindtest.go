// Package bindtest is the one table of sender-constrained token tests
// (RFC 9449 §7, RFC 8705 §3, RFC 9440) that both middleware packages,
// httpmw and fasthttpmw, run against their own server: each row is a
// request to a resource server protected by the middleware, made over TLS
// from 127.0.0.1 by a real client, with the status and challenge it must
// get. It is a test helper, imported by tests only.
package bindtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// Issuer and Audience are the iss and aud of the tokens the table seals.
const (
	Issuer   = "https://issuer.example.com"
	Audience = "https://api.example.com"
	// Path is the protected resource's path.
	Path = "/orders"
)

// Options configure the middleware under test for a row.
type Options struct {
	// TrustLoopback makes 127.0.0.0/8, where the test client connects
	// from, a trusted proxy.
	TrustLoopback bool
	// Replay is the DPoP replay cache, if any.
	Replay dpop.ReplayCache
	// Nonces are the required DPoP nonces, if any.
	Nonces *dpop.Nonces
}

// TrustedLoopback is the prefix a StartFunc passes to the middleware's
// WithTrustedProxies when Options.TrustLoopback is set.
var TrustedLoopback = netip.MustParsePrefix("127.0.0.0/8")

// StartFunc serves, until t ends, a resource server at Path protected by
// the middleware under test (Require(o) with the options), over TLS with
// conf (which requests a client certificate without verifying it), on a
// listener of 127.0.0.1 it opens, and returns the listener's address. The
// protected handler answers 200 with the token's subject.
type StartFunc func(t *testing.T, o *crypttoken.Opener, conf *tls.Config, opts Options) (addr string)

// Env is what a row builds its requests from.
type Env struct {
	t       *testing.T
	sealer  *crypttoken.Sealer
	BaseURL string // https://127.0.0.1:port
	// Key is the client's DPoP key, Other another key (an attacker's).
	Key, Other *ecdsa.PrivateKey
	// Cert is the client's TLS certificate, OtherCert another one.
	Cert, OtherCert tls.Certificate
	Nonces          *dpop.Nonces
}

// Token seals an access token for Audience bound as cnf.
func (e *Env) Token(cnf crypttoken.Confirmation) string {
	e.t.Helper()
	now := time.Now()
	tok, err := e.sealer.Seal(crypttoken.TypeAccess, &crypttoken.Claims{
		Issuer: Issuer, Subject: "u-1", Audience: []string{Audience},
		Expiry: now.Add(5 * time.Minute), IssuedAt: now, ClientID: "webapp", Scope: "read",
		Confirmation: cnf,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// JKT is the thumbprint of key.
func (e *Env) JKT(key crypto.Signer) string {
	s, err := jws.ThumbprintString(key.Public())
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// X5T is the x5t#S256 of a TLS certificate.
func (e *Env) X5T(c tls.Certificate) string { return certbind.Thumbprint(c.Leaf) }

// Proof is a DPoP proof by key for a GET of Path at the base URL with
// token, changed by mods.
func (e *Env) Proof(key crypto.Signer, token string, mods ...func(*dpop.Claims)) string {
	e.t.Helper()
	c := dpop.Claims{Method: "GET", URI: e.BaseURL + Path, AccessToken: token}
	for _, m := range mods {
		m(&c)
	}
	p, err := dpop.NewProof(key, jws.ES256, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// Request is one request of a row.
type Request struct {
	Authorization string
	DPoP          []string
	Header        map[string]string
	// Cert, if set, is presented in the TLS handshake.
	Cert *tls.Certificate
}

// Want is what a request must get.
type Want struct {
	Status int
	// Challenge holds substrings of the WWW-Authenticate fields, joined
	// with " | ".
	Challenge []string
	// Nonce requires a DPoP-Nonce header.
	Nonce bool
}

// Step is a request and what it must get.
type Step struct {
	Req  func(e *Env) Request
	Want Want
}

// Case is one row: middleware options and its steps, run in order.
type Case struct {
	Name  string
	Opts  func(e *Env) Options
	Steps []Step
}

func bearerAuth(tok string) string { return "Bearer " + tok }
func dpopAuth(tok string) string   { return "DPoP " + tok }

// one is a row of one step.
func one(name string, req func(e *Env) Request, want Want) Case {
	return Case{Name: name, Steps: []Step{{Req: req, Want: want}}}
}

// Cases is the table.
func Cases() []Case {
	ok := Want{Status: 200}
	bound := func(e *Env) string { return e.Token(crypttoken.Confirmation{JKT: e.JKT(e.Key)}) }
	withProof := func(e *Env, tok string, mods ...func(*dpop.Claims)) Request {
		return Request{Authorization: dpopAuth(tok), DPoP: []string{e.Proof(e.Key, tok, mods...)}}
	}
	invalidProof := Want{Status: 401, Challenge: []string{`DPoP algs="ES256 EdDSA PS256 RS256"`, `error="invalid_dpop_proof"`}}
	return []Case{
		one("RFC 6750 §2.1 a bearer token as Bearer", func(e *Env) Request {
			return Request{Authorization: bearerAuth(e.Token(crypttoken.Confirmation{}))}
		}, ok),
		one("RFC 6750 §3.1 no token: a Bearer and a DPoP challenge, no error", func(e *Env) Request { return Request{} },
			Want{Status: 401, Challenge: []string{"Bearer", `DPoP algs="ES256 EdDSA PS256 RS256"`}}),
		one("RFC 9449 §7.1 a DPoP-bound token with the DPoP scheme and a valid proof", func(e *Env) Request {
			return withProof(e, bound(e))
		}, ok),
		one("RFC 9449 §7.2 a DPoP-bound token presented as Bearer", func(e *Env) Request {
			return Request{Authorization: bearerAuth(bound(e))}
		}, Want{Status: 401, Challenge: []string{"DPoP algs=", `error="invalid_token"`, "DPoP-bound"}}),
		one("RFC 9449 §7.2 a DPoP-bound token as Bearer, even with a valid proof", func(e *Env) Request {
			tok := bound(e)
			return Request{Authorization: bearerAuth(tok), DPoP: []string{e.Proof(e.Key, tok)}}
		}, Want{Status: 401, Challenge: []string{`error="invalid_token"`}}),
		one("RFC 9449 §7.1 the DPoP scheme without a proof", func(e *Env) Request {
			return Request{Authorization: dpopAuth(bound(e))}
		}, invalidProof),
		one("RFC 9449 §7.1 the DPoP scheme with a token that is not DPoP-bound", func(e *Env) Request {
			tok := e.Token(crypttoken.Confirmation{})
			return Request{Authorization: dpopAuth(tok), DPoP: []string{e.Proof(e.Key, tok)}}
		}, Want{Status: 401, Challenge: []string{"DPoP algs=", `error="invalid_token"`, "not DPoP-bound"}}),
		one("RFC 9449 §4.3 (12) a stolen token with the thief's key", func(e *Env) Request {
			tok := bound(e)
			return Request{Authorization: dpopAuth(tok), DPoP: []string{e.Proof(e.Other, tok)}}
		}, invalidProof),
		one("RFC 9449 §4.3 (12) ath of another token", func(e *Env) Request {
			tok := bound(e)
			return withProof(e, tok, func(c *dpop.Claims) { c.AccessToken = bound(e) })
		}, invalidProof),
		one("RFC 9449 §4.3 (8) htm of another method", func(e *Env) Request {
			return withProof(e, bound(e), func(c *dpop.Claims) { c.Method = "POST" })
		}, invalidProof),
		one("RFC 9449 §4.3 (9) htu of another resource", func(e *Env) Request {
			return withProof(e, bound(e), func(c *dpop.Claims) { c.URI = "https://api.example.com" + Path })
		}, invalidProof),
		one("RFC 9449 §4.3 (9) htu ignores the query", func(e *Env) Request {
			return withProof(e, bound(e), func(c *dpop.Claims) { c.URI += "?page=2" })
		}, ok),
		one("RFC 9449 §4.3 (11) stale iat", func(e *Env) Request {
			return withProof(e, bound(e), func(c *dpop.Claims) { c.IssuedAt = time.Now().Add(-5 * time.Minute) })
		}, invalidProof),
		one("RFC 9449 §4.3 (1) two DPoP headers", func(e *Env) Request {
			tok := bound(e)
			return Request{Authorization: dpopAuth(tok), DPoP: []string{e.Proof(e.Key, tok), e.Proof(e.Key, tok)}}
		}, invalidProof),
		{Name: "RFC 9449 §11.1 a replayed proof, with a replay cache", Opts: func(e *Env) Options {
			r, err := dpop.NewMemoryReplay(1000, nil)
			if err != nil {
				e.t.Fatal(err)
			}
			return Options{Replay: r}
		}, Steps: replaySteps()},
		{Name: "RFC 9449 §9 a nonce required: refused with the nonce, then accepted", Opts: func(e *Env) Options {
			return Options{Nonces: e.Nonces}
		}, Steps: []Step{
			{Req: func(e *Env) Request { return withProof(e, bound(e)) },
				Want: Want{Status: 401, Challenge: []string{`error="use_dpop_nonce"`}, Nonce: true}},
			{Req: func(e *Env) Request {
				return withProof(e, bound(e), func(c *dpop.Claims) { c.Nonce = e.Nonces.Current() })
			}, Want: ok},
		}},
		one("RFC 8705 §3 a certificate-bound token with its TLS client certificate", func(e *Env) Request {
			return Request{Authorization: bearerAuth(e.Token(crypttoken.Confirmation{X5TS256: e.X5T(e.Cert)})), Cert: &e.Cert}
		}, ok),
		one("RFC 8705 §3 a certificate-bound token without a certificate", func(e *Env) Request {
			return Request{Authorization: bearerAuth(e.Token(crypttoken.Confirmation{X5TS256: e.X5T(e.Cert)}))}
		}, Want{Status: 401, Challenge: []string{"Bearer", `error="invalid_token"`, "client certificate"}}),
		one("RFC 8705 §3 a certificate-bound token with another certificate (a stolen token)", func(e *Env) Request {
			return Request{Authorization: bearerAuth(e.Token(crypttoken.Confirmation{X5TS256: e.X5T(e.Cert)})), Cert: &e.OtherCert}
		}, Want{Status: 401, Challenge: []string{`error="invalid_token"`}}),
		one("RFC 9440 §4 a Client-Cert header from an untrusted peer is ignored", func(e *Env) Request {
			return Request{Authorization: bearerAuth(e.Token(crypttoken.Confirmation{X5TS256: e.X5T(e.Cert)})),
				Header: map[string]string{certbind.HeaderName: string(certbind.AppendHeader(nil, e.Cert.Leaf))}}
		}, Want{Status: 401, Challenge: []string{`error="invalid_token"`}}),
		{Name: "RFC 9440 §2 a Client-Cert header from a trusted proxy", Opts: trustLoopback, Steps: []Step{{
			Req: func(e *Env) Request {
				return Request{Authorization: bearerAuth(e.Token(crypttoken.Confirmation{X5TS256: e.X5T(e.Cert)})),
					Header: map[string]string{certbind.HeaderName: string(certbind.AppendHeader(nil, e.Cert.Leaf))}}
			}, Want: ok}}},
		{Name: "RFC 9440 §4 behind a trusted proxy, the TLS certificate is the proxy's", Opts: trustLoopback, Steps: []Step{{
			Req: func(e *Env) Request {
				return Request{Authorization: bearerAuth(e.Token(crypttoken.Confirmation{X5TS256: e.X5T(e.Cert)})), Cert: &e.Cert}
			}, Want: Want{Status: 401, Challenge: []string{`error="invalid_token"`}}}}},
		{Name: "RFC 9449 §4.3 (9) behind a trusted proxy, htu of the forwarded host", Opts: trustLoopback, Steps: []Step{{
			Req: func(e *Env) Request {
				r := withProof(e, bound(e), func(c *dpop.Claims) { c.URI = "https://api.example.com" + Path })
				r.Header = map[string]string{"X-Forwarded-Host": "api.example.com", "X-Forwarded-Proto": "https"}
				return r
			}, Want: ok}}},
		one("RFC 9449 §4.3 (9) a forwarded host from an untrusted peer is not believed", func(e *Env) Request {
			r := withProof(e, bound(e), func(c *dpop.Claims) { c.URI = "https://api.example.com" + Path })
			r.Header = map[string]string{"X-Forwarded-Host": "api.example.com", "X-Forwarded-Proto": "https"}
			return r
		}, invalidProof),
	}
}

func trustLoopback(*Env) Options { return Options{TrustLoopback: true} }

// replaySteps sends one proof twice: accepted, then refused.
func replaySteps() []Step {
	var tok, proof string
	first := func(e *Env) Request {
		tok = e.Token(crypttoken.Confirmation{JKT: e.JKT(e.Key)})
		proof = e.Proof(e.Key, tok)
		return Request{Authorization: dpopAuth(tok), DPoP: []string{proof}}
	}
	again := func(e *Env) Request { return Request{Authorization: dpopAuth(tok), DPoP: []string{proof}} }
	return []Step{
		{Req: first, Want: Want{Status: 200}},
		{Req: again, Want: Want{Status: 401, Challenge: []string{`error="invalid_dpop_proof"`, "used before"}}},
	}
}

// Run runs every row against the middleware start serves.
func Run(t *testing.T, start StartFunc) {
	sealer, opener := newRing(t)
	serverCert := selfSigned(t, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	roots := x509.NewCertPool()
	roots.AddCert(serverCert.Leaf)
	conf := &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	nonces, err := dpop.NewNonces(time.Minute, nil, []byte(strings.Repeat("n", 32)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			e := &Env{t: t, sealer: sealer, Key: ecKey(t), Other: ecKey(t),
				Cert: selfSigned(t, "client", x509.ExtKeyUsageClientAuth), OtherCert: selfSigned(t, "thief", x509.ExtKeyUsageClientAuth),
				Nonces: nonces}
			var opts Options
			if c.Opts != nil {
				opts = c.Opts(e)
			}
			addr := start(t, opener, conf.Clone(), opts)
			e.BaseURL = "https://" + addr
			for i, s := range c.Steps {
				req := s.Req(e)
				status, h := do(t, e.BaseURL+Path, roots, req)
				got := strings.Join(h.Values("WWW-Authenticate"), " | ")
				if status != s.Want.Status {
					t.Fatalf("step %d: status %d, want %d (WWW-Authenticate %q)", i, status, s.Want.Status, got)
				}
				for _, want := range s.Want.Challenge {
					if !strings.Contains(got, want) {
						t.Errorf("step %d: WWW-Authenticate %q lacks %q", i, got, want)
					}
				}
				if s.Want.Nonce && h.Get("DPoP-Nonce") != e.Nonces.Current() {
					t.Errorf("step %d: DPoP-Nonce %q", i, h.Get("DPoP-Nonce"))
				}
				if status == 401 && h.Get("Cache-Control") != "no-store" {
					t.Errorf("step %d: Cache-Control %q", i, h.Get("Cache-Control"))
				}
			}
		})
	}
}

// do sends req as a GET over TLS with a fresh connection (so each request
// presents its own client certificate) and returns the status and header.
func do(t *testing.T, url string, roots *x509.CertPool, req Request) (int, http.Header) {
	t.Helper()
	conf := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
	if req.Cert != nil {
		conf.Certificates = []tls.Certificate{*req.Cert}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: conf, DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	r, err := http.NewRequestWithContext(context.Background(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.Authorization != "" {
		r.Header.Set("Authorization", req.Authorization)
	}
	for _, p := range req.DPoP {
		r.Header.Add("DPoP", p)
	}
	for k, v := range req.Header {
		r.Header.Set(k, v)
	}
	resp, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header
}

// Listen opens a listener on a free port of 127.0.0.1, closed when t ends.
func Listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// selfSigned is a self-signed certificate for name with its key.
func selfSigned(t *testing.T, name string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// newRing makes an audience ring with one active key and returns its
// sealer and opener, on the real clock.
func newRing(t *testing.T) (*crypttoken.Sealer, *crypttoken.Opener) {
	t.Helper()
	now := time.Now()
	k, err := keys.Generate(keys.A256KW, keys.Lifecycle{
		Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour),
		Retires: now.Add(time.Hour), Expires: now.Add(2 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.NewSet(Audience, k)
	if err != nil {
		t.Fatal(err)
	}
	r := keys.NewRing(set)
	s, err := crypttoken.NewSealer(r)
	if err != nil {
		t.Fatal(err)
	}
	o, err := crypttoken.NewOpener(r, crypttoken.Expected{Issuer: Issuer, Audience: Audience})
	if err != nil {
		t.Fatal(err)
	}
	return s, o
}
