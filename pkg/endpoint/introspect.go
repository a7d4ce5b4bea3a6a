package endpoint

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// Token type hints of RFC 7009 §2.1 and RFC 7662 §2.1.
const (
	HintAccessToken  = "access_token"
	HintRefreshToken = "refresh_token"
)

// tokenKind is a kind of token the introspection and revocation endpoints
// know. Authorization codes are neither: presented to either endpoint they
// are treated as unknown tokens.
type tokenKind uint8

const (
	kindAccess tokenKind = iota + 1
	kindRefresh
)

// inactiveBody is the whole response for a token that is not active
// (RFC 7662 §2.2).
const inactiveBody = `{"active":false}`

// Introspect handles a request to the token introspection endpoint
// (RFC 7662) and returns the response to send.
//
// The request is a form POST (§2.1) with the token and an optional
// token_type_hint ("access_token" or "refresh_token"; other values are
// ignored, and the hinted kind is only tried first). The caller must
// authenticate (§2.1 requires the endpoint to be protected against token
// scanning) as a confidential client or a registered resource server
// (WithResourceServers); a public client proves nothing, so it is answered
// invalid_client.
//
// Who may see what (§4 leaves the policy to the server, and asks it to
// tell a caller no more than it needs):
//
//   - a client sees the access and refresh tokens issued to it;
//   - a resource server sees the access tokens of its audiences, issued to
//     any client;
//
// and any other token is answered exactly as an inactive one, so a caller
// cannot learn whether someone else's token is valid.
//
// An active token is answered with active, scope, client_id, token_type
// ("Bearer" for access tokens, "refresh_token" for refresh tokens), exp,
// iat, nbf (when set), sub, aud, iss, jti and any extra claims of the
// token (§2.2; there is no username: tokens carry user ids only). Every
// token that is malformed, unknown, expired (by the issuer's clock, with no
// leeway), revoked — its jti, or its refresh family (code replay, refresh
// token reuse, RFC 7009 revocation) — not the caller's to see, or whose
// lifetime (exp − iat) exceeds the server's for its kind (an access token
// living longer than the access token lifetime was not issued by this
// server, whatever key sealed it: only a holder of an audience's key can
// make one), is answered exactly {"active":false}, never an error.
//
// A refresh token is active only while it is its family's current
// generation (store.Store RefreshState). One superseded by rotation is
// inactive although its family is not revoked: it can no longer be used,
// and presenting it at the token endpoint would be taken for reuse and
// revoke the family (RFC 9700 §4.14.2). Access tokens stay active across
// rotations of their family until it is revoked or they expire. The answer
// is the store's state when asked: a rotation that completes just after
// makes a refresh token reported active superseded.
//
// When the store cannot be reached the answer is 503 temporarily_unavailable:
// the revocation state is unknown and a resource server must not take the
// token as active. Every response carries Cache-Control: no-store.
func (s *Server) Introspect(ctx context.Context, r *Request) (*Response, Result) {
	var res Result
	resp, e := s.introspect(ctx, withHeader(r), &res)
	if e != nil {
		res.Err = e
		return errorResponse(e), res
	}
	return resp, res
}

func (s *Server) introspect(ctx context.Context, r *Request, res *Result) (*Response, *Error) {
	caller, p, e := s.companionRequest(ctx, r, "introspection", "RFC 7662 §2.1")
	if e != nil {
		res.PresentedClientID = presentedClientID(r, &p)
		return nil, e
	}
	res.ClientID = caller.id
	if caller.public {
		return nil, NewError(InvalidClient, "introspection requires client authentication; a public client cannot authenticate (RFC 7662 §2.1)")
	}
	raw := p.Get("token")
	if raw == "" {
		return nil, NewError(InvalidRequest, "missing token (RFC 7662 §2.1)")
	}
	c, kind := s.lookupToken(raw, p.Get("token_type_hint"))
	if kind == 0 || !s.now().Before(c.Expiry) || !caller.mayInspect(kind, c) || !s.lifetimeOK(kind, c) {
		return inactive(), nil
	}
	live, err := s.live(ctx, kind, c)
	if err != nil {
		return nil, AsError(err)
	}
	if !live {
		return inactive(), nil
	}
	res.JTI = c.ID
	if kind == kindAccess && len(c.Audience) > 0 {
		res.Audience = c.Audience[0]
	}
	return jsonResponse(200, appendIntrospection(make([]byte, 0, 512), kind, c)), nil
}

