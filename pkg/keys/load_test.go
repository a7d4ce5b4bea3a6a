package keys

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sealRecord is what a sealer remembers of a token: the kid in its header
// and when it expires.
type sealRecord struct {
	kid string
	exp time.Time
}

// sealLog keeps a bounded sample of the seals of every instant of the
// fake clock, for as long as their tokens live, so that openers try old
// tokens near their expiry as well as fresh ones.
type sealLog struct {
	mu      sync.Mutex
	byTime  map[time.Time][]sealRecord // sealing instant -> sample
	instant []time.Time                // keys of byTime, oldest first
}

const samplesPerInstant = 64

func (l *sealLog) add(now time.Time, r sealRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byTime == nil {
		l.byTime = map[time.Time][]sealRecord{}
	}
	recs, ok := l.byTime[now]
	if !ok {
		// Forget instants whose tokens all expired.
		for len(l.instant) > 0 && !l.byTime[l.instant[0]][0].exp.After(now) {
			delete(l.byTime, l.instant[0])
			l.instant = l.instant[1:]
		}
		l.instant = append(l.instant, now)
	}
	if len(recs) < samplesPerInstant {
		l.byTime[now] = append(recs, r)
	} else {
		recs[rand.IntN(len(recs))] = r
	}
}

func (l *sealLog) pick() (sealRecord, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.instant) == 0 {
		return sealRecord{}, false
	}
	recs := l.byTime[l.instant[rand.IntN(len(l.instant))]]
	return recs[rand.IntN(len(recs))], true
}

// TestRotationUnderLoad runs sealers on the issuer's ring and openers on a
// resource server's reloaded copy while a writer drives a fake clock
// through several rotations (two of them early, for exhausted dir keys),
// with the Manager writing ring files and a Reloader reading them. No look-up
// of a kid whose token has not expired may fail (SPEC §4: "rotation under
// load loses no token").
func TestRotationUnderLoad(t *testing.T) {
	ctx := context.Background()
	const (
		audience = "https://api.example.com"
		step     = time.Minute
		steps    = 6 * 60 // six hours: six scheduled rotations
	)
	p := Policy{Alg: Direct, RotateEvery: time.Hour, Propagation: 10 * time.Minute, MaxTokenTTL: 15 * time.Minute}
	clock := newFakeClock(t0)
	m, err := NewManager(t.TempDir(), p, WithClock(clock.Now))
	require.NoError(t, err)
	_, err = m.Init(ctx, audience)
	require.NoError(t, err)
	issuer, _ := m.Ring(audience)
	rs, err := NewReloader(ctx, m.Path(audience), WithRingName(audience))
	require.NoError(t, err)
	// The resource server polls on its own too; the writer also checks after
	// every step, modelling a reload interval shorter than propagation.
	require.NoError(t, rs.Start(ctx, time.Millisecond))
	defer rs.Stop()

	var (
		log                       sealLog
		done                      atomic.Bool
		seals, opens              atomic.Int64
		sealFailures, openFailure atomic.Int64
		firstFailure              atomic.Value
		sealers                   sync.Map // kids that sealed
	)
	fail := func(counter *atomic.Int64, msg string) {
		counter.Add(1)
		firstFailure.CompareAndSwap(nil, msg)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { // sealer (issuer)
			defer wg.Done()
			for !done.Load() {
				set := issuer.Load() // load the set, then read the clock
				now := clock.Now()
				k, err := set.Sealing(now)
				if err != nil {
					fail(&sealFailures, fmt.Sprintf("seal at %s: %v", now, err))
					continue
				}
				k.CountSeal()
				sealers.Store(k.ID, true)
				log.add(now, sealRecord{kid: k.ID, exp: now.Add(p.MaxTokenTTL)})
				seals.Add(1)
			}
		}()
	}
	for i := range 4 {
		wg.Add(1)
		go func() { // opener: resource server, and the issuer itself
			defer wg.Done()
			ring := rs.Ring()
			if i%2 == 1 {
				ring = issuer
			}
			for !done.Load() {
				rec, ok := log.pick()
				if !ok {
					continue
				}
				set := ring.Load()
				now := clock.Now()
				if !now.Before(rec.exp) {
					continue // the token expired: refusing it is right
				}
				if _, ok := set.Opening(rec.kid, now); !ok {
					fail(&openFailure, fmt.Sprintf("open kid %s at %s (token expires %s) on %s ring", rec.kid, now, rec.exp, map[bool]string{true: "issuer", false: "resource server"}[i%2 == 1]))
					continue
				}
				opens.Add(1)
			}
		}()
	}

	rotations := 0
	lastSealer := ""
	for i := range steps {
		clock.Advance(step)
		if i == 100 || i == 250 {
			// The active dir key reaches its usage bound: rotate early.
			k, err := issuer.Load().Sealing(clock.Now())
			require.NoError(t, err)
			k.sealed.Store(RotateAt)
		}
		_, err := m.Tick(ctx)
		require.NoError(t, err)
		_, err = rs.Check(ctx)
		require.NoError(t, err)
		if k, err := issuer.Load().Sealing(clock.Now()); err == nil && k.ID != lastSealer {
			rotations++
			lastSealer = k.ID
		}
		// Let the sealers run at this instant: wait (bounded, 1 s) for
		// eight more seals, two per sealer, so that at least one began
		// after the step and every key that seals for a while is seen
		// sealing however busy the machine is.
		for start, waited := seals.Load(), time.Duration(0); seals.Load() < start+8 && waited < time.Second; waited += 50 * time.Microsecond {
			time.Sleep(50 * time.Microsecond)
		}
	}
	done.Store(true)
	wg.Wait()

	nSealers := 0
	sealers.Range(func(any, any) bool { nSealers++; return true })
	t.Logf("%d seals, %d opens checked, %d sealing keys, %d rotations", seals.Load(), opens.Load(), nSealers, rotations)
	require.Zero(t, sealFailures.Load(), "seal failures; first: %v", firstFailure.Load())
	require.Zero(t, openFailure.Load(), "open failures; first: %v", firstFailure.Load())
	require.Greater(t, seals.Load(), int64(1000))
	require.Greater(t, opens.Load(), int64(1000))
	require.Equal(t, 7, rotations, "the first key, then keys activating at 60, 110 (early), 170, 230, 260 (early) and 320 minutes")
	require.Equal(t, 7, nSealers)
}
