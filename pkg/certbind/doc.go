// Package certbind holds the certificate checks of mutual-TLS client
// authentication and certificate-bound access tokens (RFC 8705), used by
// the issuer and by resource servers alike:
//
//   - ParseHeader reads the client certificate that a TLS-terminating proxy
//     forwards in the RFC 9440 Client-Cert header field (an RFC 8941 Byte
//     Sequence, ":base64:"), and ParseChainHeader its Client-Cert-Chain;
//     believe them only from trusted proxies;
//   - Thumbprint computes the certificate's x5t#S256 (RFC 8705 §3.1), the
//     value of an access token's cnf.x5t#S256, and CheckBinding compares a
//     presented certificate with it — a token bound to a certificate that
//     cannot be checked fails, never falls back to bearer;
//   - a Matcher checks a certificate against a client's tls_client_auth
//     registration (RFC 8705 §2.1.2): the subject DN in RFC 4514 string
//     form (ParseDN, compared attribute by attribute, not as strings), or
//     a subjectAltName of type DNS, URI, IP or email; MatchSelfSigned
//     checks self_signed_tls_client_auth (§2.2) against the client's keys.
//
// Validating the certificate chain (to tls.client_ca_file) is the
// caller's: crypto/x509's Verify does it.
//
// Errors are sentinels matched with errors.Is: ErrNoCertificate,
// ErrMalformedHeader, ErrMalformedCertificate, ErrNoMatch, ErrBinding,
// ErrConfig. Everything here is immutable and safe for concurrent use.
package certbind
