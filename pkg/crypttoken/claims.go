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

// numTypes is the number of token types; types lists them by index.
const numTypes = 3

var types = [numTypes]Type{TypeAccess, TypeRefresh, TypeCode}

// Valid reports whether t is one of the three token types.
func (t Type) Valid() bool { return t.index() >= 0 }

// index returns t's position in types, or -1.
func (t Type) index() int {
	switch t {
	case TypeAccess:
		return 0
	case TypeRefresh:
		return 1
	case TypeCode:
		return 2
	}
	return -1
}

// Claims are the contents of a token. The names follow RFC 9068 §2.2 and
// RFC 7519 §4.1; the refresh-token and code fields are the issuer's own.
//
// Times are whole seconds (NumericDate, RFC 7519 §2), between the years 1
// and 9999; a zero time.Time is an absent claim. Opened times are in the
// local time zone, as time.Unix makes them: compare them with Time.Equal.
//
// Claims returned by Opener.Open belong to the caller. Their strings share
// the token's decrypted buffer instead of being copied one by one; Go
// strings are immutable and nothing else refers to that buffer, so they are
// safe to keep, share between goroutines and outlive the token. Each Extra
// value is a copy of its own.
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

	// Status ("status") places the token in a Token Status List
	// (draft-ietf-oauth-status-list §6.1): its bit at Status.Index of the
	// list published at Status.URI tells whether the token was revoked.
	// It is absent when Status.URI is empty.
	Status StatusRef
	// Confirmation ("cnf", RFC 7800 §3.1) binds the token to a key the
	// presenter must prove it holds: a DPoP key (RFC 9449 §6.1) or a
	// client certificate (RFC 8705 §3.1). It is absent when both of its
	// members are empty.
	Confirmation Confirmation

	// Extra holds any other claims as raw JSON values, keyed by name. Names
	// of the claims above are not allowed here.
	Extra map[string]json.RawMessage

	// audBuf backs Audience for the common single-audience token, so that
	// opening one costs no separate allocation. Only Open sets it, on a
	// Claims it has just allocated and never touches again.
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
	claimStatus     = "status"
	claimCnf        = "cnf"
)

// registered reports whether name is one of the claims with a Claims field.
func registered(name string) bool {
	switch name {
	case claimIss, claimSub, claimAud, claimExp, claimNbf, claimIat, claimJti,
		claimClientID, claimScope, claimAuthTime, claimFid, claimGen,
		claimResource, claimRedirect, claimChallenge, claimChalMethod,
		claimStatus, claimCnf:
		return true
	}
	return false
}

// StatusRef is a referenced token's entry in a Token Status List
// (draft-ietf-oauth-status-list §6.1), encoded as
// "status":{"status_list":{"idx":Index,"uri":URI}}.
type StatusRef struct {
	// Index ("idx") is the token's index in the list.
	Index uint64
	// URI ("uri") is where the list's Status List Token is published.
	URI string
}

// IsZero reports whether r names no list: the token carries no status.
func (r StatusRef) IsZero() bool { return r.URI == "" }

// Confirmation is the "cnf" claim (RFC 7800 §3.1) with the confirmation
// methods this issuer binds tokens with. A token whose "cnf" holds any
// other member does not open (ErrMalformed): a binding that cannot be
// checked must fail, never fall back to a bearer token.
type Confirmation struct {
	// JKT ("jkt") is the base64url RFC 7638 SHA-256 thumbprint of the DPoP
	// public key the token is bound to (RFC 9449 §6.1).
	JKT string
	// X5TS256 ("x5t#S256") is the base64url SHA-256 thumbprint of the DER
	// client certificate the token is bound to (RFC 8705 §3.1).
	X5TS256 string
}

// IsZero reports whether c binds to nothing: the token is a bearer token.
func (c Confirmation) IsZero() bool { return c.JKT == "" && c.X5TS256 == "" }

// HasAudience reports whether aud is one of the token's audiences
// (RFC 7519 §4.1.3: compared as case-sensitive strings).
func (c *Claims) HasAudience(aud string) bool { return slices.Contains(c.Audience, aud) }

// Scopes returns the scope claim split into its scope tokens, which are
// separated by spaces (RFC 6749 §3.3).
func (c *Claims) Scopes() []string {
	var out []string
	for s := range strings.SplitSeq(c.Scope, " ") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

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
