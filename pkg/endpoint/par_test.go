package endpoint_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

var parAuth = basic("parapp", parSecret)

// parQuery is the front-channel query of a pushed request.
func parQuery(client, requestURI string, kv ...string) string {
	return form(append([]string{"client_id", client, "request_uri", requestURI}, kv...)...)
}

// errorPageCase checks that resp is the error page (never a redirect)
// showing code.
func errorPageCase(code endpoint.ErrorCode) func(*testing.T, *grantsFixture, *endpoint.Response) {
	return func(t *testing.T, _ *grantsFixture, resp *endpoint.Response) {
		assert.Empty(t, hdr(resp, "Location"))
		assert.Equal(t, string(code), pageCode(resp))
	}
}

func TestPARConformance(t *testing.T) {
	authorize := func(q string) func(*testing.T, *grantsFixture) *endpoint.Response {
		return func(t *testing.T, g *grantsFixture) *endpoint.Response {
			resp, _ := g.authorizeGet(q, approveAll)
			return resp
		}
	}
	cases := []grantCase{
		// ---- RFC 9126 §2: the pushed authorization request endpoint ----
		{
			name: "RFC 9126 §2.2 a pushed request is answered 201 with request_uri and expires_in",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.par(form("response_type", "code", "redirect_uri", "https://par.example.com/cb", "scope", "read",
					"code_challenge", challengeS256, "code_challenge_method", "S256"), parAuth)
			},
			status: 201,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				m := body(t, resp)
				uri := m["request_uri"].(string)
				assert.True(t, strings.HasPrefix(uri, endpoint.RequestURIPrefix), uri)
				assert.Len(t, strings.TrimPrefix(uri, endpoint.RequestURIPrefix), 22, "128 random bits")
				assert.EqualValues(t, 60, m["expires_in"])
				assert.Equal(t, "application/json;charset=UTF-8", hdr(resp, "Content-Type"))
			},
		},
		{
			name: "RFC 9126 §2 the endpoint accepts POST only",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.par(form("response_type", "code"), parAuth, method("GET"))
			},
			status: 405, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 9126 §2 the client authenticates as at the token endpoint",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.par(form("response_type", "code", "redirect_uri", "https://par.example.com/cb"), basic("parapp", "wrong"))
			},
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name: "RFC 9126 §2 a public client pushes with its client_id",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.par(form("client_id", "spa", "response_type", "code", "redirect_uri", spaRedirect,
					"code_challenge", challengeS256, "code_challenge_method", "S256", "scope", "read"))
			},
			status: 201,
		},
		{
			name: "RFC 9126 §2.1 a redirect_uri the client does not own is refused at push time",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.par(form("response_type", "code", "redirect_uri", webRedirect, "scope", "read"), parAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Contains(t, body(t, resp)["error_description"], "redirect_uri")
			},
		},
		{
			name: "RFC 9126 §2.3 an unsupported response_type is refused at push time",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.par(form("response_type", "id_token", "redirect_uri", "https://par.example.com/cb"), parAuth)
			},
			status: 400, code: endpoint.UnsupportedResponseType,
		},
		{
			name: "RFC 9126 §2.1 with RFC 7636 §4.4.1 a public client without PKCE is refused at push time",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.par(form("client_id", "spa", "response_type", "code", "redirect_uri", spaRedirect, "scope", "read"))
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 9126 §2.1 with RFC 6749 §3.3 a scope the client may not have is refused at push time",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.par(form("response_type", "code", "redirect_uri", "https://par.example.com/cb", "scope", "admin"), parAuth)
			},
			status: 400, code: endpoint.InvalidScope,
		},
		{
			name: "RFC 9126 §2.1 request_uri must not be pushed",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.par(form("response_type", "code", "redirect_uri", "https://par.example.com/cb",
					"request_uri", endpoint.RequestURIPrefix+"abc"), parAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 9126 §3 request objects are not supported",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.par(form("request", "eyJhbGciOiJub25lIn0.e30."), parAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 9126 §2.1 a client_id in the body must be the authenticated client's",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.par(form("client_id", "webapp", "response_type", "code", "redirect_uri", "https://par.example.com/cb"), parAuth)
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		// ---- RFC 9126 §4: the authorization request ----
		{
			name: "RFC 9126 §4 request_uri with client_id authorizes the pushed request",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				resp, _ := g.authorizeGet(parQuery("parapp", g.push()), approveAll)
				return resp
			},
			status: 302,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				u := location(t, resp)
				assert.Equal(t, "https://par.example.com/cb", u.Scheme+"://"+u.Host+u.Path)
				assert.Equal(t, "st-1", u.Query().Get("state"))
				code := u.Query().Get("code")
				require.NotEmpty(t, code)
				tk := mustTokens(t, g.token(form("grant_type", "authorization_code", "code", code,
					"redirect_uri", "https://par.example.com/cb", "code_verifier", verifierS256), parAuth))
				assert.Equal(t, "read", g.claimsOf(apiAud, tk.Access).Scope)
			},
		},
		{
			name: "RFC 9126 §4 parameters beside request_uri are ignored: the pushed ones count",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				resp, _ := g.authorizeGet(parQuery("parapp", g.push(), "redirect_uri", "https://par.example.com/other",
					"scope", "profile", "state", "forged", "response_type", "token"), approveAll)
				return resp
			},
			status: 302,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				u := location(t, resp)
				assert.Equal(t, "/cb", u.Path)
				assert.Equal(t, "st-1", u.Query().Get("state"))
				assert.NotEmpty(t, u.Query().Get("code"))
			},
		},
		{
			name: "RFC 9126 §4 request_uri reuse is refused on the error page",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				uri := g.push()
				first, _ := g.authorizeGet(parQuery("parapp", uri), approveAll)
				require.Equal(t, 302, first.Status)
				resp, _ := g.authorizeGet(parQuery("parapp", uri), approveAll)
				return resp
			},
			status: 400,
			check:  errorPageCase(endpoint.InvalidRequestURI),
		},
		{
			name: "RFC 9126 §2.2 a request_uri expires after 60 seconds, not extended by the leeway",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				uri := g.push()
				g.clock.Advance(60 * time.Second)
				resp, _ := g.authorizeGet(parQuery("parapp", uri), approveAll)
				return resp
			},
			status: 400,
			check:  errorPageCase(endpoint.InvalidRequestURI),
		},
		{
			name: "RFC 9126 §2.2 a request_uri works until then",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				uri := g.push()
				g.clock.Advance(59 * time.Second)
				resp, _ := g.authorizeGet(parQuery("parapp", uri), approveAll)
				return resp
			},
			status: 302,
		},
		{
			name: "RFC 9126 §4 a request_uri of another client is refused, never redirected",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				resp, _ := g.authorizeGet(parQuery("webapp", g.push()), approveAll)
				return resp
			},
			status: 400,
			check:  errorPageCase(endpoint.InvalidRequestURI),
		},
		{
			name: "RFC 9126 §4 client_id must accompany request_uri",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				resp, _ := g.authorizeGet(form("request_uri", g.push()), approveAll)
				return resp
			},
			status: 400,
			check:  errorPageCase(endpoint.InvalidRequest),
		},
		{
			name:   "RFC 9126 §4 an unknown request_uri is refused",
			call:   authorize(parQuery("parapp", endpoint.RequestURIPrefix+"AAAAAAAAAAAAAAAAAAAAAA")),
			status: 400,
			check:  errorPageCase(endpoint.InvalidRequestURI),
		},
		{
			name:   "RFC 9126 §4 a request_uri this server never issued is refused",
			call:   authorize(parQuery("parapp", "https://evil.example/request.jwt")),
			status: 400,
			check:  errorPageCase(endpoint.InvalidRequestURI),
		},
		{
			name:   "RFC 9126 §4 a repeated request_uri is refused",
			call:   authorize(parQuery("parapp", endpoint.RequestURIPrefix+"a", "request_uri", endpoint.RequestURIPrefix+"b")),
			status: 400,
			check:  errorPageCase(endpoint.InvalidRequest),
		},
		{
			name: "RFC 9126 §6 require_pushed_authorization_requests for a client refuses its plain requests",
			call: authorize(form("client_id", "parapp", "response_type", "code", "redirect_uri", "https://par.example.com/cb",
				"scope", "read", "code_challenge", challengeS256, "code_challenge_method", "S256", "state", "s")),
			status: 302,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				q := location(t, resp).Query()
				assert.Equal(t, "invalid_request", q.Get("error"))
				assert.Empty(t, q.Get("code"))
				assert.Equal(t, "s", q.Get("state"))
			},
		},
		{
			name:   "RFC 9126 §5 the global require_pushed_authorization_requests refuses every plain request",
			opts:   []endpoint.Option{endpoint.WithPushedRequestsRequired()},
			call:   authorize(form("client_id", "webapp", "response_type", "code", "redirect_uri", webRedirect, "scope", "read")),
			status: 302,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Equal(t, "invalid_request", location(t, resp).Query().Get("error"))
			},
		},
		{
			name: "RFC 9126 §5 with the global rule a pushed request goes through",
			opts: []endpoint.Option{endpoint.WithPushedRequestsRequired()},
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				resp := g.par(form("response_type", "code", "redirect_uri", webRedirect, "scope", "read"), webAuth)
				require.Equal(t, 201, resp.Status, "body %s", resp.Body)
				out, _ := g.authorizeGet(parQuery("webapp", body(t, resp)["request_uri"].(string)), approveAll)
				return out
			},
			status: 302,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.NotEmpty(t, location(t, resp).Query().Get("code"))
			},
		},
	}
	runGrantCases(t, cases)
}

