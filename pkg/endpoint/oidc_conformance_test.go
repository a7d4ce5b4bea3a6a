package endpoint_test

// Conformance of the OpenID Provider to OpenID Connect Core 1.0,
// Discovery 1.0 and RP-Initiated Logout 1.0 (SPEC §11): one row per rule,
// the section in its name, with the negative cases beside the positive.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// TestOIDCIDTokenClaims checks the ID token of a code exchange, signed
// with each algorithm of the signing ring, claim by claim (Core §2,
// §3.1.3.3, §3.1.3.6, §3.1.3.7, §5.4).
func TestOIDCIDTokenClaims(t *testing.T) {
	for _, alg := range []keys.Alg{keys.ES256, keys.EdDSA, keys.RS256} {
		t.Run(string(alg), func(t *testing.T) {
			f := newOIDC(t, alg)
			tr := f.exchange(f.code())
			require.NotEmpty(t, tr.IDToken, "no id_token for the openid scope (Core §3.1.3.3)")
			tok := f.verifyIDToken(tr.IDToken)
			now := f.clock.Now().Unix()
			rows := []struct {
				name string
				ok   func() bool
			}{
				{"Core §2: iss is the issuer identifier", func() bool { return tok.claims["iss"] == oidcIssuer }},
				{"Core §2: sub is the user id", func() bool { return tok.claims["sub"] == oidcUser }},
				{"Core §2: aud is the client id", func() bool { return tok.claims["aud"] == "rp" }},
				{"Core §2: iat is now", func() bool { return tok.num("iat") == now }},
				{"Core §2, SPEC §3: exp is iat plus the access-token lifetime", func() bool { return tok.num("exp") == now+600 }},
				{"Core §2: auth_time is the login time", func() bool { return tok.num("auth_time") == now-60 }},
				{"Core §2: nonce echoed exactly", func() bool { return tok.claims["nonce"] == "n-0S6_WzA2Mj" }},
				{"Core §2: azp is the client id", func() bool { return tok.claims["azp"] == "rp" }},
				{"Core §2: amr from the login (RFC 8176 pwd)", func() bool {
					a, _ := tok.claims["amr"].([]any)
					return len(a) == 1 && a[0] == "pwd"
				}},
				{"Front-Channel Logout §3: sid of the login session", func() bool { return tok.claims["sid"] == "sid-1" }},
				{"Core §3.1.3.6: at_hash is the left half of the token's hash", func() bool {
					var sum []byte
					if alg == keys.EdDSA {
						s := sha512.Sum512([]byte(tr.Access))
						sum = s[:32]
					} else {
						s := sha256.Sum256([]byte(tr.Access))
						sum = s[:16]
					}
					return tok.claims["at_hash"] == base64.RawURLEncoding.EncodeToString(sum)
				}},
				{"Core §5.4: profile grants name", func() bool { return tok.claims["name"] == "Alice Liddell" }},
				{"Core §5.4: email grants email and email_verified", func() bool {
					return tok.claims["email"] == "alice@example.com" && tok.claims["email_verified"] == true
				}},
				{"Core §5.4: phone not requested, not released", func() bool { _, ok := tok.claims["phone_number"]; return !ok }},
				{"Core §5.4: address not requested, not released", func() bool { _, ok := tok.claims["address"]; return !ok }},
				{"SPEC §3: typ JWT", func() bool { return tok.header.Type == "JWT" }},
				{"Core §10.1: kid names the signing key", func() bool { return tok.header.KeyID == f.signing.Load().Keys()[0].ID }},
				{"Core §3.1.3.7: alg is the ring's algorithm", func() bool { return tok.header.Algorithm == string(alg) }},
			}
			for _, r := range rows {
				t.Run(r.name, func(t *testing.T) {
					if !r.ok() {
						t.Fatalf("claims %v, header %+v", tok.claims, tok.header)
					}
				})
			}
		})
	}
}

// TestOIDCAtHash checks AtHash against the example of Core §A.3/A.4 style
// computations done independently here, per algorithm (Core §3.1.3.6).
func TestOIDCAtHash(t *testing.T) {
	const at = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
	s256 := sha256.Sum256([]byte(at))
	s512 := sha512.Sum512([]byte(at))
	s384 := sha512.Sum384([]byte(at))
	enc := base64.RawURLEncoding.EncodeToString
	rows := []struct {
		name, alg, want string
	}{
		{"Core §3.1.3.6: ES256 uses SHA-256", jws.ES256, enc(s256[:16])},
		{"Core §3.1.3.6: RS256 uses SHA-256", jws.RS256, enc(s256[:16])},
		{"Core §3.1.3.6: PS256 uses SHA-256", jws.PS256, enc(s256[:16])},
		{"Core §3.1.3.6: ES384 uses SHA-384", jws.ES384, enc(s384[:24])},
		{"OpenID Foundation EdDSA note: Ed25519 uses SHA-512", jws.EdDSA, enc(s512[:32])},
		{"an unknown alg has no at_hash", "HS999", ""},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			require.Equal(t, r.want, endpoint.AtHash(r.alg, at))
		})
	}
	// Core §A.3's example: at_hash of this token under RS256.
	require.Equal(t, "77QmUPtjPfzWtF2AnpK9RQ", endpoint.AtHash(jws.RS256, at))
}

