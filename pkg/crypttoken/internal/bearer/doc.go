// Package bearer holds what the net/http and fasthttp middlewares of
// crypttoken share: reading a bearer token from the Authorization header
// field (RFC 6750 §2.1) and describing refusals as RFC 6750 §3 challenges.
// It does no I/O and depends on no HTTP framework.
package bearer
