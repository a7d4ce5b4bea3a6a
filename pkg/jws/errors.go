package jws

import "errors"

// Errors of Verify, matched with errors.Is. The returned error may wrap the
// sentinel with a short detail (a header value cut short, a claim name),
// never with key material, a signature or the token.
var (
	// ErrMalformed means the token is not a compact JWS of the expected
	// shape (RFC 7515 §7.1): not three parts, not canonical base64url,
	// a header that is not a JSON object or repeats a member, or a token
	// longer than the verifier's bound.
	ErrMalformed = errors.New("jws: malformed token")
	// ErrAlgorithm means the header's "alg" is missing or outside the
	// verifier's allow-list ("none" is never in it).
	ErrAlgorithm = errors.New("jws: algorithm not allowed")
	// ErrCritical means the header lists in "crit" an extension the caller
	// did not declare understood, or "crit" breaks RFC 7515 §4.1.11.
	ErrCritical = errors.New("jws: unsupported critical header")
	// ErrType means the "typ" header is not the expected type.
	ErrType = errors.New("jws: unexpected token type")
	// ErrUnknownKey means no key was found for the header's "kid" (or, with
	// no kid, the key set did not hold exactly one key).
	ErrUnknownKey = errors.New("jws: unknown key")
	// ErrKeyType means the key found cannot verify the header's algorithm:
	// another key type or curve (RFC 8725 §3.1), an HMAC algorithm with a
	// public key, a JWK "alg", "use" or "key_ops" that forbids it.
	ErrKeyType = errors.New("jws: key does not fit the algorithm")
	// ErrSignature means the signature does not verify. It is the one
	// opaque error for every cryptographic failure.
	ErrSignature = errors.New("jws: invalid signature")
)

// Errors of ParseClaims and Claims.Validate.
var (
	// ErrClaims means the payload is not a JSON object of valid claims: a
	// registered claim of the wrong JSON type, a repeated member.
	ErrClaims = errors.New("jws: malformed claims")
	// ErrMissingClaim means a claim the validation requires is absent.
	ErrMissingClaim = errors.New("jws: required claim missing")
	// ErrExpired means "exp" is in the past, beyond the leeway.
	ErrExpired = errors.New("jws: token expired")
	// ErrNotYetValid means "nbf" is in the future, beyond the leeway.
	ErrNotYetValid = errors.New("jws: token not yet valid")
	// ErrIssuedInFuture means "iat" is in the future, beyond the leeway.
	ErrIssuedInFuture = errors.New("jws: token issued in the future")
	// ErrTooOld means "iat" is further in the past than Expected.MaxAge.
	ErrTooOld = errors.New("jws: token too old")
	// ErrLifetime means "exp" is further ahead than Expected.MaxLifetime.
	ErrLifetime = errors.New("jws: token lifetime too long")
	// ErrIssuer means "iss" is not the expected issuer.
	ErrIssuer = errors.New("jws: unexpected issuer")
	// ErrSubject means "sub" is not the expected subject.
	ErrSubject = errors.New("jws: unexpected subject")
	// ErrAudience means "aud" holds none of the expected audiences.
	ErrAudience = errors.New("jws: unexpected audience")
)

// Errors of key construction and JWK parsing.
var (
	// ErrInvalidKey means a key or JWK is unusable: an unsupported key
	// type or curve, a point off its curve, an RSA modulus below 2048
	// bits, an HMAC secret shorter than its hash, a JWK member of the
	// wrong form.
	ErrInvalidKey = errors.New("jws: invalid key")
	// ErrPrivateKey means a JWK meant to be public holds private key
	// material ("d", "p", "q", "dp", "dq", "qi", "oth" or "k").
	ErrPrivateKey = errors.New("jws: private key material where a public key belongs")
	// ErrConfig means a constructor was given an invalid argument.
	ErrConfig = errors.New("jws: invalid configuration")
)
