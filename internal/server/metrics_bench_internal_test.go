package server

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// BenchmarkMetricsRecord is the metrics work the handler does for one
// token request (Handler.done): the request counter, the latency
// histograms by endpoint and by grant type, and the issued-token counter.
// impl=striped is the issuer's (metrics_stripe.go), each goroutine on a
// connection of its own; impl=client_golang is the library's vectors with
// their children resolved once, the issuer's earlier way. The parallel
// rows are what two cores serving requests at once pay: ns/op is wall
// time per request, so the CPU per request is twice that on two cores.
func BenchmarkMetricsRecord(b *testing.B) {
	ri, gi, oi := routeIndex(RouteToken), grantIndex(endpoint.GrantClientCredentials), outcomeIndex(nil, 200)
	d := 37 * time.Microsecond
	b.Run("impl=striped/parallel=1", func(b *testing.B) {
		m := NewMetrics("bench")
		b.ReportAllocs()
		for b.Loop() {
			recordStriped(m, 0, ri, gi, oi, d)
		}
	})
	b.Run("impl=striped/parallel=GOMAXPROCS", func(b *testing.B) {
		m := NewMetrics("bench")
		var conns atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			stripe := stripeOf(conns.Add(1))
			for pb.Next() {
				recordStriped(m, stripe, ri, gi, oi, d)
			}
		})
	})
	b.Run("impl=client_golang/parallel=1", func(b *testing.B) {
		r := newLibraryRecorder()
		b.ReportAllocs()
		for b.Loop() {
			r.record(d)
		}
	})
	b.Run("impl=client_golang/parallel=GOMAXPROCS", func(b *testing.B) {
		r := newLibraryRecorder()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.record(d)
			}
		})
	})
}

func recordStriped(m *Metrics, stripe uint, ri, gi, oi int, d time.Duration) {
	m.count(stripe, ri, gi, oi)
	m.observe(stripe, ri, gi, d)
	m.issued(stripe, issuedAccess)
}

// libraryRecorder is the same work on client_golang's own counter and
// histograms.
type libraryRecorder struct {
	requests, issued      prometheus.Counter
	latency, tokenLatency prometheus.Observer
}

func newLibraryRecorder() *libraryRecorder {
	h := prometheus.HistogramOpts{Name: "h", Help: "h", Buckets: latencyBuckets[:]}
	return &libraryRecorder{
		requests:     prometheus.NewCounter(prometheus.CounterOpts{Name: "c", Help: "c"}),
		issued:       prometheus.NewCounter(prometheus.CounterOpts{Name: "i", Help: "i"}),
		latency:      prometheus.NewHistogram(h),
		tokenLatency: prometheus.NewHistogram(h),
	}
}

func (r *libraryRecorder) record(d time.Duration) {
	r.requests.Inc()
	s := d.Seconds()
	r.latency.Observe(s)
	r.tokenLatency.Observe(s)
	r.issued.Inc()
}
