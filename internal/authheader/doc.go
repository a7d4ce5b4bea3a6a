// Package authheader reads the access token of a request's Authorization
// header (RFC 9110 §11.6.2) with a token scheme such as Bearer (RFC 6750
// §2.1) or DPoP (RFC 9449 §7.1):
//
//	credentials = scheme 1*SP b64token
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// It is the one reading of the header shared by the resource-server
// middlewares (pkg/crypttoken/internal/bearer) and the issuer's own
// protected resources (pkg/endpoint), so that both accept and refuse the
// same requests. It takes the header's field values as strings, so that it
// depends on no HTTP package; it imports only the standard library.
//
// Its functions are pure and safe for concurrent use; a token returned is a
// substring of the value given and is never copied.
package authheader
