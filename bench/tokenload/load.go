package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/bench/internal/loadkit"
)

// result is one measured run.
type result struct {
	rps float64 // requests answered 200 per second of wall time
	cpu float64 // CPU time of the whole process (servers and load generator) per request, in µs
}

// drive sends the token request to addr from conns goroutines, each on its
// own keep-alive connection, for d. Any answer but 200 is an error.
func drive(e *env, addr string, conns int, d time.Duration) (result, error) {
	c := loadkit.Client(addr, conns, e.tlsClient)
	defer c.CloseIdleConnections()
	var ok atomic.Int64
	var firstErr atomic.Value
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), loadkit.ProcessCPU()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := e.tokenRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for time.Now().Before(stop) {
				if err := c.DoTimeout(req, resp, 10*time.Second); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if resp.StatusCode() != 200 {
					firstErr.CompareAndSwap(nil, fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body()))
					return
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), loadkit.ProcessCPU()-cpu0
	if err, _ := firstErr.Load().(error); err != nil {
		return result{}, err
	}
	n := float64(ok.Load())
	return result{rps: n / elapsed.Seconds(), cpu: float64(cpu.Microseconds()) / n}, nil
}

// compare runs interleaved rounds of baseline and token endpoint.
func compare(e *env, o options, out io.Writer) error {
	fmt.Fprintf(out, "tokenload: %d keep-alive TLS connections, %s per run after %s warm-up, %d rounds, GOMAXPROCS %d, body %d bytes\n",
		o.conns, o.duration, o.warmup, o.rounds, runtime.GOMAXPROCS(0), e.bodySize)
	var base, tok, ratios, baseCPU, tokCPU []float64
	for r := 1; r <= o.rounds; r++ {
		// Alternate the order so that drift in machine load over a round
		// does not favour either side.
		order := []string{"baseline", "token"}
		if r%2 == 0 {
			order = []string{"token", "baseline"}
		}
		for _, which := range order {
			if o.only != "" && o.only != which {
				continue
			}
			addr := e.baseAddr
			if which == "token" {
				addr = e.tokenAddr
			}
			if o.warmup > 0 {
				if _, err := drive(e, addr, o.conns, o.warmup); err != nil {
					return fmt.Errorf("%s warm-up: %w", which, err)
				}
			}
			res, err := drive(e, addr, o.conns, o.duration)
			if err != nil {
				return fmt.Errorf("%s: %w", which, err)
			}
			if which == "baseline" {
				base, baseCPU = append(base, res.rps), append(baseCPU, res.cpu)
			} else {
				tok, tokCPU = append(tok, res.rps), append(tokCPU, res.cpu)
			}
			fmt.Fprintf(out, "round %d  %-8s  %9.0f req/s  %6.1f µs CPU/request\n", r, which, res.rps, res.cpu)
		}
		if o.only != "" {
			continue
		}
		ratios = append(ratios, tok[len(tok)-1]/base[len(base)-1])
		fmt.Fprintf(out, "round %d  ratio     %8.1f%%\n", r, 100*ratios[len(ratios)-1])
	}
	if o.only != "" {
		return nil
	}
	mb, mt := loadkit.Median(base), loadkit.Median(tok)
	ratio := loadkit.Median(ratios)
	cb, ct := loadkit.Median(baseCPU), loadkit.Median(tokCPU)
	fmt.Fprintf(out, "median    baseline  %9.0f req/s  %6.1f µs CPU/request\n", mb, cb)
	fmt.Fprintf(out, "median    token     %9.0f req/s  %6.1f µs CPU/request\n", mt, ct)
	fmt.Fprintf(out, "ratio     token/baseline req/s = %.1f%% (median of per-round ratios; ratio of medians %.1f%%); target >= 70%%\n", 100*ratio, 100*mt/mb)
	fmt.Fprintf(out, "ratio     baseline/token CPU per request = %.1f%% (the req/s ratio of a CPU-bound run on an otherwise idle machine)\n", 100*cb/ct)
	if o.minRatio > 0 && ratio < o.minRatio {
		return fmt.Errorf("ratio %.1f%% below %.1f%%", 100*ratio, 100*o.minRatio)
	}
	return nil
}

// memLimit is the RSS growth SPEC §8's memory check allows.
const memLimit = 64 << 20

// memcheck issues o.tokens tokens through the token server and reports
// RSS and goroutine growth.
func memcheck(e *env, o options, out io.Writer) error {
	// Warm up: connections, pools, caches, key ring state.
	if _, err := drive(e, e.tokenAddr, o.conns, time.Second); err != nil {
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(200 * time.Millisecond)
	rss0, g0 := rss(), runtime.NumGoroutine()

	c := loadkit.Client(e.tokenAddr, o.conns, e.tlsClient)
	var issued atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(o.maxTime)
	var wg sync.WaitGroup
	start := time.Now()
	var peak atomic.Int64
	done := make(chan struct{})
	go func() { // sample the RSS while loading
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if r := rss(); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	for i := 0; i < o.conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := e.tokenRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for issued.Add(1) <= int64(o.tokens) && time.Now().Before(deadline) {
				if err := c.DoTimeout(req, resp, 10*time.Second); err != nil || resp.StatusCode() != 200 {
					firstErr.CompareAndSwap(nil, fmt.Errorf("request failed: %v (status %d)", err, resp.StatusCode()))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	elapsed := time.Since(start)
	c.CloseIdleConnections()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	n := min(issued.Load(), int64(o.tokens))
	if time.Now().After(deadline) {
		n = issued.Load() - int64(o.conns)
	}
	rssEnd := rss()
	time.Sleep(time.Second) // let idle connections and workers go
	runtime.GC()
	g1 := runtime.NumGoroutine()
	growth := max(peak.Load(), rssEnd) - rss0
	fmt.Fprintf(out, "memcheck: %d tokens in %s (%.0f tokens/s) over %d connections\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), o.conns)
	fmt.Fprintf(out, "RSS       before %.1f MiB, peak %.1f MiB, after %.1f MiB: growth %.1f MiB (limit 64 MiB)\n",
		mib(rss0), mib(max(peak.Load(), rssEnd)), mib(rssEnd), mib(growth))
	fmt.Fprintf(out, "goroutines before %d, after %d\n", g0, g1)
	if growth > memLimit {
		return fmt.Errorf("RSS grew %.1f MiB, more than 64 MiB", mib(growth))
	}
	if g1 > g0+5 {
		return fmt.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// rss returns the resident set size from /proc/self/status, in bytes
// (0 where /proc is unavailable).
func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
