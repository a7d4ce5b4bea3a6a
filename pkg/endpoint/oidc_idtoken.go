package endpoint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// IDTokenType is the JWS "typ" of ID tokens: "JWT" (RFC 7519 §5.1, SPEC
// §3). OpenID Connect Core 1.0 defines no explicit type for ID tokens.
const IDTokenType = "JWT"

// ErrIDTokenHint is the cause of an id_token_hint that did not verify.
var ErrIDTokenHint = errors.New("endpoint: id_token_hint does not verify")

// IDTokenHint is a verified id_token_hint (OpenID Connect Core 1.0
// §3.1.2.1; RP-Initiated Logout 1.0 §2): an ID token that this server's
// signing keys verify and that names this issuer. Its expiry is not
// checked, as both specifications allow: an expired ID token still says
// who the client thought was signed in.
type IDTokenHint struct {
	Subject string
	// Audience is the "aud" claim: the client(s) the ID token was issued
	// to.
	Audience []string
	// SessionID is the "sid" claim: the login session the ID token was
	// issued in, or "".
	SessionID string
	// IssuedAt is the "iat" claim.
	IssuedAt time.Time
}

// verifyIDTokenHint verifies raw as an ID token of this server: a compact
// JWS of typ JWT, signed with a key of the signing ring that has not
// expired (so still published at jwks_uri), with iss this issuer and a
// subject. Its exp is not checked.
func (s *Server) verifyIDTokenHint(raw string) (*IDTokenHint, error) {
	if s.oidc == nil {
		return nil, ErrIDTokenHint
	}
	set := s.oidc.signing.Load()
	now := s.now()
	src := jws.KeyFunc(func(h *jws.Header) (*jws.Key, error) {
		k, ok := set.Opening(h.KeyID, now)
		if !ok || !k.Alg.Signing() {
			return nil, fmt.Errorf("%w: kid %q", jws.ErrUnknownKey, safeName(h.KeyID))
		}
		return jws.NewPublicKey(k.Public(), k.ID, string(k.Alg))
	})
	tok, err := jws.Verify(raw, idTokenAlgs, src, jws.WithType(IDTokenType))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIDTokenHint, err)
	}
	c, err := jws.ParseClaims(tok.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIDTokenHint, err)
	}
	if c.Issuer != s.issuer || c.Subject == "" || len(c.Audience) == 0 {
		return nil, fmt.Errorf("%w: wrong issuer, or no subject or audience", ErrIDTokenHint)
	}
	h := &IDTokenHint{Subject: c.Subject, Audience: c.Audience, IssuedAt: c.IssuedAt}
	if v, ok := c.Extra["sid"]; ok {
		if err := json.Unmarshal(v, &h.SessionID); err != nil {
			return nil, fmt.Errorf("%w: sid is not a string", ErrIDTokenHint)
		}
	}
	return h, nil
}

// idTokenAlgs are the algorithms of the signing ring's keys (keys.ES256,
// keys.EdDSA, keys.RS256), the allow-list for verifying our own ID tokens.
var idTokenAlgs = []string{jws.ES256, jws.EdDSA, jws.RS256}

// AtHash returns the at_hash of an access token for an ID token signed
// with alg (OpenID Connect Core 1.0 §3.1.3.6, §3.2.2.9): the base64url
// encoding of the left half of the hash of the token's ASCII octets, with
// the hash of alg's JWS signature: SHA-256 for ES256, RS256 and PS256,
// SHA-384 for ES384, and SHA-512 for EdDSA.
//
// Decision: EdDSA uses SHA-512, as the OpenID Foundation's note on EdDSA
// in OpenID Connect settles it (Ed25519 signs with SHA-512) and as
// go-oidc and openid-client (oauth4webapi) compute it for Ed25519.
// An unknown alg returns "".
func AtHash(alg, accessToken string) string {
	var h hash.Hash
	switch alg {
	case jws.ES256, jws.RS256, jws.PS256:
		h = sha256.New()
	case jws.ES384:
		h = sha512.New384()
	case jws.EdDSA:
		h = sha512.New()
	default:
		return ""
	}
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// idToken is what an ID token says besides the issuer and the lifetime.
type idToken struct {
	subject  string
	clientID string
	authTime time.Time
	nonce    string
	amr      []string
	sid      string
	scopes   []string
	// accessToken is the access token issued beside the ID token, for
	// at_hash; empty for none.
	accessToken string
}

// appendIDToken signs an ID token (OpenID Connect Core 1.0 §2, §3.1.3.3)
// with the signing ring's active key and appends it to dst: iss, sub, aud
// (the client), exp (now + the access-token lifetime), iat, auth_time when
// known, nonce when sent, azp (the client), at_hash of the access token,
// amr and sid when known, and the standard claims the scopes grant (§5.4).
func (s *Server) appendIDToken(ctx context.Context, dst []byte, t *idToken, now time.Time) ([]byte, *Error) {
	key, err := s.oidc.signing.Load().Sealing(now)
	if err != nil {
		return dst, AsError(fmt.Errorf("endpoint: no signing key for the ID token: %w", err))
	}
	claims, err := s.userClaims(ctx, t.subject)
	if err != nil && !errors.Is(err, ErrUnknownUser) {
		return dst, AsError(err)
	}
	p := make([]byte, 0, 512)
	p = append(p, `{"iss":`...)
	p = jsonenc.AppendString(p, s.issuer)
	p = append(p, `,"sub":`...)
	p = jsonenc.AppendString(p, t.subject)
	p = append(p, `,"aud":`...)
	p = jsonenc.AppendString(p, t.clientID)
	p = append(p, `,"exp":`...)
	p = strconv.AppendInt(p, now.Add(s.idTokenLifetime()).Unix(), 10)
	p = append(p, `,"iat":`...)
	p = strconv.AppendInt(p, now.Unix(), 10)
	if !t.authTime.IsZero() {
		p = append(p, `,"auth_time":`...)
		p = strconv.AppendInt(p, t.authTime.Unix(), 10)
	}
	if t.nonce != "" {
		p = append(p, `,"nonce":`...)
		p = jsonenc.AppendString(p, t.nonce)
	}
	p = append(p, `,"azp":`...)
	p = jsonenc.AppendString(p, t.clientID)
	if t.accessToken != "" {
		p = append(p, `,"at_hash":`...)
		p = jsonenc.AppendString(p, AtHash(key.Algorithm(), t.accessToken))
	}
	if len(t.amr) > 0 {
		p = append(p, `,"amr":[`...)
		for i, m := range t.amr {
			if i > 0 {
				p = append(p, ',')
			}
			p = jsonenc.AppendString(p, m)
		}
		p = append(p, ']')
	}
	if t.sid != "" {
		p = append(p, `,"sid":`...)
		p = jsonenc.AppendString(p, t.sid)
	}
	p = grantedClaims(p, claims, t.scopes)
	p = append(p, '}')
	out, err := jws.AppendSign(dst, key, jws.Protected{Type: IDTokenType}, p)
	if err != nil {
		return dst, AsError(fmt.Errorf("endpoint: signing the ID token: %w", err))
	}
	return out, nil
}

// appendCompactJSON appends v to dst without insignificant white space;
// invalid JSON is written as null, so that a bad claim from a
// UserClaimsSource cannot break the document it goes in.
func appendCompactJSON(dst []byte, v json.RawMessage) []byte {
	n := len(dst)
	b := bytes.NewBuffer(dst)
	if err := json.Compact(b, v); err != nil {
		return append(dst[:n], "null"...)
	}
	return b.Bytes()
}
