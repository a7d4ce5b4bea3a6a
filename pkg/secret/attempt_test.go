package secret

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// attemptOp is one authentication in a scripted Begin scenario.
type attemptOp struct {
	at      time.Duration // offset from t0
	account string
	from    string // client address
	device  string
	fast    bool // a sha256 hash
	right   bool // the credential is correct
	want    string
	comment string
}

// Outcomes of an attemptOp.
const (
	okAuth  = "ok"   // admitted and right
	bad     = "fail" // admitted and wrong
	refused = "429"  // refused by Begin or Reserve
)

// run plays one authentication through Begin, Reserve and the outcome, the
// way a server does, and returns its outcome.
func (op attemptOp) run(l *Limiter) string {
	now := t0.Add(op.at)
	var addr netip.Addr
	if op.from != "" {
		addr = netip.MustParseAddr(op.from)
	}
	a, _, ok := l.Begin(op.account, addr, op.device, !op.fast, now)
	if !ok {
		return refused
	}
	if !a.Reserve() {
		a.Fail()
		return refused
	}
	if !op.right {
		a.Fail()
		return bad
	}
	a.Succeed()
	return okAuth
}

func repeat(n int, op attemptOp) []attemptOp {
	out := make([]attemptOp, n)
	for i := range out {
		out[i] = op
	}
	return out
}

