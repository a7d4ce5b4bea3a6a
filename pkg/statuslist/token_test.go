package statuslist_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testClock() time.Time { return testNow }

const testURI = "https://issuer.example.com/statuslists/r1.e1/0"

// testKey returns a fixed ES256 key: its signer and the key set that
// verifies it.
func testKey(t testing.TB, kid string, seed byte) (*ecdsa.PrivateKey, jws.Signer, *jws.KeySet) {
	t.Helper()
	d := make([]byte, 32)
	for i := range d {
		d[i] = seed + byte(i)
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.NewSigner(jws.ES256, priv, kid)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jws.NewPublicKey(&priv.PublicKey, kid, jws.ES256)
	if err != nil {
		t.Fatal(err)
	}
	set, err := jws.NewKeySet(k)
	if err != nil {
		t.Fatal(err)
	}
	return priv, s, set
}

// revokedList is a 1-bit list of 1024 entries with 3 and 1000 revoked.
func revokedList(t testing.TB) *statuslist.List {
	t.Helper()
	l, err := statuslist.New(1, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint64{3, 1000} {
		if err := l.Set(i, statuslist.Invalid); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func signList(t testing.TB, s jws.Signer, uri string, l *statuslist.List) string {
	t.Helper()
	tok, err := statuslist.Sign(s, &statuslist.Token{
		Subject: uri, Issuer: "https://issuer.example.com", IssuedAt: testNow,
		Expiry: testNow.Add(time.Minute), TTL: 30 * time.Second, List: l,
		AggregationURI: "https://issuer.example.com/statuslists",
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSignVerify(t *testing.T) {
	_, s, set := testKey(t, "sig-1", 1)
	tok := signList(t, s, testURI, revokedList(t))
	v, err := statuslist.NewVerifier(set, statuslist.WithClock(testClock), statuslist.WithIssuer("https://issuer.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(tok, testURI)
	if err != nil {
		t.Fatal(err)
	}
	if got.TTL != 30*time.Second || !got.Expiry.Equal(testNow.Add(time.Minute)) || !got.IssuedAt.Equal(testNow) ||
		got.Subject != testURI || got.AggregationURI != "https://issuer.example.com/statuslists" || got.List.Len() != 1024 {
		t.Fatalf("verified %+v", got)
	}
	for i := uint64(0); i < 1024; i++ {
		st, err := got.List.Get(i)
		want := statuslist.Valid
		if i == 3 || i == 1000 {
			want = statuslist.Invalid
		}
		if err != nil || st != want {
			t.Fatalf("status[%d] = %d, %v", i, st, err)
		}
	}
	if next := got.NextCheck(testNow, time.Second, time.Hour); !next.Equal(testNow.Add(30 * time.Second)) {
		t.Fatalf("NextCheck = %s", next)
	}
}

// TestDraftExampleToken: the draft's own Status List Token (§5.1, §8.2)
// verifies with the public half of its example key, and its list is the
// §4.1 example.
func TestDraftExampleToken(t *testing.T) {
	set, err := jws.ParseKeySet([]byte(`{"keys":[` + draftKeyJWK + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	v, err := statuslist.NewVerifier(set, statuslist.WithClock(func() time.Time { return time.Unix(1686920170+60, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(draftToken, "https://example.com/statuslists/1")
	if err != nil {
		t.Fatal(err)
	}
	if got.TTL != 43200*time.Second || got.Expiry.Unix() != 2291720170 || got.Issuer != "https://example.com" {
		t.Fatalf("verified %+v", got)
	}
	if b := got.List.Bytes(); len(b) != 2 || b[0] != 0xb9 || b[1] != 0xa3 {
		t.Fatalf("list bytes %x, want b9a3", b)
	}
	if _, err := v.Verify(draftToken, "https://example.com/statuslists/2"); !errors.Is(err, statuslist.ErrSubject) {
		t.Fatalf("another URI: %v, want ErrSubject", err)
	}
}

// TestGoJoseVerifiesListToken: go-jose verifies our Status List Token and
// reads the draft's claims from it.
func TestGoJoseVerifiesListToken(t *testing.T) {
	priv, s, _ := testKey(t, "sig-1", 1)
	tok := signList(t, s, testURI, revokedList(t))
	obj, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := obj.Verify(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if typ := obj.Signatures[0].Protected.ExtraHeaders[jose.HeaderType]; typ != "statuslist+jwt" {
		t.Fatalf("typ %v", typ)
	}
	var c struct {
		Sub        string
		Iat, Exp   int64
		TTL        float64
		StatusList struct {
			Bits int
			Lst  string
		} `json:"status_list"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	if c.Sub != testURI || c.Iat != testNow.Unix() || c.TTL != 30 || c.StatusList.Bits != 1 {
		t.Fatalf("go-jose read %+v", c)
	}
	if _, err := statuslist.Decode(c.StatusList.Bits, c.StatusList.Lst, 0); err != nil {
		t.Fatal(err)
	}
}

// craftList signs arbitrary claims as a Status List Token.
func craftList(t testing.TB, s jws.Signer, typ, claims string) string {
	t.Helper()
	tok, err := jws.Sign(s, jws.Protected{Type: typ}, []byte(claims))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestVerifyRules: draft §5.1 and §8.3, rule by rule.
func TestVerifyRules(t *testing.T) {
	_, s, set := testKey(t, "sig-1", 1)
	lst := revokedList(t).Encode()
	sl := `"status_list":{"bits":1,"lst":"` + lst + `"}`
	iat := `"iat":1772366400`
	sub := `"sub":"` + testURI + `"`
	hs, _ := jws.NewSigner(jws.HS256, []byte("0123456789abcdef0123456789abcdef"), "sig-1")
	tests := []struct {
		name  string
		token string
		opts  []statuslist.Option
		want  error
	}{
		{name: "draft §5.1: a minimal token", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`,`+sl+`}`)},
		{name: "draft §5.1: typ required", token: craftList(t, s, "", `{`+sub+`,`+iat+`,`+sl+`}`), want: jws.ErrType},
		{name: "draft §5.1: typ statuslist+jwt, not JWT", token: craftList(t, s, "JWT", `{`+sub+`,`+iat+`,`+sl+`}`), want: jws.ErrType},
		{name: "RFC 7515 §4.1.9: typ with application/ prefix", token: craftList(t, s, "application/statuslist+jwt", `{`+sub+`,`+iat+`,`+sl+`}`)},
		{name: "draft §5.1: sub required", token: craftList(t, s, "statuslist+jwt", `{`+iat+`,`+sl+`}`), want: jws.ErrMissingClaim},
		{name: "draft §8.3 step 4a: sub equal to the URI fetched", token: craftList(t, s, "statuslist+jwt", `{"sub":"https://issuer.example.com/statuslists/other",`+iat+`,`+sl+`}`), want: statuslist.ErrSubject},
		{name: "draft §5.1: iat required", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+sl+`}`), want: jws.ErrMissingClaim},
		{name: "draft §8.3 step 4c: exp past", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`,"exp":1772366400,`+sl+`}`), want: jws.ErrExpired},
		{name: "draft §5.1: exp optional", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`,`+sl+`}`)},
		{name: "RFC 7519 §4.1.6: iat in the future", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,"iat":1772366460,`+sl+`}`), want: jws.ErrIssuedInFuture},
		{name: "draft §8.3 step 4b: freshness policy on iat", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,"iat":1772366000,`+sl+`}`), opts: []statuslist.Option{statuslist.WithMaxAge(time.Minute)}, want: jws.ErrTooOld},
		{name: "draft §5.1: ttl positive", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`,"ttl":0,`+sl+`}`), want: statuslist.ErrMalformed},
		{name: "draft §5.1: ttl a number", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`,"ttl":"30",`+sl+`}`), want: statuslist.ErrMalformed},
		{name: "draft §11.5: ttl within reasonable bounds", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`,"ttl":1e12,`+sl+`}`), want: statuslist.ErrMalformed},
		{name: "draft §5.1: status_list required", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`}`), want: jws.ErrMissingClaim},
		{name: "draft §4.2: bits required", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`,"status_list":{"lst":"`+lst+`"}}`), want: statuslist.ErrMalformed},
		{name: "draft §4.2: bits 1, 2, 4 or 8", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`,"status_list":{"bits":3,"lst":"`+lst+`"}}`), want: statuslist.ErrBits},
		{name: "draft §4.2: lst required", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`,"status_list":{"bits":1}}`), want: statuslist.ErrMalformed},
		{name: "draft §4.2: lst base64url of ZLIB", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`,"status_list":{"bits":1,"lst":"AAAA"}}`), want: statuslist.ErrMalformed},
		{name: "draft §11.6: a MAC is refused unless allowed", token: craftList(t, hs, "statuslist+jwt", `{`+sub+`,`+iat+`,`+sl+`}`), want: jws.ErrAlgorithm},
		{name: "decompression bound", token: craftList(t, s, "statuslist+jwt", `{`+sub+`,`+iat+`,`+sl+`}`), opts: []statuslist.Option{statuslist.WithMaxBytes(64)}, want: statuslist.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := statuslist.NewVerifier(set, append([]statuslist.Option{statuslist.WithClock(testClock)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(tt.token, testURI)
			if tt.want == nil && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestAttackForgedLists: an attacker who wants a revoked token accepted
// again (a man in the middle, a compromised CDN, a malicious resource
// server of another audience) rewrites the list, replays another list's
// token, or signs a list with its own key. Each is refused with a typed
// error, and the genuine list, fetched next, is accepted with the
// revocation intact.
func TestAttackForgedLists(t *testing.T) {
	_, s, set := testKey(t, "sig-1", 1)
	_, attacker, _ := testKey(t, "sig-1", 99)
	v, err := statuslist.NewVerifier(set, statuslist.WithClock(testClock))
	if err != nil {
		t.Fatal(err)
	}
	genuine := signList(t, s, testURI, revokedList(t))

	// 1. Rewrite the list in the payload: every bit cleared.
	parts := strings.Split(genuine, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	clean, _ := statuslist.New(1, 1024)
	forgedPayload := strings.Replace(string(payload), revokedList(t).Encode(), clean.Encode(), 1)
	if forgedPayload == string(payload) {
		t.Fatal("the forgery changed nothing")
	}
	rewritten := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forgedPayload)) + "." + parts[2]
	if _, err := v.Verify(rewritten, testURI); !errors.Is(err, jws.ErrSignature) {
		t.Fatalf("rewritten list: %v, want ErrSignature", err)
	}
	// 2. Replay the (genuine, clean) list of another URI.
	other := signList(t, s, testURI+"-other", clean)
	if _, err := v.Verify(other, testURI); !errors.Is(err, statuslist.ErrSubject) {
		t.Fatalf("replayed list: %v, want ErrSubject", err)
	}
	// 3. Sign a clean list with the attacker's own key under our kid.
	own := signList(t, attacker, testURI, clean)
	if _, err := v.Verify(own, testURI); !errors.Is(err, jws.ErrSignature) {
		t.Fatalf("attacker-signed list: %v, want ErrSignature", err)
	}
	// The victim: the genuine list verifies, and index 3 is still revoked.
	got, err := v.Verify(genuine, testURI)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := got.List.Get(3); st != statuslist.Invalid {
		t.Fatal("the revocation was lost")
	}
}

func TestSignRefuses(t *testing.T) {
	_, s, _ := testKey(t, "sig-1", 1)
	l := revokedList(t)
	for _, tok := range []*statuslist.Token{
		{IssuedAt: testNow, List: l},
		{Subject: testURI, List: l},
		{Subject: testURI, IssuedAt: testNow},
		{Subject: testURI, IssuedAt: testNow, List: l, TTL: 1500 * time.Millisecond},
		{Subject: testURI, IssuedAt: testNow, List: l, Expiry: testNow},
	} {
		if _, err := statuslist.Sign(s, tok); !errors.Is(err, statuslist.ErrConfig) {
			t.Errorf("Sign(%+v): %v, want ErrConfig", tok, err)
		}
	}
}

func TestNextCheck(t *testing.T) {
	tests := []struct {
		name string
		tok  statuslist.Token
		want time.Duration
	}{
		{"draft §13.7: after ttl", statuslist.Token{TTL: 30 * time.Second}, 30 * time.Second},
		{"draft §11.5: ttl clamped below", statuslist.Token{TTL: time.Millisecond}, time.Second},
		{"draft §11.5: ttl clamped above", statuslist.Token{TTL: 24 * time.Hour}, time.Hour},
		{"draft §13.7: without ttl, at exp", statuslist.Token{Expiry: testNow.Add(10 * time.Minute)}, 10 * time.Minute},
		{"never after exp", statuslist.Token{TTL: 30 * time.Minute, Expiry: testNow.Add(10 * time.Minute)}, 10 * time.Minute},
		{"neither: the maximum", statuslist.Token{}, time.Hour},
	}
	for _, tt := range tests {
		if got := tt.tok.NextCheck(testNow, time.Second, time.Hour); !got.Equal(testNow.Add(tt.want)) {
			t.Errorf("%s: %s, want %s", tt.name, got.Sub(testNow), tt.want)
		}
	}
}

// TestVerifierOptions: the algorithm allow-list, the leeway and the size
// bound do what they say.
func TestVerifierOptions(t *testing.T) {
	_, s, set := testKey(t, "sig-1", 1)
	secret := []byte("0123456789abcdef0123456789abcdef")
	hs, _ := jws.NewSigner(jws.HS256, secret, "mac-1")
	macKey, _ := jws.NewHMACKey(secret, "mac-1")
	macTok := signList(t, hs, testURI, revokedList(t))
	v, err := statuslist.NewVerifier(macKey, statuslist.WithClock(testClock), statuslist.WithAlgorithms(jws.HS256))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(macTok, testURI); err != nil {
		t.Fatalf("draft §11.6: a MAC, when allowed: %v", err)
	}
	future := craftList(t, s, "statuslist+jwt", `{"sub":"`+testURI+`","iat":1772366420,"status_list":{"bits":1,"lst":"`+revokedList(t).Encode()+`"}}`)
	lenient, _ := statuslist.NewVerifier(set, statuslist.WithClock(testClock), statuslist.WithLeeway(30*time.Second))
	if _, err := lenient.Verify(future, testURI); err != nil {
		t.Fatalf("iat 20 s ahead with 30 s leeway: %v", err)
	}
	small, _ := statuslist.NewVerifier(set, statuslist.WithClock(testClock), statuslist.WithMaxSize(64))
	if _, err := small.Verify(future, testURI); !errors.Is(err, jws.ErrMalformed) {
		t.Fatalf("a token over the size bound: %v", err)
	}
	for _, o := range []statuslist.Option{statuslist.WithLeeway(-1), statuslist.WithMaxBytes(0), statuslist.WithMaxAge(-1), statuslist.WithClock(nil), statuslist.WithAlgorithms("none")} {
		if _, err := statuslist.NewVerifier(set, o); !errors.Is(err, statuslist.ErrConfig) {
			t.Errorf("bad option: %v", err)
		}
	}
}
