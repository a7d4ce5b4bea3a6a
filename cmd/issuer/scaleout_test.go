package main_test

import (
	"context"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// Scale-out tests (SPEC §7): two issuer processes on one Redis, one key
// directory and one certificate. Each test starts its own cluster (see
// scaleout_fixture_test.go) and ends by stopping both replicas and scanning
// their logs for secrets and tokens. They skip only when redis-server is
// missing and CI is not "true" (redistest.Start).

// TestScaleOutCodeRedeemedOnOneReplicaIsRefusedOnTheOther redeems a code on
// A and presents it again on B: B refuses it (RFC 6749 §4.1.2) and the
// replay revokes the family, so the refresh token and the access token of
// A's exchange are refused on both replicas. Then codes are redeemed on A
// and B at the same instant: exactly one of each pair succeeds.
func TestScaleOutCodeRedeemedOnOneReplicaIsRefusedOnTheOther(t *testing.T) {
	c := startScaleCluster(t, scaleOptions{})
	code := c.mustAuthorize(t, c.a, "alice")
	st, body, err := c.exchange(c.a, code)
	access, refresh := mustTokens(t, "exchange on A", st, body, err)
	if refresh == "" {
		t.Fatalf("no refresh token: %s", body)
	}
	st, body, err = c.introspect(c.b, access, false)
	wantActive(t, "A's access token introspected on B before the replay", true, st, body, err)

	st, body, err = c.exchange(c.b, code)
	wantOAuthError(t, "the same code on B", 400, "invalid_grant", st, body, err)
	for _, r := range c.replicas() {
		st, body, err = c.refresh(r, refresh)
		wantOAuthError(t, "A's refresh token on "+r.name+" after the replay", 400, "invalid_grant", st, body, err)
		st, body, err = c.introspect(r, access, false)
		wantActive(t, "A's access token on "+r.name+" after the replay", false, st, body, err)
	}

	t.Run("simultaneous redemption on both replicas", func(t *testing.T) {
		const pairs = 16
		codes := make([]string, pairs)
		for i := range codes {
			codes[i] = c.mustAuthorize(t, c.replicas()[i%2], "user-"+string(rune('a'+i)))
		}
		type outcome struct {
			status int
			body   string
			err    error
		}
		results := make([][2]outcome, pairs)
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range codes {
			for j, r := range c.replicas() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-gate
					st, body, err := c.exchange(r, codes[i])
					results[i][j] = outcome{st, body, err}
				}()
			}
		}
		close(gate)
		wg.Wait()
		for i, pair := range results {
			ok, refused := 0, 0
			for _, o := range pair {
				switch {
				case o.err != nil:
					t.Fatalf("code %d: %v", i, o.err)
				case o.status == 200:
					ok++
				case o.status == 400 && strings.Contains(o.body, `"invalid_grant"`):
					refused++
				default:
					t.Fatalf("code %d: unexpected answer %d %s", i, o.status, o.body)
				}
			}
			if ok != 1 || refused != 1 {
				t.Errorf("code %d redeemed on A and B at once: %d successes, %d refusals; want exactly one of each", i, ok, refused)
			}
		}
	})
	c.stop(t)
}

// TestScaleOutRevokedRefreshTokenIsRefusedOnTheOtherReplica revokes a
// refresh token on A (RFC 7009): B refuses it, and the access token of the
// same grant is inactive on B (§2.1). Another grant is not affected.
func TestScaleOutRevokedRefreshTokenIsRefusedOnTheOtherReplica(t *testing.T) {
	c := startScaleCluster(t, scaleOptions{})
	st, body, err := c.exchange(c.a, c.mustAuthorize(t, c.a, "alice"))
	access, refresh := mustTokens(t, "exchange on A", st, body, err)
	st, body, err = c.exchange(c.b, c.mustAuthorize(t, c.b, "bob"))
	_, otherRefresh := mustTokens(t, "exchange on B", st, body, err)

	if st, body := c.call(t, c.a, "POST", "/revoke", url.Values{"token": {refresh}, "token_type_hint": {"refresh_token"}}, basic("webapp", c.webSecret)); st != 200 {
		t.Fatalf("revoke on A: %d %s", st, body)
	}
	st, body, err = c.refresh(c.b, refresh)
	wantOAuthError(t, "revoked refresh token on B", 400, "invalid_grant", st, body, err)
	st, body, err = c.introspect(c.b, refresh, true)
	wantActive(t, "revoked refresh token introspected on B", false, st, body, err)
	st, body, err = c.introspect(c.b, access, false)
	wantActive(t, "access token of the revoked grant introspected on B", false, st, body, err)

	st, body, err = c.refresh(c.a, otherRefresh)
	mustTokens(t, "another grant's refresh token on A", st, body, err)
	c.stop(t)
}

