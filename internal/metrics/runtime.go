package metrics

import (
	"runtime"
	"runtime/metrics"
	"time"
)

// RegisterRuntime registers the Go runtime basics under their customary
// names: go_goroutines, go_memstats_heap_alloc_bytes (live heap objects),
// go_memstats_heap_sys_bytes, go_gc_cycles_total (as a counter named
// go_gc_completed_cycles_total) and process_start_time_seconds. They are
// read with runtime/metrics at scrape time, which does not stop the world.
func RegisterRuntime(r *Registry, start time.Time) {
	read := func(name string) float64 {
		s := []metrics.Sample{{Name: name}}
		metrics.Read(s)
		switch s[0].Value.Kind() {
		case metrics.KindUint64:
			return float64(s[0].Value.Uint64())
		case metrics.KindFloat64:
			return s[0].Value.Float64()
		}
		return 0
	}
	r.GaugeFunc("go_goroutines", "Number of goroutines that currently exist.", nil, func(emit Emit) {
		emit(float64(runtime.NumGoroutine()))
	})
	r.GaugeFunc("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", nil, func(emit Emit) {
		emit(read("/memory/classes/heap/objects:bytes"))
	})
	r.GaugeFunc("go_memstats_heap_sys_bytes", "Bytes of heap memory obtained from the OS.", nil, func(emit Emit) {
		emit(read("/memory/classes/heap/objects:bytes") + read("/memory/classes/heap/unused:bytes") +
			read("/memory/classes/heap/free:bytes") + read("/memory/classes/heap/released:bytes"))
	})
	r.CounterFunc("go_gc_completed_cycles_total", "Completed garbage collection cycles.", nil, func(emit Emit) {
		emit(read("/gc/cycles/total:gc-cycles"))
	})
	r.GaugeFunc("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", nil, func(emit Emit) {
		emit(float64(start.UnixNano()) / 1e9)
	})
}
