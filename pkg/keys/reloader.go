package keys

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrRunning means Start was called on a Reloader that is already polling.
var ErrRunning = errors.New("keys: reloader already started")

// Reloader keeps a resource server's *Ring in step with a key file: a ring
// file, or a JWK Set exported with ExportJWKS (Decode tells them apart). It
// polls the file (no inotify: it works on every file system, including
// mounted secrets), and when the content changed it parses it and swaps
// the new set in atomically, merged with the current one (Merge) so that
// keys that did not change keep their state. Readers of the Ring never
// block and never see a partial set.
//
// A file that fails to load — missing, truncated, corrupt, wrapped with
// another KEK — is reported and otherwise ignored: the Ring keeps the last
// good set, and the next change of the file is tried again.
//
// The poll interval must be well under the issuer's propagation interval:
// a new key activates Propagation after it is written, and this process
// must have loaded it by then.
//
// A Reloader is safe for concurrent use.
type Reloader struct {
	ring *Ring
	o    options

	mu      sync.Mutex // serializes Check
	w       watcher
	lastErr string // last polling error reported, to report each once

	runMu  sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewReloader loads the key file at path and returns a Reloader keeping a
// Ring current with it. The first load must succeed: a resource server
// without keys cannot serve.
//
// Options: WithKEK (the file is a wrapped ring file), WithRingName (expected
// ring name; the name given to a JWK Set), WithRing (keep that Ring current
// instead of a new one), WithOnReload and WithOnError (called from the
// polling goroutine; OnReload also from Check).
func NewReloader(ctx context.Context, path string, opts ...Option) (*Reloader, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	r := &Reloader{o: o, w: watcher{path: path}}
	snap, _, err := r.w.poll(ctx)
	if err != nil {
		return nil, err
	}
	set, err := decode(snap.data, &r.o)
	if err != nil {
		clear(snap.data)
		return nil, withPath(err, path)
	}
	r.w.accept(snap)
	if o.ring != nil {
		r.ring = o.ring
		r.ring.Store(Merge(r.ring.Load(), set))
	} else {
		r.ring = NewRing(set)
	}
	return r, nil
}

// Ring returns the ring the Reloader keeps current. The pointer never
// changes.
func (r *Reloader) Ring() *Ring { return r.ring }

// Path returns the watched file.
func (r *Reloader) Path() string { return r.w.path }

// Check polls the file once: if its content changed and parses, the new set
// is swapped in (and passed to WithOnReload's function) and changed is
// true. A file that changed but fails to load returns the error once and
// leaves the ring as it was; a file that cannot be stat'ed or read returns
// an error at every call.
func (r *Reloader) Check(ctx context.Context) (changed bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	snap, changed, err := r.w.poll(ctx)
	if err != nil || !changed {
		return false, err
	}
	set, err := decode(snap.data, &r.o)
	if err != nil {
		err = withPath(err, r.w.path)
		r.w.reject(snap, err)
		return false, err
	}
	r.w.accept(snap)
	set = Merge(r.ring.Load(), set)
	r.ring.Store(set)
	if r.o.onReload != nil {
		r.o.onReload(set)
	}
	return true, nil
}

// Start polls the file every interval in a goroutine until ctx is done or
// Stop is called. Errors go to WithOnError's function, each distinct error
// once until polling succeeds again.
func (r *Reloader) Start(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("keys: reload interval must be positive, got %s", interval)
	}
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.done != nil {
		select {
		case <-r.done:
		default:
			return ErrRunning
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	r.cancel, r.done = cancel, done
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			_, err := r.Check(ctx)
			r.report(ctx, err)
		}
	}()
	return nil
}

// report passes a polling error to OnError once.
func (r *Reloader) report(ctx context.Context, err error) {
	if err == nil {
		r.lastErr = ""
		return
	}
	if ctx.Err() != nil || err.Error() == r.lastErr {
		return
	}
	r.lastErr = err.Error()
	if r.o.onError != nil {
		r.o.onError(err)
	}
}

// Stop stops polling and waits for the goroutine to end. It may be called
// more than once, and without Start.
func (r *Reloader) Stop() {
	r.runMu.Lock()
	cancel, done := r.cancel, r.done
	r.runMu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}
