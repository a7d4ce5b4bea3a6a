package endpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
)

var wlAuth = basic("workload", wlSecret)

func bearerForm(assertion string, kv ...string) string {
	return form(append([]string{"grant_type", string(endpoint.GrantJWTBearer), "assertion", assertion}, kv...)...)
}

func TestJWTBearerConformance(t *testing.T) {
	cases := []grantCase{
		{
			name: "RFC 7523 §2.1 a trusted issuer's assertion for a configured user (subjects_as user)",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss)), wlAuth)
			},
			status: 200,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				tk := mustTokens(t, resp)
				assert.Empty(t, tk.Refresh)
				c := g.claimsOf(apiAud, tk.Access)
				assert.Equal(t, userID, c.Subject, "the username becomes the user's id")
				assert.Equal(t, "workload", c.ClientID)
				assert.Equal(t, "read", c.Scope)
			},
		},
		{
			name: "RFC 7523 §2.1 subjects_as as_is keeps sub",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.partner, partnerIss, jwtSub("spiffe://partner/ns/batch")), "scope", "write"), wlAuth)
			},
			status: 200,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				c := g.claimsOf(apiAud, mustTokens(t, resp).Access)
				assert.Equal(t, "spiffe://partner/ns/batch", c.Subject)
				assert.Equal(t, "write", c.Scope)
			},
		},
		{
			name: "RFC 7523 §3 aud may be the issuer identifier",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss, jwtAud(testIssuer))), wlAuth)
			},
			status: 200,
		},
		{
			name: "RFC 7523 §3 aud may be the issuer's configured audience",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.partner, partnerIss, jwtAud(partnerAud), jwtSub("x"))), wlAuth)
			},
			status: 200,
		},
		{
			name: "RFC 7523 §3 a wrong aud is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss, jwtAud("https://issuer.example.com/introspect"))), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Contains(t, body(t, resp)["error_description"], "aud")
			},
		},
		{
			name: "RFC 7523 §3 another issuer's audience is not this one's",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss, jwtAud(partnerAud))), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §3 an untrusted issuer is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.stranger, strangerIss)), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §3 a trusted iss signed with an untrusted key is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.stranger, platformIss)), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §3 one trusted issuer's key cannot vouch as another",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.partner, platformIss)), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §3 a replayed jti is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				a := g.jwt(g.platform, platformIss)
				mustTokens(t, g.token(bearerForm(a), wlAuth))
				return g.token(bearerForm(a), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Contains(t, body(t, resp)["error_description"], "already used")
			},
		},
		{
			name: "RFC 7523 §3 a jti reused in a new assertion is a replay too",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				mustTokens(t, g.token(bearerForm(g.jwt(g.platform, platformIss, jwtID("same-jti"))), wlAuth))
				g.clock.Advance(time.Minute)
				return g.token(bearerForm(g.jwt(g.platform, platformIss, jwtID("same-jti"))), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §3 one jti from two issuers is two assertions",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				mustTokens(t, g.token(bearerForm(g.jwt(g.platform, platformIss, jwtID("shared"))), wlAuth))
				return g.token(bearerForm(g.jwt(g.partner, partnerIss, jwtID("shared"), jwtSub("p"))), wlAuth)
			},
			status: 200,
		},
		{
			name: "RFC 7523 §3 an assertion without jti is invalid_grant (jti single-use)",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss, jwtID(""))), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §3 exp more than an hour ahead is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss, jwtExp(2*time.Hour))), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Contains(t, body(t, resp)["error_description"], "exp")
			},
		},
		{
			name: "RFC 7523 §3 exp an hour ahead is accepted",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss, jwtExp(time.Hour))), wlAuth)
			},
			status: 200,
		},
		{
			name: "RFC 7523 §3 an expired assertion is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				a := g.jwt(g.platform, platformIss, jwtExp(time.Minute))
				g.clock.Advance(time.Minute + leeway + time.Second)
				return g.token(bearerForm(a), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §3 an assertion without exp is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss, func(c *jws.Claims) { c.Expiry = time.Time{} })), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §3 an assertion not valid yet (nbf) is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss, func(c *jws.Claims) { c.NotBefore = c.IssuedAt.Add(10 * time.Minute) })), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §3 subjects_as user: a sub that is no configured username is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss, jwtSub("mallory"))), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §3 subjects_as user: a user id is not a username",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss, jwtSub(userID))), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §3 a missing sub is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.partner, partnerIss, jwtSub(""))), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7515 a tampered assertion is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				a := g.jwt(g.platform, platformIss)
				parts := strings.Split(a, ".")
				forged := g.jwt(g.platform, platformIss, jwtSub("bob"))
				return g.token(bearerForm(parts[0]+"."+strings.Split(forged, ".")[1]+"."+parts[2]), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §2.1 assertion is required",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(form("grant_type", string(endpoint.GrantJWTBearer)), wlAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 7523 §2.1 a garbage assertion is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm("not.a.jwt"), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7523 §2.1 with RFC 6749 §5.2 a client without the grant is unauthorized_client",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss)), basic("backend", backendSecret))
			},
			status: 400, code: endpoint.UnauthorizedClient,
		},
		{
			name: "RFC 7523 §2.1 with RFC 6749 §3.3 a scope beyond the client's is invalid_scope",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(bearerForm(g.jwt(g.platform, platformIss), "scope", "admin"), wlAuth)
			},
			status: 400, code: endpoint.InvalidScope,
		},
		{
			name: "RFC 8725 §3.1 an HMAC assertion is refused whatever its key",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				s, err := jws.NewSigner(jws.HS256, []byte(strings.Repeat("k", 32)), "platform-1")
				require.NoError(t, err)
				c := &jws.Claims{Issuer: platformIss, Subject: userName, Audience: []string{testIssuer},
					IssuedAt: g.clock.Now(), Expiry: g.clock.Now().Add(time.Minute), ID: "h1"}
				p, err := c.MarshalJSON()
				require.NoError(t, err)
				tok, err := jws.Sign(s, jws.Protected{Type: "JWT"}, p)
				require.NoError(t, err)
				return g.token(bearerForm(tok), wlAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
	}
	runGrantCases(t, cases)
}