// TestOIDCNoIDTokenWithoutOpenID: a request without the openid scope is
// plain OAuth 2.0 (Core §3.1.2.1), and a server without WithOpenID treats
// "openid" as any scope.
func TestOIDCNoIDTokenWithoutOpenID(t *testing.T) {
	f := newOIDC(t, keys.ES256)
	tr := f.exchange(f.code("scope", "read"))
	require.Empty(t, tr.IDToken)
	_, m := f.userinfo(bearerGet(tr.Access))
	require.Equal(t, "insufficient_scope", m["error"])
}

// TestOIDCNonce covers the nonce parameter (Core §3.1.2.1, §15.5.2).
func TestOIDCNonce(t *testing.T) {
	f := newOIDC(t, keys.ES256)
	rows := []struct {
		name      string
		nonce     string
		wantError string
	}{
		{name: "Core §3.1.2.1: optional for the code flow: no nonce, none in the ID token", nonce: ""},
		{name: "Core §15.5.2: echoed byte for byte", nonce: "a+b/c=d é 漢"},
		{name: "Core §3.1.2.1: a nonce too long is invalid_request", nonce: strings.Repeat("n", endpoint.MaxNonceLen+1), wantError: "invalid_request"},
		{name: "Core §3.1.2.1: control characters are invalid_request", nonce: "a\nb", wantError: "invalid_request"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			q := oidcRequest()
			q = slices.Delete(q, 10, 12) // drop the default nonce
			if r.nonce != "" {
				q = append(q, "nonce", r.nonce)
			}
			resp, _ := f.authorize(q...)
			loc := f.location(resp)
			if r.wantError != "" {
				require.Equal(t, r.wantError, loc.Get("error"))
				require.Equal(t, "st-1", loc.Get("state"))
				return
			}
			tok := f.verifyIDToken(f.exchange(loc.Get("code")).IDToken)
			if r.nonce == "" {
				require.NotContains(t, tok.claims, "nonce")
			} else {
				require.Equal(t, r.nonce, tok.claims["nonce"])
			}
		})
	}
}

