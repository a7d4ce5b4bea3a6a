package certbind

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// Rule is a client's tls_client_auth registration (RFC 8705 §2.1.2):
// exactly one of the fields is set, named as the client metadata names it.
type Rule struct {
	SubjectDN string // tls_client_auth_subject_dn: RFC 4514 string form
	SANDNS    string // tls_client_auth_san_dns
	SANURI    string // tls_client_auth_san_uri
	SANIP     string // tls_client_auth_san_ip: IPv4 or IPv6
	SANEmail  string // tls_client_auth_san_email
}

// Matcher checks a client certificate against a Rule. It is immutable and
// safe for concurrent use.
type Matcher struct {
	dn    *DN
	dns   string
	uri   *url.URL
	ip    netip.Addr
	email string
}

// NewMatcher returns the Matcher of r. None, or more than one, of r's
// fields set is ErrConfig naming them, as is a value that does not parse.
func NewMatcher(r Rule) (*Matcher, error) {
	var set []string
	for name, v := range map[string]string{
		"tls_client_auth_subject_dn": r.SubjectDN, "tls_client_auth_san_dns": r.SANDNS,
		"tls_client_auth_san_uri": r.SANURI, "tls_client_auth_san_ip": r.SANIP, "tls_client_auth_san_email": r.SANEmail,
	} {
		if v != "" {
			set = append(set, name)
		}
	}
	if len(set) != 1 {
		return nil, fmt.Errorf("%w: exactly one tls_client_auth_* value is required (RFC 8705 §2.1.2), %d set %v", ErrConfig, len(set), set)
	}
	m := &Matcher{}
	var err error
	switch {
	case r.SubjectDN != "":
		m.dn, err = ParseDN(r.SubjectDN)
	case r.SANDNS != "":
		m.dns = normalizeDNS(r.SANDNS)
		if m.dns == "" {
			err = fmt.Errorf("%w: tls_client_auth_san_dns %q", ErrConfig, r.SANDNS)
		}
	case r.SANURI != "":
		m.uri, err = url.Parse(r.SANURI)
		if err != nil || m.uri.Scheme == "" {
			err = fmt.Errorf("%w: tls_client_auth_san_uri %q is not an absolute URI", ErrConfig, r.SANURI)
		}
	case r.SANIP != "":
		m.ip, err = netip.ParseAddr(r.SANIP)
		if err != nil || m.ip.Zone() != "" {
			err = fmt.Errorf("%w: tls_client_auth_san_ip %q is not an IP address", ErrConfig, r.SANIP)
		}
		m.ip = m.ip.Unmap()
	default:
		if !strings.Contains(r.SANEmail, "@") {
			err = fmt.Errorf("%w: tls_client_auth_san_email %q is not an address", ErrConfig, r.SANEmail)
		}
		m.email = r.SANEmail
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Match checks cert against the rule (RFC 8705 §2.1.2): the subject DN
// equal (see DN.Equal), or a subjectAltName entry of the rule's type equal
// to its value — DNS names ignoring case and a final dot, URIs with scheme
// and host ignoring case, IP addresses as addresses (an IPv4-mapped IPv6
// address is its IPv4 address), email addresses with the domain ignoring
// case. The certificate's chain is the caller's to have verified. No match
// is ErrNoMatch.
func (m *Matcher) Match(cert *x509.Certificate) error {
	if cert == nil {
		return ErrNoCertificate
	}
	ok := false
	switch {
	case m.dn != nil:
		subject, valid := subjectDN(cert.RawSubject)
		ok = valid && m.dn.Equal(subject)
	case m.dns != "":
		for _, d := range cert.DNSNames {
			ok = ok || normalizeDNS(d) == m.dns
		}
	case m.uri != nil:
		for _, u := range cert.URIs {
			ok = ok || sameURI(u, m.uri)
		}
	case m.ip.IsValid():
		for _, ip := range cert.IPAddresses {
			a, valid := netip.AddrFromSlice(ip)
			ok = ok || (valid && a.Unmap() == m.ip)
		}
	default:
		for _, e := range cert.EmailAddresses {
			ok = ok || sameEmail(e, m.email)
		}
	}
	if !ok {
		return ErrNoMatch
	}
	return nil
}

func normalizeDNS(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }

func sameURI(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) &&
		a.User.String() == b.User.String() && a.Opaque == b.Opaque && a.EscapedPath() == b.EscapedPath() &&
		a.RawQuery == b.RawQuery && a.Fragment == b.Fragment
}

// sameEmail compares addresses: the local part exactly (RFC 5321 §2.4),
// the domain ignoring case.
func sameEmail(a, b string) bool {
	i, j := strings.LastIndexByte(a, '@'), strings.LastIndexByte(b, '@')
	if i < 0 || j < 0 {
		return false
	}
	return a[:i] == b[:j] && strings.EqualFold(a[i+1:], b[j+1:])
}

// MatchSelfSigned checks cert for self_signed_tls_client_auth (RFC 8705
// §2.2): its public key is one of the client's registered keys (its jwks,
// as a jws.KeySet). The certificate is not otherwise validated: a
// self-signed certificate is only a carrier of the key. No match is
// ErrNoMatch.
func MatchSelfSigned(cert *x509.Certificate, keys *jws.KeySet) error {
	if cert == nil {
		return ErrNoCertificate
	}
	if keys != nil {
		for _, k := range keys.Keys() {
			if pub, ok := k.Public().(interface{ Equal(crypto.PublicKey) bool }); ok && pub.Equal(cert.PublicKey) {
				return nil
			}
		}
	}
	return ErrNoMatch
}
