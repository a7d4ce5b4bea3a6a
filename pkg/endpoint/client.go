package endpoint

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonscan"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// GrantType is an OAuth 2.0 grant type (RFC 6749 §4).
type GrantType string

// Grant types.
const (
	GrantAuthorizationCode GrantType = "authorization_code"
	GrantClientCredentials GrantType = "client_credentials"
	GrantRefreshToken      GrantType = "refresh_token"
	GrantPassword          GrantType = "password"
)

// ResponseType is an authorization-endpoint response type (RFC 6749 §3.1.1).
type ResponseType string

// Response types.
const (
	ResponseCode  ResponseType = "code"
	ResponseToken ResponseType = "token"
)

// Client is a registered client (RFC 6749 §2).
type Client struct {
	// ID is the client identifier (RFC 6749 §2.2).
	ID string
	// Secret is the hash of a confidential client's secret; zero for a
	// public client.
	Secret secret.Hash
	// Public marks a client that cannot keep a secret (RFC 6749 §2.1): it
	// authenticates with its client_id alone and must use PKCE.
	Public bool
	// RedirectURIs are the registered redirect URIs, matched exactly
	// (RFC 6749 §3.1.2.2, RFC 9700 §4.1.3).
	RedirectURIs []string
	// GrantTypes are the grants the client may use at the token endpoint.
	GrantTypes []GrantType
	// ResponseTypes are the response types the client may use at the
	// authorization endpoint; empty means code alone, if the client has
	// the authorization_code grant.
	ResponseTypes []ResponseType
	// Scopes are the scopes the client may be granted.
	Scopes []string
	// DefaultScopes are granted when a request omits scope (RFC 6749 §3.3).
	DefaultScopes []string
	// Audiences are the audiences the client may get access tokens for; the
	// first is its default. Empty means the server's default audience.
	Audiences []string
	// SkipConsent marks a first-party client whose users are not asked to
	// consent.
	SkipConsent bool
	// AllowPKCEPlain lets the client use the PKCE "plain" method
	// (RFC 7636 §4.2). RFC 9700 §2.1.1 asks for S256, so it is off by
	// default: a code_challenge_method of plain is then refused, and a
	// code_challenge sent without a method is invalid_request rather than
	// plain (the RFC 7636 §4.3 default applies only to a client allowed
	// plain).
	AllowPKCEPlain bool
	// Auth restricts how the client authenticates and holds its keys
	// (SPEC §10: token_endpoint_auth_method, jwks, jwks_uri, the mTLS
	// matcher); its zero value keeps the secret-based default. A
	// confidential client registered for a JWT or mTLS method needs no
	// Secret.
	Auth ClientAuth
	// DPoPBoundAccessTokens makes DPoP mandatory: a token request without
	// a DPoP proof is refused (RFC 9449 §5.2, dpop_bound_access_tokens),
	// and the implicit grant, which cannot bind, is not allowed.
	DPoPBoundAccessTokens bool
	// CertificateBoundAccessTokens binds the client's access tokens to its
	// TLS client certificate (RFC 8705 §3,
	// tls_client_certificate_bound_access_tokens) even when it does not
	// authenticate with mTLS: a token request without a certificate is
	// refused, and the implicit grant is not allowed.
	CertificateBoundAccessTokens bool
	// PostLogoutRedirectURIs are where RP-Initiated Logout may send the
	// user after logging out (OpenID Connect RP-Initiated Logout 1.0 §3),
	// matched exactly like RedirectURIs.
	PostLogoutRedirectURIs []string
	// TokenExchangeAudiences are the audiences the client may get access
	// tokens for by token exchange (RFC 8693 §2.1 resource and audience);
	// the first is the default. A client needs the token-exchange grant
	// too. They are independent of Audiences: exchanging a user's token
	// into another service's audience is a right of its own.
	TokenExchangeAudiences []string
	// RequirePushedRequests makes the client push its authorization
	// requests (RFC 9126 §6, require_pushed_authorization_requests): an
	// authorization request without a request_uri is refused.
	RequirePushedRequests bool
}

// AllowsGrant reports whether c may use grant g.
func (c *Client) AllowsGrant(g GrantType) bool { return slices.Contains(c.GrantTypes, g) }

// AllowsResponseType reports whether c may use response type rt.
func (c *Client) AllowsResponseType(rt ResponseType) bool {
	if len(c.ResponseTypes) == 0 {
		return rt == ResponseCode && c.AllowsGrant(GrantAuthorizationCode)
	}
	return slices.Contains(c.ResponseTypes, rt)
}

// ErrUnknownClient is returned by a ClientStore for an unknown client id.
var ErrUnknownClient = errors.New("endpoint: unknown client")

