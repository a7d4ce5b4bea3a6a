package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/bench/internal/loadkit"
)

// result is one measured run.
type result struct {
	n        int64
	elapsed  time.Duration
	rps      float64       // exchanges answered 200 per second of wall time
	cpu      float64       // CPU time of this process per exchange, µs
	redisCPU float64       // CPU time of the started redis-server per exchange, µs (0: not measured)
	p50, p99 time.Duration // latency of one exchange as the load generator sees it
	ranOut   bool          // the codes ran out before the duration
}

// drive exchanges codes at is from conns goroutines, each on its own
// keep-alive connection, until d has passed or the codes run out. Any
// answer but 200 is an error: each code is fresh and valid, so a refusal
// means the store or the server misbehaved.
func (e *env) drive(ctx context.Context, is *issuer, codes []string, conns int, d time.Duration) (result, error) {
	c := loadkit.Client(is.addr, conns, e.tlsClient)
	defer c.CloseIdleConnections()
	var next, ok atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, conns)
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), loadkit.ProcessCPU()
	redisCPU := is == e.other && e.redisProc != nil
	var rcpu0 time.Duration
	if redisCPU {
		rcpu0 = e.redisProc.cpuTime()
	}
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			body := make([]byte, 0, 1024)
			for time.Now().Before(stop) && ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(codes)) {
					return
				}
				req.Reset()
				req.Header.SetMethod("POST")
				req.SetRequestURI("https://127.0.0.1/token")
				req.Header.SetContentType("application/x-www-form-urlencoded")
				req.Header.Set("Authorization", e.auth)
				body = append(append(body[:0], "grant_type=authorization_code&code="...), codes[i]...)
				req.SetBody(body)
				t0 := time.Now()
				if err := c.DoTimeout(req, resp, 10*time.Second); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if resp.StatusCode() != 200 {
					firstErr.CompareAndSwap(nil, fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body()))
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), loadkit.ProcessCPU()-cpu0
	if err, _ := firstErr.Load().(error); err != nil {
		return result{}, fmt.Errorf("%s store: %w", is.name, err)
	}
	n := ok.Load()
	if n == 0 {
		return result{}, fmt.Errorf("%s store: no exchange completed", is.name)
	}
	r := result{n: n, elapsed: elapsed, rps: float64(n) / elapsed.Seconds(), cpu: float64(cpu.Microseconds()) / float64(n),
		ranOut: next.Load() >= int64(len(codes)) && time.Now().Before(stop)}
	if redisCPU {
		r.redisCPU = float64((e.redisProc.cpuTime() - rcpu0).Microseconds()) / float64(n)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	r.p50, r.p99 = percentile(all, 0.50), percentile(all, 0.99)
	return r, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(math.Ceil(p*float64(len(sorted))))-1)]
}

// codesFor returns how many codes to mint for a run of d at rate, with
// half again as many to spare, within [1000, max].
func codesFor(rate float64, d time.Duration, maxCodes int) int {
	return min(maxCodes, max(1000, int(1.5*rate*d.Seconds())))
}

// measure mints codes for is and runs warm-up and measurement.
func (e *env) measure(ctx context.Context, is *issuer, o options, rate *float64) (result, error) {
	if o.warmup > 0 {
		codes, err := is.mint(codesFor(*rate, o.warmup, o.maxCodes))
		if err != nil {
			return result{}, err
		}
		w, err := e.drive(ctx, is, codes, o.conns, o.warmup)
		if err != nil {
			return result{}, fmt.Errorf("warm-up: %w", err)
		}
		*rate = max(*rate, w.rps)
	}
	codes, err := is.mint(codesFor(*rate, o.duration, o.maxCodes))
	if err != nil {
		return result{}, err
	}
	runtime.GC() // the minted codes, not the previous run's garbage
	r, err := e.drive(ctx, is, codes, o.conns, o.duration)
	if err == nil {
		*rate = max(*rate, r.rps)
	}
	return r, err
}

