package endpoint_test

// The fixture of the SPEC §12 tests: the token fixture's clients plus a
// device client, a token-exchange client, a JWT-bearer client and a client
// that must push its authorization requests, and two trusted issuers with
// keys of their own.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/secret"
)

const (
	// Trusted issuers: platformIss maps "sub" to local users
	// (subjects_as: user), partnerIss keeps it (as_is) and accepts the
	// extra audience partnerAud.
	platformIss = "https://platform.example.net"
	partnerIss  = "https://idp.partner.example"
	partnerAud  = "https://sts.partner.example/for-us"
	// strangerIss is an issuer nobody configured.
	strangerIss = "https://stranger.example.org"

	svcSecret = "svc-secret-0123456789abcdef"
	wlSecret  = "workload-secret-0123456789abcd"
	parSecret = "par-secret-0123456789abcdefgh"
	tvSecret  = "tv-secret-0123456789abcdefghij"
)

// grantClients are the §12 clients.
func grantClients(t testing.TB) []*endpoint.Client {
	return []*endpoint.Client{
		{ // a public device (a TV): device grant with refresh tokens
			ID: "tv", Public: true,
			GrantTypes: []endpoint.GrantType{endpoint.GrantDeviceCode, endpoint.GrantRefreshToken},
			Scopes:     []string{"profile", "read", "write"}, DefaultScopes: []string{"profile", "read"},
		},
		{ // a confidential device client without refresh tokens
			ID: "tv-conf", Secret: mustHash(t, secret.NewSHA256(tvSecret)),
			GrantTypes: []endpoint.GrantType{endpoint.GrantDeviceCode},
			Scopes:     []string{"read"}, DefaultScopes: []string{"read"},
		},
		{ // a service that exchanges tokens into otherAud
			ID: "svc", Secret: mustHash(t, secret.NewSHA256(svcSecret)),
			GrantTypes:             []endpoint.GrantType{endpoint.GrantTokenExchange, endpoint.GrantClientCredentials},
			Scopes:                 []string{"profile", "read", "write"},
			DefaultScopes:          []string{"read"},
			TokenExchangeAudiences: []string{otherAud},
		},
		{ // a workload that trades platform JWTs for tokens
			ID: "workload", Secret: mustHash(t, secret.NewSHA256(wlSecret)),
			GrantTypes: []endpoint.GrantType{endpoint.GrantJWTBearer},
			Scopes:     []string{"read", "write"}, DefaultScopes: []string{"read"},
		},
		{ // a high-security web client that must push its requests
			ID: "parapp", Secret: mustHash(t, secret.NewSHA256(parSecret)),
			RedirectURIs:          []string{"https://par.example.com/cb", "https://par.example.com/other"},
			GrantTypes:            []endpoint.GrantType{endpoint.GrantAuthorizationCode},
			Scopes:                []string{"profile", "read"},
			RequirePushedRequests: true,
		},
	}
}

// issuerKey is a trusted issuer's signing key.
type issuerKey struct {
	signer jws.Signer
	set    *jws.KeySet
}

func newIssuerKey(t testing.TB, kid string) issuerKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	s, err := jws.NewSigner(jws.ES256, priv, kid)
	require.NoError(t, err)
	pub, err := jws.NewPublicKey(&priv.PublicKey, kid, jws.ES256)
	require.NoError(t, err)
	set, err := jws.NewKeySet(pub)
	require.NoError(t, err)
	return issuerKey{signer: s, set: set}
}

// grantsFixture is the token fixture with the §12 clients and trusted
// issuers.
type grantsFixture struct {
	*fixture
	platform, partner, stranger issuerKey
}

func newGrantsFixture(t testing.TB, opts ...endpoint.Option) *grantsFixture {
	t.Helper()
	g := &grantsFixture{
		platform: newIssuerKey(t, "platform-1"),
		partner:  newIssuerKey(t, "partner-1"),
		stranger: newIssuerKey(t, "stranger-1"),
	}
	users := map[string]string{userName: userID}
	trusted := endpoint.WithTrustedIssuers(
		&endpoint.TrustedIssuer{
			Issuer: platformIss,
			Keys:   func(context.Context) jws.KeySource { return g.platform.set },
			Subject: func(sub string) (string, bool) {
				id, ok := users[sub]
				return id, ok
			},
		},
		&endpoint.TrustedIssuer{
			Issuer:   partnerIss,
			Keys:     func(context.Context) jws.KeySource { return g.partner.set },
			Audience: partnerAud,
			Subject: func(sub string) (string, bool) {
				return sub, sub != userID && sub != "backend" // as_is, never a local identity
			},
		},
	)
	g.fixture = newFixtureConfig(t, fixtureConfig{
		clients: append(standardClients(t), grantClients(t)...),
		opts:    append([]endpoint.Option{trusted}, opts...),
	})
	return g
}

// jwtOpt changes the claims of a JWT signed by jwt.
type jwtOpt func(*jws.Claims)

func jwtAud(aud ...string) jwtOpt   { return func(c *jws.Claims) { c.Audience = aud } }
func jwtSub(sub string) jwtOpt      { return func(c *jws.Claims) { c.Subject = sub } }
func jwtIss(iss string) jwtOpt      { return func(c *jws.Claims) { c.Issuer = iss } }
func jwtID(id string) jwtOpt        { return func(c *jws.Claims) { c.ID = id } }
func jwtExp(d time.Duration) jwtOpt { return func(c *jws.Claims) { c.Expiry = c.IssuedAt.Add(d) } }
func jwtClaim(name string, v any) jwtOpt {
	return func(c *jws.Claims) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		if c.Extra == nil {
			c.Extra = map[string]json.RawMessage{}
		}
		c.Extra[name] = b
	}
}