// ClientStore looks clients up by id.
type ClientStore interface {
	// Client returns the client with the given id, or an error wrapping
	// ErrUnknownClient. The returned client must not be modified.
	Client(ctx context.Context, id string) (*Client, error)
}

// ClientLister is implemented by a ClientStore that can list its clients,
// as StaticClients does. New uses it, when the store implements it, to
// make decoy secret hashes of the same kinds as the clients' (so that an
// unknown client id is answered as slowly as a wrong secret), and Metadata
// to advertise only what the registered clients may use (RFC 8414 §2).
type ClientLister interface {
	// Clients returns every client; the caller must not modify them.
	Clients() []*Client
}

// StaticClients is a ClientStore over a fixed list, as loaded from a
// configuration file.
type StaticClients struct {
	byID map[string]*Client
	list []*Client
}

var _ ClientLister = (*StaticClients)(nil)

// NewStaticClients checks and indexes clients.
func NewStaticClients(clients ...*Client) (*StaticClients, error) {
	s := &StaticClients{byID: make(map[string]*Client, len(clients))}
	for i, c := range clients {
		if c == nil || c.ID == "" {
			return nil, fmt.Errorf("endpoint: client %d has no id", i)
		}
		if _, dup := s.byID[c.ID]; dup {
			return nil, fmt.Errorf("endpoint: client %q listed twice", c.ID)
		}
		switch {
		case c.Public && !c.Secret.IsZero():
			return nil, fmt.Errorf("endpoint: client %q: a public client has no secret", c.ID)
		case !c.Public && c.Secret.IsZero() && (c.Auth.Method == "" || c.Auth.Method.secretBased()):
			return nil, fmt.Errorf("endpoint: client %q: a confidential client authenticating with a secret needs one", c.ID)
		}
		if err := c.Auth.check(c.Public, !c.Secret.IsZero()); err != nil {
			return nil, fmt.Errorf("endpoint: client %q: %w", c.ID, err)
		}
		for _, sc := range append(slices.Clone(c.Scopes), c.DefaultScopes...) {
			if !validScopeToken(sc) {
				return nil, fmt.Errorf("endpoint: client %q: scope %q is not an RFC 6749 §3.3 scope-token", c.ID, sc)
			}
		}
		for _, sc := range c.DefaultScopes {
			if !slices.Contains(c.Scopes, sc) {
				return nil, fmt.Errorf("endpoint: client %q: default scope %q is not among its scopes", c.ID, sc)
			}
		}
		for _, u := range c.RedirectURIs {
			if err := checkRedirectURI(u); err != nil {
				return nil, fmt.Errorf("endpoint: client %q: redirect URI %q: %w", c.ID, u, err)
			}
		}
		for _, u := range c.PostLogoutRedirectURIs {
			if err := checkRedirectURI(u); err != nil {
				return nil, fmt.Errorf("endpoint: client %q: post-logout redirect URI %q: %w", c.ID, u, err)
			}
		}
		s.byID[c.ID] = c
		s.list = append(s.list, c)
	}
	return s, nil
}

// Clients implements ClientLister: the clients in the order given.
func (s *StaticClients) Clients() []*Client { return slices.Clone(s.list) }

// Client implements ClientStore.
func (s *StaticClients) Client(_ context.Context, id string) (*Client, error) {
	if c, ok := s.byID[id]; ok {
		return c, nil
	}
	return nil, ErrUnknownClient
}

// ErrBadCredentials is returned by a UserAuthenticator for a wrong username
// or password.
var ErrBadCredentials = errors.New("endpoint: bad username or password")

// UserAuthenticator checks a resource owner's username and password, for
// the password grant (RFC 6749 §4.3) and for login pages.
type UserAuthenticator interface {
	// AuthenticateUser returns the user id (the "sub" claim) for a correct
	// username and password, or an error wrapping ErrBadCredentials.
	AuthenticateUser(ctx context.Context, username, password string) (userID string, err error)
}

// AuthMethod is how a client authenticated (RFC 7591 §2 names).
type AuthMethod string

// Client authentication methods.
const (
	AuthNone        AuthMethod = "none"
	AuthSecretBasic AuthMethod = "client_secret_basic"
	AuthSecretPost  AuthMethod = "client_secret_post"
)

