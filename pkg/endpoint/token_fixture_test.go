package endpoint_test

// The shared fixture of the token, introspection, revocation and metadata
// tests: a Server over fixed key rings, a fake clock, an in-memory store
// that can be switched off, and a set of clients covering every grant.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

const (
	testIssuer  = "https://issuer.example.com"
	apiAud      = "https://api.example.com"
	otherAud    = "https://other.example.com"
	webRedirect = "https://app.example.com/cb"
	spaRedirect = "http://127.0.0.1:3000/cb"

	backendSecret = "backend-secret-0123456789abcdef"
	// webappSecret holds the characters RFC 6749 §2.3.1's form-urlencoding
	// changes: '+', ':', '%', a space, '/' and a non-ASCII letter.
	webappSecret = "p+ss:w%rd é/?"
	specialID    = "my:app+1"
	specialSec   = "s:e+c%r t"
	rsSecret     = "resource-server-secret-0123456789"
	// rsOtherSecret is the secret of the resource server of otherAud only.
	rsOtherSecret = "other-resource-server-secret-0123"
	slowSecret    = "slow-secret"

	userName = "alice"
	userPass = "wonderland"
	userID   = "u-1001"

	// verifierS256 and challengeS256 are RFC 7636 Appendix B's example.
	verifierS256  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	challengeS256 = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	verifierPlain = "plain-verifier-plain-verifier-plain-verifier-0123"

	accessTTL  = 10 * time.Minute
	refreshTTL = 30 * 24 * time.Hour
	codeTTL    = 60 * time.Second
	leeway     = 30 * time.Second
)

// base64URL decodes JWE header segments.
var base64URL = base64.RawURLEncoding

// t0 is the fixture's starting time, in whole seconds (tokens carry
// NumericDates).
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock shared by the server, its store and the
// test's openers.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// faultStore is a store.Store that fails every call with an error wrapping
// store.ErrUnavailable while down is set, and counts calls.
type faultStore struct {
	inner store.Store
	down  atomic.Bool
	calls atomic.Int64
}

var _ store.Store = (*faultStore)(nil)

func (s *faultStore) check() error {
	s.calls.Add(1)
	if s.down.Load() {
		return fmt.Errorf("fake store: connection refused: %w", store.ErrUnavailable)
	}
	return nil
}

func (s *faultStore) RedeemCode(ctx context.Context, id string, exp time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.RedeemCode(ctx, id, exp)
}

func (s *faultStore) RotateRefresh(ctx context.Context, fid string, gen uint64, exp time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.RotateRefresh(ctx, fid, gen, exp)
}

func (s *faultStore) RevokeFamily(ctx context.Context, fid string, exp time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.RevokeFamily(ctx, fid, exp)
}

func (s *faultStore) FamilyRevoked(ctx context.Context, fid string) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	return s.inner.FamilyRevoked(ctx, fid)
}

func (s *faultStore) RefreshState(ctx context.Context, fid string) (uint64, bool, error) {
	if err := s.check(); err != nil {
		return 0, false, err
	}
	return s.inner.RefreshState(ctx, fid)
}

func (s *faultStore) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.RevokeToken(ctx, jti, exp)
}

func (s *faultStore) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	return s.inner.TokenRevoked(ctx, jti)
}

func (s *faultStore) Ping(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.Ping(ctx)
}

// fakeUsers is a UserAuthenticator with one user; it counts calls.
type fakeUsers struct{ calls atomic.Int64 }

func (u *fakeUsers) AuthenticateUser(_ context.Context, username, password string) (string, error) {
	u.calls.Add(1)
	if username == userName && password == userPass {
		return userID, nil
	}
	return "", fmt.Errorf("fake users: %w", endpoint.ErrBadCredentials)
}

// swapClients is a ClientStore whose client list a test may replace, the
// way an operator edits the configuration.
type swapClients struct {
	cur atomic.Pointer[endpoint.StaticClients]
}

func (s *swapClients) Client(ctx context.Context, id string) (*endpoint.Client, error) {
	return s.cur.Load().Client(ctx, id)
}

// Clients implements endpoint.ClientLister.
func (s *swapClients) Clients() []*endpoint.Client { return s.cur.Load().Clients() }

