package certbind_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// TestMatcher: RFC 8705 §2.1.2, one row per registration parameter, each
// with a negative case.
func TestMatcher(t *testing.T) {
	c := clientCert(t)
	tests := []struct {
		name string
		rule certbind.Rule
		ok   bool
	}{
		{"RFC 8705 §2.1.2: subject DN", certbind.Rule{SubjectDN: `CN=billing-client,OU=Billing,O=Example\, Inc.,C=DE`}, true},
		{"RFC 8705 §2.1.2: subject DN, case and spaces", certbind.Rule{SubjectDN: `cn = Billing-Client , ou=billing, o=EXAMPLE\, INC., c=de`}, true},
		{"RFC 8705 §2.1.2: subject DN by OIDs", certbind.Rule{SubjectDN: `2.5.4.3=billing-client,2.5.4.11=Billing,2.5.4.10=Example\2C Inc.,2.5.4.6=DE`}, true},
		{"RFC 8705 §2.1.2: subject DN missing an RDN", certbind.Rule{SubjectDN: `CN=billing-client,O=Example\, Inc.,C=DE`}, false},
		{"RFC 8705 §2.1.2: subject DN with an extra RDN", certbind.Rule{SubjectDN: `CN=billing-client,OU=Billing,O=Example\, Inc.,L=Berlin,C=DE`}, false},
		{"RFC 4514 §2.1: subject DN in the wrong order", certbind.Rule{SubjectDN: `C=DE,O=Example\, Inc.,OU=Billing,CN=billing-client`}, false},
		{"RFC 8705 §2.1.2: subject DN of another value", certbind.Rule{SubjectDN: `CN=billing-client2,OU=Billing,O=Example\, Inc.,C=DE`}, false},
		{"RFC 8705 §2.1.2: SAN dNSName", certbind.Rule{SANDNS: "billing.example.com"}, true},
		{"RFC 8705 §2.1.2: SAN dNSName, case and final dot", certbind.Rule{SANDNS: "client.example.org"}, true},
		{"RFC 8705 §2.1.2: SAN dNSName absent", certbind.Rule{SANDNS: "example.com"}, false},
		{"RFC 8705 §2.1.2: SAN dNSName as a suffix", certbind.Rule{SANDNS: "billing.example.com.evil.example"}, false},
		{"RFC 8705 §2.1.2: SAN URI", certbind.Rule{SANURI: "spiffe://example.com/ns/prod/sa/billing"}, true},
		{"RFC 8705 §2.1.2: SAN URI host case", certbind.Rule{SANURI: "SPIFFE://Example.COM/ns/prod/sa/billing"}, true},
		{"RFC 8705 §2.1.2: SAN URI path differs", certbind.Rule{SANURI: "spiffe://example.com/ns/prod/sa/Billing"}, false},
		{"RFC 8705 §2.1.2: SAN IPv4", certbind.Rule{SANIP: "192.0.2.10"}, true},
		{"RFC 8705 §2.1.2: SAN IPv6, another spelling", certbind.Rule{SANIP: "2001:0db8:0:0::10"}, true},
		{"RFC 8705 §2.1.2: SAN IPv4-mapped IPv6", certbind.Rule{SANIP: "::ffff:192.0.2.10"}, true},
		{"RFC 8705 §2.1.2: SAN IP absent", certbind.Rule{SANIP: "192.0.2.11"}, false},
		{"RFC 8705 §2.1.2: SAN email, domain case", certbind.Rule{SANEmail: "Billing.Bot@example.COM"}, true},
		{"RFC 5321 §2.4: SAN email, local part case", certbind.Rule{SANEmail: "billing.bot@example.com"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := certbind.NewMatcher(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			err = m.Match(c)
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && !errors.Is(err, certbind.ErrNoMatch) {
				t.Fatalf("error %v, want ErrNoMatch", err)
			}
		})
	}
}

func TestNewMatcherConfig(t *testing.T) {
	for _, r := range []certbind.Rule{
		{},
		{SANDNS: "a.example", SANIP: "192.0.2.1"},
		{SubjectDN: "CN"},
		{SubjectDN: "XX=a"},
		{SubjectDN: `CN=a\`},
		{SubjectDN: "CN=#zz"},
		{SANURI: "relative"},
		{SANIP: "not-an-ip"},
		{SANIP: "fe80::1%eth0"},
		{SANEmail: "no-at-sign"},
	} {
		if _, err := certbind.NewMatcher(r); !errors.Is(err, certbind.ErrConfig) {
			t.Errorf("NewMatcher(%+v): %v, want ErrConfig", r, err)
		}
	}
}

// TestParseDN: RFC 4514 §3 and §2.4, rule by rule.
func TestParseDN(t *testing.T) {
	tests := []struct {
		name, a, b string
		equal      bool
	}{
		{"RFC 4514 §3: escaped comma", `O=a\,b`, `O=a\2Cb`, true},
		{"RFC 4514 §2.4: escaped special characters", `CN=\"q\"\+\;\<\>\\`, `CN=#0c0a22712b223b3c3e5c`, false},
		{"RFC 4514 §2.4: #hex of a UTF8String", `CN=#0c03616263`, `CN=abc`, true},
		{"RFC 4514 §2.4: #hex of a BMPString", `CN=#1e0400610062`, `CN=AB`, true},
		{"RFC 4514 §2.4: hex-escaped UTF-8", `CN=Lu\C4\8Di\C4\87`, `CN=Lučić`, true},
		{"RFC 4514 §3: multi-valued RDN in any order", `CN=a+UID=b,O=c`, `UID=b+CN=a,O=c`, true},
		{"RFC 4514 §3: multi-valued RDN is not two RDNs", `CN=a+UID=b,O=c`, `CN=a,UID=b,O=c`, false},
		{"RFC 4514 §3: semicolon separator (RFC 1779)", `CN=a;O=b`, `CN=a,O=b`, true},
		{"RFC 4518 §2.6.1: insignificant spaces", `CN=  a   b  `, `CN=a b`, true},
		{"RFC 4517 §4.2.11: caseIgnoreMatch", `CN=ABC`, `cn=abc`, true},
		{"RFC 4514 §3: descriptors and OIDs", `DC=example,DC=com`, `0.9.2342.19200300.100.1.25=example,0.9.2342.19200300.100.1.25=com`, true},
		{"values differ", `CN=a`, `CN=b`, false},
		{"types differ", `CN=a`, `OU=a`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := certbind.ParseDN(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := certbind.ParseDN(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if a.Equal(b) != tt.equal || b.Equal(a) != tt.equal {
				t.Fatalf("%s vs %s: equal %v, want %v", a, b, a.Equal(b), tt.equal)
			}
			back, err := certbind.ParseDN(a.String())
			if err != nil || !back.Equal(a) {
				t.Fatalf("String round trip %q: %v", a.String(), err)
			}
		})
	}
}

// TestAttackLookalikeCertificates: an attacker with a certificate from the
// same CA (the chain verifies) dresses it up as the victim's: the victim's
// DN inside another attribute, the victim's name as a prefix or suffix,
// a SAN of another type holding the victim's value. None matches; the
// victim's certificate does.
func TestAttackLookalikeCertificates(t *testing.T) {
	rule, err := certbind.NewMatcher(certbind.Rule{SubjectDN: "CN=billing-client,O=Example,C=DE"})
	if err != nil {
		t.Fatal(err)
	}
	dnsRule, _ := certbind.NewMatcher(certbind.Rule{SANDNS: "billing.example.com"})
	lookalikes := []*x509.Certificate{
		mustCert(t, pkix.Name{CommonName: "CN=billing-client,O=Example,C=DE"}, nil),
		mustCert(t, pkix.Name{CommonName: "billing-client", Organization: []string{"Example"}, Country: []string{"DE"}, OrganizationalUnit: []string{"Evil"}}, nil),
		mustCert(t, pkix.Name{CommonName: "billing-client,O=Example", Country: []string{"DE"}}, nil),
		mustCert(t, pkix.Name{CommonName: "billing-client", Organization: []string{"Example", "Evil"}, Country: []string{"DE"}}, nil),
		mustCert(t, pkix.Name{CommonName: "billing-client", Organization: []string{"Example"}, Country: []string{"DE"},
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "second-cn"}}}, nil),
	}
	for i, c := range lookalikes {
		if err := rule.Match(c); !errors.Is(err, certbind.ErrNoMatch) {
			t.Errorf("lookalike %d (%s): %v", i, c.Subject, err)
		}
	}
	evilDNS := mustCert(t, pkix.Name{CommonName: "billing.example.com"}, []string{"billing.example.com.evil.example", "xbilling.example.com"})
	if err := dnsRule.Match(evilDNS); !errors.Is(err, certbind.ErrNoMatch) {
		t.Errorf("DNS lookalike: %v", err)
	}
	victim := mustCert(t, pkix.Name{CommonName: "billing-client", Organization: []string{"Example"}, Country: []string{"DE"}}, []string{"billing.example.com"})
	if err := rule.Match(victim); err != nil {
		t.Fatalf("the victim's certificate: %v", err)
	}
	if err := dnsRule.Match(victim); err != nil {
		t.Fatalf("the victim's certificate by DNS: %v", err)
	}
}

func mustCert(t testing.TB, subject pkix.Name, dns []string) *x509.Certificate {
	c, _ := newCert(t, &x509.Certificate{Subject: subject, DNSNames: dns})
	return c
}

// TestMatchSelfSigned: RFC 8705 §2.2, the certificate's key against the
// client's registered JWK Set.
func TestMatchSelfSigned(t *testing.T) {
	c, key := newCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "self"}})
	other, _ := newCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "self"}})
	jwk, _ := jws.AppendPublicJWK(nil, &key.PublicKey, "k1", "")
	set, err := jws.ParseKeySet([]byte(`{"keys":[` + string(jwk) + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := certbind.MatchSelfSigned(c, set); err != nil {
		t.Fatal(err)
	}
	if err := certbind.MatchSelfSigned(other, set); !errors.Is(err, certbind.ErrNoMatch) {
		t.Fatalf("another key: %v", err)
	}
	if err := certbind.MatchSelfSigned(nil, set); !errors.Is(err, certbind.ErrNoCertificate) {
		t.Fatalf("no certificate: %v", err)
	}
}
