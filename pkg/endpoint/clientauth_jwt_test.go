package endpoint_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// TestClientAssertionConformance: one row per rule of RFC 7523 §2.2 and §3
// (and RFC 7521 §4.2, RFC 8725 §3.1), each a request that breaks it and is
// refused invalid_client naming the rule, beside rows that follow it.
func TestClientAssertionConformance(t *testing.T) {
	type row struct {
		name string
		id   string                        // the client whose assertion it is (default pkjwt)
		mod  func(*assertionClaims)        // changes the claims
		sign func(*bindFixture) jws.Signer // default: pkjwt's ES256 key
		raw  func(*bindFixture, assertionClaims) string
		form func(assertion string) string
		opts []reqOpt
		// want: 200, or the description fragment of a 401 invalid_client.
		ok   bool
		want string
		noID bool // the request names no client
	}
	minute := time.Minute
	tests := []row{
		{name: "RFC 7523 §2.2 private_key_jwt ES256 with an inline jwks", ok: true},
		{name: "RFC 7523 §2.2 private_key_jwt EdDSA (RFC 8037)", ok: true,
			sign: func(b *bindFixture) jws.Signer { return mustSigner(t, jws.EdDSA, b.clientEd, "ed") }},
		{name: "RFC 7523 §2.2 client_id may accompany the assertion", ok: true,
			form: func(a string) string { return assertionForm(a, "client_id", "pkjwt") }},
		{name: "RFC 7521 §4.2 client_id must equal iss", want: "client_id differs",
			form: func(a string) string { return assertionForm(a, "client_id", "backend") }},
		{name: "RFC 7521 §4.2.1 one method only: Basic and an assertion", want: "more than one",
			opts: []reqOpt{basic("backend", backendSecret)}},
		{name: "RFC 7521 §4.2.1 one method only: client_secret and an assertion", want: "more than one",
			form: func(a string) string { return assertionForm(a, "client_secret", "x") }},
		{name: "RFC 7523 §2.2 client_assertion_type must be the jwt-bearer URN", want: "client_assertion_type",
			form: func(a string) string {
				return form("grant_type", "client_credentials", "client_assertion_type", "urn:example:saml", "client_assertion", a)
			}},
		{name: "RFC 7521 §4.2 client_assertion required with its type", want: "missing client_assertion", noID: true,
			form: func(string) string {
				return form("grant_type", "client_credentials", "client_assertion_type", endpoint.AssertionType)
			}},
		{name: "RFC 7523 §2.2 the assertion is a JWS", want: "compact JWS", noID: true,
			raw: func(*bindFixture, assertionClaims) string { return "not-a-jwt" }},
		{name: "RFC 7523 §3 item 1 iss required", want: "no iss", noID: true,
			mod: func(c *assertionClaims) { c.iss = "" }},
		{name: "RFC 7523 §3 item 1 iss names a known client", want: "unknown client",
			mod: func(c *assertionClaims) { c.iss, c.sub = "nobody", "nobody" }},
		{name: "RFC 7523 §3 item 2 sub must equal iss (the client id)", want: "sub must be the client id",
			mod: func(c *assertionClaims) { c.sub = "backend" }},
		{name: "RFC 7523 §3 item 2 sub required", want: "sub must be the client id",
			mod: func(c *assertionClaims) { c.sub = "" }},
		{name: "RFC 7523 §3 item 3 aud the issuer identifier", ok: true},
		{name: "RFC 7523 §3 item 3 aud the token endpoint URL (OIDC Core §9)", ok: true,
			mod: func(c *assertionClaims) { c.aud = testIssuer + "/token" }},
		{name: "RFC 7523 §3 item 3 aud an array holding the issuer", ok: true,
			mod: func(c *assertionClaims) { c.aud = []string{"https://someone.else", testIssuer} }},
		{name: "RFC 7523 §3 item 3 wrong aud", want: "aud must identify this server",
			mod: func(c *assertionClaims) { c.aud = "https://evil.example.com" }},
		{name: "RFC 7523 §3 item 3 aud required", want: "aud must identify this server",
			mod: func(c *assertionClaims) { c.aud = nil }},
		{name: "RFC 7523 §3 item 4 exp required", want: "lacks exp or jti",
			mod: func(c *assertionClaims) { c.exp = time.Time{} }},
		{name: "RFC 7523 §3 item 4 expired (beyond the leeway)", want: "expired",
			mod: func(c *assertionClaims) { c.iat, c.exp = c.iat.Add(-5*minute), c.iat.Add(-minute) }},
		{name: "RFC 7523 §3 item 4 expired within the leeway is accepted", ok: true,
			mod: func(c *assertionClaims) { c.iat, c.exp = c.iat.Add(-minute), c.iat.Add(-10*time.Second) }},
		{name: "RFC 7523 §3 item 4 exp too far ahead (unreasonable lifetime)", want: "too far ahead",
			mod: func(c *assertionClaims) { c.exp = c.iat.Add(10 * minute) }},
		{name: "RFC 7523 §3 item 5 nbf in the future", want: "not valid yet",
			mod: func(c *assertionClaims) { c.nbf = c.iat.Add(2 * minute) }},
		{name: "RFC 7523 §3 item 6 iat in the future", want: "iat is in the future",
			mod: func(c *assertionClaims) { c.iat = c.iat.Add(2 * minute) }},
		{name: "RFC 7523 §3 item 7 jti required", want: "lacks exp or jti",
			mod: func(c *assertionClaims) { c.jti = "" }},
		{name: "RFC 7523 §3 item 9 signature by a key the client did not register", want: "signature does not verify",
			sign: func(*bindFixture) jws.Signer { return mustSigner(t, jws.ES256, ecKey(t), "k1") }},
		{name: "RFC 7523 §3 item 9 unknown kid", want: "no registered key",
			sign: func(*bindFixture) jws.Signer { return mustSigner(t, jws.ES256, ecKey(t), "k9") }},
		{name: "RFC 8725 §3.1 alg none is never accepted", want: "alg is not allowed",
			raw: func(_ *bindFixture, c assertionClaims) string { return unsignedJWT(t, c) }},
		{name: "RFC 8725 §3.1 HMAC with the public key as secret is refused", want: "HS256 is client_secret_jwt",
			sign: func(b *bindFixture) jws.Signer {
				der, err := x509.MarshalPKIXPublicKey(b.clientKey.Public())
				require.NoError(t, err)
				return mustSigner(t, jws.HS256, der, "k1")
			}},
		{name: "RFC 7523 §2.2 client_secret_jwt HS256 with the secret", id: "secjwt", ok: true,
			sign: func(*bindFixture) jws.Signer { return mustSigner(t, jws.HS256, []byte(hmacSecret), "") }},
		{name: "RFC 7523 §3 item 9 client_secret_jwt with a wrong secret", id: "secjwt", want: "signature does not verify",
			sign: func(*bindFixture) jws.Signer { return mustSigner(t, jws.HS256, []byte(hmacSecret+"x"), "") }},
		{name: "RFC 7523 §2.2 client_secret_jwt is HS256 only", id: "secjwt", want: "signed with HS256",
			sign: func(b *bindFixture) jws.Signer { return b.clientSig }},
		{name: "SPEC §10 token_endpoint_auth_method: a secret client may not send an assertion", id: "backend", want: "not registered for private_key_jwt",
			sign: func(b *bindFixture) jws.Signer { return b.clientSig }},
		{name: "SPEC §10 a public client has no key to sign with", id: "spa", want: "public client",
			sign: func(b *bindFixture) jws.Signer { return b.clientSig }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBindFixture(t)
			id := tt.id
			if id == "" {
				id = "pkjwt"
			}
			c := b.goodAssertion(id)
			if tt.mod != nil {
				tt.mod(&c)
			}
			var a string
			switch {
			case tt.raw != nil:
				a = tt.raw(b, c)
			case tt.sign != nil:
				a = c.sign(t, tt.sign(b))
			default:
				a = c.sign(t, b.clientSig)
			}
			bodyText := assertionForm(a)
			if tt.form != nil {
				bodyText = tt.form(a)
			}
			resp, res := b.srv.Token(context.Background(), request("/token", bodyText, tt.opts...))
			b.checkResult(resp, res)
			if tt.ok {
				tok := decodeTokens(t, resp)
				claims, err := b.openAccess(apiAud, tok.AccessToken)
				require.NoError(t, err)
				assert.Equal(t, id, claims.ClientID)
				return
			}
			require.Equal(t, 401, resp.Status, "body %s", resp.Body)
			assert.Equal(t, endpoint.InvalidClient, errCode(t, resp))
			assert.Contains(t, description(t, resp), tt.want)
			if !tt.noID {
				assert.NotEmpty(t, res.PresentedClientID, "the log line names the client presented")
			}
		})
	}
}