// fixture is a Server with everything a test needs to drive and inspect it.
type fixture struct {
	t          testing.TB
	clock      *fakeClock
	store      *faultStore
	mem        *memory.Store
	clients    *swapClients
	users      *fakeUsers
	verifier   *secret.Verifier
	limiter    *secret.Limiter
	rings      map[string]*keys.Ring
	internal   *keys.Ring
	codeSealer *crypttoken.Sealer
	srv        *endpoint.Server
}

// fixtureConfig tunes newFixture.
type fixtureConfig struct {
	noUsers bool
	// noResourceServers leaves out standardResourceServers.
	noResourceServers bool
	// storeEntries bounds each table of the memory store (0: its default).
	storeEntries int
	opts         []endpoint.Option
	// clients replaces the standard client list when non-nil.
	clients []*endpoint.Client
}

// testRing returns a ring holding one key that is active for a year around
// t0, with material derived from name.
func testRing(t testing.TB, name string) *keys.Ring {
	t.Helper()
	material := sha256.Sum256([]byte("fixture key " + name))
	kid := "kid-" + base64.RawURLEncoding.EncodeToString(material[:6])
	k, err := keys.NewKey(kid, keys.A256KW, material[:], keys.Lifecycle{
		Created: t0.Add(-time.Hour), Activates: t0.Add(-time.Hour),
		Retires: t0.Add(365 * 24 * time.Hour), Expires: t0.Add(400 * 24 * time.Hour),
	})
	require.NoError(t, err)
	set, err := keys.NewSet(name, k)
	require.NoError(t, err)
	return keys.NewRing(set)
}

func mustHash(t testing.TB, enc string) secret.Hash {
	t.Helper()
	h, err := secret.Parse(enc)
	require.NoError(t, err)
	return h
}

// slowHash is the bcrypt hash (cost 4) of slowSecret, computed once.
var slowHash = sync.OnceValues(func() (string, error) { return secret.NewBcrypt(slowSecret, 4) })

// standardClients is the fixture's client list.
func standardClients(t testing.TB) []*endpoint.Client {
	slow, err := slowHash()
	require.NoError(t, err)
	return []*endpoint.Client{
		{ // a machine client with the server's default audience
			ID: "backend", Secret: mustHash(t, secret.NewSHA256(backendSecret)),
			GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
			Scopes:     []string{"read", "write", "admin"}, DefaultScopes: []string{"read"},
		},
		{ // a machine client with two audiences, otherAud first (its default)
			ID: "multi", Secret: mustHash(t, secret.NewSHA256(backendSecret)),
			GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
			Scopes:     []string{"read"}, DefaultScopes: []string{"read"},
			Audiences: []string{otherAud, apiAud},
		},
		{ // no default scope
			ID: "nodefault", Secret: mustHash(t, secret.NewSHA256(backendSecret)),
			GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
			Scopes:     []string{"read"},
		},
		{ // an id and a secret that need form-urlencoding in Basic
			ID: specialID, Secret: mustHash(t, secret.NewSHA256(specialSec)),
			GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
			Scopes:     []string{"read"}, DefaultScopes: []string{"read"},
		},
		{ // a confidential web application
			ID: "webapp", Secret: mustHash(t, secret.NewSHA256(webappSecret)),
			RedirectURIs: []string{webRedirect},
			GrantTypes:   []endpoint.GrantType{endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken, endpoint.GrantPassword},
			Scopes:       []string{"profile", "read", "write"}, DefaultScopes: []string{"profile"},
			Audiences: []string{apiAud, otherAud},
		},
		{ // a public single-page application
			ID: "spa", Public: true,
			RedirectURIs: []string{spaRedirect},
			GrantTypes:   []endpoint.GrantType{endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken},
			Scopes:       []string{"profile", "read"},
		},
		{ // code grant without refresh tokens
			ID: "norefresh", Secret: mustHash(t, secret.NewSHA256(backendSecret)),
			RedirectURIs: []string{webRedirect},
			GrantTypes:   []endpoint.GrantType{endpoint.GrantAuthorizationCode},
			Scopes:       []string{"profile", "read"},
		},
		{ // a bcrypt secret, for the limiter's before-hashing rule
			ID: "slow", Secret: mustHash(t, slow),
			GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
			Scopes:     []string{"read"}, DefaultScopes: []string{"read"},
		},
	}
}

