package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// KeyRings are the issuer's key rings in the configured keys.dir (SPEC §4):
// one ring per audience, which seals access tokens, and the internal ring,
// which seals refresh tokens and codes.
//
// The two kinds are kept by two keys.Managers over the same directory
// because their keys must stay openable for different times after they
// retire: an audience key for the access-token lifetime plus leeway, the
// internal key for the refresh-token lifetime plus leeway. A shorter
// opening window for audience keys keeps the JWK Sets resource servers
// receive small and a retired key useful to a thief for less time.
//
// A configuration reload may add audiences (AddAudiences); a ring is never
// closed while the process runs. KeyRings is safe for concurrent use.
type KeyRings struct {
	audiences *keys.Manager
	internal  *keys.Manager

	mu    sync.Mutex
	names []string // audience names, in the order they were configured
}

// NewKeyRings returns the key rings of cfg, not yet loaded (see Init and
// Open). The key-encryption key, if cfg names one (keys.kek_env), is that
// environment variable as getenv returns it (nil getenv: os.Getenv),
// decoded by keys.ParseKEK.
func NewKeyRings(cfg *config.Config, getenv func(string) string, opts ...keys.Option) (*KeyRings, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var kek []byte
	if cfg.Keys.KEKEnv != "" {
		var err error
		if kek, err = keys.ParseKEK(getenv(cfg.Keys.KEKEnv)); err != nil {
			return nil, fmt.Errorf("server: keys.kek_env %s: %w", cfg.Keys.KEKEnv, err)
		}
		if kek == nil {
			return nil, fmt.Errorf("server: keys.kek_env names %s, which is not set", cfg.Keys.KEKEnv)
		}
	}
	opts = append(slices.Clone(opts), keys.WithKEK(kek))
	base := keys.Policy{Alg: keys.Alg(cfg.Keys.Alg), RotateEvery: cfg.Keys.RotateEvery, Propagation: cfg.Keys.Propagation}
	ap, ip := base, base
	ap.MaxTokenTTL = cfg.Tokens.AccessTTL + cfg.Tokens.Leeway
	ip.MaxTokenTTL = max(cfg.Tokens.RefreshTTL, cfg.Tokens.CodeTTL) + cfg.Tokens.Leeway
	k := &KeyRings{}
	var err error
	if k.audiences, err = keys.NewManager(cfg.Keys.Dir, ap, opts...); err != nil {
		return nil, err
	}
	if k.internal, err = keys.NewManager(cfg.Keys.Dir, ip, opts...); err != nil {
		return nil, err
	}
	for _, a := range cfg.Audiences {
		k.names = append(k.names, a.Name)
	}
	return k, nil
}

// Names returns the ring names: the audiences in configuration order, then
// keys.InternalRing.
func (k *KeyRings) Names() []string { return append(k.audienceNames(), keys.InternalRing) }

func (k *KeyRings) audienceNames() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.names)
}

// Init creates the ring files that do not exist yet and loads all of
// them; it returns the names of the rings it created.
func (k *KeyRings) Init(ctx context.Context) ([]string, error) {
	created, err := k.audiences.Init(ctx, k.audienceNames()...)
	c2, err2 := k.internal.Init(ctx, keys.InternalRing)
	return append(created, c2...), errors.Join(err, err2)
}

// AddAudiences creates (if need be) and loads the rings of the audiences
// among names that are not open yet, as a configuration reload that adds
// audiences needs, and returns the names of the ring files it created.
func (k *KeyRings) AddAudiences(ctx context.Context, names ...string) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var add []string
	for _, n := range names {
		if n != keys.InternalRing && !slices.Contains(k.names, n) && !slices.Contains(add, n) {
			add = append(add, n)
		}
	}
	if len(add) == 0 {
		return nil, nil
	}
	created, err := k.audiences.Init(ctx, add...)
	for _, n := range add {
		if _, ok := k.audiences.Ring(n); ok {
			k.names = append(k.names, n)
		}
	}
	return created, err
}

// Open loads the existing ring files; a missing file is an error wrapping
// fs.ErrNotExist ("run issuer keys init").
func (k *KeyRings) Open(ctx context.Context) error {
	return errors.Join(k.audiences.Open(ctx, k.audienceNames()...), k.internal.Open(ctx, keys.InternalRing))
}

