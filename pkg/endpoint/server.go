package endpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store"
)

// Rings are the key rings a Server seals and opens tokens with (SPEC §3).
type Rings struct {
	// Internal seals refresh tokens and authorization codes. Only the
	// issuer holds it.
	Internal *keys.Ring
	// Audiences maps each audience (resource server) name to the ring its
	// access tokens are sealed with.
	Audiences map[string]*keys.Ring
	// Default names the audience of access tokens whose request names none
	// (no RFC 8707 resource parameter) for clients without audiences of
	// their own. It may be empty when every client lists its audiences.
	Default string
}

// Server implements the OAuth 2.0 endpoints of RFC 6749 and its companions
// over plain Request and Response values. Build it with New; it is
// immutable afterwards and safe for concurrent use.
type Server struct {
	issuer     string
	accessTTL  time.Duration
	refreshTTL time.Duration
	codeTTL    time.Duration
	leeway     time.Duration
	now        func() time.Time

	clients ClientStore
	users   UserAuthenticator
	store   store.Store

	audiences       map[string]*audience
	audienceOrder   []*audience // sorted by name
	defaultAudience string
	internalRing    *keys.Ring
	issuerAud       []string // {issuer}, the read-only aud of codes and refresh tokens
	internal        *crypttoken.Sealer
	codes           *crypttoken.Opener
	refreshes       *crypttoken.Opener

	verifier        *secret.Verifier
	limiter         *secret.Limiter
	decoys          *secret.Decoys // stand-in hashes for unknown client ids
	quota           *quota
	resourceServers map[string]*ResourceServer
	trustedProxies  []netip.Prefix
	hooks           Hooks
	paths           Paths
	scopes          []string // scopes_supported in the metadata
	// requirePKCE makes every client send a PKCE challenge at the
	// authorization endpoint (WithPKCERequired).
	requirePKCE bool
}

// audience is one resource server's sealer and opener.
type audience struct {
	name   string
	list   []string // {name}, read-only: the aud claim of its access tokens
	ring   *keys.Ring
	sealer *crypttoken.Sealer
	opener *crypttoken.Opener
}

// Hooks let the embedding server take part in request handling, as
// oauthlib's RequestValidator does. Every field is optional.
type Hooks struct {
	// ValidateTokenRequest runs after a token request has passed every
	// check of this package and before tokens are sealed; an error it
	// returns is sent as it is if it is an *Error, else as server_error.
	// It runs before the store records the request (a code redeemed, a
	// refresh token rotated), so a refusal spends neither; the single-use
	// check comes last, so the hook may see a code that then turns out to
	// be a replay.
	ValidateTokenRequest func(ctx context.Context, tr *TokenRequest) error
	// AccessClaims may add claims (in c.Extra) or narrow the scope of an
	// access token before it is sealed.
	AccessClaims func(ctx context.Context, tr *TokenRequest, c *crypttoken.Claims) error
}

// Paths are the endpoint paths, relative to the issuer URL, that the
// metadata document (RFC 8414) advertises.
type Paths struct {
	Authorize, Token, Introspect, Revoke string
	// JWKS is the path of the JWK Set of the issuer's signing keys,
	// advertised as jwks_uri (RFC 8414 §2). The embedding server serves it
	// (cmd/issuer at /jwks.json, from the signing ring); empty, as in
	// DefaultPaths, leaves jwks_uri out.
	JWKS string
}

// DefaultPaths are the paths cmd/issuer serves.
var DefaultPaths = Paths{Authorize: "/authorize", Token: "/token", Introspect: "/introspect", Revoke: "/revoke"}

// Option configures a Server.
type Option interface{ apply(*Server) error }

type optionFunc func(*Server) error

func (f optionFunc) apply(s *Server) error { return f(s) }

// WithLifetimes sets the lifetimes of access tokens (default 10 min),
// refresh tokens (30 days) and authorization codes (60 s).
func WithLifetimes(access, refresh, code time.Duration) Option {
	return optionFunc(func(s *Server) error {
		if access <= 0 || refresh <= 0 || code <= 0 {
			return fmt.Errorf("endpoint: token lifetimes must be positive")
		}
		if code > 10*time.Minute {
			return fmt.Errorf("endpoint: code lifetime %s exceeds the 10 minutes RFC 6749 §4.1.2 recommends at most", code)
		}
		s.accessTTL, s.refreshTTL, s.codeTTL = access, refresh, code
		return nil
	})
}

