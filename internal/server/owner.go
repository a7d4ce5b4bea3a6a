package server

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// MaxUserNameLen bounds the user name TrustedHeader accepts.
const MaxUserNameLen = 256

// TrustedHeader is an endpoint.ResourceOwner that takes the resource owner
// from a request header set by an authenticating reverse proxy (SPEC §5,
// config login.trusted_header), believed only when the request comes
// straight from one of Proxies. It implements the "authenticates the
// resource owner" step of RFC 6749 §4.1.1 by delegation.
//
// The header holds a user name. A name listed in Users is mapped to that
// user's id (the "sub" claim); any other name is used as the subject
// itself, since the proxy vouches for it — unless it equals a client id,
// which a user's subject must never do (RFC 9068 §5), in which case the
// request is refused.
//
// Consent is implied: the proxy's users are sent straight back to the
// client with everything it asked for (within what the client may get).
// Deployments that need a consent screen use the login page instead.
// Requests from other addresses, or without the header, are answered
// access_denied (redirected to the client, RFC 6749 §4.1.2.1).
//
// A TrustedHeader is immutable and safe for concurrent use.
type TrustedHeader struct {
	header    string
	proxies   []netip.Prefix
	users     map[string]string
	clientIDs map[string]bool
	now       func() time.Time
}

// NewTrustedHeader returns a TrustedHeader reading header from requests
// whose peer address is in proxies. users maps user names to user ids;
// clientIDs are the registered client ids. now is the clock of auth_time
// (nil: time.Now).
func NewTrustedHeader(header string, proxies []netip.Prefix, users map[string]string, clientIDs []string, now func() time.Time) (*TrustedHeader, error) {
	if header == "" {
		return nil, errors.New("server: trusted header: empty header name")
	}
	if len(proxies) == 0 {
		return nil, errors.New("server: trusted header: no trusted proxies; the header would be believed from nobody")
	}
	if now == nil {
		now = time.Now
	}
	t := &TrustedHeader{header: header, proxies: slices.Clone(proxies), users: map[string]string{}, clientIDs: map[string]bool{}, now: now}
	for name, id := range users {
		t.users[name] = id
	}
	for _, id := range clientIDs {
		t.clientIDs[id] = true
	}
	return t, nil
}

// Decide implements endpoint.ResourceOwner.
func (t *TrustedHeader) Decide(_ context.Context, r *endpoint.Request, _ *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
	addr := r.RemoteAddr.Unmap()
	if !addr.IsValid() || !slices.ContainsFunc(t.proxies, func(p netip.Prefix) bool { return p.Contains(addr) }) {
		return endpoint.Reject(endpoint.NewError(endpoint.AccessDenied, "the resource owner could not be authenticated")), nil
	}
	var name string
	if r.Header != nil {
		name = r.Header.Get(t.header)
	}
	if !validUserName(name) {
		return endpoint.Reject(endpoint.NewError(endpoint.AccessDenied, "the resource owner could not be authenticated")), nil
	}
	sub, known := t.users[name]
	if !known {
		if t.clientIDs[name] {
			return endpoint.Reject(endpoint.NewError(endpoint.AccessDenied, "the authenticated user name is a client id")), nil
		}
		// Copy: name aliases the request's buffer, and the subject goes
		// into a token that outlives it.
		sub = string([]byte(name))
	}
	return endpoint.Approve(endpoint.Grant{Subject: sub, AuthTime: t.now()}), nil
}

var _ endpoint.ResourceOwner = (*TrustedHeader)(nil)

// validUserName accepts 1 to MaxUserNameLen printable ASCII characters
// other than space.
func validUserName(s string) bool {
	if s == "" || len(s) > MaxUserNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
