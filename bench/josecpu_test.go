package bench

import (
	"runtime"
	"testing"
)

// cpuLoop runs op in b.Loop with the goroutine locked to its OS thread and
// reports, beside ns/op (wall time, inflated when the machine is busy),
// cpu-ns/op: the thread's CPU time per operation, which counts the
// operation and the GC assists it pays, not the time spent waiting for a
// core. Background GC workers run on other threads and are not counted, so
// cpu-ns/op slightly favours the implementation that allocates more.
func cpuLoop(b *testing.B, op func() error) {
	b.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	start := threadCPU()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	if end := threadCPU(); start >= 0 && end >= 0 && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}
