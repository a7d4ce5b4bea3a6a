package endpoint_test

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/store"
)

// Where an authorization endpoint answer goes.
const (
	azPage     = "page"     // an error page, never a redirect (RFC 6749 §3.1.2.4)
	azInQuery  = "query"    // a redirect with parameters in the query (§4.1.2)
	azFragment = "fragment" // a redirect with parameters in the fragment (§4.2.2)
)

type azCase struct {
	name   string
	req    *endpoint.Request
	owner  endpoint.ResourceOwner // nil: azApprove
	strict bool                   // a server WithPKCERequired

	status int                // 0: 302 for redirects, 400 for pages
	err    endpoint.ErrorCode // "": success
	where  string             // azPage, azInQuery or azFragment
	base   string             // the registered URI redirected to
	check  func(*testing.T, *azFixture, azRedirect, endpoint.Result)
	page   func(*testing.T, *endpoint.Response, endpoint.Result)
}

// plainChallenge is a valid 43-character plain code_challenge.
const plainChallenge = "plain-challenge-0123456789-abcdefghijklmnopq"

func TestAuthorizeConformance(t *testing.T) {
	fixed := newAZ(t)
	strict := newAZ(t, endpoint.WithPKCERequired())

	spa := func(extra ...string) string {
		return azQuery(append([]string{"response_type", "code", "client_id", "spa", "code_challenge", azChallenge, "code_challenge_method", "S256"}, extra...)...)
	}
	web := func(extra ...string) string {
		return azQuery(append([]string{"response_type", "code", "client_id", "webapp", "redirect_uri", azWebappCB}, extra...)...)
	}
	js := func(extra ...string) string {
		return azQuery(append([]string{"response_type", "token", "client_id", "js"}, extra...)...)
	}
	owner := func(d endpoint.Decision, err error) endpoint.ResourceOwner {
		return endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
			return d, err
		})
	}
	codeClaims := func(want func(*testing.T, map[string]string)) func(*testing.T, *azFixture, azRedirect, endpoint.Result) {
		return func(t *testing.T, f *azFixture, r azRedirect, _ endpoint.Result) {
			c, err := f.codes.Open(r.query.Get("code"))
			if err != nil {
				t.Fatalf("code does not open: %v", err)
			}
			want(t, map[string]string{
				"sub": c.Subject, "client_id": c.ClientID, "scope": c.Scope, "resource": c.Resource,
				"redirect_uri": c.RedirectURI, "code_challenge": c.CodeChallenge,
				"code_challenge_method": c.CodeChallengeMethod, "fid": c.FamilyID,
			})
		}
	}
	claimIs := func(kv ...string) func(*testing.T, *azFixture, azRedirect, endpoint.Result) {
		return codeClaims(func(t *testing.T, got map[string]string) {
			for i := 0; i+1 < len(kv); i += 2 {
				if got[kv[i]] != kv[i+1] {
					t.Errorf("code claim %s = %q, want %q", kv[i], got[kv[i]], kv[i+1])
				}
			}
		})
	}
	param := func(name, want string) func(*testing.T, *azFixture, azRedirect, endpoint.Result) {
		return func(t *testing.T, _ *azFixture, r azRedirect, _ endpoint.Result) {
			p := r.params()
			if _, ok := p[name]; want == "" && ok {
				t.Errorf("parameter %s = %q, want it absent", name, p.Get(name))
			} else if p.Get(name) != want {
				t.Errorf("parameter %s = %q, want %q", name, p.Get(name), want)
			}
		}
	}
	description := func(sub string) func(*testing.T, *azFixture, azRedirect, endpoint.Result) {
		return func(t *testing.T, _ *azFixture, r azRedirect, _ endpoint.Result) {
			if d := r.params().Get("error_description"); !strings.Contains(d, sub) {
				t.Errorf("error_description %q does not contain %q", d, sub)
			}
		}
	}
	const specialState = `a b+c&d=e/f?g#h%i"j<k>é`
	untrustedProxy := azGet(web())
	untrustedProxy.Secure, untrustedProxy.RemoteAddr = false, netip.MustParseAddr("192.0.2.1")
	untrustedProxy.Header = endpoint.Headers{{Name: "X-Forwarded-Proto", Value: "https"}}
	trustedProxy := azGet(web())
	trustedProxy.Secure, trustedProxy.RemoteAddr = false, netip.MustParseAddr("10.1.2.3")
	trustedProxy.Header = endpoint.Headers{{Name: "X-Forwarded-Proto", Value: "https"}}
	plainHTTP := azGet(web())
	plainHTTP.Secure = false
	withFragment := azGet(web())
	withFragment.URI += "#frag"
	put := azGet(web())
	put.Method = "PUT"
	postJSON := azPost("/authorize", `{"client_id":"webapp"}`)
	postJSON.Header = endpoint.Headers{{Name: "Content-Type", Value: "application/json"}}

	cases := []azCase{
		// RFC 6749 §3.1: the endpoint itself.
		{name: "RFC 6749 §3.1 TLS required: plain http shows an error page", req: plainHTTP,
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1 X-Forwarded-Proto from an untrusted peer is not believed", req: untrustedProxy,
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1 X-Forwarded-Proto https from a trusted proxy counts as TLS", req: trustedProxy,
			where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §3.1 endpoint URI with a fragment shows an error page", req: withFragment,
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1 method other than GET and POST is 405 with Allow", req: put,
			status: 405, err: endpoint.InvalidRequest, where: azPage,
			page: func(t *testing.T, resp *endpoint.Response, _ endpoint.Result) {
				if v, _ := azHeader(resp, "Allow"); v != "GET, POST" {
					t.Errorf("Allow = %q", v)
				}
			}},
		{name: "RFC 6749 §3.1 POST reads the form body", req: azPost("/authorize", web("state", "s1")),
			where: azInQuery, base: azWebappCB, check: param("state", "s1")},
		{name: "RFC 6749 §3.1 POST: the endpoint URI's query is the endpoint's, not parameters",
			req:   azPost("/authorize?response_type=token&state=fromquery", web("state", "frombody")),
			where: azInQuery, base: azWebappCB, check: param("state", "frombody")},
		{name: "RFC 6749 §3.1 POST with a body that is not form-encoded shows an error page", req: postJSON,
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1 GET: the endpoint URI's own query parameters are ignored",
			req: azGet("tenant=acme&" + web()), where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §3.1 unknown parameters are ignored", req: azGet(web("nonce", "n", "prompt", "login")),
			where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §3.1 parameters sent without a value are omitted",
			req:   azGet(web() + "&state=&scope=&resource=&code_challenge_method="),
			where: azInQuery, base: azWebappCB, check: param("state", "")},
		{name: "RFC 6749 §3.1 a repeated parameter is invalid_request, redirected",
			req: azGet(web("scope", "read", "scope", "write", "state", "s")),
			err: endpoint.InvalidRequest, where: azInQuery, base: azWebappCB,
			check: func(t *testing.T, f *azFixture, r azRedirect, res endpoint.Result) {
				param("state", "s")(t, f, r, res)
				description("'scope' repeated")(t, f, r, res)
			}},
		{name: "RFC 6749 §3.1 a repeated state is invalid_request and not echoed",
			req: azGet(web("state", "a", "state", "b")), err: endpoint.InvalidRequest, where: azInQuery, base: azWebappCB,
			check: param("state", "")},
		{name: "RFC 6749 §3.1 malformed percent-encoding is invalid_request, redirected",
			req: azGet(web() + "&scope=%zz"), err: endpoint.InvalidRequest, where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §3.1 a repeated client_id shows an error page",
			req: azGet(web("client_id", "webapp")), err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1 a repeated redirect_uri shows an error page",
			req: azGet(web("redirect_uri", azWebappCB)), err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1 a malformed client_id shows an error page",
			req: azGet("client_id=web%zzapp&response_type=code"), err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1 too many parameters show an error page",
			req: azGet(web() + strings.Repeat("&x=1", 70)), err: endpoint.InvalidRequest, where: azPage},

		// RFC 6749 §3.1.1: response_type.
		{name: "RFC 6749 §3.1.1 missing response_type is invalid_request in the query",
			req: azGet(azQuery("client_id", "webapp", "redirect_uri", azWebappCB, "state", "s")),
			err: endpoint.InvalidRequest, where: azInQuery, base: azWebappCB, check: param("state", "s")},
		{name: "RFC 6749 §3.1.1 unknown response_type is unsupported_response_type",
			req: azGet(azQuery("response_type", "id_token", "client_id", "webapp", "redirect_uri", azWebappCB)),
			err: endpoint.UnsupportedResponseType, where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §3.1.1 response_type values are case-sensitive",
			req: azGet(azQuery("response_type", "Code", "client_id", "webapp", "redirect_uri", azWebappCB)),
			err: endpoint.UnsupportedResponseType, where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §3.1.1 compound code token (hybrid) is unsupported_response_type",
			req: azGet(azQuery("response_type", "code token", "client_id", "both")),
			err: endpoint.UnsupportedResponseType, where: azInQuery, base: azBothCB,
			check: description("'code token'")},
		{name: "RFC 6749 §3.1.1 compound values are order-free: token code is code token",
			req: azGet(azQuery("response_type", "token code", "client_id", "both")),
			err: endpoint.UnsupportedResponseType, where: azInQuery, base: azBothCB,
			check: description("'code token'")},
		{name: "RFC 6749 §3.1.1 response_type is a set: a repeated value counts once",
			req: azGet(azQuery("response_type", "code  code", "client_id", "both")), where: azInQuery, base: azBothCB},
		{name: "RFC 6749 §3.1.1 a client may use only its response types: code for a client_credentials client",
			req: azGet(azQuery("response_type", "code", "client_id", "cconly")),
			err: endpoint.UnauthorizedClient, where: azInQuery, base: azCCCB},
		{name: "RFC 6749 §3.1.1 implicit is off by default: token for a code client is unauthorized_client in the fragment",
			req: azGet(azQuery("response_type", "token", "client_id", "webapp", "redirect_uri", azWebappCB, "state", "s")),
			err: endpoint.UnauthorizedClient, where: azFragment, base: azWebappCB, check: param("state", "s")},
		{name: "RFC 6749 §3.1.1 a token-only client may not use code",
			req: azGet(azQuery("response_type", "code", "client_id", "js")),
			err: endpoint.UnauthorizedClient, where: azInQuery, base: azJSCB},

		// RFC 6749 §3.1.2: the redirection endpoint.
		{name: "RFC 6749 §3.1.2 a relative redirect_uri shows an error page",
			req: azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", "/callback")),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1.2 a redirect_uri with a fragment shows an error page",
			req: azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappCB+"#x")),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1.2 a redirect_uri with an empty fragment shows an error page",
			req: azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappCB+"#")),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1.2.2 an unregistered redirect_uri shows an error page",
			req: azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", "https://evil.example.com/callback")),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 9700 §4.1.3 exact match: a longer path is refused",
			req: azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappCB+"/evil")),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 9700 §4.1.3 exact match: an added query is refused",
			req: azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappCB+"?x=1")),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 9700 §4.1.3 exact match: a trailing slash is refused",
			req: azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappCB+"/")),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 9700 §4.1.3 exact match: no case normalization of the host",
			req: azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", "https://APP.example.com/callback")),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 9700 §4.1.3 exact match: a registered query in another order is refused",
			req: azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", "https://app.example.com/cb?x=a%20b&tenant=acme")),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 9700 §4.1.3 exact match: another client's URI is refused",
			req: azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azSpaCB)),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1.2 a registered query is preserved when parameters are added",
			req:   azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappQueryCB, "state", "s")),
			where: azInQuery, base: azWebappQueryCB,
			check: func(t *testing.T, _ *azFixture, r azRedirect, _ endpoint.Result) {
				if !strings.HasPrefix(r.raw, azWebappQueryCB+"&code=") {
					t.Errorf("Location %q does not keep the registered query and append to it", r.raw)
				}
				if r.query.Get("tenant") != "acme" || r.query.Get("x") != "a b" || r.query.Get("state") != "s" {
					t.Errorf("query %v", r.query)
				}
			}},
		{name: "RFC 6749 §3.1.2.3 redirect_uri may be omitted with one registered URI",
			req:   azGet(azQuery("response_type", "code", "client_id", "single", "scope", "read")),
			where: azInQuery, base: azSingleCB,
			check: func(t *testing.T, f *azFixture, r azRedirect, res endpoint.Result) {
				if !strings.HasPrefix(r.raw, azSingleCB+"&code=") || r.query.Get("keep") != "1" {
					t.Errorf("Location %q", r.raw)
				}
				// RFC 6749 §4.1.3: no redirect_uri in the code, none needed at the token endpoint.
				claimIs("redirect_uri", "")(t, f, r, res)
			}},
		{name: "RFC 6749 §3.1.2.3 redirect_uri is required with several registered URIs",
			req: azGet(azQuery("response_type", "code", "client_id", "webapp")), err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1.2.3 a client without a registered URI shows an error page",
			req: azGet(azQuery("response_type", "code", "client_id", "noredirect", "redirect_uri", "https://x.example.com/cb")),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1.2.3 a client without a registered URI, redirect_uri omitted, shows an error page",
			req: azGet(azQuery("response_type", "code", "client_id", "noredirect")), err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §4.1.3 a redirect_uri sent is recorded in the code",
			req: azGet(web()), where: azInQuery, base: azWebappCB, check: claimIs("redirect_uri", azWebappCB)},

		// RFC 6749 §3.1.2.4, §4.1.2.1: never redirect for a bad client_id or redirect_uri.
		{name: "RFC 6749 §4.1.2.1 missing client_id shows an error page",
			req: azGet(azQuery("response_type", "code", "redirect_uri", azWebappCB)), err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §4.1.2.1 unknown client_id shows an error page, even with a URI registered to another client",
			req: azGet(azQuery("response_type", "code", "client_id", "nobody", "redirect_uri", azWebappCB)),
			err: endpoint.InvalidRequest, where: azPage,
			page: func(t *testing.T, _ *endpoint.Response, res endpoint.Result) {
				if !errors.Is(res.Err, endpoint.ErrUnknownClient) {
					t.Errorf("Err %v does not wrap ErrUnknownClient", res.Err)
				}
				if res.ClientID != "" {
					t.Errorf("Result.ClientID = %q for an unknown client", res.ClientID)
				}
			}},
		{name: "RFC 6749 §3.1.2.4 the error page escapes what it shows",
			req: azGet(azQuery("response_type", "<script>alert(1)</script>", "client_id", "webapp", "redirect_uri", "<script>")),
			err: endpoint.InvalidRequest, where: azPage},
		{name: "RFC 6749 §3.1.2.4 the error page HTML-escapes a reflected parameter name",
			req: azGet("%3Cscript%3E=1&%3Cscript%3E=2&client_id=webapp&client_id=webapp"), err: endpoint.InvalidRequest, where: azPage,
			page: func(t *testing.T, resp *endpoint.Response, _ endpoint.Result) {
				if !strings.Contains(string(resp.Body), "&lt;script&gt;") {
					t.Errorf("page %q", resp.Body)
				}
			}},
		{name: "RFC 6749 §3.1.2.4 an invalid redirect_uri is reported before an invalid response_type",
			req: azGet(azQuery("response_type", "bogus", "client_id", "webapp", "redirect_uri", "https://evil.example.com/")),
			err: endpoint.InvalidRequest, where: azPage},

		// RFC 6749 §3.3: scope.
		{name: "RFC 6749 §3.3 scope outside scope-token syntax is invalid_scope, redirected",
			req: azGet(web("scope", `read "x"`)), err: endpoint.InvalidScope, where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §3.3 a scope the client may not have is invalid_scope",
			req: azGet(web("scope", "read admin")), err: endpoint.InvalidScope, where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §3.3 scope is case-sensitive",
			req: azGet(web("scope", "READ")), err: endpoint.InvalidScope, where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §3.3 an omitted scope gets the client's default",
			req: azGet(web()), where: azInQuery, base: azWebappCB, check: claimIs("scope", "profile")},
		{name: "RFC 6749 §3.3 an omitted scope without a default is invalid_scope",
			req: azGet(azQuery("response_type", "code", "client_id", "single")), err: endpoint.InvalidScope, where: azInQuery, base: azSingleCB},
		{name: "RFC 6749 §3.3 scope is order-free and repeated spaces are tolerated",
			req: azGet(web("scope", "write  read")), where: azInQuery, base: azWebappCB, check: claimIs("scope", "write read")},

		// RFC 6749 §4.1.2: the code response.
		{name: "RFC 6749 §4.1.2 the code is in the query with state echoed exactly",
			req: azGet(web("state", specialState)), where: azInQuery, base: azWebappCB,
			check: func(t *testing.T, f *azFixture, r azRedirect, res endpoint.Result) {
				param("state", specialState)(t, f, r, res)
				param("iss", azIssuer)(t, f, r, res) // RFC 9207 §2
				if res.ClientID != "webapp" || res.GrantType != endpoint.GrantAuthorizationCode || res.Audience != azAPI || res.JTI == "" {
					t.Errorf("Result %+v", res)
				}
				claimIs("sub", "u-1001", "client_id", "webapp", "resource", azAPI)(t, f, r, res)
			}},
		{name: "RFC 6749 §4.1.2 state is omitted from the response when the request omits it",
			req: azGet(web()), where: azInQuery, base: azWebappCB, check: param("state", "")},
		{name: "RFC 6749 §4.1.2 every code starts its own refresh family",
			req: azGet(web()), where: azInQuery, base: azWebappCB,
			check: codeClaims(func(t *testing.T, c map[string]string) {
				if len(c["fid"]) < 16 {
					t.Errorf("fid %q", c["fid"])
				}
			})},

		// RFC 6749 §4.1.2.1: every error code, in the query.
		{name: "RFC 6749 §4.1.2.1 access_denied when the resource owner refuses",
			req: azGet(web("state", "s")), owner: owner(endpoint.Reject(nil), nil),
			err: endpoint.AccessDenied, where: azInQuery, base: azWebappCB, check: param("state", "s")},
		{name: "RFC 6749 §4.1.2.1 an owner's own error code is redirected",
			req: azGet(web()), owner: owner(endpoint.Reject(endpoint.NewError("login_required", "no session")), nil),
			err: "login_required", where: azInQuery, base: azWebappCB, check: description("no session")},
		{name: "RFC 6749 §4.1.2.1 server_error when the owner fails",
			req: azGet(web()), owner: owner(endpoint.Decision{}, errors.New("database on fire")),
			err: endpoint.ServerError, where: azInQuery, base: azWebappCB,
			check: func(t *testing.T, f *azFixture, r azRedirect, res endpoint.Result) {
				if strings.Contains(r.raw, "fire") {
					t.Errorf("the cause leaked into %q", r.raw)
				}
			}},
		{name: "RFC 6749 §4.1.2.1 temporarily_unavailable when the owner's store is down",
			req: azGet(web()), owner: owner(endpoint.Decision{}, store.ErrUnavailable),
			err: endpoint.TemporarilyUnavailable, where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §4.1.2.1 a zero Decision is server_error",
			req: azGet(web()), owner: owner(endpoint.Decision{}, nil), err: endpoint.ServerError, where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §4.1.2.1 a grant wider than the request is server_error",
			req:   azGet(web("scope", "read")),
			owner: owner(endpoint.Approve(endpoint.Grant{Subject: "u", Scopes: []string{"read", "write"}}), nil),
			err:   endpoint.ServerError, where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §4.1.2.1 a grant of no scope is access_denied",
			req:   azGet(web("scope", "read")),
			owner: owner(endpoint.Approve(endpoint.Grant{Subject: "u", Scopes: []string{}}), nil),
			err:   endpoint.AccessDenied, where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §4.1.2.1 a grant without a subject is server_error",
			req: azGet(web()), owner: owner(endpoint.Approve(endpoint.Grant{}), nil),
			err: endpoint.ServerError, where: azInQuery, base: azWebappCB},
		{name: "RFC 6749 §3.3 consent narrows the scope to a subset",
			req:   azGet(web("scope", "read write profile")),
			owner: owner(endpoint.Approve(endpoint.Grant{Subject: "u-2", Scopes: []string{"read", "read"}}), nil),
			where: azInQuery, base: azWebappCB, check: claimIs("scope", "read", "sub", "u-2")},

		// RFC 6749 §4.2.2, §4.2.2.1: the implicit grant, in the fragment.
		{name: "RFC 6749 §4.2.2 the access token is in the fragment, with no refresh token",
			req: azGet(js("scope", "read", "state", specialState)), where: azFragment, base: azJSCB,
			check: func(t *testing.T, f *azFixture, r azRedirect, res endpoint.Result) {
				p := r.fragment
				if p.Get("token_type") != "Bearer" || p.Get("expires_in") != "600" || p.Has("refresh_token") || p.Has("code") {
					t.Errorf("fragment %v", p)
				}
				param("state", specialState)(t, f, r, res)
				param("scope", "")(t, f, r, res) // RFC 6749 §4.2.2: same as requested, omitted
				at, err := f.api.Open(p.Get("access_token"))
				if err != nil {
					t.Fatalf("access token does not open: %v", err)
				}
				if at.Subject != "u-1001" || at.ClientID != "js" || at.Scope != "read" || at.FamilyID != "" || at.AuthTime.IsZero() {
					t.Errorf("claims %+v", at)
				}
				if res.GrantType != endpoint.GrantImplicit || res.JTI != at.ID || res.Audience != azAPI {
					t.Errorf("Result %+v", res)
				}
			}},
		{name: "RFC 6749 §4.2.2 scope is stated when it differs from the request (default scope)",
			req: azGet(js()), where: azFragment, base: azJSCB, check: param("scope", "read")},
		{name: "RFC 6749 §4.2.2 scope is stated when consent narrowed it",
			req:   azGet(js("scope", "read write")),
			owner: owner(endpoint.Approve(endpoint.Grant{Subject: "u", Scopes: []string{"write"}}), nil),
			where: azFragment, base: azJSCB, check: param("scope", "write")},
		{name: "RFC 6749 §4.2.2.1 invalid_scope is in the fragment",
			req: azGet(js("scope", "admin", "state", "s")), err: endpoint.InvalidScope, where: azFragment, base: azJSCB,
			check: param("state", "s")},
		{name: "RFC 6749 §4.2.2.1 access_denied is in the fragment",
			req: azGet(js()), owner: owner(endpoint.Reject(nil), nil), err: endpoint.AccessDenied, where: azFragment, base: azJSCB},
		{name: "RFC 6749 §4.2.2.1 a repeated parameter is in the fragment",
			req: azGet(js("scope", "read", "scope", "read")), err: endpoint.InvalidRequest, where: azFragment, base: azJSCB},
		{name: "RFC 6749 §4.2.1 PKCE parameters do not apply to the implicit grant",
			req: azGet(js("code_challenge_method", "bogus")), where: azFragment, base: azJSCB},

		// RFC 7636: PKCE.
		{name: "RFC 7636 §4.4.1 a public client without code_challenge gets invalid_request",
			req: azGet(azQuery("response_type", "code", "client_id", "spa", "state", "s")),
			err: endpoint.InvalidRequest, where: azInQuery, base: azSpaCB,
			check: func(t *testing.T, f *azFixture, r azRedirect, res endpoint.Result) {
				description("code challenge required")(t, f, r, res)
				param("state", "s")(t, f, r, res)
			}},
		{name: "RFC 7636 §4.3 S256 challenge recorded in the code",
			req: azGet(spa()), where: azInQuery, base: azSpaCB,
			check: claimIs("code_challenge", azChallenge, "code_challenge_method", "S256")},
		{name: "RFC 7636 §4.3 code_challenge_method defaults to plain for a client allowed plain",
			req: azGet(azQuery("response_type", "code", "client_id", "legacy", "code_challenge", plainChallenge)), where: azInQuery, base: azLegacyCB,
			check: claimIs("code_challenge", plainChallenge, "code_challenge_method", "plain")},
		{name: "RFC 7636 §4.2 an explicit plain method for a client allowed plain",
			req: azGet(azQuery("response_type", "code", "client_id", "legacy", "code_challenge", plainChallenge, "code_challenge_method", "plain")), where: azInQuery, base: azLegacyCB,
			check: claimIs("code_challenge", plainChallenge, "code_challenge_method", "plain")},
		{name: "RFC 9700 §2.1.1 S256 is not assumed: a challenge without a method is invalid_request for a client not allowed plain",
			req: azGet(azQuery("response_type", "code", "client_id", "spa", "code_challenge", azChallenge)),
			err: endpoint.InvalidRequest, where: azInQuery, base: azSpaCB, check: description("code_challenge_method is required")},
		{name: "RFC 9700 §2.1.1 plain is refused for a client not allowed it",
			req: azGet(azQuery("response_type", "code", "client_id", "spa", "code_challenge", plainChallenge, "code_challenge_method", "plain")),
			err: endpoint.InvalidRequest, where: azInQuery, base: azSpaCB, check: description("transform algorithm not supported")},
		{name: "RFC 9700 §2.1.1 plain is refused for a confidential client not allowed it",
			req: azGet(web("code_challenge", plainChallenge, "code_challenge_method", "plain")),
			err: endpoint.InvalidRequest, where: azInQuery, base: azWebappCB, check: description("transform algorithm not supported")},
		{name: "RFC 7636 §4.4.1 an unsupported method is invalid_request",
			req: azGet(azQuery("response_type", "code", "client_id", "spa", "code_challenge", azChallenge, "code_challenge_method", "S512")),
			err: endpoint.InvalidRequest, where: azInQuery, base: azSpaCB, check: description("transform algorithm not supported")},
		{name: "RFC 7636 §4.3 methods are case-sensitive",
			req: azGet(azQuery("response_type", "code", "client_id", "spa", "code_challenge", azChallenge, "code_challenge_method", "s256")),
			err: endpoint.InvalidRequest, where: azInQuery, base: azSpaCB},
		{name: "RFC 7636 §4.3 a method without a challenge is invalid_request",
			req: azGet(web("code_challenge_method", "S256")), err: endpoint.InvalidRequest, where: azInQuery, base: azWebappCB},
		{name: "RFC 7636 §4.2 a plain challenge of 42 characters is too short",
			req: azGet(azQuery("response_type", "code", "client_id", "legacy", "code_challenge", plainChallenge[:42])),
			err: endpoint.InvalidRequest, where: azInQuery, base: azLegacyCB},
		{name: "RFC 7636 §4.2 a plain challenge of 128 characters is allowed",
			req:   azGet(azQuery("response_type", "code", "client_id", "legacy", "code_challenge", strings.Repeat("a", 128))),
			where: azInQuery, base: azLegacyCB},
		{name: "RFC 7636 §4.2 a plain challenge of 129 characters is too long",
			req: azGet(azQuery("response_type", "code", "client_id", "legacy", "code_challenge", strings.Repeat("a", 129))),
			err: endpoint.InvalidRequest, where: azInQuery, base: azLegacyCB},
		{name: "RFC 7636 §4.1 a plain challenge outside the unreserved characters is refused",
			req: azGet(azQuery("response_type", "code", "client_id", "legacy", "code_challenge", plainChallenge[:42]+"+")),
			err: endpoint.InvalidRequest, where: azInQuery, base: azLegacyCB},
		{name: "RFC 7636 §4.2 an S256 challenge must be 43 characters",
			req: azGet(azQuery("response_type", "code", "client_id", "spa", "code_challenge", azChallenge+"A", "code_challenge_method", "S256")),
			err: endpoint.InvalidRequest, where: azInQuery, base: azSpaCB},
		{name: "RFC 7636 §4.2 an S256 challenge must be base64url",
			req: azGet(azQuery("response_type", "code", "client_id", "spa", "code_challenge", azChallenge[:42]+"~", "code_challenge_method", "S256")),
			err: endpoint.InvalidRequest, where: azInQuery, base: azSpaCB},
		{name: "RFC 7636 §4.4.1 a confidential client may omit PKCE",
			req: azGet(web()), where: azInQuery, base: azWebappCB, check: claimIs("code_challenge", "")},
		{name: "RFC 9700 §2.1.1 WithPKCERequired: a confidential client must send a challenge",
			req: azGet(web()), strict: true, err: endpoint.InvalidRequest, where: azInQuery, base: azWebappCB},
		{name: "RFC 9700 §2.1.1 WithPKCERequired: a confidential client with a challenge passes",
			req: azGet(web("code_challenge", azChallenge, "code_challenge_method", "S256")), strict: true,
			where: azInQuery, base: azWebappCB},

		// RFC 8707: resource indicators.
		{name: "RFC 8707 §2 an unknown resource is invalid_target",
			req: azGet(web("resource", "https://unknown.example.com")), err: endpoint.InvalidTarget, where: azInQuery, base: azWebappCB},
		{name: "RFC 8707 §2 a resource the client may not use is invalid_target",
			req: azGet(web("resource", azOther)), err: endpoint.InvalidTarget, where: azInQuery, base: azWebappCB},
		{name: "RFC 8707 §2 invalid_target is in the fragment for the implicit grant",
			req: azGet(js("resource", "urn:x")), err: endpoint.InvalidTarget, where: azFragment, base: azJSCB},
		{name: "RFC 8707 §2 the resource is recorded in the code",
			req: azGet(web("resource", azAPI)), where: azInQuery, base: azWebappCB, check: claimIs("resource", azAPI)},
		{name: "RFC 8707 §2 the implicit access token is sealed for the resource",
			req: azGet(js("resource", azOther)), where: azFragment, base: azJSCB,
			check: func(t *testing.T, f *azFixture, r azRedirect, res endpoint.Result) {
				if _, err := f.other.Open(r.fragment.Get("access_token")); err != nil {
					t.Errorf("the token does not open for %s: %v", azOther, err)
				}
				if _, err := f.api.Open(r.fragment.Get("access_token")); err == nil {
					t.Errorf("the token for %s opens for %s", azOther, azAPI)
				}
				if res.Audience != azOther {
					t.Errorf("Result.Audience %q", res.Audience)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := fixed
			if tc.strict {
				f = strict
			}
			own := tc.owner
			if own == nil {
				own = azApprove
			}
			resp, res := f.srv.HandleAuthorize(context.Background(), tc.req, own)
			azCheckCase(t, f, tc, resp, res)
		})
	}
}