// TestOIDCAuthorizationParameters covers prompt, max_age, id_token_hint,
// claims and the unsupported request parameters (Core §3.1.2.1,
// §3.1.2.6, §5.5, §6).
func TestOIDCAuthorizationParameters(t *testing.T) {
	f := newOIDC(t, keys.ES256)
	// An ID token for alice issued to rp, and one to rp2.
	hint := f.exchange(f.code()).IDToken
	hintRP2 := func() string {
		resp, _ := f.authorize("response_type", "code", "client_id", "rp2", "scope", "openid", "state", "x")
		loc := f.location(resp)
		r := request("/token", azQuery("grant_type", "authorization_code", "code", loc.Get("code")), basic("rp2", oidcRPSecret))
		resp, _ = f.srv.Token(context.Background(), r)
		var tr tokenResp
		require.NoError(t, json.Unmarshal(resp.Body, &tr))
		return tr.IDToken
	}()
	// An ID token signed by another key (an attacker's).
	forgedKey := newOIDC(t, keys.ES256)
	forged := forgedKey.exchange(forgedKey.code()).IDToken

	grantBy := func(sub string, authAgo time.Duration, zeroTime bool) endpoint.ResourceOwner {
		return endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
			g := endpoint.Grant{Subject: sub, AuthTime: f.clock.Now().Add(-authAgo)}
			if zeroTime {
				g.AuthTime = time.Time{}
			}
			return endpoint.Approve(g), nil
		})
	}
	page := endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
		return endpoint.Interact(&endpoint.Response{Status: 200, Body: []byte("<form>login</form>")}), nil
	})
	alice := grantBy(oidcUser, time.Minute, false)
	rows := []struct {
		name      string
		extra     []string
		owner     endpoint.ResourceOwner
		wantError string // "" = a code
		wantPage  bool
	}{
		{name: "Core §3.1.2.1: prompt=none with a signed-in user gets a code", extra: []string{"prompt", "none"}, owner: alice},
		{name: "Core §3.1.2.6: prompt=none where a page would show is interaction_required, redirected", extra: []string{"prompt", "none"}, owner: page, wantError: "interaction_required"},
		{name: "Core §3.1.2.1: without prompt=none the page shows", owner: page, wantPage: true},
		{name: "Core §3.1.2.1: prompt=none with another value is invalid_request", extra: []string{"prompt", "none login"}, owner: alice, wantError: "invalid_request"},
		{name: "Core §3.1.2.1: an unknown prompt value is invalid_request", extra: []string{"prompt", "create"}, owner: alice, wantError: "invalid_request"},
		{name: "Core §3.1.2.1: prompt=login consent select_account accepted", extra: []string{"prompt", "login consent select_account"}, owner: alice},
		{name: "Core §3.1.2.1: max_age not a number is invalid_request", extra: []string{"max_age", "ten"}, owner: alice, wantError: "invalid_request"},
		{name: "Core §3.1.2.1: max_age negative is invalid_request", extra: []string{"max_age", "-1"}, owner: alice, wantError: "invalid_request"},
		{name: "Core §3.1.2.1: a login within max_age gets a code", extra: []string{"max_age", "3600"}, owner: alice},
		{name: "Core §3.1.2.1: a huge max_age is capped at ten years, not overflowed: an hour-old login gets a code", extra: []string{"max_age", "9227000000"}, owner: grantBy(oidcUser, time.Hour, false)},
		{name: "Core §3.1.2.1: the longest max_age accepted (12 digits) is capped too", extra: []string{"max_age", "999999999999"}, owner: grantBy(oidcUser, time.Hour, false)},
		{name: "Core §3.1.2.1: a login older than max_age is login_required", extra: []string{"max_age", "60"}, owner: grantBy(oidcUser, time.Hour, false), wantError: "login_required"},
		{name: "Core §3.1.2.1: max_age without a known auth_time is login_required", extra: []string{"max_age", "3600"}, owner: grantBy(oidcUser, 0, true), wantError: "login_required"},
		{name: "Core §3.1.2.1: id_token_hint of the signed-in user gets a code", extra: []string{"id_token_hint", hint}, owner: alice},
		{name: "Core §3.1.2.1: id_token_hint of another user is login_required", extra: []string{"id_token_hint", hint}, owner: grantBy("u-bob", time.Minute, false), wantError: "login_required"},
		{name: "Core §3.1.2.1: id_token_hint issued to another client is invalid_request", extra: []string{"id_token_hint", hintRP2}, owner: alice, wantError: "invalid_request"},
		{name: "Core §3.1.2.1: id_token_hint signed by another key is invalid_request", extra: []string{"id_token_hint", forged}, owner: alice, wantError: "invalid_request"},
		{name: "Core §3.1.2.1: id_token_hint that is not a JWT is invalid_request", extra: []string{"id_token_hint", "not-a-token"}, owner: alice, wantError: "invalid_request"},
		{name: "Core §3.1.2.1: login_hint accepted", extra: []string{"login_hint", "alice"}, owner: alice},
		{name: "Core §3.1.2.1: ui_locales, claims_locales, display and acr_values are ignored", extra: []string{"ui_locales", "fr-CA fr", "claims_locales", "de", "display", "popup", "acr_values", "urn:mace:incommon:iap:silver"}, owner: alice},
		{name: "Core §5.5: a claims request is accepted", extra: []string{"claims", `{"id_token":{"email":{"essential":true}},"userinfo":{"name":null}}`}, owner: alice},
		{name: "Core §5.5: claims not JSON is invalid_request", extra: []string{"claims", `{"id_token":`}, owner: alice, wantError: "invalid_request"},
		{name: "Core §5.5.1: a claim neither null nor an object is invalid_request", extra: []string{"claims", `{"id_token":{"email":true}}`}, owner: alice, wantError: "invalid_request"},
		{name: "Core §5.5.1: sub requested with the signed-in user's value gets a code", extra: []string{"claims", `{"id_token":{"sub":{"value":"u-alice"}}}`}, owner: alice},
		{name: "Core §5.5.1: sub requested with another value is login_required", extra: []string{"claims", `{"id_token":{"sub":{"value":"u-bob"}}}`}, owner: alice, wantError: "login_required"},
		{name: "Core §3.1.2.6, §6: request objects are request_not_supported", extra: []string{"request", "eyJhbGciOiJub25lIn0.e30."}, owner: alice, wantError: "request_not_supported"},
		{name: "Core §3.1.2.6: registration is registration_not_supported", extra: []string{"registration", "{}"}, owner: alice, wantError: "registration_not_supported"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			resp, res := f.srv.HandleAuthorize(context.Background(), azGet(azQuery(oidcRequest(r.extra...)...)), r.owner)
			if r.wantPage {
				require.Equal(t, 200, resp.Status)
				require.Contains(t, string(resp.Body), "login")
				return
			}
			loc := f.location(resp)
			require.Equal(t, "st-1", loc.Get("state"), "state echoed (RFC 6749 §4.1.2)")
			if r.wantError == "" {
				require.Nil(t, res.Err)
				require.NotEmpty(t, loc.Get("code"), "redirect %v", loc)
				return
			}
			require.Equal(t, r.wantError, loc.Get("error"), "redirect %v", loc)
			require.Empty(t, loc.Get("code"))
			require.True(t, strings.HasPrefix(resp.Header.Get("Location"), oidcRPCB+"?"), "errors go to the redirect URI (Core §3.1.2.6)")
		})
	}
}

// TestOIDCOwnerSeesRequest: the ResourceOwner gets the parsed OpenID
// parameters.
func TestOIDCOwnerSeesRequest(t *testing.T) {
	f := newOIDC(t, keys.ES256)
	var got *endpoint.OpenIDRequest
	f.owner = endpoint.ResourceOwnerFunc(func(_ context.Context, _ *endpoint.Request, ar *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
		got = ar.OpenID
		return endpoint.Reject(endpoint.NewError(endpoint.LoginRequired, "no session")), nil
	})
	resp, _ := f.authorize(oidcRequest("prompt", "none", "max_age", "0", "login_hint", "alice@example.com")...)
	require.Equal(t, "login_required", f.location(resp).Get("error"))
	require.NotNil(t, got)
	require.True(t, got.PromptNone)
	require.True(t, got.HasMaxAge)
	require.Zero(t, got.MaxAge)
	require.Equal(t, "alice@example.com", got.LoginHint)
	require.Equal(t, "n-0S6_WzA2Mj", got.Nonce)
	// A plain OAuth request carries no OpenID parameters, and a prompt it
	// sends is not read.
	got = &endpoint.OpenIDRequest{}
	resp, _ = f.authorize("response_type", "code", "client_id", "plain", "redirect_uri", oidcRPCB, "prompt", "bogus")
	require.Equal(t, "login_required", f.location(resp).Get("error"))
	require.Nil(t, got)
}

