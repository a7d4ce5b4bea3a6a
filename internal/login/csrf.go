package login

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CookieName is the name of the cookie that carries the browser's CSRF
// nonce. The __Host- prefix (RFC 6265bis §4.1.3.2) makes browsers accept it
// only with Secure, Path=/ and no Domain, so neither a sibling subdomain nor
// a plain-HTTP page can plant or overwrite it.
const CookieName = "__Host-login-csrf"

// Errors of the CSRF and login-ticket checks. They are the Err of the audit
// Event that reports a rejected form, and never contain a token, a cookie
// or a parameter value.
var (
	// ErrCSRFMissing: the form or the cookie carried no CSRF token or nonce
	// (cookies blocked, or a cross-site POST, which SameSite=Lax strips of
	// the cookie).
	ErrCSRFMissing = errors.New("login: CSRF token or cookie missing")
	// ErrCSRFInvalid: the token does not verify for this browser's cookie
	// and this authorization request (forged, tampered, or minted for other
	// parameters).
	ErrCSRFInvalid = errors.New("login: CSRF token invalid")
	// ErrCSRFExpired: the token verified but is past its expiry.
	ErrCSRFExpired = errors.New("login: CSRF token expired")
	// ErrTicketInvalid: the login ticket of a consent form does not open,
	// or was issued for another client, request or browser.
	ErrTicketInvalid = errors.New("login: login ticket invalid")
	// ErrTicketExpired: the login ticket opened but is past its expiry.
	ErrTicketExpired = errors.New("login: login ticket expired")
)

const (
	nonceLen = 32
	// csrfTokenLen is the length of a decoded CSRF token: an 8-byte
	// big-endian expiry (Unix seconds) and a 32-byte HMAC-SHA256.
	csrfTokenLen = 8 + sha256.Size
	// maxCookieHeader bounds the Cookie header scanned for the nonce.
	maxCookieHeader = 8192
)

// nonce is a browser's CSRF nonce, the value of the CookieName cookie.
type nonce [nonceLen]byte

// newNonce returns a fresh random nonce.
func newNonce() (nonce, error) {
	var n nonce
	if _, err := rand.Read(n[:]); err != nil {
		return n, fmt.Errorf("login: reading random nonce: %w", err)
	}
	return n, nil
}

// String encodes n as the cookie value (unpadded base64url).
func (n nonce) String() string { return base64.RawURLEncoding.EncodeToString(n[:]) }

// cookie returns the Set-Cookie value that stores n: Secure and HttpOnly
// (no script reads it), SameSite=Lax (a cross-site POST arrives without it,
// so it fails the double-submit check; a top-level GET from the client's
// site keeps it), Path=/ as the __Host- prefix requires, and no Max-Age: a
// session cookie, reused for every form of the browser session so that
// several tabs can sign in at once.
func (n nonce) cookie() string {
	return CookieName + "=" + n.String() + "; Path=/; Secure; HttpOnly; SameSite=Lax"
}

// parseNonce decodes a cookie value into a nonce.
func parseNonce(v string) (nonce, bool) {
	var n nonce
	if len(v) != base64.RawURLEncoding.EncodedLen(nonceLen) {
		return n, false
	}
	m, err := base64.RawURLEncoding.Strict().Decode(n[:], []byte(v))
	return n, err == nil && m == nonceLen
}

// cookieValue returns the value of the first cookie called name in a Cookie
// request header (RFC 6265 §4.2.1: "name=value" pairs separated by "; ").
// Values in double quotes are unquoted. Headers longer than
// maxCookieHeader are not scanned.
func cookieValue(header, name string) (string, bool) {
	if len(header) > maxCookieHeader {
		return "", false
	}
	for header != "" {
		var pair string
		pair, header, _ = strings.Cut(header, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || strings.TrimSpace(k) != name {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v, true
	}
	return "", false
}

// readNonce returns the browser's nonce from a Cookie header.
func readNonce(cookieHeader string) (nonce, bool) {
	v, ok := cookieValue(cookieHeader, CookieName)
	if !ok {
		return nonce{}, false
	}
	return parseNonce(v)
}

// csrf mints and checks the double-submit CSRF tokens of the forms: the
// token is exp ‖ HMAC-SHA256(key, label ‖ nonce ‖ paramsHash ‖ exp), where
// nonce is the browser's cookie and paramsHash binds the authorization
// request the form belongs to (see paramsHash). A site that cannot read the
// victim's cookie cannot compute a token for it, and a token minted for one
// authorization request does not verify for another.
type csrf struct {
	key [32]byte
}

// csrfLabel separates CSRF MACs from any other use of the key.
const csrfLabel = "sealedtoken login csrf v1\x00"

func (c *csrf) mac(n nonce, params [32]byte, exp uint64) [sha256.Size]byte {
	m := hmac.New(sha256.New, c.key[:])
	var b [len(csrfLabel) + nonceLen + 32 + 8]byte
	i := copy(b[:], csrfLabel)
	i += copy(b[i:], n[:])
	i += copy(b[i:], params[:])
	binary.BigEndian.PutUint64(b[i:], exp)
	m.Write(b[:])
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// mint returns the token for nonce n and an authorization request whose
// parameters hash to params, valid until exp.
func (c *csrf) mint(n nonce, params [32]byte, exp time.Time) string {
	e := unixSeconds(exp)
	var b [csrfTokenLen]byte
	binary.BigEndian.PutUint64(b[:8], e)
	mac := c.mac(n, params, e)
	copy(b[8:], mac[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// verify checks token against the browser's nonce and the request's
// parameter hash at now. The MAC is compared in constant time and checked
// before the expiry, so an expired answer is given only for a token this
// server minted.
func (c *csrf) verify(token string, n nonce, haveNonce bool, params [32]byte, now time.Time) error {
	if token == "" || !haveNonce {
		return ErrCSRFMissing
	}
	var b [csrfTokenLen]byte
	if len(token) != base64.RawURLEncoding.EncodedLen(csrfTokenLen) {
		return ErrCSRFInvalid
	}
	if m, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(token)); err != nil || m != csrfTokenLen {
		return ErrCSRFInvalid
	}
	e := binary.BigEndian.Uint64(b[:8])
	want := c.mac(n, params, e)
	if subtle.ConstantTimeCompare(want[:], b[8:]) != 1 {
		return ErrCSRFInvalid
	}
	if unixSeconds(now) >= e {
		return ErrCSRFExpired
	}
	return nil
}

// unixSeconds returns t as Unix seconds, 0 for times before 1970.
func unixSeconds(t time.Time) uint64 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return uint64(s)
}
