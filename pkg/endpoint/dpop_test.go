package endpoint_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// rawProof signs claims as a DPoP proof by key with typ and the jwk header
// jwk (nil: key's public JWK), for the rows that break the proof's shape.
func rawProof(t testing.TB, key *ecdsa.PrivateKey, typ string, jwk []byte, claims map[string]any) string {
	t.Helper()
	if jwk == nil {
		var err error
		jwk, err = jws.AppendPublicJWK(nil, key.Public(), "", "")
		require.NoError(t, err)
	}
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	tok, err := jws.Sign(mustSigner(t, jws.ES256, key, ""), jws.Protected{Type: typ, Extra: []jws.Member{{Name: "jwk", Value: jwk}}}, payload)
	require.NoError(t, err)
	return tok
}

// TestDPoPTokenEndpointConformance: one row per rule of RFC 9449 §4.3 (and
// §5, §8, §11.1) at the token endpoint, each a client_credentials request
// of backend whose DPoP header follows or breaks it. A valid proof yields
// an access token of token_type DPoP bound to the proof's key (cnf.jkt,
// §6.1); an invalid one is invalid_dpop_proof naming the rule.
func TestDPoPTokenEndpointConformance(t *testing.T) {
	type row struct {
		name    string
		headers func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt
		code    endpoint.ErrorCode // "" for success
		want    string             // description fragment
		nonces  bool
	}
	proofOf := func(mods ...func(*dpop.Claims)) func(*bindFixture, *ecdsa.PrivateKey) []reqOpt {
		return func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
			return []reqOpt{withProof(f.proof(key, mods...))}
		}
	}
	now := func(f *bindFixture) int64 { return f.clock.Now().Unix() }
	good := func(f *bindFixture) map[string]any {
		return map[string]any{"jti": "j-" + f.t.Name(), "htm": "POST", "htu": testIssuer + "/token", "iat": now(f)}
	}
	tests := []row{
		{name: "RFC 9449 §4.3 a valid ES256 proof", headers: proofOf()},
		{name: "RFC 9449 §4.3 (9) htu ignores the query", headers: proofOf(func(c *dpop.Claims) { c.URI += "?x=1" })},
		{name: "RFC 9449 §4.3 (9) htu scheme and host case-insensitive", headers: proofOf(func(c *dpop.Claims) { c.URI = "HTTPS://Issuer.Example.COM/token" })},
		{name: "RFC 9449 §4.3 (9) htu default port dropped", headers: proofOf(func(c *dpop.Claims) { c.URI = "https://issuer.example.com:443/token" })},
		{name: "RFC 9449 §4.3 (1) exactly one DPoP header", code: endpoint.InvalidDPoPProof, want: "more than one",
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				p := f.proof(key)
				return []reqOpt{func(r *endpoint.Request) {
					r.Header = append(r.Header.(endpoint.Headers), endpoint.HeaderField{Name: "DPoP", Value: p}, endpoint.HeaderField{Name: "DPoP", Value: p})
				}}
			}},
		{name: "RFC 9449 §4.3 (2) a well-formed JWT", code: endpoint.InvalidDPoPProof, want: "well-formed JWT",
			headers: func(*bindFixture, *ecdsa.PrivateKey) []reqOpt { return []reqOpt{withProof("not.a.jwt")} }},
		{name: "RFC 9449 §4.3 (4) typ dpop+jwt", code: endpoint.InvalidDPoPProof, want: "typ dpop+jwt",
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				return []reqOpt{withProof(rawProof(t, key, "JWT", nil, good(f)))}
			}},
		{name: "RFC 9449 §4.3 (7) the jwk holds no private key", code: endpoint.InvalidDPoPProof, want: "jwk",
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				pub, err := jws.AppendPublicJWK(nil, key.Public(), "", "")
				require.NoError(t, err)
				priv := append(pub[:len(pub)-1:len(pub)-1], `,"d":"`+base64URL.EncodeToString(key.D.FillBytes(make([]byte, 32)))+`"}`...)
				return []reqOpt{withProof(rawProof(t, key, "dpop+jwt", priv, good(f)))}
			}},
		{name: "RFC 9449 §4.3 (6) signed by the key of its jwk", code: endpoint.InvalidDPoPProof, want: "valid signature",
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				other, err := jws.AppendPublicJWK(nil, ecKey(t).Public(), "", "")
				require.NoError(t, err)
				return []reqOpt{withProof(rawProof(t, key, "dpop+jwt", other, good(f)))}
			}},
		{name: "RFC 9449 §4.3 (3) jti required", code: endpoint.InvalidDPoPProof, want: "lacks jti",
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				c := good(f)
				delete(c, "jti")
				return []reqOpt{withProof(rawProof(t, key, "dpop+jwt", nil, c))}
			}},
		{name: "RFC 9449 §4.3 (8) htm is the request method", code: endpoint.InvalidDPoPProof, want: "htm",
			headers: proofOf(func(c *dpop.Claims) { c.Method = "GET" })},
		{name: "RFC 9449 §4.3 (9) htu of another server", code: endpoint.InvalidDPoPProof, want: "htu",
			headers: proofOf(func(c *dpop.Claims) { c.URI = "https://evil.example.com/token" })},
		{name: "RFC 9449 §4.3 (9) htu of another endpoint", code: endpoint.InvalidDPoPProof, want: "htu",
			headers: proofOf(func(c *dpop.Claims) { c.URI = testIssuer + "/introspect" })},
		{name: "RFC 9449 §4.3 (9) htu path case is kept", code: endpoint.InvalidDPoPProof, want: "htu",
			headers: proofOf(func(c *dpop.Claims) { c.URI = testIssuer + "/TOKEN" })},
		{name: "RFC 9449 §4.3 (11) stale iat", code: endpoint.InvalidDPoPProof, want: "iat",
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				return []reqOpt{withProof(f.proof(key, func(c *dpop.Claims) { c.IssuedAt = f.clock.Now().Add(-2 * time.Minute) }))}
			}},
		{name: "RFC 9449 §4.3 (11) iat in the future", code: endpoint.InvalidDPoPProof, want: "iat",
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				return []reqOpt{withProof(f.proof(key, func(c *dpop.Claims) { c.IssuedAt = f.clock.Now().Add(time.Minute) }))}
			}},
		{name: "RFC 9449 §8 nonce required: a proof without one", code: endpoint.UseDPoPNonce, want: "nonce", nonces: true,
			headers: proofOf()},
		{name: "RFC 9449 §8 nonce required: a made-up nonce", code: endpoint.UseDPoPNonce, want: "nonce", nonces: true,
			headers: proofOf(func(c *dpop.Claims) { c.Nonce = "AAAAAAAAAAAAAAAAAAAAAA" })},
		{name: "RFC 9449 §8 nonce required: an expired nonce (three steps old)", code: endpoint.UseDPoPNonce, want: "nonce", nonces: true,
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				old, err := dpop.NewNonces(time.Minute, func() time.Time { return t0.Add(-3 * time.Minute) }, []byte(strings.Repeat("k", 32)))
				require.NoError(t, err)
				return []reqOpt{withProof(f.proof(key, func(c *dpop.Claims) { c.Nonce = old.Current() }))}
			}},
		{name: "RFC 9449 §8 nonce required: the previous step's nonce is still accepted", nonces: true,
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				prev, err := dpop.NewNonces(time.Minute, func() time.Time { return t0.Add(-time.Minute) }, []byte(strings.Repeat("k", 32)))
				require.NoError(t, err)
				return []reqOpt{withProof(f.proof(key, func(c *dpop.Claims) { c.Nonce = prev.Current() }))}
			}},
		{name: "RFC 9449 §8 nonce required: the server's nonce", nonces: true,
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				return []reqOpt{withProof(f.proof(key, func(c *dpop.Claims) { c.Nonce = f.nonces.Current() }))}
			}},
		{name: "RFC 9449 §4.3 (9) behind a trusted proxy: the forwarded host",
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				return []reqOpt{fromAddr(proxyAddr), header("X-Forwarded-Host", "public.example.com"), header("X-Forwarded-Proto", "https"),
					withProof(f.proof(key, func(c *dpop.Claims) { c.URI = "https://public.example.com/token" }))}
			}},
		{name: "RFC 9449 §4.3 (9) a forwarded host from an untrusted peer is not believed", code: endpoint.InvalidDPoPProof, want: "htu",
			headers: func(f *bindFixture, key *ecdsa.PrivateKey) []reqOpt {
				return []reqOpt{header("X-Forwarded-Host", "public.example.com"),
					withProof(f.proof(key, func(c *dpop.Claims) { c.URI = "https://public.example.com/token" }))}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []endpoint.Option
			var nonces *dpop.Nonces
			if tt.nonces {
				var err error
				clk := &fakeClock{now: t0}
				nonces, err = dpop.NewNonces(time.Minute, clk.Now, []byte(strings.Repeat("k", 32)))
				require.NoError(t, err)
				opts = append(opts, endpoint.WithDPoPNonces(nonces))
			}
			f := newBindFixture(t, opts...)
			f.nonces = nonces
			key := ecKey(t)
			reqOpts := append([]reqOpt{basic("backend", backendSecret)}, tt.headers(f, key)...)
			resp := f.token(form("grant_type", "client_credentials"), reqOpts...)
			if tt.nonces {
				assert.Equal(t, nonces.Current(), hdr(resp, "DPoP-Nonce"), "RFC 9449 §8.1: every token response carries the nonce")
			} else {
				assert.Empty(t, hdr(resp, "DPoP-Nonce"))
			}
			if tt.code != "" {
				require.Equal(t, 400, resp.Status, "body %s", resp.Body)
				assert.Equal(t, tt.code, errCode(t, resp))
				assert.Contains(t, description(t, resp), tt.want)
				return
			}
			tok := decodeTokens(t, resp)
			assert.Equal(t, "DPoP", tok.TokenType, "RFC 9449 §5")
			c, err := f.openAccess(apiAud, tok.AccessToken)
			require.NoError(t, err)
			assert.Equal(t, jkt(t, key), c.Confirmation.JKT, "RFC 9449 §6.1 cnf.jkt")
			intro := body(t, f.introspect(form("token", tok.AccessToken), asRS()))
			assert.Equal(t, "DPoP", intro["token_type"], "RFC 9449 §6.2")
			assert.Equal(t, map[string]any{"jkt": jkt(t, key)}, intro["cnf"], "RFC 9449 §6.2")
		})
	}
}

