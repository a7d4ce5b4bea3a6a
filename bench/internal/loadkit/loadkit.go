// Package loadkit holds what the load-test programs under bench/ share:
// the keep-alive TLS load client, the process CPU clock, and medians.
package loadkit

import (
	"crypto/tls"
	"slices"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Client returns a keep-alive client of addr with up to conns
// connections, which the load generators drive one goroutine per
// connection: TLS with tlsConf, or plain HTTP when tlsConf is nil.
func Client(addr string, conns int, tlsConf *tls.Config) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr: addr, IsTLS: tlsConf != nil, TLSConfig: tlsConf.Clone(), MaxConns: conns,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, MaxIdleConnDuration: time.Minute,
	}
}

// ProcessCPU returns this process's user plus system CPU time
// (getrusage(RUSAGE_SELF)); differences measure the CPU a run cost,
// undisturbed by time spent waiting for a CPU.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Median returns the median of v (the mean of the middle two for an even
// count), 0 for none. v is not modified.
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
