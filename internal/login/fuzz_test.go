package login

import (
	"strings"
	"testing"
	"time"
)

// FuzzCSRFVerify feeds arbitrary tokens and Cookie headers to the CSRF
// check: it must never panic, and only the token minted for the nonce and
// parameters verifies.
func FuzzCSRFVerify(f *testing.F) {
	c := &csrf{key: [32]byte{1}}
	n := nonce{2}
	params := [32]byte{3}
	good := c.mint(n, params, testNow.Add(time.Hour))
	f.Add(good, CookieName+"="+n.String())
	f.Add(good, "")
	f.Add("", CookieName+"="+n.String())
	f.Add("AAAA", "a=b; "+CookieName+"=\""+n.String()+"\"")
	f.Add(strings.Repeat("A", 54), CookieName+"="+strings.Repeat("A", 43))
	f.Fuzz(func(t *testing.T, token, cookieHeader string) {
		got, have := readNonce(cookieHeader)
		err := c.verify(token, got, have, params, testNow)
		if err == nil && (token != good || got != n) {
			t.Fatalf("verified token %q with cookie %q", token, cookieHeader)
		}
	})
}

// FuzzTicketOpen opens arbitrary tickets: never a panic, and nothing but a
// sealed ticket opens.
func FuzzTicketOpen(f *testing.F) {
	s, err := newSealer([32]byte{4})
	if err != nil {
		f.Fatal(err)
	}
	n := nonce{5}
	params := [32]byte{6}
	good, err := s.seal(&ticket{Subject: "u-1", ClientID: "webapp", Params: params, Browser: browserBinding(n), Expiry: testNow.Add(time.Minute)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("")
	f.Add(good[:len(good)-2])
	f.Add(strings.Repeat("A", 100))
	f.Add("====")
	f.Fuzz(func(t *testing.T, v string) {
		tk, err := s.open(v, "webapp", params, n, true, testNow)
		if err == nil && (tk.Subject != "u-1" || tk.ClientID != "webapp") {
			t.Fatalf("opened %q as %+v", v, tk)
		}
	})
}

// FuzzDecodeTicket parses arbitrary ticket plaintexts (what a key holder
// could seal): never a panic, and every decoded ticket has a bounded,
// non-empty subject.
func FuzzDecodeTicket(f *testing.F) {
	valid := append([]byte{ticketVersion}, make([]byte, 80)...)
	valid = append(valid, 0, 1, 'c', 0, 1, 's')
	f.Add(valid)
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(append(append([]byte(nil), valid[:81]...), 0xff, 0xff))
	f.Fuzz(func(t *testing.T, pt []byte) {
		tk, ok := decodeTicket(pt)
		if ok && (tk.Subject == "" || len(tk.Subject) > maxTicketField || len(tk.ClientID) > maxTicketField) {
			t.Fatalf("decoded %+v", tk)
		}
	})
}

// FuzzCookieValue scans arbitrary Cookie headers: never a panic, and a
// value found is a substring of the header.
func FuzzCookieValue(f *testing.F) {
	f.Add("a=1; b=2", "b")
	f.Add(`a="1"`, "a")
	f.Add(";;;=;", "")
	f.Add("a", "a")
	f.Fuzz(func(t *testing.T, header, name string) {
		v, ok := cookieValue(header, name)
		if ok && !strings.Contains(header, v) {
			t.Fatalf("cookieValue(%q, %q) = %q", header, name, v)
		}
	})
}

// FuzzDeviceCookie feeds arbitrary Cookie headers and user names to the
// device-cookie check: never a panic, and only the cookie minted for the
// user verifies, within its lifetime.
func FuzzDeviceCookie(f *testing.F) {
	d := &devices{key: [32]byte{7}, ttl: time.Hour}
	set := d.cookie("alice", testNow)
	good, _, _ := strings.Cut(set, ";")
	f.Add(good, "alice")
	f.Add(good, "bob")
	f.Add(good+"; "+CookieName+"=x", "alice")
	f.Add(DeviceCookieName+"="+strings.Repeat("A", 54), "alice")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, cookieHeader, user string) {
		if id := d.verify(cookieHeader, user, testNow); id != "" {
			if v, _ := cookieValue(cookieHeader, DeviceCookieName); v != strings.TrimPrefix(good, DeviceCookieName+"=") || user != "alice" {
				t.Fatalf("verified %q for %q", cookieHeader, user)
			}
		}
		if d.verify(cookieHeader, user, testNow.Add(2*time.Hour)) != "" {
			t.Fatalf("an expired cookie verified: %q", cookieHeader)
		}
	})
}