// azCheckCase asserts status, error code, headers and where the answer went.
func azCheckCase(t *testing.T, f *azFixture, tc azCase, resp *endpoint.Response, res endpoint.Result) {
	t.Helper()
	if tc.err == "" && res.Err != nil {
		t.Fatalf("Err = %v, want success", res.Err)
	}
	if tc.err != "" && (res.Err == nil || res.Err.Code != tc.err) {
		t.Fatalf("Err = %v, want %s", res.Err, tc.err)
	}
	loc, hasLoc := azHeader(resp, "Location")
	if tc.where == azPage {
		want := tc.status
		if want == 0 {
			want = 400
		}
		if resp.Status != want {
			t.Errorf("status %d, want %d", resp.Status, want)
		}
		if hasLoc {
			t.Fatalf("RFC 6749 §3.1.2.4: redirected to %q, want an error page", loc)
		}
		for name, want := range map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"} {
			if v, _ := azHeader(resp, name); v != want {
				t.Errorf("%s = %q, want %q", name, v, want)
			}
		}
		body := string(resp.Body)
		if !strings.Contains(body, string(tc.err)) {
			t.Errorf("page does not name %s: %q", tc.err, body)
		}
		if strings.Contains(body, "<script") {
			t.Errorf("page reflects markup: %q", body)
		}
		if tc.page != nil {
			tc.page(t, resp, res)
		}
		return
	}
	if resp.Status != 302 || !hasLoc {
		t.Fatalf("status %d, Location %q; want a 302 redirect (body %q)", resp.Status, loc, resp.Body)
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"} {
		if v, _ := azHeader(resp, name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	r := azParseLocation(t, loc)
	if r.base != tc.base {
		t.Errorf("redirected to %q, want %q", r.base, tc.base)
	}
	registered, _ := url.Parse(tc.base)
	switch tc.where {
	case azInQuery:
		if r.fragment != nil {
			t.Errorf("Location %q has a fragment; want the parameters in the query", loc)
		}
	case azFragment:
		if r.fragment == nil {
			t.Fatalf("Location %q has no fragment", loc)
		}
		if got := strings.SplitN(loc, "#", 2)[0]; got != tc.base {
			t.Errorf("parameters were added to the query too: %q", got)
		}
	default:
		t.Fatalf("bad where %q", tc.where)
	}
	for k, v := range registered.Query() {
		if !slices.Equal(r.query[k], v) {
			t.Errorf("registered query parameter %s = %v lost: %v", k, v, r.query[k])
		}
	}
	p := r.params()
	if p.Get("iss") != azIssuer {
		t.Errorf("RFC 9207: iss = %q", p.Get("iss"))
	}
	if tc.err != "" {
		if p.Get("error") != string(tc.err) {
			t.Errorf("error = %q, want %s", p.Get("error"), tc.err)
		}
		if p.Has("code") || p.Has("access_token") {
			t.Errorf("an error response carries a credential: %v", p)
		}
	} else {
		if p.Has("error") {
			t.Errorf("unexpected error %q", p.Get("error"))
		}
		key := "code"
		if tc.where == azFragment {
			key = "access_token"
		}
		if p.Get(key) == "" {
			t.Errorf("no %s in %q", key, loc)
		}
	}
	if tc.check != nil {
		tc.check(t, f, r, res)
	}
}

// TestAuthorizeTwoStep covers the public two-step API: ValidateAuthorize,
// then Authorize or Deny.
func TestAuthorizeTwoStep(t *testing.T) {
	f := newAZ(t)
	ctx := context.Background()
	q := azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappQueryCB, "scope", "read write", "state", "st")
	ar, resp, res := f.srv.ValidateAuthorize(ctx, azGet(q))
	if ar == nil || resp != nil || res.Err != nil {
		t.Fatalf("ValidateAuthorize: %v %v %v", ar, resp, res.Err)
	}
	if ar.ClientID() != "webapp" || ar.RedirectHost() != "app.example.com" || !ar.RedirectURISent || ar.State != "st" ||
		!slices.Equal(ar.Scopes, []string{"read", "write"}) || ar.Audience != azAPI || ar.GrantType() != endpoint.GrantAuthorizationCode {
		t.Fatalf("AuthorizeRequest %+v", ar)
	}

	tests := []struct {
		name   string
		mutate func(*endpoint.AuthorizeRequest)
		deny   bool
		status int
		err    endpoint.ErrorCode
	}{
		{name: "RFC 6749 §4.1.2 Authorize redirects with a code", status: 302},
		{name: "RFC 6749 §4.1.2.1 Deny redirects with access_denied", deny: true, status: 302, err: endpoint.AccessDenied},
		{name: "RFC 6749 §3.1.2.4 an AuthorizeRequest changed to an unregistered URI is never redirected",
			mutate: func(ar *endpoint.AuthorizeRequest) { ar.RedirectURI = "https://evil.example.com/" }, status: 500, err: endpoint.ServerError},
		{name: "RFC 6749 §3.1.2.4 Deny of an AuthorizeRequest changed to an unregistered URI is never redirected", deny: true,
			mutate: func(ar *endpoint.AuthorizeRequest) { ar.RedirectURI = "https://evil.example.com/" }, status: 500},
		{name: "RFC 6749 §3.3 an AuthorizeRequest changed to a scope the client may not have is refused",
			mutate: func(ar *endpoint.AuthorizeRequest) { ar.Scopes = append(ar.Scopes, "admin") }, status: 302, err: endpoint.ServerError},
		{name: "RFC 8707 an AuthorizeRequest changed to another audience is refused",
			mutate: func(ar *endpoint.AuthorizeRequest) { ar.Audience = azOther }, status: 302, err: endpoint.ServerError},
		{name: "RFC 6749 §3.1.1 an AuthorizeRequest changed to the implicit grant is refused",
			mutate: func(ar *endpoint.AuthorizeRequest) {
				ar.ResponseTypes = []endpoint.ResponseType{endpoint.ResponseToken}
			}, status: 302, err: endpoint.ServerError},
		{name: "RFC 6749 §3.1.2.4 a nil AuthorizeRequest is an error page",
			mutate: nil, status: 500, err: endpoint.ServerError},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a *endpoint.AuthorizeRequest
			if i != len(tests)-1 { // the last row passes nil
				c := *ar
				c.Scopes = slices.Clone(ar.Scopes)
				a = &c
				if tc.mutate != nil {
					tc.mutate(a)
				}
			}
			var resp *endpoint.Response
			var res endpoint.Result
			if tc.deny {
				resp = f.srv.Deny(a)
			} else {
				resp, res = f.srv.Authorize(ctx, a, endpoint.Grant{Subject: "u-1001"})
				if (tc.err == "") != (res.Err == nil) || (res.Err != nil && res.Err.Code != tc.err) {
					t.Fatalf("Err = %v, want %q", res.Err, tc.err)
				}
			}
			if resp.Status != tc.status {
				t.Fatalf("status %d, want %d", resp.Status, tc.status)
			}
			loc, hasLoc := azHeader(resp, "Location")
			if tc.status != 302 {
				if hasLoc {
					t.Fatalf("redirected to %q", loc)
				}
				return
			}
			p := azParseLocation(t, loc).params()
			if tc.err != "" && p.Get("error") != string(tc.err) || tc.err == "" && p.Get("code") == "" {
				t.Fatalf("Location %q", loc)
			}
			if p.Get("state") != "st" {
				t.Errorf("state %q", p.Get("state"))
			}
		})
	}
}

