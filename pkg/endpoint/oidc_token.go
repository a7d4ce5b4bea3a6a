package endpoint

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// Extra claims of codes and refresh tokens (sealed with the internal ring,
// read by this server alone) that carry what an ID token needs from the
// authorization request and the login: the nonce (codes only: an ID token
// from a refresh has none, Core §12.2), the authentication methods and the
// login session.
const (
	claimNonce = "nonce"
	claimAMR   = "amr"
	claimSID   = "sid"
	// ClaimUserInfoProof is the access-token claim by which the UserInfo
	// endpoint knows that this server issued the token for an OpenID
	// grant: "<kid>.<mac>", an HMAC-SHA256 (truncated to 128 bits) under a
	// key derived from the internal ring's key kid, over the token's aud,
	// sub, client_id, scope, iat and exp. See Server.UserInfo.
	ClaimUserInfoProof = "uip"
)

// userInfoProofLabel separates the UserInfo proof key from every other use
// of the internal ring's keys.
const userInfoProofLabel = "sealedtoken userinfo proof v1"

// codeExtra returns the extra claims of a code issued for an OpenID
// request: nonce, amr and sid, those that are set; nil otherwise.
func codeExtra(ar *AuthorizeRequest, g Grant) map[string]json.RawMessage {
	if ar.OpenID == nil {
		return nil
	}
	m := make(map[string]json.RawMessage, 3)
	if ar.OpenID.Nonce != "" {
		m[claimNonce] = jsonString(ar.OpenID.Nonce)
	}
	putSession(m, g.AMR, g.SessionID)
	return m
}

// putSession adds amr and sid to m when set.
func putSession(m map[string]json.RawMessage, amr []string, sid string) {
	if len(amr) > 0 {
		b, _ := json.Marshal(amr) // a []string always marshals
		m[claimAMR] = b
	}
	if sid != "" {
		m[claimSID] = jsonString(sid)
	}
}

func jsonString(s string) json.RawMessage { return jsonenc.AppendString(nil, s) }

// openIDGrant prepares the ID token of a token request whose scope
// includes openid, from the code or refresh token c (nonce only from a
// code): it sets tr.oidc, which makes issue append an ID token and the
// UserInfo proof. Nothing happens without WithOpenID.
func (s *Server) openIDGrant(tr *TokenRequest, c *crypttoken.Claims, withNonce bool) {
	if s.oidc == nil || !slices.Contains(tr.Scopes, ScopeOpenID) {
		return
	}
	t := &idToken{subject: tr.Subject, clientID: tr.Client.ID, authTime: tr.AuthTime, scopes: tr.Scopes}
	if c != nil {
		if withNonce {
			t.nonce = extraString(c.Extra, claimNonce)
		}
		t.sid = extraString(c.Extra, claimSID)
		if v, ok := c.Extra[claimAMR]; ok {
			_ = json.Unmarshal(v, &t.amr) // sealed by this server: well formed
		}
	}
	tr.oidc = t
}

// keepOpenID makes the ID token follow the access token's final scope: its
// claims are those the scope grants, and there is none when the scope no
// longer includes openid.
func (tr *TokenRequest) keepOpenID(scope string) {
	if tr.oidc == nil || scope == strings.Join(tr.oidc.scopes, " ") {
		return
	}
	tr.oidc.scopes = strings.Fields(scope)
	if !slices.Contains(tr.oidc.scopes, ScopeOpenID) {
		tr.oidc = nil
	}
}

// openIDExtra returns the extra claims of the refresh token issued with an
// ID token: amr and sid, so that a refresh's ID token says the same
// (Core §12.2); nil otherwise.
func (tr *TokenRequest) openIDExtra() map[string]json.RawMessage {
	if tr.oidc == nil || (len(tr.oidc.amr) == 0 && tr.oidc.sid == "") {
		return nil
	}
	m := make(map[string]json.RawMessage, 2)
	putSession(m, tr.oidc.amr, tr.oidc.sid)
	return m
}

func extraString(m map[string]json.RawMessage, name string) string {
	var s string
	if v, ok := m[name]; ok {
		_ = json.Unmarshal(v, &s)
	}
	return s
}

// addUserInfoProof adds ClaimUserInfoProof to access token at, which must
// have its final audience, subject, client, scope and times.
//
// Decision: the UserInfo endpoint accepts the access tokens of every
// configured audience, since a client gets one access token, for its API,
// and OpenID clients present that one. But an audience's key is held by
// its resource servers too (SPEC §3), so such a key could seal a token
// with any sub and scope: the proof, keyed by the internal ring that only
// the issuer holds, makes the UserInfo endpoint refuse those, so that a
// resource server cannot read the claims of users who never used it.
func (s *Server) addUserInfoProof(at *crypttoken.Claims, now time.Time) *Error {
	k, err := s.internalRing.Load().Sealing(now)
	if err != nil {
		return AsError(err)
	}
	mac := userInfoMAC(k, at)
	extra := make(map[string]json.RawMessage, len(at.Extra)+1)
	for n, v := range at.Extra {
		extra[n] = v
	}
	v := make([]byte, 0, len(k.ID)+26)
	v = append(v, '"')
	v = append(v, k.ID...)
	v = append(v, '.')
	v = base64.RawURLEncoding.AppendEncode(v, mac[:16])
	extra[ClaimUserInfoProof] = append(v, '"')
	at.Extra = extra
	return nil
}

// checkUserInfoProof reports whether access token c carries a valid
// ClaimUserInfoProof, under a key of the internal ring that has not
// expired.
func (s *Server) checkUserInfoProof(c *crypttoken.Claims, now time.Time) bool {
	v := extraString(c.Extra, ClaimUserInfoProof)
	kid, enc, ok := strings.Cut(v, ".")
	if !ok || len(enc) != 22 {
		return false
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil {
		return false
	}
	k, ok := s.internalRing.Load().Opening(kid, now)
	if !ok || k.Alg.Signing() {
		return false
	}
	want := userInfoMAC(k, c)
	return subtle.ConstantTimeCompare(got, want[:16]) == 1
}

// userInfoMAC is HMAC-SHA256(HMAC-SHA256(key, label), fields of c), each
// field length-prefixed.
func userInfoMAC(k *keys.Key, c *crypttoken.Claims) [sha256.Size]byte {
	material := k.Material()
	d := hmac.New(sha256.New, material)
	clear(material)
	d.Write([]byte(userInfoProofLabel))
	sub := d.Sum(nil)
	m := hmac.New(sha256.New, sub)
	clear(sub)
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		m.Write(n[:])
		m.Write([]byte(s))
	}
	field(strings.Join(c.Audience, " "))
	field(c.Subject)
	field(c.ClientID)
	field(c.Scope)
	field(strconv.FormatInt(c.IssuedAt.Unix(), 10))
	field(strconv.FormatInt(c.Expiry.Unix(), 10))
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}