// standardResourceServers are the fixture's resource servers: "rs" for
// both audiences (it introspects any access token) and "rs-other" for
// otherAud alone.
func standardResourceServers(t testing.TB) []*endpoint.ResourceServer {
	return []*endpoint.ResourceServer{
		{ID: "rs", Secret: mustHash(t, secret.NewSHA256(rsSecret)), Audiences: []string{apiAud, otherAud}},
		{ID: "rs-other", Secret: mustHash(t, secret.NewSHA256(rsOtherSecret)), Audiences: []string{otherAud}},
	}
}

// newFixture builds a fixture; opts are extra Server options.
func newFixture(t testing.TB, opts ...endpoint.Option) *fixture {
	t.Helper()
	return newFixtureConfig(t, fixtureConfig{opts: opts})
}

func newFixtureConfig(t testing.TB, cfg fixtureConfig) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: &fakeClock{now: t0}, users: &fakeUsers{}}
	memOpts := []memory.Option{memory.WithClock(f.clock.Now), memory.WithSweepInterval(0)}
	if cfg.storeEntries > 0 {
		memOpts = append(memOpts, memory.WithMaxEntries(cfg.storeEntries))
	}
	mem, err := memory.New(memOpts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mem.Close() })
	f.mem = mem
	f.store = &faultStore{inner: mem}

	list := cfg.clients
	if list == nil {
		list = standardClients(t)
	}
	static, err := endpoint.NewStaticClients(list...)
	require.NoError(t, err)
	f.clients = &swapClients{}
	f.clients.cur.Store(static)

	f.rings = map[string]*keys.Ring{apiAud: testRing(t, apiAud), otherAud: testRing(t, otherAud)}
	f.internal = testRing(t, keys.InternalRing)
	f.codeSealer, err = crypttoken.NewSealer(f.internal, crypttoken.WithClock(f.clock.Now))
	require.NoError(t, err)

	f.verifier = secret.NewVerifier(secret.VerifierConfig{Now: f.clock.Now})
	f.limiter = secret.NewLimiter(secret.LimiterConfig{})
	opts := []endpoint.Option{
		endpoint.WithClock(f.clock.Now),
		endpoint.WithLifetimes(accessTTL, refreshTTL, codeTTL),
		endpoint.WithLeeway(leeway),
		endpoint.WithVerifier(f.verifier),
		endpoint.WithLimiter(f.limiter),
	}
	if !cfg.noUsers {
		opts = append(opts, endpoint.WithUsers(f.users))
	}
	if !cfg.noResourceServers {
		opts = append(opts, endpoint.WithResourceServers(standardResourceServers(t)...))
	}
	opts = append(opts, cfg.opts...)
	f.srv, err = endpoint.New(testIssuer,
		endpoint.Rings{Internal: f.internal, Audiences: f.rings, Default: apiAud},
		f.clients, f.store, opts...)
	require.NoError(t, err)
	return f
}

// setClients replaces the client list.
func (f *fixture) setClients(list ...*endpoint.Client) {
	static, err := endpoint.NewStaticClients(list...)
	require.NoError(f.t, err)
	f.clients.cur.Store(static)
}

// ---- requests ----

// reqOpt changes a request built by post.
type reqOpt func(*endpoint.Request)

