// Package statuslist implements the JWT form of the IETF OAuth Token Status
// List (draft-ietf-oauth-status-list-20, "TSL"): the compressed status
// list, the "status" claim of a Referenced Token, the signed Status List
// Token, and the Status List Aggregation document. The issuer publishes
// revocations with it (SPEC §9); resource servers verify the lists and test
// a bit per request.
//
// # The list
//
// A List holds one status of 1, 2, 4 or 8 bits per index, packed from each
// byte's least significant bit (draft §4.1). New allocates a list at its
// full size, so that no index handed out is ever out of bounds; Set and Get
// read and write statuses; Encode compresses it (ZLIB, RFC 1950, at the
// fastest level) into the base64url "lst" of draft §4.2; Decode reads one
// back, refusing to decompress more than a bound (DefaultMaxBytes unless
// told otherwise), so that a small hostile "lst" cannot expand into
// gigabytes.
//
// # Referenced Tokens
//
// A token that can be revoked carries
//
//	"status":{"status_list":{"idx":N,"uri":"https://issuer.example.com/statuslists/1"}}
//
// (draft §6.2). Reference.AppendClaim writes the claim's value and
// ParseClaim reads it.
//
// # Status List Tokens
//
// Sign signs a Token (sub = the list's URI, iat, exp, ttl, status_list) as a
// JWT of typ "statuslist+jwt" with any jws.Signer; a Verifier checks one
// fetched from a URI against the issuer's keys (draft §8.3 steps 3 and 4):
// signature, typ, claims per RFC 7519, sub equal to the URI, then decodes
// the list. NextCheck says when to fetch again (draft §13.7).
//
// # Resource servers
//
// Lists holds the decoded lists a resource server knows, by URI, bounded in
// number and bytes; Lists.Status is the request-path check — a map lookup
// and a bit test, no allocation, no network. Keep the current Lists in an
// atomic.Pointer and swap in the result of With after each fetch.
//
// # Errors
//
// Sentinels matched with errors.Is: ErrBits, ErrMalformed, ErrTooLarge,
// ErrIndex, ErrStatus, ErrSubject, ErrUnknownList, ErrNoStatus, ErrConfig;
// Verifier.Verify also returns the jws sentinels for the token as a JWT
// (jws.ErrSignature, jws.ErrType, jws.ErrExpired, ...).
//
// # Concurrency
//
// A List from New is not safe for concurrent mutation; a decoded List, a
// Lists and a Verifier are immutable and safe for concurrent use.
package statuslist
