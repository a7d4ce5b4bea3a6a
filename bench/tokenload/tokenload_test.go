package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTokenloadRuns keeps the load test from rotting: a short comparison
// and a small memory check must run and report their figures. The numbers
// themselves are measured by "go run ./bench/tokenload" (RESULTS-load.md).
func TestTokenloadRuns(t *testing.T) {
	tests := []struct {
		name string
		o    options
		want []string
	}{
		{name: "comparison", o: options{duration: 300 * time.Millisecond, rounds: 1, conns: 4}, want: []string{"round 1  baseline", "round 1  token", "ratio     token/baseline req/s"}},
		{name: "memory check", o: options{memcheck: true, tokens: 5000, conns: 4, maxTime: time.Minute}, want: []string{"memcheck: 5000 tokens", "RSS       before", "goroutines before"}},
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
			if m := regexp.MustCompile(`(\d+) req/s`).FindStringSubmatch(out.String()); tt.name == "comparison" && (m == nil || m[1] == "0") {
				t.Errorf("no throughput measured:\n%s", out.String())
			}
		})
	}
}