// TestOIDCRefresh covers the ID token of a refresh (Core §12.2).
func TestOIDCRefresh(t *testing.T) {
	f := newOIDC(t, keys.EdDSA)
	first := f.exchange(f.code())
	orig := f.verifyIDToken(first.IDToken)
	f.clock.Advance(5 * time.Minute)
	st, tr := f.token("grant_type", "refresh_token", "refresh_token", first.Refresh)
	require.Equal(t, 200, st, tr.Error)
	require.NotEmpty(t, tr.IDToken, "Core §12.2: a refresh of an openid grant returns an ID token")
	tok := f.verifyIDToken(tr.IDToken)
	rows := []struct {
		name string
		ok   bool
	}{
		{"Core §12.2: same iss", tok.claims["iss"] == orig.claims["iss"]},
		{"Core §12.2: same sub", tok.claims["sub"] == orig.claims["sub"]},
		{"Core §12.2: same aud", tok.claims["aud"] == orig.claims["aud"]},
		{"Core §12.2: same auth_time", tok.num("auth_time") == orig.num("auth_time")},
		{"Core §12.2: iat is the time of the refresh", tok.num("iat") == f.clock.Now().Unix()},
		{"Core §12.2: no nonce", tok.claims["nonce"] == nil},
		{"Core §12.2: amr and sid carried over", tok.claims["sid"] == "sid-1" && tok.claims["amr"] != nil},
		{"Core §3.1.3.6: at_hash of the new access token", tok.claims["at_hash"] == endpoint.AtHash(jws.EdDSA, tr.Access)},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			require.True(t, r.ok, "refresh ID token %v, original %v", tok.claims, orig.claims)
		})
	}
	t.Run("RFC 6749 §6: a refresh narrowed to drop openid returns no ID token", func(t *testing.T) {
		st, tr2 := f.token("grant_type", "refresh_token", "refresh_token", tr.Refresh, "scope", "profile")
		require.Equal(t, 200, st, tr2.Error)
		require.Empty(t, tr2.IDToken)
	})
}

// TestOIDCPasswordGrant: the password grant with openid returns an ID
// token with amr pwd and auth_time now.
func TestOIDCPasswordGrant(t *testing.T) {
	f := newOIDC(t, keys.ES256)
	st, tr := f.token("grant_type", "password", "username", "alice", "password", "wonderland", "scope", "openid email")
	require.Equal(t, 200, st, tr.Error)
	tok := f.verifyIDToken(tr.IDToken)
	require.Equal(t, []any{"pwd"}, tok.claims["amr"])
	require.Equal(t, f.clock.Now().Unix(), tok.num("auth_time"))
	require.Equal(t, "alice@example.com", tok.claims["email"])
	require.NotContains(t, tok.claims, "name", "profile not granted")
}