// WithLeeway sets the clock skew tolerated when opening codes and refresh
// tokens (default 30 s).
func WithLeeway(d time.Duration) Option {
	return optionFunc(func(s *Server) error {
		if d < 0 || d > 10*time.Minute {
			return fmt.Errorf("endpoint: leeway %s out of range [0, 10m]", d)
		}
		s.leeway = d
		return nil
	})
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(s *Server) error {
		if now == nil {
			return fmt.Errorf("endpoint: nil clock")
		}
		s.now = now
		return nil
	})
}

// WithUsers enables the password grant (RFC 6749 §4.3) and lets the
// server authenticate resource owners.
func WithUsers(u UserAuthenticator) Option {
	return optionFunc(func(s *Server) error { s.users = u; return nil })
}

// WithTrustedProxies lists the proxies whose X-Forwarded-Proto header is
// believed when deciding whether a request came over TLS, and whose
// X-Forwarded-For is believed for the client's address (SPEC §5;
// ClientAddr).
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return optionFunc(func(s *Server) error {
		s.trustedProxies = append(s.trustedProxies, prefixes...)
		return nil
	})
}

// WithVerifier sets the client-secret verifier (default: a
// secret.NewVerifier with its default configuration).
func WithVerifier(v *secret.Verifier) Option {
	return optionFunc(func(s *Server) error { s.verifier = v; return nil })
}

// WithLimiter sets the limiter of failed client authentications (default:
// secret.NewLimiter with its default configuration).
func WithLimiter(l *secret.Limiter) Option {
	return optionFunc(func(s *Server) error { s.limiter = l; return nil })
}

// WithHooks installs hooks.
func WithHooks(h Hooks) Option {
	return optionFunc(func(s *Server) error { s.hooks = h; return nil })
}

// WithPaths sets the endpoint paths the metadata document advertises. Each
// is empty (the endpoint is not served) or starts with "/".
func WithPaths(p Paths) Option {
	return optionFunc(func(s *Server) error {
		for _, path := range []string{p.Authorize, p.Token, p.Introspect, p.Revoke, p.JWKS} {
			if path != "" && path[0] != '/' {
				return fmt.Errorf("endpoint: path %q must start with /", path)
			}
		}
		s.paths = p
		return nil
	})
}

// WithScopesSupported lists the scopes the metadata document advertises in
// scopes_supported (RFC 8414 §2, RECOMMENDED); typically the union of the
// clients' scopes. Each must be an RFC 6749 §3.3 scope-token. Without it
// the field is omitted, since a ClientStore cannot list its clients.
func WithScopesSupported(scopes ...string) Option {
	return optionFunc(func(s *Server) error {
		for _, sc := range scopes {
			if !validScopeToken(sc) {
				return fmt.Errorf("endpoint: scope %q is not an RFC 6749 §3.3 scope-token", sc)
			}
			if !slices.Contains(s.scopes, sc) {
				s.scopes = append(s.scopes, sc)
			}
		}
		slices.Sort(s.scopes)
		return nil
	})
}

