package httpendpoint_test

// End-to-end tests driven by golang.org/x/oauth2, the client most Go
// programs use: if it gets tokens from this server, so will they.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestE2EClientCredentials(t *testing.T) {
	srv := newServer(t, issuer)
	ts := newTLS(t, srv)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client())

	tests := []struct {
		name  string
		cfg   clientcredentials.Config
		scope string // expected granted scope
		code  string // expected error code; "" for success
	}{
		{
			name:  "RFC 6749 §4.4 client_secret_basic with the default scope",
			cfg:   clientcredentials.Config{ClientID: "backend", ClientSecret: backendSecret, AuthStyle: oauth2.AuthStyleInHeader},
			scope: "read",
		},
		{
			name:  "RFC 6749 §4.4 client_secret_post with requested scopes and resource",
			cfg:   clientcredentials.Config{ClientID: "backend", ClientSecret: backendSecret, AuthStyle: oauth2.AuthStyleInParams, Scopes: []string{"write", "read"}, EndpointParams: url.Values{"resource": {apiAud}}},
			scope: "write read",
		},
		{
			name:  "x/oauth2 auto-detected auth style",
			cfg:   clientcredentials.Config{ClientID: "backend", ClientSecret: backendSecret, Scopes: []string{"read"}},
			scope: "read",
		},
		{
			name: "RFC 6749 §5.2 wrong secret is invalid_client",
			cfg:  clientcredentials.Config{ClientID: "backend", ClientSecret: "wrong", AuthStyle: oauth2.AuthStyleInHeader},
			code: "invalid_client",
		},
		{
			name: "RFC 6749 §5.2 scope the client may not have is invalid_scope",
			cfg:  clientcredentials.Config{ClientID: "backend", ClientSecret: backendSecret, AuthStyle: oauth2.AuthStyleInHeader, Scopes: []string{"admin"}},
			code: "invalid_scope",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.TokenURL = ts.URL + "/token"
			tok, err := tc.cfg.Token(ctx)
			if tc.code != "" {
				var re *oauth2.RetrieveError
				require.True(t, errors.As(err, &re), "error %v", err)
				assert.Equal(t, tc.code, re.ErrorCode)
				assert.NotEmpty(t, re.ErrorDescription)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "Bearer", tok.TokenType)
			assert.Empty(t, tok.RefreshToken)
			assert.WithinDuration(t, time.Now().Add(10*time.Minute), tok.Expiry, 5*time.Second)
			m := introspect(t, ts, tok.AccessToken)
			assert.Equal(t, true, m["active"])
			assert.Equal(t, tc.scope, m["scope"])
			assert.Equal(t, "backend", m["sub"])
		})
	}
}

// TestE2EPKCECodeFlow runs the authorization code flow with PKCE (RFC 7636)
// as x/oauth2 drives it: AuthCodeURL with an S256 challenge, the
// authorization endpoint's redirect (a ResourceOwner that auto-grants), the
// exchange with the verifier, then a refresh through a TokenSource, and
// finally revocation.
func TestE2EPKCECodeFlow(t *testing.T) {
	tests := []struct {
		name     string
		clientID string
		secret   string
		redirect string
		style    oauth2.AuthStyle
	}{
		{name: "RFC 7636 public client, client_id in the body", clientID: "spa", redirect: spaRedirect, style: oauth2.AuthStyleInParams},
		{name: "RFC 7636 public client, x/oauth2 auto-detected style (Basic with an empty password first)", clientID: "spa", redirect: spaRedirect},
		{name: "RFC 7636 confidential client, Basic with a secret needing form-urlencoding", clientID: "webapp", secret: webappSecret, redirect: webRedirect, style: oauth2.AuthStyleInHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, issuer)
			ts := newTLS(t, srv)
			ctx := context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client())
			conf := &oauth2.Config{
				ClientID: tc.clientID, ClientSecret: tc.secret, RedirectURL: tc.redirect,
				Scopes:   []string{"profile", "read"},
				Endpoint: oauth2.Endpoint{AuthURL: ts.URL + "/authorize", TokenURL: ts.URL + "/token", AuthStyle: tc.style},
			}
			verifier := oauth2.GenerateVerifier()
			state := "st-" + tc.clientID

			// The user agent follows AuthCodeURL; the endpoint redirects back.
			resp, err := noRedirects(ts).Get(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
			require.NoError(t, err)
			_ = resp.Body.Close()
			require.Equal(t, http.StatusFound, resp.StatusCode)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(loc.String(), tc.redirect+"?"), "redirected to %s", loc)
			q := loc.Query()
			require.Equal(t, state, q.Get("state"))
			require.NotEmpty(t, q.Get("code"))

			// A wrong verifier fails and leaves the code usable (RFC 7636 §4.6).
			_, err = conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
			var re *oauth2.RetrieveError
			require.True(t, errors.As(err, &re), "error %v", err)
			assert.Equal(t, "invalid_grant", re.ErrorCode)

			tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			require.NoError(t, err)
			require.NotEmpty(t, tok.RefreshToken)
			m := introspect(t, ts, tok.AccessToken)
			assert.Equal(t, true, m["active"])
			assert.Equal(t, userID, m["sub"])
			assert.Equal(t, tc.clientID, m["client_id"])
			assert.Equal(t, "profile read", m["scope"])

			// A second exchange of the same code is refused (RFC 6749 §4.1.2)
			// and revokes the tokens of the first.
			_, err = conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			require.Error(t, err)
			assert.Equal(t, map[string]any{"active": false}, introspect(t, ts, tok.AccessToken))

			// A fresh grant, refreshed through a TokenSource (RFC 6749 §6).
			resp, err = noRedirects(ts).Get(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
			require.NoError(t, err)
			_ = resp.Body.Close()
			loc, err = url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			tok, err = conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
			require.NoError(t, err)
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Minute)
			refreshed, err := conf.TokenSource(ctx, &expired).Token()
			require.NoError(t, err)
			assert.NotEqual(t, tok.AccessToken, refreshed.AccessToken)
			assert.NotEqual(t, tok.RefreshToken, refreshed.RefreshToken, "RFC 9700 §4.14.2: rotated")
			assert.Equal(t, true, introspect(t, ts, refreshed.AccessToken)["active"])

			// The old refresh token is spent: using it again revokes the family.
			_, err = conf.TokenSource(ctx, &expired).Token()
			require.Error(t, err)
			assert.Equal(t, map[string]any{"active": false}, introspect(t, ts, refreshed.AccessToken))
		})
	}
}

// introspect asks the introspection endpoint of ts about tok as the
// resource-server client.
func introspect(t *testing.T, ts *httptest.Server, tok string) map[string]any {
	t.Helper()
	req, err := http.NewRequest("POST", ts.URL+"/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("rs", rsSecret)
	resp, err := ts.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return m
}
