package keys

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Option configures the file functions (Marshal, Parse, Decode, ReadFile,
// WriteFile), the Manager and the Reloader. Each option says which of them
// it affects; the others ignore it. Options are built only by this package.
type Option interface {
	apply(*options)
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// options is the union of every setting an Option can carry.
type options struct {
	kek      []byte // nil: no wrapping
	kekErr   error
	name     string // expected ring name; "" accepts any
	now      func() time.Time
	onError  func(error)
	onReload func(*Set)
	ring     *Ring

	// fault, when set, is called before each step of an atomic write; an
	// error it returns fails that step. Tests only (see atomic.go).
	fault func(step writeStep) error
}

func buildOptions(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	if o.kekErr != nil {
		return o, o.kekErr
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o, nil
}

// KEKSize is the size in bytes of a key-encryption key: 256 bits.
const KEKSize = 32

// ErrKEKSize means a key-encryption key is not 256 bits, or its text form is
// not base64 of 256 bits.
var ErrKEKSize = errors.New("keys: key-encryption key must be 256 bits (32 bytes, base64 or base64url encoded)")

// WithKEK wraps (WriteFile, Marshal, Manager) and unwraps (ReadFile, Parse,
// Decode, Manager, Reloader) the key material of ring files with the 256-bit
// key-encryption key kek; see the package documentation, "Key-encryption
// key". A nil or empty kek means no wrapping, so a caller can pass the result
// of KEKFromEnv unconditionally. Any other length makes the function or
// constructor it is given to fail with ErrKEKSize. kek is copied.
func WithKEK(kek []byte) Option {
	return optionFunc(func(o *options) {
		switch len(kek) {
		case 0:
			o.kek, o.kekErr = nil, nil
		case KEKSize:
			o.kek, o.kekErr = append([]byte(nil), kek...), nil
		default:
			o.kek, o.kekErr = nil, fmt.Errorf("%w: got %d bytes", ErrKEKSize, len(kek))
		}
	})
}

// KEKFromEnv reads a key-encryption key from the environment variable name
// (for example "ISSUER_KEK") of the process: ParseKEK(os.Getenv(name)), with
// an error that names the variable. Programs that take their environment as
// a parameter (a CLI with an injectable Getenv) call ParseKEK on the value
// themselves.
func KEKFromEnv(name string) ([]byte, error) {
	kek, err := ParseKEK(os.Getenv(name))
	if err != nil {
		return nil, fmt.Errorf("%w: environment variable %s", ErrKEKSize, name)
	}
	return kek, nil
}

// ParseKEK decodes the text form of a key-encryption key: 32 random bytes
// in base64url (RFC 4648 §5) or standard base64 (§4), padded or not, with
// surrounding white space ignored, as printed by `openssl rand -base64 32`.
// An empty (or all white space) value yields (nil, nil): no wrapping, as
// WithKEK(nil) means. Any other value that is not base64 of exactly 32
// bytes is ErrKEKSize; the error never repeats the value.
func ParseKEK(value string) ([]byte, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return nil, nil
	}
	return decodeKEK(v)
}

func decodeKEK(v string) ([]byte, error) {
	v = strings.TrimRight(v, "=")
	if strings.ContainsAny(v, "+/") {
		v = strings.NewReplacer("+", "-", "/", "_").Replace(v)
	}
	kek, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(kek) != KEKSize {
		return nil, ErrKEKSize
	}
	return kek, nil
}

// WithRingName makes Parse, Decode, ReadFile, the Reloader and the Manager
// refuse a ring file whose ring name is not name (ErrRingMismatch). For a
// JWK Set, which carries no name, it names the resulting Set.
func WithRingName(name string) Option {
	return optionFunc(func(o *options) { o.name = name })
}

// WithClock sets the clock of a Manager, the way crypto/tls.Config.Time
// does. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(o *options) { o.now = now })
}

// WithOnError sets the function that receives the errors of the background
// loops: Manager.Run and Manager.Follow, and the Reloader's polling. It is
// called from the loop's goroutine and must not block for long nor call
// back into the Manager or Reloader. Errors never contain key material. Without it the errors are dropped; the loops go on.
func WithOnError(f func(error)) Option {
	return optionFunc(func(o *options) { o.onError = f })
}

// WithOnReload sets the function that receives every new Set a Reloader or
// a Manager's Reload swaps in. It is called after the swap, from the
// goroutine that did it, while the Reloader or Manager is locked: it must
// not block for long nor call back into them.
func WithOnReload(f func(*Set)) Option {
	return optionFunc(func(o *options) { o.onReload = f })
}

// WithRing makes a Reloader keep r current instead of creating a Ring: the
// first load is merged into r's current set (if any) and stored in r.
func WithRing(r *Ring) Option {
	return optionFunc(func(o *options) { o.ring = r })
}

// withFault installs a fault hook on atomic writes. Tests only.
func withFault(f func(step writeStep) error) Option {
	return optionFunc(func(o *options) { o.fault = f })
}
