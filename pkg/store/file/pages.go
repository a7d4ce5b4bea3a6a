package file

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// checkPages validates the page structure of a bbolt file before bbolt
// opens it. bbolt trusts its file: a page id out of range, a wrong page
// type or an element reaching past its page makes it fault on its memory
// map or panic, and some of that happens on goroutines bbolt starts itself
// (the walk that rebuilds the free list, its Check), where nothing can
// recover it. checkPages reads the file through ReadAt instead and checks,
// from the meta page bbolt would use down to every leaf, everything those
// walks rely on: a valid meta page, page ids below the high-water mark
// and within the file, page headers naming their own id, branch and leaf
// types, element arrays and keys and values inside their page, inline
// bucket pages inside their value, and no page reached twice (so no
// cycle). A file that passes can be walked by bbolt without faulting; key
// order, which bbolt checks itself, is left to it.
//
// The layout is bbolt's format version 2 (go.etcd.io/bbolt
// internal/common), in the host's byte order, as bbolt writes it.
func checkPages(f *os.File, size int64) error {
	var first [4096]byte
	if _, err := f.ReadAt(first[:], 0); err != nil && !errors.Is(err, io.EOF) {
		return readError(err)
	}
	ps, err := pageSize(f, first[:], size)
	if err != nil {
		return err
	}
	m0, err0 := readMeta(f, 0, ps)
	m1, err1 := readMeta(f, 1, ps)
	if err0 != nil && err1 != nil {
		return fmt.Errorf("no valid meta page (%v; %v)", err0, err1)
	}
	// bbolt uses the valid meta page with the higher transaction id.
	m := m0
	if err0 != nil || (err1 == nil && m1.txid > m0.txid) {
		m = m1
	}
	if m.hwm < 3 {
		return fmt.Errorf("high-water mark %d below the first data page", m.hwm)
	}
	if need := int64(m.hwm) * int64(ps); m.hwm > uint64(size)/uint64(ps) || need > size {
		return fmt.Errorf("truncated: %d bytes, its pages need %d", size, int64(m.hwm)*int64(ps))
	}
	c := &pageChecker{f: f, ps: uint64(ps), hwm: m.hwm, seen: make(map[uint64]bool)}
	if m.freelist != noFreelist {
		if err := c.freelist(m.freelist); err != nil {
			return err
		}
	}
	_, err = c.tree(m.root, 0, nil, nil)
	return err
}

// Layout constants of bbolt's format version 2.
const (
	pageHeaderSize = 16 // id u64, flags u16, count u16, overflow u32
	elemSize       = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHdrSize  = 16 // root pgid u64, sequence u64
	metaSumOffset  = 56 // the meta's checksum covers its first 56 bytes

	flagBranch    = 0x01
	flagLeaf      = 0x02
	flagMeta      = 0x04
	flagFreelist  = 0x10
	leafIsBucket  = 0x01
	boltMagic     = 0xED0CDAED
	boltVersion   = 2
	noFreelist    = ^uint64(0)
	maxTreeDepth  = 64
	minPageSize   = 1024
	maxPageSize   = 1 << 16
	maxCountField = 0xFFFF
)

var ne = binary.NativeEndian

type meta struct {
	pageSize       uint32
	root, freelist uint64
	hwm, txid      uint64
}

// parseMeta reads the meta structure that follows a page header in b.
func parseMeta(b []byte) (meta, error) {
	if len(b) < pageHeaderSize+metaSumOffset+8 {
		return meta{}, errors.New("short meta page")
	}
	mb := b[pageHeaderSize:]
	h := fnv.New64a()
	_, _ = h.Write(mb[:metaSumOffset])
	switch {
	case ne.Uint32(mb[0:]) != boltMagic:
		return meta{}, errors.New("not a bbolt meta page")
	case ne.Uint32(mb[4:]) != boltVersion:
		return meta{}, fmt.Errorf("bbolt format version %d", ne.Uint32(mb[4:]))
	case ne.Uint64(mb[metaSumOffset:]) != h.Sum64():
		return meta{}, errors.New("meta page checksum mismatch")
	}
	m := meta{
		pageSize: ne.Uint32(mb[8:]), root: ne.Uint64(mb[16:]),
		freelist: ne.Uint64(mb[32:]), hwm: ne.Uint64(mb[40:]), txid: ne.Uint64(mb[48:]),
	}
	if m.pageSize < minPageSize || m.pageSize > maxPageSize || m.pageSize&(m.pageSize-1) != 0 {
		return meta{}, fmt.Errorf("page size %d", m.pageSize)
	}
	return m, nil
}

