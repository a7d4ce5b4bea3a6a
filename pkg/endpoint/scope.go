package endpoint

import (
	"slices"
	"strings"
)

// validScopeToken reports whether s is a scope-token of RFC 6749 §3.3:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != 0x21 && (c < 0x23 || c > 0x5b) && (c < 0x5d || c > 0x7e) {
			return false
		}
	}
	return true
}

// ParseScope splits a scope parameter into its scope tokens (RFC 6749
// §3.3): space-delimited, case-sensitive, order-free, each a valid
// scope-token. Duplicates are dropped. It returns invalid_scope for a
// malformed value.
func ParseScope(s string) ([]string, *Error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > 4096 {
		return nil, NewError(InvalidScope, "scope too long")
	}
	out := make([]string, 0, strings.Count(s, " ")+1) // one allocation
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			// RFC 6749 §3.3 delimits by single spaces; tolerate repeats.
			continue
		}
		if !validScopeToken(tok) {
			return nil, NewError(InvalidScope, "scope holds a character outside RFC 6749 §3.3 scope-token syntax")
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	if len(out) == 0 {
		return nil, NewError(InvalidScope, "scope is empty")
	}
	return out, nil
}

// grantScope decides the scope to grant a client for a requested scope
// string (RFC 6749 §3.3): an omitted scope gets the client's defaults (or
// fails invalid_scope when it has none); a requested scope must be a subset
// of the client's scopes, and of ceiling when ceiling is non-nil (a refresh
// token's original grant, RFC 6749 §6).
func grantScope(c *Client, requested string, ceiling []string) ([]string, *Error) {
	req, e := ParseScope(requested)
	if e != nil {
		return nil, e
	}
	if req == nil {
		switch {
		case ceiling != nil:
			return keepAllowed(c, ceiling)
		case len(c.DefaultScopes) > 0:
			return c.DefaultScopes, nil
		default:
			return nil, NewError(InvalidScope, "scope omitted and the client has no default scope")
		}
	}
	for _, sc := range req {
		if !slices.Contains(c.Scopes, sc) {
			return nil, Errorf(InvalidScope, "scope %q is not allowed for this client", sc)
		}
		if ceiling != nil && !slices.Contains(ceiling, sc) {
			return nil, Errorf(InvalidScope, "scope %q exceeds the scope originally granted (RFC 6749 §6)", sc)
		}
	}
	return req, nil
}

// keepAllowed returns the scopes of an earlier grant that the client may
// still be granted: a scope removed from the client's registration since is
// not granted again on refresh (RFC 6749 §6: the new scope must not exceed
// what the client may have). It fails invalid_scope when none is left.
func keepAllowed(c *Client, scopes []string) ([]string, *Error) {
	n := 0
	for _, sc := range scopes {
		if slices.Contains(c.Scopes, sc) {
			n++
		}
	}
	switch {
	case n == len(scopes):
		return scopes, nil
	case n == 0:
		return nil, NewError(InvalidScope, "the client may no longer be granted any scope of the original grant")
	}
	kept := make([]string, 0, n)
	for _, sc := range scopes {
		if slices.Contains(c.Scopes, sc) {
			kept = append(kept, sc)
		}
	}
	return kept, nil
}
