package endpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// grantCase is one rule of a §12 conformance table: call drives the
// fixture and returns the response under test; status and code are
// checked on it, then check, if set.
type grantCase struct {
	name   string
	opts   []endpoint.Option
	call   func(t *testing.T, g *grantsFixture) *endpoint.Response
	status int
	code   endpoint.ErrorCode
	check  func(t *testing.T, g *grantsFixture, resp *endpoint.Response)
}

func runGrantCases(t *testing.T, cases []grantCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGrantsFixture(t, tc.opts...)
			resp := tc.call(t, g)
			require.Equal(t, tc.status, resp.Status, "body %s", resp.Body)
			if tc.code != "" {
				assert.Equal(t, tc.code, errCode(t, resp), "body %s", resp.Body)
			}
			if resp.Status != 302 && !strings.HasPrefix(hdr(resp, "Content-Type"), "text/html") {
				// RFC 6749 §5.1, §5.2; RFC 8628 §3.2; RFC 9126 §2.2:
				// every JSON answer is uncacheable.
				assert.Equal(t, "no-store", hdr(resp, "Cache-Control"))
			}
			if tc.check != nil {
				tc.check(t, g, resp)
			}
		})
	}
}

var userCodeRE = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestDeviceConformance(t *testing.T) {
	pollWith := func(client string, auth reqOpt) func(*testing.T, *grantsFixture) *endpoint.Response {
		return func(t *testing.T, g *grantsFixture) *endpoint.Response {
			d := g.startDevice()
			g.approve(d.UserCode)
			return g.token(form("grant_type", string(endpoint.GrantDeviceCode), "device_code", d.DeviceCode, "client_id", client), auth)
		}
	}
	cases := []grantCase{
		// ---- RFC 8628 §3.1, §3.2: the device authorization endpoint ----
		{
			name: "RFC 8628 §3.2 a public client gets device_code, user_code, verification URIs, expires_in and interval",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.deviceAuthorization(form("client_id", "tv", "scope", "read"))
			},
			status: 200,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				var d device
				require.NoError(t, json.Unmarshal(resp.Body, &d))
				assert.Regexp(t, userCodeRE, d.UserCode, "RFC 8628 §6.1 base-20 alphabet, XXXX-XXXX")
				assert.Equal(t, testIssuer+"/device", d.VerificationURI)
				assert.Equal(t, testIssuer+"/device?user_code="+d.UserCode, d.VerificationURIComplete)
				assert.Equal(t, 600, d.ExpiresIn)
				assert.Equal(t, 5, d.Interval)
				assert.Greater(t, len(d.DeviceCode), 100, "a sealed device code")
				assert.Equal(t, "application/json;charset=UTF-8", hdr(resp, "Content-Type"))
			},
		},
		{
			name: "RFC 8628 §3.1 the endpoint accepts POST only",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.deviceAuthorization(form("client_id", "tv"), method("GET"))
			},
			status: 405, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8628 §3.1 with RFC 6749 §3.2 TLS is required",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.deviceAuthorization(form("client_id", "tv"), insecure())
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8628 §3.1 an unknown client is invalid_client",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.deviceAuthorization(form("client_id", "no-such-tv"))
			},
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name: "RFC 8628 §3.1 a confidential client authenticates as at the token endpoint",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.deviceAuthorization(form("client_id", "tv-conf"))
			},
			status: 401, code: endpoint.InvalidClient,
		},
		{
			name: "RFC 8628 §3.1 a confidential client with its secret is served",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.deviceAuthorization("", basic("tv-conf", tvSecret))
			},
			status: 200,
		},
		{
			name: "RFC 8628 §3.1 a client without the device_code grant is unauthorized_client",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.deviceAuthorization("", basic("backend", backendSecret))
			},
			status: 400, code: endpoint.UnauthorizedClient,
		},
		{
			name: "RFC 8628 §3.1 with RFC 6749 §3.3 a scope the client may not have is invalid_scope",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.deviceAuthorization(form("client_id", "tv", "scope", "read admin"))
			},
			status: 400, code: endpoint.InvalidScope,
		},
		{
			name: "RFC 8628 §3.1 with RFC 8707 §2 a resource the client may not reach is invalid_target",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.deviceAuthorization(form("client_id", "tv", "resource", otherAud))
			},
			status: 400, code: endpoint.InvalidTarget,
		},
		// ---- RFC 8628 §3.4, §3.5: polling ----
		{
			name: "RFC 8628 §3.5 before the user decides: authorization_pending",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.poll(g.startDevice().DeviceCode)
			},
			status: 400, code: endpoint.AuthorizationPending,
		},
		{
			name: "RFC 8628 §3.4 device_code is required",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.token(form("grant_type", string(endpoint.GrantDeviceCode), "client_id", "tv"))
			},
			status: 400, code: endpoint.InvalidRequest,
		},
		{
			name: "RFC 8628 §3.5 an unknown device code is invalid_grant",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.poll("GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS")
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 8725 §3.11 an authorization code is not a device code (typ)",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				return g.poll(g.code("tv"))
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 8725 §3.11 a device code is not an authorization code (typ)",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				d := g.startDevice()
				g.approve(d.UserCode)
				return g.token(form("grant_type", "authorization_code", "code", d.DeviceCode,
					"redirect_uri", webRedirect, "code_verifier", verifierS256), webAuth)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 8628 §3.4 a device code of another client is invalid_grant",
			call:   pollWith("tv-conf", basic("tv-conf", tvSecret)),
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name:   "RFC 8628 §3.4 the client must have the device_code grant",
			call:   pollWith("backend", basic("backend", backendSecret)),
			status: 400, code: endpoint.UnauthorizedClient,
		},
		{
			name:   "RFC 8628 §3.5 once approved the device gets tokens for the approving user",
			call:   pollWith("tv", nil),
			status: 200,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				tk := mustTokens(t, resp)
				c := g.claimsOf(apiAud, tk.Access)
				assert.Equal(t, userID, c.Subject)
				assert.Equal(t, "tv", c.ClientID)
				assert.Equal(t, "profile read", c.Scope, "the default scope")
				assert.Equal(t, g.clock.Now().Add(-time.Minute).Unix(), c.AuthTime.Unix())
				assert.NotEmpty(t, tk.Refresh, "tv has the refresh_token grant")
				assert.Equal(t, "profile read", tk.Scope)
				// The refresh token works like any other.
				r := mustTokens(t, g.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh, "client_id", "tv")))
				assert.Equal(t, userID, g.claimsOf(apiAud, r.Access).Subject)
			},
		},
		{
			name: "RFC 8628 §3.5 a client without the refresh_token grant gets no refresh token",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				resp := g.deviceAuthorization("", basic("tv-conf", tvSecret))
				var d device
				require.NoError(t, json.Unmarshal(resp.Body, &d))
				g.approve(d.UserCode)
				return g.token(form("grant_type", string(endpoint.GrantDeviceCode), "device_code", d.DeviceCode), basic("tv-conf", tvSecret))
			},
			status: 200,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Empty(t, mustTokens(t, resp).Refresh)
			},
		},
		{
			name: "RFC 8628 §3.5 polling after success is invalid_grant: tokens are issued once",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				d := g.startDevice()
				g.approve(d.UserCode)
				mustTokens(t, g.poll(d.DeviceCode))
				g.clock.Advance(5 * time.Second)
				return g.poll(d.DeviceCode)
			},
			status: 400, code: endpoint.InvalidGrant,
		},
		{
			name: "RFC 8628 §3.5 the user denied: access_denied, and it stays so",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				d := g.startDevice()
				require.NoError(t, g.decide(d.UserCode, endpoint.DeviceDecision{Deny: true}))
				assert.Equal(t, endpoint.AccessDenied, errCode(t, g.poll(d.DeviceCode)))
				g.clock.Advance(5 * time.Second)
				return g.poll(d.DeviceCode)
			},
			status: 400, code: endpoint.AccessDenied,
		},
		{
			name: "RFC 8628 §3.5 consent to no scope is a denial",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				d := g.startDevice()
				require.NoError(t, g.decide(d.UserCode, endpoint.DeviceDecision{Subject: userID, Scopes: []string{}}))
				return g.poll(d.DeviceCode)
			},
			status: 400, code: endpoint.AccessDenied,
		},
		{
			name: "RFC 8628 §3.3 with RFC 6749 §3.3 the user may narrow the scope",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				d := g.startDevice("scope", "read write")
				require.NoError(t, g.decide(d.UserCode, endpoint.DeviceDecision{Subject: userID, Scopes: []string{"read"}}))
				return g.poll(d.DeviceCode)
			},
			status: 200,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Equal(t, "read", mustTokens(t, resp).Scope)
			},
		},
		{
			name: "RFC 8628 §3.5 polling faster than the interval is slow_down, and the longer interval is remembered",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				d := g.startDevice()
				assert.Equal(t, endpoint.AuthorizationPending, errCode(t, g.poll(d.DeviceCode)))
				g.clock.Advance(time.Second)
				resp := g.poll(d.DeviceCode)
				assert.Equal(t, endpoint.SlowDown, errCode(t, resp))
				assert.Contains(t, body(t, resp)["error_description"], "10 seconds")
				// 6 seconds after the last accepted poll: enough for the
				// old interval, accepted, and the new interval starts.
				g.clock.Advance(5 * time.Second)
				assert.Equal(t, endpoint.AuthorizationPending, errCode(t, g.poll(d.DeviceCode)))
				// 6 seconds later again: the 5-second interval would
				// allow it; the remembered 10-second one does not.
				g.clock.Advance(6 * time.Second)
				return g.poll(d.DeviceCode)
			},
			status: 400, code: endpoint.SlowDown,
			check: func(t *testing.T, g *grantsFixture, resp *endpoint.Response) {
				assert.Contains(t, body(t, resp)["error_description"], "15 seconds")
			},
		},
		{
			name: "RFC 8628 §3.5 a device that keeps its interval is never told to slow down",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				d := g.startDevice()
				for range 5 {
					assert.Equal(t, endpoint.AuthorizationPending, errCode(t, g.poll(d.DeviceCode)))
					g.clock.Advance(5 * time.Second)
				}
				g.approve(d.UserCode)
				return g.poll(d.DeviceCode)
			},
			status: 200,
		},
		{
			name: "RFC 8628 §3.5 after expires_in the device code is expired_token",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				d := g.startDevice()
				g.approve(d.UserCode)
				g.clock.Advance(10*time.Minute + time.Second)
				return g.poll(d.DeviceCode)
			},
			status: 400, code: endpoint.ExpiredToken,
		},
		{
			name: "RFC 8628 §3.5 long after expires_in (beyond the leeway) too",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				d := g.startDevice()
				g.clock.Advance(time.Hour)
				return g.poll(d.DeviceCode)
			},
			status: 400, code: endpoint.ExpiredToken,
		},
		{
			name: "RFC 8628 §3.2 tokens.device_code_ttl sets expires_in",
			opts: []endpoint.Option{endpoint.WithDeviceCodeLifetime(30 * time.Second)},
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				d := g.startDevice()
				assert.Equal(t, 30, d.ExpiresIn)
				g.clock.Advance(31 * time.Second)
				return g.poll(d.DeviceCode)
			},
			status: 400, code: endpoint.ExpiredToken,
		},
		{
			name: "RFC 8707 §2.2 a resource at polling must be the one authorized",
			call: func(t *testing.T, g *grantsFixture) *endpoint.Response {
				d := g.startDevice()
				g.approve(d.UserCode)
				return g.poll(d.DeviceCode+"", func(r *endpoint.Request) {
					r.Body = append(r.Body, "&resource="+url.QueryEscape(otherAud)...)
				})
			},
			status: 400, code: endpoint.InvalidTarget,
		},
	}
	runGrantCases(t, cases)
}

