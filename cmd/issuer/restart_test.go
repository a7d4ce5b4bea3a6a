package main_test

import (
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The durability tests (SPEC §7, §8; issue 8 part 1): one issuer on the
// default store, store: file, under a bounded mixed load of code
// exchanges, refresh rotations and revocations; it is stopped mid-load,
// by kill -9 or by SIGTERM, and started again on the same data_dir; then
// every response it acknowledged must still hold.

// Bounds of one load phase.
const (
	durableWorkers  = 8
	durableMaxTime  = 8 * time.Second
	durableCycles   = 60 // grants per worker at most
	durableKillAcks = 150
)

// grant is one authorization grant of the load and what the issuer
// acknowledged about it.
type grant struct {
	code string // redeemed: acknowledged by a 200 exchange
	// refresh holds the refresh tokens acknowledged, in order: the one of
	// the exchange, then the new one of each acknowledged rotation; the
	// last is current, every earlier one superseded.
	refresh []string
	// access is the latest access token acknowledged.
	access string
	// inflight: a rotation was sent and no answer came back before the
	// stop; it may have landed, superseding the last acknowledged token.
	inflight bool
	// firstAccess is the access token of the exchange; revokedAccess is
	// set to it once its revocation was acknowledged.
	firstAccess, revokedAccess string
	// revokedFamily: the revocation of the current refresh token (so of
	// the whole grant) was acknowledged; revokingFamily: it was sent and
	// no answer came back, so it may have landed.
	revokedFamily, revokingFamily bool
}

// ledger is what the load recorded, safe for concurrent use.
type ledger struct {
	mu     sync.Mutex
	grants []*grant
	acks   atomic.Int64
}

func (l *ledger) add(g *grant) {
	l.mu.Lock()
	l.grants = append(l.grants, g)
	l.mu.Unlock()
}

// update runs f on g under the ledger's lock and counts an
// acknowledgement.
func (l *ledger) update(g *grant, f func(g *grant)) {
	l.mu.Lock()
	f(g)
	l.mu.Unlock()
	l.acks.Add(1)
}

// load runs durableWorkers workers against r until stop is closed, a
// bound is reached, or the replica stops answering. Each worker signs a
// user in, exchanges the code and rotates the refresh token three times;
// then one grant in three is left alone, one is revoked by its refresh
// token, and one by its first access token — which, since the tokens of a
// grant share one status-list entry, revokes the whole grant (RFC 7009
// §2.1 allows it; SPEC §9). Only 200 answers count as acknowledgements.
func (c *scaleCluster) load(r *scaleReplica, l *ledger, stop <-chan struct{}) {
	deadline := time.Now().Add(durableMaxTime)
	var wg sync.WaitGroup
	for w := range durableWorkers {
		wg.Go(func() {
			for i := 0; i < durableCycles && time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				if !c.grantCycle(r, l, fmt.Sprintf("user-%d-%d", w, i), i%3) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// grantCycle runs one grant's requests and reports whether the replica
// still answers. revoke is 0 (no revocation), 1 (revoke the grant by its
// refresh token) or 2 (by its first access token).
func (c *scaleCluster) grantCycle(r *scaleReplica, l *ledger, user string, revoke int) bool {
	code, err := c.authorize(r, user)
	if err != nil {
		return false
	}
	st, body, err := c.exchange(r, code)
	if err != nil || st != 200 {
		return err == nil && st < 500
	}
	g := &grant{code: code}
	l.add(g)
	l.update(g, func(g *grant) {
		g.refresh = []string{tokenField(body, "refresh_token")}
		g.access = tokenField(body, "access_token")
		g.firstAccess = g.access
	})
	for range 3 {
		l.mu.Lock()
		rt := g.refresh[len(g.refresh)-1]
		g.inflight = true
		l.mu.Unlock()
		st, body, err := c.refresh(r, rt)
		if err != nil {
			return false // inflight stays set: the rotation may have landed
		}
		if st != 200 {
			return st < 500
		}
		l.update(g, func(g *grant) {
			g.inflight = false
			g.refresh = append(g.refresh, tokenField(body, "refresh_token"))
			g.access = tokenField(body, "access_token")
		})
	}
	l.mu.Lock()
	access, rt := g.firstAccess, g.refresh[len(g.refresh)-1]
	l.mu.Unlock()
	if revoke == 2 {
		l.mu.Lock()
		g.revokingFamily = true
		l.mu.Unlock()
		st, _, err = c.do(r, "POST", "/revoke", url.Values{"token": {access}, "token_type_hint": {"access_token"}}, basic("webapp", c.webSecret))
		if err != nil {
			return false // revokingFamily stays set: it may have landed
		}
		if st == 200 {
			// The grant's tokens share one status entry: revoking the
			// access token revoked the grant.
			l.update(g, func(g *grant) { g.revokedAccess, g.revokedFamily, g.revokingFamily = access, true, false })
		}
	}
	if revoke == 1 {
		l.mu.Lock()
		g.revokingFamily = true
		l.mu.Unlock()
		st, _, err = c.do(r, "POST", "/revoke", url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}}, basic("webapp", c.webSecret))
		if err != nil {
			return false // revokingFamily stays set: it may have landed
		}
		if st == 200 {
			l.update(g, func(g *grant) { g.revokedFamily, g.revokingFamily = true, false })
		}
	}
	return true
}

// startDurable starts one issuer on store: file and waits until it is
// ready.
func startDurable(t *testing.T) *scaleCluster {
	t.Helper()
	c := newScaleBase(t, scaleOptions{})
	addr := scaleFreeAddr(t)
	c.writeConfig(t, addr, "file")
	c.a = c.startReplica(t, "A", addr)
	c.waitReady(t, c.a, 20*time.Second)
	return c
}

// restart starts the replica again on the same configuration, address and
// data_dir, and waits until it is ready: the store file must open.
func (c *scaleCluster) restart(t *testing.T) {
	t.Helper()
	c.client.CloseIdleConnections()
	c.a = c.startReplica(t, "A", c.a.base[len("https://"):])
	c.waitReady(t, c.a, 20*time.Second)
}

// loadAndStop runs the load, stops the replica with sig once the load has
// had durableKillAcks acknowledgements (or has ended), and waits for the
// load and the process to end. It returns the process's exit code.
func (c *scaleCluster) loadAndStop(t *testing.T, l *ledger, sig syscall.Signal) int {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.load(c.a, l, stop)
	}()
	start := l.acks.Load()
	for l.acks.Load()-start < durableKillAcks {
		select {
		case <-done:
			t.Fatalf("the load ended after %d acknowledgements, before the stop\nstderr:\n%s", l.acks.Load()-start, c.a.stderr)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := c.a.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	code := c.a.wait()
	close(stop)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the load did not end after the stop")
	}
	return code
}

// checkLedger checks every acknowledgement against the running replica,
// as the victims would find them: a revoked token introspects
// inactive, a rotated refresh token's successor refreshes and the token
// itself is refused, a revoked grant's refresh token is refused, a
// redeemed code is refused. Codes come last, since a replayed code
// revokes its grant.
func (c *scaleCluster) checkLedger(t *testing.T, l *ledger, what string) {
	t.Helper()
	l.mu.Lock()
	grants := append([]*grant(nil), l.grants...)
	l.mu.Unlock()
	r := c.a
	var checked struct{ revokedAccess, revokedGrants, rotations, superseded, codes, active int }
	active := func(what, tok string, want bool) {
		t.Helper()
		st, body, err := c.introspect(r, tok, true)
		wantActive(t, what, want, st, body, err)
	}
	refused := func(what string, st int, body string, err error) {
		t.Helper()
		wantOAuthError(t, what, 400, "invalid_grant", st, body, err)
	}
	for _, g := range grants {
		if g.revokedAccess != "" {
			active(what+": revoked access token", g.revokedAccess, false)
			checked.revokedAccess++
		}
		if len(g.refresh) == 0 {
			continue
		}
		cur := g.refresh[len(g.refresh)-1]
		switch {
		case g.revokedFamily:
			st, body, err := c.refresh(r, cur)
			refused(what+": refresh token of a revoked grant", st, body, err)
			// Every access token of the grant shares its status entry.
			active(what+": latest access token of a revoked grant", g.access, false)
			checked.revokedGrants++
		case g.inflight || g.revokingFamily:
			// The answer was lost: the rotation or the revocation may have
			// landed, so the token may be superseded or revoked. Either
			// way it is checked no further.
		default:
			if g.access != g.firstAccess {
				active(what+": unrevoked access token", g.access, true)
				checked.active++
			}
			// The current token still refreshes, once.
			st, body, err := c.refresh(r, cur)
			if err != nil || st != 200 {
				t.Fatalf("%s: the current refresh token of a grant (after %d acknowledged rotations) does not refresh: %d %s %v", what, len(g.refresh)-1, st, body, err)
			}
			checked.rotations++
		}
		// A superseded token is refused (and presenting it revokes the
		// grant, so this comes after the current token's check).
		if len(g.refresh) > 1 {
			st, body, err := c.refresh(r, g.refresh[len(g.refresh)-2])
			refused(what+": superseded refresh token", st, body, err)
			checked.superseded++
		}
	}
	for _, g := range grants {
		st, body, err := c.exchange(r, g.code)
		refused(what+": redeemed code", st, body, err)
		checked.codes++
	}
	if checked.codes == 0 || checked.rotations == 0 || checked.revokedAccess == 0 || checked.superseded == 0 ||
		checked.revokedGrants == 0 || checked.active == 0 {
		t.Fatalf("%s: the load acknowledged too little to check: %+v", what, checked)
	}
	t.Logf("%s: checked %+v", what, checked)
}

// TestDurableAcrossKill9 (SPEC §8, issue 8 part 1): kill -9 the issuer
// mid-load, twice, restarting it on the same data_dir each time; the
// store file always reopens and nothing acknowledged before either kill
// is lost.
func TestDurableAcrossKill9(t *testing.T) {
	c := startDurable(t)
	l := &ledger{}
	for kill := 1; kill <= 2; kill++ {
		if code := c.loadAndStop(t, l, syscall.SIGKILL); code != -1 {
			t.Fatalf("kill %d: exit code %d, want a SIGKILL", kill, code)
		}
		// The next load, and the check, run on the restarted process.
		c.restart(t)
	}
	c.checkLedger(t, l, "after two kill -9")
	c.stop(t)
}

// TestDurableAcrossSIGTERM (SPEC §7): a graceful stop mid-load drains the
// requests in flight and closes the store after them; after the restart
// nothing acknowledged is lost, and no rotation was left unanswered.
func TestDurableAcrossSIGTERM(t *testing.T) {
	c := startDurable(t)
	l := &ledger{}
	if code := c.loadAndStop(t, l, syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit code %d, want 0\nstderr:\n%s", code, c.a.stderr)
	}
	c.restart(t)
	c.checkLedger(t, l, "after SIGTERM")
	c.stop(t)
}