// loginOwner acts like the login page: a GET gets an Interact page (and
// the parameters the page would carry in its form are captured); a POST
// carrying username=alice is approved.
type loginOwner struct{ params endpoint.Params }

func (o *loginOwner) Decide(_ context.Context, r *endpoint.Request, ar *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
	if r.Method == "GET" {
		o.params = ar.Params
		return endpoint.Interact(&endpoint.Response{Status: 200, Body: []byte("login form")}), nil
	}
	if ar.Params.Get("username") == userName {
		return endpoint.Approve(endpoint.Grant{Subject: userID}), nil
	}
	return endpoint.Reject(nil), nil
}

// formOf re-encodes captured parameters as the page's hidden fields would
// post them, plus extra fields.
func formOf(p endpoint.Params, kv ...string) string {
	v := make([]string, 0, 2*p.Len()+len(kv))
	p.Each(func(name, value string) { v = append(v, name, value) })
	return form(append(v, kv...)...)
}

// TestPARThroughTheLoginPage: the request_uri is taken at the first GET,
// and the login form's round trip still completes, however long the user
// takes; what the page carries is sealed, bound to the client, and not
// a way around the pushed parameters.
func TestPARThroughTheLoginPage(t *testing.T) {
	post := func(g *grantsFixture, owner endpoint.ResourceOwner, b string) *endpoint.Response {
		r := request("/authorize", b)
		resp, _ := g.srv.HandleAuthorize(context.Background(), r, owner)
		return resp
	}
	t.Run("RFC 9126 §4 the login round trip completes after the request_uri expired", func(t *testing.T) {
		g := newGrantsFixture(t)
		owner := &loginOwner{}
		uri := g.push()
		resp, _ := g.authorizeGet(parQuery("parapp", uri), owner)
		require.Equal(t, 200, resp.Status, "the login form")
		carried := owner.params.Get("request_uri")
		require.NotEqual(t, uri, carried, "the page carries the sealed request, not the spent request_uri")
		assert.Equal(t, "st-1", owner.params.Get("state"), "the pushed parameters are the request's")
		g.clock.Advance(5 * time.Minute)
		out := post(g, owner, formOf(owner.params, "username", userName, "password", userPass))
		u := location(t, out)
		assert.Equal(t, "st-1", u.Query().Get("state"))
		code := u.Query().Get("code")
		require.NotEmpty(t, code)
		mustTokens(t, g.token(form("grant_type", "authorization_code", "code", code,
			"redirect_uri", "https://par.example.com/cb", "code_verifier", verifierS256), parAuth))
		// The spent request_uri stays spent.
		again, _ := g.authorizeGet(parQuery("parapp", uri), owner)
		assert.Equal(t, string(endpoint.InvalidRequestURI), pageCode(again))
	})
	t.Run("RFC 9126 §4 form fields cannot override the pushed parameters", func(t *testing.T) {
		g := newGrantsFixture(t)
		owner := &loginOwner{}
		g.authorizeGet(parQuery("parapp", g.push()), owner)
		b := form("client_id", "parapp", "request_uri", owner.params.Get("request_uri"),
			"redirect_uri", "https://par.example.com/other", "state", "forged", "scope", "profile",
			"username", userName, "password", userPass)
		u := location(t, post(g, owner, b))
		assert.Equal(t, "/cb", u.Path)
		assert.Equal(t, "st-1", u.Query().Get("state"))
	})
	t.Run("RFC 9126 §4 what a client pushes beyond the authorization parameters never overrides the page's fields", func(t *testing.T) {
		g := newGrantsFixture(t)
		owner := &loginOwner{}
		g.authorizeGet(parQuery("parapp", g.push("username", "mallory", "login_extra", "pushed")), owner)
		assert.Equal(t, "mallory", owner.params.Get("username"), "kept while the request has none")
		b := formOf(owner.params)
		b = strings.Replace(b, "username=mallory", "username="+userName, 1)
		u := location(t, post(g, owner, b))
		assert.NotEmpty(t, u.Query().Get("code"), "the user's own username counted")
	})
	t.Run("RFC 9126 §4 the carried request is bound to its client", func(t *testing.T) {
		g := newGrantsFixture(t)
		owner := &loginOwner{}
		g.authorizeGet(parQuery("parapp", g.push()), owner)
		b := form("client_id", "webapp", "request_uri", owner.params.Get("request_uri"), "username", userName)
		out := post(g, owner, b)
		assert.Equal(t, 400, out.Status)
		assert.Equal(t, string(endpoint.InvalidRequestURI), pageCode(out))
	})
	t.Run("RFC 9126 §4 a tampered carried request is refused", func(t *testing.T) {
		g := newGrantsFixture(t)
		owner := &loginOwner{}
		g.authorizeGet(parQuery("parapp", g.push()), owner)
		sealed := []byte(owner.params.Get("request_uri"))
		sealed[len(sealed)-5] ^= 1
		out := post(g, owner, form("client_id", "parapp", "request_uri", string(sealed), "username", userName))
		assert.Equal(t, 400, out.Status)
		assert.Equal(t, string(endpoint.InvalidRequestURI), pageCode(out))
	})
	t.Run("RFC 9126 §4 the carried request lasts as long as a login form, an hour", func(t *testing.T) {
		g := newGrantsFixture(t)
		owner := &loginOwner{}
		g.authorizeGet(parQuery("parapp", g.push()), owner)
		g.clock.Advance(time.Hour + leeway + time.Second)
		out := post(g, owner, formOf(owner.params, "username", userName))
		assert.Equal(t, string(endpoint.InvalidRequestURI), pageCode(out))
	})
	t.Run("RFC 9126 §6 a client that must push gets through the round trip", func(t *testing.T) {
		g := newGrantsFixture(t, endpoint.WithPushedRequestsRequired())
		owner := &loginOwner{}
		g.authorizeGet(parQuery("parapp", g.push()), owner)
		assert.NotEmpty(t, location(t, post(g, owner, formOf(owner.params, "username", userName))).Query().Get("code"))
	})
}