// pageSize finds the page size the way bbolt does: from the first meta
// page, else from a second meta page at a power-of-two offset.
func pageSize(f *os.File, first []byte, size int64) (uint32, error) {
	if m, err := parseMeta(first); err == nil {
		return m.pageSize, nil
	}
	for pos := int64(minPageSize); pos <= maxPageSize && pos < size-minPageSize; pos *= 2 {
		var buf [4096]byte
		if _, err := f.ReadAt(buf[:], pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, readError(err)
		}
		if m, err := parseMeta(buf[:]); err == nil && int64(m.pageSize) == pos {
			return m.pageSize, nil
		}
	}
	return 0, errors.New("no valid meta page")
}

func readMeta(f *os.File, id uint64, ps uint32) (meta, error) {
	buf := make([]byte, ps)
	if _, err := f.ReadAt(buf, int64(id)*int64(ps)); err != nil {
		return meta{}, readError(err)
	}
	if ne.Uint64(buf) != id || ne.Uint16(buf[8:]) != flagMeta {
		return meta{}, fmt.Errorf("page %d is not a meta page", id)
	}
	m, err := parseMeta(buf)
	if err == nil && m.pageSize != ps {
		err = fmt.Errorf("meta page %d says page size %d, not %d", id, m.pageSize, ps)
	}
	return m, err
}

// errRead marks an I/O failure, as opposed to damage.
type errRead struct{ err error }

func (e errRead) Error() string { return "reading: " + e.err.Error() }
func (e errRead) Unwrap() error { return e.err }

func readError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("shorter than its pages")
	}
	return errRead{err}
}

type pageChecker struct {
	f    *os.File
	ps   uint64
	hwm  uint64
	seen map[uint64]bool
}

// page reads page id with its overflow pages, after checking it lies in
// range, names itself, has one of the wanted flags, and shares no page
// with a page read before.
func (c *pageChecker) page(id uint64, flags ...uint16) ([]byte, error) {
	if id < 2 || id >= c.hwm {
		return nil, fmt.Errorf("page id %d out of range [2, %d)", id, c.hwm)
	}
	var hdr [pageHeaderSize]byte
	if _, err := c.f.ReadAt(hdr[:], int64(id*c.ps)); err != nil {
		return nil, readError(err)
	}
	if got := ne.Uint64(hdr[:]); got != id {
		return nil, fmt.Errorf("page %d names itself %d", id, got)
	}
	fl, overflow := ne.Uint16(hdr[8:]), uint64(ne.Uint32(hdr[12:]))
	ok := false
	for _, want := range flags {
		ok = ok || fl == want
	}
	if !ok {
		return nil, fmt.Errorf("page %d has type flags %#x", id, fl)
	}
	if overflow >= c.hwm-id {
		return nil, fmt.Errorf("page %d overflows past the high-water mark", id)
	}
	for p := id; p <= id+overflow; p++ {
		if c.seen[p] {
			return nil, fmt.Errorf("page %d reached twice", p)
		}
		c.seen[p] = true
	}
	buf := make([]byte, (overflow+1)*c.ps)
	if _, err := c.f.ReadAt(buf, int64(id*c.ps)); err != nil {
		return nil, readError(err)
	}
	return buf, nil
}

func (c *pageChecker) freelist(id uint64) error {
	b, err := c.page(id, flagFreelist)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	n, start := uint64(ne.Uint16(b[10:])), uint64(pageHeaderSize)
	if n == maxCountField { // the real count is the first element
		if len(b) < pageHeaderSize+8 {
			return errors.New("freelist: short page")
		}
		n, start = ne.Uint64(b[pageHeaderSize:]), start+8
	}
	if n > (uint64(len(b))-start)/8 {
		return fmt.Errorf("freelist: %d ids do not fit its page", n)
	}
	for i := range n {
		if p := ne.Uint64(b[start+8*i:]); p < 2 || p >= c.hwm {
			return fmt.Errorf("freelist: page id %d out of range", p)
		}
	}
	return nil
}

