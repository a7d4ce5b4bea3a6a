package keys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
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

// Manager keeps the issuer's key rings: one document per ring in a Storage
// (by default a directory with one ring file per ring, FileName), each
// loaded into a *Ring that stays current as the Manager rotates it or
// reloads it. The Ring pointers it hands out never change, so sealers and
// openers hold them for the life of the process.
//
// In a single replica, call Tick at intervals (or Run): it plans every ring
// (Plan) and writes those that changed. With several replicas, exactly one
// (holding a lease kept elsewhere) runs Tick; the others call Reload (or
// Follow) to pick up what it wrote. Tick re-reads a ring another process
// changed before planning, so the lease can move between replicas, and
// writes with a compare-and-set on the revision it read (Storage.Write):
// a replica that lost the lease, or planned from a ring that has changed
// since, gets ErrConflict, keeps its set and plans again at the next Tick.
//
// The storage is the source of truth: a new key is used only once its ring
// is written. A ring that cannot be read or parsed is never overwritten;
// the ring keeps its last good set and the error is returned.
//
// A Manager is safe for concurrent use; its methods are serialized.
type Manager struct {
	st     Storage
	dir    string // the directory of a DirStorage, else ""
	policy Policy
	o      options

	mu    sync.Mutex
	rings map[string]*managed
}

// managed is one open ring: its live Ring, the revision of the document
// last read or written, and why that document was refused, if it was (so
// that it is not parsed again until it changes).
type managed struct {
	ring *Ring
	seen Revision
	bad  error
}

// NewManager returns a Manager of the ring files in dir (a DirStorage),
// rotating under policy p. It does no I/O; Init or Open loads rings.
// Options: WithKEK (wrap and unwrap every ring), WithClock (default
// time.Now), WithOnError (errors of Run and Follow), WithOnReload (sets a
// reload swaps in).
func NewManager(dir string, p Policy, opts ...Option) (*Manager, error) {
	st, err := NewDirStorage(dir)
	if err != nil {
		return nil, err
	}
	m, err := NewManagerWithStorage(st, p, opts...)
	if err != nil {
		return nil, err
	}
	st.fault = m.o.fault
	m.dir = dir
	return m, nil
}

// NewManagerWithStorage returns a Manager of the rings kept in st, rotating
// under policy p: NewManager over any Storage. It does no I/O. With a
// Storage other processes can read over a network (Redis), give it WithKEK
// so that no key leaves the process in clear.
func NewManagerWithStorage(st Storage, p Policy, opts ...Option) (*Manager, error) {
	if st == nil {
		return nil, errors.New("keys: nil ring storage")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Manager{st: st, policy: p, o: o, rings: map[string]*managed{}}, nil
}

// Dir returns the Manager's directory, or "" when its Storage is not a
// directory.
func (m *Manager) Dir() string { return m.dir }

// Storage returns the Manager's storage.
func (m *Manager) Storage() Storage { return m.st }

// Policy returns the Manager's rotation policy.
func (m *Manager) Policy() Policy { return m.policy }

// Path returns where ring name is kept (Storage.Location): its file's path
// for a directory.
func (m *Manager) Path(name string) string { return m.st.Location(name) }

// Init opens the rings names, creating every ring that does not exist yet
// with NewSetFromPolicy (in a directory, created with mode 0700 if need
// be). It returns the names of the rings it created. An existing ring is
// loaded, never replaced; one that does not parse is an error. Creation is
// create-only (Storage.Write with no previous revision), so replicas
// initializing the same storage at once end up sharing one ring.
func (m *Manager) Init(ctx context.Context, names ...string) (created []string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
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
		rev, err := m.st.Write(ctx, name, data, "")
		switch {
		case errors.Is(err, ErrExist):
			errs = append(errs, m.openLocked(ctx, name))
		case err != nil:
			errs = append(errs, err)
		default:
			m.rings[name] = &managed{ring: NewRing(set), seen: rev}
			created = append(created, name)
		}
		clear(data)
	}
	return created, errors.Join(errs...)
}

// Open loads existing rings: those of names, or with no names every ring
// the Storage lists (a directory's files named FileName(ring) of the ring
// they hold; hidden and temporary files are skipped). A missing ring is an
// error wrapping fs.ErrNotExist. Rings that load are opened even when
// others fail; the errors are joined. Opening a ring already open reloads
// it.
func (m *Manager) Open(ctx context.Context, names ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	if len(names) == 0 {
		l, ok := m.st.(Lister)
		if !ok {
			return errors.New("keys: this ring storage cannot list its rings; name them")
		}
		var err error
		names, err = l.List(ctx)
		errs = append(errs, err)
	}
	for _, name := range names {
		errs = append(errs, m.openLocked(ctx, name))
	}
	return errors.Join(errs...)
}