// TestPARStore: pushed requests are store records, single-use under
// concurrency, and a public client's pushes count per address.
func TestPARStore(t *testing.T) {
	t.Run("RFC 9126 §4 of concurrent uses of one request_uri exactly one succeeds", func(t *testing.T) {
		g := newGrantsFixture(t)
		uri := g.push()
		got := parallel(16, func(int) int {
			resp, _ := g.authorizeGet(parQuery("parapp", uri), approveAll)
			return resp.Status
		})
		assert.Equal(t, map[int]int{302: 1, 400: 15}, got)
	})
	t.Run("RFC 9126 §2 store unavailable: 503, nothing pushed", func(t *testing.T) {
		g := newGrantsFixture(t)
		g.store.down.Store(true)
		resp := g.par(form("response_type", "code", "redirect_uri", "https://par.example.com/cb", "scope", "read"), parAuth)
		assert.Equal(t, 503, resp.Status)
		assert.Equal(t, endpoint.TemporarilyUnavailable, errCode(t, resp))
	})
	t.Run("RFC 9126 §2 a public client's pushes count per address against the write quota", func(t *testing.T) {
		g := newGrantsFixture(t, endpoint.WithClientQuota(2, time.Minute))
		push := func(addr string) int {
			return g.par(form("client_id", "spa", "response_type", "code", "redirect_uri", spaRedirect,
				"code_challenge", challengeS256, "code_challenge_method", "S256", "scope", "read"), fromAddr(addr)).Status
		}
		assert.Equal(t, 201, push("203.0.113.9"))
		assert.Equal(t, 201, push("203.0.113.9"))
		assert.Equal(t, 429, push("203.0.113.9"))
		assert.Equal(t, 201, push("198.51.100.20"), "another user of the public client")
	})
}

