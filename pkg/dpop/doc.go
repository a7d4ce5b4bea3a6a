// Package dpop verifies DPoP proofs (RFC 9449): the issuer's token endpoint
// uses it to bind tokens to a client's key, and resource servers to check
// that a DPoP-bound access token is presented by the holder of that key.
// It needs only the standard library, pkg/jws and golang.org/x/crypto.
//
// # Verifying
//
// A Verifier checks the values of a request's DPoP header fields against
// the request (RFC 9449 §4.3): exactly one proof; a JWT of typ dpop+jwt
// signed with an allowed asymmetric algorithm (ES256, EdDSA, PS256, RS256)
// by the public key in its own jwk header, which holds no private member;
// jti, htm, htu and iat present; htm equal to the method; htu equal to the
// request URI without query and fragment, with scheme and host compared
// case-insensitively and default ports dropped (NormalizeURI); iat within
// a window (60 s back, 10 s ahead by default); at a resource server ath
// equal to the hash of the access token and the key equal to the token's
// cnf.jkt. It returns the Proof: the key's RFC 7638 thumbprint (JKT, for
// cnf.jkt), jti and iat.
//
// The checks build the request URI from what the caller passes: behind a
// TLS-terminating proxy, the caller builds it from the forwarded scheme and
// host of proxies it trusts.
//
// # Replay
//
// WithReplayCache makes each proof single-use: after every other check
// passes, the key's thumbprint and the jti are recorded until the proof
// would no longer be accepted (RFC 9449 §11.1). The issuer passes its
// shared store, so that replicas refuse each other's replays; a resource
// server may use MemoryReplay, bounded and without goroutines. A failing
// cache refuses the proof with ErrReplayCheck: never an accept.
//
// # Nonces
//
// Nonces (RFC 9449 §8, §9) are MACs of the clock's time step under a key,
// so they need no state and every replica with the key agrees; a nonce is
// accepted in its own step and the next. WithNonces makes them required;
// send Nonces.Current in the DPoP-Nonce header, with every use_dpop_nonce
// error and, to save clients a round trip, with successful responses too.
//
// # Errors
//
// Every refusal is ErrInvalidProof and a specific sentinel (ErrMissing,
// ErrMultiple, ErrMalformed, ErrClaims, ErrKey, ErrMethod, ErrURI,
// ErrIssuedAt, ErrTokenHash, ErrKeyBinding, ErrReplayed; with the jws
// sentinel for failures of the JWS); a missing or stale nonce is
// ErrUseNonce. ErrorCode maps them to invalid_dpop_proof and use_dpop_nonce
// (RFC 9449 §7.1, §8, §12.2). ErrReplayCheck (the replay cache failed) and
// ErrRequest (the Request itself is invalid) are no verdict on the proof:
// ErrorCode gives "" for them, to be answered as a server failure.
//
// # Concurrency
//
// Verifier and Nonces are safe for concurrent use; so is MemoryReplay.
// Verify takes a context for the replay cache, which may do I/O.
package dpop
