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
	"strings"
	"sync"
)

// Revision identifies one stored version of a ring's document. Storages
// choose its form (a content hash for a directory, a version counter for
// Redis); a Manager only compares revisions for equality. The empty
// Revision means "no document".
type Revision string

// ErrConflict means a Storage refused a write because the ring changed
// since the writer read it: another process wrote a newer ring. The writer
// keeps its current set, re-reads and plans again; a stale writer never
// overwrites a newer ring.
var ErrConflict = errors.New("keys: ring changed since it was read; stale write refused")

// Storage is where a Manager keeps its rings: one document per ring name,
// the bytes Marshal writes, each with a Revision. DirStorage (a directory
// of ring files, what NewManager uses) is one; the issuer keeps rings in
// Redis with another (pkg/store/redis), so that replicas need no shared
// volume. A Manager works the same on any Storage.
//
// Implementations must be safe for concurrent use.
type Storage interface {
	// Read returns the document of ring name and its revision. If the
	// ring's revision is still since, it may return (nil, since, nil)
	// without reading the document: Managers poll with the revision they
	// last saw, so that an unchanged ring costs a stat or one small read.
	// A ring that is not stored is an error wrapping fs.ErrNotExist; a
	// storage that cannot be reached is another error. Read never returns
	// a partial document: a torn or corrupt one is for the parser to
	// refuse.
	Read(ctx context.Context, name string, since Revision) (data []byte, rev Revision, err error)
	// Write stores data as the document of ring name if the ring's
	// revision is still prev, and returns the new revision; prev "" means
	// the ring must not exist yet (create-only). If the ring changed, or
	// exists when prev is "", Write stores nothing and returns an error
	// wrapping ErrConflict, or ErrExist for a create. A write is atomic:
	// readers see the old document or the new one, whole.
	Write(ctx context.Context, name string, data []byte, prev Revision) (Revision, error)
	// Location describes where ring name is kept, for messages and logs:
	// a file path, a Redis key. It never holds a secret.
	Location(name string) string
}

// Restorer is a Storage that may lose a ring while processes still hold it
// — a Redis restarted without persistence — and wants it written back:
// when RestoreLostRings returns true, a Manager's Tick (the lease holder)
// writes a ring that Read reports missing back from memory, create-only,
// so that the tokens its keys sealed keep opening. DirStorage is no
// Restorer: a ring file that vanishes more likely means a volume that is
// not mounted, where writing would split the replicas; it is reported.
type Restorer interface {
	RestoreLostRings() bool
}

// Lister is a Storage that can list the rings it holds, which lets
// Manager.Open with no names open every one of them.
type Lister interface {
	List(ctx context.Context) ([]string, error)
}

// DirStorage is the Storage of a directory with one ring file per ring,
// named FileName(ring). Writes are atomic (temporary file, fsync, rename,
// fsync of the directory; see WriteFile) and files have mode 0600. A
// revision is the SHA-256 of the file's content; a poll stats the file and
// reads it only when its inode, size or modification time changed.
//
// Its compare-and-set is checked before the rename, not atomically with
// it: two processes writing one ring at the same instant may still race.
// Issuer replicas never do, since only the holder of the rotation lease
// writes; the check refuses the writes of a process that lost the lease,
// and of one that planned from a file another process (issuer keys rotate)
// replaced since.
type DirStorage struct {
	dir   string
	fault func(writeStep) error

	mu    sync.Mutex
	cache map[string]statHash // last content read or written, by ring
}

// statHash remembers the stat of a file and the hash of its content; a nil
// info forces the next read.
type statHash struct {
	info os.FileInfo
	hash [sha256.Size]byte
}

// NewDirStorage returns the Storage of the ring files in dir. It does no
// I/O; the directory is created (mode 0700) by the first create.
func NewDirStorage(dir string) (*DirStorage, error) {
	if dir == "" {
		return nil, errors.New("keys: empty key directory")
	}
	return &DirStorage{dir: dir, cache: map[string]statHash{}}, nil
}

var (
	_ Storage = (*DirStorage)(nil)
	_ Lister  = (*DirStorage)(nil)
)

