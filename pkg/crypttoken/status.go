package crypttoken

import (
	"errors"
	"fmt"

	"github.com/sealedtoken/issuer/pkg/statuslist"
)

// StatusSource supplies the Token Status Lists (draft-ietf-oauth-status-list)
// that an Opener made WithStatus checks access tokens against. The §9 network
// client, pkg/crypttoken/remote, is one; it keeps the lists current in the
// background.
//
// Implementations must be safe for concurrent use; both methods are called
// on the request path.
type StatusSource interface {
	// StatusLists returns the lists known now. It is called on every Open
	// and must cost no more than an atomic load of an immutable snapshot:
	// no lock, no I/O, no allocation. nil holds no list.
	StatusLists() *statuslist.Lists
	// Missing reports that a token referenced the list at uri, which the
	// current snapshot lacks. It must return at once, start at most one
	// background fetch of uri however often it is called (it is called for
	// every such token), and never fetch a URI it has no reason to trust
	// (a token sealed by any holder of the audience key can name any URI).
	// uri views the token's decrypted buffer: an implementation that keeps
	// it should copy it (strings.Clone).
	Missing(uri string)
}

// StatusPolicy decides the tokens whose status an Opener made WithStatus
// cannot look up. Its zero value is the default: a token whose list is not
// known yet is refused, a token without a status is accepted.
type StatusPolicy struct {
	// AcceptUnknown accepts a token whose status list the source does not
	// hold yet (it has just been asked to fetch it), instead of refusing
	// it with ErrStatusUnknown. A list is unknown for the moment between
	// an issuer replica's first use of a new list and the source's fetch
	// of it, and while the issuer is unreachable from a resource server
	// that has no cached copy. Accepting then trades revocation for
	// availability: a token revoked in that list passes until the list
	// arrives.
	AcceptUnknown bool
	// RequireStatus refuses a token that carries no "status" claim, with
	// ErrNoStatus, instead of accepting it. Such a token cannot be revoked
	// through a list. This issuer puts a status in every access token once
	// status lists are enabled, except while its store is unreachable when
	// a replica must open a new list (client_credentials tokens are then
	// issued without one rather than refused) and before the feature was
	// on; refusing them by default would turn a store outage at the issuer
	// into refusals at every resource server. Refusing them buys no
	// defence against another holder of the audience key, who could as
	// well name a status entry that is never revoked: only signed access
	// tokens (WithSignedTokens) stop forgeries.
	RequireStatus bool
}

// WithStatus makes an Opener check every token's status in the Token Status
// Lists of src (draft-ietf-oauth-status-list §8.3), after every other check
// has passed: a token whose status is not VALID is ErrRevoked; a token
// whose list src does not hold is reported to src.Missing and then refused
// with ErrStatusUnknown or accepted, as p says; a token without a "status"
// claim is accepted, or refused with ErrNoStatus, as p says.
//
// The check costs a map lookup by the list's URI and a bit test on an
// immutable snapshot: no allocation, no lock, never a network call. Opener
// only.
func WithStatus(src StatusSource, p StatusPolicy) Option {
	return optionFunc(func(o *options) error {
		if src == nil {
			return fmt.Errorf("%w: nil status source", ErrConfig)
		}
		o.status, o.statusPolicy = src, p
		o.markOpenerOnly("WithStatus")
		return nil
	})
}

// checkStatus applies the status check of WithStatus to c.
func (o *Opener) checkStatus(c *Claims) error {
	ref := c.Status
	if ref.URI == "" {
		if o.statusPolicy.RequireStatus {
			return ErrNoStatus
		}
		return nil
	}
	st, err := o.status.StatusLists().Status(statuslist.Reference{Index: ref.Index, URI: ref.URI})
	switch {
	case err == nil && st == statuslist.Valid:
		return nil
	case err == nil:
		return revoked(st)
	case errors.Is(err, statuslist.ErrUnknownList):
		o.status.Missing(ref.URI)
		if o.statusPolicy.AcceptUnknown {
			return nil
		}
		return ErrStatusUnknown
	default: // statuslist.ErrIndex: draft §8.3 step 6 requires refusing
		return fmt.Errorf("%w: index %d lies beyond its status list", ErrRevoked, ref.Index)
	}
}

// revoked is the ErrRevoked of a token whose status is st.
func revoked(st statuslist.Status) error {
	switch st {
	case statuslist.Invalid:
		return ErrRevoked
	case statuslist.Suspended:
		return fmt.Errorf("%w: suspended", ErrRevoked)
	default:
		return fmt.Errorf("%w: status 0x%02x", ErrRevoked, uint8(st))
	}
}
