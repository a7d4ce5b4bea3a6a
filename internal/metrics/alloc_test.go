//go:build !race

package metrics_test

import (
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/metrics"
)

func TestHotPathDoesNotAllocate(t *testing.T) {
	r := metrics.NewRegistry()
	c := r.CounterVec("a_total", "", "endpoint", "grant_type", "outcome")
	h := r.HistogramVec("a_seconds", "", metrics.DefaultLatencyBuckets, "endpoint")
	c.With("token", "client_credentials", "ok").Inc()
	h.With("token").Observe(time.Millisecond)
	tests := []struct {
		name string
		f    func()
	}{
		{name: "CounterVec.With hit and Inc", f: func() { c.With("token", "client_credentials", "ok").Inc() }},
		{name: "HistogramVec.With hit and Observe", f: func() { h.With("token").Observe(42 * time.Microsecond) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
				t.Fatalf("%v allocations per call, want 0", n)
			}
		})
	}
}