// compare runs interleaved rounds of the memory store and the store under
// test.
func compare(ctx context.Context, e *env, o options, out io.Writer) error {
	name := e.other.name
	where := "redis " + e.other.store
	switch {
	case o.store == "file":
		where = "file store " + e.other.app.Config.StorePath + " (every write fsynced before the answer)"
	case e.redisProc == nil:
	case o.aof == "no":
		where += " (started here, appendonly no)"
	default:
		where += " (started here, appendonly yes, appendfsync " + o.aof + ")"
	}
	fmt.Fprintf(out, "redisload: authorization-code exchange, %d keep-alive TLS connections, %s per run after %s warm-up, %d rounds, GOMAXPROCS %d\n%s\n",
		o.conns, o.duration, o.warmup, o.rounds, runtime.GOMAXPROCS(0), where)
	// The first minting is sized on a guess; later ones on the best rate
	// seen, so that runs end on time rather than on codes.
	rate := 20000.0
	var ratios []float64
	res := map[string][]result{}
	for r := 1; r <= o.rounds; r++ {
		order := []*issuer{e.memory, e.other}
		if r%2 == 0 {
			order = []*issuer{e.other, e.memory}
		}
		for _, is := range order {
			if o.only != "" && o.only != is.name {
				continue
			}
			m, err := e.measure(ctx, is, o, &rate)
			if err != nil {
				return fmt.Errorf("round %d: %w", r, err)
			}
			res[is.name] = append(res[is.name], m)
			fmt.Fprintf(out, "round %d  %-6s  %s\n", r, is.name, m.line())
		}
		if o.only != "" {
			continue
		}
		mem, oth := res["memory"][r-1], res[name][r-1]
		ratios = append(ratios, oth.rps/mem.rps)
		fmt.Fprintf(out, "round %d  %s/memory req/s %.1f%%\n", r, name, 100*ratios[len(ratios)-1])
	}
	for _, n := range []string{"memory", name} {
		if len(res[n]) > 0 {
			fmt.Fprintf(out, "median   %-6s  %s\n", n, medianResult(res[n]).line())
		}
	}
	if o.only != "" {
		return nil
	}
	mem, oth := medianResult(res["memory"]), medianResult(res[name])
	fmt.Fprintf(out, "ratio    %s/memory req/s = %.1f%% (median of per-round ratios); CPU per exchange %+.1f µs in the issuer process",
		name, 100*loadkit.Median(ratios), oth.cpu-mem.cpu)
	if e.redisProc != nil {
		fmt.Fprintf(out, ", +%.1f µs in redis-server", oth.redisCPU)
	}
	fmt.Fprintln(out)
	return nil
}

func (m result) line() string {
	s := fmt.Sprintf("%8.0f req/s  %6.1f µs CPU/exchange", m.rps, m.cpu)
	if m.redisCPU > 0 {
		s += fmt.Sprintf(" (+%.1f µs redis-server)", m.redisCPU)
	}
	s += fmt.Sprintf("  p50 %s  p99 %s  (%d exchanges in %s)", m.p50.Round(10*time.Microsecond), m.p99.Round(10*time.Microsecond), m.n, m.elapsed.Round(time.Millisecond))
	if m.ranOut {
		s += "  codes ran out"
	}
	return s
}

// medianResult returns the per-field medians of rs.
func medianResult(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return loadkit.Median(v)
	}
	var n int64
	var el time.Duration
	for _, r := range rs {
		n += r.n
		el += r.elapsed
	}
	return result{
		n: n, elapsed: el,
		rps:      pick(func(r result) float64 { return r.rps }),
		cpu:      pick(func(r result) float64 { return r.cpu }),
		redisCPU: pick(func(r result) float64 { return r.redisCPU }),
		p50:      time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99:      time.Duration(pick(func(r result) float64 { return float64(r.p99) })),
	}
}