// form encodes name, value pairs in order, without dropping empty values
// or merging repeats.
func form(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

// basic sets an RFC 6749 §2.3.1 Authorization header: id and secret
// form-urlencoded, then HTTP Basic.
func basic(id, sec string) reqOpt {
	return basicRaw(url.QueryEscape(id), url.QueryEscape(sec))
}

// basicRaw sets an Authorization header with id and secret as given.
func basicRaw(id, sec string) reqOpt {
	return header("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+sec)))
}

// header sets (replaces) a request header field.
func header(name, value string) reqOpt {
	return func(r *endpoint.Request) {
		h := r.Header.(endpoint.Headers)
		for i := range h {
			if strings.EqualFold(h[i].Name, name) {
				h = append(h[:i:i], h[i+1:]...)
				break
			}
		}
		r.Header = append(h, endpoint.HeaderField{Name: name, Value: value})
	}
}

func method(m string) reqOpt { return func(r *endpoint.Request) { r.Method = m } }
func uri(u string) reqOpt    { return func(r *endpoint.Request) { r.URI = u } }
func insecure() reqOpt       { return func(r *endpoint.Request) { r.Secure = false } }
func fromAddr(a string) reqOpt {
	return func(r *endpoint.Request) { r.RemoteAddr = netip.MustParseAddr(a) }
}
func credentials(m map[string]any) reqOpt { return func(r *endpoint.Request) { r.Credentials = m } }

// request builds a form POST over TLS from a fixed address.
func request(path, body string, opts ...reqOpt) *endpoint.Request {
	r := &endpoint.Request{
		Method:     "POST",
		URI:        path,
		Secure:     true,
		RemoteAddr: netip.MustParseAddr("198.51.100.7"),
		Header:     endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}},
		Body:       []byte(body),
	}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	return r
}

func (f *fixture) token(body string, opts ...reqOpt) *endpoint.Response {
	resp, res := f.srv.Token(context.Background(), request("/token", body, opts...))
	f.checkResult(resp, res)
	return resp
}

func (f *fixture) introspect(body string, opts ...reqOpt) *endpoint.Response {
	resp, res := f.srv.Introspect(context.Background(), request("/introspect", body, opts...))
	f.checkResult(resp, res)
	return resp
}

func (f *fixture) revoke(body string, opts ...reqOpt) *endpoint.Response {
	resp, res := f.srv.Revoke(context.Background(), request("/revoke", body, opts...))
	f.checkResult(resp, res)
	return resp
}

// checkResult asserts what holds for every answer: never a 500, and the
// Result's error agrees with the status.
func (f *fixture) checkResult(resp *endpoint.Response, res endpoint.Result) {
	f.t.Helper()
	require.NotEqual(f.t, 500, resp.Status, "a 500 for %s", resp.Body)
	if resp.Status >= 400 {
		require.NotNil(f.t, res.Err, "an error status without Result.Err")
		require.Equal(f.t, resp.Status, res.Err.HTTPStatus())
	} else {
		require.Nil(f.t, res.Err)
	}
}

// ---- responses ----

func hdr(resp *endpoint.Response, name string) string { return resp.Header.Get(name) }

// body decodes a JSON response body.
func body(t testing.TB, resp *endpoint.Response) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(resp.Body, &m), "body %q", resp.Body)
	return m
}

// tokens is a successful token response.
type tokens struct {
	Access, Refresh, Scope string
	ExpiresIn              int
}

// mustTokens decodes a 200 token response.
func mustTokens(t testing.TB, resp *endpoint.Response) tokens {
	t.Helper()
	require.Equal(t, 200, resp.Status, "body %s", resp.Body)
	var v struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		RefreshToken string `json:"refresh_token"`
		Scope        string `json:"scope"`
		ExpiresIn    int    `json:"expires_in"`
	}
	require.NoError(t, json.Unmarshal(resp.Body, &v))
	require.Equal(t, "Bearer", v.TokenType)
	require.NotEmpty(t, v.AccessToken)
	return tokens{Access: v.AccessToken, Refresh: v.RefreshToken, Scope: v.Scope, ExpiresIn: v.ExpiresIn}
}

// errCode returns the "error" member of an error response.
func errCode(t testing.TB, resp *endpoint.Response) endpoint.ErrorCode {
	t.Helper()
	m := body(t, resp)
	code, _ := m["error"].(string)
	return endpoint.ErrorCode(code)
}

// ---- tokens ----

// openAccess opens an access token with aud's ring, as a resource server
// holding only that ring would.
func (f *fixture) openAccess(aud, tok string) (*crypttoken.Claims, error) {
	o, err := crypttoken.NewOpener(f.rings[aud], crypttoken.Expected{Issuer: testIssuer, Audience: aud, Time: f.clock.Now})
	require.NoError(f.t, err)
	return o.Open(tok)
}

