//go:build unix

package file

import (
	"errors"
	"os"
	"syscall"
	"time"
)

var errWouldBlock = errors.New("file: lock held by another process")

// lockShared takes a shared flock on f, the lock bbolt's read-only opens
// take (bbolt's read-write open takes it exclusively), retrying until
// timeout. Closing f releases it.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return errWouldBlock
		}
		time.Sleep(50 * time.Millisecond)
	}
}
