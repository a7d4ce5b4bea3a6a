package redis

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
)

// Option configures New. Options are built only by this package.
type Option interface{ apply(*options) error }

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

type options struct {
	prefix   string
	timeout  time.Duration
	poolSize int
	tls      *tls.Config
}

// WithPrefix sets the namespace prefix of every key (default
// DefaultPrefix, "issuer:"), so several issuers, or other applications, can
// share one Redis database. Replicas of one issuer must use the same prefix.
// An empty prefix is an error: every key is namespaced.
func WithPrefix(prefix string) Option {
	return optionFunc(func(o *options) error {
		if prefix == "" {
			return fmt.Errorf("redis: empty key prefix: %w", store.ErrInvalidArgument)
		}
		o.prefix = prefix
		return nil
	})
}

// WithTimeout sets the dial, read, write and connection-pool timeouts,
// overriding the URL's; the default is DefaultTimeout for each one the URL
// leaves unset. It bounds how long an operation takes to fail with
// store.ErrUnavailable when the server is down or stalled. d must be
// positive.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("redis: timeout %v not positive: %w", d, store.ErrInvalidArgument)
		}
		o.timeout = d
		return nil
	})
}

// WithPoolSize sets the number of pooled connections, overriding the URL's
// pool_size; go-redis defaults to 10 per GOMAXPROCS. n must be positive.
func WithPoolSize(n int) Option {
	return optionFunc(func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("redis: pool size %d not positive: %w", n, store.ErrInvalidArgument)
		}
		o.poolSize = n
		return nil
	})
}

// WithTLSConfig sets the TLS configuration, for example to trust a private
// CA or present a client certificate; it makes a redis:// URL use TLS too.
// With rediss:// and no WithTLSConfig, the system roots verify the server,
// named by the URL's host, with TLS 1.2 or later. The config is cloned.
func WithTLSConfig(cfg *tls.Config) Option {
	return optionFunc(func(o *options) error {
		if cfg == nil {
			return fmt.Errorf("redis: nil TLS config: %w", store.ErrInvalidArgument)
		}
		o.tls = cfg.Clone()
		return nil
	})
}