// TestOIDCUserInfo covers the UserInfo endpoint (Core §5.3, §5.3.3 with
// RFC 6750 §2, §3).
func TestOIDCUserInfo(t *testing.T) {
	f := newOIDC(t, keys.ES256)
	all := f.exchange(f.code("scope", "openid profile email address phone"))
	emailOnly := f.exchange(f.code("scope", "openid email"))
	noOpenID := f.exchange(f.code("scope", "profile"))
	gone := func() string {
		saved := f.owner
		defer func() { f.owner = saved }()
		f.owner = endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
			return endpoint.Approve(endpoint.Grant{Subject: "u-gone", AuthTime: f.clock.Now()}), nil
		})
		return f.exchange(f.code()).Access
	}()
	revoked := f.exchange(f.code())
	resp, _ := f.srv.Revoke(context.Background(), request("/revoke", azQuery("token", revoked.Access), basic("rp", oidcRPSecret)))
	require.Equal(t, 200, resp.Status)
	// A resource server holding the audience key forges tokens: with no
	// proof, and with the proof of another token copied in.
	proof := f.openAccess(emailOnly.Access).Extra[endpoint.ClaimUserInfoProof]
	var proofStr string
	require.NoError(t, json.Unmarshal(proof, &proofStr))
	forgedNoProof := f.sealForged("u-bob", "openid profile email", "")
	forgedCopied := f.sealForged("u-bob", "openid email", proofStr)
	forgedWiderScope := f.sealForged(oidcUser, "openid email phone address", proofStr)

	form := func(body string, hdr ...endpoint.HeaderField) *endpoint.Request {
		h := endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}
		return &endpoint.Request{Method: "POST", URI: "/userinfo", Secure: true, Body: []byte(body), Header: append(h, hdr...)}
	}
	authz := func(v string) endpoint.HeaderField { return endpoint.HeaderField{Name: "Authorization", Value: v} }
	rows := []struct {
		name       string
		req        *endpoint.Request
		wantStatus int
		wantError  string // the JSON error and the challenge's
		check      func(t *testing.T, m map[string]any)
	}{
		{name: "Core §5.3.1, RFC 6750 §2.1: GET with a Bearer token", req: bearerGet(all.Access), wantStatus: 200,
			check: func(t *testing.T, m map[string]any) {
				require.Equal(t, oidcUser, m["sub"], "Core §5.3.2: sub is always returned")
				require.Equal(t, "Alice Liddell", m["name"])
				require.Equal(t, map[string]any{"locality": "Oxford", "country": "UK"}, m["address"], "Core §5.1.1: address is an object")
				require.Equal(t, "+44 20 7946 0000", m["phone_number"])
			}},
		{name: "Core §5.4: only the claims of the token's scopes", req: bearerGet(emailOnly.Access), wantStatus: 200,
			check: func(t *testing.T, m map[string]any) {
				require.Equal(t, map[string]any{"sub": oidcUser, "email": "alice@example.com", "email_verified": true}, m)
			}},
		{name: "RFC 6750 §2.2: POST with the token in the form body", req: form("access_token=" + url.QueryEscape(emailOnly.Access)), wantStatus: 200},
		{name: "RFC 6750 §2.1: the scheme is case-insensitive", req: &endpoint.Request{Method: "GET", URI: "/userinfo", Secure: true,
			Header: endpoint.Headers{{Name: "Authorization", Value: "bearer " + all.Access}}}, wantStatus: 200},
		{name: "RFC 6750 §3.1: no token: 401 with a challenge and no error code", req: &endpoint.Request{Method: "GET", URI: "/userinfo", Secure: true}, wantStatus: 401},
		{name: "RFC 6750 §3.1: a scheme other than Bearer or DPoP: 401 without an error code", req: &endpoint.Request{Method: "GET", URI: "/userinfo", Secure: true,
			Header: endpoint.Headers{{Name: "Authorization", Value: "Basic cnA6c2VjcmV0"}}}, wantStatus: 401},
		{name: "RFC 6750 §2: a token in the header and the body is invalid_request", req: form("access_token="+url.QueryEscape(all.Access), authz("Bearer "+all.Access)), wantStatus: 400, wantError: "invalid_request"},
		{name: "RFC 6750 §2.3: a token in the query is invalid_request", req: &endpoint.Request{Method: "GET", URI: "/userinfo?access_token=" + url.QueryEscape(all.Access), Secure: true}, wantStatus: 400, wantError: "invalid_request"},
		{name: "RFC 6750 §2.1, §3.1: credentials that are not a b64token are invalid_request", req: bearerGet("not a token"), wantStatus: 400, wantError: "invalid_request"},
		{name: "RFC 6750 §3.1: two Authorization headers are invalid_request", req: &endpoint.Request{Method: "GET", URI: "/userinfo", Secure: true,
			Header: endpoint.Headers{{Name: "Authorization", Value: "Bearer " + all.Access}, {Name: "Authorization", Value: "Bearer " + all.Access}}}, wantStatus: 400, wantError: "invalid_request"},
		{name: "RFC 6750 §3.1: a b64token that is no token is invalid_token", req: bearerGet("not-a-token"), wantStatus: 401, wantError: "invalid_token"},
		{name: "RFC 6750 §3.1: a token of no key of ours is invalid_token", req: bearerGet("eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoieCJ9.a.b.c.d"), wantStatus: 401, wantError: "invalid_token"},
		{name: "RFC 7009, RFC 6750 §3.1: a revoked token is invalid_token", req: bearerGet(revoked.Access), wantStatus: 401, wantError: "invalid_token"},
		{name: "Core §5.3.3, RFC 6750 §3.1: a token without openid is insufficient_scope (403)", req: bearerGet(noOpenID.Access), wantStatus: 403, wantError: "insufficient_scope"},
		{name: "SPEC §3 key separation: a token forged with an audience key is invalid_token", req: bearerGet(forgedNoProof), wantStatus: 401, wantError: "invalid_token"},
		{name: "SPEC §3 key separation: a forged token with another token's proof is invalid_token", req: bearerGet(forgedCopied), wantStatus: 401, wantError: "invalid_token"},
		{name: "SPEC §3 key separation: a token re-sealed with a wider scope is invalid_token", req: bearerGet(forgedWiderScope), wantStatus: 401, wantError: "invalid_token"},
		{name: "RFC 6750 §3.1: the token of a user who no longer exists is invalid_token", req: bearerGet(gone), wantStatus: 401, wantError: "invalid_token"},
		{name: "RFC 9449 §7.1: a bearer token with the DPoP scheme is invalid_token", req: &endpoint.Request{Method: "GET", URI: "/userinfo", Secure: true,
			Header: endpoint.Headers{{Name: "Authorization", Value: "DPoP " + all.Access}}}, wantStatus: 401, wantError: "invalid_token"},
		{name: "Core §5.3: TLS is required", req: func() *endpoint.Request { r := bearerGet(all.Access); r.Secure = false; return r }(), wantStatus: 400, wantError: "invalid_request"},
		{name: "Core §5.3: GET and POST only (405)", req: func() *endpoint.Request { r := bearerGet(all.Access); r.Method = "PUT"; return r }(), wantStatus: 405, wantError: "invalid_request"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			resp, m := f.userinfo(r.req)
			require.Equal(t, r.wantStatus, resp.Status, "body %s", resp.Body)
			require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			chal := resp.Header.Get("WWW-Authenticate")
			switch {
			case resp.Status == 200:
				require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
				require.Empty(t, chal)
			case resp.Status == 401 || resp.Status == 403:
				scheme := "Bearer"
				if r.req.Header != nil && strings.HasPrefix(r.req.Header.Get("Authorization"), "DPoP ") {
					scheme = "DPoP" // RFC 9449 §7.1: the scheme the client used
				}
				require.True(t, strings.HasPrefix(chal, scheme+" realm=\""+oidcIssuer+"\""), "challenge %q", chal)
			}
			if r.wantError != "" {
				require.Equal(t, r.wantError, m["error"])
				if resp.Status == 401 || resp.Status == 403 || resp.Status == 400 && chal != "" {
					require.Contains(t, chal, `error="`+r.wantError+`"`)
				}
			} else if resp.Status == 401 {
				require.NotContains(t, chal, "error=", "RFC 6750 §3.1: no error code without a token")
			}
			if r.wantError == "insufficient_scope" {
				require.Contains(t, chal, `scope="openid"`)
			}
			if r.check != nil {
				r.check(t, m)
			}
		})
	}
	t.Run("RFC 6750 §3.1: an expired token is invalid_token", func(t *testing.T) {
		f.clock.Advance(11 * time.Minute)
		_, m := f.userinfo(bearerGet(all.Access))
		require.Equal(t, "invalid_token", m["error"])
	})
}

