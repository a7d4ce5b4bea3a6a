//go:build !linux

package bench

import "time"

// threadCPU is not available here: reportCPU reports nothing.
func threadCPU() time.Duration { return -1 }
