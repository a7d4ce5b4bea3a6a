package certbind_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"

	"github.com/sealedtoken/issuer/pkg/certbind"
)

// A resource server behind a TLS-terminating proxy checks that the access
// token's cnf.x5t#S256 is the certificate the client presented.
func ExampleCheckBinding() {
	cert, _, _ := makeCert(&x509.Certificate{Subject: pkix.Name{CommonName: "client"}})
	x5t := certbind.Thumbprint(cert) // what the issuer put in cnf

	// The proxy's header, read at the resource server.
	header := string(certbind.AppendHeader(nil, cert))
	presented, err := certbind.ParseHeader([]string{header})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(certbind.CheckBinding(presented, x5t))
	fmt.Println(certbind.CheckBinding(nil, x5t))
	// Output:
	// <nil>
	// certbind: no client certificate
}

// The issuer checks a tls_client_auth client's certificate (after
// verifying its chain) against the client's registration.
func ExampleMatcher_Match() {
	cert, _, _ := makeCert(&x509.Certificate{Subject: pkix.Name{CommonName: "billing", Organization: []string{"Example"}}})
	m, _ := certbind.NewMatcher(certbind.Rule{SubjectDN: "CN=billing,O=Example"})
	fmt.Println(m.Match(cert))
	// Output: <nil>
}