// TestDPoPReplayAttack: RFC 9449 §11.1 as an attacker works: a proof
// captured from a token request is replayed, with the same and with a
// fresh client authentication, at once and at a second replica sharing the
// store; every replay is refused, and the victim's next proof still gets a
// token.
func TestDPoPReplayAttack(t *testing.T) {
	f := newBindFixture(t)
	key := ecKey(t)
	p := f.proof(key)
	decodeTokens(t, f.token(form("grant_type", "client_credentials"), basic("backend", backendSecret), withProof(p)))
	for _, who := range []reqOpt{basic("backend", backendSecret), basic("dpop-only", backendSecret)} {
		resp := f.token(form("grant_type", "client_credentials"), who, withProof(p))
		require.Equal(t, 400, resp.Status)
		require.Equal(t, endpoint.InvalidDPoPProof, errCode(t, resp))
		require.Contains(t, description(t, resp), "used before")
	}
	replica, err := endpoint.New(testIssuer, endpoint.Rings{Internal: f.internal, Audiences: f.rings, Default: apiAud},
		f.clients, f.store, endpoint.WithClock(f.clock.Now), endpoint.WithKeySetFetcher(f.fetcher), endpoint.WithClientCAs(f.ca.pool()))
	require.NoError(t, err)
	resp, _ := replica.Token(context.Background(), request("/token", form("grant_type", "client_credentials"), basic("backend", backendSecret), withProof(p)))
	require.Equal(t, 400, resp.Status, "a replay at another replica: %s", resp.Body)

	// The store is down: the proof is refused (503), never accepted
	// unchecked.
	f.store.down.Store(true)
	resp = f.token(form("grant_type", "client_credentials"), basic("backend", backendSecret), withProof(f.proof(key)))
	require.Equal(t, 503, resp.Status)
	f.store.down.Store(false)

	tok := decodeTokens(t, f.token(form("grant_type", "client_credentials"), basic("backend", backendSecret), withProof(f.proof(key))))
	require.Equal(t, "DPoP", tok.TokenType)
}

