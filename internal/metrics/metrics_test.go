package metrics_test

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/metrics"
)

func TestExpositionFormat(t *testing.T) {
	r := metrics.NewRegistry()
	req := r.CounterVec("issuer_requests_total", "Requests by endpoint.", "endpoint", "outcome")
	lat := r.HistogramVec("issuer_request_duration_seconds", "Latency.", []float64{0.001, 0.01}, "endpoint")
	plain := r.Counter("issuer_plain_total", "A counter\\with a backslash and\na newline in its help.")
	r.GaugeFunc("issuer_ring_age_seconds", "Age.", []string{"ring"}, func(emit metrics.Emit) {
		emit(3.5, "b")
		emit(1, "a")
		emit(9, "too", "many") // dropped
	})
	metrics.RegisterRuntime(r, time.Unix(1700000000, 0))

	req.With("token", "ok").Add(3)
	req.With("token", `weird "value"`+"\n\\").Inc()
	lat.With("token").Observe(500 * time.Microsecond)
	lat.With("token").Observe(5 * time.Millisecond)
	lat.With("token").Observe(time.Second)
	plain.Inc()

	text := string(r.AppendText(nil))
	types, samples, err := parseText(text)
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, text)
	}
	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{name: "labelled counter", metric: "issuer_requests_total", labels: map[string]string{"endpoint": "token", "outcome": "ok"}, want: 3},
		{name: "escaped label value round-trips", metric: "issuer_requests_total", labels: map[string]string{"endpoint": "token", "outcome": `weird "value"` + "\n\\"}, want: 1},
		{name: "first bucket", metric: "issuer_request_duration_seconds_bucket", labels: map[string]string{"endpoint": "token", "le": "0.001"}, want: 1},
		{name: "second bucket is cumulative", metric: "issuer_request_duration_seconds_bucket", labels: map[string]string{"endpoint": "token", "le": "0.01"}, want: 2},
		{name: "+Inf bucket", metric: "issuer_request_duration_seconds_bucket", labels: map[string]string{"endpoint": "token", "le": "+Inf"}, want: 3},
		{name: "count", metric: "issuer_request_duration_seconds_count", labels: map[string]string{"endpoint": "token"}, want: 3},
		{name: "sum in seconds", metric: "issuer_request_duration_seconds_sum", labels: map[string]string{"endpoint": "token"}, want: 1.0055},
		{name: "unlabelled counter", metric: "issuer_plain_total", labels: map[string]string{}, want: 1},
		{name: "gauge func", metric: "issuer_ring_age_seconds", labels: map[string]string{"ring": "b"}, want: 3.5},
		{name: "process start", metric: "process_start_time_seconds", labels: map[string]string{}, want: 1700000000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range samples {
				if s.name == tt.metric && sameLabels(s.labels, tt.labels) {
					if d := s.value - tt.want; d > 1e-9 || d < -1e-9 {
						t.Fatalf("%s%v = %v, want %v", tt.metric, tt.labels, s.value, tt.want)
					}
					return
				}
			}
			t.Fatalf("no sample %s%v in\n%s", tt.metric, tt.labels, text)
		})
	}
	for name, want := range map[string]string{
		"issuer_requests_total": "counter", "issuer_request_duration_seconds": "histogram",
		"issuer_ring_age_seconds": "gauge", "go_goroutines": "gauge", "go_gc_completed_cycles_total": "counter",
	} {
		if types[name] != want {
			t.Errorf("TYPE of %s = %q, want %q", name, types[name], want)
		}
	}
	if strings.Contains(text, "too") {
		t.Error("a sample with the wrong number of labels was written")
	}
	// Gauge samples are sorted by label values.
	if strings.Index(text, `ring="a"`) > strings.Index(text, `ring="b"`) {
		t.Error("gauge samples are not sorted")
	}
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRegistrationPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func(r *metrics.Registry)
	}{
		{name: "invalid metric name", f: func(r *metrics.Registry) { r.Counter("1abc", "") }},
		{name: "reserved label name", f: func(r *metrics.Registry) { r.CounterVec("a_total", "", "__x") }},
		{name: "le on a histogram", f: func(r *metrics.Registry) { r.HistogramVec("a_seconds", "", []float64{1}, "le") }},
		{name: "unsorted buckets", f: func(r *metrics.Registry) { r.HistogramVec("a_seconds", "", []float64{2, 1}) }},
		{name: "duplicate name", f: func(r *metrics.Registry) { r.Counter("a_total", ""); r.Counter("a_total", "") }},
		{name: "wrong label count", f: func(r *metrics.Registry) { r.CounterVec("a_total", "", "x").With("1", "2") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.f(metrics.NewRegistry())
		})
	}
}

func TestConcurrentCounting(t *testing.T) {
	r := metrics.NewRegistry()
	c := r.CounterVec("x_total", "", "k")
	h := r.HistogramVec("x_seconds", "", metrics.DefaultLatencyBuckets)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				c.With("a").Inc()
				h.With().Observe(time.Duration(i) * time.Microsecond)
				if i%100 == 0 {
					_ = r.AppendText(nil)
				}
			}
		}()
	}
	wg.Wait()
	if got := c.With("a").Value(); got != 8000 {
		t.Fatalf("count = %d, want 8000", got)
	}
	if got := h.With().Count(); got != 8000 {
		t.Fatalf("histogram count = %d, want 8000", got)
	}
	if _, _, err := parseText(string(r.AppendText(nil))); err != nil {
		t.Fatal(err)
	}
}

func FuzzLabelValue(f *testing.F) {
	for _, s := range []string{"", "ok", `a"b`, "a\\b", "line\nbreak", "\xff\x00", `\n`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := metrics.NewRegistry()
		r.CounterVec("f_total", "help "+v, "v").With(v).Inc()
		_, samples, err := parseText(string(r.AppendText(nil)))
		if err != nil {
			t.Fatalf("value %q: %v", v, err)
		}
		if len(samples) != 1 || samples[0].labels["v"] != v {
			t.Fatalf("value %q did not round-trip: %+v", v, samples)
		}
	})
}

func ExampleRegistry() {
	r := metrics.NewRegistry()
	issued := r.CounterVec("issuer_tokens_issued_total", "Tokens issued, by type.", "type")
	issued.With("access").Add(2)
	issued.With("refresh").Inc()
	_, _ = os.Stdout.Write(r.AppendText(nil))
	// Output:
	// # HELP issuer_tokens_issued_total Tokens issued, by type.
	// # TYPE issuer_tokens_issued_total counter
	// issuer_tokens_issued_total{type="access"} 2
	// issuer_tokens_issued_total{type="refresh"} 1
}