// openLocked loads ring name from storage, or reloads it if open.
func (m *Manager) openLocked(ctx context.Context, name string) error {
	if !validRingName(name) {
		return fmt.Errorf("%w: %q", ErrRingName, name)
	}
	if mr, ok := m.rings[name]; ok {
		_, err := m.refreshLocked(ctx, name, mr)
		return err
	}
	data, rev, err := m.st.Read(ctx, name, "")
	if err != nil {
		return err
	}
	set, err := m.parse(data, name)
	clear(data)
	if err != nil {
		return err
	}
	m.rings[name] = &managed{ring: NewRing(set), seen: rev}
	return nil
}

// parse parses ring name's document and checks that its keys are of the
// kind the policy makes: a signing ring's file cannot stand in for an
// encryption ring's, nor the other way round.
func (m *Manager) parse(data []byte, name string) (*Set, error) {
	set, err := parseRing(data, &options{kek: m.o.kek, name: name})
	if err == nil && set.Len() > 0 && set.Signing() != m.policy.alg().Signing() {
		set, err = nil, &ParseError{Kind: kindRing, Ring: name, Index: -1, Field: "keys",
			Err: fmt.Errorf("%w: the ring holds %s keys where %s keys are expected", ErrKeyKind, set.keys[0].Alg, m.policy.alg())}
	}
	return set, withPath(err, m.Path(name))
}

// refreshLocked re-reads ring name if it changed and swaps the new set in,
// merged with the current one. It returns an error while the ring is
// missing, unreadable or refused.
func (m *Manager) refreshLocked(ctx context.Context, name string, mr *managed) (changed bool, err error) {
	data, rev, err := m.st.Read(ctx, name, mr.seen)
	if err != nil {
		return false, err
	}
	if rev == mr.seen {
		clear(data)
		return false, mr.bad
	}
	set, err := m.parse(data, name)
	clear(data)
	mr.seen = rev
	if err != nil {
		mr.bad = err
		return false, err
	}
	mr.bad = nil
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
// their names. A ring another process changed is re-read first. A ring
// the storage lost (Read reports fs.ErrNotExist) is reported, or, if the
// storage is a Restorer that asks for it (Redis), written back from
// memory, create-only. A ring
// that cannot be read or parsed, or whose new version cannot be written
// (ErrConflict when another process wrote it in between), keeps its set;
// its error is joined into err and the other rings go on.
func (m *Manager) Tick(ctx context.Context) (changed []string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.o.now()
	var errs []error
	for _, name := range m.sortedLocked() {
		mr := m.rings[name]
		restored := false
		if _, err := m.refreshLocked(ctx, name, mr); err != nil {
			if r, ok := m.st.(Restorer); !ok || !r.RestoreLostRings() || !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				continue
			}
			// The ring vanished from storage (a Redis restarted without
			// persistence, a deleted file) while this process holds it:
			// write it back, create-only, so that every token it sealed
			// still opens. If another process created a ring meanwhile,
			// that one stays and is read at the next Tick.
			if err := m.restoreLocked(ctx, name, mr); err != nil {
				errs = append(errs, err)
				continue
			}
			restored = true
		}
		next, ch, err := Plan(mr.ring.Load(), now, m.policy)
		if err != nil {
			errs = append(errs, fmt.Errorf("keys: planning ring %q: %w", name, err))
			continue
		}
		if !ch {
			if restored {
				changed = append(changed, name)
			}
			continue
		}
		if err := m.storeLocked(ctx, name, mr, next); err != nil {
			errs = append(errs, err)
			continue
		}
		changed = append(changed, name)
	}
	return changed, errors.Join(errs...)
}

// restoreLocked writes ring name's current set back to a storage that lost
// it, create-only.
func (m *Manager) restoreLocked(ctx context.Context, name string, mr *managed) error {
	data, err := Marshal(mr.ring.Load(), WithKEK(m.o.kek))
	if err != nil {
		return err
	}
	defer clear(data)
	rev, err := m.st.Write(ctx, name, data, "")
	if err != nil {
		return fmt.Errorf("keys: restoring ring %q, which storage lost: %w", name, err)
	}
	mr.seen, mr.bad = rev, nil
	return nil
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
		errs = append(errs, m.storeLocked(ctx, name, mr, next))
	}
	return errors.Join(errs...)
}

// storeLocked writes next as ring name, if the ring is still at the
// revision the Manager last read, and once written swaps it in.
func (m *Manager) storeLocked(ctx context.Context, name string, mr *managed, next *Set) error {
	data, err := Marshal(next, WithKEK(m.o.kek))
	if err != nil {
		return err
	}
	defer clear(data)
	rev, err := m.st.Write(ctx, name, data, mr.seen)
	if err != nil {
		return err
	}
	mr.seen, mr.bad = rev, nil
	mr.ring.Store(next)
	return nil
}

// Reload re-reads every open ring that changed (written by another
// replica, or by `issuer keys rotate`) and swaps the new set in, merged with
// the current one so that per-key seal counters survive. A ring that fails
// to load keeps its last good set; the errors are joined.
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