// TestAuthorizeInteract: a ResourceOwner's page is sent as it is.
func TestAuthorizeInteract(t *testing.T) {
	f := newAZ(t)
	page := &endpoint.Response{Status: 200, Header: endpoint.Headers{{Name: "Content-Type", Value: "text/html"}}, Body: []byte("<form>login</form>")}
	var seen *endpoint.AuthorizeRequest
	owner := endpoint.ResourceOwnerFunc(func(_ context.Context, _ *endpoint.Request, ar *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
		seen = ar
		return endpoint.Interact(page), nil
	})
	resp, res := f.srv.HandleAuthorize(context.Background(), azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappCB)), owner)
	if resp != page || res.Err != nil || res.ClientID != "webapp" {
		t.Fatalf("got %+v, %+v", resp, res)
	}
	if seen == nil || seen.ClientID() != "webapp" {
		t.Fatalf("owner saw %+v", seen)
	}
	resp, res = f.srv.HandleAuthorize(context.Background(), azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappCB)),
		endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
			return endpoint.Interact(nil), nil
		}))
	if resp.Status != 302 || res.Err == nil || res.Err.Code != endpoint.ServerError {
		t.Fatalf("Interact(nil): %d %v", resp.Status, res.Err)
	}
	resp, res = f.srv.HandleAuthorize(context.Background(), azGet(azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappCB)), nil)
	if resp.Status != 302 || res.Err == nil || res.Err.Code != endpoint.ServerError {
		t.Fatalf("nil owner: %d %v", resp.Status, res.Err)
	}
}

