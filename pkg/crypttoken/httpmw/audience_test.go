package httpmw_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/httpmw"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// ringOf returns a ring named name holding one fresh active key.
func ringOf(t *testing.T, name string) *keys.Ring {
	t.Helper()
	set, err := keys.NewSetFromPolicy(name, testNow.Add(-10*time.Minute), keys.Policy{RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return keys.NewRing(set)
}

func sealFor(t *testing.T, ring *keys.Ring, aud string) string {
	t.Helper()
	s, err := crypttoken.NewSealer(ring, crypttoken.WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Seal(crypttoken.TypeAccess, &crypttoken.Claims{Issuer: testIssuer, Subject: "u-1", Audience: []string{aud},
		Expiry: testNow.Add(time.Minute), ClientID: "webapp", Scope: "read"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call runs one request with token through h and returns the status, the
// challenge and what the error hook was told.
func call(t *testing.T, o *crypttoken.Opener, token string, opts ...httpmw.Option) (int, string, error) {
	t.Helper()
	var hookErr error
	h := httpmw.Require(o, append(opts, httpmw.WithErrorHook(func(_ *http.Request, err error) { hookErr = err }))...)(echo)
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("WWW-Authenticate"), hookErr
}

// TestAnotherAudience: a token sealed for another resource server (its
// own ring) is refused as such, as far as that can be told: the client
// reads that the token is for another audience or a key not loaded yet,
// and the hook gets ErrUnknownKey naming this ring.
func TestAnotherAudience(t *testing.T) {
	const billing = "https://billing.example.com"
	api, other := ringOf(t, testAudience), ringOf(t, billing)
	o, err := crypttoken.NewOpener(api, crypttoken.Expected{Issuer: testIssuer, Audience: testAudience, Time: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	// The same ring opened with the wrong audience expected: the claim
	// check says so.
	wrongAud, err := crypttoken.NewOpener(other, crypttoken.Expected{Issuer: testIssuer, Audience: testAudience, Time: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		o         *crypttoken.Opener
		token     string
		status    int
		challenge string
		hookErr   error
		hookText  string
	}{
		{name: "RFC 6750 §3.1 token of another audience's ring", o: o, token: sealFor(t, other, billing), status: 401,
			challenge: `Bearer error="invalid_token", error_description="the access token is not sealed with a key of this resource server: it is for another audience, or its key is not loaded yet"`,
			hookErr:   crypttoken.ErrUnknownKey, hookText: `is not in ring "https://api.example.com": the token was sealed for another audience`},
		{name: "RFC 9068 §4 aud claim of another audience", o: wrongAud, token: sealFor(t, other, billing), status: 401,
			challenge: `Bearer error="invalid_token", error_description="the access token is for another audience"`, hookErr: crypttoken.ErrAudience},
		{name: "this audience's token", o: o, token: sealFor(t, api, testAudience), status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, challenge, hookErr := call(t, tt.o, tt.token)
			if status != tt.status || challenge != tt.challenge {
				t.Fatalf("%d %q, want %d %q", status, challenge, tt.status, tt.challenge)
			}
			if tt.hookErr != nil && (!errors.Is(hookErr, tt.hookErr) || !strings.Contains(hookErr.Error(), tt.hookText)) {
				t.Fatalf("hook error %v, want %v containing %q", hookErr, tt.hookErr, tt.hookText)
			}
		})
	}
}

// TestRealm: the challenge is "Bearer" alone unless WithRealm sets a realm
// (RFC 6750 §3: realm is optional), as the package documentation says.
func TestRealm(t *testing.T) {
	_, o := setup(t)
	tests := []struct {
		name string
		opts []httpmw.Option
		want string
	}{
		{name: "RFC 6750 §3 no realm by default", want: "Bearer"},
		{name: "RFC 6750 §3 WithRealm", opts: []httpmw.Option{httpmw.WithRealm("orders")}, want: `Bearer realm="orders"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, challenge, _ := call(t, o, "", tt.opts...); status != 401 || challenge != tt.want {
				t.Fatalf("%d %q, want 401 %q", status, challenge, tt.want)
			}
		})
	}
}

// TestOpenerFollowsReloads: an Opener built on a Reloader's Ring opens
// with whatever set the Reloader last loaded: a token sealed with a key
// the file did not hold is refused until the file gains it and is
// reloaded, then admitted, with no new Opener and no restart.
func TestOpenerFollowsReloads(t *testing.T) {
	ring := ringOf(t, testAudience)
	path := filepath.Join(t.TempDir(), "api.jwks")
	write := func(set *keys.Set) {
		t.Helper()
		data, err := keys.ExportJWKS(set, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(ring.Load())
	ctx := context.Background()
	rl, err := keys.NewReloader(ctx, path, keys.WithRingName(testAudience))
	if err != nil {
		t.Fatal(err)
	}
	o, err := crypttoken.NewOpener(rl.Ring(), crypttoken.Expected{Issuer: testIssuer, Audience: testAudience, Time: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	// The issuer rotates: a new key seals; the resource server's file does
	// not hold it yet.
	next, err := keys.Rotate(ring.Load(), testNow.Add(-5*time.Minute), keys.Policy{RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ring.Store(next)
	tok := sealFor(t, ring, testAudience)
	if status, _, err := call(t, o, tok); status != 401 || !errors.Is(err, crypttoken.ErrUnknownKey) {
		t.Fatalf("before the reload: %d %v, want 401 ErrUnknownKey", status, err)
	}
	write(next)
	if changed, err := rl.Check(ctx); err != nil || !changed {
		t.Fatalf("Check: %v %v", changed, err)
	}
	if status, _, err := call(t, o, tok); status != 200 {
		t.Fatalf("after the reload: %d %v, want 200", status, err)
	}
}