// sealAccess seals an access token for aud as a holder of the audience's
// key could: iat now and exp lifetime later.
func (f *fixture) sealAccess(aud string, lifetime time.Duration) string {
	f.t.Helper()
	sealer, err := crypttoken.NewSealer(f.rings[aud], crypttoken.WithClock(f.clock.Now))
	require.NoError(f.t, err)
	now := f.clock.Now()
	c := &crypttoken.Claims{Issuer: testIssuer, Subject: "backend", Audience: []string{aud},
		Expiry: now.Add(lifetime), IssuedAt: now, ClientID: "backend", Scope: "read"}
	tok, err := sealer.Seal(crypttoken.TypeAccess, c)
	require.NoError(f.t, err)
	return tok
}

// openRefresh opens a refresh token with the internal ring.
func (f *fixture) openRefresh(tok string) (*crypttoken.Claims, error) {
	o, err := crypttoken.NewOpener(f.internal, crypttoken.Expected{Issuer: testIssuer, Audience: testIssuer, Type: crypttoken.TypeRefresh, Time: f.clock.Now})
	require.NoError(f.t, err)
	return o.Open(tok)
}

// codeOpt changes the claims of a code sealed by code.
type codeOpt func(*crypttoken.Claims)

func codeRedirect(u string) codeOpt { return func(c *crypttoken.Claims) { c.RedirectURI = u } }
func codeScope(s string) codeOpt    { return func(c *crypttoken.Claims) { c.Scope = s } }
func codePKCE(method, challenge string) codeOpt {
	return func(c *crypttoken.Claims) { c.CodeChallengeMethod, c.CodeChallenge = method, challenge }
}
func codeResource(r string) codeOpt  { return func(c *crypttoken.Claims) { c.Resource = r } }
func codeSubject(sub string) codeOpt { return func(c *crypttoken.Claims) { c.Subject = sub } }

// code seals an authorization code for client the way the authorization
// endpoint does (pkg/endpoint's shared notes): iss, sub, aud [issuer], exp,
// iat, jti, client_id, scope, auth_time, fid, resource, redirect_uri and the
// S256 challenge of verifierS256, each changeable by opts.
func (f *fixture) code(client string, opts ...codeOpt) string {
	f.t.Helper()
	now := f.clock.Now()
	fid, err := crypttoken.NewID()
	require.NoError(f.t, err)
	c := &crypttoken.Claims{
		Issuer: testIssuer, Subject: userID, Audience: []string{testIssuer},
		Expiry: now.Add(codeTTL), IssuedAt: now, ClientID: client,
		Scope: "profile read", AuthTime: now.Add(-5 * time.Minute).Truncate(time.Second),
		FamilyID: fid, Resource: apiAud, RedirectURI: webRedirect,
		CodeChallenge: challengeS256, CodeChallengeMethod: endpoint.PKCES256,
	}
	if client == "spa" {
		c.RedirectURI = spaRedirect
	}
	for _, o := range opts {
		o(c)
	}
	tok, err := f.codeSealer.Seal(crypttoken.TypeCode, c)
	require.NoError(f.t, err)
	return tok
}

// exchange redeems a code of webapp with the right redirect URI and
// verifier and returns the tokens.
func (f *fixture) exchange(code string) tokens {
	f.t.Helper()
	return mustTokens(f.t, f.token(form("grant_type", "authorization_code", "code", code,
		"redirect_uri", webRedirect, "code_verifier", verifierS256), basic("webapp", webappSecret)))
}

// webTokens runs a code exchange for webapp.
func (f *fixture) webTokens() tokens { return f.exchange(f.code("webapp")) }

// backendToken gets a client_credentials access token for backend.
func (f *fixture) backendToken() string {
	f.t.Helper()
	return mustTokens(f.t, f.token(form("grant_type", "client_credentials"), basic("backend", backendSecret))).Access
}

// asRS authenticates a request as the resource server of both audiences.
func asRS() reqOpt { return basic("rs", rsSecret) }

// asOtherRS authenticates a request as the resource server of otherAud.
func asOtherRS() reqOpt { return basic("rs-other", rsOtherSecret) }

// isInactive asserts the exact RFC 7662 §2.2 inactive answer.
func isInactive(t testing.TB, resp *endpoint.Response) {
	t.Helper()
	require.Equal(t, 200, resp.Status, "body %s", resp.Body)
	require.JSONEq(t, `{"active":false}`, string(resp.Body))
}
