package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/store/redis"
)

// Upper bounds on the lifetime (exp minus iat) of what the signing ring
// signs besides ID tokens and signed access tokens, which live
// tokens.access_ttl. The code that signs Status List Tokens and key
// deliveries (SPEC §9) must stay within them: a retired signing key's
// public half stays published for SignedLifetime, and a signature made by
// a key no longer published does not verify.
const (
	MaxStatusListTokenLifetime = 24 * time.Hour
	MaxKeyDeliveryLifetime     = 24 * time.Hour
)

// SignedLifetime is the longest lifetime of anything the signing ring may
// sign, plus the validation leeway: the time a signing key stays published
// (and verifies) after it retires, so that
//
//	expires = retires + max(access_ttl, MaxStatusListTokenLifetime, MaxKeyDeliveryLifetime) + leeway
//
// ID tokens and signed access tokens live tokens.access_ttl (SPEC §3).
func SignedLifetime(cfg *config.Config) time.Duration {
	return max(cfg.Tokens.AccessTTL, MaxStatusListTokenLifetime, MaxKeyDeliveryLifetime) + cfg.Tokens.Leeway
}

// KeyRings are the issuer's key rings (SPEC §4): one ring per audience,
// which seals access tokens, the internal ring, which seals refresh tokens
// and codes, and the signing ring (keys.SigningRing), whose asymmetric keys
// sign ID tokens, Status List Tokens, key deliveries and signed access
// tokens and whose public keys are served at /jwks.json. They live in one
// keys.Storage: the ring files of keys.dir, or Redis (keys.store: redis).
//
// The three kinds are kept by three keys.Managers over the same storage
// because their keys must stay usable for different times after they
// retire: an audience key for the access-token lifetime plus leeway, the
// internal key for the refresh-token lifetime plus leeway, a signing key
// for SignedLifetime. A shorter window for audience keys keeps the JWK Sets
// resource servers receive small and a retired key useful to a thief for
// less time. The signing ring's Manager makes keys of keys.signing_alg and
// refuses a ring of symmetric keys under its name, and the others refuse
// signing keys.
//
// A configuration reload may add audiences (AddAudiences); a ring is never
// closed while the process runs. KeyRings is safe for concurrent use.
type KeyRings struct {
	audiences *keys.Manager
	internal  *keys.Manager
	signing   *keys.Manager
	st        keys.Storage
	kek       []byte
	dir       string // keys.dir, where keys.store: redis imports rings from

	mu    sync.Mutex
	names []string // audience names, in the order they were configured
}

// NewKeyRings returns the key rings of cfg in the ring files of keys.dir,
// not yet loaded (see Init and Open). With keys.store: redis it fails:
// use NewKeyRingsWithStorage with the Redis store's Rings, or
// ConnectKeyRings. The key-encryption key, if cfg names one
// (keys.kek_env), is that environment variable as getenv returns it (nil
// getenv: os.Getenv), decoded by keys.ParseKEK.
func NewKeyRings(cfg *config.Config, getenv func(string) string, opts ...keys.Option) (*KeyRings, error) {
	if cfg.Keys.Store == config.KeyStoreRedis {
		return nil, errors.New("server: keys.store is redis: the key rings need a Redis connection (ConnectKeyRings)")
	}
	st, err := keys.NewDirStorage(cfg.Keys.Dir)
	if err != nil {
		return nil, err
	}
	return NewKeyRingsWithStorage(cfg, getenv, st, opts...)
}

// NewKeyRingsWithStorage returns the key rings of cfg kept in st, not yet
// loaded. With keys.store: redis a key-encryption key is required.
func NewKeyRingsWithStorage(cfg *config.Config, getenv func(string) string, st keys.Storage, opts ...keys.Option) (*KeyRings, error) {
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
	if cfg.Keys.Store == config.KeyStoreRedis && kek == nil {
		return nil, errors.New("server: keys.store redis requires keys.kek_env: rings are never stored in Redis in clear")
	}
	opts = append(slices.Clone(opts), keys.WithKEK(kek))
	base := keys.Policy{Alg: keys.Alg(cfg.Keys.Alg), RotateEvery: cfg.Keys.RotateEvery, Propagation: cfg.Keys.Propagation}
	ap, ip, sp := base, base, base
	ap.MaxTokenTTL = cfg.Tokens.AccessTTL + cfg.Tokens.Leeway
	ip.MaxTokenTTL = max(cfg.Tokens.RefreshTTL, cfg.Tokens.CodeTTL) + cfg.Tokens.Leeway
	sp.Alg = keys.Alg(cfg.Keys.SigningAlg)
	if sp.Alg == "" {
		sp.Alg = keys.Alg(config.DefaultSigningAlg)
	}
	sp.MaxTokenTTL = SignedLifetime(cfg)
	k := &KeyRings{st: st, kek: kek, dir: cfg.Keys.Dir}
	var err error
	if k.audiences, err = keys.NewManagerWithStorage(st, ap, opts...); err != nil {
		return nil, err
	}
	if k.internal, err = keys.NewManagerWithStorage(st, ip, opts...); err != nil {
		return nil, err
	}
	if k.signing, err = keys.NewManagerWithStorage(st, sp, opts...); err != nil {
		return nil, fmt.Errorf("server: keys.signing_alg: %w", err)
	}
	for _, a := range cfg.Audiences {
		k.names = append(k.names, a.Name)
	}
	return k, nil
}

