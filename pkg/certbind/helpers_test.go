package certbind_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newCert makes a certificate from tmpl, self-signed by a fresh P-256 key,
// and returns it with that key.
func newCert(t testing.TB, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	c, key, err := makeCert(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func makeCert(tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = big.NewInt(7)
	tmpl.NotBefore, tmpl.NotAfter = testNow.Add(-time.Hour), testNow.Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

// clientCert is a typical client certificate with every kind of SAN.
func clientCert(t testing.TB) *x509.Certificate {
	t.Helper()
	u, _ := url.Parse("spiffe://example.com/ns/prod/sa/billing")
	c, _ := newCert(t, &x509.Certificate{
		Subject: pkix.Name{
			Country: []string{"DE"}, Organization: []string{"Example, Inc."}, OrganizationalUnit: []string{"Billing"},
			CommonName: "billing-client",
		},
		DNSNames:       []string{"billing.example.com", "Client.Example.ORG."},
		URIs:           []*url.URL{u},
		IPAddresses:    []net.IP{net.ParseIP("192.0.2.10"), net.ParseIP("2001:db8::10")},
		EmailAddresses: []string{"Billing.Bot@Example.com"},
	})
	return c
}
