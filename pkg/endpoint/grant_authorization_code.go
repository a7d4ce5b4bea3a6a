package endpoint

import (
	"context"
	"errors"
	"slices"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/store"
)

// authorizationCode validates an authorization code grant (RFC 6749 §4.1.3,
// RFC 7636 §4.6) and redeems the code, once.
//
// A code is a sealed token (typ code+jwt) of the internal ring: it names the
// client, the user, the scope, the redirect URI it was issued to (when the
// authorization request included one), the PKCE challenge, the audience and
// the refresh family its exchange starts. Redeeming it records its jti in
// the store; a second redemption is refused and revokes that family, and so
// the tokens issued from the first (RFC 6749 §4.1.2).
func (s *Server) authorizationCode(ctx context.Context, tr *TokenRequest) *Error {
	if e := requireGrant(tr); e != nil {
		return e
	}
	p := &tr.Params
	raw := p.Get("code")
	if raw == "" {
		return NewError(InvalidRequest, "missing code")
	}
	code, err := s.codes.Open(raw)
	if err != nil {
		return NewError(InvalidGrant, "the authorization code is invalid or expired").withCause(err)
	}
	if code.ClientID != tr.Client.ID {
		return NewError(InvalidGrant, "the authorization code was issued to another client")
	}
	// RFC 6749 §4.1.3: redirect_uri must be present and identical when the
	// authorization request included it.
	redirect := p.Get("redirect_uri")
	switch {
	case code.RedirectURI != "" && redirect != code.RedirectURI:
		return NewError(InvalidGrant, "redirect_uri does not match the authorization request")
	case code.RedirectURI == "" && redirect != "" && !slices.Contains(tr.Client.RedirectURIs, redirect):
		return NewError(InvalidGrant, "redirect_uri does not match the authorization request")
	}
	verifier := p.Get("code_verifier")
	switch {
	case code.CodeChallenge != "" && code.CodeChallengeMethod == PKCEPlain && !tr.Client.AllowPKCEPlain:
		// The client lost the right to plain since the code was issued.
		return NewError(InvalidGrant, "the plain PKCE method is not allowed for this client (RFC 9700 §2.1.1)")
	case code.CodeChallenge != "":
		if verifier == "" {
			return NewError(InvalidGrant, "missing code_verifier (RFC 7636 §4.5)")
		}
		if !verifyPKCE(code.CodeChallengeMethod, code.CodeChallenge, verifier) {
			return NewError(InvalidGrant, "code_verifier does not match the code_challenge (RFC 7636 §4.6)")
		}
	case verifier != "":
		// RFC 9700 §2.1.1: a verifier without a challenge is a downgrade.
		return NewError(InvalidGrant, "code_verifier sent but the authorization request had no code_challenge")
	case tr.Client.Public:
		return NewError(InvalidGrant, "a public client must use PKCE (RFC 7636)")
	}
	aud, e := s.chooseAudience(tr.Client, "", code.Resource)
	if e != nil {
		return e
	}
	if resource := p.Get("resource"); resource != "" && resource != aud {
		return Errorf(InvalidTarget, "resource %q differs from the one authorized (RFC 8707 §2.2)", safeName(resource))
	}
	// Redeeming is the last step, once the tokens are sealed (Token), so
	// that a hook's refusal or a sealing failure does not spend the code.
	codeID, redeemUntil, fid := code.ID, code.Expiry.Add(s.leeway), code.FamilyID
	tr.commit = func(ctx context.Context) *Error {
		err := s.store.RedeemCode(ctx, codeID, redeemUntil)
		if err == nil {
			return nil
		}
		if errors.Is(err, store.ErrCodeReused) {
			if fid != "" {
				// Every token of the family expires by now+refreshTTL
				// (+leeway for the replicas that still accept it).
				if rerr := s.store.RevokeFamily(store.Priority(ctx), fid, tr.now.Add(s.refreshTTL+s.leeway)); rerr != nil {
					return AsError(rerr)
				}
			}
			return NewError(InvalidGrant, "the authorization code was already used; tokens issued from it are revoked").withCause(err)
		}
		return AsError(err)
	}
	tr.Scopes = code.Scopes()
	tr.Audience, tr.Subject, tr.AuthTime = aud, code.Subject, code.AuthTime
	// The access token carries the family even without a refresh token, so
	// that a replay of the code revokes it too (RFC 6749 §4.1.2).
	tr.familyID = code.FamilyID
	tr.refresh = tr.Client.AllowsGrant(GrantRefreshToken)
	return nil
}

// codeFamily returns a fresh refresh family id for a code.
func codeFamily() (string, error) { return crypttoken.NewID() }