// TestJWTBearerDisabled: without trusted issuers the grant does not exist.
func TestJWTBearerDisabled(t *testing.T) {
	f := newFixtureConfig(t, fixtureConfig{clients: append(standardClients(t), grantClients(t)...)})
	resp := f.token(bearerForm("a.b.c"), wlAuth)
	assert.Equal(t, endpoint.UnsupportedGrantType, errCode(t, resp))
	var m map[string]any
	require.NoError(t, json.Unmarshal(f.srv.Metadata().Body, &m))
	assert.NotContains(t, m["grant_types_supported"], string(endpoint.GrantJWTBearer))
}

// TestTrustedIssuerOptions: WithTrustedIssuers refuses what cannot work.
func TestTrustedIssuerOptions(t *testing.T) {
	keys := func(context.Context) jws.KeySource { return nil }
	for name, list := range map[string][]*endpoint.TrustedIssuer{
		"no issuer":    {{Keys: keys}},
		"no keys":      {{Issuer: "https://a"}},
		"listed twice": {{Issuer: "https://a", Keys: keys}, {Issuer: "https://a", Keys: keys}},
		"HMAC":         {{Issuer: "https://a", Keys: keys, Algorithms: []string{jws.HS256}}},
		"nil":          {nil},
	} {
		f := newFixture(t)
		_, err := endpoint.New(testIssuer, endpoint.Rings{Internal: f.internal, Audiences: f.rings, Default: apiAud},
			f.clients, f.store, endpoint.WithTrustedIssuers(list...))
		assert.Error(t, err, name)
	}
}

// TestJWTBearerKeysUnavailable: when a trusted issuer's keys cannot be
// obtained (its jwks_uri is down), the answer is 503 temporarily_unavailable
// with Retry-After, not invalid_grant: the assertion is not at fault, and
// its jti is not spent.
func TestJWTBearerKeysUnavailable(t *testing.T) {
	down := errors.New("jwks_uri: connection refused")
	var broken atomic.Bool
	broken.Store(true)
	g := &grantsFixture{platform: newIssuerKey(t, "platform-1")}
	g.fixture = newFixtureConfig(t, fixtureConfig{
		clients: append(standardClients(t), grantClients(t)...),
		opts: []endpoint.Option{endpoint.WithTrustedIssuers(&endpoint.TrustedIssuer{
			Issuer: platformIss,
			Keys: func(context.Context) jws.KeySource {
				return jws.KeyFunc(func(h *jws.Header) (*jws.Key, error) {
					if broken.Load() {
						return nil, fmt.Errorf("%w: %w", endpoint.ErrKeysUnavailable, down)
					}
					return g.platform.set.VerificationKey(h)
				})
			},
		})},
	})
	a := g.jwt(g.platform, platformIss, jwtSub("svc-account"))
	resp := g.token(bearerForm(a), wlAuth)
	require.Equal(t, 503, resp.Status, "body %s", resp.Body)
	assert.Equal(t, endpoint.TemporarilyUnavailable, errCode(t, resp))
	assert.NotEmpty(t, hdr(resp, "Retry-After"))
	broken.Store(false)
	assert.Equal(t, 200, g.token(bearerForm(a), wlAuth).Status, "the same assertion, once the keys are back")
}
