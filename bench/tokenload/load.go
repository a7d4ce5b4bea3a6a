package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/bench/internal/loadkit"
)

// result is one measured run.
type result struct {
	rps    float64 // requests answered 200 per second of the generator's wall time
	cpu    float64 // the server process's own CPU time per request, µs
	genCPU float64 // the generator process's CPU time per request, µs
}

// measure runs a warm-up and a measured generator run against one server
// and reads the server's CPU time around the measured one. With
// -persistent the run is a burst of a generator kept for that server,
// warmed up once on its first run.
func measure(e *env, srv *child, useTLS bool, o options, dpopAlg string) (result, error) {
	addr := srv.info.Plain
	if useTLS {
		addr = srv.info.TLS
	}
	ctx := context.Background()
	var g *generator
	if o.persistent {
		var err error
		if g, err = e.persistentGenerator(ctx, addr, useTLS, o.conns, dpopAlg, o.warmup); err != nil {
			return result{}, err
		}
	} else if o.warmup > 0 {
		if _, _, err := e.generate(ctx, addr, useTLS, o.conns, o.warmup, 0, dpopAlg); err != nil {
			return result{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	cpu0, err := srv.cpu()
	if err != nil {
		return result{}, err
	}
	var res loadResult
	var gen time.Duration
	if g != nil {
		res, gen, err = g.burst(o.duration)
	} else {
		res, gen, err = e.generate(ctx, addr, useTLS, o.conns, o.duration, 0, dpopAlg)
	}
	if err != nil {
		return result{}, err
	}
	cpu1, err := srv.cpu()
	if err != nil {
		return result{}, err
	}
	n := float64(res.OK)
	return result{rps: n / res.Seconds, cpu: float64((cpu1 - cpu0).Microseconds()) / n, genCPU: float64(gen.Microseconds()) / n}, nil
}

// series collects one (transport, server) pair's runs.
type series struct{ rps, cpu, gen []float64 }

func (s *series) add(r result) {
	s.rps, s.cpu, s.gen = append(s.rps, r.rps), append(s.cpu, r.cpu), append(s.gen, r.genCPU)
}

// compare runs interleaved rounds of baseline and token endpoint, per
// transport, and reports both.
func compare(e *env, o options, out io.Writer) error {
	transports := strings.Split(o.transports, ",")
	if o.persistent {
		fmt.Fprintf(out, "tokenload: %d keep-alive connections, %s per run, %d rounds, %d CPUs, body %d bytes; servers and generators are separate processes, one generator per server kept between runs (warmed up %s once)\n",
			o.conns, o.duration, o.rounds, runtime.NumCPU(), e.bodySize, o.warmup)
	} else {
		fmt.Fprintf(out, "tokenload: %d keep-alive connections, %s per run after %s warm-up, %d rounds, %d CPUs, body %d bytes; servers and generator are separate processes\n",
			o.conns, o.duration, o.warmup, o.rounds, runtime.NumCPU(), e.bodySize)
	}
	fmt.Fprintf(out, "token server: keys.alg %s, GC percent %d, log.level %s\n", e.token.info.Alg, e.token.info.GCPercent, e.token.info.LogLevel)
	fmt.Fprintf(out, "CPU/request: the server process's own user+system time (/proc/PID/stat, 10 ms ticks) over the run; gen: the load generator's\n")
	type key struct{ transport, server string }
	all := map[key]*series{}
	ratios := map[string][]float64{}
	workRatios := map[string][]float64{} // -calibrate: busy bare handler / bare handler, per round
	var tlsRatios []float64
	for r := 1; r <= o.rounds; r++ {
		for _, tr := range transports {
			useTLS := tr == "tls"
			if !useTLS && tr != "plain" {
				return fmt.Errorf("unknown transport %q (want tls or plain)", tr)
			}
			// Alternate the order so that drift in machine load over a
			// round does not favour either side.
			order := []string{"baseline", "token"}
			if o.dpop != "" {
				// The token endpoint with a DPoP proof per request
				// (SPEC §10), beside the bearer token.
				order = append(order, "dpop")
			}
			if e.work != nil {
				order = append(order, "work")
			}
			if r%2 == 0 {
				slices.Reverse(order)
			}
			got := map[string]float64{}
			for _, which := range order {
				if o.only != "" && o.only != which { // -only runs one server, never the dpop or work rows
					continue
				}
				srv, alg := e.base, ""
				switch which {
				case "token":
					srv = e.token
				case "dpop":
					srv, alg = e.token, o.dpop
				case "work":
					srv = e.work
				}
				res, err := measure(e, srv, useTLS, o, alg)
				if err != nil {
					return fmt.Errorf("%s %s: %w", tr, which, err)
				}
				k := key{tr, which}
				if all[k] == nil {
					all[k] = &series{}
				}
				all[k].add(res)
				got[which] = res.rps
				fmt.Fprintf(out, "round %d  %-5s  %-8s  %9.0f req/s  %6.1f µs server CPU/request  (gen %5.1f µs)\n", r, tr, which, res.rps, res.cpu, res.genCPU)
			}
			if o.only == "" {
				ratio := got["token"] / got["baseline"]
				ratios[tr] = append(ratios[tr], ratio)
				if useTLS {
					tlsRatios = append(tlsRatios, ratio)
				}
				fmt.Fprintf(out, "round %d  %-5s  ratio     %8.1f%%\n", r, tr, 100*ratio)
				if w, ok := got["work"]; ok {
					workRatios[tr] = append(workRatios[tr], w/got["baseline"])
				}
			}
		}
	}
	for _, tr := range transports {
		for _, which := range []string{"baseline", "token", "dpop", "work"} {
			if s := all[key{tr, which}]; s != nil {
				fmt.Fprintf(out, "median   %-5s  %-8s  %9.0f req/s  %6.1f µs server CPU/request  (gen %5.1f µs)\n",
					tr, which, loadkit.Median(s.rps), loadkit.Median(s.cpu), loadkit.Median(s.gen))
			}
		}
		b, t := all[key{tr, "baseline"}], all[key{tr, "token"}]
		if b == nil || t == nil {
			continue
		}
		cb, ct := loadkit.Median(b.cpu), loadkit.Median(t.cpu)
		lo, hi := slices.Min(ratios[tr]), slices.Max(ratios[tr])
		fmt.Fprintf(out, "ratio    %-5s  token/baseline req/s = %.1f%% (median of %d per-round ratios, from %.1f%% to %.1f%%); baseline/token server CPU per request = %.1f%%; a token costs %.1f µs of server CPU more\n",
			tr, 100*loadkit.Median(ratios[tr]), len(ratios[tr]), 100*lo, 100*hi, 100*cb/ct, ct-cb)
		if w := all[key{tr, "work"}]; w != nil && len(workRatios[tr]) > 0 {
			fmt.Fprintf(out, "work     %-5s  a bare handler burning %s of CPU per request: %.1f%% of the bare handler's req/s (median of %d per-round ratios); it costs %.1f µs of server CPU more\n",
				tr, o.calibrate, 100*loadkit.Median(workRatios[tr]), len(workRatios[tr]), loadkit.Median(w.cpu)-cb)
		}
		if d := all[key{tr, "dpop"}]; d != nil {
			fmt.Fprintf(out, "dpop     %-5s  a DPoP-bound token (%s proof) costs %.1f µs of server CPU, %.1f µs more than a bearer token; the generator spends %.1f µs making each proof and request\n",
				tr, o.dpop, loadkit.Median(d.cpu), loadkit.Median(d.cpu)-ct, loadkit.Median(d.gen))
		}
	}
	if o.minRatio > 0 && len(tlsRatios) > 0 && loadkit.Median(tlsRatios) < o.minRatio {
		return fmt.Errorf("TLS ratio %.1f%% below %.1f%%", 100*loadkit.Median(tlsRatios), 100*o.minRatio)
	}
	return nil
}

// memLimit is the RSS growth SPEC §8's memory check allows.
const memLimit = 64 << 20

// memcheck issues o.tokens tokens through the token server (a generator
// process, over TLS) and reports the growth of the server process's RSS
// and goroutines.
func memcheck(e *env, o options, out io.Writer) error {
	ctx := context.Background()
	if _, _, err := e.generate(ctx, e.token.info.TLS, true, o.conns, time.Second, 0, ""); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	rss0 := e.token.rss()
	g0, err := goroutines(e)
	if err != nil {
		return err
	}
	var peak atomic.Int64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // sample the server's RSS while loading
		defer close(sampled)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if r := e.token.rss(); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	res, _, err := e.generate(ctx, e.token.info.TLS, true, o.conns, o.maxTime, o.tokens, "")
	close(done)
	<-sampled
	if err != nil {
		return err
	}
	rssEnd := e.token.rss()
	time.Sleep(time.Second) // let idle connections and workers go
	g1, err := goroutines(e)
	if err != nil {
		return err
	}
	top := max(peak.Load(), rssEnd)
	growth := top - rss0
	fmt.Fprintf(out, "memcheck: %d tokens in %.1fs (%.0f tokens/s) over %d connections; figures are the token server process's\n",
		res.OK, res.Seconds, float64(res.OK)/res.Seconds, o.conns)
	fmt.Fprintf(out, "RSS       before %.1f MiB, peak %.1f MiB, after %.1f MiB: growth %.1f MiB (limit 64 MiB)\n",
		mib(rss0), mib(top), mib(rssEnd), mib(growth))
	fmt.Fprintf(out, "goroutines before %d, after %d\n", g0, g1)
	if growth > memLimit {
		return fmt.Errorf("RSS grew %.1f MiB, more than 64 MiB", mib(growth))
	}
	if g1 > g0+5 {
		return fmt.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	return nil
}

var goroutinesLine = regexp.MustCompile(`(?m)^go_goroutines (\d+)`)

// goroutines reads go_goroutines from the token server's /metrics (on the
// plain listener: /metrics needs no TLS).
func goroutines(e *env) (int, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + e.token.info.Plain + "/metrics")
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		return 0, err
	}
	m := goroutinesLine.FindSubmatch(resp.Body())
	if m == nil {
		return 0, fmt.Errorf("no go_goroutines in /metrics (%d)", resp.StatusCode())
	}
	return strconv.Atoi(string(m[1]))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
