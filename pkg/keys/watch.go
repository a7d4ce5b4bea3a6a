package keys

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
)

// watcher notices when a file changes, by polling: a change of inode
// (atomic writes rename a new file into place), size or modification time
// leads to a read, and the content's SHA-256 decides whether the content
// really changed. Rewriting identical bytes is no change. The zero watcher
// has seen nothing. It is not safe for concurrent use.
type watcher struct {
	path string
	info os.FileInfo // stat of the content last seen; nil forces a read
	hash [sha256.Size]byte
	seen bool  // hash is valid
	bad  error // why the content last seen was refused, if it was
}

// snapshot is one read of the watched file.
type snapshot struct {
	info os.FileInfo
	hash [sha256.Size]byte
	data []byte
}

// poll returns the file's content if it differs from the content last
// seen; changed is false when the file is the same. err reports a file
// that cannot be stat'ed or read.
func (w *watcher) poll(ctx context.Context) (snap snapshot, changed bool, err error) {
	if err := ctx.Err(); err != nil {
		return snapshot{}, false, err
	}
	info, err := os.Stat(w.path)
	if err != nil {
		return snapshot{}, false, fmt.Errorf("keys: %w", err)
	}
	if w.seen && w.info != nil && os.SameFile(w.info, info) &&
		info.Size() == w.info.Size() && info.ModTime().Equal(w.info.ModTime()) {
		return snapshot{}, false, nil
	}
	data, err := readLimited(ctx, w.path)
	if err != nil {
		return snapshot{}, false, err
	}
	snap = snapshot{info: info, hash: sha256.Sum256(data), data: data}
	if w.seen && snap.hash == w.hash {
		w.info = info // same bytes, new inode or time: remember the new stat
		clear(data)
		return snapshot{}, false, nil
	}
	return snap, true, nil
}

// accept records snap as the content now in use.
func (w *watcher) accept(snap snapshot) {
	w.info, w.hash, w.seen, w.bad = snap.info, snap.hash, true, nil
	clear(snap.data)
}

// reject records snap as seen and refused for reason err, so that the same
// content is not parsed again until it changes.
func (w *watcher) reject(snap snapshot, err error) {
	w.info, w.hash, w.seen, w.bad = snap.info, snap.hash, true, err
	clear(snap.data)
}
