package authheader

import (
	"errors"
	"strings"
)

var (
	// ErrAbsent means the request carries no credentials of the schemes
	// asked for: no Authorization field, or one with another scheme.
	ErrAbsent = errors.New("authheader: no credentials of the scheme")
	// ErrRepeated means the request has several Authorization fields: the
	// header is not a list (RFC 9110 §5.3), so which one counts is unclear.
	ErrRepeated = errors.New("authheader: more than one Authorization field")
	// ErrMalformed means the credentials of a scheme asked for are
	// malformed: the scheme with no credential, or a credential that is
	// not one b64token.
	ErrMalformed = errors.New("authheader: malformed credentials")
)

// Credentials reads the token from values, the values of the Authorization
// fields of a request, for the first of schemes that the field's scheme
// matches, case-insensitively (RFC 9110 §11.1). It returns that scheme as
// spelled in schemes and the token, a substring of the value; otherwise
// ErrAbsent, ErrRepeated, or ErrMalformed with the scheme (for the
// challenge, RFC 9449 §7.1) and no token. A scheme followed by anything
// but a space (as "Bearerish") is another scheme.
func Credentials(values []string, schemes ...string) (scheme, token string, err error) {
	switch len(values) {
	case 0:
		return "", "", ErrAbsent
	case 1:
	default:
		return "", "", ErrRepeated
	}
	v := values[0]
	for _, s := range schemes {
		if len(v) < len(s) || !strings.EqualFold(v[:len(s)], s) {
			continue
		}
		rest := v[len(s):]
		if rest == "" {
			return s, "", ErrMalformed // the scheme alone
		}
		if rest[0] != ' ' {
			continue
		}
		rest = strings.TrimLeft(rest, " ")
		if !B64Token(rest) {
			return s, "", ErrMalformed
		}
		return s, rest, nil
	}
	return "", "", ErrAbsent
}

// B64Token reports whether s is one b64token (RFC 6750 §2.1).
func B64Token(s string) bool {
	i := 0
	for i < len(s) {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			i++
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
