// Command tokenload measures the token endpoint against a bare fasthttp
// handler (SPEC §8): client_credentials over keep-alive connections on
// loopback, with TLS and over plain HTTP (the way the issuer runs behind a
// TLS-terminating proxy), both servers driven by the same load generator,
// in interleaved rounds so that machine noise hits both alike.
//
// Every party is a process of its own; the program re-executes itself in
// each role (the environment variable TOKENLOAD_ROLE picks it):
//
//   - the token server: the real service, internal/server.Build from a dev
//     configuration (memory store, A256KW key rings on disk, request logs
//     through a LogWriter to a file, metrics on), serving one TLS and one
//     plain listener (the plain one believes X-Forwarded-Proto from
//     loopback, as behind a proxy);
//   - the baseline: a fasthttp.Server with the same TLS configuration and
//     certificate whose handler answers a fixed body of the token
//     response's size with the same headers, on a TLS and a plain listener;
//   - the load generator: one process per run, N goroutines each on its own
//     keep-alive connection, sending the same POST /token for the run's
//     duration;
//   - the orchestrator (the command as run): it starts the servers, runs
//     the generators, and reads each server process's own CPU time
//     (utime + stime in /proc/PID/stat) before and after each run.
//
// So a server's CPU per request is its own, not the generator's, and the
// generator's CPU (reported apart) does not flatter either side. Figures:
// requests per second, server CPU µs per request, and the token/baseline
// ratios of both, per transport (target: req/s ratio >= 70% with TLS).
//
// With -memcheck it instead issues -tokens tokens through the token
// server and reports the growth of that process's resident set size (SPEC
// §8: memory stays bounded; the bound checked is 64 MiB) and of its
// goroutine count (from its /metrics).
//
//	go run ./bench/tokenload -duration 5s -rounds 5 -conns 32
//	go run ./bench/tokenload -memcheck -tokens 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measured run")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds (each runs the baseline and the token endpoint, per transport)")
	flag.IntVar(&o.conns, "conns", 32, "keep-alive connections of the load generator")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each run")
	flag.StringVar(&o.transports, "transports", "tls,plain", "comma-separated: tls, plain")
	flag.BoolVar(&o.memcheck, "memcheck", false, "issue -tokens tokens and report memory growth instead")
	flag.IntVar(&o.tokens, "tokens", 1_000_000, "tokens to issue with -memcheck")
	flag.DurationVar(&o.maxTime, "max-time", 10*time.Minute, "bound on the whole -memcheck run")
	flag.StringVar(&o.only, "only", "", "run only \"token\" or only \"baseline\" (for profiling)")
	flag.Float64Var(&o.minRatio, "min-ratio", 0, "exit 1 if the TLS token/baseline req/s ratio is below this (0: report only)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the token server process (with -only baseline: of the baseline) to this file")
	flag.BoolVar(&o.persistent, "persistent", false, "keep one load generator process per server between runs, so that short runs (-duration 1s) can alternate quickly without a process start, a warm-up and TLS handshakes each time; the warm-up runs once per generator")
	flag.StringVar(&o.logLevel, "log-level", "", "the token server's log.level (empty: the configuration's default, info: one line per request; at warn no line for a successful request, while failed client authentications and errors are still logged)")
	flag.IntVar(&o.gcPercent, "gc-percent", 0, "the token server's limits.gc_percent (0: the configuration's default)")
	flag.StringVar(&o.alg, "alg", "A256KW", "the token server's keys.alg: A256KW (the default, a fresh content key per token) or dir")
	flag.DurationVar(&o.calibrate, "calibrate", 0, "also run, in the same rounds, a bare handler that spins this long per request in a busy loop (CPU with no memory traffic and no allocation, unless preempted) and report its req/s ratio to the bare one: about the best ratio any handler of that in-process cost reaches on this machine and generator (0: off)")
	flag.StringVar(&o.dpop, "dpop", "", "also run the token endpoint with a fresh DPoP proof per request signed with this algorithm (ES256, EdDSA) and report its cost beside a bearer token (SPEC §10)")
	flag.Parse()
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tokenload:", err)
		os.Exit(1)
	}
}

type options struct {
	duration, warmup, maxTime time.Duration
	rounds, conns, tokens     int
	transports                string
	memcheck                  bool
	only                      string
	minRatio                  float64
	cpuprofile                string
	dpop                      string
	alg                       string
	gcPercent                 int
	persistent                bool
	logLevel                  string
	calibrate                 time.Duration
}

func run(ctx context.Context, o options, out io.Writer) error {
	if o.only != "" && o.only != roleToken && o.only != roleBaseline {
		return fmt.Errorf("-only %q: want %q or %q", o.only, roleToken, roleBaseline)
	}
	e, err := start(ctx, o)
	if err != nil {
		return err
	}
	defer e.close()
	if o.memcheck {
		return memcheck(e, o, out)
	}
	return compare(e, o, out)
}
