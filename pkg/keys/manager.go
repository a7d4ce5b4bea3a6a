package keys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// InternalRing is the name of the issuer-internal ring, which seals refresh
// tokens and authorization codes (SPEC §3) and is never exported. An
// audience must not be given this name; cmd/issuer's configuration refuses
// it.
const InternalRing = "internal"

// FileName returns the name of the file that holds ring name inside a
// Manager's directory: a readable slug of the name followed by a hash that
// makes it unique, for example
//
//	https://api.example.com  ->  https-api.example.com-137b9e5e4e13.json
//	internal                 ->  internal-3bed2cb3a3ac.json
//
// The slug keeps ASCII letters (lowercased), digits, '.', '-' and '_',
// turns every other run of bytes into one '-', trims '-' and '.' at both
// ends and keeps at most 48 bytes ("ring" if nothing is left). The hash is
// the first 12 hex digits of SHA-256 of the exact name, so names differing
// only in case or punctuation get different files. The result never starts
// with '.', never contains a path separator, and is stable across releases.
func FileName(name string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		b.WriteByte(c)
		dash = c == '-'
	}
	slug := strings.Trim(b.String(), "-.")
	if len(slug) > 48 {
		slug = strings.TrimRight(slug[:48], "-.")
	}
	if slug == "" {
		slug = "ring"
	}
	sum := sha256.Sum256([]byte(name))
	return slug + "-" + hex.EncodeToString(sum[:6]) + ".json"
}

// ErrNotOpen means a Manager was asked about a ring it has not opened.
var ErrNotOpen = errors.New("keys: ring not open")

// ErrFileName means a ring file in a Manager's directory holds a ring whose
// FileName is not the file's name.
var ErrFileName = errors.New("keys: ring file name does not match its ring")

// Manager keeps the issuer's key rings: a directory with one ring file per
// ring (FileName), each loaded into a *Ring that stays current as the
// Manager rotates it or reloads it. The Ring pointers it hands out never
// change, so sealers and openers hold them for the life of the process.
//
// In a single replica, call Tick at intervals (or Run): it plans every ring
// (Plan) and writes those that changed. With several replicas, exactly one
// (holding a lease kept elsewhere) runs Tick; the others call Reload (or
// Follow) to pick up what it wrote. Tick re-reads a file another process
// changed before planning, so the lease can move between replicas; two
// replicas that Tick at once may overwrite each other's successor keys,
// which is why only one may.
//
// The disk is the source of truth: a new key is used only once its file is
// written. A ring file that cannot be read or parsed is never overwritten;
// the ring keeps its last good set and the error is returned.
//
// A Manager is safe for concurrent use; its methods are serialized.
type Manager struct {
	dir    string
	policy Policy
	o      options

	mu    sync.Mutex
	rings map[string]*managed
}

type managed struct {
	ring *Ring
	w    watcher
}