// authenticateClient identifies and authenticates the client of a request
// at the token, introspection or revocation endpoint (RFC 6749 §2.3,
// §3.2.1); with rs set, a registered resource server may authenticate too
// (WithResourceServers), the same way.
//
// A request may use one method only: HTTP Basic, client_secret in the body,
// a JWT assertion (clientauth_jwt.go), or client_id alone, which is a
// public client's way and a mutual-TLS client's (clientauth_tls.go). A
// client registered for one method (ClientAuth.Method) is refused any
// other. A presented secret is checked through the
// Limiter's policy (secret.Limiter.Begin) against the client's address
// (ClientAddr): a public client is never throttled, having no secret to
// guess; a confidential client's attempt is answered 429 with Retry-After
// before any hash is computed when its source is blocked, and a slow hash
// is computed only once the attempt is reserved. An unknown id is checked
// against a decoy hash, so that it is answered like a wrong secret, in the
// same time and with the same text.
func (s *Server) authenticateClient(ctx context.Context, r *Request, p *Params, now time.Time, rs bool) (account, AuthMethod, *Error) {
	var none account
	if p.Has("client_assertion") || p.Has("client_assertion_type") {
		return s.authenticateAssertion(ctx, r, p, now, rs)
	}
	var id, sec string
	method := AuthNone
	if authz := r.Header.Get("Authorization"); authz != "" {
		var ok bool
		id, sec, ok = parseBasic(authz)
		if !ok {
			return none, "", NewError(InvalidRequest, "malformed Authorization header: want Basic with form-urlencoded client_id:client_secret (RFC 6749 §2.3.1)")
		}
		method = AuthSecretBasic
		if p.Has("client_secret") {
			return none, "", NewError(InvalidRequest, "more than one client authentication method (RFC 6749 §2.3)")
		}
		if bodyID := p.Get("client_id"); bodyID != "" && bodyID != id {
			return none, "", NewError(InvalidRequest, "client_id in the body differs from the authenticated client")
		}
	} else {
		id = p.Get("client_id")
		if sec = p.Get("client_secret"); sec != "" {
			method = AuthSecretPost
		}
	}
	if id == "" {
		return none, "", NewError(InvalidClient, "client authentication failed: no client identified")
	}
	acct, known, err := s.lookupAccount(ctx, id, rs)
	if err != nil {
		return none, "", AsError(err)
	}
	if known && acct.public {
		if method == AuthSecretBasic && sec == "" {
			// A public client identified by Basic with an empty password
			// (what golang.org/x/oauth2 tries first when it cannot know
			// the server's style) is identified, not refused.
			method = AuthNone
		}
		if method != AuthNone {
			// Refused, but neither throttled nor counted: a public
			// client has no secret to guess, and counting would let
			// anyone lock it out for everyone.
			return none, "", NewError(InvalidClient, "client authentication failed: a public client has no secret")
		}
		return acct, AuthNone, nil
	}
	if known && method == AuthNone && acct.auth.usesTLS() {
		return s.authenticateTLS(ctx, r, acct, now)
	}
	if method == AuthNone {
		// Unknown and confidential ids get the same answer: no guess was
		// made, so nothing is counted.
		return none, "", NewError(InvalidClient, "client authentication failed")
	}
	// A secret sent for a client registered for another method is
	// answered as for an unknown id: checked against a decoy, counted,
	// the same text, so that the method a client uses is not learnt by
	// guessing at it.
	mismatch := known && !acct.auth.allows(false, method)
	h := acct.secret
	if !known || mismatch {
		h = s.decoys.For(id)
		known = known && !mismatch
	}
	if !h.Slow() {
		// A sha256 secret is never refused (secret.Limiter.Begin), so the
		// Limiter is consulted only to count a failure against the
		// address: the hot path of client_credentials costs nothing more.
		match, _ := s.verifier.Verify(ctx, h, sec)
		if match && known {
			return acct, method, nil
		}
		attempt, _, _ := s.limiter.Begin("client:"+id, s.ClientAddr(r), "", false, now)
		attempt.Fail()
		return none, "", authFailure(known, mismatch)
	}
	attempt, retry, ok := s.limiter.Begin("client:"+id, s.ClientAddr(r), "", true, now)
	if !ok {
		return none, "", throttled(InvalidClient, retry)
	}
	attempt, match, err := verifySlow(ctx, s.verifier, h, sec, attempt)
	switch {
	case errors.Is(err, secret.ErrThrottled):
		return none, "", throttled(InvalidClient, attempt.Fail())
	case err != nil:
		attempt.Abandon()
		e := NewError(TemporarilyUnavailable, "too many client authentications in progress; retry later").withCause(err)
		e.Status, e.RetryAfter = 503, time.Second
		return none, "", e
	case !match || !known:
		attempt.Fail()
		return none, "", authFailure(known, mismatch)
	}
	attempt.Succeed()
	return acct, method, nil
}

