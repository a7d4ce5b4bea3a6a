package file

import (
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
)

// Option configures Open. Options are built only by this package.
type Option interface{ apply(*options) error }

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

type options struct {
	now         func() time.Time
	purge       time.Duration
	purgeBatch  int
	lockTimeout time.Duration
}

// Defaults of the options.
const (
	// DefaultPurgeInterval is how often the background purge looks for
	// expired entries.
	DefaultPurgeInterval = time.Second
	// DefaultPurgeBatch is the most expired entries one purge
	// transaction removes; a pass runs transactions until one removes
	// fewer.
	DefaultPurgeBatch = 1000
	// DefaultLockTimeout is how long Open waits for another process to
	// release the file before failing with ErrLocked.
	DefaultLockTimeout = time.Second
)

// WithClock sets the clock that decides expiry, the way
// crypto/tls.Config.Time does. The default is time.Now. The background
// purge's period is measured in real time regardless.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(o *options) error {
		if now == nil {
			return fmt.Errorf("file: nil clock: %w", store.ErrInvalidArgument)
		}
		o.now = now
		return nil
	})
}

// WithPurgeInterval sets the period of the background purge of expired
// entries (default DefaultPurgeInterval). Zero starts no goroutine:
// expired entries then stay in the file, invisible to every method, until
// Purge is called. A negative d is an error.
func WithPurgeInterval(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d < 0 {
			return fmt.Errorf("file: purge interval %v negative: %w", d, store.ErrInvalidArgument)
		}
		o.purge = d
		return nil
	})
}

// WithPurgeBatch bounds the expired entries one purge transaction removes
// (default DefaultPurgeBatch), so the purge never holds the writer for
// long. n must be positive.
func WithPurgeBatch(n int) Option {
	return optionFunc(func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("file: purge batch %d not positive: %w", n, store.ErrInvalidArgument)
		}
		o.purgeBatch = n
		return nil
	})
}

// WithLockTimeout sets how long Open waits for another process holding
// the file to let go of it (default DefaultLockTimeout). d must be
// positive.
func WithLockTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("file: lock timeout %v not positive: %w", d, store.ErrInvalidArgument)
		}
		o.lockTimeout = d
		return nil
	})
}
