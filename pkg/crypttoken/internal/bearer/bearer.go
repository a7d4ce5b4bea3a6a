package bearer

import (
	"errors"
	"strings"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// Refusals that are not crypttoken errors, as reported to error hooks.
var (
	// ErrNoToken means the request carries no bearer token (no
	// Authorization field, or one with another scheme).
	ErrNoToken = errors.New("bearer: no bearer token in the request")
	// ErrBadRequest means the request's credentials are malformed: several
	// Authorization fields, a bearer credential that is not one b64token,
	// or a token in the URI query.
	ErrBadRequest = errors.New("bearer: malformed bearer credentials")
	// ErrInsufficientScope means the token lacks a required scope.
	ErrInsufficientScope = errors.New("bearer: insufficient scope")
)

// HTTP status codes, spelled out so that the fasthttp middleware does not
// pull in net/http.
const (
	statusBadRequest   = 400
	statusUnauthorized = 401
	statusForbidden    = 403
)

// Error codes of RFC 6750 §3.1.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
)

// QueryParam is the URI query parameter of RFC 6750 §2.3, which the
// middlewares refuse: URIs end up in logs and Referer headers (§5.3).
const QueryParam = "access_token"

// Token reads the bearer token from the values of the Authorization header
// fields of a request (RFC 6750 §2.1):
//
//	credentials = "Bearer" 1*SP b64token
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// The scheme is case-insensitive (RFC 7235 §2.1). With no field, or one of
// another scheme, the error is ErrNoToken; with several fields or a
// malformed bearer credential, ErrBadRequest. The token is a substring of
// the value and is never copied.
func Token(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", ErrNoToken
	case 1:
	default:
		return "", ErrBadRequest // RFC 7230 §3.2.2: Authorization is not a list
	}
	v := values[0]
	const scheme = "Bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", ErrNoToken
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", ErrBadRequest // "Bearer" alone
	}
	if rest[0] != ' ' {
		return "", ErrNoToken // another scheme, such as "Bearerish"
	}
	rest = strings.TrimLeft(rest, " ")
	if !b64token(rest) {
		return "", ErrBadRequest
	}
	return rest, nil
}

// b64token reports whether s is a b64token (RFC 6750 §2.1).
func b64token(s string) bool {
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

// Refusal is an answer to a request that may not pass: a status and the
// parts of its challenge (RFC 6750 §3).
type Refusal struct {
	Status      int
	Code        string // "" when the request had no token (§3.1)
	Description string
	Scope       string // required scopes, for insufficient_scope
	// Err is what the error hook is told: ErrNoToken, ErrBadRequest,
	// ErrInsufficientScope or the error of crypttoken.Opener.Open.
	Err error
}

// For returns the refusal for an error of Token or crypttoken.Opener.Open.
// Descriptions are fixed texts: they never echo the token or the detail of
// the error (a kid, a claim).
func For(err error) Refusal {
	r := Refusal{Status: statusUnauthorized, Code: CodeInvalidToken, Err: err}
	switch {
	case errors.Is(err, ErrNoToken):
		r.Code = ""
	case errors.Is(err, ErrBadRequest):
		r.Status, r.Code, r.Description = statusBadRequest, CodeInvalidRequest, "malformed bearer credentials"
	case errors.Is(err, crypttoken.ErrExpired):
		r.Description = "the access token expired"
	case errors.Is(err, crypttoken.ErrNotYetValid), errors.Is(err, crypttoken.ErrIssuedInFuture):
		r.Description = "the access token is not valid yet"
	case errors.Is(err, crypttoken.ErrUnknownKey):
		// The header names no audience: a token for another resource
		// server and one sealed with a key this one has not loaded yet
		// look alike (see crypttoken's ErrUnknownKey detail).
		r.Description = "the access token is not sealed with a key of this resource server: it is for another audience, or its key is not loaded yet"
	case errors.Is(err, crypttoken.ErrAudience):
		r.Description = "the access token is for another audience"
	case errors.Is(err, crypttoken.ErrIssuer):
		r.Description = "the access token is from another issuer"
	default:
		r.Description = "the access token is invalid"
	}
	return r
}

// InQuery is the refusal of a token sent in the URI query.
func InQuery() Refusal {
	return Refusal{
		Status: statusBadRequest, Code: CodeInvalidRequest,
		Description: "bearer tokens are accepted in the Authorization header only", Err: ErrBadRequest,
	}
}

// Insufficient is the refusal of a token that lacks one of scopes
// (RFC 6750 §3.1: 403 with the scope the resource requires).
func Insufficient(scopes []string) Refusal {
	return Refusal{
		Status: statusForbidden, Code: CodeInsufficientScope,
		Description: "the access token lacks a required scope",
		Scope:       strings.Join(scopes, " "), Err: ErrInsufficientScope,
	}
}

// Challenge returns the WWW-Authenticate field value (RFC 6750 §3):
//
//	Bearer realm="api", error="invalid_token", error_description="..."
//
// Realm, description and scope never need escaping: ValidRealm and
// ValidScope vet them, and descriptions are this package's own.
func (r Refusal) Challenge(realm string) string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	attr := func(name, value string) {
		if value == "" {
			return
		}
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(value)
		b.WriteByte('"')
		sep = ", "
	}
	attr("realm", realm)
	attr("error", r.Code)
	attr("error_description", r.Description)
	attr("scope", r.Scope)
	return b.String()
}

// Body returns the JSON response body, or nil when the request had no
// token: {"error":"...","error_description":"..."}.
func (r Refusal) Body() []byte {
	if r.Code == "" {
		return nil
	}
	s := `{"error":"` + r.Code + `","error_description":"` + r.Description + `"`
	if r.Scope != "" {
		s += `,"scope":"` + r.Scope + `"`
	}
	return []byte(s + "}\n")
}

// ValidRealm reports whether realm can be sent as a quoted-string without
// escaping: printable ASCII other than '"' and '\'.
func ValidRealm(realm string) bool {
	for i := 0; i < len(realm); i++ {
		if c := realm[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ValidScope reports whether s is a scope-token (RFC 6749 §3.3):
// 1*( %x21 / %x23-5B / %x5D-7E ).
func ValidScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// HasAll reports whether c holds every scope of scopes.
func HasAll(c *crypttoken.Claims, scopes []string) bool {
	for _, s := range scopes {
		if !c.HasScope(s) {
			return false
		}
	}
	return true
}