// TestOIDCUserInfoBoundTokens: a sender-constrained token is never taken
// as a bearer token (SPEC §10).
func TestOIDCUserInfoBoundTokens(t *testing.T) {
	for _, cnf := range []crypttoken.Confirmation{{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}, {X5TS256: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}} {
		for _, scheme := range []string{"Bearer", "DPoP"} {
			t.Run("RFC 9449 §7.1, RFC 8705 §3: "+scheme+" "+cnf.JKT+cnf.X5TS256, func(t *testing.T) {
				// A genuine token of an openid grant, bound: seal through
				// the server's AccessClaims hook.
				f2 := newOIDC(t, keys.ES256, endpoint.WithHooks(endpoint.Hooks{AccessClaims: func(_ context.Context, _ *endpoint.TokenRequest, c *crypttoken.Claims) error {
					c.Confirmation = cnf
					return nil
				}}))
				tok := f2.exchange(f2.code()).Access
				r := bearerGet(tok)
				r.Header = endpoint.Headers{{Name: "Authorization", Value: scheme + " " + tok}}
				resp, m := f2.userinfo(r)
				require.Equal(t, 401, resp.Status)
				want := "invalid_token"
				if cnf.JKT != "" && scheme == "DPoP" {
					want = "invalid_dpop_proof" // RFC 9449 §7.1: the scheme is right, the proof is missing
				}
				require.Equal(t, want, m["error"])
				if scheme == "DPoP" {
					require.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "DPoP "))
				}
			})
		}
	}
}

// TestOIDCDiscovery covers the provider configuration (Discovery 1.0 §3,
// §4) and its agreement with the RFC 8414 document.
func TestOIDCDiscovery(t *testing.T) {
	f := newOIDC(t, keys.EdDSA)
	resp := f.srv.OpenIDConfiguration()
	require.NotNil(t, resp)
	require.Equal(t, 200, resp.Status)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(resp.Body, &doc))
	var oauth map[string]any
	require.NoError(t, json.Unmarshal(f.srv.Metadata().Body, &oauth))
	t.Run("one builder: the RFC 8414 document holds the same members with the same values", func(t *testing.T) {
		require.Equal(t, oauth, doc)
	})
	strs := func(name string) []string {
		var out []string
		for _, v := range doc[name].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	rows := []struct {
		name string
		ok   func() bool
	}{
		{"Discovery §3: issuer is the issuer identifier", func() bool { return doc["issuer"] == oidcIssuer }},
		{"Discovery §3: authorization_endpoint", func() bool { return doc["authorization_endpoint"] == oidcIssuer+"/authorize" }},
		{"Discovery §3: token_endpoint", func() bool { return doc["token_endpoint"] == oidcIssuer+"/token" }},
		{"Discovery §3: userinfo_endpoint", func() bool { return doc["userinfo_endpoint"] == oidcIssuer+"/userinfo" }},
		{"Discovery §3: jwks_uri", func() bool { return doc["jwks_uri"] == oidcIssuer+"/jwks.json" }},
		{"RP-Initiated Logout §2.1: end_session_endpoint", func() bool { return doc["end_session_endpoint"] == oidcIssuer+"/end_session" }},
		{"Discovery §3: scopes_supported includes openid", func() bool { return slices.Contains(strs("scopes_supported"), "openid") }},
		{"Discovery §3: response_types_supported includes code", func() bool { return slices.Contains(strs("response_types_supported"), "code") }},
		{"Discovery §3: subject_types_supported is public", func() bool { return slices.Equal(strs("subject_types_supported"), []string{"public"}) }},
		{"Discovery §3: id_token_signing_alg_values_supported is the ring's algorithm", func() bool {
			return slices.Equal(strs("id_token_signing_alg_values_supported"), []string{"EdDSA"})
		}},
		{"Discovery §3: claims_supported lists the standard claims", func() bool {
			c := strs("claims_supported")
			return slices.Contains(c, "sub") && slices.Contains(c, "email") && slices.Contains(c, "address") && slices.Contains(c, "auth_time")
		}},
		{"Discovery §3: request objects not supported, said explicitly", func() bool {
			return doc["request_parameter_supported"] == false && doc["request_uri_parameter_supported"] == false
		}},
		{"Discovery §3: claims_parameter_supported", func() bool { return doc["claims_parameter_supported"] == true }},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			require.True(t, r.ok(), "document %v", doc)
		})
	}
	t.Run("a server without WithOpenID has no OpenID document and no OpenID members", func(t *testing.T) {
		plain := newFixture(t)
		require.Nil(t, plain.srv.OpenIDConfiguration())
		require.NotContains(t, string(plain.srv.Metadata().Body), "userinfo_endpoint")
		require.False(t, plain.srv.OpenIDEnabled())
	})
}

