package endpoint

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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

// StaticClients is a ClientStore over a fixed list, as loaded from a
// configuration file.
type StaticClients struct {
	byID map[string]*Client
}

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
		if c.Public != c.Secret.IsZero() {
			return nil, fmt.Errorf("endpoint: client %q: a public client has no secret and a confidential one needs one", c.ID)
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
		s.byID[c.ID] = c
	}
	return s, nil
}

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
// at the token, introspection or revocation endpoint (RFC 6749 §2.3, §3.2.1).
//
// A client may use one method only: HTTP Basic, client_secret in the body,
// or (public clients) client_id alone. Failed attempts are counted per
// client id and per address; past the limit the client is answered 429 with
// Retry-After before any hash is computed (SPEC §6).
func (s *Server) authenticateClient(ctx context.Context, r *Request, p *Params, now time.Time) (*Client, AuthMethod, *Error) {
	var id, sec string
	method := AuthNone
	if authz := r.Header.Get("Authorization"); authz != "" {
		var ok bool
		id, sec, ok = parseBasic(authz)
		if !ok {
			return nil, "", NewError(InvalidRequest, "malformed Authorization header: want Basic with form-urlencoded client_id:client_secret (RFC 6749 §2.3.1)")
		}
		method = AuthSecretBasic
		if p.Has("client_secret") {
			return nil, "", NewError(InvalidRequest, "more than one client authentication method (RFC 6749 §2.3)")
		}
		if bodyID := p.Get("client_id"); bodyID != "" && bodyID != id {
			return nil, "", NewError(InvalidRequest, "client_id in the body differs from the authenticated client")
		}
	} else {
		id = p.Get("client_id")
		if sec = p.Get("client_secret"); sec != "" {
			method = AuthSecretPost
		}
	}
	if id == "" {
		return nil, "", NewError(InvalidClient, "client authentication failed: no client identified")
	}

	idKey, addrKey := "client:"+id, ""
	var addrBuf [64]byte
	if r.RemoteAddr.IsValid() {
		// Built in a stack buffer: the limiter hashes keys and keeps none.
		addrKey = string(r.RemoteAddr.AppendTo(append(addrBuf[:0], "addr:"...)))
	}
	if e := s.checkLimits(now, idKey, addrKey); e != nil {
		return nil, "", e
	}
	c, err := s.clients.Client(ctx, id)
	if err != nil {
		if errors.Is(err, ErrUnknownClient) {
			s.fail(now, idKey, addrKey)
			return nil, "", NewError(InvalidClient, "client authentication failed").withCause(err)
		}
		return nil, "", AsError(err)
	}
	if c.Public {
		if method == AuthSecretBasic && sec == "" {
			// A public client identified by Basic with an empty password
			// (what golang.org/x/oauth2 tries first when it cannot know
			// the server's style) is identified, not refused: it has no
			// secret to get wrong, and counting it as a failure would
			// lock the client out for everyone.
			method = AuthNone
		}
		if method != AuthNone {
			s.fail(now, idKey, addrKey)
			return nil, "", NewError(InvalidClient, "client authentication failed: a public client has no secret")
		}
		return c, AuthNone, nil
	}
	if method == AuthNone {
		s.fail(now, idKey, addrKey)
		return nil, "", NewError(InvalidClient, "client authentication failed: this client must authenticate")
	}
	ok, err := s.verifier.Verify(ctx, c.Secret, sec)
	if err != nil {
		e := NewError(TemporarilyUnavailable, "too many client authentications in progress; retry later").withCause(err)
		e.Status, e.RetryAfter = 503, time.Second
		return nil, "", e
	}
	if !ok {
		s.fail(now, idKey, addrKey)
		return nil, "", NewError(InvalidClient, "client authentication failed")
	}
	s.limiter.Succeed(idKey, now)
	return c, method, nil
}

// presentedClientID returns the client id r presented, in its Basic
// credentials or else its client_id parameter, copied, for the log line of
// a failed authentication (Result.PresentedClientID); "" if there is none
// or it is not 1 to 255 printable ASCII characters (RFC 6749 Appendix
// A.1 allows no more), so that a log never carries arbitrary bytes.
func presentedClientID(r *Request, p *Params) string {
	id := p.Get("client_id")
	if bid, _, ok := parseBasic(r.Header.Get("Authorization")); ok {
		id = bid
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

// checkLimits answers 429 with Retry-After when the client id or the
// address has failed too often (SPEC §6), before any hash is computed.
func (s *Server) checkLimits(now time.Time, keys ...string) *Error {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if ok, retry := s.limiter.Allow(k, now); !ok {
			e := NewError(InvalidClient, "too many failed authentication attempts; retry later")
			e.Status, e.RetryAfter = 429, retry
			return e
		}
	}
	return nil
}

// fail counts a failed authentication against each key.
func (s *Server) fail(now time.Time, keys ...string) {
	for _, k := range keys {
		if k != "" {
			s.limiter.Fail(k, now)
		}
	}
}

// parseBasic decodes an HTTP Basic Authorization header (RFC 7617) whose
// user-id and password are the form-urlencoded client_id and client_secret
// (RFC 6749 §2.3.1).
func parseBasic(h string) (id, secret string, ok bool) {
	scheme, cred, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	cred = strings.TrimLeft(cred, " ")
	if len(cred) > 4096 {
		return "", "", false
	}
	var buf [512]byte
	dec := buf[:0]
	if n := base64.StdEncoding.DecodedLen(len(cred)); n > len(buf) {
		dec = make([]byte, 0, n)
	}
	n, err := base64.StdEncoding.Decode(dec[:cap(dec)], []byte(cred))
	if err != nil {
		return "", "", false
	}
	rawID, rawSecret, found := strings.Cut(string(dec[:n]), ":")
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
