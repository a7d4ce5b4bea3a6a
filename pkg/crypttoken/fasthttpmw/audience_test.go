package fasthttpmw_test

import (
	"errors"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/fasthttpmw"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// TestChallenges: the challenge is "Bearer" alone without WithRealm (RFC
// 6750 §3, as documented), and a token sealed for another audience's ring
// is refused with the description httpmw gives, the hook getting
// ErrUnknownKey.
func TestChallenges(t *testing.T) {
	_, o := setup(t)
	set, err := keys.NewSetFromPolicy("https://billing.example.com", testNow.Add(-time.Minute), keys.Policy{RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	other, err := crypttoken.NewSealer(keys.NewRing(set), crypttoken.WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	foreign := seal(t, other, crypttoken.TypeAccess, testNow.Add(time.Minute), "read")
	var hookErr error
	client := serve(t, fasthttpmw.Require(o, fasthttpmw.WithErrorHook(func(_ *fasthttp.RequestCtx, err error) { hookErr = err }))(echo))
	tests := []struct {
		name, auth, want string
		hookErr          error
	}{
		{name: "RFC 6750 §3 no token, no realm by default", want: "Bearer"},
		{name: "RFC 6750 §3.1 a token of another audience", auth: "Bearer " + foreign, hookErr: crypttoken.ErrUnknownKey,
			want: `Bearer error="invalid_token", error_description="the access token is not sealed with a key of this resource server: it is for another audience, or its key is not loaded yet"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hookErr = nil
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://api.test/r")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if err := client.Do(req, resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != 401 || string(resp.Header.Peek("WWW-Authenticate")) != tt.want {
				t.Fatalf("%d %q, want 401 %q", resp.StatusCode(), resp.Header.Peek("WWW-Authenticate"), tt.want)
			}
			if tt.hookErr != nil && !errors.Is(hookErr, tt.hookErr) {
				t.Fatalf("hook error %v, want %v", hookErr, tt.hookErr)
			}
		})
	}
}