// jwt signs a JWT with k: iss iss, sub alice, aud the token endpoint, iat
// now, exp in 5 minutes and a fresh jti, each changeable by opts.
func (g *grantsFixture) jwt(k issuerKey, iss string, opts ...jwtOpt) string {
	g.t.Helper()
	now := g.clock.Now()
	id, err := crypttoken.NewID()
	require.NoError(g.t, err)
	c := &jws.Claims{Issuer: iss, Subject: userName, Audience: []string{testIssuer + "/token"},
		IssuedAt: now, Expiry: now.Add(5 * time.Minute), ID: id}
	for _, o := range opts {
		o(c)
	}
	payload, err := c.MarshalJSON()
	require.NoError(g.t, err)
	tok, err := jws.Sign(k.signer, jws.Protected{Type: "JWT"}, payload)
	require.NoError(g.t, err)
	return tok
}

// ---- device flow ----

// device is a device authorization response.
type device struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

func (f *fixture) deviceAuthorization(body string, opts ...reqOpt) *endpoint.Response {
	resp, res := f.srv.DeviceAuthorization(context.Background(), request("/device_authorization", body, opts...))
	f.checkResult(resp, res)
	return resp
}

// startDevice runs a device authorization for the public client tv.
func (f *fixture) startDevice(kv ...string) device {
	f.t.Helper()
	resp := f.deviceAuthorization(form(append([]string{"client_id", "tv"}, kv...)...))
	require.Equal(f.t, 200, resp.Status, "body %s", resp.Body)
	var d device
	require.NoError(f.t, json.Unmarshal(resp.Body, &d))
	return d
}

// poll polls the token endpoint for tv's device code.
func (f *fixture) poll(code string, opts ...reqOpt) *endpoint.Response {
	return f.token(form("grant_type", string(endpoint.GrantDeviceCode), "device_code", code, "client_id", "tv"), opts...)
}

// verifyPage is the verification page's request, from addr.
func verifyPage(addr string) *endpoint.Request {
	r := request("/device", "", fromAddr(addr))
	r.Method = "GET"
	return r
}

// decide looks the user code up and records d.
func (f *fixture) decide(userCode string, d endpoint.DeviceDecision) error {
	dr, err := f.srv.LookupUserCode(context.Background(), verifyPage("192.0.2.10"), userCode)
	if err != nil {
		return err
	}
	return f.srv.DecideDevice(context.Background(), dr, d)
}

// approve approves userCode for alice.
func (f *fixture) approve(userCode string) {
	f.t.Helper()
	require.NoError(f.t, f.decide(userCode, endpoint.DeviceDecision{Subject: userID, AuthTime: f.clock.Now().Add(-time.Minute)}))
}

// ---- PAR ----

func (f *fixture) par(body string, opts ...reqOpt) *endpoint.Response {
	resp, res := f.srv.PushedAuthorization(context.Background(), request("/par", body, opts...))
	f.checkResult(resp, res)
	return resp
}

// push pushes an authorization request for parapp and returns the
// request_uri.
func (f *fixture) push(kv ...string) string {
	f.t.Helper()
	b := append([]string{"response_type", "code", "redirect_uri", "https://par.example.com/cb",
		"scope", "read", "state", "st-1", "code_challenge", challengeS256, "code_challenge_method", "S256"}, kv...)
	resp := f.par(form(b...), basic("parapp", parSecret))
	require.Equal(f.t, 201, resp.Status, "body %s", resp.Body)
	m := body(f.t, resp)
	return m["request_uri"].(string)
}

// approveAll is a resource owner that approves every request for alice.
var approveAll = endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
	return endpoint.Approve(endpoint.Grant{Subject: userID}), nil
})

// authorizeGet runs GET /authorize with query q through owner.
func (f *fixture) authorizeGet(q string, owner endpoint.ResourceOwner) (*endpoint.Response, endpoint.Result) {
	r := request("/authorize?"+q, "")
	r.Method = "GET"
	return f.srv.HandleAuthorize(context.Background(), r, owner)
}

// location parses the Location of a redirect.
func location(t testing.TB, resp *endpoint.Response) *url.URL {
	t.Helper()
	require.Equal(t, 302, resp.Status, "body %s", resp.Body)
	u, err := url.Parse(hdr(resp, "Location"))
	require.NoError(t, err)
	return u
}

// pageCode is the error code an error page shows.
func pageCode(resp *endpoint.Response) string {
	b := string(resp.Body)
	_, rest, ok := strings.Cut(b, "<code>")
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, "</code>")
	return code
}

// ---- token exchange ----

func exchangeForm(subject string, kv ...string) string {
	return form(append([]string{"grant_type", string(endpoint.GrantTokenExchange),
		"subject_token", subject, "subject_token_type", endpoint.TokenTypeAccessToken}, kv...)...)
}

var svcAuth = basic("svc", svcSecret)

// userToken returns an access token for alice issued to webapp (scope
// profile read), through a code exchange.
func (f *fixture) userToken() tokens {
	f.t.Helper()
	return f.exchange(f.code("webapp"))
}

// claimsOf opens an access token of aud.
func (f *fixture) claimsOf(aud, tok string) *crypttoken.Claims {
	f.t.Helper()
	c, err := f.openAccess(aud, tok)
	require.NoError(f.t, err)
	return c
}
