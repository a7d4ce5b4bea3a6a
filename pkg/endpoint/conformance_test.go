package endpoint_test

// Conformance of the token, introspection and revocation endpoints: one
// row per rule, each named after the section it checks.

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// conformanceCase is one rule. call drives the fixture (any setup
// included) and returns the response under test; status, code and header
// are checked on it, then check, if set.
type conformanceCase struct {
	name   string
	cfg    fixtureConfig
	call   func(t *testing.T, f *fixture) *endpoint.Response
	status int
	// code is the expected "error" of an error response; "" for success.
	code endpoint.ErrorCode
	// header lists fields that must have exactly these values; a value of
	// "" means the field must be absent.
	header map[string]string
	check  func(t *testing.T, f *fixture, resp *endpoint.Response)
}

// ccBody is a client_credentials request body.
var ccBody = form("grant_type", "client_credentials")

// tokenCall returns a call that posts body to the token endpoint.
func tokenCall(body string, opts ...reqOpt) func(*testing.T, *fixture) *endpoint.Response {
	return func(_ *testing.T, f *fixture) *endpoint.Response { return f.token(body, opts...) }
}

// codeCall returns a call that exchanges a code made with copts, for
// client, with the extra body parameters kv.
func codeCall(client string, copts []codeOpt, auth reqOpt, kv ...string) func(*testing.T, *fixture) *endpoint.Response {
	return func(_ *testing.T, f *fixture) *endpoint.Response {
		b := append([]string{"grant_type", "authorization_code", "code", f.code(client, copts...)}, kv...)
		return f.token(form(b...), auth)
	}
}

var webAuth = basic("webapp", webappSecret)

// noStore are the headers of every token-endpoint answer (RFC 6749 §5.1).
var noStore = map[string]string{
	"Content-Type":  "application/json;charset=UTF-8",
	"Cache-Control": "no-store",
	"Pragma":        "no-cache",
}

