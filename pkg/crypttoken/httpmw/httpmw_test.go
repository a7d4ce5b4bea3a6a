package httpmw_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/httpmw"
	"github.com/sealedtoken/issuer/pkg/keys"
)

var testNow = time.Unix(1_700_000_000, 0)

const (
	testIssuer   = "https://issuer.example.com"
	testAudience = "https://api.example.com"
)

// setup returns a Sealer and an Opener on one ring, at testNow.
func setup(t testing.TB) (*crypttoken.Sealer, *crypttoken.Opener) {
	t.Helper()
	k, err := keys.NewKey("k1", keys.A256KW, []byte("0123456789abcdef0123456789abcdef"), keys.Lifecycle{
		Created: testNow.Add(-time.Hour), Activates: testNow.Add(-time.Hour),
		Retires: testNow.Add(time.Hour), Expires: testNow.Add(2 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.NewSet(testAudience, k)
	if err != nil {
		t.Fatal(err)
	}
	ring := keys.NewRing(set)
	clock := func() time.Time { return testNow }
	s, err := crypttoken.NewSealer(ring, crypttoken.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	o, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: testIssuer, Audience: testAudience, Time: clock})
	if err != nil {
		t.Fatal(err)
	}
	return s, o
}

func seal(t testing.TB, s *crypttoken.Sealer, typ crypttoken.Type, exp time.Time, scope string) string {
	t.Helper()
	tok, err := s.Seal(typ, &crypttoken.Claims{
		Issuer: testIssuer, Subject: "u-1", Audience: []string{testAudience},
		Expiry: exp, ClientID: "webapp", Scope: scope,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tamper changes one character of tok's ciphertext.
func tamper(tok string) string {
	b := []byte(tok)
	i := strings.LastIndexByte(tok, '.') - 10
	if b[i] == 'x' {
		b[i] = 'y'
	} else {
		b[i] = 'x'
	}
	return string(b)
}

// echo answers 200 with the subject and scope of the admitted token.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := httpmw.FromContext(r.Context())
	if !ok {
		http.Error(w, "no claims", http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(w, c.Subject+" "+c.Scope)
})

func TestRequire(t *testing.T) {
	s, o := setup(t)
	valid := seal(t, s, crypttoken.TypeAccess, testNow.Add(time.Minute), "read write")
	expired := seal(t, s, crypttoken.TypeAccess, testNow.Add(-time.Minute), "read")
	refresh := seal(t, s, crypttoken.TypeRefresh, testNow.Add(time.Minute), "read")
	tampered := tamper(valid)

	tests := []struct {
		name      string
		target    string
		auth      []string
		scopes    []string // when set: Require, RequireScope(scopes...), echo
		status    int
		challenge string
		body      string
		hookErr   error
	}{
		{name: "valid token (RFC 6750 §2.1)", auth: []string{"Bearer " + valid}, status: 200, body: "u-1 read write"},
		{name: "scheme in lower case (RFC 7235 §2.1)", auth: []string{"bearer " + valid}, status: 200, body: "u-1 read write"},
		{name: "scheme in upper case", auth: []string{"BEARER " + valid}, status: 200, body: "u-1 read write"},
		{name: "several spaces (1*SP)", auth: []string{"Bearer   " + valid}, status: 200, body: "u-1 read write"},
		{name: "no Authorization: no error code (RFC 6750 §3.1)", status: 401, challenge: `Bearer realm="api"`, hookErr: httpmw.ErrNoToken},
		{name: "Basic scheme is no bearer token", auth: []string{"Basic d2ViYXBwOnNlY3JldA=="}, status: 401, challenge: `Bearer realm="api"`, hookErr: httpmw.ErrNoToken},
		{name: "scheme prefix only", auth: []string{"Bearerabc"}, status: 401, challenge: `Bearer realm="api"`, hookErr: httpmw.ErrNoToken},
		{name: "Bearer without token", auth: []string{"Bearer"}, status: 400, challenge: `Bearer realm="api", error="invalid_request", error_description="malformed bearer credentials"`, hookErr: httpmw.ErrBadRequest},
		{name: "Bearer and spaces only", auth: []string{"Bearer   "}, status: 400, challenge: `Bearer realm="api", error="invalid_request", error_description="malformed bearer credentials"`, hookErr: httpmw.ErrBadRequest},
		{name: "two tokens", auth: []string{"Bearer " + valid + " " + valid}, status: 400, challenge: `Bearer realm="api", error="invalid_request", error_description="malformed bearer credentials"`, hookErr: httpmw.ErrBadRequest},
		{name: "not a b64token", auth: []string{"Bearer " + valid[:20] + `"` + valid[21:]}, status: 400, hookErr: httpmw.ErrBadRequest},
		{name: "padding inside a b64token", auth: []string{"Bearer ab=c"}, status: 400, hookErr: httpmw.ErrBadRequest},
		{name: "two Authorization fields", auth: []string{"Bearer " + valid, "Bearer " + valid}, status: 400, hookErr: httpmw.ErrBadRequest},
		{name: "token in the query (RFC 6750 §2.3, §5.3)", target: "/r?access_token=" + valid, status: 400, challenge: `Bearer realm="api", error="invalid_request", error_description="bearer tokens are accepted in the Authorization header only"`, hookErr: httpmw.ErrBadRequest},
		{name: "token in header and query", target: "/r?x=1&access_token=" + valid, auth: []string{"Bearer " + valid}, status: 400, hookErr: httpmw.ErrBadRequest},
		{name: "other query parameters are fine", target: "/r?q=access_token_count", auth: []string{"Bearer " + valid}, status: 200, body: "u-1 read write"},
		{name: "expired token", auth: []string{"Bearer " + expired}, status: 401, challenge: `Bearer realm="api", error="invalid_token", error_description="the access token expired"`, hookErr: crypttoken.ErrExpired},
		{name: "tampered token", auth: []string{"Bearer " + tampered}, status: 401, challenge: `Bearer realm="api", error="invalid_token", error_description="the access token is invalid"`, hookErr: crypttoken.ErrDecrypt},
		{name: "refresh token is not an access token", auth: []string{"Bearer " + refresh}, status: 401, hookErr: crypttoken.ErrType},
		{name: "garbage b64token", auth: []string{"Bearer abc"}, status: 401, hookErr: crypttoken.ErrMalformed},
		{name: "scope held", auth: []string{"Bearer " + valid}, scopes: []string{"write"}, status: 200, body: "u-1 read write"},
		{name: "all scopes held", auth: []string{"Bearer " + valid}, scopes: []string{"read", "write"}, status: 200, body: "u-1 read write"},
		{name: "scope missing (RFC 6750 §3.1)", auth: []string{"Bearer " + valid}, scopes: []string{"read", "admin"}, status: 403,
			challenge: `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="read admin"`, hookErr: httpmw.ErrInsufficientScope},
		{name: "scopes are case-sensitive", auth: []string{"Bearer " + valid}, scopes: []string{"READ"}, status: 403, hookErr: httpmw.ErrInsufficientScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hookErr error
			hooked := 0
			mw := httpmw.Require(o, httpmw.WithRealm("api"), httpmw.WithErrorHook(func(r *http.Request, err error) {
				hooked++
				hookErr = err
			}))
			h := mw(echo)
			if tt.scopes != nil {
				h = mw(httpmw.RequireScope(tt.scopes...)(echo))
			}
			target := tt.target
			if target == "" {
				target = "/r"
			}
			req := httptest.NewRequest(http.MethodGet, target, nil)
			for _, a := range tt.auth {
				req.Header.Add("Authorization", a)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", res.StatusCode, tt.status, body)
			}
			if tt.status == 200 {
				if string(body) != tt.body || hooked != 0 {
					t.Errorf("body = %q, hook called %d times", body, hooked)
				}
				return
			}
			got := res.Header.Get("WWW-Authenticate")
			if tt.challenge != "" && got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q\nwant %q", got, tt.challenge)
			}
			if !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", res.Header.Get("Cache-Control"))
			}
			if tt.status == 401 && !strings.Contains(got, "error=") {
				if len(body) != 0 {
					t.Errorf("body without error code: %q", body)
				}
			} else if !strings.HasPrefix(string(body), `{"error":"`) || res.Header.Get("Content-Type") != "application/json" {
				t.Errorf("body = %q, Content-Type %q", body, res.Header.Get("Content-Type"))
			}
			if hooked != 1 || !errors.Is(hookErr, tt.hookErr) {
				t.Errorf("hook called %d times with %v, want %v", hooked, hookErr, tt.hookErr)
			}
			// Never echo the token, nor any piece of it.
			for _, tok := range []string{valid, expired, refresh, tampered} {
				for _, p := range strings.Split(tok, ".") {
					if len(p) > 8 && (strings.Contains(string(body), p) || strings.Contains(got, p)) {
						t.Fatalf("response echoes the token")
					}
				}
			}
		})
	}
}

func TestRequireScopeWithoutRequire(t *testing.T) {
	rec := httptest.NewRecorder()
	httpmw.RequireScope("read")(echo).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("status %d, challenge %q: want a closed door", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestNewContext(t *testing.T) {
	c := &crypttoken.Claims{Subject: "u-9", Scope: "read"}
	ctx := httpmw.NewContext(context.Background(), c)
	if got, ok := httpmw.FromContext(ctx); !ok || got != c {
		t.Fatalf("FromContext = %v, %v", got, ok)
	}
	if _, ok := httpmw.FromContext(context.Background()); ok {
		t.Fatal("claims in an empty context")
	}
	rec := httptest.NewRecorder()
	httpmw.RequireScope("read")(echo).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	if rec.Code != 200 || rec.Body.String() != "u-9 read" {
		t.Fatalf("status %d body %q", rec.Code, rec.Body)
	}
}

func TestConstructionPanics(t *testing.T) {
	_, o := setup(t)
	tests := []struct {
		name string
		do   func()
	}{
		{name: "nil opener", do: func() { httpmw.Require(nil) }},
		{name: "nil option", do: func() { httpmw.Require(o, nil) }},
		{name: "realm with a quote", do: func() { httpmw.WithRealm(`a"b`) }},
		{name: "realm with a newline", do: func() { httpmw.WithRealm("a\nb") }},
		{name: "no scopes", do: func() { httpmw.RequireScope() }},
		{name: "empty scope", do: func() { httpmw.RequireScope("") }},
		{name: "scope with a space", do: func() { httpmw.RequireScope("a b") }},
		{name: "scope with a backslash", do: func() { httpmw.RequireScope(`a\b`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.do()
		})
	}
}