// TestDPoPBoundClient: RFC 9449 §5.2 dpop_bound_access_tokens makes DPoP
// mandatory for the client.
func TestDPoPBoundClient(t *testing.T) {
	f := newBindFixture(t)
	resp := f.token(form("grant_type", "client_credentials"), basic("dpop-only", backendSecret))
	require.Equal(t, 400, resp.Status)
	require.Equal(t, endpoint.InvalidDPoPProof, errCode(t, resp))
	assert.Contains(t, description(t, resp), "required")
	tok := decodeTokens(t, f.token(form("grant_type", "client_credentials"), basic("dpop-only", backendSecret), withProof(f.proof(ecKey(t)))))
	require.Equal(t, "DPoP", tok.TokenType)
}

// TestDPoPRefreshTokens: RFC 9449 §5 — a public client's refresh token is
// bound to the key of the proof it was issued with: a refresh without a
// proof, or with another key (a thief's), fails and spends nothing; the
// holder refreshes. A confidential client's refresh token is not bound
// (its authentication binds it), and each refresh binds the new access
// token to that request's key.
func TestDPoPRefreshTokens(t *testing.T) {
	f := newBindFixture(t)
	key := ecKey(t)
	code := f.code("spa", codeRedirect(spaRedirect))
	tok := decodeTokens(t, f.token(form("grant_type", "authorization_code", "client_id", "spa", "code", code,
		"redirect_uri", spaRedirect, "code_verifier", verifierS256), withProof(f.proof(key))))
	require.Equal(t, "DPoP", tok.TokenType)
	rt, err := f.openRefresh(tok.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, jkt(t, key), rt.Confirmation.JKT, "RFC 9449 §5: bound refresh token")

	refresh := func(opts ...reqOpt) *endpoint.Response {
		return f.token(form("grant_type", "refresh_token", "client_id", "spa", "refresh_token", tok.RefreshToken), opts...)
	}
	resp := refresh()
	require.Equal(t, endpoint.InvalidGrant, errCode(t, resp))
	assert.Contains(t, description(t, resp), "send a DPoP proof")
	resp = refresh(withProof(f.proof(ecKey(t))))
	require.Equal(t, endpoint.InvalidGrant, errCode(t, resp))
	assert.Contains(t, description(t, resp), "another DPoP key")
	next := decodeTokens(t, refresh(withProof(f.proof(key))))
	require.Equal(t, "DPoP", next.TokenType)
	c, err := f.openAccess(apiAud, next.AccessToken)
	require.NoError(t, err)
	require.Equal(t, jkt(t, key), c.Confirmation.JKT)

	// Confidential: the refresh token is not bound.
	web := f.token(form("grant_type", "authorization_code", "code", f.code("webapp"), "redirect_uri", webRedirect,
		"code_verifier", verifierS256), basic("webapp", webappSecret), withProof(f.proof(key)))
	wt := decodeTokens(t, web)
	wrt, err := f.openRefresh(wt.RefreshToken)
	require.NoError(t, err)
	require.True(t, wrt.Confirmation.IsZero(), "RFC 9449 §5: a confidential client's refresh token is not bound")
	key2 := ecKey(t)
	wt = decodeTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", wt.RefreshToken), basic("webapp", webappSecret), withProof(f.proof(key2))))
	c, err = f.openAccess(apiAud, wt.AccessToken)
	require.NoError(t, err)
	require.Equal(t, jkt(t, key2), c.Confirmation.JKT)
	wt = decodeTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", wt.RefreshToken), basic("webapp", webappSecret)))
	require.Equal(t, "Bearer", wt.TokenType)
}

