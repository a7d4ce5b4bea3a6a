package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play the child roles, as the command
// does: tokenload re-executes its own executable.
func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	os.Exit(m.Run())
}

// TestTokenloadRuns keeps the load test from rotting: a short comparison
// over both transports and a small memory check must run and report their
// figures, the server CPU measured in the server processes. The numbers
// themselves are measured by "go run ./bench/tokenload" (RESULTS-load.md).
func TestTokenloadRuns(t *testing.T) {
	tests := []struct {
		name string
		o    options
		want []string
	}{
		{name: "comparison", o: options{duration: 400 * time.Millisecond, rounds: 1, conns: 4, transports: "tls,plain"},
			want: []string{"round 1  tls    baseline", "round 1  tls    token", "round 1  plain  baseline", "round 1  plain  token",
				"ratio    tls    token/baseline req/s", "ratio    plain  token/baseline req/s", "(median of 1 per-round ratios, from ", "separate processes"}},
		{name: "keys.alg dir", o: options{duration: 300 * time.Millisecond, rounds: 1, conns: 2, transports: "tls", alg: "dir"},
			want: []string{"token server: keys.alg dir, GC percent 400, log.level info", "round 1  tls    token", "ratio    tls    token/baseline req/s"}},
		{name: "persistent generators", o: options{duration: 200 * time.Millisecond, warmup: 100 * time.Millisecond, rounds: 2, conns: 2, transports: "tls,plain", persistent: true},
			want: []string{"one generator per server kept between runs", "round 2  tls    ratio", "round 2  plain  ratio", "(median of 2 per-round ratios, from "}},
		{name: "limits.gc_percent", o: options{duration: 300 * time.Millisecond, rounds: 1, conns: 2, transports: "plain", gcPercent: 1600},
			want: []string{"token server: keys.alg A256KW, GC percent 1600, log.level info", "round 1  plain  token"}},
		{name: "log.level warn", o: options{duration: 300 * time.Millisecond, rounds: 1, conns: 2, transports: "tls", logLevel: "warn"},
			want: []string{"token server: keys.alg A256KW, GC percent 400, log.level warn", "round 1  tls    token"}},
		{name: "calibration: a bare handler with busy work", o: options{duration: 300 * time.Millisecond, warmup: 100 * time.Millisecond, rounds: 1, conns: 2, transports: "tls", persistent: true, calibrate: 2 * time.Millisecond},
			want: []string{"round 1  tls    work", "work     tls    a bare handler burning 2ms of CPU per request: "}},
		{name: "memory check", o: options{memcheck: true, tokens: 3000, conns: 4, maxTime: time.Minute},
			want: []string{"memcheck: 3000 tokens", "RSS       before", "goroutines before"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), tt.o, &out); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tt.o.calibrate > 0 {
				// The busy handler must really spend its work on each
				// request: a connection then carries at most one request
				// per D, whatever else the machine runs (CPU time would
				// not do: a busy loop preempted on a loaded machine burns
				// less than its wall time).
				m := regexp.MustCompile(`median   tls    work +(\d+) req/s`).FindStringSubmatch(out.String())
				if m == nil {
					t.Fatalf("no median for the busy handler:\n%s", out.String())
				}
				rps, _ := strconv.ParseFloat(m[1], 64)
				if most := 1.25 * float64(tt.o.conns) / tt.o.calibrate.Seconds(); rps > most {
					t.Errorf("the busy handler answered %.0f req/s over %d connections, more than one per %s each allows (%.0f):\n%s",
						rps, tt.o.conns, tt.o.calibrate, most, out.String())
				}
			}
			if tt.name != "comparison" {
				return
			}
			for _, m := range regexp.MustCompile(`(\d+) req/s +([\d.]+) µs server CPU/request`).FindAllStringSubmatch(out.String(), -1) {
				if m[1] == "0" {
					t.Errorf("no throughput measured:\n%s", out.String())
				}
				if cpu, _ := strconv.ParseFloat(m[2], 64); cpu <= 0 {
					t.Errorf("no server CPU measured:\n%s", out.String())
				}
			}
		})
	}
}

// TestTokenloadRefusesUnknownOnly: -only names one of the two servers;
// anything else is refused before a process starts, naming the flag.
func TestTokenloadRefusesUnknownOnly(t *testing.T) {
	for _, only := range []string{"dpop", "work", "Token"} {
		err := run(context.Background(), options{only: only, duration: time.Millisecond, rounds: 1, conns: 1, transports: "tls"}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "-only") {
			t.Errorf("-only %q: got %v, want an error naming -only", only, err)
		}
	}
}