// TestScaleOutRefreshReuseAcrossReplicasRevokesTheFamily refreshes on A
// (generation 0 to 1) and replays the generation-0 token on B: B detects
// the reuse (RFC 9700 §4.14.2) and revokes the family, so the generation-1
// token and its access token are refused on both replicas.
func TestScaleOutRefreshReuseAcrossReplicasRevokesTheFamily(t *testing.T) {
	c := startScaleCluster(t, scaleOptions{})
	st, body, err := c.exchange(c.b, c.mustAuthorize(t, c.b, "alice"))
	_, gen0 := mustTokens(t, "exchange on B", st, body, err)
	st, body, err = c.refresh(c.a, gen0)
	access1, gen1 := mustTokens(t, "refresh on A", st, body, err)
	if gen1 == "" || gen1 == gen0 {
		t.Fatalf("refresh on A did not rotate the refresh token: %s", body)
	}
	st, body, err = c.refresh(c.b, gen0)
	wantOAuthError(t, "generation-0 token replayed on B", 400, "invalid_grant", st, body, err)
	for _, r := range c.replicas() {
		st, body, err = c.refresh(r, gen1)
		wantOAuthError(t, "generation-1 token on "+r.name+" after the reuse", 400, "invalid_grant", st, body, err)
		st, body, err = c.introspect(r, access1, false)
		wantActive(t, "generation-1 access token on "+r.name+" after the reuse", false, st, body, err)
	}
	c.stop(t)
}

// TestScaleOutAccessTokenRevocationSeenByEveryReplica introspects an
// access token of A on B (active, with A's claims), revokes it on B
// (RFC 7009), and finds it inactive on A; a token revoked by nobody stays
// active.
func TestScaleOutAccessTokenRevocationSeenByEveryReplica(t *testing.T) {
	c := startScaleCluster(t, scaleOptions{})
	st, body, err := c.clientCredentials(c.a)
	access, _ := mustTokens(t, "client_credentials on A", st, body, err)
	st, body, err = c.clientCredentials(c.a)
	untouched, _ := mustTokens(t, "second client_credentials on A", st, body, err)

	st, body, err = c.introspect(c.b, access, false)
	wantActive(t, "A's access token on B", true, st, body, err)
	if got := jsonField(t, body, "iss"); got != c.issuer {
		t.Errorf("iss seen by B = %q, want the shared issuer %q", got, c.issuer)
	}
	if got := jsonField(t, body, "client_id"); got != "webapp" {
		t.Errorf("client_id = %q", got)
	}

	if st, body := c.call(t, c.b, "POST", "/revoke", url.Values{"token": {access}}, basic("webapp", c.webSecret)); st != 200 {
		t.Fatalf("revoke on B: %d %s", st, body)
	}
	for _, r := range c.replicas() {
		st, body, err = c.introspect(r, access, false)
		wantActive(t, "revoked access token on "+r.name, false, st, body, err)
		st, body, err = c.introspect(r, untouched, false)
		wantActive(t, "unrevoked access token on "+r.name, true, st, body, err)
	}
	c.stop(t)
}