func withHeaders(base map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestConformance(t *testing.T) {
	proxy := endpoint.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8"))
	cases := []conformanceCase{
		// ---- RFC 6749 §3.1, §3.2: transport and request form ----
		{
			name:   "RFC 6749 §3.2 token endpoint refuses a request not over TLS",
			call:   tokenCall(ccBody, basic("backend", backendSecret), insecure()),
			status: 400, code: endpoint.InvalidRequest, header: noStore,
		},
		{
			name:   "RFC 6749 §3.2 X-Forwarded-Proto https from a trusted proxy counts as TLS",
			cfg:    fixtureConfig{opts: []endpoint.Option{proxy}},
			call:   tokenCall(ccBody, basic("backend", backendSecret), insecure(), fromAddr("10.1.2.3"), header("X-Forwarded-Proto", "https")),
			status: 200,
		},
		{
			name:   "RFC 6749 §3.2 X-Forwarded-Proto from an untrusted address is ignored",
			cfg:    fixtureConfig{opts: []endpoint.Option{proxy}},
			call:   tokenCall(ccBody, basic("backend", backendSecret), insecure(), fromAddr("203.0.113.9"), header("X-Forwarded-Proto", "https")),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §3.2 X-Forwarded-Proto: the value the trusted proxy appended last decides",
			cfg:    fixtureConfig{opts: []endpoint.Option{proxy}},
			call:   tokenCall(ccBody, basic("backend", backendSecret), insecure(), fromAddr("10.1.2.3"), header("X-Forwarded-Proto", "https, http")),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §3.2 X-Forwarded-Proto from an IPv4-mapped IPv6 trusted proxy counts",
			cfg:    fixtureConfig{opts: []endpoint.Option{proxy}},
			call:   tokenCall(ccBody, basic("backend", backendSecret), insecure(), fromAddr("::ffff:10.1.2.3"), header("X-Forwarded-Proto", "https")),
			status: 200,
		},
		{
			name:   "RFC 6749 §3.1 token endpoint URI with a fragment is refused",
			call:   tokenCall(ccBody, basic("backend", backendSecret), uri("/token#frag")),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §3.2 token endpoint URI keeps its query component",
			call:   tokenCall(ccBody, basic("backend", backendSecret), uri("/token?tenant=a")),
			status: 200,
		},
		{
			name:   "RFC 6749 §3.2 token endpoint refuses GET with 405 and Allow: POST",
			call:   tokenCall(ccBody, basic("backend", backendSecret), method("GET")),
			status: 405, code: endpoint.InvalidRequest, header: withHeaders(noStore, "Allow", "POST"),
		},
		{
			name:   "RFC 6749 §3.2 token request body must be application/x-www-form-urlencoded",
			call:   tokenCall(`{"grant_type":"client_credentials"}`, basic("backend", backendSecret), header("Content-Type", "application/json")),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 6749 §3.2 token request without Content-Type is refused",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				r := request("/token", ccBody, basic("backend", backendSecret))
				r.Header = r.Header.(endpoint.Headers)[1:]
				resp, _ := f.srv.Token(t.Context(), r)
				return resp
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §3.2 form content type with a charset parameter is accepted",
			call:   tokenCall(ccBody, basic("backend", backendSecret), header("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")),
			status: 200,
		},
		{
			name:   "RFC 6749 §3.2 a body of more parameters than the server reads is invalid_request",
			call:   tokenCall(ccBody+manyParams(64), basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §3.2 parameters in the query component are not read",
			call:   tokenCall("", basic("backend", backendSecret), uri("/token?grant_type=client_credentials")),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §3.1 parameter sent without a value is treated as omitted",
			call:   tokenCall(form("grant_type", "client_credentials", "scope", "", "resource", ""), basic("backend", backendSecret)),
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				assert.Equal(t, "read", body(t, resp)["scope"], "omitted scope gets the default")
			},
		},
		{
			name:   "RFC 6749 §3.1 parameter repeated is invalid_request",
			call:   tokenCall(form("grant_type", "client_credentials", "scope", "read", "scope", "write"), basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §3.1 unknown parameters are ignored",
			call:   tokenCall(form("grant_type", "client_credentials", "foo", "bar", "x-tenant", "7"), basic("backend", backendSecret)),
			status: 200,
		},
		{
			name:   "RFC 6749 §3.2 malformed percent-encoding is invalid_request",
			call:   tokenCall("grant_type=client_credentials&scope=%zz", basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §4.4.2 missing grant_type is invalid_request",
			call:   tokenCall(form("scope", "read"), basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §5.2 unknown grant_type is unsupported_grant_type",
			call:   tokenCall(form("grant_type", "urn:example:unknown"), basic("backend", backendSecret)),
			status: 400, code: endpoint.UnsupportedGrantType, header: noStore,
		},

		// ---- RFC 6749 §2.3: client authentication ----
		{
			name:   "RFC 6749 §2.3.1 Basic with form-urlencoded id and secret ('+', ':', '%', space)",
			call:   tokenCall(ccBody, basic(specialID, specialSec)),
			status: 200,
		},
		{
			name:   "RFC 6749 §2.3.1 Basic with a secret holding non-ASCII and '/', '?'",
			call:   codeCall("webapp", nil, basic("webapp", webappSecret), "redirect_uri", webRedirect, "code_verifier", verifierS256),
			status: 200,
		},
		{
			name:   "RFC 6749 §2.3.1 Basic credentials not form-urlencoded ('+' decodes to a space) fail",
			call:   tokenCall(ccBody, basicRaw(url.QueryEscape(specialID), strings.ReplaceAll(url.QueryEscape(specialSec), "%2B", "+"))),
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name:   "RFC 6749 §2.3.1 client_secret_post is accepted",
			call:   tokenCall(form("grant_type", "client_credentials", "client_id", specialID, "client_secret", specialSec)),
			status: 200,
		},
		{
			name:   "RFC 6749 §2.3 more than one authentication method is invalid_request",
			call:   tokenCall(form("grant_type", "client_credentials", "client_secret", backendSecret), basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §2.3 client_id in the body differing from the Basic client is invalid_request",
			call:   tokenCall(form("grant_type", "client_credentials", "client_id", "multi"), basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §5.2 wrong secret with Basic is 401 invalid_client with WWW-Authenticate: Basic",
			call:   tokenCall(ccBody, basic("backend", "wrong")),
			status: 401, code: endpoint.InvalidClient,
			header: withHeaders(noStore, "WWW-Authenticate", `Basic realm="oauth", charset="UTF-8"`),
		},
		{
			name:   "RFC 6749 §5.2 wrong client_secret_post is 401 invalid_client",
			call:   tokenCall(form("grant_type", "client_credentials", "client_id", "backend", "client_secret", "wrong")),
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name:   "RFC 6749 §5.2 unknown client is invalid_client",
			call:   tokenCall(ccBody, basic("nobody", "x")),
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name:   "RFC 6749 §2.3.1 malformed Basic credentials are invalid_request",
			call:   tokenCall(ccBody, header("Authorization", "Basic !!not-base64!!")),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §2.3.1 an Authorization scheme other than Basic is refused",
			call:   tokenCall(ccBody, header("Authorization", "Bearer abc")),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §3.2.1 confidential client sending client_id alone is invalid_client",
			call:   tokenCall(form("grant_type", "client_credentials", "client_id", "backend")),
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name:   "RFC 6749 §3.2.1 request identifying no client is invalid_client",
			call:   tokenCall(ccBody),
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name:   "RFC 6749 §2.1 public client presenting a secret is invalid_client",
			call:   codeCall("spa", []codeOpt{codeRedirect(spaRedirect)}, nil, "client_id", "spa", "client_secret", "guess", "redirect_uri", spaRedirect, "code_verifier", verifierS256),
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name:   "RFC 6749 §2.3.1 public client in Basic with an empty password is identified by its id",
			call:   codeCall("spa", nil, basic("spa", ""), "redirect_uri", spaRedirect, "code_verifier", verifierS256),
			status: 200,
		},
		{
			name:   "RFC 6749 §4.1.3 public client identifies itself with client_id",
			call:   codeCall("spa", nil, nil, "client_id", "spa", "redirect_uri", spaRedirect, "code_verifier", verifierS256),
			status: 200,
		},

		// ---- RFC 6749 §3.3: scope ----
		{
			name:   "RFC 6749 §3.3 scope outside the scope-token syntax is invalid_scope",
			call:   tokenCall(form("grant_type", "client_credentials", "scope", `read "write"`), basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidScope,
		},
		{
			name:   "RFC 6749 §3.3 scope is case-sensitive",
			call:   tokenCall(form("grant_type", "client_credentials", "scope", "READ"), basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidScope,
		},
		{
			name:   "RFC 6749 §3.3 scope beyond the client's is invalid_scope",
			call:   tokenCall(form("grant_type", "client_credentials", "scope", "read delete"), basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidScope,
		},
		{
			name:   "RFC 6749 §3.3 omitted scope gets the client's default, stated in the response",
			call:   tokenCall(ccBody, basic("backend", backendSecret)),
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				assert.Equal(t, "read", body(t, resp)["scope"])
			},
		},
		{
			name:   "RFC 6749 §3.3 omitted scope without a default is invalid_scope",
			call:   tokenCall(ccBody, basic("nodefault", backendSecret)),
			status: 400, code: endpoint.InvalidScope,
		},
		{
			name:   "RFC 6749 §3.3 scope is order-free: the granted scope equals the request and is not repeated",
			call:   tokenCall(form("grant_type", "client_credentials", "scope", "write  read"), basic("backend", backendSecret)),
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				assert.NotContains(t, body(t, resp), "scope", "§5.1: scope only when it differs")
				c, err := f.openAccess(apiAud, mustTokens(t, resp).Access)
				require.NoError(t, err)
				assert.ElementsMatch(t, []string{"read", "write"}, c.Scopes())
			},
		},

		// ---- RFC 6749 §4.1.3: authorization code ----
		{
			name:   "RFC 6749 §4.1.3 code exchange issues an access and a refresh token",
			call:   codeCall("webapp", nil, webAuth, "redirect_uri", webRedirect, "code_verifier", verifierS256),
			status: 200, header: noStore,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				tk := mustTokens(t, resp)
				assert.Equal(t, "profile read", tk.Scope, "§5.1: no scope was requested, so the granted one is stated")
				at, err := f.openAccess(apiAud, tk.Access)
				require.NoError(t, err)
				assert.Equal(t, userID, at.Subject)
				assert.Equal(t, "webapp", at.ClientID)
				assert.Equal(t, t0.Add(-5*time.Minute), at.AuthTime.UTC())
				rt, err := f.openRefresh(tk.Refresh)
				require.NoError(t, err)
				assert.Equal(t, at.FamilyID, rt.FamilyID)
				assert.Equal(t, apiAud, rt.Resource)
			},
		},
		{
			name:   "RFC 6749 §4.1.3 code issued to another client is invalid_grant",
			call:   codeCall("norefresh", nil, webAuth, "redirect_uri", webRedirect, "code_verifier", verifierS256),
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 6749 §4.1.3 redirect_uri differing from the authorization request is invalid_grant",
			call:   codeCall("webapp", nil, webAuth, "redirect_uri", webRedirect+"/other", "code_verifier", verifierS256),
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 6749 §4.1.3 redirect_uri missing when the authorization request had one is invalid_grant",
			call:   codeCall("webapp", nil, webAuth, "code_verifier", verifierS256),
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 6749 §4.1.3 redirect_uri may be omitted when the authorization request had none",
			call:   codeCall("webapp", []codeOpt{codeRedirect("")}, webAuth, "code_verifier", verifierS256),
			status: 200,
		},
		{
			name: "RFC 6749 §4.1.2 expired code is invalid_grant",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				c := f.code("webapp")
				f.clock.Advance(codeTTL + leeway + time.Second)
				return f.token(form("grant_type", "authorization_code", "code", c, "redirect_uri", webRedirect, "code_verifier", verifierS256), webAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 6749 §4.1.3 missing code is invalid_request",
			call:   tokenCall(form("grant_type", "authorization_code", "redirect_uri", webRedirect), webAuth),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 6749 §4.1.3 tampered code is invalid_grant",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				c := []byte(f.code("webapp"))
				i := strings.LastIndexByte(string(c), '.') - 3
				c[i] ^= 1
				return f.token(form("grant_type", "authorization_code", "code", string(c), "redirect_uri", webRedirect, "code_verifier", verifierS256), webAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 6749 §4.1.3 a refresh token is not accepted as a code",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				rt := f.webTokens().Refresh
				return f.token(form("grant_type", "authorization_code", "code", rt, "redirect_uri", webRedirect, "code_verifier", verifierS256), webAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 6749 §5.2 client not allowed the code grant is unauthorized_client",
			call:   codeCall("backend", nil, basic("backend", backendSecret), "redirect_uri", webRedirect, "code_verifier", verifierS256),
			status: 400, code: endpoint.UnauthorizedClient,
		},
		{
			name: "RFC 6749 §4.1.2 code reuse is invalid_grant and revokes the tokens issued from it",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				c := f.code("webapp")
				first := f.exchange(c)
				resp := f.token(form("grant_type", "authorization_code", "code", c, "redirect_uri", webRedirect, "code_verifier", verifierS256), webAuth)
				// The family of the first exchange is revoked: its refresh
				// token no longer refreshes and its access token is inactive.
				again := f.token(form("grant_type", "refresh_token", "refresh_token", first.Refresh), webAuth)
				assert.Equal(t, endpoint.InvalidGrant, errCode(t, again))
				isInactive(t, f.introspect(form("token", first.Access), asRS()))
				return resp
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 6749 §4.1.2 access token from a code carries the family even without a refresh token",
			call:   codeCall("norefresh", nil, basic("norefresh", backendSecret), "redirect_uri", webRedirect, "code_verifier", verifierS256),
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				tk := mustTokens(t, resp)
				assert.Empty(t, tk.Refresh, "no refresh grant, no refresh token")
				at, err := f.openAccess(apiAud, tk.Access)
				require.NoError(t, err)
				assert.NotEmpty(t, at.FamilyID)
			},
		},

		// ---- RFC 7636: PKCE ----
		{
			name:   "RFC 7636 §4.6 S256 verifier is accepted",
			call:   codeCall("webapp", nil, webAuth, "redirect_uri", webRedirect, "code_verifier", verifierS256),
			status: 200,
		},
		{
			name:   "RFC 7636 §4.6 plain verifier is accepted from a client allowed plain",
			cfg:    fixtureConfig{clients: plainClients(t)},
			call:   codeCall("webapp", []codeOpt{codePKCE(endpoint.PKCEPlain, verifierPlain)}, webAuth, "redirect_uri", webRedirect, "code_verifier", verifierPlain),
			status: 200,
		},
		{
			name:   "RFC 9700 §2.1.1 a plain code of a client no longer allowed plain is invalid_grant",
			call:   codeCall("webapp", []codeOpt{codePKCE(endpoint.PKCEPlain, verifierPlain)}, webAuth, "redirect_uri", webRedirect, "code_verifier", verifierPlain),
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 7636 §4.6 wrong verifier is invalid_grant and leaves the code usable",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				c := f.code("webapp")
				resp := f.token(form("grant_type", "authorization_code", "code", c, "redirect_uri", webRedirect, "code_verifier", verifierPlain), webAuth)
				f.exchange(c) // an attacker's guess did not burn the code
				return resp
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 7636 §4.6 S256 challenge is not matched by the challenge itself as a plain verifier",
			call:   codeCall("webapp", nil, webAuth, "redirect_uri", webRedirect, "code_verifier", challengeS256),
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 7636 §4.5 missing verifier for a code with a challenge is invalid_grant",
			call:   codeCall("webapp", nil, webAuth, "redirect_uri", webRedirect),
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 7636 §4.1 verifier shorter than 43 characters is invalid_grant",
			cfg:    fixtureConfig{clients: plainClients(t)},
			call:   codeCall("webapp", []codeOpt{codePKCE(endpoint.PKCEPlain, "short")}, webAuth, "redirect_uri", webRedirect, "code_verifier", "short"),
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 9700 §2.1.1 verifier without a challenge (PKCE downgrade) is invalid_grant",
			call:   codeCall("webapp", []codeOpt{codePKCE("", "")}, webAuth, "redirect_uri", webRedirect, "code_verifier", verifierS256),
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 7636 §4.4.1 confidential client may omit PKCE when the authorization request did",
			call:   codeCall("webapp", []codeOpt{codePKCE("", "")}, webAuth, "redirect_uri", webRedirect),
			status: 200,
		},
		{
			name:   "RFC 9700 §2.1.1 public client without PKCE is invalid_grant",
			call:   codeCall("spa", []codeOpt{codePKCE("", "")}, nil, "client_id", "spa", "redirect_uri", spaRedirect),
			status: 400, code: endpoint.InvalidGrant,
		},

		// ---- RFC 6749 §4.3: password ----
		{
			name:   "RFC 6749 §4.3 password grant not enabled on the server is unsupported_grant_type",
			cfg:    fixtureConfig{noUsers: true},
			call:   tokenCall(form("grant_type", "password", "username", userName, "password", userPass), webAuth),
			status: 400, code: endpoint.UnsupportedGrantType,
		},
		{
			name:   "RFC 6749 §4.3.3 password grant issues tokens for the user",
			call:   tokenCall(form("grant_type", "password", "username", userName, "password", userPass, "scope", "read"), webAuth),
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				tk := mustTokens(t, resp)
				assert.NotEmpty(t, tk.Refresh)
				at, err := f.openAccess(apiAud, tk.Access)
				require.NoError(t, err)
				assert.Equal(t, userID, at.Subject)
				assert.Equal(t, t0, at.AuthTime.UTC())
			},
		},
		{
			name:   "RFC 6749 §4.3.2 bad resource owner credentials are invalid_grant",
			call:   tokenCall(form("grant_type", "password", "username", userName, "password", "wrong"), webAuth),
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 6749 §4.3.2 missing password is invalid_request",
			call:   tokenCall(form("grant_type", "password", "username", userName), webAuth),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name:   "RFC 6749 §4.3 client not allowed the password grant is unauthorized_client",
			call:   tokenCall(form("grant_type", "password", "username", userName, "password", userPass), basic("backend", backendSecret)),
			status: 400, code: endpoint.UnauthorizedClient,
		},
		{
			name: "SPEC §6 repeated password failures are answered 429 with Retry-After before checking the password",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				bad := form("grant_type", "password", "username", userName, "password", "wrong")
				for range 10 {
					require.Equal(t, 400, f.token(bad, webAuth).Status)
				}
				calls := f.users.calls.Load()
				resp := f.token(form("grant_type", "password", "username", userName, "password", userPass), webAuth)
				assert.Equal(t, calls, f.users.calls.Load(), "blocked before the password was checked")
				return resp
			},
			status: 429, code: endpoint.InvalidGrant, header: withHeaders(noStore, "Retry-After", "60"),
		},

		// ---- RFC 6749 §4.4: client credentials ----
		{
			name:   "RFC 6749 §4.4.3 client_credentials issues an access token and no refresh token",
			call:   tokenCall(form("grant_type", "client_credentials", "scope", "read write"), basic("backend", backendSecret)),
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				m := body(t, resp)
				assert.NotContains(t, m, "refresh_token")
				assert.NotContains(t, m, "scope", "the granted scope is the requested one")
			},
		},
		{
			name:   "RFC 6749 §4.4 public client may not use client_credentials",
			call:   tokenCall(form("grant_type", "client_credentials", "client_id", "spa")),
			status: 400, code: endpoint.UnauthorizedClient,
		},
		{
			name:   "RFC 6749 §5.2 client not allowed client_credentials is unauthorized_client",
			call:   tokenCall(ccBody, webAuth),
			status: 400, code: endpoint.UnauthorizedClient,
		},

		// ---- RFC 6749 §5.1, RFC 9068: the response and the token ----
		{
			name:   "RFC 6749 §5.1 response members and no-store headers",
			call:   tokenCall(ccBody, basic("backend", backendSecret)),
			status: 200, header: noStore,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				m := body(t, resp)
				assert.Equal(t, "Bearer", m["token_type"])
				assert.Equal(t, float64(accessTTL/time.Second), m["expires_in"])
				assert.IsType(t, "", m["access_token"])
				assert.Len(t, m, 4, "access_token, token_type, expires_in, scope")
			},
		},
		{
			name:   "RFC 9068 §2.2 access token opens with the audience's ring and carries the claims",
			call:   tokenCall(form("grant_type", "client_credentials", "scope", "read write"), basic("backend", backendSecret)),
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				tok := mustTokens(t, resp).Access
				c, err := f.openAccess(apiAud, tok)
				require.NoError(t, err)
				assert.Equal(t, testIssuer, c.Issuer)
				assert.Equal(t, "backend", c.Subject, "RFC 9068 §2.2: sub is the client for client_credentials")
				assert.Equal(t, "backend", c.ClientID)
				assert.Equal(t, "read write", c.Scope)
				assert.Equal(t, []string{apiAud}, c.Audience)
				assert.Equal(t, accessTTL, c.Expiry.Sub(c.IssuedAt))
				assert.Equal(t, t0, c.IssuedAt.UTC())
				assert.NotEmpty(t, c.ID)
				assert.Empty(t, c.FamilyID)
				_, err = f.openAccess(otherAud, tok)
				assert.ErrorIs(t, err, crypttoken.ErrUnknownKey, "SPEC §3: another audience's ring cannot open it")
			},
		},
		{
			name:   "RFC 6749 §5.2 error response holds error and error_description only",
			call:   tokenCall(form("grant_type", "client_credentials", "scope", "nope"), basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidScope, header: withHeaders(noStore, "WWW-Authenticate", "", "Retry-After", ""),
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				m := body(t, resp)
				assert.Len(t, m, 2)
				assert.NotEmpty(t, m["error_description"])
			},
		},

		// ---- RFC 6749 §6: refresh ----
		{
			name: "RFC 6749 §6 refresh rotates the refresh token",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				resp := f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth)
				next := mustTokens(t, resp)
				assert.NotEqual(t, tk.Refresh, next.Refresh)
				old, err := f.openRefresh(tk.Refresh)
				require.NoError(t, err)
				nrt, err := f.openRefresh(next.Refresh)
				require.NoError(t, err)
				assert.Equal(t, old.FamilyID, nrt.FamilyID)
				assert.Equal(t, old.Generation+1, nrt.Generation)
				assert.Equal(t, "profile read", next.Scope, "§5.1: scope omitted from the request, so stated")
				return resp
			},
			status: 200,
		},
		{
			name: "RFC 6749 §6 refresh may narrow the scope; the refresh token keeps the original",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				resp := f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh, "scope", "read"), webAuth)
				next := mustTokens(t, resp)
				at, err := f.openAccess(apiAud, next.Access)
				require.NoError(t, err)
				assert.Equal(t, "read", at.Scope)
				rt, err := f.openRefresh(next.Refresh)
				require.NoError(t, err)
				assert.Equal(t, "profile read", rt.Scope)
				// The original scope is still available on the next refresh.
				mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", next.Refresh, "scope", "profile read"), webAuth))
				return resp
			},
			status: 200,
		},
		{
			name: "RFC 6749 §6 refresh scope beyond the original grant is invalid_scope",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh, "scope", "read write"), webAuth)
			},
			status: 400, code: endpoint.InvalidScope,
		},
		{
			name: "RFC 6749 §6 refresh does not grant again a scope the client lost since",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				list := standardClients(t)
				for _, c := range list {
					if c.ID == "webapp" {
						c.Scopes, c.DefaultScopes = []string{"read", "write"}, nil
					}
				}
				f.setClients(list...)
				return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth)
			},
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				assert.Equal(t, "read", mustTokens(t, resp).Scope)
			},
		},
		{
			name: "RFC 9700 §4.14.2 refresh token reuse is invalid_grant and revokes the family",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				next := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth))
				resp := f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth)
				again := f.token(form("grant_type", "refresh_token", "refresh_token", next.Refresh), webAuth)
				assert.Equal(t, endpoint.InvalidGrant, errCode(t, again), "the newest token of the family is revoked too")
				isInactive(t, f.introspect(form("token", next.Access), asRS()))
				return resp
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 6749 §6 refresh token of another client is invalid_grant",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh, "client_id", "spa"))
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 6749 §6 missing refresh_token is invalid_request",
			call:   tokenCall(form("grant_type", "refresh_token"), webAuth),
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 6749 §6 expired refresh token is invalid_grant",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				f.clock.Advance(refreshTTL + leeway + time.Second)
				return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 6749 §6 an access token is not accepted as a refresh token",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Access), webAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 9700 §4.14.2 public client's refresh token rotates",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tk := mustTokens(t, codeCall("spa", nil, nil, "client_id", "spa", "redirect_uri", spaRedirect, "code_verifier", verifierS256)(t, f))
				return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh, "client_id", "spa"))
			},
			status: 200,
		},

		// ---- RFC 8707: resource indicators ----
		{
			name:   "RFC 8707 §2 resource selects the audience and its key ring",
			call:   tokenCall(form("grant_type", "client_credentials", "resource", apiAud), basic("multi", backendSecret)),
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				c, err := f.openAccess(apiAud, mustTokens(t, resp).Access)
				require.NoError(t, err)
				assert.Equal(t, []string{apiAud}, c.Audience)
			},
		},
		{
			name:   "RFC 8707 §2 without resource the client's first audience is used",
			call:   tokenCall(ccBody, basic("multi", backendSecret)),
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				_, err := f.openAccess(otherAud, mustTokens(t, resp).Access)
				require.NoError(t, err)
			},
		},
		{
			name:   "RFC 8707 §2 unknown resource is invalid_target",
			call:   tokenCall(form("grant_type", "client_credentials", "resource", "https://unknown.example.com"), basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidTarget,
		},
		{
			name:   "RFC 8707 §2 resource the client may not use is invalid_target",
			call:   tokenCall(form("grant_type", "client_credentials", "resource", otherAud), basic("backend", backendSecret)),
			status: 400, code: endpoint.InvalidTarget,
		},
		{
			name:   "RFC 8707 §2.2 code exchange for a resource other than the authorized one is invalid_target",
			call:   codeCall("webapp", nil, webAuth, "redirect_uri", webRedirect, "code_verifier", verifierS256, "resource", otherAud),
			status: 400, code: endpoint.InvalidTarget,
		},
		{
			name:   "RFC 8707 §2 the code's resource is the access token's audience",
			call:   codeCall("webapp", []codeOpt{codeResource(otherAud)}, webAuth, "redirect_uri", webRedirect, "code_verifier", verifierS256),
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				_, err := f.openAccess(otherAud, mustTokens(t, resp).Access)
				require.NoError(t, err)
			},
		},
		{
			name: "RFC 8707 §2.2 a refresh may not switch to another audience",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens() // for apiAud; webapp may also get otherAud
				return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh, "resource", otherAud), webAuth)
			},
			status: 400, code: endpoint.InvalidTarget,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				assert.Contains(t, body(t, resp)["error_description"], "narrow")
			},
		},
		{
			name: "RFC 8707 §2.2 a refresh naming the grant's audience gets it",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh, "resource", apiAud), webAuth)
			},
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				_, err := f.openAccess(apiAud, mustTokens(t, resp).Access)
				assert.NoError(t, err)
			},
		},
		{
			name: "RFC 8707 §2.2 a refused audience switch does not spend the refresh token",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh, "resource", otherAud), webAuth)
				return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth)
			},
			status: 200,
		},
		{
			name: "RFC 8707 §2 two resources on a refresh are invalid_target",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh, "resource", apiAud, "resource", otherAud), webAuth)
			},
			status: 400, code: endpoint.InvalidTarget,
		},
		{
			name:   "RFC 8707 §2 several resources (one audience per token here) are invalid_target",
			call:   tokenCall(form("grant_type", "client_credentials", "resource", apiAud, "resource", otherAud), basic("multi", backendSecret)),
			status: 400, code: endpoint.InvalidTarget,
		},

		// ---- SPEC §6: rate limiting and store outages ----
		{
			name: "SPEC §6 repeated client authentication failures get 429 + Retry-After before any hash",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				for range 10 {
					require.Equal(t, 401, f.token(ccBody, basic("slow", "wrong")).Status)
				}
				computed := f.verifier.Stats().Computed
				assert.EqualValues(t, 10, computed, "every wrong secret was hashed")
				resp := f.token(ccBody, basic("slow", slowSecret))
				assert.Equal(t, computed, f.verifier.Stats().Computed, "blocked before hashing, even the right secret")
				return resp
			},
			status: 429, code: endpoint.InvalidClient, header: withHeaders(noStore, "Retry-After", "60", "WWW-Authenticate", ""),
		},
		{
			name: "SPEC §6 failures from one address block other slow-hash client ids from that address",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				for i := range 10 {
					f.token(ccBody, basic("guess-"+strconv.Itoa(i), "x"))
				}
				blocked := f.token(ccBody, basic("slow", slowSecret))
				assert.Equal(t, 429, blocked.Status)
				return f.token(ccBody, basic("slow", slowSecret), fromAddr("198.51.100.8"))
			},
			status: 200,
		},
		{
			name: "SPEC §6 the block ends after Retry-After",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				for range 10 {
					f.token(ccBody, basic("slow", "wrong"))
				}
				require.Equal(t, 429, f.token(ccBody, basic("slow", slowSecret)).Status)
				f.clock.Advance(61 * time.Second)
				return f.token(ccBody, basic("slow", slowSecret))
			},
			status: 200,
		},
		{
			name: "SPEC §6 store unavailable: code grant is 503 temporarily_unavailable",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				f.store.down.Store(true)
				return codeCall("webapp", nil, webAuth, "redirect_uri", webRedirect, "code_verifier", verifierS256)(t, f)
			},
			status: 503, code: endpoint.TemporarilyUnavailable, header: noStore,
		},
		{
			name: "SPEC §6 store unavailable: refresh grant is 503 temporarily_unavailable",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				f.store.down.Store(true)
				return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth)
			},
			status: 503, code: endpoint.TemporarilyUnavailable,
		},
		{
			name: "SPEC §6 store unavailable: client_credentials keeps working",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				f.store.down.Store(true)
				return f.token(ccBody, basic("backend", backendSecret))
			},
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				assert.Zero(t, f.store.calls.Load(), "client_credentials needs no store")
			},
		},

		// ---- RFC 7009: revocation ----
		{
			name: "RFC 7009 §2.1 revocation endpoint refuses GET",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.revoke(form("token", f.backendToken()), basic("backend", backendSecret), method("GET"))
			},
			status: 405, code: endpoint.InvalidRequest, header: withHeaders(noStore, "Allow", "POST"),
		},
		{
			name: "RFC 7009 §2.1 revocation endpoint requires TLS",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.revoke(form("token", f.backendToken()), basic("backend", backendSecret), insecure())
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 7009 §2.1 revocation authenticates the client",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.revoke(form("token", f.backendToken()), basic("backend", "wrong"))
			},
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name: "RFC 7009 §2.1 missing token is invalid_request",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.revoke(form("token_type_hint", "access_token"), basic("backend", backendSecret))
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 7009 §2.2 revoking an access token: 200, and introspection then says inactive",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tok := f.backendToken()
				resp := f.revoke(form("token", tok, "token_type_hint", "access_token"), basic("backend", backendSecret))
				isInactive(t, f.introspect(form("token", tok), asRS()))
				return resp
			},
			status: 200, header: map[string]string{"Cache-Control": "no-store", "Content-Type": ""},
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) { assert.Empty(t, resp.Body) },
		},
		{
			name: "RFC 7009 §2.1 revoking a refresh token revokes its family and the access tokens of the grant",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				next := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), webAuth))
				// Revoke with the older generation: the newest must die too.
				resp := f.revoke(form("token", tk.Refresh, "token_type_hint", "refresh_token"), webAuth)
				assert.Equal(t, endpoint.InvalidGrant, errCode(t, f.token(form("grant_type", "refresh_token", "refresh_token", next.Refresh), webAuth)))
				isInactive(t, f.introspect(form("token", tk.Access), asRS()))
				isInactive(t, f.introspect(form("token", next.Access), asRS()))
				return resp
			},
			status: 200,
		},
		{
			name: "RFC 7009 §2.1 public client revokes its refresh token identified by client_id",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tk := mustTokens(t, codeCall("spa", nil, nil, "client_id", "spa", "redirect_uri", spaRedirect, "code_verifier", verifierS256)(t, f))
				resp := f.revoke(form("token", tk.Refresh, "client_id", "spa"))
				assert.Equal(t, endpoint.InvalidGrant, errCode(t, f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh, "client_id", "spa"))))
				return resp
			},
			status: 200,
		},
		{
			name: "RFC 7009 §2.2 invalid token is answered 200",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.revoke(form("token", "not-a-token"), basic("backend", backendSecret))
			},
			status: 200,
		},
		{
			name: "RFC 7009 §2.2 expired token is answered 200",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				tok := f.backendToken()
				f.clock.Advance(accessTTL + leeway + time.Second)
				return f.revoke(form("token", tok), basic("backend", backendSecret))
			},
			status: 200,
		},
		{
			name: "RFC 7009 §2.1 token issued to another client is refused with unauthorized_client",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tok := f.backendToken()
				resp := f.revoke(form("token", tok), webAuth)
				active := body(t, f.introspect(form("token", tok), asRS()))
				assert.Equal(t, true, active["active"], "the refused request revoked nothing")
				return resp
			},
			status: 400, code: endpoint.UnauthorizedClient,
		},
		{
			name: "RFC 7009 §2.1 wrong token_type_hint: the search extends to the other type",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tok := f.backendToken()
				resp := f.revoke(form("token", tok, "token_type_hint", "refresh_token"), basic("backend", backendSecret))
				isInactive(t, f.introspect(form("token", tok), asRS()))
				return resp
			},
			status: 200,
		},
		{
			name: "RFC 7009 §2.1 unknown token_type_hint is ignored, not unsupported_token_type",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tok := f.backendToken()
				resp := f.revoke(form("token", tok, "token_type_hint", "urn:example:id_token"), basic("backend", backendSecret))
				isInactive(t, f.introspect(form("token", tok), asRS()))
				return resp
			},
			status: 200,
		},
		{
			name: "RFC 7009 §2.1 a resource server revokes an access token of its audience",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tok := f.backendToken()
				resp := f.revoke(form("token", tok), asRS())
				isInactive(t, f.introspect(form("token", tok), basic("backend", backendSecret)))
				return resp
			},
			status: 200,
		},
		{
			name: "RFC 7009 §2.1 a resource server may not revoke an access token of another audience",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				tok := f.backendToken() // apiAud
				resp := f.revoke(form("token", tok), asOtherRS())
				assert.Equal(t, true, body(t, f.introspect(form("token", tok), asRS()))["active"])
				return resp
			},
			status: 400, code: endpoint.UnauthorizedClient,
		},
		{
			name: "RFC 7009 §2.1 a resource server may not revoke a refresh token",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				return f.revoke(form("token", f.webTokens().Refresh), asRS())
			},
			status: 400, code: endpoint.UnauthorizedClient,
		},
		{
			name: "RFC 7009 §2.2.1 store unavailable is 503: the token must be assumed valid",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				tok := f.backendToken()
				f.store.down.Store(true)
				return f.revoke(form("token", tok), basic("backend", backendSecret))
			},
			status: 503, code: endpoint.TemporarilyUnavailable,
		},

		// ---- RFC 7662: introspection ----
		{
			name: "RFC 7662 §2.1 introspection refuses GET",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.backendToken()), asRS(), method("GET"))
			},
			status: 405, code: endpoint.InvalidRequest, header: withHeaders(noStore, "Allow", "POST"),
		},
		{
			name: "RFC 7662 §2.1 introspection requires client authentication",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.backendToken(), "client_id", "rs"))
			},
			status: 401, code: endpoint.InvalidClient, header: withHeaders(noStore, "WWW-Authenticate", `Basic realm="oauth", charset="UTF-8"`),
		},
		{
			name: "RFC 7662 §2.1 public clients cannot introspect",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.backendToken(), "client_id", "spa"))
			},
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name: "RFC 7662 §2.1 missing token is invalid_request",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token_type_hint", "access_token"), asRS())
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 7662 §2.2 active access token: members and no-store headers",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.backendToken(), "token_type_hint", "access_token"), asRS())
			},
			status: 200, header: noStore,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				m := body(t, resp)
				jti, _ := m["jti"].(string)
				assert.NotEmpty(t, jti)
				delete(m, "jti")
				assert.Equal(t, map[string]any{
					"active": true, "scope": "read", "client_id": "backend", "token_type": "Bearer",
					"exp": float64(t0.Add(accessTTL).Unix()), "iat": float64(t0.Unix()),
					"sub": "backend", "aud": apiAud, "iss": testIssuer,
				}, m)
			},
		},
		{
			name: "RFC 7662 §2.2 malformed token is exactly {\"active\":false}",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", "eyJhbGciOiJub25lIn0.e30."), asRS())
			},
			status: 200, header: noStore,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) { isInactive(t, resp) },
		},
		{
			name: "RFC 7662 §2.2 expired token is inactive (no leeway at the issuer)",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				tok := f.backendToken()
				f.clock.Advance(accessTTL)
				return f.introspect(form("token", tok), asRS())
			},
			status: 200,
			check:  func(t *testing.T, f *fixture, resp *endpoint.Response) { isInactive(t, resp) },
		},
		{
			name: "RFC 7662 §2.2 authorization code is inactive",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.code("webapp")), basic("webapp", webappSecret))
			},
			status: 200,
			check:  func(t *testing.T, f *fixture, resp *endpoint.Response) { isInactive(t, resp) },
		},
		{
			name: "RFC 7662 §2.1 refresh token is active for its own client, with token_type refresh_token",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.webTokens().Refresh, "token_type_hint", "refresh_token"), webAuth)
			},
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				m := body(t, resp)
				assert.Equal(t, true, m["active"])
				assert.Equal(t, "refresh_token", m["token_type"])
				assert.Equal(t, testIssuer, m["aud"])
			},
		},
		{
			name: "RFC 7662 §2.1 refresh token asked about by another client is inactive",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.webTokens().Refresh), asRS())
			},
			status: 200,
			check:  func(t *testing.T, f *fixture, resp *endpoint.Response) { isInactive(t, resp) },
		},
		{
			name: "RFC 7662 §2.1 token_type_hint refresh_token still finds an access token",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.backendToken(), "token_type_hint", "refresh_token"), asRS())
			},
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				assert.Equal(t, true, body(t, resp)["active"])
			},
		},
		{
			name: "RFC 7662 §2.2 access token of a revoked family is inactive",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				tk := f.webTokens()
				f.revoke(form("token", tk.Refresh), webAuth)
				return f.introspect(form("token", tk.Access), asRS())
			},
			status: 200,
			check:  func(t *testing.T, f *fixture, resp *endpoint.Response) { isInactive(t, resp) },
		},
		{
			name: "RFC 7662 §2.2 refresh token superseded by rotation is inactive; the current one is active",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				old := f.webTokens()
				next := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", old.Refresh), webAuth))
				assert.Equal(t, true, body(t, f.introspect(form("token", next.Refresh), webAuth))["active"], "the current refresh token")
				return f.introspect(form("token", old.Refresh, "token_type_hint", "refresh_token"), webAuth)
			},
			status: 200, header: noStore,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) { isInactive(t, resp) },
		},
		{
			name: "RFC 7662 §4 a client sees its own access token",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.backendToken()), basic("backend", backendSecret))
			},
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				assert.Equal(t, true, body(t, resp)["active"])
			},
		},
		{
			name: "RFC 7662 §4 a client may not see another client's access token",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.backendToken()), webAuth)
			},
			status: 200,
			check:  func(t *testing.T, f *fixture, resp *endpoint.Response) { isInactive(t, resp) },
		},
		{
			name: "RFC 7662 §4 a resource server sees the access tokens of its audience",
			call: func(t *testing.T, f *fixture) *endpoint.Response {
				resp := f.token(ccBody, basic("multi", backendSecret)) // otherAud
				return f.introspect(form("token", mustTokens(t, resp).Access), asOtherRS())
			},
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				m := body(t, resp)
				assert.Equal(t, true, m["active"])
				assert.Equal(t, otherAud, m["aud"])
			},
		},
		{
			name: "RFC 7662 §4 a resource server may not see the access tokens of another audience",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.backendToken()), asOtherRS()) // apiAud
			},
			status: 200,
			check:  func(t *testing.T, f *fixture, resp *endpoint.Response) { isInactive(t, resp) },
		},
		{
			name: "RFC 7662 §4 a resource server never sees a refresh token",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.webTokens().Refresh, "token_type_hint", "refresh_token"), asRS())
			},
			status: 200,
			check:  func(t *testing.T, f *fixture, resp *endpoint.Response) { isInactive(t, resp) },
		},
		{
			name: "RFC 7662 §2.1 a resource server is not a client at the token endpoint",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.token(ccBody, asRS())
			},
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name: "RFC 7662 §2.1 a resource server with a wrong secret is invalid_client",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.backendToken()), basic("rs", "wrong"))
			},
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name: "RFC 7662 §2.2 issue 8: an access token living longer than access_ttl is inactive",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				// Only a holder of the audience key (a resource server) can
				// seal one; this server never issues it.
				return f.introspect(form("token", f.sealAccess(apiAud, accessTTL+time.Second)), asRS())
			},
			status: 200,
			check:  func(t *testing.T, f *fixture, resp *endpoint.Response) { isInactive(t, resp) },
		},
		{
			name: "RFC 7662 §2.2 an access token living exactly access_ttl is active",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				return f.introspect(form("token", f.sealAccess(apiAud, accessTTL)), asRS())
			},
			status: 200,
			check: func(t *testing.T, f *fixture, resp *endpoint.Response) {
				assert.Equal(t, true, body(t, resp)["active"])
			},
		},
		{
			name: "RFC 7662 §2.2 a refresh token living longer than refresh_ttl is inactive",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				now := f.clock.Now()
				tok, err := f.codeSealer.Seal(crypttoken.TypeRefresh, &crypttoken.Claims{
					Issuer: testIssuer, Subject: userID, Audience: []string{testIssuer},
					Expiry: now.Add(refreshTTL + time.Hour), IssuedAt: now, ClientID: "webapp", FamilyID: "fam-long",
				})
				require.NoError(f.t, err)
				return f.introspect(form("token", tok, "token_type_hint", "refresh_token"), webAuth)
			},
			status: 200,
			check:  func(t *testing.T, f *fixture, resp *endpoint.Response) { isInactive(t, resp) },
		},
		{
			name: "RFC 7662 §2.2 store unavailable is 503, never active",
			call: func(_ *testing.T, f *fixture) *endpoint.Response {
				tok := f.backendToken()
				f.store.down.Store(true)
				return f.introspect(form("token", tok), asRS())
			},
			status: 503, code: endpoint.TemporarilyUnavailable,
		},
	}

	names := map[string]bool{}
	for _, tc := range cases {
		require.False(t, names[tc.name], "duplicate row %q", tc.name)
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureConfig(t, tc.cfg)
			resp := tc.call(t, f)
			require.NotNil(t, resp)
			require.Equal(t, tc.status, resp.Status, "body %s", resp.Body)
			if tc.code != "" {
				assert.Equal(t, tc.code, errCode(t, resp))
			} else if resp.Status == 200 && len(resp.Body) > 0 {
				assert.NotContains(t, body(t, resp), "error")
			}
			for name, want := range tc.header {
				assert.Equal(t, want, hdr(resp, name), "header %s", name)
			}
			if tc.check != nil {
				tc.check(t, f, resp)
			}
		})
	}
}

// manyParams returns n distinct extra form parameters, "&p0=1&p1=1...".
func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("&p" + strconv.Itoa(i) + "=1")
	}
	return b.String()
}

// plainClients are standardClients with webapp allowed PKCE plain.
func plainClients(t testing.TB) []*endpoint.Client {
	list := standardClients(t)
	for _, c := range list {
		if c.ID == "webapp" {
			c.AllowPKCEPlain = true
		}
	}
	return list
}
