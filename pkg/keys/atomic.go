package keys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// FileMode is the mode of every ring file: readable and writable by its
// owner only, since it holds key material.
const FileMode os.FileMode = 0o600

// writeStep names a step of an atomic write, for fault injection in tests.
type writeStep string

const (
	stepCreate  writeStep = "create"   // create the temporary file (mode 0600)
	stepWrite   writeStep = "write"    // write the data
	stepSync    writeStep = "fsync"    // fsync the temporary file
	stepChmod   writeStep = "chmod"    // chmod 0600, whatever the umask did
	stepClose   writeStep = "close"    // close the temporary file
	stepRename  writeStep = "rename"   // rename (or link, for create-only) it into place
	stepSyncDir writeStep = "dir-sync" // fsync the directory so the rename is durable
)

// writeSteps lists the steps in the order they happen.
var writeSteps = []writeStep{stepCreate, stepWrite, stepSync, stepChmod, stepClose, stepRename, stepSyncDir}

// errSimulatedCrash, returned by a test fault hook, makes writeAtomic stop
// at once without cleaning up, as a process killed at that step would.
var errSimulatedCrash = errors.New("keys: simulated crash")

// ErrExist means a create-only write found the file already there.
var ErrExist = errors.New("keys: ring file already exists")

// WriteFile writes set to path as a ring file (Marshal), atomically: it
// writes a temporary file in the same directory created with mode 0600,
// fsyncs it, renames it over path and fsyncs the directory. A reader sees
// either the old file or the new one, whole, and a failure or crash at any
// step leaves the old file in place. After a crash a temporary file named
// ".<name>.tmp-*" may remain; it is never read and can be deleted.
//
// Options: WithKEK wraps the key material.
func WriteFile(ctx context.Context, path string, set *Set, opts ...Option) error {
	o, err := buildOptions(opts)
	if err != nil {
		return err
	}
	data, err := Marshal(set, opts...)
	if err != nil {
		return err
	}
	defer clear(data)
	return writeAtomic(ctx, path, data, false, o.fault)
}

// writeAtomic writes data to path through a temporary file. With
// createOnly it links the temporary file into place instead of renaming,
// which fails with ErrExist if path exists, so that two processes creating
// the same ring cannot overwrite each other.
func writeAtomic(ctx context.Context, path string, data []byte, createOnly bool, fault func(writeStep) error) (err error) {
	step := func(s writeStep) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if fault != nil {
			return fault(s)
		}
		return nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := step(stepCreate); err != nil {
		return writeErr(path, stepCreate, err)
	}
	// os.CreateTemp creates the file with mode 0600 and O_EXCL.
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return writeErr(path, stepCreate, err)
	}
	tmp := f.Name()
	crashed := false
	defer func() {
		if err != nil {
			_ = f.Close()
			if !crashed {
				_ = os.Remove(tmp)
			}
		}
	}()
	do := func(s writeStep, op func() error) error {
		if e := step(s); e != nil {
			crashed = errors.Is(e, errSimulatedCrash)
			return writeErr(path, s, e)
		}
		if e := op(); e != nil {
			return writeErr(path, s, e)
		}
		return nil
	}
	if err = do(stepWrite, func() error { _, e := f.Write(data); return e }); err != nil {
		return err
	}
	if err = do(stepSync, f.Sync); err != nil {
		return err
	}
	if err = do(stepChmod, func() error { return f.Chmod(FileMode) }); err != nil {
		return err
	}
	if err = do(stepClose, f.Close); err != nil {
		return err
	}
	if createOnly {
		err = do(stepRename, func() error {
			e := os.Link(tmp, path)
			if errors.Is(e, os.ErrExist) {
				return ErrExist
			}
			return e
		})
		if err != nil {
			return err
		}
		_ = os.Remove(tmp)
	} else if err = do(stepRename, func() error { return os.Rename(tmp, path) }); err != nil {
		return err
	}
	// From here on the new file is in place: do not remove tmp (it is gone or
	// linked), only report that durability is not assured.
	if e := step(stepSyncDir); e != nil {
		return writeErr(path, stepSyncDir, e)
	}
	if e := syncDir(dir); e != nil {
		return writeErr(path, stepSyncDir, e)
	}
	return nil
}

func writeErr(path string, s writeStep, err error) error {
	if errors.Is(err, ErrExist) {
		return fmt.Errorf("%w: %s", ErrExist, path)
	}
	return fmt.Errorf("keys: writing %s: %s: %w", path, s, err)
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

// ReadFile reads and parses the ring file at path (Parse). The file must be
// at most MaxFileSize bytes. Options: WithKEK, WithRingName.
func ReadFile(ctx context.Context, path string, opts ...Option) (*Set, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	data, err := readLimited(ctx, path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	set, err := parseRing(data, &o)
	return set, withPath(err, path)
}

// readLimited reads at most MaxFileSize+1 bytes of path, so an oversized
// file is reported by the parser instead of being read whole.
func readLimited(ctx context.Context, path string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("keys: reading %s: %w", path, err)
	}
	return data, nil
}

// withPath records path in a *ParseError.
func withPath(err error, path string) error {
	var pe *ParseError
	if errors.As(err, &pe) && pe.Path == "" {
		pe.Path = path
	}
	return err
}

// isTempName reports whether a directory entry is a temporary file of an
// atomic write.
func isTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}
