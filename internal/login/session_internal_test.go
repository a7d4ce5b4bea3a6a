package login

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"
)

func testSessions(t testing.TB, key byte) *sessions {
	t.Helper()
	ss, err := newSessions([32]byte{key}, DefaultSessionTTL)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// TestSessionSealOpen: a sealed session opens with every field, until it
// expires, and only under its key.
func TestSessionSealOpen(t *testing.T) {
	ss := testSessions(t, 7)
	s, err := ss.newSession("u-1001", "alice", []string{"pwd", "otp"}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ss.seal(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, "alice") || strings.Contains(v, "u-1001") {
		t.Fatal("the cookie shows its content")
	}
	got, ok := ss.open(v, testNow.Add(time.Hour))
	if !ok || got.SID() != s.SID() || got.Subject != "u-1001" || got.Username != "alice" ||
		!got.AuthTime.Equal(testNow.Truncate(time.Second)) || !slices.Equal(got.AMR, []string{"pwd", "otp"}) ||
		!got.Expiry.Equal(got.AuthTime.Add(DefaultSessionTTL)) {
		t.Fatalf("opened %+v, %v; sealed %+v", got, ok, s)
	}
	rows := []struct {
		name  string
		value string
		at    time.Time
	}{
		{"expired at its expiry: the session is never extended", v, s.Expiry},
		{"another key", func() string { w, _ := testSessions(t, 8).seal(s); return w }(), testNow},
		{"truncated", v[:len(v)-2], testNow},
		{"empty", "", testNow},
		{"not base64url", strings.Repeat("!", 60), testNow},
		{"too long", strings.Repeat("A", maxSessionCookie+4), testNow},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if _, ok := ss.open(r.value, r.at); ok {
				t.Fatal("opened")
			}
		})
	}
	t.Run("every flipped byte is refused (AES-GCM)", func(t *testing.T) {
		raw, _ := base64.RawURLEncoding.DecodeString(v)
		for i := range raw {
			b := slices.Clone(raw)
			b[i] ^= 0x20
			if _, ok := ss.open(base64.RawURLEncoding.EncodeToString(b), testNow); ok {
				t.Fatalf("byte %d flipped and still opened", i)
			}
		}
	})
	t.Run("two sessions of one user have different ids", func(t *testing.T) {
		s2, _ := ss.newSession("u-1001", "alice", nil, testNow)
		if s2.ID == s.ID {
			t.Fatal("same session id")
		}
	})
	t.Run("fields out of range are refused when sealing", func(t *testing.T) {
		for _, bad := range []*session{
			{Subject: ""},
			{Subject: strings.Repeat("x", maxTicketField+1)},
			{Subject: "u", AMR: make([]string, maxAMR+1)},
			{Subject: "u", AMR: []string{strings.Repeat("m", 65)}},
		} {
			if _, err := ss.seal(bad); err == nil {
				t.Fatalf("sealed %+v", bad)
			}
		}
	})
}

// TestSessionCookieAttributes: the cookie is __Host-, Secure, HttpOnly,
// SameSite=Lax, Path=/ and lives as long as the session (SPEC §11).
func TestSessionCookieAttributes(t *testing.T) {
	ss := testSessions(t, 7)
	s, _ := ss.newSession("u-1", "alice", nil, testNow)
	c := sessionCookie("v", s, testNow.Add(time.Hour))
	for _, want := range []string{SessionCookieName + "=v;", "Path=/", "Max-Age=25200", "Secure", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(c, want) {
			t.Errorf("cookie %q lacks %q", c, want)
		}
	}
	if strings.Contains(c, "Domain") {
		t.Error("a __Host- cookie has no Domain (RFC 6265bis §4.1.3.2)")
	}
	if !strings.Contains(clearSessionCookie, "Max-Age=0") || !strings.HasPrefix(clearSessionCookie, SessionCookieName+"=;") {
		t.Errorf("clearing cookie %q", clearSessionCookie)
	}
}

// FuzzSessionCookie opens arbitrary session cookies: never a panic, and
// nothing but a session sealed under the key opens.
func FuzzSessionCookie(f *testing.F) {
	ss := testSessions(f, 9)
	s, err := ss.newSession("u-1", "alice", []string{"pwd"}, testNow)
	if err != nil {
		f.Fatal(err)
	}
	good, err := ss.seal(s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:40])
	f.Add("")
	f.Add(strings.Repeat("A", 80))
	f.Fuzz(func(t *testing.T, v string) {
		got, ok := ss.open(v, testNow)
		if !ok {
			return
		}
		// Only this target seals under key 9, always the same session
		// (each fuzzing process seals its own copy, with its own nonce).
		if got.Subject != "u-1" || got.Username != "alice" || !slices.Equal(got.AMR, []string{"pwd"}) {
			t.Fatalf("opened a cookie this test did not seal: %q (%+v)", v, got)
		}
	})
}

// FuzzDecodeSession decodes arbitrary plaintexts: never a panic, and a
// plaintext that decodes re-encodes to itself.
func FuzzDecodeSession(f *testing.F) {
	f.Add([]byte{sessionVersion})
	s := &session{Subject: "u", Username: "a", AMR: []string{"pwd"}, AuthTime: testNow, Expiry: testNow.Add(time.Hour)}
	pt := []byte{sessionVersion}
	pt = append(pt, s.ID[:]...)
	pt = append(pt, make([]byte, 16)...)
	pt = appendField(pt, s.Subject)
	pt = appendField(pt, s.Username)
	pt = append(pt, 1)
	pt = appendField(pt, "pwd")
	f.Add(pt)
	f.Fuzz(func(t *testing.T, pt []byte) {
		s, ok := decodeSession(pt)
		if !ok {
			return
		}
		if s.Subject == "" || len(s.Subject) > maxTicketField || len(s.AMR) > maxAMR {
			t.Fatalf("decoded %+v", s)
		}
	})
}
