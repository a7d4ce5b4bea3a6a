package fasthttpmw_test

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/fasthttpmw"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

type statusSource struct{ lists *statuslist.Lists }

func (s *statusSource) StatusLists() *statuslist.Lists { return s.lists }
func (s *statusSource) Missing(string)                 {}

// TestRequireStatus: the fasthttp middleware answers a revoked token as
// RFC 6750 §3.1 invalid_token and a token whose status list is not known
// yet with 503 and Retry-After, like httpmw.
func TestRequireStatus(t *testing.T) {
	const uri = "https://issuer.example.com/statuslists/1"
	l, _ := statuslist.New(1, 64)
	if err := l.Set(1, statuslist.Invalid); err != nil {
		t.Fatal(err)
	}
	lists, err := statuslist.NewLists(statuslist.Limits{}).With(uri, l)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.NewKey("k1", keys.Direct, []byte("0123456789abcdef0123456789abcdef"), keys.Lifecycle{
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
	o, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: testIssuer, Audience: testAudience, Time: clock},
		crypttoken.WithStatus(&statusSource{lists: lists}, crypttoken.StatusPolicy{}))
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
	client := serve(t, fasthttpmw.Require(o, fasthttpmw.WithRealm("api"))(echo))
	tests := []struct {
		name       string
		token      string
		status     int
		challenge  string
		retryAfter string
	}{
		{name: "valid entry", token: token(uri, 0), status: 200},
		{name: "revoked entry: invalid_token", token: token(uri, 1), status: 401,
			challenge: `Bearer realm="api", error="invalid_token", error_description="the access token was revoked"`},
		{name: "list not known yet: 503 and Retry-After", token: token(uri+"x", 0), status: 503, retryAfter: "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://api.test/")
			req.Header.Set("Authorization", "Bearer "+tt.token)
			if err := client.Do(req, resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode(), tt.status, resp.Body())
			}
			if got := string(resp.Header.Peek("WWW-Authenticate")); got != tt.challenge {
				t.Errorf("challenge %q, want %q", got, tt.challenge)
			}
			if got := string(resp.Header.Peek("Retry-After")); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
		})
	}
}