// TestDeviceUserCodes: the verification page's side (RFC 8628 §3.3, §6.1).
func TestDeviceUserCodes(t *testing.T) {
	ctx := context.Background()
	t.Run("RFC 8628 §6.1 compared ignoring case, dashes and spaces", func(t *testing.T) {
		g := newGrantsFixture(t)
		d := g.startDevice()
		norm := strings.ReplaceAll(d.UserCode, "-", "")
		for _, typed := range []string{d.UserCode, strings.ToLower(d.UserCode), norm, strings.ToLower(norm[:4]) + " " + norm[4:], " " + d.UserCode + " "} {
			dr, err := g.srv.LookupUserCode(ctx, verifyPage("192.0.2.10"), typed)
			require.NoError(t, err, typed)
			assert.Equal(t, d.UserCode, dr.UserCode)
			assert.Equal(t, "tv", dr.Client.ID)
			assert.Equal(t, []string{"profile", "read"}, dr.Scopes)
			assert.Equal(t, apiAud, dr.Audience)
		}
	})
	t.Run("RFC 8628 §6.1 a code outside the alphabet is no code", func(t *testing.T) {
		g := newGrantsFixture(t)
		for _, typed := range []string{"", "AAAA-AAAA", "BCDF-GHJ", "BCDF-GHJKL", "BCDF-GHJ1", "BCDF–GHJK"} {
			_, err := g.srv.LookupUserCode(ctx, verifyPage("192.0.2.10"), typed)
			assert.ErrorIs(t, err, endpoint.ErrUserCode, typed)
		}
	})
	t.Run("RFC 8628 §3.3 an expired user code is refused", func(t *testing.T) {
		g := newGrantsFixture(t)
		d := g.startDevice()
		g.clock.Advance(10*time.Minute + time.Second)
		_, err := g.srv.LookupUserCode(ctx, verifyPage("192.0.2.10"), d.UserCode)
		assert.ErrorIs(t, err, endpoint.ErrUserCode)
	})
	t.Run("RFC 8628 §3.3 approval by another user: the code is decided once, the first user's tokens stand", func(t *testing.T) {
		g := newGrantsFixture(t)
		d := g.startDevice()
		alice, err := g.srv.LookupUserCode(ctx, verifyPage("192.0.2.10"), d.UserCode)
		require.NoError(t, err)
		mallory, err := g.srv.LookupUserCode(ctx, verifyPage("203.0.113.66"), d.UserCode)
		require.NoError(t, err)
		require.NoError(t, g.srv.DecideDevice(ctx, alice, endpoint.DeviceDecision{Subject: userID}))
		assert.ErrorIs(t, g.srv.DecideDevice(ctx, mallory, endpoint.DeviceDecision{Subject: "u-mallory"}), endpoint.ErrUserCode)
		assert.ErrorIs(t, g.srv.DecideDevice(ctx, mallory, endpoint.DeviceDecision{Deny: true}), endpoint.ErrUserCode)
		_, err = g.srv.LookupUserCode(ctx, verifyPage("203.0.113.66"), d.UserCode)
		assert.ErrorIs(t, err, endpoint.ErrUserCode, "a decided code is gone")
		assert.Equal(t, userID, g.claimsOf(apiAud, mustTokens(t, g.poll(d.DeviceCode)).Access).Subject)
	})
	t.Run("RFC 8628 §3.3 a DeviceRequest not from LookupUserCode is refused", func(t *testing.T) {
		g := newGrantsFixture(t)
		d := g.startDevice()
		err := g.srv.DecideDevice(ctx, &endpoint.DeviceRequest{UserCode: d.UserCode}, endpoint.DeviceDecision{Subject: userID})
		require.Error(t, err)
		assert.Equal(t, endpoint.AuthorizationPending, errCode(t, g.poll(d.DeviceCode)))
	})
	t.Run("RFC 8628 §6.1 user codes are distinct and uniform", func(t *testing.T) {
		g := newGrantsFixture(t, endpoint.WithClientQuota(10000, time.Minute))
		seen := map[string]bool{}
		counts := map[rune]int{}
		for range 400 {
			d := g.startDevice()
			require.Regexp(t, userCodeRE, d.UserCode)
			require.False(t, seen[d.UserCode], "user code issued twice while live")
			seen[d.UserCode] = true
			for _, r := range strings.ReplaceAll(d.UserCode, "-", "") {
				counts[r]++
			}
		}
		// 3200 letters over 20: about 160 each; every letter is used and
		// none dominates (a generous bound that a biased generator fails).
		require.Len(t, counts, len(endpoint.UserCodeAlphabet))
		for r, n := range counts {
			assert.Greater(t, n, 90, "letter %c", r)
			assert.Less(t, n, 240, "letter %c", r)
		}
	})
	t.Run("RFC 8628 §3.2 a public client's device requests count per address against the write quota", func(t *testing.T) {
		g := newGrantsFixture(t, endpoint.WithClientQuota(3, time.Minute))
		for range 3 {
			require.Equal(t, 200, g.deviceAuthorization(form("client_id", "tv"), fromAddr("203.0.113.9")).Status)
		}
		resp := g.deviceAuthorization(form("client_id", "tv"), fromAddr("203.0.113.9"))
		assert.Equal(t, 429, resp.Status)
		assert.NotEmpty(t, hdr(resp, "Retry-After"))
		// Another address, a real user's TV, is not affected.
		assert.Equal(t, 200, g.deviceAuthorization(form("client_id", "tv"), fromAddr("198.51.100.20")).Status)
	})
}

