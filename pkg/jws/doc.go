// Package jws signs and verifies compact JSON Web Signatures (RFC 7515)
// with the algorithms of RFC 7518 §3 and RFC 8037, reads JWT claims sets
// (RFC 7519), public JWKs and JWK Sets (RFC 7517) and computes JWK
// thumbprints (RFC 7638). It is the signing half of the project's JOSE, as
// pkg/crypttoken is the encrypting half: ID tokens, status list tokens, key
// deliveries, client assertions and DPoP proofs are built on it, by the
// issuer and by resource servers alike, so it needs nothing but the
// standard library, go-jose's JWK types and golang.org/x/crypto.
//
// # Signing
//
// A Signer names its algorithm and key id and signs; the signing ring's
// keys implement it, and NewSigner makes one from a crypto.Signer or an
// HMAC secret:
//
//	s, err := jws.NewSigner(jws.ES256, privateKey, "key-1")
//	payload, err := (&jws.Claims{Issuer: iss, Subject: sub, Expiry: exp}).MarshalJSON()
//	token, err := jws.Sign(s, jws.Protected{Type: "JWT"}, payload)
//
// # Verifying
//
// A Verifier needs an algorithm allow-list — there is no default, "none"
// is never allowed — and a KeySource: a KeySet (a public JWK Set, by kid),
// a single Key, a KeyFunc, or EmbeddedJWK for self-signed proofs:
//
//	set, err := jws.ParseKeySet(jwksJSON)
//	v, err := jws.NewVerifier([]string{jws.ES256}, set, jws.WithType("JWT"))
//	tok, err := v.Verify(token)
//	claims, err := jws.ParseClaims(tok.Payload)
//	err = claims.Validate(jws.Expected{Issuer: iss, AnyAudience: []string{me}})
//
// Verify checks size and shape, then the header (strictly: canonical
// base64url, no repeated member, alg allowed, "crit" only with extensions
// declared understood, "typ" compared as RFC 7515 §4.1.9 says), then the
// key (of the algorithm's own type, RFC 8725 §3.1: never an HMAC algorithm
// with a public key, never an EC key for RS256), then the signature. The
// header is never trusted to pick a key by URL ("jku", "x5u") or by
// certificate ("x5c"); "jwk" selects a key only through EmbeddedJWK.
//
// # Errors
//
// Failures are sentinels matched with errors.Is, wrapped at most with a
// short, cut-short detail, never with key material or the token:
// ErrMalformed, ErrAlgorithm, ErrCritical, ErrType, ErrUnknownKey,
// ErrKeyType, ErrSignature from Verify; ErrClaims, ErrMissingClaim,
// ErrExpired, ErrNotYetValid, ErrIssuedInFuture, ErrTooOld, ErrLifetime,
// ErrIssuer, ErrSubject, ErrAudience from claims; ErrInvalidKey,
// ErrUnsupportedKey, ErrPrivateKey, ErrConfig from keys and constructors.
// Every cryptographic failure is the one opaque ErrSignature.
//
// # Keys
//
// Supported: EC P-256 (ES256) and P-384 (ES384), Ed25519 (EdDSA), RSA of
// 2048 to 8192 bits (RS256, PS256), HMAC secrets of at least 32 bytes
// (HS256). ParseJWK and ParseKeySet read public keys only: a JWK with
// private members ("d", "p", "q", "dp", "dq", "qi", "oth", "k") is
// ErrPrivateKey. A JWK Set skips, as RFC 7517 §5 advises, keys it cannot
// verify with (encryption keys, X25519, P-521), and lists them in
// KeySet.Skipped.
//
// # Concurrency and lifetime
//
// Verifier, Key, KeySet and the Signers of NewSigner are immutable and safe
// for concurrent use. A Token's header strings and payload are views of
// one buffer that Verify allocates for that token alone; Claims from
// ParseClaims view the payload. Nothing keeps a reference to the token
// string passed in.
//
// # Performance
//
// The header and claims are decoded without reflection (internal/jsonscan),
// the three parts into one buffer; a verification costs the signature
// check plus a few allocations. bench/jws_bench_test.go measures it beside
// go-jose's ParseSigned and Verify on the same tokens and keys.
package jws