// presentedClientID returns the client id r presented, in its Basic
// credentials or else its client_id parameter or the iss of its client
// assertion, copied, for the log line of
// a failed authentication (Result.PresentedClientID); "" if there is none
// or it is not 1 to 255 printable ASCII characters (RFC 6749 Appendix
// A.1 allows no more), so that a log never carries arbitrary bytes.
func presentedClientID(r *Request, p *Params) string {
	id := p.Get("client_id")
	if bid, _, ok := parseBasic(r.Header.Get("Authorization")); ok {
		id = bid
	}
	if id == "" {
		id = assertionIssuer(p.Get("client_assertion"))
	}
	if id == "" || len(id) > 255 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return ""
		}
	}
	return strings.Clone(id)
}

// unknownOr is the answer to a wrong secret, the same for an unknown id
// but for the cause, which only the log sees.
func unknownOr(known bool) *Error {
	e := NewError(InvalidClient, "client authentication failed")
	e.Cause = ErrWrongSecret
	if !known {
		e.Cause = ErrUnknownClient
	}
	return e
}

// authFailure is unknownOr, with ErrAuthMethod as the cause of a secret
// sent for a client registered for another method.
func authFailure(known, mismatch bool) *Error {
	if mismatch {
		return NewError(InvalidClient, "client authentication failed").withCause(ErrAuthMethod)
	}
	return unknownOr(known)
}

// verifySlow checks a slow hash with a as the Verifier's Gate. It takes
// and returns the Attempt by value so that only this path moves it to the
// heap: the sha256 path of client_credentials allocates nothing for it.
func verifySlow(ctx context.Context, v *secret.Verifier, h secret.Hash, sec string, a secret.Attempt) (secret.Attempt, bool, error) {
	ok, err := v.VerifyGated(ctx, h, sec, &a)
	return a, ok, err
}

// throttled is the 429 answer to an authentication refused by the Limiter
// (SPEC §6), with code as its error code and secret.ErrThrottled as the
// cause the log sees.
func throttled(code ErrorCode, retry time.Duration) *Error {
	e := NewError(code, "too many failed authentication attempts; retry later").withCause(secret.ErrThrottled)
	e.Status, e.RetryAfter = 429, max(retry, time.Second)
	return e
}

// account is who authenticated at an endpoint: a client, or a resource
// server (at the introspection and revocation endpoints).
type account struct {
	id     string
	secret secret.Hash
	public bool
	auth   *ClientAuth
	client *Client         // nil for a resource server
	rs     *ResourceServer // nil for a client
	// cert is the certificate the account authenticated with (mutual
	// TLS), which its access tokens are bound to (RFC 8705 §3).
	cert *x509.Certificate
}

// lookupAccount finds the client, or with rs the resource server, called
// id; known is false when there is none.
func (s *Server) lookupAccount(ctx context.Context, id string, rs bool) (a account, known bool, err error) {
	c, err := s.clients.Client(ctx, id)
	switch {
	case err == nil && c != nil:
		return account{id: c.ID, secret: c.Secret, public: c.Public, auth: &c.Auth, client: c}, true, nil
	case err != nil && !errors.Is(err, ErrUnknownClient):
		return account{}, false, err
	}
	if r := s.resourceServers[id]; rs && r != nil && (!r.Secret.IsZero() || r.Auth.Method != "") {
		// A resource server registered only to receive its keys (SPEC §9)
		// has no way to authenticate: it is unknown here.
		return account{id: r.ID, secret: r.Secret, auth: &r.Auth, rs: r}, true, nil
	}
	return account{}, false, nil
}

// maxBasicCredentials bounds the base64 credentials of a Basic header, so
// that a huge header costs no decoding.
const maxBasicCredentials = 4096

// parseBasic decodes an HTTP Basic Authorization header (RFC 7617) whose
// user-id and password are the form-urlencoded client_id and client_secret
// (RFC 6749 §2.3.1). Credentials longer than maxBasicCredentials are
// refused.
func parseBasic(h string) (id, secret string, ok bool) {
	scheme, cred, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	cred = strings.TrimLeft(cred, " ")
	if len(cred) > maxBasicCredentials {
		return "", "", false
	}
	// One allocation: the credentials are decoded into a buffer of their
	// own that is never written again, and the id and secret are views
	// of it (or, when percent-encoded, decoded copies).
	dec := make([]byte, base64.StdEncoding.DecodedLen(len(cred)))
	n, err := base64.StdEncoding.Decode(dec, []byte(cred))
	if err != nil {
		return "", "", false
	}
	rawID, rawSecret, found := strings.Cut(jsonscan.View(dec[:n]), ":")
	if !found {
		return "", "", false
	}
	if id, ok = unescape(rawID); !ok || id == "" {
		return "", "", false
	}
	if secret, ok = unescape(rawSecret); !ok {
		return "", "", false
	}
	return id, secret, true
}
