package login

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

var testNow = time.Unix(1_800_000_000, 0)

func mustParams(t testing.TB, s string) endpoint.Params {
	t.Helper()
	p, e := endpoint.ParseParams(s)
	if e != nil {
		t.Fatal(e)
	}
	return p
}

func TestCSRFToken(t *testing.T) {
	c := &csrf{key: [32]byte{1, 2, 3}}
	n1, n2 := nonce{1}, nonce{2}
	pA := paramsHash(mustParams(t, "client_id=a&state=1"))
	pB := paramsHash(mustParams(t, "client_id=a&state=2"))
	tok := c.mint(n1, pA, testNow.Add(time.Hour))
	other := &csrf{key: [32]byte{9}}
	tests := []struct {
		name      string
		c         *csrf
		token     string
		n         nonce
		haveNonce bool
		params    [32]byte
		now       time.Time
		want      error
	}{
		{name: "valid", c: c, token: tok, n: n1, haveNonce: true, params: pA, now: testNow},
		{name: "valid until the last second", c: c, token: tok, n: n1, haveNonce: true, params: pA, now: testNow.Add(time.Hour - time.Second)},
		{name: "token missing", c: c, token: "", n: n1, haveNonce: true, params: pA, now: testNow, want: ErrCSRFMissing},
		{name: "cookie missing", c: c, token: tok, haveNonce: false, params: pA, now: testNow, want: ErrCSRFMissing},
		{name: "other browser's cookie", c: c, token: tok, n: n2, haveNonce: true, params: pA, now: testNow, want: ErrCSRFInvalid},
		{name: "replayed with other params", c: c, token: tok, n: n1, haveNonce: true, params: pB, now: testNow, want: ErrCSRFInvalid},
		{name: "other key (another replica)", c: other, token: tok, n: n1, haveNonce: true, params: pA, now: testNow, want: ErrCSRFInvalid},
		{name: "expired", c: c, token: tok, n: n1, haveNonce: true, params: pA, now: testNow.Add(time.Hour), want: ErrCSRFExpired},
		{name: "truncated", c: c, token: tok[:len(tok)-1], n: n1, haveNonce: true, params: pA, now: testNow, want: ErrCSRFInvalid},
		{name: "padded", c: c, token: tok + "=", n: n1, haveNonce: true, params: pA, now: testNow, want: ErrCSRFInvalid},
		{name: "not base64url", c: c, token: strings.Repeat("*", len(tok)), n: n1, haveNonce: true, params: pA, now: testNow, want: ErrCSRFInvalid},
		{name: "expiry extended by the client", c: c, token: extendExpiry(t, tok), n: n1, haveNonce: true, params: pA, now: testNow.Add(2 * time.Hour), want: ErrCSRFInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.verify(tt.token, tt.n, tt.haveNonce, tt.params, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// extendExpiry changes a token's expiry and keeps its MAC: character 8 of
// the base64url text encodes bits 48-53 of the big-endian expiry.
func extendExpiry(t *testing.T, tok string) string {
	t.Helper()
	b := []byte(tok)
	if b[8] == 'z' {
		b[8] = 'y'
	} else {
		b[8] = 'z'
	}
	return string(b)
}

func TestCookieValue(t *testing.T) {
	tests := []struct {
		name, header, cookie string
		want                 string
		ok                   bool
	}{
		{name: "only cookie", header: "a=1", cookie: "a", want: "1", ok: true},
		{name: "among others", header: "x=9; a=1; b=2", cookie: "a", want: "1", ok: true},
		{name: "no space", header: "x=9;a=1", cookie: "a", want: "1", ok: true},
		{name: "quoted", header: `a="1"`, cookie: "a", want: "1", ok: true},
		{name: "first of two", header: "a=1; a=2", cookie: "a", want: "1", ok: true},
		{name: "prefix of another name", header: "ab=1", cookie: "a"},
		{name: "absent", header: "b=1", cookie: "a"},
		{name: "empty header", header: "", cookie: "a"},
		{name: "no equals", header: "a", cookie: "a"},
		{name: "too long", header: "a=1; " + strings.Repeat("x", maxCookieHeader), cookie: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cookieValue(tt.header, tt.cookie)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("cookieValue = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNonceRoundTrip(t *testing.T) {
	n, err := newNonce()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := readNonce("other=1; " + CookieName + "=" + n.String())
	if !ok || got != n {
		t.Fatalf("readNonce = %x, %v", got, ok)
	}
	for _, bad := range []string{"", "short", n.String() + "A", strings.Repeat("*", len(n.String()))} {
		if _, ok := parseNonce(bad); ok {
			t.Errorf("parseNonce(%q) accepted", bad)
		}
	}
	if c := n.cookie(); !strings.HasPrefix(c, "__Host-") || !strings.Contains(c, "; Path=/; Secure; HttpOnly; SameSite=Lax") {
		t.Errorf("cookie %q", c)
	}
}

func TestTicket(t *testing.T) {
	s, err := newSealer([32]byte{7})
	if err != nil {
		t.Fatal(err)
	}
	n := nonce{3}
	params := paramsHash(mustParams(t, "client_id=webapp&state=x"))
	authTime := testNow.Add(-time.Second)
	tk, err := s.seal(&ticket{Subject: "u-1", AuthTime: authTime, ClientID: "webapp", Params: params,
		Browser: browserBinding(n), Expiry: testNow.Add(5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	noAuth, err := s.seal(&ticket{Subject: "u-2", ClientID: "webapp", Params: params,
		Browser: browserBinding(n), Expiry: testNow.Add(5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := newSealer([32]byte{8})
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name      string
		s         *sealer
		tk        string
		client    string
		params    [32]byte
		n         nonce
		haveNonce bool
		now       time.Time
		want      error
		wantSub   string
		wantAuth  time.Time
	}{
		{name: "valid", s: s, tk: tk, client: "webapp", params: params, n: n, haveNonce: true, now: testNow, wantSub: "u-1", wantAuth: authTime},
		{name: "valid without auth_time", s: s, tk: noAuth, client: "webapp", params: params, n: n, haveNonce: true, now: testNow, wantSub: "u-2"},
		{name: "other client", s: s, tk: tk, client: "other", params: params, n: n, haveNonce: true, now: testNow, want: ErrTicketInvalid},
		{name: "other request", s: s, tk: tk, client: "webapp", params: paramsHash(mustParams(t, "client_id=webapp&state=y")), n: n, haveNonce: true, now: testNow, want: ErrTicketInvalid},
		{name: "other browser", s: s, tk: tk, client: "webapp", params: params, n: nonce{4}, haveNonce: true, now: testNow, want: ErrTicketInvalid},
		{name: "no cookie", s: s, tk: tk, client: "webapp", params: params, now: testNow, want: ErrTicketInvalid},
		{name: "other key", s: otherKey, tk: tk, client: "webapp", params: params, n: n, haveNonce: true, now: testNow, want: ErrTicketInvalid},
		{name: "tampered ciphertext", s: s, tk: flip(tk, 30), client: "webapp", params: params, n: n, haveNonce: true, now: testNow, want: ErrTicketInvalid},
		{name: "tampered nonce", s: s, tk: flip(tk, 2), client: "webapp", params: params, n: n, haveNonce: true, now: testNow, want: ErrTicketInvalid},
		{name: "truncated", s: s, tk: tk[:20], client: "webapp", params: params, n: n, haveNonce: true, now: testNow, want: ErrTicketInvalid},
		{name: "empty", s: s, tk: "", client: "webapp", params: params, n: n, haveNonce: true, now: testNow, want: ErrTicketInvalid},
		{name: "too long", s: s, tk: strings.Repeat("A", maxTicketLen+1), client: "webapp", params: params, n: n, haveNonce: true, now: testNow, want: ErrTicketInvalid},
		{name: "expired", s: s, tk: tk, client: "webapp", params: params, n: n, haveNonce: true, now: testNow.Add(5 * time.Minute), want: ErrTicketExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.open(tt.tk, tt.client, tt.params, tt.n, tt.haveNonce, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("open = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if got.Subject != tt.wantSub || !got.AuthTime.Equal(tt.wantAuth) || got.ClientID != tt.client {
				t.Errorf("ticket %+v", got)
			}
		})
	}
	if strings.Contains(tk, "u-1") || strings.Contains(tk, "webapp") {
		t.Error("the ticket shows its content")
	}
	if _, err := s.seal(&ticket{Subject: ""}); err == nil {
		t.Error("sealed a ticket without subject")
	}
	if _, err := s.seal(&ticket{Subject: strings.Repeat("x", maxTicketField+1)}); err == nil {
		t.Error("sealed a ticket with an oversized subject")
	}
}

func TestDecodeTicket(t *testing.T) {
	head := make([]byte, 0, 100)
	head = append(head, ticketVersion)
	head = append(head, make([]byte, 8+8+32+32)...)
	head = append(head, 0, 1, 'c', 0, 1, 's') // client id "c", subject "s"
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	valid := cat(head, []byte{0, 0, 0})                                  // no session id, no amr
	withAMR := cat(head, []byte{0, 2, 's', 'i', 1, 0, 3, 'p', 'w', 'd'}) // sid "si", amr ["pwd"]
	tests := []struct {
		name string
		pt   []byte
		ok   bool
	}{
		{name: "valid", pt: valid, ok: true},
		{name: "valid with session id and amr", pt: withAMR, ok: true},
		{name: "other version", pt: append([]byte{1}, valid[1:]...)},
		{name: "empty", pt: nil},
		{name: "trailing byte", pt: append(append([]byte(nil), valid...), 0)},
		{name: "amr count missing", pt: valid[:len(valid)-1]},
		{name: "amr value cut", pt: withAMR[:len(withAMR)-1]},
		{name: "too many amr values", pt: cat(head, []byte{0, 0, maxAMR + 1})},
		{name: "subject cut", pt: head[:len(head)-1]},
		{name: "empty subject", pt: cat(head[:len(head)-3], []byte{0, 0, 0, 0, 0})},
		{name: "client length past end", pt: append(append([]byte(nil), valid[:81]...), 0xff, 0xff)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := decodeTicket(tt.pt); ok != tt.ok {
				t.Fatalf("decodeTicket ok = %v, want %v", ok, tt.ok)
			}
		})
	}
}

func TestParamsHash(t *testing.T) {
	base := paramsHash(mustParams(t, "client_id=a&scope=read+write&state=s"))
	tests := []struct {
		name  string
		query string
		same  bool
	}{
		{name: "same order", query: "client_id=a&scope=read+write&state=s", same: true},
		{name: "other order", query: "state=s&client_id=a&scope=read+write", same: true},
		{name: "login fields ignored", query: "client_id=a&scope=read+write&state=s&username=x&password=y&login_csrf=z&login_scope_0=read", same: true},
		{name: "empty value is omitted (RFC 6749 §3.1)", query: "client_id=a&scope=read+write&state=s&nonce=", same: true},
		{name: "value changed", query: "client_id=a&scope=read&state=s"},
		{name: "parameter added", query: "client_id=a&scope=read+write&state=s&prompt=none"},
		{name: "parameter removed", query: "client_id=a&scope=read+write"},
		{name: "boundary moved between name and value", query: "client_id=a&scope=read+write&states="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := paramsHash(mustParams(t, tt.query)) == base; got != tt.same {
				t.Fatalf("same hash = %v, want %v", got, tt.same)
			}
		})
	}
	if paramsHash(mustParams(t, "ab=c")) == paramsHash(mustParams(t, "a=bc")) {
		t.Error("length prefixes do not separate name and value")
	}
}

func TestHiddenFields(t *testing.T) {
	got := hiddenFields(mustParams(t, "state=s&password=p&client_id=c&username=u&login_ticket=t"))
	want := []hiddenField{{"state", "s"}, {"client_id", "c"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("hiddenFields = %v, want %v", got, want)
	}
}

func TestFormActionSource(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"https://app.example.com/callback", "https://app.example.com"},
		{"https://App.Example.com:8443/cb?x=1", "https://app.example.com:8443"},
		{"http://127.0.0.1:3000/cb", "http://127.0.0.1:3000"},
		{"com.example.app:/oauth2redirect", "com.example.app:"},
		{"https://[::1]:8443/cb", "https:"},
		{"https://xn--bcher-kva.example/cb", "https://xn--bcher-kva.example"},
		{"https://a;b.example/cb", "https:"},
		{"https://a b/cb", ""},
		{"/relative", ""},
		{"1http://x/cb", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			if got := formActionSource(tt.uri); got != tt.want {
				t.Fatalf("formActionSource(%q) = %q, want %q", tt.uri, got, tt.want)
			}
			if got := csp(formActionSource(tt.uri)); strings.Count(got, ";") != 4 || strings.ContainsAny(got, ",\r\n") {
				t.Fatalf("csp = %q: a directive was injected", got)
			}
		})
	}
}

func TestValidProxyUser(t *testing.T) {
	tests := []struct {
		v  string
		ok bool
	}{
		{"carol", true},
		{"carol@example.com", true},
		{"Zoë Ñandú", true},
		{"", false},
		{"a\nb", false},
		{"a\x7fb", false},
		{"\xff", false},
		{strings.Repeat("a", MaxUsernameLen), true},
		{strings.Repeat("a", MaxUsernameLen+1), false},
	}
	for _, tt := range tests {
		if got := validProxyUser(tt.v); got != tt.ok {
			t.Errorf("validProxyUser(%q) = %v, want %v", tt.v, got, tt.ok)
		}
	}
}

func TestCSSHashMatchesStyle(t *testing.T) {
	// The CSP admits the style element by hash: its text must be css
	// exactly as hashed.
	if !strings.Contains(layoutHTML, "<style>"+css+"</style>") {
		t.Fatal("the layout's style element is not css")
	}
	if !strings.HasPrefix(cssHash, "'sha256-") || len(cssHash) != len("'sha256-'")+44 {
		t.Fatalf("cssHash %q", cssHash)
	}
}