// TestAuthorizeHooks: the implicit grant runs the token hooks.
func TestAuthorizeHooks(t *testing.T) {
	var grants []endpoint.GrantType
	f := newAZ(t, endpoint.WithHooks(endpoint.Hooks{
		ValidateTokenRequest: func(_ context.Context, tr *endpoint.TokenRequest) error {
			grants = append(grants, tr.GrantType)
			if tr.Subject == "blocked" {
				return endpoint.NewError(endpoint.AccessDenied, "blocked user")
			}
			return nil
		},
	}))
	owner := func(sub string) endpoint.ResourceOwner {
		return endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
			return endpoint.Approve(endpoint.Grant{Subject: sub}), nil
		})
	}
	resp, res := f.srv.HandleAuthorize(context.Background(), azGet(azQuery("response_type", "token", "client_id", "js")), owner("u-1"))
	if resp.Status != 302 || res.Err != nil {
		t.Fatalf("%d %v", resp.Status, res.Err)
	}
	resp, res = f.srv.HandleAuthorize(context.Background(), azGet(azQuery("response_type", "token", "client_id", "js", "state", "s")), owner("blocked"))
	loc, _ := azHeader(resp, "Location")
	if p := azParseLocation(t, loc).fragment; p.Get("error") != "access_denied" || p.Has("access_token") || p.Get("state") != "s" {
		t.Fatalf("blocked: %q", loc)
	}
	if res.Err == nil || res.Err.Code != endpoint.AccessDenied {
		t.Fatalf("blocked: %v", res.Err)
	}
	if !slices.Equal(grants, []endpoint.GrantType{endpoint.GrantImplicit, endpoint.GrantImplicit}) {
		t.Fatalf("hook saw %v", grants)
	}
}