// NewManager returns a Manager of the ring files in dir, rotating under
// policy p. It does no I/O; Init or Open loads rings. Options: WithKEK (wrap
// and unwrap every file), WithClock (default time.Now), WithOnError (errors
// of Run and Follow), WithOnReload (sets a reload swaps in).
func NewManager(dir string, p Policy, opts ...Option) (*Manager, error) {
	if dir == "" {
		return nil, errors.New("keys: empty key directory")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Manager{dir: dir, policy: p, o: o, rings: map[string]*managed{}}, nil
}

// Dir returns the Manager's directory.
func (m *Manager) Dir() string { return m.dir }

// Policy returns the Manager's rotation policy.
func (m *Manager) Policy() Policy { return m.policy }

// Path returns the path of ring name's file.
func (m *Manager) Path(name string) string { return filepath.Join(m.dir, FileName(name)) }

// Init opens the rings names, creating the directory (mode 0700) and every
// ring file that does not exist yet with NewSetFromPolicy. It returns the
// names of the rings it created. An existing file is loaded, never
// replaced; one that does not parse is an error. Creation is create-only
// (the file is linked into place), so replicas initializing the same
// directory at once end up sharing one ring.
func (m *Manager) Init(ctx context.Context, names ...string) (created []string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	var errs []error
	for _, name := range names {
		if _, ok := m.rings[name]; ok {
			continue
		}
		err := m.openLocked(ctx, name)
		if !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		set, err := NewSetFromPolicy(name, m.o.now(), m.policy)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		data, err := Marshal(set, WithKEK(m.o.kek))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = writeAtomic(ctx, m.Path(name), data, true, m.o.fault)
		switch {
		case errors.Is(err, ErrExist):
			errs = append(errs, m.openLocked(ctx, name))
		case err != nil:
			errs = append(errs, err)
		default:
			mr := &managed{ring: NewRing(set), w: watcher{path: m.Path(name)}}
			mr.w.wrote(data)
			m.rings[name] = mr
			created = append(created, name)
		}
		clear(data)
	}
	return created, errors.Join(errs...)
}

// Open loads existing ring files: those of names, or with no names every
// ring file in the directory (files named FileName(ring) of the ring they
// hold; hidden and temporary files are skipped). A missing file is an error
// wrapping fs.ErrNotExist. Rings that load are opened even when others fail;
// the errors are joined. Opening a ring already open reloads it.
func (m *Manager) Open(ctx context.Context, names ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(names) == 0 {
		return m.discoverLocked(ctx)
	}
	var errs []error
	for _, name := range names {
		errs = append(errs, m.openLocked(ctx, name))
	}
	return errors.Join(errs...)
}

func (m *Manager) discoverLocked(ctx context.Context) error {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	var errs []error
	for _, e := range entries {
		fn := e.Name()
		if strings.HasPrefix(fn, ".") || !strings.HasSuffix(fn, ".json") || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(m.dir, fn)
		set, err := ReadFile(ctx, path, WithKEK(m.o.kek))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if FileName(set.Name()) != fn {
			errs = append(errs, fmt.Errorf("%w: %s holds ring %q, whose file is %s", ErrFileName, path, set.Name(), FileName(set.Name())))
			continue
		}
		errs = append(errs, m.openLocked(ctx, set.Name()))
	}
	return errors.Join(errs...)
}

// openLocked loads ring name from its file, or reloads it if open.
func (m *Manager) openLocked(ctx context.Context, name string) error {
	if !validRingName(name) {
		return fmt.Errorf("%w: %q", ErrRingName, name)
	}
	if mr, ok := m.rings[name]; ok {
		_, err := m.refreshLocked(ctx, name, mr)
		return err
	}
	mr := &managed{w: watcher{path: m.Path(name)}}
	snap, _, err := mr.w.poll(ctx)
	if err != nil {
		return err
	}
	set, err := m.parse(snap.data, name)
	if err != nil {
		clear(snap.data)
		return err
	}
	mr.w.accept(snap)
	mr.ring = NewRing(set)
	m.rings[name] = mr
	return nil
}

func (m *Manager) parse(data []byte, name string) (*Set, error) {
	set, err := parseRing(data, &options{kek: m.o.kek, name: name})
	return set, withPath(err, m.Path(name))
}

// refreshLocked re-reads ring name's file if it changed and swaps the new
// set in, merged with the current one. It returns an error while the file
// is missing, unreadable or refused.
func (m *Manager) refreshLocked(ctx context.Context, name string, mr *managed) (changed bool, err error) {
	snap, changed, err := mr.w.poll(ctx)
	if err != nil {
		return false, err
	}
	if !changed {
		return false, mr.w.bad
	}
	set, err := m.parse(snap.data, name)
	if err != nil {
		mr.w.reject(snap, err)
		return false, err
	}
	mr.w.accept(snap)
	set = Merge(mr.ring.Load(), set)
	mr.ring.Store(set)
	if m.o.onReload != nil {
		m.o.onReload(set)
	}
	return true, nil
}

// Ring returns the live ring name, if open.
func (m *Manager) Ring(name string) (*Ring, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mr, ok := m.rings[name]
	if !ok {
		return nil, false
	}
	return mr.ring, true
}

// Names returns the names of the open rings, sorted.
func (m *Manager) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.rings))
	for name := range m.rings {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// List returns the current set of every open ring, sorted by name. Sets
// are immutable snapshots; listing them prints no key material unless a
// caller asks a Key for it.
func (m *Manager) List() []*Set {
	names := m.Names()
	sets := make([]*Set, 0, len(names))
	for _, name := range names {
		if r, ok := m.Ring(name); ok {
			sets = append(sets, r.Load())
		}
	}
	return sets
}

// Tick plans every open ring at the Manager's clock (Plan), writes the
// rings that changed atomically and swaps their new sets in, and returns
// their names. A file another process changed is re-read first. A ring
// whose file cannot be read or parsed, or whose new file cannot be written,
// keeps its set; its error is joined into err and the other rings go on.
func (m *Manager) Tick(ctx context.Context) (changed []string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.o.now()
	var errs []error
	for _, name := range m.sortedLocked() {
		mr := m.rings[name]
		if _, err := m.refreshLocked(ctx, name, mr); err != nil {
			errs = append(errs, err)
			continue
		}
		next, ch, err := Plan(mr.ring.Load(), now, m.policy)
		if err != nil {
			errs = append(errs, fmt.Errorf("keys: planning ring %q: %w", name, err))
			continue
		}
		if !ch {
			continue
		}
		if err := m.storeLocked(ctx, mr, next); err != nil {
			errs = append(errs, err)
			continue
		}
		changed = append(changed, name)
	}
	return changed, errors.Join(errs...)
}

// Rotate forces a rotation (the package function Rotate) of the rings
// names, or of every open ring if names is empty, at the Manager's clock,
// and writes them.
func (m *Manager) Rotate(ctx context.Context, names ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(names) == 0 {
		names = m.sortedLocked()
	}
	now := m.o.now()
	var errs []error
	for _, name := range names {
		mr, ok := m.rings[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %q", ErrNotOpen, name))
			continue
		}
		if _, err := m.refreshLocked(ctx, name, mr); err != nil {
			errs = append(errs, err)
			continue
		}
		next, err := Rotate(mr.ring.Load(), now, m.policy)
		if err != nil {
			errs = append(errs, fmt.Errorf("keys: rotating ring %q: %w", name, err))
			continue
		}
		errs = append(errs, m.storeLocked(ctx, mr, next))
	}
	return errors.Join(errs...)
}

// storeLocked writes next to mr's file and, once written, swaps it in.
func (m *Manager) storeLocked(ctx context.Context, mr *managed, next *Set) error {
	data, err := Marshal(next, WithKEK(m.o.kek))
	if err != nil {
		return err
	}
	defer clear(data)
	if err := writeAtomic(ctx, mr.w.path, data, false, m.o.fault); err != nil {
		return err
	}
	mr.w.wrote(data)
	mr.ring.Store(next)
	return nil
}

// Reload re-reads every open ring's file that changed (written by another
// replica, or by `issuer keys rotate`) and swaps the new set in, merged with
// the current one so that per-key seal counters survive. A ring whose file
// fails to load keeps its last good set; the errors are joined.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, name := range m.sortedLocked() {
		if _, err := m.refreshLocked(ctx, name, m.rings[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) sortedLocked() []string {
	names := make([]string, 0, len(m.rings))
	for name := range m.rings {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Run calls Tick at once and then every interval until ctx is done, and
// returns ctx.Err(). Errors go to WithOnError's function. The interval must
// be shorter than the policy's Propagation (a fraction of it is best).
func (m *Manager) Run(ctx context.Context, interval time.Duration) error {
	return m.loop(ctx, interval, func(ctx context.Context) error {
		_, err := m.Tick(ctx)
		return err
	})
}

// Follow calls Reload at once and then every interval until ctx is done,
// and returns ctx.Err(): what replicas that do not rotate run. Errors go to
// WithOnError's function.
func (m *Manager) Follow(ctx context.Context, interval time.Duration) error {
	return m.loop(ctx, interval, m.Reload)
}

func (m *Manager) loop(ctx context.Context, interval time.Duration, f func(context.Context) error) error {
	if interval <= 0 {
		return fmt.Errorf("keys: interval must be positive, got %s", interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := f(ctx); err != nil && ctx.Err() == nil && m.o.onError != nil {
			m.o.onError(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
