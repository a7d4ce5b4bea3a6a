package server

import (
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// BenchmarkMetricsRecord is the metrics work the handler does for one
// token request (Handler.done): the request counter and the latency
// histograms by endpoint and by grant type, through the children resolved
// into arrays on first use.
func BenchmarkMetricsRecord(b *testing.B) {
	m := NewMetrics("bench")
	ri, gi, oi := routeIndex(RouteToken), grantIndex(endpoint.GrantClientCredentials), outcomeIndex(nil, 200)
	d := 37 * time.Microsecond
	b.ReportAllocs()
	for b.Loop() {
		m.count(ri, gi, oi)
		m.observe(ri, gi, d)
	}
}
