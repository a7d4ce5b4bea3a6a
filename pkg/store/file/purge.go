package file

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// purgeScan is how many entries one step of the purge reads; purgeTick is
// how many the background purge reads per tick at most, so a tick costs
// a few milliseconds of reads however large the file.
const (
	purgeScan = 8192
	purgeTick = 8 * purgeScan
)

// purgeCursor is where the purge's scan resumes: a table and the last key
// read in it (nil: its start).
type purgeCursor struct {
	table int
	after []byte
}

func (s *Store) purgeLoop() {
	t := time.NewTicker(s.o.purge)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.purgeMu.Lock()
			for read := 0; read < purgeTick && ctx.Err() == nil; {
				n, _, wrapped, err := s.purgeStep(ctx)
				read += n
				if err != nil || wrapped {
					break
				}
			}
			s.purgeMu.Unlock()
		}
	}
}

// Purge removes every entry that has expired: one pass over every table,
// in steps that read at most 8192 entries each and remove the expired ones
// found in transactions of at most WithPurgeBatch entries. It returns how
// many it removed. The background purge does the same a bounded number of
// steps per WithPurgeInterval, resuming where it stopped; calling Purge
// directly is useful with WithPurgeInterval(0). Expired entries are
// invisible to every method whether or not they have been purged.
func (s *Store) Purge(ctx context.Context) (int, error) {
	s.purgeMu.Lock()
	defer s.purgeMu.Unlock()
	s.pcur = purgeCursor{}
	total := 0
	for {
		_, removed, wrapped, err := s.purgeStep(ctx)
		total += removed
		if err != nil || wrapped {
			return total, err
		}
	}
}

// purgeStep reads up to purgeScan entries from the cursor on, in a read
// transaction, and removes the expired ones it found in write
// transactions, checking each is still expired. It returns how many it
// read and removed, and whether the scan went past the last table (the
// cursor is then back at the start). s.purgeMu must be held.
func (s *Store) purgeStep(ctx context.Context) (read, removed int, wrapped bool, err error) {
	t := purgeTables[s.pcur.table]
	var due [][]byte
	var last []byte
	end := false
	err = s.view(func(tx *bolt.Tx) error {
		now := s.nowNano()
		b := tx.Bucket(t.name)
		c := b.Cursor()
		var k, v []byte
		if s.pcur.after == nil {
			k, v = c.First()
		} else {
			k, v = c.Seek(s.pcur.after)
			if k != nil && bytes.Equal(k, s.pcur.after) {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			if read == purgeScan {
				return nil
			}
			read++
			last = k
			if exp, ok := entryExp(b, t, k, v); ok && exp <= now {
				due = append(due, bytes.Clone(k))
			}
		}
		end = true
		return nil
	})
	if err != nil {
		return read, 0, false, err
	}
	for len(due) > 0 {
		batch := due[:min(len(due), s.o.purgeBatch)]
		due = due[len(batch):]
		n := 0
		if err := s.update(ctx, func(tx *bolt.Tx) error {
			n = 0
			now := s.nowNano()
			b := tx.Bucket(t.name)
			for _, k := range batch {
				exp, ok := entryExp(b, t, k, b.Get(k))
				if !ok || exp > now {
					continue // rewritten since the scan
				}
				var err error
				if t.bits {
					err = b.DeleteBucket(k)
				} else {
					err = b.Delete(k)
				}
				if err != nil {
					return err
				}
				n++
			}
			return nil
		}); err != nil {
			return read, removed, false, err
		}
		removed += n
	}
	if !end {
		s.pcur.after = bytes.Clone(last)
		return read, removed, false, nil
	}
	s.pcur = purgeCursor{table: (s.pcur.table + 1) % len(purgeTables)}
	return read, removed, s.pcur.table == 0, nil
}

// entryExp returns the expiry of entry k (value v) of table t in bucket b;
// ok is false for an entry of the wrong shape, which the purge leaves for
// the methods to report.
func entryExp(b *bolt.Bucket, t table, k, v []byte) (int64, bool) {
	if t.bits {
		sub := b.Bucket(k)
		if sub == nil {
			return 0, false
		}
		v = sub.Get(keyBitsExp)
		if len(v) != 8 {
			return 0, false
		}
	} else if len(v) < 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(v)), true
}
