// Package secret hashes and verifies client secrets and user passwords for
// the token service (SPEC §6), and keeps secrets out of logs.
//
// # Hash forms
//
// A configured secret hash is one of:
//
//	sha256$<64 lowercase hex>                        SHA-256 of a generated, high-entropy secret
//	$2a$10$<22 salt><31 hash>  (also $2b$, $2y$)     bcrypt, for human-chosen secrets
//	$argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>     Argon2id PHC string (RFC 9106), ditto
//
// Parse validates a string strictly, bounding the cost parameters so that no
// configuration can make one verification take seconds or gigabytes, and
// returns an immutable Hash; parse once at configuration load. NewSHA256,
// NewBcrypt and NewArgon2id produce the forms; NewClientSecret makes the
// 256-bit secrets that `issuer client new` prints, whose entropy makes the
// fast sha256 form safe (RFC 6749 §10.10 asks for credentials an attacker
// cannot guess).
//
// # Serving
//
// A server authenticates a client (RFC 6749 §2.3.1) or a user in this
// order:
//
//  1. Limiter.Begin for the account ("client:<id>", "user:<name>"), the
//     client's address and, on a login page, a device the server vouches
//     for: a blocked source is answered 429 with Retry-After before any
//     hash is computed. An address the account succeeded from before is
//     counted on its own, so an attacker's failures never lock the
//     legitimate holder out; everyone else is bounded per account and per
//     address (IPv6 per /64). A sha256 client is never refused: guessing a
//     generated secret is hopeless and costs no CPU.
//  2. Verifier.VerifyGated with the Attempt as its Gate: sha256 is checked
//     directly; bcrypt and argon2id go through a short-lived cache of
//     successful verifications, so bcrypt does not cap throughput, and a
//     computation that must run first reserves the attempt on the
//     Limiter, atomically, so a concurrent flood computes at most the
//     threshold's worth of hashes; ErrThrottled means the reservation was
//     refused, ErrBusy that the concurrency cap stayed full.
//  3. Attempt.Succeed on a match, Attempt.Fail on a mismatch or
//     ErrThrottled, Attempt.Abandon on ErrBusy. A success resets nothing.
//
// An unknown account is checked the same way against a decoy hash
// (Decoys), so its answer takes as long as a wrong secret's.
//
// # Secrets in logs
//
// Secret is a string type that prints, marshals and logs as "[REDACTED]".
// No error of this package contains a secret or a hash.
//
// # Concurrency
//
// Hash, Verifier and Limiter are safe for concurrent use. Verifier and
// Limiter start no goroutines and hold bounded memory.
//
// This package imports only the standard library and golang.org/x/crypto, and
// never logs.
package secret
