// Package crypttoken seals OAuth 2.0 tokens into encrypted JWTs and opens
// them again, so that a resource server checks a token locally, in
// microseconds, instead of asking a database or the issuer (SPEC §1, §3).
//
// An issuer seals with a Sealer; a resource server opens with an Opener.
// Both work on a keys.Ring, whose current key set may be swapped at any
// time (rotation, reload) while they serve:
//
//	opener, err := crypttoken.NewOpener(ring, crypttoken.Expected{
//		Issuer:   "https://issuer.example.com",
//		Audience: "https://api.example.com",
//	})
//	...
//	claims, err := opener.Open(bearerToken)
//	if errors.Is(err, crypttoken.ErrExpired) { ... }
//	if !claims.HasScope("read") { ... }
//
// HTTP middleware lives in the subpackages httpmw (net/http) and fasthttpmw
// (fasthttp), so that this package depends on neither.
//
// # Token format
//
// A token is a JWT (RFC 7519) in the JWE compact serialization (RFC 7516
// §7.1): five base64url parts without padding,
//
//	BASE64URL(header) . BASE64URL(encrypted key) . BASE64URL(IV) .
//	BASE64URL(ciphertext) . BASE64URL(tag)
//
// The protected header is exactly {"alg":…,"enc":"A256GCM","kid":…,"typ":…}
// and is the additional authenticated data. The typ tells the kinds of token
// apart (RFC 8725 §3.11): "at+jwt" for access tokens (RFC 9068 §2.1),
// "rt+jwt" for refresh tokens, "code+jwt" for authorization codes,
// "device-code+jwt" for device codes (RFC 8628) and "par+jwt" for pushed
// authorization requests carried through a login page (RFC 9126), so no
// kind is ever accepted as another. The plaintext is the JSON claims set
// with the RFC 9068 claim names; see Claims. Any conforming JOSE library
// given the key opens these tokens; the tests prove it for go-jose and
// Python jwcrypto.
//
// # Algorithms
//
// Content encryption is always A256GCM (RFC 7518 §5.3). Key management is
// the algorithm recorded with the key that seals:
//
//   - A256KW (RFC 7518 §4.4), the default: each token has a fresh random
//     256-bit content key, wrapped with the ring key by AES key wrap
//     (RFC 3394). A ring key therefore never encrypts more than key-wrap
//     blocks, and there is no per-key message bound to watch.
//   - dir (RFC 7518 §4.5): the ring key is the content key. It saves the
//     key wrap and a cipher set-up (more than half of a seal or open), but
//     every token is then an AES-GCM message under the same key with a
//     random 96-bit IV, which NIST SP 800-38D §8.3 bounds at 2^32 messages
//     per key: at 50,000 tokens a second, one day. The Sealer counts seals per dir key and
//     refuses beyond keys.SealLimit, a quarter of that bound per process
//     (ErrKeyExhausted); the key ring rotates
//     such keys early.
//
// An Opener accepts both (or those WithAlgorithms names), and each key only
// with its own algorithm (RFC 8725 §3.1): never "none", never whatever the
// header asks for. Every token has a fresh random IV and jti; randomness
// comes from crypto/rand, read in 4 KiB blocks so that a seal costs a copy
// rather than a system call; bytes are handed out once and wiped.
//
// # Validation order
//
// Open checks, in this order, returning the first failure:
//
//  1. size (WithMaxSize, 8 KiB by default) and five parts;
//  2. the protected header: base64url, JSON, no "zip" (compressing before
//     encrypting leaks content), no "crit", enc A256GCM, alg allowed;
//  3. the kid names a key of the ring that has not expired, and the header's
//     alg is that key's;
//  4. the other parts: exact sizes and canonical base64url (no padding, no
//     line breaks, no stray bits, so that a token has exactly one spelling);
//  5. decryption, which authenticates header and claims together (a key
//     unwrap that fails its integrity check goes on with a random content
//     key, RFC 7516 §11.5, so it fails exactly as a bad tag does);
//  6. typ, now that it is authenticated;
//  7. the claims' JSON (strict: duplicate members are refused);
//  8. exp present, exp, nbf, iat against the clock with Expected.Leeway
//     (RFC 7519 §4.1.4 to §4.1.6), iss, aud (RFC 9068 §4).
//
// Nothing the token says is believed before step 5 except what selects the
// key, and only headers that decrypted are ever cached.
//
// # Errors
//
// Every failure is a distinct sentinel, matched with errors.Is: ErrMalformed,
// ErrAlgorithm, ErrCompression, ErrCritical, ErrUnknownKey, ErrDecrypt,
// ErrType, ErrMissingClaim, ErrExpired, ErrNotYetValid, ErrIssuedInFuture,
// ErrIssuer, ErrAudience from Open; ErrClaims, ErrNoKey, ErrKeyExhausted from
// Seal; ErrConfig from the constructors. Errors may wrap the sentinel with a
// short detail, never with key material, claims or the token itself. All
// cryptographic failures (wrong key, any change to header, encrypted key, IV,
// ciphertext or tag) are the single opaque ErrDecrypt (RFC 7516 §11.4).
// A resource server answers all of Open's errors with 401 invalid_token
// (RFC 6750 §3.1); the distinction is for logs and metrics.
//
// # Concurrency and lifetime
//
// Sealer and Opener are immutable after construction and safe for
// concurrent use; the ring they hold may be swapped at any time, and each
// Seal or Open uses the one set it loaded at its start. Keys are looked up by
// kid in a map, never tried in turn.
//
// Claims returned by Open belong to the caller. Their strings are views of
// the token's decrypted buffer, which Open allocates for that token alone and
// never writes again: they are ordinary immutable Go strings, safe to keep,
// to share between goroutines and to outlive the token (keeping any of them
// keeps the buffer, a few hundred bytes). Extra values are copies. Seal
// writes the jti and iat it generates into the Claims it is given, so do not
// share one Claims between concurrent Seals.
//
// # Performance
//
// Measured side by side with go-jose v4 (its jwt package, with claim
// validation) on the same RFC 9068 access token and key, in one run of
// bench/crypto_bench_test.go on a shared 2-core AMD EPYC virtual machine;
// benchstat medians (bench/RESULTS-crypto.md has the command and all runs):
//
//	                 crypttoken            go-jose v4            speed-up
//	Seal  A256KW     2.8 µs, 3 allocs      26 µs, 180 allocs      9x
//	Seal  dir        0.9 µs, 1 alloc       21 µs, 170 allocs     25x
//	Open  A256KW     2.6 µs, 4 allocs      35 µs, 172 allocs     14x
//	Open  dir        1.2 µs, 2 allocs      22 µs, 164 allocs     19x
//
// The machine was loaded; in CPU time per operation crypttoken spends about
// 1.8 µs on an A256KW seal or open and 0.8 µs with dir.
//
// The costs that remain are AES key wrap (24 dependent AES block operations,
// latency-bound), setting up AES-GCM for each A256KW content key (crypto/aes
// and crypto/cipher allocate both), base64url and the claims JSON. The
// claims codec is reflection-free; Seal encodes the protected header once per
// key; Open caches the headers that decrypted (bounded, copy-on-write) and
// decrypts in place in the one buffer the claims then view.
package crypttoken