// mayInspect reports whether the caller may see token c of kind at the
// introspection endpoint (RFC 7662 §4): its own tokens, or, for a resource
// server, the access tokens of its audiences.
func (a *account) mayInspect(kind tokenKind, c *crypttoken.Claims) bool {
	if a.rs != nil {
		return kind == kindAccess && a.rs.mayInspect(c.Audience)
	}
	return c.ClientID == a.id
}

// lifetimeOK reports whether token c lives no longer than this server
// issues tokens of its kind for: exp − iat at most the lifetime, rounded
// up to a whole second (NumericDates are whole seconds). A token without
// iat fails: this server always sets it.
func (s *Server) lifetimeOK(kind tokenKind, c *crypttoken.Claims) bool {
	ttl := s.accessTTL
	if kind == kindRefresh {
		ttl = s.refreshTTL
	}
	if rem := ttl % time.Second; rem != 0 {
		ttl += time.Second - rem
	}
	return !c.IssuedAt.IsZero() && c.Expiry.Sub(c.IssuedAt) <= ttl
}

// inactive is the RFC 7662 §2.2 answer for a token that is not active.
func inactive() *Response { return jsonResponse(200, []byte(inactiveBody)) }

// companionRequest runs the checks the introspection and revocation
// endpoints share with the token endpoint: TLS and no fragment (RFC 6749
// §3.1), POST only, a form body, and client authentication (RFC 6749 §2.3),
// where a resource server may authenticate too.
func (s *Server) companionRequest(ctx context.Context, r *Request, name, section string) (account, Params, *Error) {
	p, e := s.formRequest(r, name, section)
	if e != nil {
		return account{}, Params{}, e
	}
	caller, _, e := s.authenticateClient(ctx, r, &p, s.now(), true)
	if e != nil {
		return account{}, Params{}, e
	}
	return caller, p, nil
}

// formRequest applies the rules every form-posting endpoint shares: TLS and
// no fragment (RFC 6749 §3.1), POST only, an
// application/x-www-form-urlencoded body (RFC 6749 §3.2), and decodes it.
func (s *Server) formRequest(r *Request, name, section string) (Params, *Error) {
	if e := s.checkTransport(r); e != nil {
		return Params{}, e
	}
	if r.Method != "POST" {
		return Params{}, methodNotAllowed("POST", "the "+name+" endpoint accepts POST only ("+section+")")
	}
	if e := checkFormContentType(r); e != nil {
		return Params{}, e
	}
	return ParseParams(string(r.Body))
}

// lookupToken opens raw as an access token of one of the audiences or as a
// refresh token and reports which it is, or 0 if it is neither.
// The kind named by hint is tried first (RFC 7662 §2.1, RFC 7009 §2.1: the
// hint only speeds the search; an unknown hint is ignored).
//
// It routes by the JWE "kid" header: only the rings that hold that key are
// tried, so an unknown or garbled token costs one header decode and a map
// lookup per ring, never a decryption. Opening checks typ, iss, aud and the
// times with the server's leeway.
func (s *Server) lookupToken(raw, hint string) (*crypttoken.Claims, tokenKind) {
	kid, ok := peekKID(raw)
	if !ok {
		return nil, 0
	}
	order := [2]tokenKind{kindAccess, kindRefresh}
	if hint == HintRefreshToken {
		order = [2]tokenKind{kindRefresh, kindAccess}
	}
	for _, kind := range order {
		switch kind {
		case kindAccess:
			for _, a := range s.audienceOrder {
				if _, held := a.ring.Load().Lookup(kid); !held {
					continue
				}
				if c, err := a.opener.Open(raw); err == nil {
					return c, kindAccess
				}
			}
		case kindRefresh:
			if _, held := s.internalRing.Load().Lookup(kid); !held {
				continue
			}
			if c, err := s.refreshes.Open(raw); err == nil {
				return c, kindRefresh
			}
		}
	}
	return nil, 0
}

