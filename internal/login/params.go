package login

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// Names of the form fields the pages add to the authorization parameters
// they post back to the authorization endpoint. "username" and "password"
// keep their usual names so that password managers recognize the form;
// everything else starts with "login_", a prefix no OAuth specification
// uses. The endpoint ignores them all (RFC 6749 §3.1: unknown parameters
// are ignored).
const (
	fieldUsername = "username"
	fieldPassword = "password"
	fieldCSRF     = "login_csrf"
	fieldTicket   = "login_ticket"
	fieldAction   = "login_action"
	// fieldScope is the prefix of the consent checkboxes: one field per
	// requested scope, login_scope_<index in AuthorizeRequest.Scopes>, since
	// a name sent twice would make the request invalid (RFC 6749 §3.1).
	fieldScope = "login_scope_"
	// reservedPrefix marks every field of ours.
	reservedPrefix = "login_"
)

// Values of fieldAction.
const (
	actionAllow = "allow"
	actionDeny  = "deny"
)

// reserved reports whether name is a field of the login or consent form
// rather than an authorization parameter. Reserved names in an
// authorization request are neither copied into the forms nor hashed, so
// a request that smuggles in "password" cannot get it echoed.
func reserved(name string) bool {
	return name == fieldUsername || name == fieldPassword || strings.HasPrefix(name, reservedPrefix)
}

// paramsLabel separates the parameter hash from other SHA-256 uses.
const paramsLabel = "sealedtoken login params v1\x00"

// paramsHash is SHA-256 over the authorization parameters, reserved ones
// left out, sorted by name (names are unique: the endpoint refuses repeats),
// each name and value with a 4-byte length. It binds CSRF tokens and login
// tickets to one authorization request: same client, redirect URI, state,
// scope, PKCE challenge and every other parameter, whatever their order
// and whether they came in a query (GET) or as hidden fields (POST).
func paramsHash(p endpoint.Params) [32]byte {
	type kv struct{ k, v string }
	list := make([]kv, 0, p.Len())
	p.Each(func(name, value string) {
		if !reserved(name) {
			list = append(list, kv{name, value})
		}
	})
	slices.SortFunc(list, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	h := sha256.New()
	h.Write([]byte(paramsLabel))
	var n [4]byte
	for _, e := range list {
		binary.BigEndian.PutUint32(n[:], uint32(len(e.k)))
		h.Write(n[:])
		h.Write([]byte(e.k))
		binary.BigEndian.PutUint32(n[:], uint32(len(e.v)))
		h.Write(n[:])
		h.Write([]byte(e.v))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// hiddenField is one authorization parameter carried through a form.
type hiddenField struct{ Name, Value string }

// hiddenFields returns the authorization parameters, in the order sent,
// without reserved ones (never the password of a login form posted back).
func hiddenFields(p endpoint.Params) []hiddenField {
	out := make([]hiddenField, 0, p.Len())
	p.Each(func(name, value string) {
		if !reserved(name) {
			out = append(out, hiddenField{name, value})
		}
	})
	return out
}

// trusted reports whether addr is in one of prefixes.
func trusted(prefixes []netip.Prefix, addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// validProxyUser reports whether a trusted header's value can be a user id:
// 1 to MaxUsernameLen bytes of printable ASCII or UTF-8 without control
// characters.
func validProxyUser(v string) bool {
	if v == "" || len(v) > MaxUsernameLen {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}
