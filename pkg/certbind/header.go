package certbind

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
)

// Header fields of RFC 9440 §2.
const (
	HeaderName      = "Client-Cert"
	ChainHeaderName = "Client-Cert-Chain"
)

// Bounds on what a header may carry.
const (
	// MaxHeaderSize bounds a Client-Cert field value (a certificate of
	// some 12 KiB of DER).
	MaxHeaderSize = 16 << 10
	// MaxChainHeaderSize bounds a Client-Cert-Chain field value.
	MaxChainHeaderSize = 64 << 10
	// MaxChainLength bounds the certificates of a chain.
	MaxChainLength = 8
)

// ParseHeader reads the certificate of an RFC 9440 Client-Cert header
// field, given the values of every such field of the request. The value
// is an RFC 8941 Item whose bare item is a Byte Sequence, ":base64:" (RFC
// 9440 §2.2), optionally with parameters, which are ignored (RFC 8941
// §4.2.3). No field is ErrNoCertificate; several fields, or a value that
// is not such an Item, ErrMalformedHeader; bytes that are not a DER
// certificate, ErrMalformedCertificate.
//
// Believe the header only from a proxy you trust to have terminated TLS
// and validated the client certificate (RFC 9440 §4): the caller checks
// the peer address against its trusted proxies first.
func ParseHeader(values []string) (*x509.Certificate, error) {
	switch len(values) {
	case 0:
		return nil, ErrNoCertificate
	case 1:
	default:
		return nil, fmt.Errorf("%w: %d Client-Cert fields", ErrMalformedHeader, len(values))
	}
	if len(values[0]) > MaxHeaderSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHeader, MaxHeaderSize)
	}
	p := sfParser{s: values[0]}
	p.skipSP()
	der, err := p.item()
	if err != nil {
		return nil, err
	}
	p.skipSP()
	if !p.done() {
		return nil, fmt.Errorf("%w: data after the byte sequence", ErrMalformedHeader)
	}
	return parseCert(der)
}

// ParseChainHeader reads the certificates of an RFC 9440 Client-Cert-Chain
// header field (§2.3): an RFC 8941 List of Byte Sequences, the
// certificates that chain the client certificate towards a trust anchor,
// in order. Several field values are one list, combined in order (RFC 8941
// §4.2). No field gives no certificates and no error.
func ParseChainHeader(values []string) ([]*x509.Certificate, error) {
	total := 0
	for _, v := range values {
		total += len(v)
	}
	if total > MaxChainHeaderSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHeader, MaxChainHeaderSize)
	}
	var out []*x509.Certificate
	for _, v := range values {
		p := sfParser{s: v}
		p.skipSP()
		for !p.done() {
			der, err := p.item()
			if err != nil {
				return nil, err
			}
			if len(out) == MaxChainLength {
				return nil, fmt.Errorf("%w: more than %d certificates", ErrMalformedHeader, MaxChainLength)
			}
			c, err := parseCert(der)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
			p.skipOWS()
			if p.done() {
				break
			}
			if !p.consume(',') {
				return nil, fmt.Errorf("%w: list members not separated by commas", ErrMalformedHeader)
			}
			p.skipOWS()
			if p.done() {
				return nil, fmt.Errorf("%w: trailing comma", ErrMalformedHeader)
			}
		}
	}
	return out, nil
}

func parseCert(der []byte) (*x509.Certificate, error) {
	if len(der) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformedCertificate)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedCertificate, err)
	}
	return c, nil
}

// AppendHeader appends the Client-Cert field value of cert, ":base64:",
// to dst: what a TLS-terminating proxy sends (RFC 9440 §2.2).
func AppendHeader(dst []byte, cert *x509.Certificate) []byte {
	dst = append(dst, ':')
	dst = base64.StdEncoding.AppendEncode(dst, cert.Raw)
	return append(dst, ':')
}

