package server

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestStripedHistogramMatchesClientGolang observes the same latencies,
// across every stripe, into a stripedHistogram and into client_golang's
// own histogram with the same buckets, and requires the same exposition:
// every cumulative bucket, the count and the sum.
func TestStripedHistogramMatchesClientGolang(t *testing.T) {
	desc := prometheus.NewDesc("h", "h", []string{"l"}, nil)
	ref := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Help: "h", Buckets: latencyBuckets[:]})
	var h stripedHistogram
	// Every bound, a nanosecond either side of it, zero, and beyond the
	// last bound (+Inf).
	var ds []time.Duration
	for _, b := range latencyBounds {
		ds = append(ds, b-1, b, b+1)
	}
	ds = append(ds, 0, 3*time.Second, time.Hour)
	for i, d := range ds {
		h.observe(uint(i), d)
		ref.Observe(d.Seconds())
	}
	got, want := write(t, h.metric(desc, "x")).GetHistogram(), write(t, ref).GetHistogram()
	if got.GetSampleCount() != want.GetSampleCount() || got.GetSampleCount() != uint64(len(ds)) {
		t.Errorf("count %d, client_golang %d, observed %d", got.GetSampleCount(), want.GetSampleCount(), len(ds))
	}
	if math.Abs(got.GetSampleSum()-want.GetSampleSum()) > 1e-9 {
		t.Errorf("sum %v, client_golang %v", got.GetSampleSum(), want.GetSampleSum())
	}
	if len(got.GetBucket()) != len(want.GetBucket()) {
		t.Fatalf("%d buckets, client_golang %d", len(got.GetBucket()), len(want.GetBucket()))
	}
	for i, b := range want.GetBucket() {
		g := got.GetBucket()[i]
		if g.GetUpperBound() != b.GetUpperBound() || g.GetCumulativeCount() != b.GetCumulativeCount() {
			t.Errorf("bucket le=%v: %d, client_golang le=%v: %d", g.GetUpperBound(), g.GetCumulativeCount(), b.GetUpperBound(), b.GetCumulativeCount())
		}
	}
}

// TestStripedCountersConcurrent counts from many goroutines on every
// stripe at once, scraping meanwhile, and requires no increment lost (run
// with -race, it also proves the stripes are accessed atomically).
func TestStripedCountersConcurrent(t *testing.T) {
	m := NewMetrics("test")
	ri, gi, oi := routeIndex(RouteToken), 1, 0
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	scraped := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				scraped <- nil
				return
			default:
				if _, err := m.Registry.Gather(); err != nil {
					scraped <- err
					return
				}
			}
		}
	}()
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				stripe := uint(w*each + i)
				m.count(stripe, ri, gi, oi)
				m.observe(stripe, ri, gi, time.Duration(i)*time.Microsecond)
				m.issued(stripe, issuedAccess)
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-scraped; err != nil {
		t.Fatalf("a scrape during the updates failed: %v", err)
	}
	want := uint64(workers * each)
	if got := m.req.requests[ri][gi][oi].Load().value(); got != want {
		t.Errorf("issuer_requests_total %d, want %d", got, want)
	}
	if got := m.req.issued[issuedAccess].value(); got != want {
		t.Errorf("issuer_tokens_issued_total{type=access} %d, want %d", got, want)
	}
	for _, h := range []*stripedHistogram{m.req.latency[ri].Load(), m.req.tokenLatency[gi].Load()} {
		if got := write(t, h.metric(prometheus.NewDesc("h", "h", nil, nil))).GetHistogram().GetSampleCount(); got != want {
			t.Errorf("histogram count %d, want %d", got, want)
		}
	}
}

func write(t *testing.T, m prometheus.Metric) *dto.Metric {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	return &out
}