// tree checks the B+tree rooted at page id, whose keys must be at least
// lo and below hi (nil: unbounded), and returns its largest key.
func (c *pageChecker) tree(id uint64, depth int, lo, hi []byte) ([]byte, error) {
	if depth > maxTreeDepth {
		return nil, errors.New("tree deeper than any bbolt writes")
	}
	b, err := c.page(id, flagBranch, flagLeaf)
	if err != nil {
		return nil, err
	}
	return c.node(b, depth, lo, hi)
}

// inOrder reports whether key may follow prev (strictly greater, or at
// least lo when it is the first) and precede hi.
func inOrder(key, prev []byte, first bool, hi []byte) bool {
	switch {
	case first && prev != nil && bytes.Compare(prev, key) > 0:
		return false
	case !first && bytes.Compare(prev, key) >= 0:
		return false
	case hi != nil && bytes.Compare(key, hi) >= 0:
		return false
	}
	return true
}

// node checks the branch or leaf page b (a whole page, or an inline
// bucket's page inside its value) and what it points to, and returns its
// largest key.
func (c *pageChecker) node(b []byte, depth int, lo, hi []byte) ([]byte, error) {
	if len(b) < pageHeaderSize {
		return nil, errors.New("short page")
	}
	fl, n := ne.Uint16(b[8:]), uint64(ne.Uint16(b[10:]))
	if n > (uint64(len(b))-pageHeaderSize)/elemSize {
		return nil, fmt.Errorf("%d elements do not fit their page", n)
	}
	prev, last := lo, lo
	switch fl {
	case flagBranch:
		if n == 0 {
			return nil, errors.New("empty branch page")
		}
		keys := make([][]byte, n)
		for i := range n {
			off := pageHeaderSize + i*elemSize
			pos, ksize := uint64(ne.Uint32(b[off:])), uint64(ne.Uint32(b[off+4:]))
			if off+pos+ksize > uint64(len(b)) {
				return nil, errors.New("branch key outside its page")
			}
			keys[i] = b[off+pos : off+pos+ksize]
		}
		for i := range n {
			if !inOrder(keys[i], prev, i == 0, hi) {
				return nil, errors.New("branch keys out of order")
			}
			next := hi
			if i+1 < n {
				next = keys[i+1]
			}
			off := pageHeaderSize + i*elemSize
			var err error
			if last, err = c.tree(ne.Uint64(b[off+8:]), depth+1, keys[i], next); err != nil {
				return nil, err
			}
			prev = last
		}
	case flagLeaf:
		for i := range n {
			off := pageHeaderSize + i*elemSize
			flags, pos := ne.Uint32(b[off:]), uint64(ne.Uint32(b[off+4:]))
			ksize, vsize := uint64(ne.Uint32(b[off+8:])), uint64(ne.Uint32(b[off+12:]))
			if off+pos+ksize+vsize > uint64(len(b)) {
				return nil, errors.New("leaf key or value outside its page")
			}
			key := b[off+pos : off+pos+ksize]
			if !inOrder(key, prev, i == 0, hi) {
				return nil, errors.New("leaf keys out of order")
			}
			prev, last = key, key
			if flags&leafIsBucket == 0 {
				continue
			}
			v := b[off+pos+ksize : off+pos+ksize+vsize]
			if len(v) < bucketHdrSize {
				return nil, errors.New("short bucket header")
			}
			if root := ne.Uint64(v); root != 0 {
				if _, err := c.tree(root, depth+1, nil, nil); err != nil {
					return nil, err
				}
				continue
			}
			// An inline bucket: a leaf page inside the value.
			inline := v[bucketHdrSize:]
			if len(inline) < pageHeaderSize || ne.Uint16(inline[8:]) != flagLeaf {
				return nil, errors.New("malformed inline bucket")
			}
			if depth+1 > maxTreeDepth {
				return nil, errors.New("buckets nested deeper than any bbolt writes")
			}
			if _, err := c.node(inline, depth+1, nil, nil); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("page of type flags %#x in a tree", fl)
	}
	return last, nil
}
