// Package jsonscan is a strict, reflection-free JSON scanner (RFC 8259) for
// the small, hostile documents of JOSE: protected headers, JWT claims sets,
// JWKs. It is what pkg/crypttoken, pkg/jws, pkg/dpop and pkg/statuslist
// decode with, so that opening or verifying a token costs a handful of
// allocations instead of the hundred or so that encoding/json's reflection
// spends.
//
// A Decoder walks one document held in a byte slice. Strings without escape
// sequences are returned as views of that slice, not copies: the caller
// guarantees that the slice is never modified while any result is in use.
// Strings must be valid UTF-8 (RFC 8259 §8.1); a lone surrogate escape
// decodes to U+FFFD, as in encoding/json. Nesting is bounded (MaxDepth) so
// that hostile input cannot exhaust the stack. Duplicate member names are
// the caller's to detect: JOSE parsers must refuse them (RFC 7515 §5.2
// step 4, RFC 7519 §4) and only the caller knows which names it reads.
//
// A Decoder is a small value owned by one goroutine; it allocates only to
// unescape strings.
package jsonscan