// TestDPoPAuthorizationCodeBinding: RFC 9449 §10 — dpop_jkt at the
// authorization endpoint binds the code: its exchange needs a proof of that
// key; a thief with the code and another key, or none, gets nothing, and
// the code is not spent by the attempt.
func TestDPoPAuthorizationCodeBinding(t *testing.T) {
	f := newBindFixture(t)
	key := ecKey(t)
	authorize := func(jkt string) (*url.URL, *endpoint.Response) {
		q := url.Values{"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {spaRedirect},
			"code_challenge": {challengeS256}, "code_challenge_method": {"S256"}, "dpop_jkt": {jkt}, "scope": {"read"}}
		r := &endpoint.Request{Method: "GET", URI: "/authorize?" + q.Encode(), Secure: true, Header: endpoint.Headers{}}
		ar, resp, _ := f.srv.ValidateAuthorize(context.Background(), r)
		if resp != nil {
			return nil, resp
		}
		resp, _ = f.srv.Authorize(context.Background(), ar, endpoint.Grant{Subject: userID})
		loc, err := url.Parse(hdr(resp, "Location"))
		require.NoError(t, err)
		return loc, resp
	}
	loc, resp := authorize(jkt(t, key))
	require.NotNil(t, loc, "authorize: %d %v", resp.Status, resp.Header)
	code := loc.Query().Get("code")
	require.NotEmpty(t, code, "location %s", loc)
	exchange := func(opts ...reqOpt) *endpoint.Response {
		return f.token(form("grant_type", "authorization_code", "client_id", "spa", "code", code,
			"redirect_uri", spaRedirect, "code_verifier", verifierS256), opts...)
	}
	resp = exchange()
	require.Equal(t, endpoint.InvalidGrant, errCode(t, resp))
	assert.Contains(t, description(t, resp), "bound to a DPoP key")
	resp = exchange(withProof(f.proof(ecKey(t))))
	require.Equal(t, endpoint.InvalidGrant, errCode(t, resp))
	assert.Contains(t, description(t, resp), "another DPoP key")
	tok := decodeTokens(t, exchange(withProof(f.proof(key))))
	c, err := f.openAccess(apiAud, tok.AccessToken)
	require.NoError(t, err)
	require.Equal(t, jkt(t, key), c.Confirmation.JKT)

	// A malformed dpop_jkt is an error redirected to the client.
	loc, resp = authorize("not-a-thumbprint")
	require.Nil(t, loc)
	require.Equal(t, 302, resp.Status)
	redirect, err := url.Parse(hdr(resp, "Location"))
	require.NoError(t, err)
	require.Equal(t, "invalid_request", redirect.Query().Get("error"))
	require.Contains(t, redirect.Query().Get("error_description"), "dpop_jkt")
}

