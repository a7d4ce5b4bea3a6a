// Command tokenload measures the token endpoint against a bare fasthttp TLS
// handler (SPEC §8): client_credentials over keep-alive TLS on loopback,
// both servers driven by the same load generator in the same run, with
// interleaved rounds so that machine noise hits both alike. It reports
// requests per second and their ratio (target: the token endpoint reaches
// at least 70% of the baseline).
//
// The token server is the real one: internal/server.Build from a dev
// configuration (memory store, A256KW key rings on disk, request logs
// written through a LogWriter to a file, metrics on). The baseline is a
// fasthttp.Server with the same TLS configuration and certificate whose
// handler answers a fixed body of the same size with the same headers.
//
// With -memcheck it instead issues -tokens tokens through the token
// server and reports the growth of the process's resident set size (SPEC
// §8: memory stays bounded; the bound checked is 64 MiB) and of the
// goroutine count.
//
//	go run ./bench/tokenload -duration 5s -rounds 3 -conns 32
//	go run ./bench/tokenload -memcheck -tokens 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"
)

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measured run")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds (each runs the baseline and the token endpoint)")
	flag.IntVar(&o.conns, "conns", 32, "keep-alive TLS connections of the load generator")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each run")
	flag.BoolVar(&o.memcheck, "memcheck", false, "issue -tokens tokens and report memory growth instead")
	flag.IntVar(&o.tokens, "tokens", 1_000_000, "tokens to issue with -memcheck")
	flag.DurationVar(&o.maxTime, "max-time", 10*time.Minute, "bound on the whole -memcheck run")
	flag.StringVar(&o.only, "only", "", "run only \"token\" or only \"baseline\" (for profiling)")
	flag.Float64Var(&o.minRatio, "min-ratio", 0, "exit 1 if the token/baseline ratio is below this (0: report only)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tokenload:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(context.Background(), o, os.Stdout); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "tokenload:", err)
		os.Exit(1)
	}
}

type options struct {
	duration, warmup, maxTime time.Duration
	rounds, conns, tokens     int
	memcheck                  bool
	only                      string
	minRatio                  float64
}

func run(ctx context.Context, o options, out io.Writer) error {
	env, err := setup(ctx)
	if err != nil {
		return err
	}
	defer env.close()
	if o.memcheck {
		return memcheck(env, o, out)
	}
	return compare(env, o, out)
}