// Thumbprint returns the certificate's x5t#S256: the base64url SHA-256 of
// its DER encoding (RFC 8705 §3.1), the value of an access token's
// cnf.x5t#S256.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// CheckBinding checks that cert is the certificate an access token is
// bound to: its thumbprint equals the token's cnf.x5t#S256 (RFC 8705 §3),
// compared in constant time. A token bound to a certificate that cannot be
// checked fails: a nil cert is ErrNoCertificate, never a pass.
func CheckBinding(cert *x509.Certificate, x5tS256 string) error {
	if cert == nil {
		return ErrNoCertificate
	}
	if x5tS256 == "" || subtle.ConstantTimeCompare([]byte(Thumbprint(cert)), []byte(x5tS256)) != 1 {
		return ErrBinding
	}
	return nil
}

// sfParser reads the parts of RFC 8941 that the two header fields use.
type sfParser struct {
	s string
	i int
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }

func (p *sfParser) skipSP() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

// skipOWS skips optional white space (RFC 8941 §4.2.1: SP and HTAB
// between list members).
func (p *sfParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *sfParser) consume(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// item reads an Item whose bare item is a Byte Sequence, and its
// parameters (RFC 8941 §4.2.3).
func (p *sfParser) item() ([]byte, error) {
	b, err := p.byteSequence()
	if err != nil {
		return nil, err
	}
	if err := p.parameters(); err != nil {
		return nil, err
	}
	return b, nil
}

// byteSequence reads ":" *base64 ":" (RFC 8941 §4.2.7). As the RFC asks,
// missing "=" padding and non-zero pad bits are accepted.
func (p *sfParser) byteSequence() ([]byte, error) {
	if !p.consume(':') {
		return nil, fmt.Errorf("%w: not a byte sequence", ErrMalformedHeader)
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ':' {
		c := p.s[p.i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return nil, fmt.Errorf("%w: byte sequence holds %q", ErrMalformedHeader, c)
		}
		p.i++
	}
	if !p.consume(':') {
		return nil, fmt.Errorf("%w: unterminated byte sequence", ErrMalformedHeader)
	}
	enc := strings.TrimRight(p.s[start:p.i-1], "=")
	out, err := base64.RawStdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: byte sequence is not base64", ErrMalformedHeader)
	}
	return out, nil
}

// parameters reads *( ";" *SP key [ "=" bare-item ] ) and ignores them.
func (p *sfParser) parameters() error {
	for p.consume(';') {
		p.skipSP()
		if p.done() || !(p.s[p.i] >= 'a' && p.s[p.i] <= 'z' || p.s[p.i] == '*') {
			return fmt.Errorf("%w: bad parameter key", ErrMalformedHeader)
		}
		for p.i < len(p.s) {
			c := p.s[p.i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*') {
				break
			}
			p.i++
		}
		if p.consume('=') {
			if err := p.bareItem(); err != nil {
				return err
			}
		}
	}
	return nil
}

// bareItem skips a parameter's value: an integer or decimal, a string, a
// token, a byte sequence or a boolean (RFC 8941 §4.2.3.1).
func (p *sfParser) bareItem() error {
	bad := fmt.Errorf("%w: bad parameter value", ErrMalformedHeader)
	if p.done() {
		return bad
	}
	switch c := p.s[p.i]; {
	case c == '-' || c >= '0' && c <= '9':
		p.i++
		n := 0
		for p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.') {
			p.i++
			n++
		}
		if c == '-' && n == 0 {
			return bad
		}
	case c == '"':
		p.i++
		for {
			if p.done() {
				return bad
			}
			c := p.s[p.i]
			p.i++
			switch {
			case c == '\\':
				if p.done() || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
					return bad
				}
				p.i++
			case c == '"':
				return nil
			case c < 0x20 || c > 0x7e:
				return bad
			}
		}
	case c == ':':
		_, err := p.byteSequence()
		return err
	case c == '?':
		p.i++
		if !p.consume('0') && !p.consume('1') {
			return bad
		}
	case c == '*' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),;<=>?@[\]{}`, c) >= 0 {
				break
			}
			p.i++
		}
	default:
		return bad
	}
	return nil
}