func ops(parts ...[]attemptOp) []attemptOp {
	var out []attemptOp
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestBeginPolicy plays the attacks of issue 8 (part 2) against Begin, each
// followed by the victim authenticating, one row per rule of SPEC §6.
func TestBeginPolicy(t *testing.T) {
	const victim, other = "client:webapp", "client:other"
	home, attacker, attacker2 := "192.0.2.10", "203.0.113.66", "203.0.113.67"
	cfg := LimiterConfig{Threshold: 3, Window: time.Minute, Block: time.Minute, MaxBlock: 4 * time.Minute}
	guess := func(from string) attemptOp {
		return attemptOp{account: victim, from: from, want: bad}
	}
	tests := []struct {
		name string
		cfg  LimiterConfig
		ops  []attemptOp
	}{
		{name: "SPEC §6: guesses from one address are bounded per account and per address", ops: ops(
			repeat(3, guess(attacker)),
			[]attemptOp{
				{account: victim, from: attacker, right: true, want: refused},
				{account: other, from: attacker, right: true, want: refused},
			},
		)},
		{name: "SPEC §6: guesses from many addresses stay bounded per account", ops: ops(
			[]attemptOp{guess("203.0.113.1"), guess("203.0.113.2"), guess("203.0.113.3")},
			[]attemptOp{{account: victim, from: "203.0.113.4", want: refused}},
		)},
		{name: "issue 8: failures from elsewhere never refuse an address that succeeded before", ops: ops(
			[]attemptOp{{account: victim, from: home, right: true, want: okAuth}},
			repeat(3, guess(attacker)),
			[]attemptOp{
				{account: victim, from: attacker2, want: refused},
				{account: victim, from: attacker, right: true, want: refused},
				{at: 30 * time.Second, account: victim, from: home, right: true, want: okAuth},
			},
		)},
		{name: "issue 8: a known address is itself bounded, per pair", ops: ops(
			[]attemptOp{{account: victim, from: home, right: true, want: okAuth}},
			repeat(3, attemptOp{account: victim, from: home, want: bad}),
			[]attemptOp{{account: victim, from: home, right: true, want: refused}},
		)},
		{name: "issue 8: a vouched-for device is never refused for others' failures", ops: ops(
			repeat(3, guess(attacker)),
			[]attemptOp{
				{account: victim, from: attacker, device: "dev-1", right: true, want: okAuth},
				{account: victim, from: "198.51.100.9", device: "dev-1", right: true, want: okAuth},
				{account: victim, from: "198.51.100.10", right: true, want: refused},
				{account: victim, from: "198.51.100.9", right: true, want: okAuth, comment: "the device's success made its address known"},
			},
		)},
		{name: "issue 8: a stolen device blocked by the thief's guesses still leaves the known address", ops: ops(
			[]attemptOp{{account: victim, from: home, device: "dev-1", right: true, want: okAuth}},
			repeat(3, attemptOp{account: victim, from: attacker, device: "dev-1", want: bad}),
			[]attemptOp{
				{account: victim, from: attacker, device: "dev-1", right: true, want: refused},
				{account: victim, from: home, device: "dev-1", right: true, want: okAuth},
			},
		)},
		{name: "issue 8: a success does not reset an attacker's count", ops: ops(
			[]attemptOp{{account: victim, from: home, right: true, want: okAuth}},
			repeat(2, guess(attacker)),
			[]attemptOp{{account: victim, from: home, right: true, want: okAuth}},
			repeat(1, guess(attacker2)),
			[]attemptOp{{account: victim, from: "203.0.113.99", want: refused}},
		)},
		{name: "issue 8: a success from an unknown address does not reset either", ops: ops(
			repeat(2, guess(attacker)),
			[]attemptOp{{account: victim, from: "198.51.100.50", right: true, want: okAuth}},
			[]attemptOp{guess(attacker2)},
			[]attemptOp{{account: victim, from: "198.51.100.51", right: true, want: refused}},
		)},
		{name: "issue 8: IPv6 addresses count per /64", ops: ops(
			[]attemptOp{
				{account: "client:a", from: "2001:db8:1:2::1", want: bad},
				{account: "client:b", from: "2001:db8:1:2::ffff", want: bad},
				{account: "client:c", from: "2001:db8:1:2:abcd::7", want: bad},
				{account: "client:d", from: "2001:db8:1:2::9", right: true, want: refused},
				{account: "client:d", from: "2001:db8:1:3::9", right: true, want: okAuth},
			},
		)},
		{name: "issue 8: a known IPv6 /64 stays known from another interface id", ops: ops(
			[]attemptOp{{account: victim, from: "2001:db8:5:6::1", right: true, want: okAuth}},
			repeat(3, guess(attacker)),
			[]attemptOp{{account: victim, from: "2001:db8:5:6::beef", right: true, want: okAuth}},
		)},
		{name: "IPv4-mapped IPv6 is the IPv4 address", ops: ops(
			repeat(3, attemptOp{account: "client:x", from: "::ffff:203.0.113.5", want: bad}),
			[]attemptOp{{account: "client:y", from: "203.0.113.5", right: true, want: refused}},
		)},
		{name: "decision: a sha256 client is never refused and never blocks its id", ops: ops(
			repeat(10, attemptOp{account: victim, from: attacker, fast: true, want: bad}),
			[]attemptOp{
				{account: victim, from: attacker, fast: true, right: true, want: okAuth},
				{account: victim, from: "198.51.100.1", fast: true, right: true, want: okAuth},
			},
		)},
		{name: "decision: sha256 failures still count against the address", ops: ops(
			repeat(3, attemptOp{account: victim, from: attacker, fast: true, want: bad}),
			[]attemptOp{{account: other, from: attacker, right: true, want: refused}},
		)},
		{name: "the block ends, and doubles when earned again", ops: ops(
			repeat(3, guess(attacker)),
			[]attemptOp{{at: time.Minute, account: victim, from: "198.51.100.2", right: true, want: okAuth}},
			repeat(3, attemptOp{at: time.Minute, account: victim, from: attacker2, want: bad}),
			[]attemptOp{
				{at: 2*time.Minute + time.Second, account: victim, from: "198.51.100.3", right: true, want: refused},
				{at: 3 * time.Minute, account: victim, from: "198.51.100.3", right: true, want: okAuth},
			},
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg
			if c.Threshold == 0 {
				c = cfg
			}
			l := NewLimiter(c)
			for i, op := range tt.ops {
				if got := op.run(l); got != op.want {
					t.Fatalf("op %d (%s from %s at %v, right=%v): %s, want %s", i, op.account, op.from, op.at, op.right, got, op.want)
				}
			}
		})
	}
}

// TestBeginKnownTTL: an address stops being known KnownTTL after its last
// success, and each success renews it.
func TestBeginKnownTTL(t *testing.T) {
	l := NewLimiter(LimiterConfig{Threshold: 2, KnownTTL: time.Hour})
	home := netip.MustParseAddr("192.0.2.10")
	login := func(at time.Duration) {
		a, _, ok := l.Begin("user:alice", home, "", true, t0.Add(at))
		if !ok || !a.Reserve() {
			t.Fatalf("login at %v refused", at)
		}
		a.Succeed()
	}
	known := func(at time.Duration) bool {
		a, _, ok := l.Begin("user:alice", home, "", true, t0.Add(at))
		defer a.Abandon()
		return ok && a.Known()
	}
	login(0)
	if !known(59 * time.Minute) {
		t.Fatal("the address is not known right after a success")
	}
	login(50 * time.Minute)
	if !known(100 * time.Minute) {
		t.Fatal("a second success did not renew the address")
	}
	if known(111 * time.Minute) {
		t.Fatal("the address is still known after KnownTTL")
	}
}

// TestAttemptFloodIsBoundedBeforeHashing is issue 8's "parallel requests
// outrun the limiter": 200 concurrent wrong secrets for one bcrypt client
// compute at most Threshold hashes, then the victim, from the address it
// used before the flood, still gets in.
func TestAttemptFloodIsBoundedBeforeHashing(t *testing.T) {
	const threshold = 10
	l := NewLimiter(LimiterConfig{Threshold: threshold})
	v, computed := countingVerifier(VerifierConfig{MaxConcurrent: 4, MaxWait: -1})
	h := mustBcrypt(t, "the-right-secret")
	home := netip.MustParseAddr("192.0.2.10")
	authenticate := func(from netip.Addr, sec string) (string, time.Duration) {
		a, retry, ok := l.Begin("client:slow", from, "", true, t0)
		if !ok {
			return refused, retry
		}
		match, err := v.VerifyGated(context.Background(), h, sec, &a)
		switch {
		case errors.Is(err, ErrThrottled):
			return refused, a.Fail()
		case err != nil:
			a.Abandon()
			return "busy", 0
		case !match:
			a.Fail()
			return bad, 0
		}
		a.Succeed()
		return okAuth, 0
	}
	if got, _ := authenticate(home, "the-right-secret"); got != okAuth {
		t.Fatalf("victim before the flood: %s", got)
	}
	computed.Store(0)

	var wg sync.WaitGroup
	var outcomes sync.Map
	var n429 atomic.Int64
	start := make(chan struct{})
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			from := netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
			got, retry := authenticate(from, fmt.Sprint("guess-", i))
			outcomes.Store(i, got)
			if got == refused {
				n429.Add(1)
				if retry <= 0 {
					t.Errorf("a refusal without Retry-After")
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if c := computed.Load(); c > threshold {
		t.Errorf("%d hashes computed for 200 parallel guesses, want at most %d", c, threshold)
	}
	if n429.Load() < 200-threshold {
		t.Errorf("%d of 200 guesses refused, want at least %d", n429.Load(), 200-threshold)
	}
	// The victim's cached secret would pass without a hash; a fresh
	// Verifier makes it compute, through its own reservation.
	v, _ = countingVerifier(VerifierConfig{})
	if got, _ := authenticate(home, "the-right-secret"); got != okAuth {
		t.Fatalf("victim after the flood: %s, want ok", got)
	}
	if got, _ := authenticate(netip.MustParseAddr("198.51.100.1"), "the-right-secret"); got != refused {
		t.Fatalf("a newcomer with the right secret after the flood: %s, want 429 (the id is blocked for unknown addresses)", got)
	}
}

// TestAttemptBlockedIsNoOracle: while an account is blocked, a right guess
// whose verification is cached is refused like a wrong one, so the block
// cannot be used to test guesses for free.
func TestAttemptBlockedIsNoOracle(t *testing.T) {
	l := NewLimiter(LimiterConfig{Threshold: 2})
	v := NewVerifier(VerifierConfig{})
	h := mustBcrypt(t, "right")
	home, attacker := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("203.0.113.66")
	try := func(from netip.Addr, sec string) string {
		a, _, ok := l.Begin("client:c", from, "", true, t0)
		if !ok {
			return refused
		}
		match, err := v.VerifyGated(context.Background(), h, sec, &a)
		switch {
		case errors.Is(err, ErrThrottled):
			a.Fail()
			return refused
		case err != nil || !match:
			a.Fail()
			return bad
		}
		a.Succeed()
		return okAuth
	}
	if got := try(home, "right"); got != okAuth { // caches the right secret
		t.Fatal(got)
	}
	try(attacker, "w1")
	try(attacker, "w2")
	for _, sec := range []string{"w3", "right"} {
		if got := try(attacker, sec); got != refused {
			t.Errorf("guess %q from the blocked attacker: %s, want 429", sec, got)
		}
	}
}

// TestAttemptAbandonCountsNothing: a busy Verifier is not a failure.
func TestAttemptAbandonCountsNothing(t *testing.T) {
	l := NewLimiter(LimiterConfig{Threshold: 1})
	addr := netip.MustParseAddr("192.0.2.1")
	for range 3 {
		a, _, ok := l.Begin("client:c", addr, "", true, t0)
		if !ok || !a.Reserve() {
			t.Fatal("refused")
		}
		a.Abandon()
	}
	if l.Len() != 0 {
		t.Errorf("Len = %d after abandoned attempts, want 0", l.Len())
	}
}

func TestLimiterReservations(t *testing.T) {
	const k = "client:x"
	cfg := LimiterConfig{Threshold: 2, Window: time.Minute, Block: time.Minute}
	runSteps(t, NewLimiter(cfg), []step{
		{op: "reserve", key: k, ok: true},
		{op: "reserve", key: k, ok: true},
		{op: "reserve", key: k, ok: false, retry: retryBusy, comment: "two in flight reach the threshold"},
		{op: "settle-ok", key: k},
		{op: "reserve", key: k, ok: true, comment: "a success frees its slot"},
		{op: "settle-fail", key: k},
		{op: "settle-fail", key: k, retry: time.Minute, comment: "the second failure blocks"},
		{op: "reserve", key: k, ok: false, retry: time.Minute},
		{at: time.Minute, op: "reserve", key: k, ok: true},
		{at: time.Minute, op: "settle-ok", key: k},
	})
	l := NewLimiter(cfg)
	l.Reserve(k, t0)
	l.Settle(k, t0, false)
	if l.Len() != 0 {
		t.Errorf("a settled success left %d keys", l.Len())
	}
}

// TestLimiterPendingNotEvicted: a key with an attempt in flight survives a
// spray that fills its shard, so its reservation settles on the right key.
func TestLimiterPendingNotEvicted(t *testing.T) {
	l := NewLimiter(LimiterConfig{Threshold: 1, MaxKeys: 64})
	if ok, _ := l.Reserve("held", t0); !ok {
		t.Fatal("refused")
	}
	for i := range 500 {
		l.Fail(fmt.Sprint("spray", i), t0)
	}
	if d := l.Settle("held", t0, true); d == 0 {
		t.Error("the held key's failure did not block it: its entry was evicted")
	}
}

func TestDecoys(t *testing.T) {
	bc := mustBcrypt(t, "x")
	sha := mustParse(t, NewSHA256("y"))
	d, err := NewDecoys(bc, sha, sha, Hash{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[Scheme]int{}
	for i := range 3000 {
		id := fmt.Sprint("unknown-", i)
		h := d.For(id)
		if h != d.For(id) {
			t.Fatal("an id got two different decoys")
		}
		if i < 10 && (h.Verify(id) || h.Verify("x") || h.Verify("y")) {
			t.Fatal("a decoy verified a secret")
		}
		counts[h.Scheme()]++
	}
	if c, _ := d.For("a").BcryptCost(); d.For("a").Scheme() == Bcrypt && c != MinBcryptCost {
		t.Errorf("the bcrypt decoy has cost %d, want the real hash's %d", c, MinBcryptCost)
	}
	// One bcrypt and two sha256 hashes: about a third of unknown ids get
	// the bcrypt decoy.
	if b := counts[Bcrypt]; b < 800 || b > 1200 {
		t.Errorf("%d of 3000 unknown ids got the bcrypt decoy, want about 1000", b)
	}
	empty, err := NewDecoys()
	if err != nil {
		t.Fatal(err)
	}
	if h := empty.For("x"); !h.Slow() {
		t.Errorf("the decoy without real hashes is %s, want a slow hash", h.Scheme())
	}
}
