package crypttoken

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Type is a token's JWE "typ" header value. It separates the token kinds so
// that one kind can never be accepted as another.
type Type string

const (
	// TypeAccess is an access token (RFC 9068 §2.1).
	TypeAccess Type = "at+jwt"
	// TypeRefresh is a refresh token; only the issuer opens it.
	TypeRefresh Type = "rt+jwt"
	// TypeCode is an authorization code; only the issuer opens it.
	TypeCode Type = "code+jwt"
)

// Valid reports whether t is one of the three token types.
func (t Type) Valid() bool { return t == TypeAccess || t == TypeRefresh || t == TypeCode }

// Claims are the contents of a token. The names follow RFC 9068 §2.2 and
// RFC 7519 §4.1; the refresh-token and code fields are the issuer's own.
//
// Times are whole seconds (NumericDate); a zero time.Time is an absent claim.
// Claims returned by Opener.Open are owned by the caller.
type Claims struct {
	Issuer    string    // "iss"
	Subject   string    // "sub": the user id, or the client id for client_credentials
	Audience  []string  // "aud": written as a string when it holds one value
	Expiry    time.Time // "exp"
	NotBefore time.Time // "nbf"
	IssuedAt  time.Time // "iat"
	ID        string    // "jti"
	ClientID  string    // "client_id"
	Scope     string    // "scope": space-separated (RFC 6749 §3.3)
	AuthTime  time.Time // "auth_time": when the user logged in

	// FamilyID ("fid") names the refresh-token family a token belongs to;
	// a code carries the family its exchange will start.
	FamilyID string
	// Generation ("gen") is a refresh token's position in its family.
	Generation uint64
	// Resource ("resource") is the audience, chosen by the RFC 8707
	// resource parameter, of the access tokens a code or refresh token yields.
	Resource string
	// RedirectURI ("redirect_uri") is the redirect URI a code was issued to.
	RedirectURI string
	// CodeChallenge ("code_challenge") and CodeChallengeMethod
	// ("code_challenge_method") are a code's PKCE parameters (RFC 7636 §4.3).
	CodeChallenge       string
	CodeChallengeMethod string

	// Extra holds any other claims as raw JSON values, keyed by name. Names
	// of the claims above are not allowed here.
	Extra map[string]json.RawMessage

	// audBuf backs Audience for the common single-audience token, so that
	// opening one costs no separate allocation.
	audBuf [1]string
}

// Claim names, in the order Seal writes them.
const (
	claimIss        = "iss"
	claimSub        = "sub"
	claimAud        = "aud"
	claimExp        = "exp"
	claimNbf        = "nbf"
	claimIat        = "iat"
	claimJti        = "jti"
	claimClientID   = "client_id"
	claimScope      = "scope"
	claimAuthTime   = "auth_time"
	claimFid        = "fid"
	claimGen        = "gen"
	claimResource   = "resource"
	claimRedirect   = "redirect_uri"
	claimChallenge  = "code_challenge"
	claimChalMethod = "code_challenge_method"
)

// registered reports whether name is one of the claims with a Claims field.
func registered(name string) bool {
	switch name {
	case claimIss, claimSub, claimAud, claimExp, claimNbf, claimIat, claimJti,
		claimClientID, claimScope, claimAuthTime, claimFid, claimGen,
		claimResource, claimRedirect, claimChallenge, claimChalMethod:
		return true
	}
	return false
}

// HasAudience reports whether aud is one of the token's audiences.
func (c *Claims) HasAudience(aud string) bool { return slices.Contains(c.Audience, aud) }

// Scopes returns the scope claim split into its scope tokens.
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// HasScope reports whether the scope claim holds scope. Scope tokens are
// case-sensitive (RFC 6749 §3.3).
func (c *Claims) HasScope(scope string) bool {
	if scope == "" {
		return false
	}
	s := c.Scope
	for len(s) > 0 {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return s == scope
		}
		if s[:i] == scope {
			return true
		}
		s = s[i+1:]
	}
	return false
}

// reset clears c for reuse.
func (c *Claims) reset() { *c = Claims{} }
