package file

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/sealedtoken/issuer/pkg/store"
)

// Compile-time interface checks.
var (
	_ store.Store  = (*Store)(nil)
	_ store.Leaser = (*Store)(nil)
)

// Errors of Open and of a store found damaged later. Match them with
// errors.Is; their text names the file.
var (
	// ErrCorrupt means the file is not a store this package wrote, or is
	// damaged: not a bbolt file, a bad checksum, truncated, an
	// inconsistent page, a format version this build does not read. Open
	// never starts empty over such a file: move it aside (keep it for
	// investigation) and start again, or restore a backup. A store that
	// finds damage while serving fails every later call with an error
	// matching ErrCorrupt and store.ErrUnavailable.
	ErrCorrupt = errors.New("file: store file is corrupt")
	// ErrLocked means another process (or another Store in this process)
	// has the file open: two writers would corrupt it.
	ErrLocked = errors.New("file: store file is in use by another process")
	// ErrInsecure means the file or its directory may be written by users
	// other than its owner (group or other write permission), who could
	// then un-revoke tokens.
	ErrInsecure = errors.New("file: store file or directory is writable by others")
	// ErrClosed means the Store was closed. It matches
	// store.ErrUnavailable too.
	ErrClosed error = closedError{}
)

type closedError struct{}

func (closedError) Error() string { return "file: store closed" }
func (closedError) Unwrap() error { return store.ErrUnavailable }

// corruptError is a damage found while serving: it matches ErrCorrupt and
// store.ErrUnavailable, so the token endpoint answers 503.
type corruptError struct{ err error }

func (e corruptError) Error() string   { return e.err.Error() }
func (e corruptError) Unwrap() []error { return []error{e.err, store.ErrUnavailable} }

// formatVersion is the layout of the buckets below; a file of another
// version is ErrCorrupt rather than misread.
const formatVersion = "1"

// maxBatch bounds the writes one transaction commits.
const maxBatch = 1024

// Buckets. Keys and values are described in layout.go.
var (
	bucketMeta     = []byte("meta")
	bucketCodes    = []byte("codes")
	bucketFamilies = []byte("families")
	bucketTokens   = []byte("tokens")
	bucketLeases   = []byte("leases")
	bucketOnce     = []byte("once")
	bucketRecords  = []byte("records")
	bucketLists    = []byte("lists")
	bucketBits     = []byte("bits")

	allBuckets = [][]byte{
		bucketMeta, bucketCodes, bucketFamilies, bucketTokens, bucketLeases,
		bucketOnce, bucketRecords, bucketLists, bucketBits,
	}
	keyFormat = []byte("format")
)

// Store is the durable store.Store and store.Leaser over one bbolt file.
// Create it with Open and release it with Close. It is safe for
// concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	o    options

	mu        sync.RWMutex // guards closed against sends on queue
	closed    bool
	queue     chan *call
	stop      chan struct{}
	done      chan struct{} // closed when the committer and the purge return
	closeOnce sync.Once

	broken atomic.Pointer[corruptError]

	purgeMu sync.Mutex // serialises Purge and the background purge
	pcur    purgeCursor
	// commits counts the transactions committed, for tests of grouping.
	commits atomic.Int64
}

// call is one write waiting for the committer.
type call struct {
	fn    func(tx *bolt.Tx) error
	state atomic.Int32
	err   error
	done  chan struct{}
}

// States of a call.
const (
	queued    = 0
	taken     = 1 // the committer runs it
	abandoned = 2 // its caller gave up first; it is never run
)

