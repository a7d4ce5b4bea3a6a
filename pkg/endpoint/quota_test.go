package endpoint_test

// The per-client quota of issue 8, part 3: what one authenticated client
// can make the store keep is bounded, and writes the server makes for its
// own safety are never refused.

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// quotaFixture is a fixture whose memory store holds 1000 entries a table
// and whose clients may cause 100 writes per 10 minutes.
func quotaFixture(t *testing.T) *fixture {
	return newFixtureConfig(t, fixtureConfig{storeEntries: 1000,
		opts: []endpoint.Option{endpoint.WithClientQuota(100, 10*time.Minute)}})
}

func TestQuotaBulkRevocationCannotFillTheStore(t *testing.T) {
	// issue 8: "one client issuing and revoking its own tokens 1,100 times
	// fills the revocation table: another client's revocation then gets
	// 503 (its token stays active), and a replayed code can no longer
	// revoke the first use's tokens."
	f := quotaFixture(t)
	refused := 0
	for i := range 1100 {
		resp := f.revoke(form("token", f.backendToken()), basic("backend", backendSecret))
		switch resp.Status {
		case 200:
		case 429:
			refused++
			require.Equal(t, endpoint.TemporarilyUnavailable, errCode(t, resp))
			require.NotEmpty(t, hdr(resp, "Retry-After"), "429 without Retry-After")
		default:
			t.Fatalf("revocation %d: %d %s", i, resp.Status, resp.Body)
		}
	}
	assert.Equal(t, 1000, refused, "revocations beyond the quota of 100")
	assert.LessOrEqual(t, f.mem.Len().Tokens, 100, "revoked tokens the store keeps for the client")

	// The victim: another client revokes, and its token is inactive.
	tk := f.webTokens()
	require.Equal(t, 200, f.revoke(form("token", tk.Access), webAuth).Status)
	isInactive(t, f.introspect(form("token", tk.Access), asRS()))
	// A replayed code still revokes the first use's tokens.
	code := f.code("webapp")
	first := f.exchange(code)
	replay := f.token(form("grant_type", "authorization_code", "code", code, "redirect_uri", webRedirect, "code_verifier", verifierS256), webAuth)
	require.Equal(t, endpoint.InvalidGrant, errCode(t, replay))
	isInactive(t, f.introspect(form("token", first.Access), asRS()))
	// The attacker's quota frees after its window.
	f.clock.Advance(10*time.Minute + time.Second)
	assert.Equal(t, 200, f.revoke(form("token", f.backendToken()), basic("backend", backendSecret)).Status)
}

func TestQuotaServerWritesAreNeverRefused(t *testing.T) {
	f := quotaFixture(t)
	tk := f.webTokens()
	rotated := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth))
	for range 99 { // webapp uses up its quota: the first refresh took one
		require.Equal(t, 200, f.revoke(form("token", f.webTokens().Access), webAuth).Status)
	}
	require.Equal(t, 429, f.revoke(form("token", f.webTokens().Access), webAuth).Status)

	t.Run("refresh token reuse is still detected and revokes the grant", func(t *testing.T) {
		resp := f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth)
		require.Equal(t, endpoint.InvalidGrant, errCode(t, resp), "body %s", resp.Body)
		assert.Contains(t, body(t, resp)["error_description"], "already used")
		isInactive(t, f.introspect(form("token", rotated.Refresh), webAuth))
		isInactive(t, f.introspect(form("token", rotated.Access), asRS()))
	})
	t.Run("a replayed code still revokes the first use's tokens", func(t *testing.T) {
		code := f.code("webapp")
		first := mustTokens(t, f.token(form("grant_type", "authorization_code", "code", code, "redirect_uri", webRedirect, "code_verifier", verifierS256), webAuth))
		replay := f.token(form("grant_type", "authorization_code", "code", code, "redirect_uri", webRedirect, "code_verifier", verifierS256), webAuth)
		require.Equal(t, endpoint.InvalidGrant, errCode(t, replay))
		isInactive(t, f.introspect(form("token", first.Access), asRS()))
	})
	t.Run("rotating an existing family costs no quota", func(t *testing.T) {
		g1 := f.webTokens()
		f.clock.Advance(10*time.Minute + time.Second)
		g2 := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", g1.Refresh), webAuth))
		for range 100 {
			f.revoke(form("token", f.webTokens().Access), webAuth)
		}
		resp := f.token(form("grant_type", "refresh_token", "refresh_token", g2.Refresh), webAuth)
		assert.Equal(t, 200, resp.Status, "a second rotation over quota: %s", resp.Body)
	})
}

func TestQuotaFirstRefreshOverQuota(t *testing.T) {
	f := quotaFixture(t)
	for range 100 {
		require.Equal(t, 200, f.revoke(form("token", f.webTokens().Access), webAuth).Status)
	}
	tk := f.webTokens()
	resp := f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth)
	require.Equal(t, 429, resp.Status, "a new refresh family over quota: %s", resp.Body)
	assert.NotEmpty(t, hdr(resp, "Retry-After"))
	assert.Equal(t, true, body(t, f.introspect(form("token", tk.Refresh), webAuth))["active"], "the refresh token was not spent")
	f.clock.Advance(10*time.Minute + time.Second)
	assert.Equal(t, 200, f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth).Status, "after the window")
}

func TestQuotaIsPerUserOfAClient(t *testing.T) {
	// A public client is every copy of an application, and a confidential
	// one may serve many users: one user using up the quota must not stop
	// the others.
	f := quotaFixture(t)
	spaTokens := func(sub string) tokens {
		return mustTokens(t, f.token(form("grant_type", "authorization_code", "code", f.code("spa", codeSubject(sub)),
			"client_id", "spa", "redirect_uri", spaRedirect, "code_verifier", verifierS256)))
	}
	revoke := func(tok string) int {
		return f.revoke(form("token", tok, "client_id", "spa")).Status
	}
	for i := range 100 {
		require.Equal(t, 200, revoke(spaTokens("mallory").Access), "revocation %d", i)
	}
	require.Equal(t, 429, revoke(spaTokens("mallory").Access))
	assert.Equal(t, 200, revoke(spaTokens("u-"+strconv.Itoa(2)).Access), "another user of the same public client")
}

func TestQuotaConfidentialClientServesManyUsers(t *testing.T) {
	f := quotaFixture(t)
	revoked := 0
	for i := range 150 { // 150 users log out once each: over 100, but one each
		tk := f.exchange(f.code("webapp", codeSubject("u-"+strconv.Itoa(i))))
		if f.revoke(form("token", tk.Refresh), webAuth).Status == 200 {
			revoked++
		}
	}
	assert.Equal(t, 150, revoked)
}