// TestDeviceUserCodeGuessing attacks the verification page as RFC 8628
// §5.1 fears: a flood of guesses from one address, then guesses spread over
// many addresses. The attacker is throttled, and the victim's code still
// works.
func TestDeviceUserCodeGuessing(t *testing.T) {
	ctx := context.Background()
	t.Run("a flood from one address blocks that address only", func(t *testing.T) {
		g := newGrantsFixture(t)
		victim := g.startDevice()
		var throttled, wrong int
		for i := range 500 {
			guess := fmt.Sprintf("BCDF%04d", i)
			guess = strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return rune(endpoint.UserCodeAlphabet[r-'0'+5])
				}
				return r
			}, guess)
			_, err := g.srv.LookupUserCode(ctx, verifyPage("203.0.113.66"), guess)
			var te *secret.ThrottledError
			switch {
			case errors.As(err, &te):
				throttled++
				assert.Positive(t, te.RetryAfter)
				assert.ErrorIs(t, err, secret.ErrThrottled)
			case errors.Is(err, endpoint.ErrUserCode):
				wrong++
			default:
				t.Fatalf("guess %s: %v", guess, err)
			}
		}
		assert.Equal(t, 10, wrong, "the per-address bound: 10 guesses reach the store")
		assert.Equal(t, 490, throttled)
		// The attacker's address stays blocked even for the right code.
		_, err := g.srv.LookupUserCode(ctx, verifyPage("203.0.113.66"), victim.UserCode)
		assert.ErrorIs(t, err, secret.ErrThrottled)
		// The victim, from their own address, gets through at once.
		dr, err := g.srv.LookupUserCode(ctx, verifyPage("198.51.100.20"), victim.UserCode)
		require.NoError(t, err)
		require.NoError(t, g.srv.DecideDevice(ctx, dr, endpoint.DeviceDecision{Subject: userID}))
		assert.Equal(t, userID, g.claimsOf(apiAud, mustTokens(t, g.poll(victim.DeviceCode)).Access).Subject)
	})
	t.Run("IPv6 guesses count per /64", func(t *testing.T) {
		g := newGrantsFixture(t)
		for i := range 10 {
			_, err := g.srv.LookupUserCode(ctx, verifyPage(fmt.Sprintf("2001:db8:1:2::%x", i+1)), "BCDFGHJK")
			require.ErrorIs(t, err, endpoint.ErrUserCode)
		}
		_, err := g.srv.LookupUserCode(ctx, verifyPage("2001:db8:1:2::ffff"), "BCDFGHJK")
		assert.ErrorIs(t, err, secret.ErrThrottled)
		_, err = g.srv.LookupUserCode(ctx, verifyPage("2001:db8:1:3::1"), "BCDFGHJK")
		assert.ErrorIs(t, err, endpoint.ErrUserCode, "another /64")
	})
	t.Run("guesses spread over many addresses meet the global bound, which lifts", func(t *testing.T) {
		perAddr := secret.NewLimiter(secret.LimiterConfig{Threshold: 10, Window: 10 * time.Minute, Block: 10 * time.Minute})
		global := secret.NewLimiter(secret.LimiterConfig{Threshold: 50, Window: time.Minute, Block: time.Minute, MaxBlock: time.Minute})
		g := newGrantsFixture(t, endpoint.WithUserCodeLimiters(perAddr, global))
		victim := g.startDevice()
		var reached, throttled int
		for i := range 200 {
			addr := fmt.Sprintf("203.0.%d.%d", i/250, i%250+1) // 200 addresses, one guess each
			_, err := g.srv.LookupUserCode(ctx, verifyPage(addr), "BCDFGHJK")
			switch {
			case errors.Is(err, secret.ErrThrottled):
				throttled++
			case errors.Is(err, endpoint.ErrUserCode):
				reached++
			default:
				t.Fatal(err)
			}
		}
		assert.Equal(t, 50, reached, "the global bound")
		assert.Equal(t, 150, throttled)
		// While the global block lasts, nobody's guess reaches the store:
		_, err := g.srv.LookupUserCode(ctx, verifyPage("198.51.100.20"), victim.UserCode)
		assert.ErrorIs(t, err, secret.ErrThrottled)
		// and once it has passed, the victim's code works.
		g.clock.Advance(61 * time.Second)
		dr, err := g.srv.LookupUserCode(ctx, verifyPage("198.51.100.20"), victim.UserCode)
		require.NoError(t, err)
		require.NoError(t, g.srv.DecideDevice(ctx, dr, endpoint.DeviceDecision{Subject: userID}))
		assert.Equal(t, 200, g.poll(victim.DeviceCode).Status)
	})
	t.Run("typos are not counted as guesses", func(t *testing.T) {
		g := newGrantsFixture(t)
		d := g.startDevice()
		for range 50 {
			_, err := g.srv.LookupUserCode(ctx, verifyPage("198.51.100.20"), "AEIOU123")
			require.ErrorIs(t, err, endpoint.ErrUserCode)
		}
		_, err := g.srv.LookupUserCode(ctx, verifyPage("198.51.100.20"), d.UserCode)
		assert.NoError(t, err)
	})
}

