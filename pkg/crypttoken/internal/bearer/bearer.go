package bearer

import (
	"errors"
	"strings"

	"github.com/sealedtoken/issuer/internal/authheader"
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
	statusBadRequest         = 400
	statusUnauthorized       = 401
	statusForbidden          = 403
	statusServiceUnavailable = 503
)

// Error codes of RFC 6750 §3.1.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
	// CodeUnavailable answers a token whose revocation status cannot be
	// checked yet (crypttoken.ErrStatusUnknown): RFC 6749 §4.1.2.1's
	// temporarily_unavailable, with a 503 and Retry-After.
	CodeUnavailable = "temporarily_unavailable"
)

// StatusRetryAfter is the Retry-After, in seconds, of the 503 answering a
// token whose status list is being fetched: one poll of a resource server
// that learns a list on first sight takes well under a second.
const StatusRetryAfter = 1

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
	_, tok, err := authheader.Credentials(values, SchemeBearer)
	return tok, refusal(err)
}

// refusal turns an error of authheader.Credentials into this package's.
func refusal(err error) error {
	switch err {
	case nil:
		return nil
	case authheader.ErrAbsent:
		return ErrNoToken
	default:
		return ErrBadRequest
	}
}

// Refusal is an answer to a request that may not pass: a status and the
// parts of its challenge (RFC 6750 §3).
type Refusal struct {
	Status      int
	Code        string // "" when the request had no token (§3.1)
	Description string
	Scope       string // required scopes, for insufficient_scope
	// RetryAfter, when positive, is the Retry-After of a 503 that says
	// the request may succeed later; no challenge is sent with it.
	RetryAfter int
	// Scheme is the scheme of the challenge that carries the error:
	// "" for Bearer (RFC 6750 §3), SchemeDPoP for a DPoP-bound token or a
	// request that used the DPoP scheme (RFC 9449 §7.1).
	Scheme string
	// Nonce, when set, is sent in the DPoP-Nonce header (RFC 9449 §9).
	Nonce string
	// Err is what the error hook is told: ErrNoToken, ErrBadRequest,
	// ErrInsufficientScope, ErrBoundAsBearer, ErrNotBound, an error of
	// pkg/dpop or pkg/certbind, or the error of crypttoken.Opener.Open.
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
	case errors.Is(err, crypttoken.ErrRevoked):
		r.Description = "the access token was revoked"
	case errors.Is(err, crypttoken.ErrStatusUnknown):
		// Not a verdict on the token: its status list is being fetched.
		r.Status, r.Code, r.RetryAfter = statusServiceUnavailable, CodeUnavailable, StatusRetryAfter
		r.Description = "the revocation status of the access token cannot be checked yet; retry shortly"
	case errors.Is(err, crypttoken.ErrNoStatus):
		r.Description = "the access token carries no revocation status"
	case errors.Is(err, crypttoken.ErrSignature):
		r.Description = "the access token is not signed by the issuer"
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

// Challenged reports whether the answer carries a WWW-Authenticate
// challenge: every refusal but a 503, which is about the resource server
// and not the credentials.
func (r Refusal) Challenged() bool { return r.RetryAfter == 0 }

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

// Challenges returns the WWW-Authenticate field values of the refusal,
// one per field: the Bearer challenge of Challenge, or the DPoP challenge
// (RFC 9449 §7.1) when the refusal's Scheme is DPoP,
//
//	DPoP realm="api", algs="ES256 EdDSA PS256 RS256", error="invalid_dpop_proof", error_description="..."
//
// and, for a request that had no token at all, both, so that a client
// learns it may use either scheme (RFC 9449 §7.1, RFC 9110 §11.6.1). algs
// is the space-separated list of the DPoP algorithms accepted.
func (r Refusal) Challenges(realm, algs string) []string {
	if r.Scheme != SchemeDPoP {
		if r.Code != "" {
			return []string{r.Challenge(realm)}
		}
		return []string{r.Challenge(realm), Refusal{Scheme: SchemeDPoP}.dpopChallenge(realm, algs)}
	}
	return []string{r.dpopChallenge(realm, algs)}
}

func (r Refusal) dpopChallenge(realm, algs string) string {
	var b strings.Builder
	b.WriteString(SchemeDPoP)
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
	attr("algs", algs)
	attr("error", r.Code)
	attr("error_description", r.Description)
	return b.String()
}

// descriptionReplacer makes a description of pkg/dpop fit RFC 6750 §3's
// error_description characters (%x20-21 / %x23-5B / %x5D-7E).
var descriptionReplacer = strings.NewReplacer("§", "section ", `"`, "'", `\`, "/")

// cleanDescription is s with only the characters error_description allows.
func cleanDescription(s string) string {
	s = descriptionReplacer.Replace(s)
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			b[i] = '?'
		}
	}
	return string(b)
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
