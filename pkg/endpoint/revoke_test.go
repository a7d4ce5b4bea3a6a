package endpoint_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

func TestRevokeResult(t *testing.T) {
	f := newFixture(t)
	tok := f.backendToken()
	c, err := f.openAccess(apiAud, tok)
	require.NoError(t, err)
	resp, res := f.srv.Revoke(t.Context(), request("/revoke", form("token", tok), basic("backend", backendSecret)))
	require.Equal(t, 200, resp.Status)
	assert.Equal(t, endpoint.Result{ClientID: "backend", JTI: c.ID}, res)
	assert.Equal(t, endpoint.Headers{{Name: "Cache-Control", Value: "no-store"}, {Name: "Pragma", Value: "no-cache"}}, resp.Header)
}

func TestRevokeIsIdempotent(t *testing.T) {
	f := newFixture(t)
	tk := f.webTokens()
	for range 3 {
		assert.Equal(t, 200, f.revoke(form("token", tk.Refresh), webAuth).Status)
		assert.Equal(t, 200, f.revoke(form("token", tk.Access), webAuth).Status)
	}
	isInactive(t, f.introspect(form("token", tk.Access), asRS()))
}

// TestRevokeAccessTokenKeepsTheGrant: RFC 7009 §2.1 lets the server revoke
// the refresh token with an access token ("MAY"); this one does not, so a
// client can drop one access token and refresh for a new one.
func TestRevokeAccessTokenKeepsTheGrant(t *testing.T) {
	f := newFixture(t)
	tk := f.webTokens()
	require.Equal(t, 200, f.revoke(form("token", tk.Access, "token_type_hint", "access_token"), webAuth).Status)
	next := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth))
	isInactive(t, f.introspect(form("token", tk.Access), asRS()))
	assert.Equal(t, true, body(t, f.introspect(form("token", next.Access), asRS()))["active"])
}

func TestRevokeRefusedWithoutStoreCall(t *testing.T) {
	f := newFixture(t)
	tok := f.backendToken()
	before := f.store.calls.Load()
	resp := f.revoke(form("token", tok), webAuth)
	assert.Equal(t, endpoint.UnauthorizedClient, errCode(t, resp))
	assert.Equal(t, before, f.store.calls.Load())
}
