package metrics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ContentType is the media type of the text exposition format 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// kind is a metric family's TYPE.
type kind string

const (
	kindCounter   kind = "counter"
	kindGauge     kind = "gauge"
	kindHistogram kind = "histogram"
)

// family is one metric family: a name, help, type and its series.
type family interface {
	name() string
	appendText(dst []byte) []byte
}

// Registry is a set of metric families, written in registration order.
type Registry struct {
	mu       sync.Mutex
	families []family
	names    map[string]bool
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{names: map[string]bool{}} }

func (r *Registry) register(f family) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names[f.name()] {
		panic("metrics: duplicate metric " + f.name())
	}
	r.names[f.name()] = true
	r.families = append(r.families, f)
}

// AppendText appends every family in the text exposition format to dst.
func (r *Registry) AppendText(dst []byte) []byte {
	r.mu.Lock()
	fs := slices.Clone(r.families)
	r.mu.Unlock()
	for _, f := range fs {
		dst = f.appendText(dst)
	}
	return dst
}

// header is the HELP and TYPE lines of a family.
type header struct {
	fname, help string
	kind        kind
	labels      []string
}

func newHeader(name, help string, k kind, labels []string) header {
	if !validMetricName(name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	for _, l := range labels {
		if !validLabelName(l) || (k == kindHistogram && l == "le") {
			panic(fmt.Sprintf("metrics: invalid label name %q for %s", l, name))
		}
	}
	return header{fname: name, help: help, kind: k, labels: slices.Clone(labels)}
}

func (h *header) name() string { return h.fname }

func (h *header) appendHeader(dst []byte) []byte {
	dst = append(dst, "# HELP "...)
	dst = append(dst, h.fname...)
	dst = append(dst, ' ')
	dst = appendEscaped(dst, h.help, false)
	dst = append(dst, "\n# TYPE "...)
	dst = append(dst, h.fname...)
	dst = append(dst, ' ')
	dst = append(dst, h.kind...)
	return append(dst, '\n')
}

// appendSeriesName appends name{l1="v1",...[,extraName="extraValue"]}.
func appendSeriesName(dst []byte, name string, labels, values []string, extraName, extraValue string) []byte {
	dst = append(dst, name...)
	if len(labels) == 0 && extraName == "" {
		return dst
	}
	dst = append(dst, '{')
	for i, l := range labels {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, l...)
		dst = append(dst, `="`...)
		dst = appendEscaped(dst, values[i], true)
		dst = append(dst, '"')
	}
	if extraName != "" {
		if len(labels) > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, extraName...)
		dst = append(dst, `="`...)
		dst = append(dst, extraValue...)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// appendEscaped escapes backslash and newline (and, in label values, the
// double quote) as the exposition format requires.
func appendEscaped(dst []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			dst = append(dst, `\\`...)
		case c == '\n':
			dst = append(dst, `\n`...)
		case c == '"' && quote:
			dst = append(dst, `\"`...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// AppendFloat appends v as the exposition format writes sample values:
// Go's shortest representation, with +Inf, -Inf and NaN spelled so.
func AppendFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Counter is a monotonically increasing count.
type Counter struct{ v atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Value returns the current count.
func (c *Counter) Value() uint64 { return c.v.Load() }

// series is the set of label-value combinations of a vector, created on
// first use and never removed.
type series[T any] struct {
	mu   sync.RWMutex
	byKV map[string]*entry[T]
}

type entry[T any] struct {
	values []string
	v      *T
}

// get returns the series for values, creating it with mk. A hit does not
// allocate: the key is built in a stack buffer and the map is indexed with
// a string conversion the compiler does not copy.
func (s *series[T]) get(fname string, nlabels int, values []string, mk func() *T) *T {
	if len(values) != nlabels {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", fname, nlabels, len(values)))
	}
	var buf [256]byte
	key := buf[:0]
	for _, v := range values {
		key = append(key, v...)
		key = append(key, 0xff)
	}
	s.mu.RLock()
	e, ok := s.byKV[string(key)]
	s.mu.RUnlock()
	if ok {
		return e.v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byKV[string(key)]; ok {
		return e.v
	}
	if s.byKV == nil {
		s.byKV = map[string]*entry[T]{}
	}
	e = &entry[T]{values: slices.Clone(values), v: mk()}
	s.byKV[string(key)] = e
	return e.v
}

// sorted returns the entries sorted by label values.
func (s *series[T]) sorted() []*entry[T] {
	s.mu.RLock()
	es := make([]*entry[T], 0, len(s.byKV))
	for _, e := range s.byKV {
		es = append(es, e)
	}
	s.mu.RUnlock()
	slices.SortFunc(es, func(a, b *entry[T]) int { return slices.Compare(a.values, b.values) })
	return es
}

// CounterVec is a family of counters distinguished by label values.
type CounterVec struct {
	header
	s series[Counter]
}

// CounterVec registers a counter family with the given label names. Name
// it with a _total suffix, as the Prometheus conventions ask.
func (r *Registry) CounterVec(name, help string, labels ...string) *CounterVec {
	v := &CounterVec{header: newHeader(name, help, kindCounter, labels)}
	r.register(v)
	return v
}

// Counter registers a counter without labels.
func (r *Registry) Counter(name, help string) *Counter {
	return r.CounterVec(name, help).With()
}

// With returns the counter for the label values, in the order of the label
// names, creating it at zero on first use. It does not allocate once the
// series exists.
func (v *CounterVec) With(values ...string) *Counter {
	return v.s.get(v.fname, len(v.labels), values, func() *Counter { return new(Counter) })
}

func (v *CounterVec) appendText(dst []byte) []byte {
	dst = v.appendHeader(dst)
	for _, e := range v.s.sorted() {
		dst = appendSeriesName(dst, v.fname, v.labels, e.values, "", "")
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, e.v.Value(), 10)
		dst = append(dst, '\n')
	}
	return dst
}

// DefaultLatencyBuckets are histogram upper bounds, in seconds, suited to a
// token endpoint: 50 µs to 2.5 s.
var DefaultLatencyBuckets = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Histogram counts durations into buckets.
type Histogram struct {
	bounds []time.Duration // upper bounds, ascending; shared by the family
	counts []atomic.Uint64 // per bucket (not cumulative), plus +Inf last
	sumNs  atomic.Int64
}

// Observe records one duration. It allocates nothing and takes no lock.
func (h *Histogram) Observe(d time.Duration) {
	i := 0
	for i < len(h.bounds) && d > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// HistogramVec is a family of duration histograms distinguished by label
// values; values are written in seconds.
type HistogramVec struct {
	header
	bounds  []time.Duration
	seconds []float64
	s       series[Histogram]
}

// HistogramVec registers a histogram family of durations with the given
// bucket upper bounds in seconds (ascending; +Inf is implicit). Name it
// with a _seconds suffix.
func (r *Registry) HistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if len(buckets) == 0 || !slices.IsSorted(buckets) {
		panic("metrics: histogram " + name + " needs ascending buckets")
	}
	v := &HistogramVec{header: newHeader(name, help, kindHistogram, labels), seconds: slices.Clone(buckets)}
	for _, b := range buckets {
		v.bounds = append(v.bounds, time.Duration(b*float64(time.Second)))
	}
	r.register(v)
	return v
}

// With returns the histogram for the label values, creating it on first
// use. It does not allocate once the series exists.
func (v *HistogramVec) With(values ...string) *Histogram {
	return v.s.get(v.fname, len(v.labels), values, func() *Histogram {
		return &Histogram{bounds: v.bounds, counts: make([]atomic.Uint64, len(v.bounds)+1)}
	})
}

func (v *HistogramVec) appendText(dst []byte) []byte {
	dst = v.appendHeader(dst)
	var le []byte
	for _, e := range v.s.sorted() {
		h := e.v
		// Read the buckets once; the count is their total so that the
		// +Inf bucket and _count always agree, as the format requires.
		var cum uint64
		for i := range h.counts {
			cum += h.counts[i].Load()
			le = le[:0]
			if i < len(v.seconds) {
				le = AppendFloat(le, v.seconds[i])
			} else {
				le = append(le, "+Inf"...)
			}
			dst = appendSeriesName(dst, v.fname+"_bucket", v.labels, e.values, "le", string(le))
			dst = append(dst, ' ')
			dst = strconv.AppendUint(dst, cum, 10)
			dst = append(dst, '\n')
		}
		dst = appendSeriesName(dst, v.fname+"_sum", v.labels, e.values, "", "")
		dst = append(dst, ' ')
		dst = AppendFloat(dst, time.Duration(h.sumNs.Load()).Seconds())
		dst = append(dst, '\n')
		dst = appendSeriesName(dst, v.fname+"_count", v.labels, e.values, "", "")
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, cum, 10)
		dst = append(dst, '\n')
	}
	return dst
}

// Emit reports one sample of a function-backed family: its value and its
// label values in the order of the family's label names.
type Emit func(value float64, labelValues ...string)

// funcFamily is a gauge or counter family read at scrape time.
type funcFamily struct {
	header
	collect func(emit Emit)
}

// GaugeFunc registers a gauge family whose samples collect reports at
// scrape time, through emit, once per label combination. collect runs on
// the scraping goroutine and must be quick; samples with the wrong number
// of label values are dropped.
func (r *Registry) GaugeFunc(name, help string, labels []string, collect func(emit Emit)) {
	r.register(&funcFamily{header: newHeader(name, help, kindGauge, labels), collect: collect})
}

// CounterFunc is GaugeFunc for a counter kept elsewhere (it must only grow).
func (r *Registry) CounterFunc(name, help string, labels []string, collect func(emit Emit)) {
	r.register(&funcFamily{header: newHeader(name, help, kindCounter, labels), collect: collect})
}

func (f *funcFamily) appendText(dst []byte) []byte {
	type sample struct {
		values []string
		v      float64
	}
	var samples []sample
	f.collect(func(v float64, values ...string) {
		if len(values) == len(f.labels) {
			samples = append(samples, sample{slices.Clone(values), v})
		}
	})
	slices.SortStableFunc(samples, func(a, b sample) int { return slices.Compare(a.values, b.values) })
	dst = f.appendHeader(dst)
	for _, s := range samples {
		dst = appendSeriesName(dst, f.fname, f.labels, s.values, "", "")
		dst = append(dst, ' ')
		dst = AppendFloat(dst, s.v)
		dst = append(dst, '\n')
	}
	return dst
}