func mustSigner(t testing.TB, alg string, key any, kid string) jws.Signer {
	t.Helper()
	s, err := jws.NewSigner(alg, key, kid)
	require.NoError(t, err)
	return s
}

// TestClientAssertionReplayAttack: an attacker who captured a client's
// assertion replays it, at once and from "another replica" (the same
// shared store), and forges one with its own key under the client's kid;
// every attempt is refused, and the client still gets tokens with fresh
// assertions (RFC 7523 §3 item 7, §8).
func TestClientAssertionReplayAttack(t *testing.T) {
	b := newBindFixture(t)
	victim := b.goodAssertion("pkjwt").sign(t, b.clientSig)
	decodeTokens(t, b.token(assertionForm(victim)))

	// Replays: refused, even after the victim's own next request.
	for i := 0; i < 3; i++ {
		resp := b.token(assertionForm(victim))
		require.Equal(t, 401, resp.Status)
		require.Contains(t, description(t, resp), "used before")
	}
	// A second Server over the same store, as a second replica.
	replica, err := endpoint.New(testIssuer, endpoint.Rings{Internal: b.internal, Audiences: b.rings, Default: apiAud},
		b.clients, b.store, endpoint.WithClock(b.clock.Now), endpoint.WithKeySetFetcher(b.fetcher), endpoint.WithClientCAs(b.ca.pool()))
	require.NoError(t, err)
	resp, _ := replica.Token(context.Background(), request("/token", assertionForm(victim)))
	require.Equal(t, 401, resp.Status, "a replay at another replica sharing the store: %s", resp.Body)

	// A forgery under the victim's kid, and one that reuses the victim's
	// jti with the attacker's key: refused, and neither spends the jti
	// of a valid assertion.
	forged := b.goodAssertion("pkjwt")
	forgedTok := forged.sign(t, mustSigner(t, jws.ES256, ecKey(t), "k1"))
	require.Equal(t, 401, b.token(assertionForm(forgedTok)).Status)
	genuine := forged.sign(t, b.clientSig) // same jti, signed by the client
	decodeTokens(t, b.token(assertionForm(genuine)))

	// After the assertion's lifetime the jti is forgotten, but the
	// assertion itself has expired: still refused.
	b.clock.Advance(2 * time.Minute)
	resp = b.token(assertionForm(victim))
	require.Equal(t, 401, resp.Status)
	require.Contains(t, description(t, resp), "expired")
	decodeTokens(t, b.token(assertionForm(b.goodAssertion("pkjwt").sign(t, b.clientSig))))
}

