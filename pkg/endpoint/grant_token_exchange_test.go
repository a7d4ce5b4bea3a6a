package endpoint_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// sealUser seals an access token of apiAud for alice issued to webapp with
// scope "profile read", living life from now, with extra claims.
func (g *grantsFixture) sealUser(life time.Duration, extra map[string]any) string {
	g.t.Helper()
	sealer, err := crypttoken.NewSealer(g.rings[apiAud], crypttoken.WithClock(g.clock.Now))
	require.NoError(g.t, err)
	now := g.clock.Now()
	c := &crypttoken.Claims{Issuer: testIssuer, Subject: userID, Audience: []string{apiAud},
		Expiry: now.Add(life), IssuedAt: now, ClientID: "webapp", Scope: "profile read"}
	for k, v := range extra {
		b, err := json.Marshal(v)
		require.NoError(g.t, err)
		if c.Extra == nil {
			c.Extra = map[string]json.RawMessage{}
		}
		c.Extra[k] = b
	}
	tok, err := sealer.Seal(crypttoken.TypeAccess, c)
	require.NoError(g.t, err)
	return tok
}

// svcToken is a client_credentials token of svc (sub "svc").
func (g *grantsFixture) svcToken() string {
	g.t.Helper()
	return mustTokens(g.t, g.token(form("grant_type", "client_credentials"), svcAuth)).Access
}

// actOf decodes the "act" claim of an access token of aud.
func (g *grantsFixture) actOf(aud, tok string) map[string]any {
	g.t.Helper()
	c := g.claimsOf(aud, tok)
	raw, ok := c.Extra["act"]
	if !ok {
		return nil
	}
	var m map[string]any
	require.NoError(g.t, json.Unmarshal(raw, &m))
	return m
}