// Ring returns the live ring name, if loaded.
func (k *KeyRings) Ring(name string) (*keys.Ring, bool) {
	if name == keys.InternalRing {
		return k.internal.Ring(name)
	}
	return k.audiences.Ring(name)
}

// Path returns the file of ring name.
func (k *KeyRings) Path(name string) string { return k.audiences.Path(name) }

// Endpoint returns the rings as pkg/endpoint takes them: those of every
// audience, or of the audiences named (all of them open).
func (k *KeyRings) Endpoint(defaultAudience string, audiences ...string) (endpoint.Rings, error) {
	r := endpoint.Rings{Audiences: map[string]*keys.Ring{}, Default: defaultAudience}
	var ok bool
	if r.Internal, ok = k.internal.Ring(keys.InternalRing); !ok {
		return r, fmt.Errorf("server: %w: %q", keys.ErrNotOpen, keys.InternalRing)
	}
	if len(audiences) == 0 {
		audiences = k.audienceNames()
	}
	for _, n := range audiences {
		ring, ok := k.audiences.Ring(n)
		if !ok {
			return r, fmt.Errorf("server: %w: %q", keys.ErrNotOpen, n)
		}
		r.Audiences[n] = ring
	}
	return r, nil
}

// List returns the current set of every ring: audiences in configuration
// order, then the internal ring.
func (k *KeyRings) List() []*keys.Set {
	var sets []*keys.Set
	for _, n := range k.Names() {
		if r, ok := k.Ring(n); ok {
			sets = append(sets, r.Load())
		}
	}
	return sets
}

// Tick plans and writes every ring (keys.Manager.Tick) and returns the
// names of the rings it changed.
func (k *KeyRings) Tick(ctx context.Context) ([]string, error) {
	a, err := k.audiences.Tick(ctx)
	b, err2 := k.internal.Tick(ctx)
	return append(a, b...), errors.Join(err, err2)
}

// Reload re-reads the ring files another process changed.
func (k *KeyRings) Reload(ctx context.Context) error {
	return errors.Join(k.audiences.Reload(ctx), k.internal.Reload(ctx))
}

// Rotate forces a rotation (keys.Rotate) of the named rings, or of all.
func (k *KeyRings) Rotate(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		names = k.Names()
	}
	var errs []error
	for _, n := range names {
		switch {
		case n == keys.InternalRing:
			errs = append(errs, k.internal.Rotate(ctx, n))
		case slices.Contains(k.audienceNames(), n):
			errs = append(errs, k.audiences.Rotate(ctx, n))
		default:
			errs = append(errs, fmt.Errorf("server: no ring %q: not an audience of the configuration", n))
		}
	}
	return errors.Join(errs...)
}

// Retire retires key kid, in whichever ring holds it (keys.Retire), and
// writes that ring. A kid no ring holds is keys.ErrUnknownKID.
func (k *KeyRings) Retire(ctx context.Context, kid string, immediate bool) (keys.Retirement, error) {
	for _, n := range k.Names() {
		r, ok := k.Ring(n)
		if !ok {
			continue
		}
		if _, ok := r.Load().Lookup(kid); !ok {
			continue
		}
		if n == keys.InternalRing {
			return k.internal.Retire(ctx, n, kid, immediate)
		}
		return k.audiences.Retire(ctx, n, kid, immediate)
	}
	return keys.Retirement{}, fmt.Errorf("%w: %q is in none of the rings %q", keys.ErrUnknownKID, kid, k.Names())
}

// CheckActive reports an error wrapping keys.ErrNoActiveKey for each ring
// that cannot seal at now.
func (k *KeyRings) CheckActive(now time.Time) error {
	var errs []error
	for _, n := range k.Names() {
		r, ok := k.Ring(n)
		if !ok {
			errs = append(errs, fmt.Errorf("ring %q: %w", n, keys.ErrNotOpen))
			continue
		}
		if _, err := r.Load().Sealing(now); err != nil {
			errs = append(errs, fmt.Errorf("ring %q: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// TickInterval is how often a server ticks or reloads its rings: a tenth
// of the propagation time, between 1 s and 1 min, well inside the
// propagation time as keys.Manager.Run requires.
func TickInterval(propagation time.Duration) time.Duration {
	return min(max(propagation/10, time.Second), time.Minute)
}
