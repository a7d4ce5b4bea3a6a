package httpmw_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/httpmw"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// A resource server accepts a DPoP-bound access token (RFC 9449) only with
// the DPoP scheme and a fresh proof of the token's key, each proof once.
func ExampleWithDPoPReplayCache() {
	now := time.Now()
	key, err := keys.NewKey("2025-01", keys.A256KW, []byte("0123456789abcdef0123456789abcdef"), keys.Lifecycle{
		Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour), Retires: now.Add(time.Hour), Expires: now.Add(2 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	set, err := keys.NewSet("https://api.example.com", key)
	if err != nil {
		log.Fatal(err)
	}
	ring := keys.NewRing(set)
	opener, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: "https://issuer.example.com", Audience: "https://api.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	replay, err := dpop.NewMemoryReplay(100_000, nil)
	if err != nil {
		log.Fatal(err)
	}
	orders := httpmw.Require(opener,
		httpmw.WithDPoPReplayCache(replay),
		httpmw.WithExternalURL("https://api.example.com"), // what clients address: the proofs' htu
	)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := httpmw.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s", claims.Subject)
	}))

	// The client's DPoP key, and a token the issuer bound to it (cnf.jkt).
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	jkt, err := jws.ThumbprintString(clientKey.Public())
	if err != nil {
		log.Fatal(err)
	}
	sealer, err := crypttoken.NewSealer(ring)
	if err != nil {
		log.Fatal(err)
	}
	token, err := sealer.Seal(crypttoken.TypeAccess, &crypttoken.Claims{
		Issuer: "https://issuer.example.com", Subject: "u-1001", Audience: []string{"https://api.example.com"},
		Expiry: now.Add(10 * time.Minute), ClientID: "webapp", Confirmation: crypttoken.Confirmation{JKT: jkt},
	})
	if err != nil {
		log.Fatal(err)
	}
	proof, err := dpop.NewProof(clientKey, jws.ES256, dpop.Claims{Method: "GET", URI: "https://api.example.com/orders", AccessToken: token})
	if err != nil {
		log.Fatal(err)
	}
	for _, req := range []struct{ auth, proof string }{
		{"Bearer " + token, ""},  // a DPoP-bound token as a bearer token
		{"DPoP " + token, proof}, // the holder of the key
		{"DPoP " + token, proof}, // the same proof again
	} {
		r := httptest.NewRequest("GET", "/orders", nil)
		r.Header.Set("Authorization", req.auth)
		if req.proof != "" {
			r.Header.Set("DPoP", req.proof)
		}
		w := httptest.NewRecorder()
		orders.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			fmt.Println(w.Code, w.Body)
		} else {
			fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	// Output:
	// 401 DPoP algs="ES256 EdDSA PS256 RS256", error="invalid_token", error_description="the access token is DPoP-bound: present it with the DPoP scheme and a proof"
	// 200 orders of u-1001
	// 401 DPoP algs="ES256 EdDSA PS256 RS256", error="invalid_dpop_proof", error_description="the DPoP proof was used before (RFC 9449 section 11.1)"
}

// Behind a TLS-terminating proxy, a certificate-bound access token (RFC
// 8705 §3) is checked against the client certificate the proxy forwards in
// the RFC 9440 Client-Cert header, believed from that proxy only.
func ExampleWithTrustedProxies() {
	now := time.Now()
	key, err := keys.NewKey("2025-01", keys.A256KW, []byte("0123456789abcdef0123456789abcdef"), keys.Lifecycle{
		Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour), Retires: now.Add(time.Hour), Expires: now.Add(2 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	set, err := keys.NewSet("https://api.example.com", key)
	if err != nil {
		log.Fatal(err)
	}
	ring := keys.NewRing(set)
	opener, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: "https://issuer.example.com", Audience: "https://api.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	orders := httpmw.Require(opener, httpmw.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "orders") }))

	// The client's certificate, and a token bound to it (cnf.x5t#S256).
	certKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "billing"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &certKey.PublicKey, certKey)
	if err != nil {
		log.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	sealer, err := crypttoken.NewSealer(ring)
	if err != nil {
		log.Fatal(err)
	}
	token, err := sealer.Seal(crypttoken.TypeAccess, &crypttoken.Claims{
		Issuer: "https://issuer.example.com", Subject: "billing", Audience: []string{"https://api.example.com"},
		Expiry: now.Add(10 * time.Minute), ClientID: "billing", Confirmation: crypttoken.Confirmation{X5TS256: certbind.Thumbprint(cert)},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, peer := range []string{"10.0.0.7:4711", "198.51.100.9:4711"} { // the proxy; someone else
		r := httptest.NewRequest("GET", "/orders", nil)
		r.RemoteAddr = peer
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set(certbind.HeaderName, string(certbind.AppendHeader(nil, cert)))
		w := httptest.NewRecorder()
		orders.ServeHTTP(w, r)
		fmt.Println(peer, w.Code)
	}
	// Output:
	// 10.0.0.7:4711 200
	// 198.51.100.9:4711 401
}