// TestClientAssertionJWKSURI: a client registered with a jwks_uri; an
// assertion with a kid the cached set lacks refetches the set once, and
// succeeds after the client rotated its key, fails for a kid the client
// never published.
func TestClientAssertionJWKSURI(t *testing.T) {
	b := newBindFixture(t)
	decodeTokens(t, b.token(assertionForm(b.goodAssertion("pkjwt-uri").sign(t, b.clientSig))))
	require.Equal(t, int64(1), b.fetcher.fetches.Load())
	decodeTokens(t, b.token(assertionForm(b.goodAssertion("pkjwt-uri").sign(t, b.clientSig))))
	require.Equal(t, int64(1), b.fetcher.fetches.Load(), "the set is cached")

	// The client rotates: publishes k2, signs with it.
	k2 := ecKey(t)
	b.fetcher.serve(jwksURI, keySet(t, map[string]crypto.Signer{"k1": b.clientKey, "k2": k2}))
	decodeTokens(t, b.token(assertionForm(b.goodAssertion("pkjwt-uri").sign(t, mustSigner(t, jws.ES256, k2, "k2")))))
	require.Equal(t, int64(2), b.fetcher.fetches.Load(), "an unknown kid refetches")

	// An unknown kid: refetch, then refused.
	resp := b.token(assertionForm(b.goodAssertion("pkjwt-uri").sign(t, mustSigner(t, jws.ES256, ecKey(t), "k3"))))
	require.Equal(t, 401, resp.Status)
	assert.Contains(t, description(t, resp), "no registered key")
	assert.Equal(t, int64(3), b.fetcher.fetches.Load())

	// The URL fails: the client cannot authenticate, and it is its
	// problem (invalid_client), not a server error.
	b.fetcher.mu.Lock()
	delete(b.fetcher.sets, jwksURI)
	delete(b.fetcher.cached, jwksURI)
	b.fetcher.mu.Unlock()
	resp = b.token(assertionForm(b.goodAssertion("pkjwt-uri").sign(t, b.clientSig)))
	require.Equal(t, 401, resp.Status, "body %s", resp.Body)
}