// TestOIDCWithOpenIDOptions: the option refuses a missing or symmetric
// ring.
func TestOIDCWithOpenIDOptions(t *testing.T) {
	for _, r := range []struct {
		name string
		ring *keys.Ring
	}{
		{"no ring", nil},
		{"a ring of symmetric keys", oidcRing(t, "x", keys.A256KW)},
	} {
		t.Run(r.name, func(t *testing.T) {
			st, err := memory.New()
			require.NoError(t, err)
			defer st.Close()
			_, err = endpoint.New(oidcIssuer, endpoint.Rings{Internal: oidcRing(t, "internal", keys.A256KW),
				Audiences: map[string]*keys.Ring{oidcAPI: oidcRing(t, "api", keys.A256KW)}, Default: oidcAPI},
				oidcClients(t), st, endpoint.WithOpenID(endpoint.OpenID{Signing: r.ring}))
			require.ErrorContains(t, err, "WithOpenID")
		})
	}
}

// TestOIDCEndSession covers the end-session endpoint's validation and
// redirect rules (RP-Initiated Logout 1.0 §2, §3), with no session to end
// (a nil SessionEnder) and with one that records what it was given.
func TestOIDCEndSession(t *testing.T) {
	f := newOIDC(t, keys.ES256)
	hint := f.exchange(f.code()).IDToken
	forged := func() string { g := newOIDC(t, keys.ES256); return g.exchange(g.code()).IDToken }()
	get := func(kv ...string) *endpoint.Request {
		return &endpoint.Request{Method: "GET", URI: "/end_session?" + azQuery(kv...), Secure: true, Header: endpoint.Headers{}}
	}
	rows := []struct {
		name       string
		req        *endpoint.Request
		advance    time.Duration
		wantStatus int
		wantLoc    string // the Location of a 302
		wantClient string
		wantSub    string
	}{
		{name: "RP-Initiated §3: a registered URI with an id_token_hint redirects with the state",
			req: get("id_token_hint", hint, "post_logout_redirect_uri", oidcLoggedIn, "state", "a b&c"), wantStatus: 302,
			wantLoc: oidcLoggedIn + "?state=a+b%26c", wantClient: "rp", wantSub: oidcUser},
		{name: "RP-Initiated §2: client_id identifies the client without a hint",
			req: get("client_id", "rp", "post_logout_redirect_uri", oidcLoggedIn), wantStatus: 302, wantLoc: oidcLoggedIn, wantClient: "rp"},
		{name: "RP-Initiated §3: a URI the client did not register gets the signed-out page, no redirect",
			req: get("id_token_hint", hint, "post_logout_redirect_uri", "https://evil.example.com/"), wantStatus: 200, wantClient: "rp", wantSub: oidcUser},
		{name: "RP-Initiated §3: another client's URI is not followed",
			req: get("client_id", "rp2", "post_logout_redirect_uri", oidcLoggedIn), wantStatus: 200, wantClient: "rp2"},
		{name: "RP-Initiated §3: a URI without hint or client_id is not followed",
			req: get("post_logout_redirect_uri", oidcLoggedIn), wantStatus: 200},
		{name: "RP-Initiated §2: client_id must be the client the hint was issued to",
			req: get("id_token_hint", hint, "client_id", "rp2", "post_logout_redirect_uri", oidcLoggedIn), wantStatus: 400},
		{name: "RP-Initiated §2: an unknown client_id is an error page, never a redirect",
			req: get("client_id", "nobody", "post_logout_redirect_uri", oidcLoggedIn), wantStatus: 400},
		{name: "RP-Initiated §2: an expired ID token is a valid hint",
			req: get("id_token_hint", hint, "post_logout_redirect_uri", oidcLoggedIn), advance: 2 * time.Hour, wantStatus: 302,
			wantLoc: oidcLoggedIn, wantClient: "rp", wantSub: oidcUser},
		{name: "RP-Initiated §2: a hint signed by another key counts as absent",
			req: get("id_token_hint", forged, "post_logout_redirect_uri", oidcLoggedIn), wantStatus: 200},
		{name: "RP-Initiated §2: a forged hint does not stop client_id from naming the client",
			req: get("id_token_hint", forged, "client_id", "rp", "post_logout_redirect_uri", oidcLoggedIn), wantStatus: 302, wantLoc: oidcLoggedIn, wantClient: "rp"},
		{name: "RP-Initiated §2: POST with a form body",
			req: azPost("/end_session", azQuery("client_id", "rp", "post_logout_redirect_uri", oidcLoggedIn, "state", "s")), wantStatus: 302,
			wantLoc: oidcLoggedIn + "?state=s", wantClient: "rp"},
		{name: "RFC 6749 §3.1: a repeated parameter is an error page",
			req: get("client_id", "rp", "client_id", "rp"), wantStatus: 400},
		{name: "RFC 6749 §3.1: TLS required",
			req: func() *endpoint.Request { r := get("client_id", "rp"); r.Secure = false; return r }(), wantStatus: 400},
		{name: "RP-Initiated §2: GET and POST only",
			req: func() *endpoint.Request { r := get("client_id", "rp"); r.Method = "DELETE"; return r }(), wantStatus: 405},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if r.advance > 0 {
				f.clock.Advance(r.advance)
				defer f.clock.Advance(-r.advance)
			}
			var seen *endpoint.EndSessionRequest
			ender := endpoint.SessionEnderFunc(func(_ context.Context, _ *endpoint.Request, esr *endpoint.EndSessionRequest) (*endpoint.Response, error) {
				seen = esr
				if resp := esr.Redirect(endpoint.HeaderField{Name: "Set-Cookie", Value: "s=; Max-Age=0"}); resp != nil {
					return resp, nil
				}
				return endpoint.SignedOutPage(), nil
			})
			for _, e := range []endpoint.SessionEnder{nil, ender} {
				resp, res := f.srv.HandleEndSession(context.Background(), r.req, e)
				require.Equal(t, r.wantStatus, resp.Status, "body %s", resp.Body)
				require.NotEqual(t, 500, resp.Status)
				loc := resp.Header.Get("Location")
				if r.wantStatus == 302 {
					require.Equal(t, r.wantLoc, loc)
				} else {
					require.Empty(t, loc, "RP-Initiated §3: no redirect")
				}
				if r.wantStatus >= 400 {
					require.NotNil(t, res.Err)
					require.Nil(t, seen, "an invalid request reaches no SessionEnder")
					continue
				}
				if e != nil {
					require.NotNil(t, seen)
					require.Equal(t, r.wantClient, seen.ClientID())
					if r.wantSub != "" {
						require.Equal(t, r.wantSub, seen.Hint.Subject)
						require.Equal(t, "sid-1", seen.Hint.SessionID)
					} else {
						require.Nil(t, seen.Hint)
					}
					require.Equal(t, r.wantStatus == 200 && r.req.URI != "" && strings.Contains(r.req.URI+string(r.req.Body), "post_logout_redirect_uri"), seen.RedirectRefused)
				}
			}
		})
	}
	t.Run("a server without WithOpenID answers 404", func(t *testing.T) {
		plain := newFixture(t)
		resp, _ := plain.srv.HandleEndSession(context.Background(), get("client_id", "webapp"), nil)
		require.Equal(t, 404, resp.Status)
		resp, _ = plain.srv.UserInfo(context.Background(), bearerGet("x"))
		require.Equal(t, 404, resp.Status)
	})
}

