package login

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"
)

// DeviceCookieName is the name of the device cookie: proof that this
// browser signed in as a user before, so that failed sign-ins from
// elsewhere never lock that user out of it (secret.Limiter.Begin). The
// __Host- prefix keeps sibling subdomains and plain-HTTP pages from
// planting or overwriting it (RFC 6265bis §4.1.3.2).
const DeviceCookieName = "__Host-login-device"

// DefaultDeviceTTL is how long a device cookie vouches for its browser
// after the sign-in that set it; every sign-in renews it.
const DefaultDeviceTTL = 30 * 24 * time.Hour

// deviceLabel separates device MACs from every other use of the key.
const deviceLabel = "sealedtoken login device v1\x00"

// deviceLen is the decoded length of a device cookie: an 8-byte expiry
// (Unix seconds) and a 32-byte HMAC-SHA256.
const deviceLen = 8 + sha256.Size

// devices mints and checks device cookies: exp ‖ HMAC-SHA256(key, label ‖
// len(user) ‖ user ‖ exp). The cookie names no user in clear and cannot be
// made for another user or extended; the server keeps no state for it.
// One cookie per browser, for the user who signed in last in it.
type devices struct {
	key [32]byte
	ttl time.Duration
}

func (d *devices) mac(user string, exp uint64) [sha256.Size]byte {
	m := hmac.New(sha256.New, d.key[:])
	m.Write([]byte(deviceLabel))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(user)))
	m.Write(n[:])
	m.Write([]byte(user))
	binary.BigEndian.PutUint64(n[:], exp)
	m.Write(n[:])
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// cookie returns the Set-Cookie value of the device cookie for user, made
// at now: Secure, HttpOnly (no script reads it), SameSite=Lax, Path=/ as
// the __Host- prefix requires, kept by the browser for the TTL.
func (d *devices) cookie(user string, now time.Time) string {
	exp := unixSeconds(now.Add(d.ttl))
	var b [deviceLen]byte
	binary.BigEndian.PutUint64(b[:8], exp)
	mac := d.mac(user, exp)
	copy(b[8:], mac[:])
	return DeviceCookieName + "=" + base64.RawURLEncoding.EncodeToString(b[:]) +
		"; Path=/; Max-Age=" + strconv.FormatInt(int64(d.ttl/time.Second), 10) + "; Secure; HttpOnly; SameSite=Lax"
}

// verify returns, for a Cookie header carrying a device cookie that this
// server made for user and that has not expired at now, a value naming
// that cookie (for the Limiter's per-device count), and "" otherwise.
func (d *devices) verify(cookieHeader, user string, now time.Time) string {
	v, ok := cookieValue(cookieHeader, DeviceCookieName)
	if !ok || len(v) != base64.RawURLEncoding.EncodedLen(deviceLen) {
		return ""
	}
	var b [deviceLen]byte
	if n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(v)); err != nil || n != deviceLen {
		return ""
	}
	exp := binary.BigEndian.Uint64(b[:8])
	want := d.mac(user, exp)
	if subtle.ConstantTimeCompare(want[:], b[8:]) != 1 || unixSeconds(now) >= exp {
		return ""
	}
	return string(b[8:])
}