// TestAuthorizeCodeRoundTrip exchanges codes at the token endpoint: RFC 6749
// §4.1.3 with RFC 7636 §4.5, §4.6, and code reuse (RFC 6749 §4.1.2).
func TestAuthorizeCodeRoundTrip(t *testing.T) {
	f := newAZ(t)
	const plainVerifier = "plain-verifier-0123456789-abcdefghijklmnopqrs"
	tests := []struct {
		name      string
		authorize string
		basic     string
		form      url.Values
		status    int
		err       string
	}{
		{name: "RFC 7636 §4.6 S256: the right verifier gets tokens",
			authorize: azQuery("response_type", "code", "client_id", "spa", "code_challenge", azChallenge, "code_challenge_method", "S256"),
			form:      url.Values{"client_id": {"spa"}, "code_verifier": {azVerifier}}, status: 200},
		{name: "RFC 7636 §4.6 plain: the right verifier gets tokens",
			authorize: azQuery("response_type", "code", "client_id", "legacy", "code_challenge", plainVerifier),
			form:      url.Values{"client_id": {"legacy"}, "code_verifier": {plainVerifier}}, status: 200},
		{name: "RFC 7636 §4.6 S256: a wrong verifier is invalid_grant",
			authorize: azQuery("response_type", "code", "client_id", "spa", "code_challenge", azS256(plainVerifier), "code_challenge_method", "S256"),
			form:      url.Values{"client_id": {"spa"}, "code_verifier": {azVerifier}}, status: 400, err: "invalid_grant"},
		{name: "RFC 7636 §4.6 plain: a wrong verifier is invalid_grant",
			authorize: azQuery("response_type", "code", "client_id", "legacy", "code_challenge", plainVerifier),
			form:      url.Values{"client_id": {"legacy"}, "code_verifier": {plainVerifier + "x"}}, status: 400, err: "invalid_grant"},
		{name: "RFC 7636 §4.5 a missing verifier is invalid_grant",
			authorize: azQuery("response_type", "code", "client_id", "spa", "code_challenge", azChallenge, "code_challenge_method", "S256"),
			form:      url.Values{"client_id": {"spa"}}, status: 400, err: "invalid_grant"},
		{name: "RFC 6749 §4.1.3 redirect_uri sent at /authorize must be repeated",
			authorize: azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappCB),
			basic:     "webapp:" + azWebappSecret, form: url.Values{}, status: 400, err: "invalid_grant"},
		{name: "RFC 6749 §4.1.3 redirect_uri repeated identically gets tokens",
			authorize: azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappQueryCB),
			basic:     "webapp:" + azWebappSecret, form: url.Values{"redirect_uri": {azWebappQueryCB}}, status: 200},
		{name: "RFC 6749 §4.1.3 redirect_uri omitted at /authorize need not be sent",
			authorize: azQuery("response_type", "code", "client_id", "single", "scope", "write"),
			basic:     "single:" + azSingleSecret, form: url.Values{}, status: 200},
		{name: "RFC 6749 §4.1.3 a code is bound to its client",
			authorize: azQuery("response_type", "code", "client_id", "single", "scope", "write"),
			basic:     "webapp:" + azWebappSecret, form: url.Values{}, status: 400, err: "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code := f.azCode(t, tc.authorize)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
			for k, v := range tc.form {
				form[k] = v
			}
			status, body := f.azToken(t, tc.basic, form)
			if status != tc.status || (tc.err != "" && body["error"] != tc.err) {
				t.Fatalf("token: %d %v", status, body)
			}
			if tc.status == 200 {
				at, err := f.api.Open(body["access_token"].(string))
				if err != nil || at.Subject != "u-1001" {
					t.Fatalf("access token: %v %+v", err, at)
				}
				if _, ok := body["refresh_token"].(string); !ok {
					t.Errorf("no refresh token: %v", body)
				}
			}
		})
	}
}