// ConnectKeyRings returns the key rings of cfg wherever keys.store keeps
// them, for commands that run beside the server (issuer keys): the ring
// files of keys.dir, or a new connection to the Redis of store, which
// close releases.
func ConnectKeyRings(ctx context.Context, cfg *config.Config, getenv func(string) string, opts ...keys.Option) (k *KeyRings, close func() error, err error) {
	if cfg.Keys.Store != config.KeyStoreRedis {
		k, err = NewKeyRings(cfg, getenv, opts...)
		return k, func() error { return nil }, err
	}
	s, err := redis.New(ctx, string(cfg.Store))
	if err != nil {
		return nil, nil, fmt.Errorf("server: keys.store redis: %w", err)
	}
	if k, err = NewKeyRingsWithStorage(cfg, getenv, s.Rings(), opts...); err != nil {
		_ = s.Close()
		return nil, nil, err
	}
	return k, s.Close, nil
}

// manager returns the Manager of ring name.
func (k *KeyRings) manager(name string) *keys.Manager {
	switch name {
	case keys.InternalRing:
		return k.internal
	case keys.SigningRing:
		return k.signing
	}
	return k.audiences
}

// Names returns the ring names: the audiences in configuration order, then
// keys.InternalRing and keys.SigningRing.
func (k *KeyRings) Names() []string {
	return append(k.audienceNames(), keys.InternalRing, keys.SigningRing)
}

func (k *KeyRings) audienceNames() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.names)
}

// AddAudiences creates (if need be) and loads the rings of the audiences
// among names that are not open yet, as a configuration reload that adds
// audiences needs, and returns the names of the rings it created.
func (k *KeyRings) AddAudiences(ctx context.Context, names ...string) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var add []string
	for _, n := range names {
		if n != keys.InternalRing && n != keys.SigningRing && !slices.Contains(k.names, n) && !slices.Contains(add, n) {
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

// Init creates the rings that do not exist yet and loads all of them; it
// returns the names of the rings it created and of those it imported.
// With keys.store: redis, a ring missing in Redis whose file is in keys.dir
// is imported from that file (wrapped with the KEK on the way) rather than
// created, so that switching a deployment from a shared directory to Redis
// keeps every token it issued openable.
func (k *KeyRings) Init(ctx context.Context) (created, imported []string, err error) {
	var errs []error
	if _, isDir := k.st.(*keys.DirStorage); !isDir && k.dir != "" {
		imported, err = k.importFromDir(ctx)
		errs = append(errs, err)
	}
	for _, c := range []struct {
		m     *keys.Manager
		names []string
	}{{k.audiences, k.audienceNames()}, {k.internal, []string{keys.InternalRing}}, {k.signing, []string{keys.SigningRing}}} {
		cr, err := c.m.Init(ctx, c.names...)
		created = append(created, cr...)
		errs = append(errs, err)
	}
	return created, imported, errors.Join(errs...)
}

// importFromDir copies into k's storage the rings that it lacks and whose
// files are in keys.dir.
func (k *KeyRings) importFromDir(ctx context.Context) ([]string, error) {
	dir, err := keys.NewDirStorage(k.dir)
	if err != nil {
		return nil, err
	}
	var imported []string
	var errs []error
	for _, name := range k.Names() {
		_, _, err := k.st.Read(ctx, name, "")
		if !errors.Is(err, fs.ErrNotExist) {
			continue // stored already, or the storage is down: Init reports it
		}
		data, _, err := dir.Read(ctx, name, "")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("server: importing ring %q from %s: %w", name, dir.Location(name), err))
			continue
		}
		set, err := keys.Parse(data, keys.WithRingName(name), keys.WithKEK(k.kek))
		if errors.Is(err, keys.ErrNotWrapped) {
			set, err = keys.Parse(data, keys.WithRingName(name))
		}
		clear(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("server: importing ring %q: %w", name, err))
			continue
		}
		wrapped, err := keys.Marshal(set, keys.WithKEK(k.kek))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, err = k.st.Write(ctx, name, wrapped, "")
		clear(wrapped)
		switch {
		case errors.Is(err, keys.ErrExist):
			// Another replica imported it first.
		case err != nil:
			errs = append(errs, fmt.Errorf("server: importing ring %q: %w", name, err))
		default:
			imported = append(imported, name)
		}
	}
	return imported, errors.Join(errs...)
}

