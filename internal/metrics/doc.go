// Package metrics keeps the issuer's counters, histograms and gauges and
// writes them in the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), without a
// client library.
//
// The hot path only touches atomics: a [Counter] is one atomic add, a
// histogram observation two or three. Labelled series are looked up with
// [CounterVec.With] and [HistogramVec.With] without allocating once they
// exist, and callers on a hot path resolve them once and keep the pointer.
// Gauges whose value lives elsewhere (key ring ages, goroutines, heap) are
// read at scrape time through [Registry.GaugeFunc].
//
// Label cardinality is the caller's responsibility: never use a value a
// client chooses freely as a label value; map it onto a fixed set first.
//
// Registration methods panic on an invalid or duplicate metric name or a
// wrong number of label values, as regexp.MustCompile does: those are
// programming errors, fixed once, never caused by a request.
//
// A Registry and everything it returns is safe for concurrent use.
package metrics
