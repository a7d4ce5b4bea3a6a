package crypttoken

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// TestRotationUnderLoad: SPEC §4, rotation under load loses no token.
// Goroutines seal and open real tokens while a writer swaps hand-built key
// sets through several staged rotations on a fake clock: each key is
// published pending one period before it activates, seals for one period,
// then stays in the set until its last token has expired. Every open of a
// token that has not expired must succeed, including tokens sealed under
// keys that have since retired. Keys alternate between A256KW and dir.
func TestRotationUnderLoad(t *testing.T) {
	const (
		period    = time.Minute     // how long each key seals
		ttl       = 3 * time.Minute // token lifetime, longer than a period
		rotations = 8
		perRound  = 150 // opens to see in each round before the next one
	)
	start := testNow
	var clock atomic.Int64 // Unix seconds
	clock.Store(start.Unix())
	now := func() time.Time { return time.Unix(clock.Load(), 0) }

	// Key i activates at start+i*period and retires one period later; it
	// expires when its last token can: at retirement plus ttl.
	var all []*keys.Key
	for i := range rotations + 2 {
		alg := keys.A256KW
		if i%2 == 1 {
			alg = keys.Direct
		}
		act := start.Add(time.Duration(i) * period)
		k, err := keys.Generate(alg, keys.Lifecycle{
			Created: act.Add(-period), Activates: act, Retires: act.Add(period), Expires: act.Add(period + ttl),
		})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, k)
	}
	// setAt is the set an operator would publish at round r: every key not
	// yet expired, up to the one that activates next (pending).
	setAt := func(r int) *keys.Set {
		at := start.Add(time.Duration(r) * period)
		var ks []*keys.Key
		for _, k := range all[:r+2] {
			if at.Before(k.Expires) {
				ks = append(ks, k)
			}
		}
		set, err := keys.NewSet(testAudience, ks...)
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	ring := keys.NewRing(setAt(0))
	sealer, err := NewSealer(ring, WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	opener, err := NewOpener(ring, Expected{Issuer: testIssuer, Audience: testAudience, Time: now})
	if err != nil {
		t.Fatal(err)
	}

	type sealed struct {
		token string
		exp   time.Time
		kid   string
	}
	var (
		mu       sync.Mutex
		recent   []sealed // a window of tokens for the late openers
		opens    atomic.Int64
		stale    atomic.Int64 // opens of tokens whose key no longer seals
		expired  atomic.Int64
		failures atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 5 {
			t.Errorf(format, args...)
		}
	}
	open := func(s sealed) {
		if !now().Before(s.exp) {
			return // only unexpired tokens are under test
		}
		c, err := opener.Open(s.token)
		switch {
		case err == nil:
			opens.Add(1)
			if k, _ := ring.Load().Sealing(now()); k == nil || k.ID != s.kid {
				stale.Add(1)
			}
			if c.ClientID != "svc" {
				fail("opened claims %+v", c)
			}
		case now().Before(s.exp):
			// Still unexpired after the failed Open, so it was during it
			// too: the clock never goes back.
			fail("open of a token expiring %v at %v: %v", s.exp, now(), err)
		case errors.Is(err, ErrExpired), errors.Is(err, ErrUnknownKey):
			// The clock passed exp while Open ran, and perhaps also the
			// expiry of the token's key.
			expired.Add(1)
		default:
			fail("open of a token that just expired: %v", err)
		}
	}
	// Sealers: seal, open at once, and publish for the late openers.
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c := &Claims{Issuer: testIssuer, Audience: []string{testAudience}, ClientID: "svc", Expiry: now().Add(ttl)}
				tok, err := sealer.Seal(TypeAccess, c)
				if err != nil {
					fail("sealer %d: %v", g, err)
					return
				}
				h, err := opener.checkHeader(part(tok, 0))
				if err != nil {
					fail("header: %v", err)
					return
				}
				s := sealed{token: tok, exp: c.Expiry, kid: h.kid}
				open(s)
				mu.Lock()
				if len(recent) < 512 {
					recent = append(recent, s)
				} else {
					recent[i%len(recent)] = s
				}
				mu.Unlock()
			}
		}()
	}
	// Late openers: tokens sealed earlier, often under retired keys.
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				var s sealed
				if len(recent) > 0 {
					s = recent[(i*7919)%len(recent)]
				}
				mu.Unlock()
				if s.token != "" {
					open(s)
				}
			}
		}()
	}

	// The writer: each round, publish the set (with the next key pending)
	// before the clock reaches the next activation, let the load run, then
	// advance the clock through the round in small steps.
	deadline := time.Now().Add(20 * time.Second)
	for r := range rotations {
		ring.Store(setAt(r))
		for step := range 4 {
			target := opens.Load() + perRound/4
			for opens.Load() < target && failures.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			clock.Store(start.Add(time.Duration(r)*period + time.Duration(step+1)*period/4).Unix())
		}
		// The last step lands exactly on the next activation: publish the
		// next round's set right away, as a staged rotation already has.
		ring.Store(setAt(r + 1))
	}
	close(stop)
	wg.Wait()

	if failures.Load() > 0 {
		t.Fatalf("%d failed opens of unexpired tokens", failures.Load())
	}
	if time.Now().After(deadline) {
		t.Fatalf("too slow: %d opens", opens.Load())
	}
	t.Logf("%d opens, %d under keys that no longer sealed, %d expired refusals", opens.Load(), stale.Load(), expired.Load())
	if opens.Load() < rotations*perRound || stale.Load() == 0 {
		t.Fatalf("the load did not span rotations: %d opens, %d stale", opens.Load(), stale.Load())
	}
}
