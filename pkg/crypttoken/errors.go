package crypttoken

import "errors"

// Errors returned by Opener.Open. Each failure has its own sentinel so that
// callers can tell them apart with errors.Is; the returned error may wrap the
// sentinel with detail (never with key material or token contents).
//
// Every cryptographic failure — wrong key, tampered header, ciphertext or tag,
// bad key wrap — is the single opaque ErrDecrypt, so an attacker learns
// nothing about which step failed.
var (
	// ErrMalformed means the token is not a well-formed compact JWE of the
	// expected shape, or its header or claims are not valid JSON.
	ErrMalformed = errors.New("crypttoken: malformed token")
	// ErrAlgorithm means the header names a key-management or content
	// algorithm outside the allow-list ("none" and everything else).
	ErrAlgorithm = errors.New("crypttoken: algorithm not allowed")
	// ErrCompression means the header asks for compression ("zip"), which
	// this package refuses: compressing before encrypting leaks content.
	ErrCompression = errors.New("crypttoken: compressed tokens are not accepted")
	// ErrCritical means the header lists critical extensions ("crit"), none
	// of which this package understands (RFC 7516 §4.1.13).
	ErrCritical = errors.New("crypttoken: unsupported critical header")
	// ErrUnknownKey means the "kid" is missing, unknown to the ring, or
	// names an expired key.
	ErrUnknownKey = errors.New("crypttoken: unknown or expired key")
	// ErrDecrypt is the one opaque error for every cryptographic failure.
	ErrDecrypt = errors.New("crypttoken: token does not decrypt")
	// ErrType means the "typ" header is not the expected token type.
	ErrType = errors.New("crypttoken: unexpected token type")
	// ErrExpired means "exp" is in the past, beyond the leeway.
	ErrExpired = errors.New("crypttoken: token expired")
	// ErrNotYetValid means "nbf" is in the future, beyond the leeway.
	ErrNotYetValid = errors.New("crypttoken: token not yet valid")
	// ErrIssuedInFuture means "iat" is in the future, beyond the leeway.
	ErrIssuedInFuture = errors.New("crypttoken: token issued in the future")
	// ErrIssuer means "iss" is not the expected issuer.
	ErrIssuer = errors.New("crypttoken: unexpected issuer")
	// ErrAudience means "aud" does not contain the expected audience.
	ErrAudience = errors.New("crypttoken: unexpected audience")
	// ErrMissingClaim means a required claim ("exp") is absent.
	ErrMissingClaim = errors.New("crypttoken: required claim missing")
)

// Errors returned by Opener.Open for the checks that options add: the
// status check of WithStatus and the signature check of WithSignedTokens.
var (
	// ErrRevoked means the token's entry in its Token Status List is not
	// VALID (draft-ietf-oauth-status-list §7.1: revoked, or suspended), or
	// its index lies beyond the list, which the draft (§8.3 step 6)
	// requires refusing too.
	ErrRevoked = errors.New("crypttoken: token revoked")
	// ErrStatusUnknown means the token's status list is not known yet, and
	// the StatusPolicy refuses such tokens (the default). The StatusSource
	// has been asked to fetch the list; a retry may succeed.
	ErrStatusUnknown = errors.New("crypttoken: token status not known yet")
	// ErrNoStatus means the token carries no "status" claim, and the
	// StatusPolicy requires one (RequireStatus).
	ErrNoStatus = errors.New("crypttoken: token carries no status")
	// ErrSignature means a signed access token was required and the token
	// is not one, or its inner JWS does not verify against the issuer's
	// signing keys. It wraps the pkg/jws sentinel of the failure, if any.
	ErrSignature = errors.New("crypttoken: token signature missing or invalid")
)

// Errors returned by Sealer.Seal.
var (
	// ErrNoKey means the ring has no active key to seal with.
	ErrNoKey = errors.New("crypttoken: no active sealing key")
	// ErrKeyExhausted means a "dir" key has sealed as many tokens as AES-GCM
	// with random nonces safely allows; the ring must rotate.
	ErrKeyExhausted = errors.New("crypttoken: key usage limit reached")
	// ErrClaims means the claims cannot be sealed as given.
	ErrClaims = errors.New("crypttoken: invalid claims")
)

// Errors returned by the constructors.
var (
	// ErrConfig means a constructor was given an invalid argument or option.
	ErrConfig = errors.New("crypttoken: invalid configuration")
)