// maxHeaderLen bounds the encoded JWE protected header peekKID decodes; the
// headers this server writes are about 120 characters.
const maxHeaderLen = 512

// peekKID returns the "kid" of a compact JWE's protected header without
// decrypting anything. The value is unauthenticated: it only selects the
// rings to try, and opening then authenticates the header.
func peekKID(token string) (string, bool) {
	enc, _, ok := strings.Cut(token, ".")
	if !ok || enc == "" || len(enc) > maxHeaderLen {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", false
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if json.Unmarshal(raw, &h) != nil || h.Kid == "" {
		return "", false
	}
	return h.Kid, true
}

// live reports whether the store lets an open, unexpired token be active
// (RFC 7662 §2.2): its jti is not revoked (RFC 7009) and, for a token of a
// refresh family, the family is not revoked; a refresh token must also be
// its family's current generation, and have a family at all, as the
// refresh grant requires. It costs at most two store calls, one for the
// jti and one (RefreshState) for the family.
func (s *Server) live(ctx context.Context, kind tokenKind, c *crypttoken.Claims) (bool, error) {
	if kind == kindRefresh && c.FamilyID == "" {
		return false, nil
	}
	if c.ID != "" {
		if r, err := s.store.TokenRevoked(ctx, c.ID); err != nil || r {
			return false, err
		}
	}
	if c.FamilyID == "" {
		return true, nil
	}
	gen, revoked, err := s.store.RefreshState(ctx, c.FamilyID)
	switch {
	case err != nil || revoked:
		return false, err
	case kind == kindRefresh:
		return c.Generation == gen, nil
	default:
		return true, nil
	}
}

// introspectionMembers are the response members of RFC 7662 §2.2 that an
// extra claim of the same name must not override.
var introspectionMembers = []string{"active", "token_type"}

// appendIntrospection appends the RFC 7662 §2.2 response for an active token.
func appendIntrospection(dst []byte, kind tokenKind, c *crypttoken.Claims) []byte {
	dst = append(dst, `{"active":true`...)
	str := func(name, v string) {
		if v != "" {
			dst = append(dst, `,"`...)
			dst = append(dst, name...)
			dst = append(dst, `":`...)
			dst = jsonenc.AppendString(dst, v)
		}
	}
	date := func(name string, t time.Time) {
		if !t.IsZero() {
			dst = append(dst, `,"`...)
			dst = append(dst, name...)
			dst = append(dst, `":`...)
			dst = strconv.AppendInt(dst, t.Unix(), 10)
		}
	}
	str("scope", c.Scope)
	str("client_id", c.ClientID)
	if kind == kindAccess {
		str("token_type", "Bearer")
	} else {
		str("token_type", HintRefreshToken)
	}
	date("exp", c.Expiry)
	date("iat", c.IssuedAt)
	date("nbf", c.NotBefore)
	str("sub", c.Subject)
	switch len(c.Audience) {
	case 0:
	case 1:
		str("aud", c.Audience[0])
	default:
		dst = append(dst, `,"aud":[`...)
		for i, a := range c.Audience {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonenc.AppendString(dst, a)
		}
		dst = append(dst, ']')
	}
	str("iss", c.Issuer)
	str("jti", c.ID)
	if kind == kindAccess {
		date("auth_time", c.AuthTime)
		names := make([]string, 0, len(c.Extra))
		for name := range c.Extra {
			if !slices.Contains(introspectionMembers, name) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			dst = append(dst, ',')
			dst = jsonenc.AppendString(dst, name)
			dst = append(dst, ':')
			dst = append(dst, c.Extra[name]...)
		}
	}
	return append(dst, '}')
}
