package httpmw_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/httpmw"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

const listURI = "https://issuer.example.com/statuslists/1"

// statusSource is a StatusSource holding one list, with index 1 revoked.
type statusSource struct {
	lists   *statuslist.Lists
	missing atomic.Int32
}

func (s *statusSource) StatusLists() *statuslist.Lists { return s.lists }
func (s *statusSource) Missing(string)                 { s.missing.Add(1) }

func newStatusSource(t *testing.T) *statusSource {
	t.Helper()
	l, err := statuslist.New(1, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Set(1, statuslist.Invalid); err != nil {
		t.Fatal(err)
	}
	lists, err := statuslist.NewLists(statuslist.Limits{}).With(listURI, l)
	if err != nil {
		t.Fatal(err)
	}
	return &statusSource{lists: lists}
}

// TestRequireStatus: an Opener made WithStatus is all the middleware
// needs. A revoked token is RFC 6750 §3.1 invalid_token; a token whose
// list is not known yet is a 503 with Retry-After (no challenge: the
// credentials are not at fault); the others pass.
func TestRequireStatus(t *testing.T) {
	k, err := keys.NewKey("k1", keys.A256KW, []byte("0123456789abcdef0123456789abcdef"), keys.Lifecycle{
		Created: testNow.Add(-time.Hour), Activates: testNow.Add(-time.Hour),
		Retires: testNow.Add(time.Hour), Expires: testNow.Add(2 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := keys.NewSet(testAudience, k)
	ring := keys.NewRing(set)
	clock := func() time.Time { return testNow }
	s, _ := crypttoken.NewSealer(ring, crypttoken.WithClock(clock))
	src := newStatusSource(t)
	o, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: testIssuer, Audience: testAudience, Time: clock},
		crypttoken.WithStatus(src, crypttoken.StatusPolicy{RequireStatus: true}))
	if err != nil {
		t.Fatal(err)
	}
	token := func(uri string, idx uint64) string {
		tok, err := s.Seal(crypttoken.TypeAccess, &crypttoken.Claims{
			Issuer: testIssuer, Subject: "u-1", Audience: []string{testAudience}, Expiry: testNow.Add(time.Minute),
			Scope: "read", Status: crypttoken.StatusRef{Index: idx, URI: uri},
		})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	var hooked error
	h := httpmw.Require(o, httpmw.WithRealm("api"), httpmw.WithErrorHook(func(_ *http.Request, err error) { hooked = err }))(echo)

	tests := []struct {
		name       string
		token      string
		status     int
		challenge  string
		retryAfter string
		hook       error
	}{
		{name: "valid entry", token: token(listURI, 0), status: 200},
		{name: "revoked entry: invalid_token", token: token(listURI, 1), status: 401,
			challenge: `Bearer realm="api", error="invalid_token", error_description="the access token was revoked"`, hook: crypttoken.ErrRevoked},
		{name: "list not known yet: 503 and Retry-After", token: token("https://issuer.example.com/statuslists/2", 0), status: 503,
			retryAfter: "1", hook: crypttoken.ErrStatusUnknown},
		{name: "no status claim, with RequireStatus", token: seal(t, s, crypttoken.TypeAccess, testNow.Add(time.Minute), "read"), status: 401,
			challenge: `Bearer realm="api", error="invalid_token", error_description="the access token carries no revocation status"`, hook: crypttoken.ErrNoStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hooked = nil
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("challenge %q, want %q", got, tt.challenge)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if (tt.hook == nil) != (hooked == nil) || (tt.hook != nil && !errors.Is(hooked, tt.hook)) {
				t.Errorf("hook told %v, want %v", hooked, tt.hook)
			}
		})
	}
	if src.missing.Load() != 1 {
		t.Errorf("source told of %d missing lists, want 1", src.missing.Load())
	}
}