// TestOIDCHookNarrowsScope: an AccessClaims hook that narrows the scope
// narrows the ID token's claims too, and one that drops openid drops the
// ID token.
func TestOIDCHookNarrowsScope(t *testing.T) {
	for _, r := range []struct {
		name, scope string
		idToken     bool
	}{
		{"profile removed: no name in the ID token", "openid email", true},
		{"openid removed: no ID token", "email", false},
	} {
		t.Run(r.name, func(t *testing.T) {
			f := newOIDC(t, keys.ES256, endpoint.WithHooks(endpoint.Hooks{AccessClaims: func(_ context.Context, _ *endpoint.TokenRequest, c *crypttoken.Claims) error {
				c.Scope = r.scope
				return nil
			}}))
			tr := f.exchange(f.code())
			if !r.idToken {
				require.Empty(t, tr.IDToken)
				return
			}
			tok := f.verifyIDToken(tr.IDToken)
			require.NotContains(t, tok.claims, "name")
			require.Equal(t, "alice@example.com", tok.claims["email"])
			_, m := f.userinfo(bearerGet(tr.Access))
			require.Equal(t, map[string]any{"sub": oidcUser, "email": "alice@example.com", "email_verified": true}, m)
		})
	}
}

// TestOIDCUserInfoDPoP: a DPoP-bound token of an openid grant reads the
// user's claims with a proof over the userinfo request (RFC 9449 §7.1,
// §4.3: htm, htu, ath, the bound key) and not without one; a replayed proof
// is refused (§11.1), and the victim's next, fresh proof still works.
func TestOIDCUserInfoDPoP(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	thumb, err := jws.ThumbprintString(key.Public())
	require.NoError(t, err)
	f := newOIDC(t, keys.ES256, endpoint.WithHooks(endpoint.Hooks{AccessClaims: func(_ context.Context, _ *endpoint.TokenRequest, c *crypttoken.Claims) error {
		c.Confirmation = crypttoken.Confirmation{JKT: thumb}
		return nil
	}}))
	tok := f.exchange(f.code()).Access
	proofFor := func(k *ecdsa.PrivateKey, method, uri, token string) string {
		p, err := dpop.NewProof(k, "ES256", dpop.Claims{Method: method, URI: uri, IssuedAt: f.clock.Now(), AccessToken: token})
		require.NoError(t, err)
		return p
	}
	call := func(proof string) (*endpoint.Response, map[string]any) {
		r := bearerGet(tok)
		r.Header = endpoint.Headers{{Name: "Authorization", Value: "DPoP " + tok}, {Name: "DPoP", Value: proof}}
		return f.userinfo(r)
	}
	good := proofFor(key, "GET", oidcIssuer+"/userinfo", tok)
	resp, m := call(good)
	require.Equal(t, 200, resp.Status, "%v", m)
	require.Equal(t, oidcUser, m["sub"])

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	for name, proof := range map[string]string{
		"RFC 9449 §11.1: replayed proof":       good,
		"RFC 9449 §4.3: proof for another key": proofFor(other, "GET", oidcIssuer+"/userinfo", tok),
		"RFC 9449 §4.3: wrong htm":             proofFor(key, "POST", oidcIssuer+"/userinfo", tok),
		"RFC 9449 §4.3: wrong htu":             proofFor(key, "GET", oidcIssuer+"/token", tok),
		"RFC 9449 §4.3: ath of another token":  proofFor(key, "GET", oidcIssuer+"/userinfo", tok+"x"),
	} {
		t.Run(name, func(t *testing.T) {
			resp, m := call(proof)
			require.Equal(t, 401, resp.Status, "%v", m)
			require.Equal(t, "invalid_dpop_proof", m["error"])
			require.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "DPoP "), resp.Header.Get("WWW-Authenticate"))
		})
	}
	// The victim, with a fresh proof, still gets through.
	resp, m = call(proofFor(key, "GET", oidcIssuer+"/userinfo", tok))
	require.Equal(t, 200, resp.Status, "%v", m)
}
