package server

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// stripes is the number of stripes a hot-path counter or histogram is split
// into. Every request adds to one counter and observes one or two
// histograms; with client_golang's own counter and histograms, one shared
// set of atomics, the cores serving requests at the same time fight over
// their cache lines: BenchmarkMetricsRecord measures 90 ns per request on
// one core but 660 ns of CPU per request with two cores recording at once.
// A request instead counts in the stripe of its connection (stripeOf), so
// requests on different connections rarely touch the same line (47 ns on
// one core, 49 ns of CPU each on two), and a scrape adds the stripes up.
const stripes = 16

// stripeOf is the stripe of the connection with fasthttp's id connID.
func stripeOf(connID uint64) uint { return uint(connID % stripes) }

// stripedCounter is a monotonic counter kept in cache-line-padded stripes.
type stripedCounter struct {
	s [stripes]struct {
		n atomic.Uint64
		_ [56]byte
	}
}

func (c *stripedCounter) inc(stripe uint) { c.s[stripe%stripes].n.Add(1) }

// value is the sum of the stripes.
func (c *stripedCounter) value() uint64 {
	var v uint64
	for i := range c.s {
		v += c.s[i].n.Load()
	}
	return v
}

// latencyBounds are latencyBuckets as durations, for a bucket search
// without floating point.
var latencyBounds = func() (b [len(latencyBuckets)]time.Duration) {
	for i, s := range latencyBuckets {
		b[i] = time.Duration(s * float64(time.Second))
	}
	return b
}()

// stripedHistogram is a latency histogram over latencyBuckets kept in
// stripes: per stripe the count of each bucket (not cumulative; the last
// one is +Inf) and the sum in nanoseconds. The total count is the sum of
// the buckets, so a scrape always sees a +Inf bucket equal to the count.
type stripedHistogram struct {
	s [stripes]struct {
		counts [len(latencyBuckets) + 1]atomic.Uint64
		sum    atomic.Int64 // nanoseconds
		_      [56]byte
	}
}

func (h *stripedHistogram) observe(stripe uint, d time.Duration) {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	st := &h.s[stripe%stripes]
	st.counts[i].Add(1)
	st.sum.Add(int64(d))
}

// metric returns the histogram as a constant client_golang metric of desc
// with the label values.
func (h *stripedHistogram) metric(desc *prometheus.Desc, labelValues ...string) prometheus.Metric {
	var counts [len(latencyBuckets) + 1]uint64
	var sum int64
	for i := range h.s {
		st := &h.s[i]
		for j := range counts {
			counts[j] += st.counts[j].Load()
		}
		sum += st.sum.Load()
	}
	buckets := make(map[float64]uint64, len(latencyBuckets))
	var cum uint64
	for j, le := range latencyBuckets {
		cum += counts[j]
		buckets[le] = cum
	}
	total := cum + counts[len(latencyBuckets)]
	return prometheus.MustNewConstHistogram(desc, total, time.Duration(sum).Seconds(), buckets, labelValues...)
}

// requestCollector exports the request metrics the handlers record in
// stripes: issuer_requests_total, issuer_request_duration_seconds,
// issuer_token_request_duration_seconds and issuer_tokens_issued_total.
// Series appear once first recorded, as a client_golang vector's children
// do, except those NewMetrics creates up front.
type requestCollector struct {
	requestsDesc, latencyDesc, tokenLatencyDesc, issuedDesc *prometheus.Desc

	requests     [len(routeLabels)][len(grantLabels)][len(outcomeLabels)]atomic.Pointer[stripedCounter]
	latency      [len(routeLabels)]atomic.Pointer[stripedHistogram]
	tokenLatency [len(grantLabels)]atomic.Pointer[stripedHistogram]
	issued       [len(issuedLabels)]stripedCounter
}

// issuedLabels are the values of issuer_tokens_issued_total's type label,
// in the order of requestCollector.issued.
var issuedLabels = [...]string{"access", "refresh", "code"}

const (
	issuedAccess = iota
	issuedRefresh
	issuedCode
)

func newRequestCollector() *requestCollector {
	return &requestCollector{
		requestsDesc: prometheus.NewDesc("issuer_requests_total",
			"HTTP requests handled, by endpoint, grant type and outcome (ok or the OAuth error code).",
			[]string{"endpoint", "grant_type", "outcome"}, nil),
		latencyDesc: prometheus.NewDesc("issuer_request_duration_seconds",
			"Time to handle a request, from routing to the response being ready.", []string{"endpoint"}, nil),
		tokenLatencyDesc: prometheus.NewDesc("issuer_token_request_duration_seconds",
			"Time to handle a token endpoint request, by grant type.", []string{"grant_type"}, nil),
		issuedDesc: prometheus.NewDesc("issuer_tokens_issued_total",
			"Tokens issued, by type (access, refresh, code).", []string{"type"}, nil),
	}
}

// loadOrNew returns the value of p, storing a new one first if it has none.
func loadOrNew[T any](p *atomic.Pointer[T]) *T {
	if v := p.Load(); v != nil {
		return v
	}
	p.CompareAndSwap(nil, new(T))
	return p.Load()
}

func (c *requestCollector) count(stripe uint, route, grant, outcome int) {
	loadOrNew(&c.requests[route][grant][outcome]).inc(stripe)
}

// tokenRoute is the index of RouteToken in routeLabels.
var tokenRoute = routeIndex(RouteToken)

func (c *requestCollector) observe(stripe uint, route, grant int, d time.Duration) {
	loadOrNew(&c.latency[route]).observe(stripe, d)
	if route == tokenRoute {
		loadOrNew(&c.tokenLatency[grant]).observe(stripe, d)
	}
}

func (c *requestCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.requestsDesc
	ch <- c.latencyDesc
	ch <- c.tokenLatencyDesc
	ch <- c.issuedDesc
}

func (c *requestCollector) Collect(ch chan<- prometheus.Metric) {
	for r := range c.requests {
		for g := range c.requests[r] {
			for o := range c.requests[r][g] {
				if s := c.requests[r][g][o].Load(); s != nil {
					ch <- prometheus.MustNewConstMetric(c.requestsDesc, prometheus.CounterValue, float64(s.value()),
						routeLabels[r], grantLabels[g], outcomeLabels[o])
				}
			}
		}
	}
	for r := range c.latency {
		if h := c.latency[r].Load(); h != nil {
			ch <- h.metric(c.latencyDesc, routeLabels[r])
		}
	}
	for g := range c.tokenLatency {
		if h := c.tokenLatency[g].Load(); h != nil {
			ch <- h.metric(c.tokenLatencyDesc, grantLabels[g])
		}
	}
	for i := range c.issued {
		ch <- prometheus.MustNewConstMetric(c.issuedDesc, prometheus.CounterValue, float64(c.issued[i].value()), issuedLabels[i])
	}
}
