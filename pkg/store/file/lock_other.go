//go:build !unix

package file

import (
	"errors"
	"os"
	"time"
)

var errWouldBlock = errors.New("file: lock held by another process")

// lockShared takes no lock where flock does not exist: the pages are then
// checked without excluding a writer, and bbolt's own lock, taken next,
// still keeps a second writer out.
func lockShared(*os.File, time.Duration) error { return nil }