// New returns a Server for the issuer URL (the "iss" claim and the RFC 8414
// issuer identifier), sealing with rings, looking clients up in clients and
// keeping single-use state in st.
func New(issuer string, rings Rings, clients ClientStore, st store.Store, opts ...Option) (*Server, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("endpoint: issuer %q must be an https URL without query or fragment (RFC 8414 §2)", issuer)
	}
	if rings.Internal == nil {
		return nil, fmt.Errorf("endpoint: no internal key ring")
	}
	if len(rings.Audiences) == 0 {
		return nil, fmt.Errorf("endpoint: no audience key ring")
	}
	if rings.Default != "" && rings.Audiences[rings.Default] == nil {
		return nil, fmt.Errorf("endpoint: default audience %q has no key ring", rings.Default)
	}
	if clients == nil || st == nil {
		return nil, fmt.Errorf("endpoint: client store and token store are required")
	}
	s := &Server{
		issuer:          issuer,
		accessTTL:       10 * time.Minute,
		refreshTTL:      30 * 24 * time.Hour,
		codeTTL:         60 * time.Second,
		leeway:          30 * time.Second,
		now:             time.Now,
		clients:         clients,
		store:           st,
		audiences:       make(map[string]*audience, len(rings.Audiences)),
		defaultAudience: rings.Default,
		paths:           DefaultPaths,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("endpoint: nil option")
		}
		if err := opt.apply(s); err != nil {
			return nil, err
		}
	}
	if s.verifier == nil {
		s.verifier = secret.NewVerifier(secret.VerifierConfig{})
	}
	if s.limiter == nil {
		s.limiter = secret.NewLimiter(secret.LimiterConfig{})
	}
	if s.quota == nil {
		s.quota = newQuota(DefaultClientWrites, DefaultClientWindow)
	}
	clock := crypttoken.WithClock(s.now)
	for name, ring := range rings.Audiences {
		a := &audience{name: name, list: []string{name}, ring: ring}
		if a.sealer, err = crypttoken.NewSealer(ring, clock); err != nil {
			return nil, fmt.Errorf("endpoint: audience %q: %w", name, err)
		}
		exp := crypttoken.Expected{Issuer: issuer, Audience: name, Type: crypttoken.TypeAccess, Leeway: s.leeway}
		if a.opener, err = crypttoken.NewOpener(ring, exp, clock); err != nil {
			return nil, fmt.Errorf("endpoint: audience %q: %w", name, err)
		}
		s.audiences[name] = a
		s.audienceOrder = append(s.audienceOrder, a)
	}
	slices.SortFunc(s.audienceOrder, func(a, b *audience) int { return strings.Compare(a.name, b.name) })
	if err := s.checkResourceServers(); err != nil {
		return nil, err
	}
	if s.decoys, err = s.makeDecoys(); err != nil {
		return nil, err
	}
	s.internalRing, s.issuerAud = rings.Internal, []string{issuer}
	if s.internal, err = crypttoken.NewSealer(rings.Internal, clock); err != nil {
		return nil, fmt.Errorf("endpoint: internal ring: %w", err)
	}
	internalExp := crypttoken.Expected{Issuer: issuer, Audience: issuer, Leeway: s.leeway}
	internalExp.Type = crypttoken.TypeCode
	if s.codes, err = crypttoken.NewOpener(rings.Internal, internalExp, clock); err != nil {
		return nil, fmt.Errorf("endpoint: internal ring: %w", err)
	}
	internalExp.Type = crypttoken.TypeRefresh
	if s.refreshes, err = crypttoken.NewOpener(rings.Internal, internalExp, clock); err != nil {
		return nil, fmt.Errorf("endpoint: internal ring: %w", err)
	}
	return s, nil
}

// makeDecoys makes the decoy hashes unknown client ids are checked against:
// one of each kind among the clients' and resource servers' secrets, when
// the ClientStore can list its clients, else a bcrypt one (secret.Decoys).
func (s *Server) makeDecoys() (*secret.Decoys, error) {
	var hashes []secret.Hash
	if l, ok := s.clients.(ClientLister); ok {
		for _, c := range l.Clients() {
			if !c.Secret.IsZero() {
				hashes = append(hashes, c.Secret)
			}
		}
		if len(hashes) == 0 {
			// No clients at all: any decoy will do; sha256 costs nothing.
			h, err := secret.Parse(secret.NewSHA256("no clients"))
			if err != nil {
				return nil, err
			}
			hashes = append(hashes, h)
		}
	}
	for _, rs := range s.resourceServers {
		hashes = append(hashes, rs.Secret)
	}
	d, err := secret.NewDecoys(hashes...)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	return d, nil
}

// Issuer returns the issuer URL.
func (s *Server) Issuer() string { return s.issuer }

// Audiences returns the audience names, sorted.
func (s *Server) Audiences() []string {
	names := make([]string, 0, len(s.audienceOrder))
	for _, a := range s.audienceOrder {
		names = append(names, a.name)
	}
	return names
}

// Paths returns the endpoint paths, relative to the issuer URL, that the
// metadata document advertises; adapters mount the endpoints there.
func (s *Server) Paths() Paths { return s.paths }

