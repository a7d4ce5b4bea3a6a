package certbind

import "errors"

// Errors, matched with errors.Is.
var (
	// ErrNoCertificate means no certificate was presented (no Client-Cert
	// header field, no TLS client certificate).
	ErrNoCertificate = errors.New("certbind: no client certificate")
	// ErrMalformedHeader means a Client-Cert or Client-Cert-Chain header
	// field is not a valid RFC 8941 Byte Sequence (or List of them), is
	// repeated, or exceeds the size bound.
	ErrMalformedHeader = errors.New("certbind: malformed client certificate header")
	// ErrMalformedCertificate means the bytes are not a DER X.509
	// certificate.
	ErrMalformedCertificate = errors.New("certbind: malformed client certificate")
	// ErrNoMatch means the certificate does not match the client's
	// registered tls_client_auth value or keys (RFC 8705 §2.1.2, §2.2).
	ErrNoMatch = errors.New("certbind: certificate does not match the client")
	// ErrBinding means the certificate is not the one the access token is
	// bound to (RFC 8705 §3: cnf.x5t#S256).
	ErrBinding = errors.New("certbind: certificate does not match the token's binding")
	// ErrConfig means a matcher was configured wrongly: none or several of
	// the tls_client_auth_* values, or one that does not parse.
	ErrConfig = errors.New("certbind: invalid configuration")
)
