package cli

import (
	"strings"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// The dev server's OpenID Connect set-up (SPEC §11).
const (
	// DevOIDCClientID is the dev server's public OpenID Connect client,
	// the one examples/oidc-rp signs users in with.
	DevOIDCClientID = "demo-oidc"
	// DevRPRedirect is the redirect URI of examples/oidc-rp, which listens
	// on DevRPAddr.
	DevRPRedirect = "http://127.0.0.1:5556/callback"
	// DevRPSignedOut is examples/oidc-rp's post-logout redirect URI.
	DevRPSignedOut = "http://127.0.0.1:5556/signed-out"
	// DevRPAddr is where examples/oidc-rp listens by default.
	DevRPAddr = "127.0.0.1:5556"
)

// devOpenIDScopes are the scopes the dev clients may ask for besides their
// own: openid and the standard claims' scopes (Core §5.4).
var devOpenIDScopes = []string{endpoint.ScopeOpenID, "profile", "email", "address", "phone"}

// endpointDiscovery is the discovery document's path.
const endpointDiscovery = endpoint.PathOpenIDConfiguration

// withOpenID lets dev client c ask for the OpenID Connect scopes and
// registers the demo callback page as its post-logout redirect URI.
func withOpenID(c *config.Client, issuer string) {
	for _, s := range devOpenIDScopes {
		if !strings.Contains(" "+strings.Join(c.Scopes, " ")+" ", " "+s+" ") {
			c.Scopes = append(c.Scopes, s)
		}
	}
	c.PostLogoutRedirectURIs = append(c.PostLogoutRedirectURIs, strings.TrimSuffix(issuer, "/")+DevCallbackPath)
}

// demoOIDCClient is the dev server's public OpenID Connect client: PKCE,
// the consent page (so that single sign-on shows as "no password, one
// click"), the redirect URIs of examples/oidc-rp and of the demo callback
// page.
func demoOIDCClient(issuer string) config.Client {
	cb := strings.TrimSuffix(issuer, "/") + DevCallbackPath
	return config.Client{
		ID:                     DevOIDCClientID,
		Public:                 true,
		RedirectURIs:           []string{DevRPRedirect, cb},
		GrantTypes:             []string{config.GrantAuthorizationCode, config.GrantRefreshToken},
		ResponseTypes:          []string{config.ResponseCode},
		Scopes:                 append([]string{}, devOpenIDScopes...),
		DefaultScopes:          []string{endpoint.ScopeOpenID, "profile"},
		PostLogoutRedirectURIs: []string{DevRPSignedOut, cb},
	}
}

// demoUser is the dev server's demo user, with standard claims for the ID
// tokens and the UserInfo endpoint.
func demoUser(passwordHash config.Hash) config.User {
	u := config.DemoUser(passwordHash)
	u.Claims = config.UserClaims{
		Name: "Alice Demo", GivenName: "Alice", FamilyName: "Demo", PreferredUsername: config.DemoUsername,
		Email: "alice@example.com", EmailVerified: true, Locale: "en-US", Zoneinfo: "Europe/London",
		PhoneNumber: "+1 202 555 0100",
		Address:     config.Address{Locality: "Springfield", Country: "US"},
	}
	return u
}

// openIDBanner is the dev banner's OpenID Connect section; its verbs take
// the issuer and discovery path, the OpenID client and its redirect URI,
// the issuer and certificate of the example command, the issuer and
// client of the browser URL, and the issuer and redirect URI of the
// logout URL.
const openIDBanner = `OpenID Connect: the discovery document is at %s%s.
The public client %q (PKCE, redirect URI %s) is the one
examples/oidc-rp uses: it opens the login page in your browser, verifies
the ID token (signature from jwks_uri, nonce, at_hash) and prints its
claims and the UserInfo response:

  go run ./examples/oidc-rp -issuer %s -cacert %s

A second client asks for no password within the login session (consent
still applies): after signing in above, open

  %s/authorize?response_type=code&client_id=demo&scope=openid+profile+email&state=xyz&nonce=n1

then exchange the code as above; the response holds an id_token. Sign out
(RP-Initiated Logout), and the next sign-in asks for the password again:

  %s/end_session?client_id=%s&post_logout_redirect_uri=%s

`
