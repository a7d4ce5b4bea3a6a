// Package storetest holds the conformance suite every store.Store
// implementation passes: call Run from a test with a function that returns
// a fresh store.
//
// The suite checks the guarantees the token endpoint relies on: a code is
// redeemed once, also under concurrent redemption (RFC 6749 §4.1.2);
// refresh generations advance one at a time, and a superseded generation
// revokes its family (RFC 9700 §4.14.2, RFC 6819 §5.2.2.3), also when
// several rotations race; RefreshState reads a family's generation and
// revocation without changing them, an unseen family being generation 0
// and not revoked (what introspection needs, RFC 7662 §2.2); revocations
// are idempotent and never shortened (RFC 7009 §2.2); entries are forgotten
// after their expiry and not before; a single-use value is accepted once
// (RFC 7523 §3, RFC 9449 §11.1), also under concurrent use; records are
// put, replaced, read and deleted, and of concurrent Takes exactly one gets
// the record (RFC 9126 §2.2); status lists are registered once and listed
// sorted, and their bits are idempotent, read back ascending, all kept
// until the latest expiry and never fewer under concurrent writers (SPEC
// §9); namespaces and the method families never collide; empty ids and
// arguments beyond the store package's bounds are store.ErrInvalidArgument.
// Stores that implement store.Leaser must also
// hand a lease to one holder at a time.
package storetest
