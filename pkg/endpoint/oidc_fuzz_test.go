package endpoint_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// FuzzOpenIDParams feeds the OpenID parameters of an authorization request
// (Core §3.1.2.1, §5.5) to their parsers and to the authorization
// endpoint. Whatever the input: no panic; prompt=none never comes with
// another value; max_age is never negative; a claims request that parses
// holds only null-or-object claims; the endpoint answers 302 to the
// registered redirect URI or 400, never 500, and an error it redirects is
// one of Core §3.1.2.6's or RFC 6749's.
//
// Seeds: testdata/fuzz/FuzzOpenIDParams/ and the f.Add calls below.
func FuzzOpenIDParams(f *testing.F) {
	f.Add("none", "0", `{"id_token":{"email":{"essential":true}}}`, "n-0S6")
	f.Add("login consent", "3600", `{"userinfo":{"name":null,"sub":{"value":"u-alice"}}}`, "")
	f.Add("none login", "-1", `{"id_token":{"email":true}}`, strings.Repeat("n", 600))
	f.Add("select_account", "007", `{"id_token":{"a":{"values":[1,2]}},"id_token":{}}`, "a\x00b")
	fx := newOIDC(f, keys.ES256)
	codes := map[endpoint.ErrorCode]bool{}
	for _, c := range []endpoint.ErrorCode{endpoint.InvalidRequest, endpoint.LoginRequired, endpoint.InteractionRequired,
		endpoint.ConsentRequired, endpoint.InvalidScope, endpoint.RequestNotSupported, endpoint.RegistrationNotSupported} {
		codes[c] = true
	}
	f.Fuzz(func(t *testing.T, prompt, maxAge, claims, nonce string) {
		none, login, consent, e := endpoint.ParsePrompt(prompt)
		if e == nil && none && (login || consent) {
			t.Fatalf("prompt %q: none with another value accepted", prompt)
		}
		if d, ok, e := endpoint.ParseMaxAge(maxAge); e == nil && ok && d < 0 {
			t.Fatalf("max_age %q: negative %s", maxAge, d)
		}
		if cr, e := endpoint.ParseClaimsRequest(claims); e == nil {
			for _, m := range []map[string]endpoint.ClaimRequest{cr.IDToken, cr.UserInfo} {
				for name, r := range m {
					for _, v := range r.Values {
						if !json.Valid(v) {
							t.Fatalf("claims %q: claim %q has an invalid value %q", claims, name, v)
						}
					}
				}
			}
		}
		resp, res := fx.authorize(oidcRequest("prompt", prompt, "max_age", maxAge, "claims", claims, "nonce", nonce)...)
		switch resp.Status {
		case 302:
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, oidcRPCB+"?") {
				t.Fatalf("redirected to %q", loc)
			}
			if res.Err != nil && !codes[res.Err.Code] {
				t.Fatalf("redirected error %q", res.Err.Code)
			}
		case 400:
		default:
			t.Fatalf("status %d: %s", resp.Status, resp.Body)
		}
	})
}

// FuzzIDTokenHint feeds id_token_hint values to the authorization and
// end-session endpoints (Core §3.1.2.1, RP-Initiated Logout 1.0 §2).
// Whatever the input: no panic, no 500, and a hint is accepted (a code
// issued for it; the SessionEnder shown its subject) only when it verifies
// with the signing ring's published keys, as a relying party would check
// it with pkg/jws.
//
// Seeds: testdata/fuzz/FuzzIDTokenHint/, a genuine ID token, and its
// tampered variants below.
func FuzzIDTokenHint(f *testing.F) {
	fx := newOIDC(f, keys.ES256)
	good := fx.exchange(fx.code()).IDToken
	seg := segments(good)
	f.Add(good)
	f.Add(seg[0] + "." + seg[1] + ".")
	f.Add(seg[0] + ".e30." + seg[2])
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + seg[1] + ".")
	f.Add(strings.Repeat("A", 20000))
	keySet := fx.jwks()
	genuine := func(tok string) bool {
		v, err := jws.Verify(tok, []string{jws.ES256}, keySet, jws.WithType("JWT"))
		if err != nil {
			return false
		}
		c, err := jws.ParseClaims(v.Payload)
		return err == nil && c.Issuer == oidcIssuer && c.Subject != "" && c.HasAudience("rp")
	}
	f.Fuzz(func(t *testing.T, hint string) {
		// An empty value is an omitted parameter (RFC 6749 §3.1): no hint.
		ok := hint == "" || genuine(hint)
		resp, res := fx.authorize(oidcRequest("id_token_hint", hint)...)
		if resp.Status >= 500 {
			t.Fatalf("status %d", resp.Status)
		}
		if resp.Status == 302 && res.Err == nil && !ok {
			t.Fatalf("a code for a hint that does not verify: %q", hint)
		}
		var seen *endpoint.EndSessionRequest
		ender := endpoint.SessionEnderFunc(func(_ context.Context, _ *endpoint.Request, esr *endpoint.EndSessionRequest) (*endpoint.Response, error) {
			seen = esr
			return endpoint.SignedOutPage(), nil
		})
		r := azPost("/end_session", azQuery("id_token_hint", hint, "post_logout_redirect_uri", oidcLoggedIn))
		resp, _ = fx.srv.HandleEndSession(context.Background(), r, ender)
		if resp.Status >= 500 {
			t.Fatalf("end_session status %d", resp.Status)
		}
		if seen != nil && seen.Hint != nil && (hint == "" || !ok) {
			t.Fatalf("end_session took a hint that does not verify: %q", hint)
		}
		if resp.Header.Get("Location") != "" && (hint == "" || !ok) {
			t.Fatalf("end_session redirected on a hint that does not verify: %q", hint)
		}
	})
}
