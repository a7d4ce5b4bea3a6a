package endpoint_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
)

func TestIntrospectResult(t *testing.T) {
	f := newFixture(t)
	tok := f.backendToken()
	c, err := f.openAccess(apiAud, tok)
	require.NoError(t, err)
	resp, res := f.srv.Introspect(t.Context(), request("/introspect", form("token", tok), asRS()))
	require.Equal(t, 200, resp.Status)
	assert.Equal(t, endpoint.Result{ClientID: "rs", Audience: apiAud, JTI: c.ID}, res, "the caller, and the token by its jti")
	assert.NotContains(t, string(resp.Body), tok)

	resp, res = f.srv.Introspect(t.Context(), request("/introspect", form("token", "garbage"), asRS()))
	isInactive(t, resp)
	assert.Equal(t, endpoint.Result{ClientID: "rs"}, res)
}

// TestIntrospectUnknownTokensCostNoStoreCall: a token that does not open is
// answered without a store round trip, so token scanning costs the store
// nothing.
func TestIntrospectUnknownTokensCostNoStoreCall(t *testing.T) {
	f := newFixture(t)
	tok := f.backendToken()
	// A token of an unknown kid, a tampered token and a code.
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"A256KW","enc":"A256GCM","kid":"nobody","typ":"at+jwt"}`))
	_, rest, _ := strings.Cut(tok, ".")
	tampered := []byte(tok)
	tampered[len(tampered)-30] ^= 2
	for _, tk := range []string{hdr + "." + rest, string(tampered), f.code("webapp"), "a.b", "....", strings.Repeat("x", 9000)} {
		before := f.store.calls.Load()
		isInactive(t, f.introspect(form("token", tk), asRS()))
		assert.Equal(t, before, f.store.calls.Load(), "token %.40q", tk)
	}
}

func TestIntrospectRefreshFamilyAndGeneration(t *testing.T) {
	f := newFixture(t)
	tk := f.webTokens()
	m := body(t, f.introspect(form("token", tk.Refresh), webAuth))
	rt, err := f.openRefresh(tk.Refresh)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"active": true, "scope": "profile read", "client_id": "webapp", "token_type": "refresh_token",
		"exp": float64(rt.Expiry.Unix()), "iat": float64(rt.IssuedAt.Unix()), "sub": userID,
		"aud": testIssuer, "iss": testIssuer, "jti": rt.ID,
	}, m, "no family id, generation or resource: those are the issuer's own")
}

func TestIntrospectAccessTokenOfOtherAudience(t *testing.T) {
	f := newFixture(t)
	resp := f.token(form("grant_type", "client_credentials"), basic("multi", backendSecret))
	tok := mustTokens(t, resp).Access
	m := body(t, f.introspect(form("token", tok), asRS()))
	assert.Equal(t, otherAud, m["aud"])
	assert.Equal(t, true, m["active"])
}

func TestIntrospectMultipleAudiencesAndAuthTime(t *testing.T) {
	f := newFixture(t, endpoint.WithHooks(endpoint.Hooks{AccessClaims: func(_ context.Context, _ *endpoint.TokenRequest, c *crypttoken.Claims) error {
		c.Audience = append(c.Audience, "https://extra.example.com")
		c.Extra = map[string]json.RawMessage{"active": json.RawMessage(`false`), "roles": json.RawMessage(`["a","b"]`)}
		return nil
	}}))
	tk := f.webTokens()
	m := body(t, f.introspect(form("token", tk.Access), asRS()))
	assert.Equal(t, true, m["active"], "an extra claim never overrides active")
	assert.Equal(t, []any{apiAud, "https://extra.example.com"}, m["aud"])
	assert.Equal(t, []any{"a", "b"}, m["roles"])
	assert.Equal(t, float64(t0.Unix()-300), m["auth_time"])
}

// FuzzIntrospect feeds arbitrary tokens and hints: never a panic, never an
// error for a bad token, only the exact inactive answer.
func FuzzIntrospect(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.backendToken(), "access_token")
	f.Add(fx.webTokens().Refresh, "refresh_token")
	f.Add("eyJraWQiOiJ4In0.a.b.c.d", "")
	f.Add("eyJraWQiOiJraWQtIn0....", "refresh_token")
	f.Add(".", "x")
	f.Fuzz(func(t *testing.T, token, hint string) {
		resp, _ := fx.srv.Introspect(context.Background(), request("/introspect", form("token", token, "token_type_hint", hint), asRS()))
		switch {
		case token == "":
			if resp.Status != 400 {
				t.Fatalf("missing token answered %d", resp.Status)
			}
		case resp.Status != 200:
			t.Fatalf("status %d: %s", resp.Status, resp.Body)
		case string(resp.Body) != `{"active":false}`:
			var m map[string]any
			if err := json.Unmarshal(resp.Body, &m); err != nil || m["active"] != true {
				t.Fatalf("body %s", resp.Body)
			}
		}
	})
}

// TestIntrospectRefreshGenerations: RFC 7662 §2.2 with rotation
// (RFC 9700 §4.14.2). Only the newest refresh token of a family is active:
// a superseded one can no longer be used, and presenting it would revoke
// the family. Access tokens stay active across rotations. After reuse
// detection nothing of the family is active.
func TestIntrospectRefreshGenerations(t *testing.T) {
	f := newFixture(t)
	gen0 := f.webTokens()
	gen1 := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", gen0.Refresh), webAuth))
	gen2 := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", gen1.Refresh), webAuth))

	active := func(t *testing.T, tok string, auth reqOpt) bool {
		t.Helper()
		resp := f.introspect(form("token", tok), auth)
		require.Equal(t, 200, resp.Status, "body %s", resp.Body)
		if string(resp.Body) == `{"active":false}` {
			return false
		}
		require.Equal(t, true, body(t, resp)["active"], "body %s", resp.Body)
		return true
	}
	type row struct {
		name string
		tok  string
		auth reqOpt
		want bool
	}
	check := func(t *testing.T, rows []row) {
		t.Helper()
		for _, r := range rows {
			assert.Equal(t, r.want, active(t, r.tok, r.auth), r.name)
		}
	}

	t.Run("after rotations", func(t *testing.T) {
		check(t, []row{
			{name: "refresh token of generation 0, superseded", tok: gen0.Refresh, auth: webAuth, want: false},
			{name: "refresh token of generation 1, superseded", tok: gen1.Refresh, auth: webAuth, want: false},
			{name: "refresh token of generation 2, current", tok: gen2.Refresh, auth: webAuth, want: true},
			{name: "access token of generation 0", tok: gen0.Access, auth: asRS(), want: true},
			{name: "access token of generation 2", tok: gen2.Access, auth: asRS(), want: true},
		})
	})

	t.Run("one store call for the family, which it leaves as it was", func(t *testing.T) {
		before := f.store.calls.Load()
		require.True(t, active(t, gen2.Refresh, webAuth))
		assert.Equal(t, before+2, f.store.calls.Load(), "TokenRevoked and RefreshState")
		// The family is still at generation 2, so gen2.Refresh still rotates.
		gen, revoked, err := f.mem.RefreshState(t.Context(), mustOpenRefresh(t, f, gen2.Refresh).FamilyID)
		require.NoError(t, err)
		assert.Equal(t, uint64(2), gen)
		assert.False(t, revoked)
	})

	t.Run("after reuse detection", func(t *testing.T) {
		resp := f.token(form("grant_type", "refresh_token", "refresh_token", gen1.Refresh), webAuth)
		require.Equal(t, endpoint.InvalidGrant, errCode(t, resp), "reuse of generation 1")
		check(t, []row{
			{name: "superseded refresh token", tok: gen1.Refresh, auth: webAuth, want: false},
			{name: "current refresh token", tok: gen2.Refresh, auth: webAuth, want: false},
			{name: "access token", tok: gen2.Access, auth: asRS(), want: false},
		})
	})
}

// TestIntrospectRefreshWithoutFamily: a refresh token that names no
// family is refused by the refresh grant, so it is not active; the store
// is not asked.
func TestIntrospectRefreshWithoutFamily(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	tok, err := f.codeSealer.Seal(crypttoken.TypeRefresh, &crypttoken.Claims{
		Issuer: testIssuer, Subject: userID, Audience: []string{testIssuer},
		Expiry: now.Add(refreshTTL), IssuedAt: now, ID: "rt-no-family",
		ClientID: "webapp", Scope: "profile read",
	})
	require.NoError(t, err)
	_, err = f.openRefresh(tok)
	require.NoError(t, err, "the token itself opens")
	before := f.store.calls.Load()
	isInactive(t, f.introspect(form("token", tok, "token_type_hint", "refresh_token"), webAuth))
	assert.Equal(t, before, f.store.calls.Load())
}

func mustOpenRefresh(t *testing.T, f *fixture, tok string) *crypttoken.Claims {
	t.Helper()
	c, err := f.openRefresh(tok)
	require.NoError(t, err)
	return c
}