// Open opens the store file at path, creating it (mode 0600) and its
// directory (mode 0700) if they do not exist, and starts the group
// committer and the background purge. ctx bounds the consistency check.
//
// It fails with ErrLocked if another process has the file open (after
// WithLockTimeout), ErrCorrupt if the file is damaged or not a store file
// (see the package documentation, "Corruption"), ErrInsecure if the file
// or its directory is writable by group or others, and an error wrapping
// the fs error, naming the path, if it cannot be read or created. An
// invalid option is an error wrapping store.ErrInvalidArgument.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{
		now: time.Now, purge: DefaultPurgeInterval, purgeBatch: DefaultPurgeBatch,
		lockTimeout: DefaultLockTimeout,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt.apply(&o); err != nil {
			return nil, err
		}
	}
	if path == "" {
		return nil, fmt.Errorf("file: empty path: %w", store.ErrInvalidArgument)
	}
	path = filepath.Clean(path)
	created, err := ensureFile(path)
	if err != nil {
		return nil, err
	}
	if !created {
		if err := verify(path, o.lockTimeout); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	db, err := openDB(path, o.lockTimeout)
	if err != nil {
		return nil, err
	}
	s := &Store{
		db: db, path: path, o: o,
		queue: make(chan *call, maxBatch),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if err := s.checkFormat(); err != nil {
		_ = db.Close()
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Go(s.commitLoop)
	if o.purge > 0 {
		wg.Go(s.purgeLoop)
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return s, nil
}

// ensureFile makes sure path exists as a store file and its directory is
// private. A new file is made complete under a temporary name and linked
// into place, so a file at path is never one that a crash left half made:
// an empty or short file there is damage, not a store to initialise.
func ensureFile(path string) (created bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("file: creating the store directory %s: %w", dir, err)
	}
	if err := checkMode(dir); err != nil {
		return false, err
	}
	if _, err := os.Lstat(path); err == nil {
		return false, checkMode(path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("file: reading the store file %s: %w", path, err)
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	tmp := path + ".new-" + hex.EncodeToString(suffix[:])
	defer os.Remove(tmp)
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return false, fmt.Errorf("file: creating the store file %s: %w", tmp, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatVersion))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("file: creating the store file %s: %w", tmp, err)
	}
	// Link, not rename: if another process created path meanwhile, keep
	// its file (the lock then decides who opens it).
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("file: creating the store file %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return false, fmt.Errorf("file: creating the store file %s: %w", path, err)
	}
	return true, nil
}

// checkMode refuses a file or directory that group or others may write.
func checkMode(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("file: %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if fi, err = os.Stat(path); err != nil {
			return fmt.Errorf("file: %s: %w", path, err)
		}
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; chmod go-w it (the store makes 0600 files in 0700 directories)", ErrInsecure, path, perm)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// openDB opens the bbolt file read-write, taking its exclusive lock. Open
// calls it only after verify passed: bbolt's open walks every page on a
// goroutine of its own, where a fault could not be caught. Should bbolt
// still panic or fault on this goroutine, that becomes ErrCorrupt, and the
// file bbolt opened is closed so its lock is released.
func openDB(path string, lockTimeout time.Duration) (db *bolt.DB, err error) {
	var f *os.File
	defer func() {
		if r := recover(); r != nil {
			if f != nil {
				_ = f.Close()
			}
			db, err = nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("file: reading the store file %s: %w", path, err)
	}
	if fi.Size() == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrCorrupt, path)
	}
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout: lockTimeout,
		// As etcd runs bbolt: the freelist is rebuilt when the file is
		// opened instead of written at every commit.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			var err error
			f, err = os.OpenFile(name, flag, perm)
			return f, err
		},
	})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s (is another issuer running on the same data_dir?)", ErrLocked, path)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EIO):
		return nil, fmt.Errorf("file: reading the store file %s: %w", path, err)
	default:
		// bbolt's ErrInvalid, ErrChecksum, ErrVersionMismatch, and its
		// own texts for a short or malformed file ("file size too
		// small", "invalid page size").
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
}

// verify checks the file's pages (checkPages) under a shared lock, so no
// writer changes it meanwhile; another process holding it open fails with
// ErrLocked after lockTimeout.
func verify(path string, lockTimeout time.Duration) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("file: reading the store file %s: %w", path, err)
	}
	defer f.Close()
	if err := lockShared(f, lockTimeout); err != nil {
		if errors.Is(err, errWouldBlock) {
			return fmt.Errorf("%w: %s (is another issuer running on the same data_dir?)", ErrLocked, path)
		}
		return fmt.Errorf("file: locking the store file %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("file: reading the store file %s: %w", path, err)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("%w: %s is empty", ErrCorrupt, path)
	}
	if err := checkPages(f, fi.Size()); err != nil {
		var re errRead
		if errors.As(err, &re) {
			return fmt.Errorf("file: reading the store file %s: %w", path, re.err)
		}
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	return nil
}

// checkFormat checks that the opened file is an issuer store of this
// format version with every bucket.
func (s *Store) checkFormat() error {
	return s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: %s is a bbolt file but not an issuer store (no meta bucket)", ErrCorrupt, s.path)
		}
		if v := meta.Get(keyFormat); string(v) != formatVersion {
			return fmt.Errorf("%w: %s has store format %q, this build reads %q", ErrCorrupt, s.path, v, formatVersion)
		}
		for _, b := range allBuckets {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%w: %s lacks the %s bucket", ErrCorrupt, s.path, b)
			}
		}
		return nil
	})
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// Close stops the background purge, commits the writes already queued,
// and closes the file; it waits for running reads. Calls after Close fail
// with ErrClosed. Close is idempotent.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
		<-s.done
		err = s.db.Close()
		if err != nil {
			err = fmt.Errorf("file: closing %s: %w", s.path, err)
		}
	})
	return err
}