// TestDeviceCodeIsSealed: the device code is self-contained; the store
// holds no copy of it (SPEC §12).
func TestDeviceCodeIsSealed(t *testing.T) {
	g := newGrantsFixture(t)
	d := g.startDevice("scope", "read")
	o, err := crypttoken.NewOpener(g.internal, crypttoken.Expected{Issuer: testIssuer, Audience: testIssuer,
		Type: crypttoken.TypeDeviceCode, Time: g.clock.Now})
	require.NoError(t, err)
	c, err := o.Open(d.DeviceCode)
	require.NoError(t, err)
	assert.Equal(t, "tv", c.ClientID)
	assert.Equal(t, "read", c.Scope)
	assert.Equal(t, apiAud, c.Resource)
	assert.Equal(t, g.clock.Now().Add(10*time.Minute).Unix(), c.Expiry.Unix())
	// Opening it as any other kind fails.
	for _, typ := range []crypttoken.Type{crypttoken.TypeCode, crypttoken.TypeRefresh, crypttoken.TypePushedRequest} {
		o, err := crypttoken.NewOpener(g.internal, crypttoken.Expected{Issuer: testIssuer, Audience: testIssuer, Type: typ, Time: g.clock.Now})
		require.NoError(t, err)
		_, err = o.Open(d.DeviceCode)
		assert.ErrorIs(t, err, crypttoken.ErrType, typ)
	}
}