// Ready reports whether the server can serve every grant: its store
// answers. It backs a readiness probe.
func (s *Server) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// Metadata returns the RFC 8414 authorization server metadata document
// (§2), to serve at the well-known URI of RFC 8414 §3
// (/.well-known/oauth-authorization-server, with the issuer's path, if any,
// appended). The "issuer" member is the issuer identifier exactly as given
// to New, as §3.3 requires; endpoint URLs are the issuer URL, without a
// trailing slash, followed by the configured Paths, and an endpoint whose
// path is empty is left out.
func (s *Server) Metadata() *Response {
	base := strings.TrimSuffix(s.issuer, "/")
	caps := s.capabilities()
	doc := map[string]any{
		"issuer":                                        s.issuer,
		"response_types_supported":                      caps.responseTypes,
		"response_modes_supported":                      caps.responseModes,
		"grant_types_supported":                         caps.grantTypes,
		"token_endpoint_auth_methods_supported":         []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":    []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":              caps.challengeMethods,
	}
	for name, path := range map[string]string{
		"authorization_endpoint": s.paths.Authorize,
		"token_endpoint":         s.paths.Token,
		"introspection_endpoint": s.paths.Introspect,
		"revocation_endpoint":    s.paths.Revoke,
		"jwks_uri":               s.paths.JWKS,
	} {
		if path != "" {
			doc[name] = base + path
		}
	}
	if len(s.scopes) > 0 {
		doc["scopes_supported"] = s.scopes
	}
	body, _ := json.Marshal(doc) // a map of strings and string slices always marshals
	return &Response{Status: 200, Header: Headers{
		{"Content-Type", "application/json"},
		{"Cache-Control", "public, max-age=3600"},
	}, Body: body}
}

// capabilities are the metadata members that depend on the clients.
type capabilities struct {
	responseTypes, responseModes, grantTypes, challengeMethods []string
}

// capabilities lists what the registered clients may use, when the
// ClientStore can list them (ClientLister), so that the metadata advertises
// only what is enabled (RFC 8414 §2): the implicit grant and response type
// token only when a client has it, password only with users and a client
// allowed it, plain only when a client is allowed it. A store that cannot
// list its clients gets everything this server implements.
func (s *Server) capabilities() capabilities {
	l, ok := s.clients.(ClientLister)
	if !ok {
		g := []string{string(GrantAuthorizationCode), string(GrantClientCredentials), string(GrantRefreshToken)}
		if s.users != nil {
			g = append(g, string(GrantPassword))
		}
		return capabilities{
			responseTypes:    []string{"code", "token"},
			responseModes:    []string{"query", "fragment"},
			grantTypes:       append(g, string(GrantImplicit)),
			challengeMethods: []string{PKCES256, PKCEPlain},
		}
	}
	var code, token, plain bool
	grants := map[GrantType]bool{}
	for _, c := range l.Clients() {
		for _, g := range c.GrantTypes {
			grants[g] = true
		}
		code = code || c.AllowsResponseType(ResponseCode)
		token = token || c.AllowsResponseType(ResponseToken)
		plain = plain || c.AllowPKCEPlain
	}
	caps := capabilities{responseModes: []string{"query"}, challengeMethods: []string{PKCES256}}
	if code || !token {
		// RFC 8414 §2 requires the member; code is what the
		// authorization endpoint serves when nothing else is enabled.
		caps.responseTypes = append(caps.responseTypes, string(ResponseCode))
	}
	if token {
		caps.responseTypes = append(caps.responseTypes, string(ResponseToken))
		caps.responseModes = append(caps.responseModes, "fragment")
	}
	if plain {
		caps.challengeMethods = append(caps.challengeMethods, PKCEPlain)
	}
	for _, g := range []GrantType{GrantAuthorizationCode, GrantClientCredentials, GrantRefreshToken, GrantPassword} {
		if grants[g] && (g != GrantPassword || s.users != nil) {
			caps.grantTypes = append(caps.grantTypes, string(g))
		}
	}
	if token {
		caps.grantTypes = append(caps.grantTypes, string(GrantImplicit))
	}
	if caps.grantTypes == nil {
		caps.grantTypes = []string{}
	}
	return caps
}