// TestScaleOutKeyRotationLosesNoToken rotates every ring several times
// with "issuer keys rotate" against the shared keys.dir while both
// replicas serve and a load loop issues tokens on one replica and checks
// them on the other and at two resource servers: one reloads the ring
// file itself (a mounted secret), the other a JWK Set that a deploy step
// re-exports with "issuer keys export" after each rotation. Every token
// must verify everywhere — zero failures — and every new key must seal on
// both replicas.
//
// Decision: rotations are forced with the CLI, the operator's own tool,
// because keys.rotate_every cannot go below 1m; keys.propagation is 3s,
// which exceeds what a new key needs to reach everyone here: the
// replicas' reload interval (server.TickInterval: 1s), the export step
// (one short process) and the resource servers' 100ms poll.
func TestScaleOutKeyRotationLosesNoToken(t *testing.T) {
	const (
		rotations  = 3
		rsPoll     = 100 * time.Millisecond
		maxIter    = 20000 // per worker; the time bound below ends the loop first
		workers    = 2
		settleTime = 1500 * time.Millisecond // after activation, before the next rotation
	)
	c := startScaleCluster(t, scaleOptions{propagation: 3 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Resource server 1 reloads the ring file of its audience as a mounted
	// secret would present it.
	var reloadErrs failures
	onErr := keys.WithOnError(func(err error) { reloadErrs.add("%v", err) })
	ringFile := filepath.Join(c.dir, "keys", keys.FileName(scaleAudience))
	rs1, err := keys.NewReloader(ctx, ringFile, keys.WithRingName(scaleAudience), onErr)
	if err != nil {
		t.Fatal(err)
	}
	// Resource server 2 reloads a JWK Set that a deploy step exports after
	// every rotation, written beside and renamed into place so that the
	// reader never sees half a file.
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	export := func() {
		t.Helper()
		tmp := jwksFile + ".tmp"
		if code, _, errOut := runBinary(t, "", "keys", "export", "--config", c.cfgPath, "--audience", scaleAudience, "--out", tmp); code != 0 {
			t.Fatalf("keys export: exit %d: %s", code, errOut)
		}
		if err := os.Rename(tmp, jwksFile); err != nil {
			t.Fatal(err)
		}
	}
	export()
	rs2, err := keys.NewReloader(ctx, jwksFile, keys.WithRingName(scaleAudience), onErr)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*keys.Reloader{rs1, rs2} {
		if err := r.Start(ctx, rsPoll); err != nil {
			t.Fatal(err)
		}
		defer r.Stop()
	}
	openers := map[string]*crypttoken.Opener{}
	for name, r := range map[string]*keys.Reloader{"resource server (ring file)": rs1, "resource server (JWK Set)": rs2} {
		if openers[name], err = crypttoken.NewOpener(r.Ring(), crypttoken.Expected{Issuer: c.issuer, Audience: scaleAudience}); err != nil {
			t.Fatal(err)
		}
	}

	// Tokens issued by A before any rotation.
	st, body, err := c.clientCredentials(c.a)
	earlyAccess, _ := mustTokens(t, "early client_credentials on A", st, body, err)
	st, body, err = c.exchange(c.a, c.mustAuthorize(t, c.a, "early"))
	_, earlyRefresh := mustTokens(t, "early exchange on A", st, body, err)

	// kids records which replicas sealed with each key, per ring.
	var kidMu sync.Mutex
	kids := map[string]map[string]map[string]bool{"audience": {}, "internal": {}}
	sealed := func(ring, tok string, by *scaleReplica) {
		kid := kidOf(tok)
		kidMu.Lock()
		defer kidMu.Unlock()
		if kids[ring][kid] == nil {
			kids[ring][kid] = map[string]bool{}
		}
		kids[ring][kid][by.name] = true
	}

	var fails failures
	var iterations atomic.Int64
	verifyAccess := func(tok string, by, other *scaleReplica) {
		for name, op := range openers {
			if _, err := op.Open(tok); err != nil {
				fails.add("%s cannot open an access token of %s (kid %s): %v", name, by.name, kidOf(tok), err)
			}
		}
		st, body, err := c.introspect(other, tok, false)
		if active, ok := introspectionActive(st, body); err != nil || !ok || !active {
			fails.add("%s: access token of %s (kid %s) introspected: %d %s %v", other.name, by.name, kidOf(tok), st, body, err)
		}
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < maxIter && loadCtx.Err() == nil; i++ {
				x := c.replicas()[(w+i)%2]
				y := c.other(x)
				st, body, err := c.clientCredentials(x)
				if err != nil || st != 200 {
					fails.add("client_credentials on %s: %d %s %v", x.name, st, body, err)
					continue
				}
				at := tokenField(body, "access_token")
				sealed("audience", at, x)
				verifyAccess(at, x, y)
				if i%4 == 0 {
					// A code from x, exchanged on y, refreshed on x: the
					// internal ring across replicas.
					code, err := c.authorize(x, "load")
					if err != nil {
						fails.add("%v", err)
						continue
					}
					sealed("internal", code, x)
					st, body, err := c.exchange(y, code)
					if err != nil || st != 200 {
						fails.add("%s: exchange of a code of %s (kid %s): %d %s %v", y.name, x.name, kidOf(code), st, body, err)
						continue
					}
					at, rt := tokenField(body, "access_token"), tokenField(body, "refresh_token")
					sealed("audience", at, y)
					sealed("internal", rt, y)
					verifyAccess(at, y, x)
					st, body, err = c.refresh(x, rt)
					if err != nil || st != 200 {
						fails.add("%s: refresh of a token of %s (kid %s): %d %s %v", x.name, y.name, kidOf(rt), st, body, err)
						continue
					}
					sealed("internal", tokenField(body, "refresh_token"), x)
				}
				iterations.Add(1)
			}
		}()
	}

	time.Sleep(time.Second) // load on the first keys
	for i := range rotations {
		code, out, errOut := runBinary(t, "", "keys", "rotate", "--config", c.cfgPath)
		if code != 0 {
			stopLoad()
			wg.Wait()
			t.Fatalf("rotation %d: keys rotate: exit %d: %s", i+1, code, errOut)
		}
		if strings.Contains(out, `"k"`) {
			t.Errorf("keys rotate printed key material")
		}
		export()
		time.Sleep(c.propagation + settleTime)
	}
	stopLoad()
	wg.Wait()

	// Tokens issued before the rotations still verify on B and at both
	// resource servers, and the early refresh token refreshes on B.
	verifyAccess(earlyAccess, c.a, c.b)
	st, body, err = c.refresh(c.b, earlyRefresh)
	mustTokens(t, "refresh token issued before the rotations, on B", st, body, err)

	n, first := fails.report()
	if n > 0 {
		t.Fatalf("%d failed verifications across %d rotations (%d iterations); first:\n%v", n, rotations, iterations.Load(), first)
	}
	if iterations.Load() < 20 {
		t.Fatalf("the load loop ran only %d iterations", iterations.Load())
	}
	if rn, rerr := reloadErrs.report(); rn > 0 {
		t.Fatalf("reload errors: %v", rerr)
	}
	for ring, byKid := range kids {
		if len(byKid) != rotations+1 {
			t.Errorf("%s ring: tokens sealed under %d keys, want %d (the first and one per rotation)", ring, len(byKid), rotations+1)
		}
		for kid, by := range byKid {
			if !by["A"] || !by["B"] {
				t.Errorf("%s ring: key %s sealed only on %v; both replicas must use every key", ring, kid, slices.Sorted(maps.Keys(by)))
			}
		}
	}
	t.Logf("%d iterations across %d rotations, %d audience keys and %d internal keys, zero failures",
		iterations.Load(), rotations, len(kids["audience"]), len(kids["internal"]))
	c.stop(t)
}

// TestScaleOutRedisOutageFailsClosedAndRecovers stalls Redis (SIGSTOP),
// then crashes it (SIGKILL) and restarts it from its append-only file, as
// SCALING.md recommends running it. While it is out, the grants that need
// the store (authorization_code, refresh_token) answer 503
// temporarily_unavailable, as do introspection and revocation, and /readyz
// 503 on both replicas, while client_credentials, /authorize and /healthz
// go on; once it is back the
// grants recover, and nothing is accepted twice across the outage: codes
// redeemed before it stay redeemed, refresh families keep their
// generation.
func TestScaleOutRedisOutageFailsClosedAndRecovers(t *testing.T) {
	c := startScaleCluster(t, scaleOptions{redisArgs: []string{"--appendonly", "yes", "--appendfsync", "always"}})

	// Before the outage.
	used := c.mustAuthorize(t, c.a, "alice")
	st, body, err := c.exchange(c.a, used)
	_, rtPresented := mustTokens(t, "exchange before the outage", st, body, err)
	st, body, err = c.exchange(c.b, c.mustAuthorize(t, c.b, "bob"))
	_, rtKept := mustTokens(t, "second exchange before the outage", st, body, err)
	codePresented := c.mustAuthorize(t, c.a, "carol")

	outage := func(what string) (mintedDuring string) {
		t.Helper()
		var access string
		for _, r := range c.replicas() {
			start := time.Now()
			st, body, err := c.clientCredentials(r)
			access, _ = mustTokens(t, what+": client_credentials on "+r.name, st, body, err)
			t.Logf("%s: client_credentials on %s answered 200 in %s", what, r.name, time.Since(start).Round(time.Millisecond))
			if st, body := c.call(t, r, "GET", "/readyz", nil, nil); st != 503 {
				t.Errorf("%s: /readyz on %s = %d %s, want 503", what, r.name, st, body)
			}
			if st, body := c.call(t, r, "GET", "/healthz", nil, nil); st != 200 {
				t.Errorf("%s: /healthz on %s = %d %s, want 200 (the process is alive)", what, r.name, st, body)
			}
		}
		st, body, err := c.exchange(c.b, used)
		wantOAuthError(t, what+": a redeemed code presented again on B", 503, "temporarily_unavailable", st, body, err)
		st, body, err = c.exchange(c.a, codePresented)
		wantOAuthError(t, what+": a fresh code on A", 503, "temporarily_unavailable", st, body, err)
		st, body, err = c.refresh(c.b, rtPresented)
		wantOAuthError(t, what+": refresh on B", 503, "temporarily_unavailable", st, body, err)
		// The revocation state is unknown: never reported active.
		st, body, err = c.introspect(c.a, access, false)
		wantOAuthError(t, what+": introspection on A", 503, "temporarily_unavailable", st, body, err)
		st, body, err = c.do(c.b, "POST", "/revoke", url.Values{"token": {access}}, basic("webapp", c.webSecret))
		wantOAuthError(t, what+": revocation on B", 503, "temporarily_unavailable", st, body, err)
		// Logging in needs no store: the code is sealed, not stored.
		return c.mustAuthorize(t, c.b, "dave")
	}
	recovered := func(what string) {
		t.Helper()
		for _, r := range c.replicas() {
			c.waitReady(t, r, 20*time.Second)
		}
		st, body, err := c.exchange(c.b, used)
		wantOAuthError(t, what+": the code redeemed before the outage, on B", 400, "invalid_grant", st, body, err)
	}
	// atMostOnce presents a grant presented during the outage on both
	// replicas. A command that timed out may have been applied once Redis
	// answered again (pkg/store/redis: fail closed), so it may now be
	// refused; it must never succeed twice.
	atMostOnce := func(what string, present func(*scaleReplica) (int, string, error)) {
		t.Helper()
		ok := 0
		for _, r := range c.replicas() {
			st, body, err := present(r)
			switch {
			case err != nil:
				t.Fatalf("%s on %s: %v", what, r.name, err)
			case st == 200:
				ok++
			case st != 400 || !strings.Contains(body, `"invalid_grant"`):
				t.Fatalf("%s on %s: %d %s", what, r.name, st, body)
			}
		}
		if ok > 1 {
			t.Errorf("%s was accepted %d times", what, ok)
		}
	}

	// 1. Redis stalls: connections stay open, nothing answers.
	c.redis.Pause()
	minted := outage("redis stalled")
	c.redis.Resume()
	recovered("after the stall")
	rtKept0 := rtKept
	st, body, err = c.refresh(c.a, rtKept)
	_, rtKept = mustTokens(t, "after the stall: refresh of a token not presented during it", st, body, err)
	st, body, err = c.exchange(c.a, minted)
	mustTokens(t, "after the stall: a code minted during it", st, body, err)
	atMostOnce("a code presented during the stall", func(r *scaleReplica) (int, string, error) { return c.exchange(r, codePresented) })
	atMostOnce("a refresh token presented during the stall", func(r *scaleReplica) (int, string, error) { return c.refresh(r, rtPresented) })

	// 2. Redis crashes and restarts from its append-only file.
	used = c.mustAuthorize(t, c.b, "erin")
	st, body, err = c.exchange(c.b, used)
	mustTokens(t, "exchange before the crash", st, body, err)
	st, body, err = c.exchange(c.a, c.mustAuthorize(t, c.a, "frank"))
	_, rtPresented = mustTokens(t, "exchange before the crash", st, body, err)
	codePresented = c.mustAuthorize(t, c.b, "grace")
	c.redis.Stop()
	minted = outage("redis down")
	c.redis.Restart()
	recovered("after the restart")
	// rtKept is generation 1 of its family: the restarted Redis still
	// knows the family's generation, so generation 1 refreshes and
	// generation 0 is then taken for reuse.
	st, body, err = c.refresh(c.b, rtKept)
	mustTokens(t, "after the restart: refresh of generation 1", st, body, err)
	st, body, err = c.refresh(c.a, rtKept0)
	wantOAuthError(t, "after the restart: generation 0 replayed", 400, "invalid_grant", st, body, err)
	st, body, err = c.exchange(c.b, minted)
	mustTokens(t, "after the restart: a code minted during the crash", st, body, err)
	atMostOnce("a code presented during the crash", func(r *scaleReplica) (int, string, error) { return c.exchange(r, codePresented) })
	atMostOnce("a refresh token presented during the crash", func(r *scaleReplica) (int, string, error) { return c.refresh(r, rtPresented) })
	c.stop(t)
}