func TestMetadataGrants(t *testing.T) {
	meta := func(t *testing.T, g *fixture) map[string]any {
		var m map[string]any
		require.NoError(t, json.Unmarshal(g.srv.Metadata().Body, &m))
		return m
	}
	t.Run("RFC 8414 §2 with RFC 8628 §4, RFC 9126 §5: the §12 endpoints and grants when clients have them", func(t *testing.T) {
		g := newGrantsFixture(t)
		m := meta(t, g.fixture)
		assert.Equal(t, testIssuer+"/par", m["pushed_authorization_request_endpoint"])
		assert.Equal(t, false, m["require_pushed_authorization_requests"])
		assert.Equal(t, testIssuer+"/device_authorization", m["device_authorization_endpoint"])
		assert.Subset(t, m["grant_types_supported"], []any{string(endpoint.GrantDeviceCode), string(endpoint.GrantTokenExchange), string(endpoint.GrantJWTBearer)})
	})
	t.Run("RFC 9126 §5 require_pushed_authorization_requests true with the global rule", func(t *testing.T) {
		g := newGrantsFixture(t, endpoint.WithPushedRequestsRequired())
		assert.Equal(t, true, meta(t, g.fixture)["require_pushed_authorization_requests"])
	})
	t.Run("RFC 8414 §2 nothing of §12 when no client has it", func(t *testing.T) {
		f := newFixture(t)
		m := meta(t, f)
		assert.NotContains(t, m, "device_authorization_endpoint")
		for _, g := range []endpoint.GrantType{endpoint.GrantDeviceCode, endpoint.GrantTokenExchange, endpoint.GrantJWTBearer} {
			assert.NotContains(t, m["grant_types_supported"], string(g))
		}
		assert.Contains(t, m, "pushed_authorization_request_endpoint", "webapp uses the code flow")
	})
	t.Run("RFC 9126 §5 no PAR endpoint without the code flow", func(t *testing.T) {
		f := newFixtureConfig(t, fixtureConfig{clients: grantClients(t)[:1]})
		m := meta(t, f)
		assert.NotContains(t, m, "pushed_authorization_request_endpoint")
		assert.NotContains(t, m, "require_pushed_authorization_requests")
		assert.Equal(t, testIssuer+"/device_authorization", m["device_authorization_endpoint"])
	})
}