// commitLoop is the group committer: it takes the first queued write,
// every write queued behind it (up to maxBatch), and commits them in one
// transaction with one pair of fsyncs; writes that arrive meanwhile make
// the next group. A lone writer waits for no timer.
func (s *Store) commitLoop() {
	debug.SetPanicOnFault(true)
	batch := make([]*call, 0, maxBatch)
	for {
		var c *call
		select {
		case c = <-s.queue:
		case <-s.stop:
			// Close holds no sender now: commit what is left, then stop.
			for {
				batch = batch[:0]
				for len(batch) < maxBatch {
					select {
					case c := <-s.queue:
						batch = append(batch, c)
						continue
					default:
					}
					break
				}
				if len(batch) == 0 {
					return
				}
				s.commit(batch)
			}
		}
		batch = append(batch[:0], c)
	gather:
		for len(batch) < maxBatch {
			select {
			case c := <-s.queue:
				batch = append(batch, c)
			default:
				break gather
			}
		}
		s.commit(batch)
	}
}

// commit runs the calls of batch that their callers still wait for in one
// read-write transaction. A call whose function fails is rerun alone, with
// the others, so one failure never fails the rest of the group.
func (s *Store) commit(batch []*call) {
	live := batch[:0]
	for _, c := range batch {
		if c.state.CompareAndSwap(queued, taken) {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return
	}
	if err := s.brokenErr(); err != nil {
		finish(live, err)
		return
	}
	failed := false
	err := s.run(func(tx *bolt.Tx) error {
		for _, c := range live {
			if err := c.fn(tx); err != nil {
				failed = true
				return err
			}
		}
		return nil
	})
	if err == nil || !failed {
		finish(live, err)
		return
	}
	for _, c := range live {
		finish([]*call{c}, s.run(c.fn))
	}
}

func finish(calls []*call, err error) {
	for _, c := range calls {
		c.err = err
		close(c.done)
	}
}

// run commits fn in one durable read-write transaction. A panic (bbolt
// asserts its invariants by panicking) or a fault on the memory map marks
// the store broken.
func (s *Store) run(fn func(tx *bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.markBroken(fmt.Errorf("%w: %s: %v", ErrCorrupt, s.path, r))
		}
	}()
	err = s.db.Update(fn)
	if err == nil {
		s.commits.Add(1)
	}
	if err != nil && !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, ErrCorrupt) {
		// A failed write or fsync (a full disk, an I/O error): the
		// transaction was rolled back and nothing of it was acknowledged.
		err = fmt.Errorf("%w: file: commit to %s: %w", store.ErrUnavailable, s.path, err)
	}
	return err
}

func (s *Store) markBroken(err error) error {
	ce := &corruptError{err}
	s.broken.CompareAndSwap(nil, ce)
	return *s.broken.Load()
}

func (s *Store) brokenErr() error {
	if b := s.broken.Load(); b != nil {
		return *b
	}
	return nil
}

// update queues fn for the committer and waits until it is durable. fn
// runs in the committer's transaction, after the group's earlier writes;
// it reports its outcome through variables it captures and returns an
// error only when the transaction must not commit. If ctx ends first and
// fn has not started, it never runs and update returns ctx's error; if it
// has started, update returns an error wrapping store.ErrUnavailable and
// the write may still land (the redis package's rule: fail closed).
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := s.brokenErr(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: file: not written: %w", store.ErrUnavailable, err)
	}
	c := &call{fn: fn, done: make(chan struct{})}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.queue <- c:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return fmt.Errorf("%w: file: waiting to write: %w", store.ErrUnavailable, ctx.Err())
	}
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		if c.state.CompareAndSwap(queued, abandoned) {
			return fmt.Errorf("%w: file: waiting to write (not written): %w", store.ErrUnavailable, ctx.Err())
		}
		return fmt.Errorf("%w: file: write in progress, it may still land: %w", store.ErrUnavailable, ctx.Err())
	}
}

// view runs fn in a read-only transaction, concurrently with other reads
// and with the committer.
func (s *Store) view(fn func(tx *bolt.Tx) error) (err error) {
	if err := s.brokenErr(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = s.markBroken(fmt.Errorf("%w: %s: %v", ErrCorrupt, s.path, r))
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	err = s.db.View(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func (s *Store) nowNano() int64 { return s.o.now().UnixNano() }
