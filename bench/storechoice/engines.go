package storechoice

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	bolt "go.etcd.io/bbolt"
)

// engine is one way of making the issuer's three writes durable. Each
// method returns once its write is on disk; outcomes the issuer would
// report (a code reused, a generation superseded) are errors.
type engine interface {
	// redeem inserts code with its expiry unless present.
	redeem(code string, exp int64) error
	// rotate advances family fid from gen to gen+1.
	rotate(fid string, gen uint64, exp int64) error
	// revoke records jti as revoked until exp, never shortening.
	revoke(jti string, exp int64) error
	close() error
}

var (
	errReused     = errors.New("code reused")
	errSuperseded = errors.New("generation superseded")
)

// Record layouts, shared by every engine: a code or a revoked token is
// its expiry (8 bytes), a family its generation and expiry (16 bytes).
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func family(gen uint64, exp int64) []byte {
	return binary.BigEndian.AppendUint64(u64(gen), uint64(exp))
}

// The three operations as steps of a read-write transaction, given get
// and put on one keyspace; ok reports the outcome without failing the
// transaction, so a group commit never rolls back its other members.
func redeemStep(get func([]byte) []byte, put func(k, v []byte) error, code string, exp int64) (error, error) {
	k := []byte("c/" + code)
	if get(k) != nil {
		return errReused, nil
	}
	return nil, put(k, u64(uint64(exp)))
}

func rotateStep(get func([]byte) []byte, put func(k, v []byte) error, fid string, gen uint64, exp int64) (error, error) {
	k := []byte("f/" + fid)
	var cur uint64
	if v := get(k); len(v) == 16 {
		cur = binary.BigEndian.Uint64(v)
	}
	if cur != gen {
		return errSuperseded, nil
	}
	return nil, put(k, family(gen+1, exp))
}

func revokeStep(get func([]byte) []byte, put func(k, v []byte) error, jti string, exp int64) (error, error) {
	k := []byte("t/" + jti)
	if v := get(k); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) >= exp {
		return nil, nil
	}
	return nil, put(k, u64(uint64(exp)))
}

// ---- the floor ----

type fsyncFloor struct {
	mu sync.Mutex
	f  *os.File
}

func newFsync(dir string) (engine, error) {
	f, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	return &fsyncFloor{f: f}, err
}

func (e *fsyncFloor) write(key string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.f.WriteString(key + "\n"); err != nil {
		return err
	}
	return e.f.Sync()
}

func (e *fsyncFloor) redeem(code string, _ int64) error          { return e.write(code) }
func (e *fsyncFloor) rotate(fid string, _ uint64, _ int64) error { return e.write(fid) }
func (e *fsyncFloor) revoke(jti string, _ int64) error           { return e.write(jti) }
func (e *fsyncFloor) close() error                               { return e.f.Close() }

// ---- bbolt ----

var bucket = []byte("b")

// boltEngine runs each operation through commit, one of Update, Batch or
// the group commit below.
type boltEngine struct {
	db     *bolt.DB
	commit func(fn func(*bolt.Tx) error) error
	g      *group
}

func openBolt(dir string) (*bolt.DB, error) {
	// As etcd runs it: the freelist is not written at each commit but
	// rebuilt when the file is opened, and kept in a hash map.
	db, err := bolt.Open(filepath.Join(dir, "store.db"), 0o600, &bolt.Options{
		Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		return nil, err
	}
	return db, db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	})
}

func newBolt(mode string) func(dir string) (engine, error) {
	return func(dir string) (engine, error) {
		db, err := openBolt(dir)
		if err != nil {
			return nil, err
		}
		e := &boltEngine{db: db}
		switch mode {
		case "update":
			e.commit = db.Update
		case "batch":
			e.commit = db.Batch
		case "group":
			e.g = &group{db: db}
			e.commit = e.g.do
		}
		return e, nil
	}
}

func (e *boltEngine) run(step func(get func([]byte) []byte, put func(k, v []byte) error) (error, error)) error {
	var outcome error
	err := e.commit(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		var err error
		outcome, err = step(b.Get, b.Put)
		return err
	})
	if err != nil {
		return err
	}
	return outcome
}

func (e *boltEngine) redeem(code string, exp int64) error {
	return e.run(func(g func([]byte) []byte, p func(k, v []byte) error) (error, error) {
		return redeemStep(g, p, code, exp)
	})
}

func (e *boltEngine) rotate(fid string, gen uint64, exp int64) error {
	return e.run(func(g func([]byte) []byte, p func(k, v []byte) error) (error, error) {
		return rotateStep(g, p, fid, gen, exp)
	})
}

func (e *boltEngine) revoke(jti string, exp int64) error {
	return e.run(func(g func([]byte) []byte, p func(k, v []byte) error) (error, error) {
		return revokeStep(g, p, jti, exp)
	})
}

func (e *boltEngine) close() error { return e.db.Close() }

// group is a leader-follower group commit: a caller appends its function
// to the queue; if no commit is running it becomes the leader and commits
// the whole queue in one transaction, again and again until the queue is
// empty; the others wait for their result. Functions that fail are rerun
// alone, so one failure does not fail the others.
type group struct {
	db      *bolt.DB
	mu      sync.Mutex
	queue   []*call
	running bool
}

type call struct {
	fn   func(*bolt.Tx) error
	err  error
	done chan struct{}
}

