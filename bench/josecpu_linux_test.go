//go:build linux

package bench

import (
	"syscall"
	"time"
)

// rusageThread is RUSAGE_THREAD (Linux): the calling thread's usage.
const rusageThread = 1

// threadCPU returns the CPU time the calling OS thread has used, or -1.
// Benchmarks that lock their goroutine to its thread read it before and
// after the loop: the difference is their own CPU, which waiting for a
// core on a busy machine does not inflate (see reportCPU).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
