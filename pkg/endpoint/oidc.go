package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// ScopeOpenID is the scope that makes an authorization request an OpenID
// Connect request (OpenID Connect Core 1.0 §3.1.2.1): the code exchange
// then returns an ID token, and the access token may be used at the
// UserInfo endpoint.
const ScopeOpenID = "openid"

// UserClaims are a user's standard claims (OpenID Connect Core 1.0 §5.1),
// keyed by claim name, each a JSON value: "name", "email",
// "email_verified", "address" (an object, §5.1.1), ... The "sub" claim is
// never taken from here: it is the user id. Values must be valid JSON.
type UserClaims map[string]json.RawMessage

// ErrUnknownUser is returned by a UserClaimsSource for a subject that is no
// longer a user: the UserInfo endpoint then answers invalid_token.
var ErrUnknownUser = errors.New("endpoint: unknown user")

// UserClaimsSource returns the standard claims of the user whose id
// ("sub") is subject, for ID tokens and the UserInfo endpoint. A user
// with no claims (one a trusted proxy vouches for, say) is nil with no
// error; a subject that no longer exists is an error wrapping
// ErrUnknownUser. It must be safe for concurrent use; the map returned is
// only read.
type UserClaimsSource interface {
	UserClaims(ctx context.Context, subject string) (UserClaims, error)
}

// scopeClaims maps the scopes of OpenID Connect Core 1.0 §5.4 to the
// standard claims (§5.1) they grant.
var scopeClaims = map[string][]string{
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	"email":   {"email", "email_verified"},
	"address": {"address"},
	"phone":   {"phone_number", "phone_number_verified"},
}

// StandardClaims lists the standard claims of OpenID Connect Core 1.0
// §5.1 that the scopes of §5.4 grant, in the order of §5.1, "sub" first:
// the claims_supported of the discovery document.
var StandardClaims = []string{"sub",
	"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
	"profile", "picture", "website", "email", "email_verified", "gender", "birthdate",
	"zoneinfo", "locale", "phone_number", "phone_number_verified", "address", "updated_at"}

// claimScope is scopeClaims reversed: the scope that grants each claim.
var claimScope = func() map[string]string {
	m := map[string]string{}
	for scope, names := range scopeClaims {
		for _, n := range names {
			m[n] = scope
		}
	}
	return m
}()

// ScopeForClaim returns the scope of OpenID Connect Core 1.0 §5.4 that
// grants the standard claim name, or "" if none does ("sub", or a name
// that is not a standard claim).
func ScopeForClaim(name string) string { return claimScope[name] }

// grantedClaims appends to dst the members of claims that the scopes grant
// (Core §5.4), as `,"name":value` in the order of StandardClaims.
func grantedClaims(dst []byte, claims UserClaims, scopes []string) []byte {
	if len(claims) == 0 {
		return dst
	}
	for _, name := range StandardClaims[1:] {
		v, ok := claims[name]
		if !ok || !slices.Contains(scopes, ScopeForClaim(name)) {
			continue
		}
		dst = append(dst, ',', '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
		dst = appendCompactJSON(dst, v)
	}
	return dst
}

// OpenID configures the OpenID Provider (OpenID Connect Core 1.0,
// Discovery 1.0, RP-Initiated Logout 1.0) that WithOpenID adds to a
// Server.
type OpenID struct {
	// Signing is the signing ring (keys.SigningRing): its active key signs
	// ID tokens, and its keys, published at Paths.JWKS, verify the
	// id_token_hint of authorization and logout requests. Required.
	Signing *keys.Ring
	// Claims returns the users' standard claims. Nil: ID tokens and the
	// UserInfo endpoint carry "sub" and nothing else about the user.
	Claims UserClaimsSource
}

// openID is a Server's OpenID Provider state.
type openID struct {
	signing *keys.Ring
	claims  UserClaimsSource
}

// WithOpenID makes the Server an OpenID Provider (SPEC §11): the openid
// scope yields an ID token signed with o.Signing at the code exchange and
// on refresh (Core §3.1.3.3, §12.2), the authorization endpoint reads the
// OpenID request parameters (nonce, prompt, max_age, id_token_hint, ...),
// and the UserInfo (Server.UserInfo), end-session (Server.HandleEndSession)
// and discovery (Server.OpenIDConfiguration) endpoints answer. The paths
// come from Paths (UserInfo, EndSession, JWKS).
//
// Without it, "openid" is a scope like any other and the OpenID endpoints
// answer 404.
func WithOpenID(o OpenID) Option {
	return optionFunc(func(s *Server) error {
		if o.Signing == nil {
			return fmt.Errorf("endpoint: WithOpenID needs the signing ring")
		}
		if set := o.Signing.Load(); set == nil || !set.Signing() {
			return fmt.Errorf("endpoint: WithOpenID: ring %q holds no signing keys", o.Signing.Name())
		}
		s.oidc = &openID{signing: o.Signing, claims: o.Claims}
		return nil
	})
}

// OpenIDEnabled reports whether the Server is an OpenID Provider
// (WithOpenID).
func (s *Server) OpenIDEnabled() bool { return s.oidc != nil }

// userClaims returns the standard claims of subject, or an error.
func (s *Server) userClaims(ctx context.Context, subject string) (UserClaims, error) {
	if s.oidc == nil || s.oidc.claims == nil {
		return nil, nil
	}
	return s.oidc.claims.UserClaims(ctx, subject)
}

// idTokenLifetime is the lifetime of ID tokens: the access token's (SPEC
// §3), so that the signing ring's published keys (SignedLifetime in
// internal/server) outlive every ID token they signed.
func (s *Server) idTokenLifetime() time.Duration { return s.accessTTL }