func TestTokenExchangeConformance(t *testing.T) {
	ok := func(check func(t *testing.T, g *grantsFixture, resp *endpoint.Response)) func(*testing.T, *grantsFixture, *endpoint.Response) {
		return check
	}
	cases := []grantCase{
		{
			name: "RFC 8693 §2.2.1 a user's access token exchanged into the service's audience",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access), svcAuth)
			},
			status: 200,
			check: ok(func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				m := body(t, resp)
				assert.Equal(t, endpoint.TokenTypeAccessToken, m["issued_token_type"])
				assert.Equal(t, "Bearer", m["token_type"])
				assert.NotContains(t, m, "refresh_token", "RFC 8693 §2.2.1: no refresh token")
				c := g.claimsOf(otherAud, m["access_token"].(string))
				assert.Equal(t, userID, c.Subject, "the subject token's subject")
				assert.Equal(t, "svc", c.ClientID)
				assert.Equal(t, "profile read", c.Scope)
				assert.NotContains(t, c.Extra, "act", "no actor, no act")
				assert.EqualValues(t, accessTTL/time.Second, m["expires_in"])
			}),
		},
		{
			name: "RFC 8693 §2.1 requested_token_type access_token is served",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "requested_token_type", endpoint.TokenTypeAccessToken), svcAuth)
			},
			status: 200,
		},
		{
			name: "RFC 8693 §2.1 requested_token_type refresh_token is invalid_request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "requested_token_type", endpoint.TokenTypeRefreshToken), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.1 requested_token_type id_token is invalid_request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "requested_token_type", endpoint.TokenTypeIDToken), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.1 subject_token is required",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(form("grant_type", string(endpoint.GrantTokenExchange), "subject_token_type", endpoint.TokenTypeAccessToken), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.1 subject_token_type is required",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(form("grant_type", string(endpoint.GrantTokenExchange), "subject_token", g.userToken().Access), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §3 an unsupported subject_token_type is invalid_request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(form("grant_type", string(endpoint.GrantTokenExchange), "subject_token", g.userToken().Access,
					"subject_token_type", "urn:ietf:params:oauth:token-type:saml2"), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.2.2 an expired subject token is invalid_request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				tok := g.userToken().Access
				g.clock.Advance(accessTTL + time.Second) // within the leeway: the opener alone would accept it
				return g.token(exchangeForm(tok), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.2.2 with RFC 7009 a revoked subject token is invalid_request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				tok := g.userToken().Access
				require.Equal(t, 200, g.revoke(form("token", tok), webAuth).Status)
				return g.token(exchangeForm(tok), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
			check: ok(func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Contains(t, body(t, resp)["error_description"], "revoked")
			}),
		},
		{
			name: "RFC 8693 §2.2.2 a subject token whose grant was revoked is invalid_request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				tk := g.userToken()
				require.Equal(t, 200, g.revoke(form("token", tk.Refresh), webAuth).Status)
				return g.token(exchangeForm(tk.Access), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.2.2 a token that does not open is invalid_request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				tok := []byte(g.userToken().Access)
				tok[len(tok)-3] ^= 1
				return g.token(exchangeForm(string(tok)), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.2.2 a refresh token is not an access token",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Refresh), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.2.2 an access token living longer than this server issues is refused",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.sealUser(24*time.Hour, nil)), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.1 scope may narrow",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "scope", "read"), svcAuth)
			},
			status: 200,
			check: ok(func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Equal(t, "read", g.claimsOf(otherAud, mustTokens(t, resp).Access).Scope)
			}),
		},
		{
			name: "RFC 8693 §2.1 scope never widens beyond the subject token's",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "scope", "read write"), svcAuth)
			},
			status: 400, code: endpoint.InvalidScope,
			check: ok(func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Contains(t, body(t, resp)["error_description"], "write")
			}),
		},
		{
			name: "RFC 8693 §2.1 with RFC 6749 §3.3 scope stays within the client's",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				g.setClients(append(standardClients(t), &endpoint.Client{ID: "svc", Secret: mustHash(t, secret.NewSHA256(svcSecret)),
					GrantTypes: []endpoint.GrantType{endpoint.GrantTokenExchange}, Scopes: []string{"read"},
					TokenExchangeAudiences: []string{otherAud}})...)
				return g.token(exchangeForm(g.userToken().Access, "scope", "profile"), svcAuth)
			},
			status: 400, code: endpoint.InvalidScope,
		},
		{
			name: "RFC 8693 §2.2.2 an audience the client may not exchange into is invalid_target",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "resource", apiAud), svcAuth)
			},
			status: 400, code: endpoint.InvalidTarget,
		},
		{
			name: "RFC 8693 §2.1 the audience parameter names the target too",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "audience", apiAud), svcAuth)
			},
			status: 400, code: endpoint.InvalidTarget,
		},
		{
			name: "RFC 8693 §2.1 audience naming an allowed target is served",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "audience", otherAud), svcAuth)
			},
			status: 200,
		},
		{
			name: "RFC 8693 §2.1 resource and audience naming two targets is invalid_target",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "audience", otherAud, "resource", apiAud), svcAuth)
			},
			status: 400, code: endpoint.InvalidTarget,
		},
		{
			name: "RFC 8693 §2.1 a client without the token-exchange grant is unauthorized_client",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access), basic("backend", backendSecret))
			},
			status: 400, code: endpoint.UnauthorizedClient,
		},
		{
			name: "RFC 8693 §2.1 actor_token needs actor_token_type",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "actor_token", g.svcToken()), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.1 actor_token_type without actor_token is invalid_request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "actor_token_type", endpoint.TokenTypeAccessToken), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §4.1 an actor token records the actor in act",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.userToken().Access, "actor_token", g.svcToken(), "actor_token_type", endpoint.TokenTypeAccessToken), svcAuth)
			},
			status: 200,
			check: ok(func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				tok := mustTokens(t, resp).Access
				assert.Equal(t, map[string]any{"sub": "svc"}, g.actOf(otherAud, tok))
				assert.Equal(t, userID, g.claimsOf(otherAud, tok).Subject)
			}),
		},
		{
			name: "RFC 8693 §4.1 a chain of exchanges nests act, the current actor outermost",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				first := mustTokens(t, g.token(exchangeForm(g.userToken().Access, "actor_token", g.svcToken(),
					"actor_token_type", endpoint.TokenTypeAccessToken), svcAuth)).Access
				backend := g.backendToken()
				return g.token(exchangeForm(first, "actor_token", backend, "actor_token_type", endpoint.TokenTypeAccessToken), svcAuth)
			},
			status: 200,
			check: ok(func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Equal(t, map[string]any{"sub": "backend", "act": map[string]any{"sub": "svc"}},
					g.actOf(otherAud, mustTokens(t, resp).Access))
			}),
		},
		{
			name: "RFC 8693 §4.1 without a new actor the recorded delegation stays",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				first := mustTokens(t, g.token(exchangeForm(g.userToken().Access, "actor_token", g.svcToken(),
					"actor_token_type", endpoint.TokenTypeAccessToken), svcAuth)).Access
				return g.token(exchangeForm(first), svcAuth)
			},
			status: 200,
			check: ok(func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Equal(t, map[string]any{"sub": "svc"}, g.actOf(otherAud, mustTokens(t, resp).Access))
			}),
		},
		{
			name: "RFC 8693 §4.4 may_act naming the actor is honoured",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				subj := g.sealUser(5*time.Minute, map[string]any{"may_act": map[string]string{"sub": "svc"}})
				return g.token(exchangeForm(subj, "actor_token", g.svcToken(), "actor_token_type", endpoint.TokenTypeAccessToken), svcAuth)
			},
			status: 200,
		},
		{
			name: "RFC 8693 §4.4 may_act naming someone else refuses the actor",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				subj := g.sealUser(5*time.Minute, map[string]any{"may_act": map[string]string{"sub": "svc"}})
				return g.token(exchangeForm(subj, "actor_token", g.backendToken(), "actor_token_type", endpoint.TokenTypeAccessToken), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §4.4 may_act without an actor token names the client",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				subj := g.sealUser(5*time.Minute, map[string]any{"may_act": map[string]string{"sub": "svc", "iss": testIssuer}})
				return g.token(exchangeForm(subj), svcAuth)
			},
			status: 200,
		},
		{
			name: "RFC 8693 §4.4 may_act mismatch without an actor token",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				subj := g.sealUser(5*time.Minute, map[string]any{"may_act": map[string]string{"sub": "another-service"}})
				return g.token(exchangeForm(subj), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §4.4 may_act with a member that cannot be checked fails closed",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				subj := g.sealUser(5*time.Minute, map[string]any{"may_act": map[string]string{"sub": "svc", "email": "svc@example.com"}})
				return g.token(exchangeForm(subj), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.2.1 an exchanged token never outlives its subject token",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(exchangeForm(g.sealUser(90*time.Second, nil)), svcAuth)
			},
			status: 200,
			check: ok(func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				tk := mustTokens(t, resp)
				assert.Equal(t, 90, tk.ExpiresIn)
				assert.Equal(t, g.clock.Now().Add(90*time.Second).Unix(), g.claimsOf(otherAud, tk.Access).Expiry.Unix())
			}),
		},
		{
			name: "RFC 8693 §2.1 a trusted issuer's JWT as subject_token (subjects kept as they are)",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				jwt := g.jwt(g.partner, partnerIss, jwtAud(partnerAud), jwtSub("partner-user-7"), jwtClaim("scope", "read profile"))
				return g.token(form("grant_type", string(endpoint.GrantTokenExchange), "subject_token", jwt,
					"subject_token_type", endpoint.TokenTypeJWT, "scope", "read"), svcAuth)
			},
			status: 200,
			check: ok(func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				c := g.claimsOf(otherAud, mustTokens(t, resp).Access)
				assert.Equal(t, "partner-user-7", c.Subject)
				assert.Equal(t, "read", c.Scope)
			}),
		},
		{
			name: "RFC 8693 §4.1 a trusted issuer's JWT as actor_token: act names its iss",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				actor := g.jwt(g.partner, partnerIss, jwtAud(partnerAud), jwtSub("partner-gateway"))
				return g.token(exchangeForm(g.userToken().Access, "actor_token", actor, "actor_token_type", endpoint.TokenTypeJWT), svcAuth)
			},
			status: 200,
			check: ok(func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Equal(t, map[string]any{"sub": "partner-gateway", "iss": partnerIss}, g.actOf(otherAud, mustTokens(t, resp).Access))
			}),
		},
		{
			name: "RFC 8693 §2.1 a trusted issuer's JWT scope bounds the exchange",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				jwt := g.jwt(g.partner, partnerIss, jwtAud(partnerAud), jwtSub("partner-user-7"), jwtClaim("scope", "read"))
				return g.token(form("grant_type", string(endpoint.GrantTokenExchange), "subject_token", jwt,
					"subject_token_type", endpoint.TokenTypeJWT, "scope", "write"), svcAuth)
			},
			status: 400, code: endpoint.InvalidScope,
		},
		{
			name: "RFC 8693 §2.2.2 a JWT from an untrusted issuer is invalid_request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				jwt := g.jwt(g.stranger, strangerIss, jwtSub("someone"))
				return g.token(exchangeForm(jwt, "subject_token_type", endpoint.TokenTypeJWT), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.2.2 a JWT claiming a trusted issuer, signed by another key, is invalid_request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				jwt := g.jwt(g.stranger, partnerIss, jwtAud(partnerAud), jwtSub("someone"))
				return g.token(form("grant_type", string(endpoint.GrantTokenExchange), "subject_token", jwt,
					"subject_token_type", endpoint.TokenTypeJWT), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8693 §2.2.2 a trusted issuer's JWT for another audience is invalid_request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				jwt := g.jwt(g.partner, partnerIss, jwtAud("https://somewhere.else"), jwtSub("someone"))
				return g.token(form("grant_type", string(endpoint.GrantTokenExchange), "subject_token", jwt,
					"subject_token_type", endpoint.TokenTypeJWT), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 9068 §5 a trusted issuer cannot speak for a local user id (as_is)",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				jwt := g.jwt(g.partner, partnerIss, jwtAud(partnerAud), jwtSub(userID))
				return g.token(form("grant_type", string(endpoint.GrantTokenExchange), "subject_token", jwt,
					"subject_token_type", endpoint.TokenTypeJWT), svcAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
	}
	runGrantCases(t, cases)
}

// TestTokenExchangeFollowsTheGrant: an exchanged token belongs to its
// subject token's grant, so revoking the grant makes it inactive too
// (RFC 7009 §2.1), and introspection shows its act.
func TestTokenExchangeFollowsTheGrant(t *testing.T) {
	g := newGrantsFixture(t)
	user := g.userToken()
	ex := mustTokens(t, g.token(exchangeForm(user.Access, "actor_token", g.svcToken(), "actor_token_type", endpoint.TokenTypeAccessToken), svcAuth)).Access
	m := body(t, g.introspect(form("token", ex), asRS()))
	require.Equal(t, true, m["active"])
	assert.Equal(t, map[string]any{"sub": "svc"}, m["act"])
	assert.Equal(t, userID, m["sub"])
	require.Equal(t, 200, g.revoke(form("token", user.Refresh), webAuth).Status)
	isInactive(t, g.introspect(form("token", ex), asRS()))
}