func TestNormalizeUserCode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"BCDF-GHJK", "BCDFGHJK", true},
		{"bcdf-ghjk", "BCDFGHJK", true},
		{"bcdfghjk", "BCDFGHJK", true},
		{"B-C-D-F G H J K", "BCDFGHJK", true},
		{"BCDF-GHJA", "", false}, // a vowel
		{"BCDF-GHJ", "", false},
		{"BCDF-GHJKL", "", false},
		{"", "", false},
		{"BCDF\x00GHJK", "", false},
		{strings.Repeat("-", 100) + "BCDFGHJK", "", false},
	}
	for _, tc := range tests {
		got, ok := endpoint.NormalizeUserCode(tc.in)
		assert.Equal(t, tc.ok, ok, "%q", tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
		if ok {
			assert.Equal(t, tc.want[:4]+"-"+tc.want[4:], endpoint.FormatUserCode(got))
		}
	}
}

// FuzzNormalizeUserCode: the parser of typed user codes never panics, and
// what it accepts is canonical: 8 letters of the alphabet, a fixed point.
func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdf ghjk", "", "AEIOU", "ÄÖÜ-ßßßß", strings.Repeat("B", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		norm, ok := endpoint.NormalizeUserCode(s)
		if !ok {
			if norm != "" {
				t.Fatalf("%q: refused but returned %q", s, norm)
			}
			return
		}
		if len(norm) != endpoint.UserCodeLength {
			t.Fatalf("%q: %q", s, norm)
		}
		for _, r := range norm {
			if !strings.ContainsRune(endpoint.UserCodeAlphabet, r) {
				t.Fatalf("%q: %q holds %q", s, norm, r)
			}
		}
		again, ok := endpoint.NormalizeUserCode(endpoint.FormatUserCode(norm))
		if !ok || again != norm {
			t.Fatalf("%q: not a fixed point: %q", norm, again)
		}
	})
}
