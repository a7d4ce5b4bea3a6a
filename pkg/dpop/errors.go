package dpop

import (
	"errors"
	"fmt"
)

// RFC 9449 error codes (§5, §7.1, §8, §12.2).
const (
	// CodeInvalidProof is the error of a request whose DPoP proof is
	// missing where required, malformed or invalid (RFC 9449 §5, §7.1).
	CodeInvalidProof = "invalid_dpop_proof"
	// CodeUseNonce asks the client to retry with the nonce of the
	// DPoP-Nonce response header (RFC 9449 §8, §9).
	CodeUseNonce = "use_dpop_nonce"
)

// Errors of Verifier.Verify, matched with errors.Is. Every refusal of a
// proof is ErrInvalidProof and also its specific sentinel (and, for
// failures of the JWS, the jws sentinel: jws.ErrSignature, ...); a missing
// or stale nonce is ErrUseNonce instead. ErrReplayCheck is not a verdict on
// the proof: the replay cache failed, and the request should be answered
// as a server failure, never accepted.
var (
	ErrInvalidProof = errors.New("dpop: invalid DPoP proof")
	ErrUseNonce     = errors.New("dpop: a fresh server nonce is required")
	ErrReplayCheck  = errors.New("dpop: replay check failed")
	// ErrRequest means the Request to check the proof against is itself
	// invalid (its URI is not an absolute http or https URI): a bug or a
	// misconfiguration of the caller, no verdict on the proof.
	ErrRequest = errors.New("dpop: invalid request to check against")

	// The specific refusals, each also ErrInvalidProof.
	ErrMissing    = errors.New("dpop: no DPoP proof")                             // RFC 9449 §4.3 (1): required but absent
	ErrMultiple   = errors.New("dpop: more than one DPoP header")                 // §4.3 (1)
	ErrMalformed  = errors.New("dpop: proof is not a well-formed JWT")            // §4.3 (2)
	ErrClaims     = errors.New("dpop: required claim missing or malformed")       // §4.3 (3)
	ErrKey        = errors.New("dpop: proof key missing, private or unsupported") // §4.3 (6), (7)
	ErrMethod     = errors.New("dpop: htm does not match the request method")     // §4.3 (8)
	ErrURI        = errors.New("dpop: htu does not match the request URI")        // §4.3 (9)
	ErrIssuedAt   = errors.New("dpop: iat outside the acceptable window")         // §4.3 (11)
	ErrTokenHash  = errors.New("dpop: ath does not match the access token")       // §4.3 (12)
	ErrKeyBinding = errors.New("dpop: proof key is not the key bound to")         // §4.3 (12), §10.1
	ErrReplayed   = errors.New("dpop: proof replayed")                            // §11.1
)

// proofError returns an error that is both ErrInvalidProof and specific.
func proofError(specific error, detail string, args ...any) error {
	if detail == "" {
		return fmt.Errorf("%w: %w", ErrInvalidProof, specific)
	}
	return fmt.Errorf("%w: %w: %s", ErrInvalidProof, specific, fmt.Sprintf(detail, args...))
}

// ErrorCode returns the RFC 9449 error code for an error of Verify:
// CodeUseNonce, CodeInvalidProof, or "" when err is no verdict on the
// proof (nil, ErrReplayCheck or ErrRequest: answer it as a server failure).
func ErrorCode(err error) string {
	switch {
	case err == nil || errors.Is(err, ErrReplayCheck) || errors.Is(err, ErrRequest):
		return ""
	case errors.Is(err, ErrUseNonce):
		return CodeUseNonce
	default:
		return CodeInvalidProof
	}
}
