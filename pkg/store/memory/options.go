package memory

import (
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
)

// Option configures New. Options are built only by this package.
type Option interface{ apply(*options) error }

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

type options struct {
	now   func() time.Time
	max   int
	sweep time.Duration
}

// WithMaxEntries bounds each of the four tables (codes, refresh families,
// revoked tokens, leases) to n entries; the default is DefaultMaxEntries.
// See the package documentation, "Bounded memory". n must be positive.
func WithMaxEntries(n int) Option {
	return optionFunc(func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("memory: max entries %d not positive: %w", n, store.ErrInvalidArgument)
		}
		o.max = n
		return nil
	})
}

// WithClock sets the clock that decides expiry, the way
// crypto/tls.Config.Time does. The default is time.Now. The background
// sweep's period is measured in real time regardless.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(o *options) error {
		if now == nil {
			return fmt.Errorf("memory: nil clock: %w", store.ErrInvalidArgument)
		}
		o.now = now
		return nil
	})
}

// WithSweepInterval sets the period of the background sweep that removes
// expired entries; the default is DefaultSweepInterval. Zero starts no
// goroutine: expired entries are then removed only as writes pass by and
// by calls to Sweep. A negative d is an error.
func WithSweepInterval(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d < 0 {
			return fmt.Errorf("memory: sweep interval %v negative: %w", d, store.ErrInvalidArgument)
		}
		o.sweep = d
		return nil
	})
}