// Open loads the existing rings; a missing ring is an error wrapping
// fs.ErrNotExist ("run issuer keys init").
func (k *KeyRings) Open(ctx context.Context) error {
	return errors.Join(k.audiences.Open(ctx, k.audienceNames()...), k.internal.Open(ctx, keys.InternalRing),
		k.signing.Open(ctx, keys.SigningRing))
}

// Ring returns the live ring name, if loaded.
func (k *KeyRings) Ring(name string) (*keys.Ring, bool) { return k.manager(name).Ring(name) }

// Signing returns the live signing ring, nil before Init or Open loaded
// it. Sign with Load().Sealing(now); publish with keys.ExportJWKS.
func (k *KeyRings) Signing() *keys.Ring {
	r, _ := k.signing.Ring(keys.SigningRing)
	return r
}

// Path returns where ring name is kept: its file, or its Redis key.
func (k *KeyRings) Path(name string) string { return k.st.Location(name) }

// Endpoint returns the encryption rings as pkg/endpoint takes them: those
// of every audience, or of the audiences named (all of them open).
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
// order, then the internal ring and the signing ring.
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
	c, err3 := k.signing.Tick(ctx)
	return slices.Concat(a, b, c), errors.Join(err, err2, err3)
}

// Reload re-reads the rings another process changed.
func (k *KeyRings) Reload(ctx context.Context) error {
	return errors.Join(k.audiences.Reload(ctx), k.internal.Reload(ctx), k.signing.Reload(ctx))
}

// Rotate forces a rotation (keys.Rotate) of the named rings, or of all.
func (k *KeyRings) Rotate(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		names = k.Names()
	}
	var errs []error
	for _, n := range names {
		if n != keys.InternalRing && n != keys.SigningRing && !slices.Contains(k.audienceNames(), n) {
			errs = append(errs, fmt.Errorf("server: no ring %q: not an audience of the configuration", n))
			continue
		}
		errs = append(errs, k.manager(n).Rotate(ctx, n))
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
		return k.manager(n).Retire(ctx, n, kid, immediate)
	}
	return keys.Retirement{}, fmt.Errorf("%w: %q is in none of the rings %q", keys.ErrUnknownKID, kid, k.Names())
}

// CheckActive reports an error wrapping keys.ErrNoActiveKey for each ring
// that cannot seal (or, the signing ring, sign) at now.
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
// propagation time as keys.Manager.Run requires. With keys.store: redis a
// reload is one HGET per ring.
func TickInterval(propagation time.Duration) time.Duration {
	return min(max(propagation/10, time.Second), time.Minute)
}

// connRings is the keys.Storage of keys.store: redis inside the server: the
// RingStorage of the store's Redis connection, which may not be up yet
// (every call then fails with store.ErrUnavailable, and the rings keep
// their last good sets).
type connRings struct{ c *redisConn }

var (
	_ keys.Storage  = connRings{}
	_ keys.Restorer = connRings{}
)

func (connRings) RestoreLostRings() bool { return true }

func (r connRings) Read(ctx context.Context, name string, since keys.Revision) ([]byte, keys.Revision, error) {
	s, err := r.c.get()
	if err != nil {
		return nil, "", err
	}
	return s.Rings().Read(ctx, name, since)
}

func (r connRings) Write(ctx context.Context, name string, data []byte, prev keys.Revision) (keys.Revision, error) {
	s, err := r.c.get()
	if err != nil {
		return "", err
	}
	return s.Rings().Write(ctx, name, data, prev)
}

func (r connRings) Location(name string) string {
	if s := r.c.cur.Load(); s != nil {
		return s.Rings().Location(name)
	}
	return "redis key " + strconv.Quote(redis.DefaultPrefix+"keyring:"+name)
}
