package statuslist

import "errors"

// Errors, matched with errors.Is. Verifier.Verify also returns the jws
// package's sentinels (jws.ErrSignature, jws.ErrType, jws.ErrExpired, ...)
// for failures of the token as a JWT.
var (
	// ErrBits means "bits" is not 1, 2, 4 or 8 (draft §4.1 step 1).
	ErrBits = errors.New("statuslist: bits must be 1, 2, 4 or 8")
	// ErrMalformed means a status list, a status claim or an aggregation
	// document is not of the draft's form: "lst" not base64url of a ZLIB
	// stream, a member missing or of the wrong JSON type.
	ErrMalformed = errors.New("statuslist: malformed status list")
	// ErrTooLarge means a list decompresses to more than the bound the
	// caller set: a list that large is refused before it is held in
	// memory (a zip bomb).
	ErrTooLarge = errors.New("statuslist: status list too large")
	// ErrIndex means an index is beyond the list; the draft (§8.3 step 6)
	// requires refusing the Referenced Token then.
	ErrIndex = errors.New("statuslist: index out of bounds")
	// ErrStatus means a status value does not fit the list's bits.
	ErrStatus = errors.New("statuslist: status value does not fit the list's bits")
	// ErrSubject means a Status List Token's "sub" is not the URI it was
	// fetched from (draft §5.1, §8.3 step 4a).
	ErrSubject = errors.New("statuslist: token subject is not the list's URI")
	// ErrUnknownList means a Lists has no list for a Referenced Token's uri.
	ErrUnknownList = errors.New("statuslist: status list not known")
	// ErrNoStatus means a Referenced Token has no "status_list" reference.
	ErrNoStatus = errors.New("statuslist: no status_list reference")
	// ErrConfig means a constructor or option was given an invalid value.
	ErrConfig = errors.New("statuslist: invalid configuration")
)