// Dir returns the directory.
func (d *DirStorage) Dir() string { return d.dir }

// Location returns the path of ring name's file.
func (d *DirStorage) Location(name string) string { return filepath.Join(d.dir, FileName(name)) }

func revisionOf(h [sha256.Size]byte) Revision { return Revision(hex.EncodeToString(h[:])) }

func sameStat(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// Read implements Storage.
func (d *DirStorage) Read(ctx context.Context, name string, since Revision) ([]byte, Revision, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	path := d.Location(name)
	info, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("keys: %w", err)
	}
	d.mu.Lock()
	c, ok := d.cache[name]
	d.mu.Unlock()
	if ok && since != "" && sameStat(c.info, info) && revisionOf(c.hash) == since {
		return nil, since, nil
	}
	data, err := readLimited(ctx, path)
	if err != nil {
		return nil, "", err
	}
	h := sha256.Sum256(data)
	d.mu.Lock()
	d.cache[name] = statHash{info: info, hash: h}
	d.mu.Unlock()
	rev := revisionOf(h)
	if rev == since {
		clear(data)
		return nil, since, nil
	}
	return data, rev, nil
}

// current returns the revision of ring name's file now.
func (d *DirStorage) current(ctx context.Context, name string) (Revision, error) {
	_, rev, err := d.Read(ctx, name, d.cached(name))
	return rev, err
}

func (d *DirStorage) cached(name string) Revision {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.cache[name]; ok && c.info != nil {
		return revisionOf(c.hash)
	}
	return ""
}

// Write implements Storage.
func (d *DirStorage) Write(ctx context.Context, name string, data []byte, prev Revision) (Revision, error) {
	path := d.Location(name)
	if prev == "" {
		if err := os.MkdirAll(d.dir, 0o700); err != nil {
			return "", fmt.Errorf("keys: %w", err)
		}
		if err := writeAtomic(ctx, path, data, true, d.fault); err != nil {
			return "", err
		}
	} else {
		cur, err := d.current(ctx, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("%w: %s was removed", ErrConflict, path)
		case err != nil:
			return "", err
		case cur != prev:
			return "", fmt.Errorf("%w: %s", ErrConflict, path)
		}
		if err := writeAtomic(ctx, path, data, false, d.fault); err != nil {
			return "", err
		}
	}
	h := sha256.Sum256(data)
	d.mu.Lock()
	// Read the file once more at the next poll: another process may have
	// replaced it right after the rename.
	d.cache[name] = statHash{hash: h}
	d.mu.Unlock()
	return revisionOf(h), nil
}

// List returns the names of the rings whose files are in the directory:
// files named FileName(ring) of the ring they hold. Hidden and temporary
// files are skipped; a file that names no ring, or another ring than its
// name says (ErrFileName), is reported in the joined error, and the other
// rings are still listed.
func (d *DirStorage) List(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	var names []string
	var errs []error
	for _, e := range entries {
		fn := e.Name()
		if strings.HasPrefix(fn, ".") || !strings.HasSuffix(fn, ".json") || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(d.dir, fn)
		data, err := readLimited(ctx, path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		name, err := peekRingName(data)
		clear(data)
		if err != nil {
			errs = append(errs, withPath(err, path))
			continue
		}
		if FileName(name) != fn {
			errs = append(errs, fmt.Errorf("%w: %s holds ring %q, whose file is %s", ErrFileName, path, name, FileName(name)))
			continue
		}
		names = append(names, name)
	}
	return names, errors.Join(errs...)
}

// peekRingName returns the "ring" member of a ring file, checked as a ring
// name; the rest is for Parse.
func peekRingName(data []byte) (string, error) {
	top, err := objectMembers(data)
	if err == nil {
		var name string
		if err = member(top, "ring", &name); err == nil {
			if !validRingName(name) {
				return "", &ParseError{Kind: kindRing, Index: -1, Field: "ring", Err: fmt.Errorf("%w: %q", ErrRingName, name)}
			}
			return name, nil
		}
		return "", &ParseError{Kind: kindRing, Index: -1, Field: "ring", Err: err}
	}
	return "", &ParseError{Kind: kindRing, Index: -1, Err: err}
}