// FuzzPushedParams: whatever a request_uri and its companions hold, the
// authorization endpoint answers without a panic or a 500, and never
// redirects to a URI that is not registered.
func FuzzPushedParams(f *testing.F) {
	f.Add("parapp", endpoint.RequestURIPrefix+"AAAAAAAAAAAAAAAAAAAAAA", "redirect_uri=https%3A%2F%2Fevil")
	f.Add("parapp", "eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoieCIsInR5cCI6InBhcitqd3QifQ.a.b.c.d", "")
	f.Add("", "", "request_uri=x")
	f.Add("webapp", endpoint.RequestURIPrefix, "state=%ZZ")
	g := newGrantsFixture(f)
	f.Fuzz(func(t *testing.T, client, requestURI, extra string) {
		q := url.Values{"client_id": {client}, "request_uri": {requestURI}}.Encode()
		if extra != "" {
			q += "&" + extra
		}
		resp, res := g.authorizeGet(q, approveAll)
		if resp.Status >= 500 {
			t.Fatalf("%q: status %d", q, resp.Status)
		}
		if resp.Status == 302 {
			loc := hdr(resp, "Location")
			ok := false
			for _, c := range append(standardClients(t), grantClients(t)...) {
				for _, u := range c.RedirectURIs {
					ok = ok || strings.HasPrefix(loc, u)
				}
			}
			if !ok {
				t.Fatalf("%q: redirected to %q", q, loc)
			}
		}
		_ = res
	})
}