// TestAuthMethodRestriction: SPEC §10 — a client with
// token_endpoint_auth_method set may authenticate with that method only,
// and is refused any other exactly as a wrong secret is (no hint of the
// method it uses).
func TestAuthMethodRestriction(t *testing.T) {
	b := newBindFixture(t)
	tests := []struct {
		name   string
		body   string
		opts   []reqOpt
		status int
	}{
		{"client_secret_post client with post", form("grant_type", "client_credentials", "client_id", "post-only", "client_secret", backendSecret), nil, 200},
		{"client_secret_post client with Basic", form("grant_type", "client_credentials"), []reqOpt{basic("post-only", backendSecret)}, 401},
		{"private_key_jwt client with Basic", form("grant_type", "client_credentials"), []reqOpt{basic("pkjwt", "anything")}, 401},
		{"private_key_jwt client with client_id alone", form("grant_type", "client_credentials", "client_id", "pkjwt"), nil, 401},
		{"tls_client_auth client with Basic", form("grant_type", "client_credentials"), []reqOpt{basic("mtls", "x"), withCert(b.mtlsCert)}, 401},
		{"default client with Basic", form("grant_type", "client_credentials"), []reqOpt{basic("backend", backendSecret)}, 200},
		{"default client with post", form("grant_type", "client_credentials", "client_id", "backend", "client_secret", backendSecret), nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, res := b.srv.Token(context.Background(), request("/token", tt.body, tt.opts...))
			b.checkResult(resp, res)
			require.Equal(t, tt.status, resp.Status, "body %s", resp.Body)
			if tt.status == 401 {
				assert.Equal(t, "client authentication failed", description(t, resp), "the same text as a wrong secret")
				if res.Err.Cause != nil {
					assert.True(t, errors.Is(res.Err.Cause, endpoint.ErrAuthMethod) || res.Err.Cause == nil, "cause %v", res.Err.Cause)
				}
			}
		})
	}
}

// TestAssertionAtIntrospectionAndRevocation: SPEC §10 — the same methods at
// the companion endpoints: a private_key_jwt client introspects and revokes
// its token with an assertion whose aud is the endpoint URL, and a resource
// server registered for private_key_jwt introspects with one whose aud is
// the issuer.
func TestAssertionAtIntrospectionAndRevocation(t *testing.T) {
	b := newBindFixture(t)
	tok := decodeTokens(t, b.token(assertionForm(b.goodAssertion("pkjwt").sign(t, b.clientSig)))).AccessToken

	c := b.goodAssertion("pkjwt")
	c.aud = testIssuer + "/introspect"
	resp := b.introspect(form("token", tok, "client_assertion_type", endpoint.AssertionType, "client_assertion", c.sign(t, b.clientSig)))
	require.Equal(t, 200, resp.Status, "body %s", resp.Body)
	require.Equal(t, true, body(t, resp)["active"])

	rs := b.goodAssertion("rs-jwt")
	resp = b.introspect(form("token", tok, "client_assertion_type", endpoint.AssertionType, "client_assertion", rs.sign(t, mustSigner(t, jws.ES256, b.rsKey, "rs"))))
	require.Equal(t, 200, resp.Status, "body %s", resp.Body)
	require.Equal(t, true, body(t, resp)["active"], "the resource server sees its audience's token")

	// The resource server's assertion is not a client's: the token
	// endpoint does not know it.
	resp = b.token(assertionForm(b.goodAssertion("rs-jwt").sign(t, mustSigner(t, jws.ES256, b.rsKey, "rs"))))
	require.Equal(t, 401, resp.Status)

	c = b.goodAssertion("pkjwt")
	c.aud = testIssuer + "/revoke"
	resp = b.revoke(form("token", tok, "client_assertion_type", endpoint.AssertionType, "client_assertion", c.sign(t, b.clientSig)))
	require.Equal(t, 200, resp.Status, "body %s", resp.Body)
	resp = b.introspect(form("token", tok), basic("rs", rsSecret))
	isInactive(t, resp)
}
