package remote

import (
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// Option configures a Client. Options are built only by this package's
// With functions.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// Defaults.
const (
	// DefaultPollInterval is how often the Client checks the issuer's
	// metadata, signing keys, key delivery and list of status lists. The
	// issuer's keys.propagation (1 h by default) must exceed it.
	DefaultPollInterval = time.Minute
	// DefaultMaxBackoff bounds the wait between attempts after failures.
	DefaultMaxBackoff = 5 * time.Minute
	// DefaultRequestTimeout bounds one HTTP request.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultLeeway is the clock skew tolerated on tokens, deliveries and
	// status lists: the issuer's own default (tokens.leeway).
	DefaultLeeway = 30 * time.Second
)

type config struct {
	httpClient     *http.Client
	cacheFile      string
	interval       time.Duration
	maxBackoff     time.Duration
	requestTimeout time.Duration
	leeway         time.Duration
	policy         crypttoken.StatusPolicy
	onError        func(error)
	now            func() time.Time
}

func defaultConfig() config {
	return config{
		interval: DefaultPollInterval, maxBackoff: DefaultMaxBackoff,
		requestTimeout: DefaultRequestTimeout, leeway: DefaultLeeway, now: time.Now,
	}
}

// WithHTTPClient sets the HTTP client for every request to the issuer. By
// default the Client uses its own (TLS 1.2 at least, proxies from the
// environment, redirects only to https), whose idle connections Close
// closes; a client given here is the caller's to manage.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(o *config) error {
		if c == nil {
			return fmt.Errorf("%w: nil HTTP client", ErrConfig)
		}
		o.httpClient = c
		return nil
	})
}

// WithCacheFile keeps the last good copies of everything fetched in the
// file at path (mode 0600, replaced atomically), and starts from it, so
// that a resource server restarted while the issuer is unreachable still
// verifies tokens. The file holds the issuer's public documents and the
// key delivery as it was received, encrypted to the resource server's key:
// no key material in clear. Everything in it is verified again when it is
// loaded; a file writable by group or others is refused.
func WithCacheFile(path string) Option {
	return optionFunc(func(o *config) error {
		if path == "" {
			return fmt.Errorf("%w: empty cache file path", ErrConfig)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("%w: cache file %q: %w", ErrConfig, path, err)
		}
		o.cacheFile = abs
		return nil
	})
}

// WithPollInterval sets how often the issuer's keys are checked (default
// DefaultPollInterval, from 10 ms to 24 h), jittered by ±10% so that
// resource servers do not poll in step. It is an upper bound: when the
// issuer serves its signing keys or the key delivery with a shorter
// Cache-Control max-age (it derives it from its key propagation time), the
// Client polls that often instead, but not more than once a second. Status
// lists are fetched again as their "ttl" says, at least this often.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(o *config) error {
		if d < 10*time.Millisecond || d > 24*time.Hour {
			return fmt.Errorf("%w: poll interval %s out of range [10ms, 24h]", ErrConfig, d)
		}
		o.interval = d
		return nil
	})
}

// WithMaxBackoff bounds the exponential backoff after failed fetches
// (default DefaultMaxBackoff). The first retry comes after a second (or a
// quarter of the poll interval, if shorter), each further one waits twice
// as long, jittered.
func WithMaxBackoff(d time.Duration) Option {
	return optionFunc(func(o *config) error {
		if d < 10*time.Millisecond || d > 24*time.Hour {
			return fmt.Errorf("%w: max backoff %s out of range [10ms, 24h]", ErrConfig, d)
		}
		o.maxBackoff = d
		return nil
	})
}

// WithRequestTimeout bounds each HTTP request (default
// DefaultRequestTimeout).
func WithRequestTimeout(d time.Duration) Option {
	return optionFunc(func(o *config) error {
		if d <= 0 || d > 5*time.Minute {
			return fmt.Errorf("%w: request timeout %s out of range (0, 5m]", ErrConfig, d)
		}
		o.requestTimeout = d
		return nil
	})
}

// WithLeeway sets the clock skew tolerated on the tokens the Openers open
// and on the deliveries and status lists fetched (default DefaultLeeway,
// at most 5 minutes).
func WithLeeway(d time.Duration) Option {
	return optionFunc(func(o *config) error {
		if d < 0 || d > 5*time.Minute {
			return fmt.Errorf("%w: leeway %s out of range [0, 5m]", ErrConfig, d)
		}
		o.leeway = d
		return nil
	})
}

// WithStatusPolicy sets how the Openers treat a token whose status list is
// not known yet, and a token without a status (crypttoken.StatusPolicy).
// The default, the zero policy, refuses the first (it is fetched at once)
// and accepts the second.
func WithStatusPolicy(p crypttoken.StatusPolicy) Option {
	return optionFunc(func(o *config) error { o.policy = p; return nil })
}

// WithOnError sets a function told about every failure of the background
// work — a fetch that failed, a delivery or status list refused (with its
// typed error), a cache file that could not be written — for logs and
// metrics. The last good state is kept in every case. It is called from
// one goroutine at a time and must not block for long; errors never hold
// key material or tokens.
func WithOnError(f func(error)) Option {
	return optionFunc(func(o *config) error {
		if f == nil {
			return fmt.Errorf("%w: nil error function", ErrConfig)
		}
		o.onError = f
		return nil
	})
}

// WithClock sets the clock (default time.Now) used to validate tokens,
// deliveries and status lists. Polling runs on real time.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(o *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrConfig)
		}
		o.now = now
		return nil
	})
}
