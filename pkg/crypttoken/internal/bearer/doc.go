// Package bearer holds what the net/http and fasthttp middlewares of
// crypttoken share: reading an access token from the Authorization header
// field (RFC 6750 §2.1, with the Bearer or the DPoP scheme of RFC 9449
// §7.1), checking the sender constraint a token carries (Binding: the DPoP
// proof of RFC 9449 §4.3 and §7, the client certificate of RFC 8705 §3,
// from a trusted proxy's RFC 9440 Client-Cert header), and describing
// refusals as RFC 6750 §3 and RFC 9449 §7.1 challenges. The logic lives
// here once; each middleware only adapts its request type (Request). It
// depends on no HTTP framework; its only I/O is the optional DPoP replay
// cache.
package bearer