// TestCheckTokenBinding: what the issuer's own protected resources
// (userinfo) check, RFC 9449 §7 and RFC 8705 §3, one row per rule.
func TestCheckTokenBinding(t *testing.T) {
	f := newBindFixture(t)
	key := ecKey(t)
	const path = "/userinfo"
	htu := testIssuer + path
	bound := &crypttoken.Claims{Confirmation: crypttoken.Confirmation{JKT: jkt(t, key)}}
	certBound := &crypttoken.Claims{Confirmation: crypttoken.Confirmation{X5TS256: certThumb(f.mtlsCert)}}
	bearer := &crypttoken.Claims{}
	const token = "the-access-token"
	proofFor := func(k crypto.Signer, mods ...func(*dpop.Claims)) reqOpt {
		return withProof(f.proof(k, append([]func(*dpop.Claims){func(c *dpop.Claims) {
			c.Method, c.URI, c.AccessToken = "GET", htu, token
		}}, mods...)...))
	}
	tests := []struct {
		name   string
		claims *crypttoken.Claims
		scheme string
		opts   []reqOpt
		code   endpoint.ErrorCode
		challenge,
		want string
	}{
		{name: "RFC 9449 §7.1 bound token, DPoP scheme, valid proof", claims: bound, scheme: "DPoP", opts: []reqOpt{proofFor(key)}},
		{name: "RFC 9449 §7.2 bound token presented as Bearer", claims: bound, scheme: "Bearer", opts: []reqOpt{proofFor(key)},
			code: endpoint.InvalidToken, challenge: "DPoP algs=", want: "DPoP-bound"},
		{name: "RFC 9449 §7.1 unbound token with the DPoP scheme", claims: bearer, scheme: "DPoP", opts: []reqOpt{proofFor(key)},
			code: endpoint.InvalidToken, challenge: "DPoP algs=", want: "not DPoP-bound"},
		{name: "RFC 9449 §7.1 bound token without a proof", claims: bound, scheme: "DPoP",
			code: endpoint.InvalidDPoPProof, challenge: "DPoP algs=", want: "required"},
		{name: "RFC 9449 §4.3 (12) proof by another key (a stolen token)", claims: bound, scheme: "DPoP", opts: []reqOpt{proofFor(ecKey(t))},
			code: endpoint.InvalidDPoPProof, want: "bound to"},
		{name: "RFC 9449 §4.3 (12) ath of another token", claims: bound, scheme: "DPoP",
			opts: []reqOpt{proofFor(key, func(c *dpop.Claims) { c.AccessToken = "another" })}, code: endpoint.InvalidDPoPProof, want: "ath"},
		{name: "RFC 9449 §4.3 (12) no ath", claims: bound, scheme: "DPoP",
			opts: []reqOpt{proofFor(key, func(c *dpop.Claims) { c.AccessToken = "" })}, code: endpoint.InvalidDPoPProof, want: "ath"},
		{name: "RFC 9449 §4.3 (8) htm", claims: bound, scheme: "DPoP",
			opts: []reqOpt{proofFor(key, func(c *dpop.Claims) { c.Method = "POST" })}, code: endpoint.InvalidDPoPProof, want: "htm"},
		{name: "RFC 9449 §4.3 (9) htu of the token endpoint", claims: bound, scheme: "DPoP",
			opts: []reqOpt{proofFor(key, func(c *dpop.Claims) { c.URI = testIssuer + "/token" })}, code: endpoint.InvalidDPoPProof, want: "htu"},
		{name: "RFC 8705 §3 certificate-bound token with the certificate", claims: certBound, scheme: "Bearer", opts: []reqOpt{withCert(f.mtlsCert)}},
		{name: "RFC 8705 §3 certificate-bound token without a certificate", claims: certBound, scheme: "Bearer",
			code: endpoint.InvalidToken, challenge: "Bearer error=", want: "client certificate"},
		{name: "RFC 8705 §3 certificate-bound token with another certificate", claims: certBound, scheme: "Bearer", opts: []reqOpt{withCert(f.selfCert)},
			code: endpoint.InvalidToken, want: "client certificate"},
		{name: "RFC 6750 §2.1 a bearer token as Bearer", claims: bearer, scheme: "Bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(path, "", append([]reqOpt{method("GET")}, tt.opts...)...)
			e := f.srv.CheckTokenBinding(context.Background(), r, path, tt.scheme, token, tt.claims)
			if tt.code == "" {
				require.Nil(t, e)
				return
			}
			require.NotNil(t, e)
			assert.Equal(t, tt.code, e.Code)
			resp := f.srv.ResourceErrorResponse(e)
			assert.Equal(t, 401, resp.Status)
			ch := hdr(resp, "WWW-Authenticate")
			assert.Contains(t, ch, tt.challenge)
			assert.Contains(t, ch, `error="`+string(tt.code)+`"`)
			assert.Contains(t, e.Description, tt.want)
		})
	}
	// A Request built without header fields is read as having none.
	e := f.srv.CheckTokenBinding(context.Background(), &endpoint.Request{Method: "GET"}, path, "DPoP", token, bound)
	require.NotNil(t, e)
	require.Equal(t, endpoint.InvalidDPoPProof, e.Code)
	_, _, ok, ae := endpoint.AccessToken(&endpoint.Request{})
	require.False(t, ok)
	require.Nil(t, ae)

	resp := f.srv.ResourceErrorResponse(nil)
	require.Equal(t, 401, resp.Status)
	require.Equal(t, []string{"Bearer", `DPoP algs="ES256 EdDSA PS256 RS256"`}, resp.Header.Values("WWW-Authenticate"))
}
