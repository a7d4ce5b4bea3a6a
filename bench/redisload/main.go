// Command redisload measures what a persistent store (SPEC §7) costs the
// token endpoint: requests per second of the authorization-code exchange —
// the grant every request of which writes the store once (RedeemCode: one
// SET NX PXAT round trip to Redis, or one fsynced transaction of the file
// store) — served by an issuer on the Redis store (-store redis, the
// default) or on the durable file store (-store file) and by one on the
// memory store, in the same process, driven by the same load generator,
// in interleaved rounds so that machine noise hits both alike.
//
// Both issuers are the real service: internal/server.Build from a
// configuration (A256KW key rings on disk, request logs written through
// the server's LogWriter to a file, metrics on) served over keep-alive TLS
// on loopback; only the store differs. A confidential client exchanges
// each code with HTTP Basic authentication (a sha256$ secret) and gets an
// access token and a refresh token.
//
// Codes are minted before each measured run, outside the measurement, by
// sealing them with the issuer's internal ring exactly as /authorize does
// (the same claims: client, user, scope, audience, a fresh refresh family,
// no PKCE): the point is the cost of the store, not of the login. A run
// ends after -duration or when its codes run out, whichever is first; the
// number minted follows the rate of the warm-up, capped by -max-codes.
//
// Without -redis it starts redis-server (from PATH, or -redis-server) on a
// free 127.0.0.1 port with persistence as -aof says: "no" (the default; no
// AOF, no snapshots), "everysec" or "always" (appendonly yes with that
// appendfsync: what production Redis should run, see docs/SCALING.md).
// It reports, per run, the requests per second, the CPU time of this
// process per request (issuer and load generator), and for a started
// redis-server its CPU time per request too.
//
//	go run ./bench/redisload -duration 5s -rounds 3 -conns 32
//	go run ./bench/redisload -store file
//	go run ./bench/redisload -aof always
//	go run ./bench/redisload -redis redis://10.0.0.7:6379/0
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
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measured run")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds (each runs the memory store and the store under test)")
	flag.StringVar(&o.store, "store", "redis", `store under test beside memory: "redis" or "file"`)
	flag.IntVar(&o.conns, "conns", 32, "keep-alive TLS connections of the load generator")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each run")
	flag.StringVar(&o.redisURL, "redis", "", "URL of an existing Redis to use (default: start redis-server)")
	flag.StringVar(&o.redisBin, "redis-server", "redis-server", "redis-server binary to start when -redis is not given")
	flag.StringVar(&o.aof, "aof", "no", `persistence of the started redis-server: "no", "everysec" or "always"`)
	flag.IntVar(&o.maxCodes, "max-codes", 400_000, "most codes minted for one run (bounds memory and time)")
	flag.StringVar(&o.only, "only", "", `run only "memory" or only the store under test (for profiling)`)
	flag.Parse()
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "redisload:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.bound())
	defer cancel()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "redisload:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	duration, warmup time.Duration
	rounds, conns    int
	redisURL         string
	redisBin         string
	aof              string
	maxCodes         int
	only             string
	store            string
}

func (o options) validate() error {
	switch {
	case o.duration <= 0 || o.warmup < 0:
		return fmt.Errorf("-duration must be positive and -warmup not negative")
	case o.rounds < 1 || o.conns < 1 || o.maxCodes < 1:
		return fmt.Errorf("-rounds, -conns and -max-codes must be at least 1")
	case o.store != "redis" && o.store != "file":
		return fmt.Errorf(`-store must be "redis" or "file", got %q`, o.store)
	case o.aof != "no" && o.aof != "everysec" && o.aof != "always":
		return fmt.Errorf(`-aof must be "no", "everysec" or "always", got %q`, o.aof)
	case o.only != "" && o.only != "memory" && o.only != o.store:
		return fmt.Errorf(`-only must be "memory" or %q, got %q`, o.store, o.only)
	case o.redisURL != "" && o.aof != "no":
		return fmt.Errorf("-aof applies to a started redis-server, not to -redis")
	case o.store == "file" && (o.redisURL != "" || o.aof != "no"):
		return fmt.Errorf("-redis and -aof apply to -store redis")
	}
	return nil
}

// bound is the longest the whole run may take: every run and warm-up, plus
// a generous allowance for set-up and minting.
func (o options) bound() time.Duration {
	return time.Duration(2*o.rounds)*(o.duration+o.warmup)*2 + 2*time.Minute
}

func run(ctx context.Context, o options, out io.Writer) error {
	e, err := setup(ctx, o)
	if err != nil {
		return err
	}
	defer e.close()
	return compare(ctx, e, o, out)
}