func (g *group) do(fn func(*bolt.Tx) error) error {
	c := &call{fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if g.running {
		g.mu.Unlock()
		<-c.done
		return c.err
	}
	g.running = true
	for {
		batch := g.queue
		g.queue = nil
		if len(batch) == 0 {
			g.running = false
			g.mu.Unlock()
			break
		}
		g.mu.Unlock()
		g.commit(batch)
		g.mu.Lock()
	}
	<-c.done
	return c.err
}

func (g *group) commit(batch []*call) {
	failed := -1
	err := g.db.Update(func(tx *bolt.Tx) error {
		for i, c := range batch {
			if err := c.fn(tx); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, c := range batch {
			close(c.done)
		}
		return
	}
	if failed < 0 { // the commit itself failed: everyone hears it
		for _, c := range batch {
			c.err = err
			close(c.done)
		}
		return
	}
	for _, c := range batch { // rerun each alone
		c.err = g.db.Update(c.fn)
		close(c.done)
	}
}

// ---- pebble ----

type pebbleEngine struct {
	db    *pebble.DB
	seed  maphash.Seed
	locks [256]sync.Mutex
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)         {}
func (quietLogger) Errorf(string, ...any)        {}
func (quietLogger) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

func newPebble(dir string) (engine, error) {
	db, err := pebble.Open(filepath.Join(dir, "pebble"), &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, err
	}
	return &pebbleEngine{db: db, seed: maphash.MakeSeed()}, nil
}

// run makes step atomic for key with a striped lock held across the
// synced commit; commits under other stripes proceed, and pebble's commit
// pipeline shares one WAL fsync among the concurrent ones.
func (e *pebbleEngine) run(key string, step func(get func([]byte) []byte, put func(k, v []byte) error) (error, error)) error {
	mu := &e.locks[maphash.String(e.seed, key)%uint64(len(e.locks))]
	mu.Lock()
	defer mu.Unlock()
	var getErr error
	get := func(k []byte) []byte {
		v, closer, err := e.db.Get(k)
		if err != nil {
			if !errors.Is(err, pebble.ErrNotFound) {
				getErr = err
			}
			return nil
		}
		out := append([]byte(nil), v...)
		_ = closer.Close()
		return out
	}
	b := e.db.NewBatch()
	defer b.Close()
	outcome, err := step(get, func(k, v []byte) error { return b.Set(k, v, nil) })
	if err != nil {
		return err
	}
	if getErr != nil {
		return getErr
	}
	if outcome != nil {
		return outcome
	}
	return b.Commit(pebble.Sync)
}

func (e *pebbleEngine) redeem(code string, exp int64) error {
	return e.run(code, func(g func([]byte) []byte, p func(k, v []byte) error) (error, error) {
		return redeemStep(g, p, code, exp)
	})
}

func (e *pebbleEngine) rotate(fid string, gen uint64, exp int64) error {
	return e.run(fid, func(g func([]byte) []byte, p func(k, v []byte) error) (error, error) {
		return rotateStep(g, p, fid, gen, exp)
	})
}

func (e *pebbleEngine) revoke(jti string, exp int64) error {
	return e.run(jti, func(g func([]byte) []byte, p func(k, v []byte) error) (error, error) {
		return revokeStep(g, p, jti, exp)
	})
}

func (e *pebbleEngine) close() error { return e.db.Close() }

// Impl is one engine under test.
type Impl struct {
	Name string
	open func(dir string) (engine, error)
}

// Impls are the engines compared, the floor first.
var Impls = []Impl{
	{"fsync", newFsync},
	{"bbolt-update", newBolt("update")},
	{"bbolt-batch", newBolt("batch")},
	{"bbolt-group", newBolt("group")},
	{"pebble", newPebble},
}

// randomID returns a 22-character id, the size of the issuer's.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Run opens impl in a new directory under dir, runs ops operations of the
// write mix on it with writers concurrent writers, closes it and returns
// the wall time the operations took and the CPU time (user and system)
// the process spent meanwhile.
func Run(impl Impl, dir string, writers, ops int) (wall, cpu time.Duration, err error) {
	sub, err := os.MkdirTemp(dir, impl.Name+"-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(sub)
	e, err := impl.open(sub)
	if err != nil {
		return 0, 0, err
	}
	c0, t0 := cpuTime(), time.Now()
	err = mix(e, writers, ops)
	wall, cpu = time.Since(t0), cpuTime()-c0
	if cerr := e.close(); err == nil {
		err = cerr
	}
	return wall, cpu, err
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mix runs ops operations of the write mix (package documentation) on e
// with writers concurrent writers.
func mix(e engine, writers, ops int) error {
	exp := time.Now().Add(time.Hour).UnixNano()
	var (
		next   atomic.Int64
		failed atomic.Value
		wg     sync.WaitGroup
	)
	for range writers {
		wg.Go(func() {
			// This writer's own refresh families and their generations.
			fams := make([]string, 64)
			gens := make([]uint64, len(fams))
			for i := range fams {
				fams[i] = randomID()
			}
			for n := 0; ; n++ {
				i := next.Add(1)
				if i > int64(ops) {
					return
				}
				var err error
				switch op := i % 10; {
				case op < 5:
					err = e.redeem(randomID(), exp)
				case op < 9:
					f := n % len(fams)
					err = e.rotate(fams[f], gens[f], exp)
					gens[f]++
				default:
					err = e.revoke(randomID(), exp)
				}
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return fmt.Errorf("write mix: %w", err)
	}
	return nil
}