// TestAuthorizeCodeReuse: RFC 6749 §4.1.2 — a code used twice is refused
// and the tokens issued from it are revoked.
func TestAuthorizeCodeReuse(t *testing.T) {
	f := newAZ(t)
	code := f.azCode(t, azQuery("response_type", "code", "client_id", "spa", "code_challenge", azChallenge, "code_challenge_method", "S256"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"spa"}, "code_verifier": {azVerifier}}
	status, first := f.azToken(t, "", form)
	if status != 200 {
		t.Fatalf("first exchange: %d %v", status, first)
	}
	rt, _ := first["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("no refresh token: %v", first)
	}
	status, second := f.azToken(t, "", form)
	if status != 400 || second["error"] != "invalid_grant" {
		t.Fatalf("RFC 6749 §4.1.2: reused code: %d %v", status, second)
	}
	status, refreshed := f.azToken(t, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"spa"}})
	if status != 400 || refreshed["error"] != "invalid_grant" {
		t.Fatalf("RFC 6749 §4.1.2: the refresh token of a reused code still works: %d %v", status, refreshed)
	}
}

// TestAuthorizeCodeExpiry: a code lives for the server's code lifetime.
func TestAuthorizeCodeExpiry(t *testing.T) {
	f := newAZ(t, endpoint.WithLifetimes(10*time.Minute, time.Hour, 30*time.Second))
	code := f.azCode(t, azQuery("response_type", "code", "client_id", "webapp", "redirect_uri", azWebappCB))
	c, err := f.codes.Open(code)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Expiry.Sub(c.IssuedAt); d != 30*time.Second {
		t.Fatalf("RFC 6749 §4.1.2: code lifetime %s, want 30s", d)
	}
	if !slices.Equal(c.Audience, []string{azIssuer}) {
		t.Fatalf("code aud %v", c.Audience)
	}
}
