package statuslist

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"io"
)

// Status is a status value of a Referenced Token (draft §7).
type Status uint8

// Status types of draft §7.1. A list of bits 1 holds only Valid and
// Invalid.
const (
	Valid     Status = 0x00 // "VALID"
	Invalid   Status = 0x01 // "INVALID": revoked
	Suspended Status = 0x02 // "SUSPENDED": temporarily invalid
)

// DefaultMaxBytes bounds the decompressed byte array Decode accepts unless
// told otherwise: 4 MiB, 33,554,432 one-bit statuses.
const DefaultMaxBytes = 4 << 20

// MaxBytes bounds what any caller may allow: 256 MiB.
const MaxBytes = 256 << 20

// b64 is base64url without padding (RFC 7515 §2), strict about trailing
// bits, as the draft's "lst" is (draft §4.2).
var b64 = base64.RawURLEncoding.Strict()

// List is a status list (draft §4): a byte array holding one status of Bits
// bits per index, packed from the least significant bit of each byte
// (draft §4.1 step 3).
//
// A List from New is mutable and not safe for concurrent mutation: the
// issuer builds one per publication. A List from Decode is only read, and
// reading is safe for concurrent use; Get allocates nothing.
type List struct {
	bits  uint8
	shift uint8 // log2(8/bits): index -> byte
	mask  uint8 // (1<<bits)-1
	data  []byte
}

// New returns a list of size statuses of bits bits each, all Valid. It is
// allocated at full size, so that no index below size is ever out of
// bounds (draft §13.3: publish the list at its full size).
func New(bits, size int) (*List, error) {
	l, err := newList(bits)
	if err != nil {
		return nil, err
	}
	if size < 0 || size > MaxBytes*8/bits {
		return nil, fmt.Errorf("%w: size %d", ErrConfig, size)
	}
	l.data = make([]byte, (size*bits+7)/8)
	return l, nil
}

func newList(bits int) (*List, error) {
	var shift uint8
	switch bits {
	case 1:
		shift = 3
	case 2:
		shift = 2
	case 4:
		shift = 1
	case 8:
		shift = 0
	default:
		return nil, fmt.Errorf("%w: %d", ErrBits, bits)
	}
	return &List{bits: uint8(bits), shift: shift, mask: uint8(1<<bits - 1)}, nil
}

// Bits returns the number of bits per status.
func (l *List) Bits() int { return int(l.bits) }

// Len returns the number of statuses the list holds: every index below Len
// is in bounds.
func (l *List) Len() int { return len(l.data) << l.shift }

// Get returns the status at idx, or ErrIndex beyond the list (draft §8.3
// step 6). It allocates nothing.
func (l *List) Get(idx uint64) (Status, error) {
	byteIdx := idx >> l.shift
	if byteIdx >= uint64(len(l.data)) {
		return 0, ErrIndex
	}
	off := uint8(idx&(1<<l.shift-1)) * l.bits
	return Status(l.data[byteIdx] >> off & l.mask), nil
}

// Set sets the status at idx. A value that does not fit the list's bits is
// ErrStatus; an index beyond the list ErrIndex.
func (l *List) Set(idx uint64, s Status) error {
	if uint8(s)&^l.mask != 0 {
		return fmt.Errorf("%w: %d in %d bits", ErrStatus, s, l.bits)
	}
	byteIdx := idx >> l.shift
	if byteIdx >= uint64(len(l.data)) {
		return ErrIndex
	}
	off := uint8(idx&(1<<l.shift-1)) * l.bits
	b := &l.data[byteIdx]
	*b = *b&^(l.mask<<off) | uint8(s)<<off
	return nil
}

// Bytes returns the uncompressed byte array. It must not be modified.
func (l *List) Bytes() []byte { return l.data }

// Encode returns the list's "lst" (draft §4.2): the byte array compressed
// with DEFLATE in the ZLIB format (RFC 1950) and encoded base64url.
//
// The draft recommends the best compression; this package uses the fastest
// level instead, because the issuer re-publishes lists every few seconds
// and the best level costs seconds on a large list, while a mostly-valid
// list compresses to a few hundred bytes at any level.
func (l *List) Encode() string {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed) // a valid level: no error
	_, _ = zw.Write(l.data)                            // a bytes.Buffer does not fail
	_ = zw.Close()
	return b64.EncodeToString(buf.Bytes())
}

// Decode reads a status list from its "bits" and "lst" (draft §4.2). The
// decompressed array may hold at most maxBytes bytes (0 means
// DefaultMaxBytes): a larger one is ErrTooLarge, found while decompressing,
// before it is held. The ZLIB stream must be whole, with its checksum, and
// followed by nothing. Errors: ErrBits, ErrMalformed, ErrTooLarge, ErrConfig.
func Decode(bits int, lst string, maxBytes int) (*List, error) {
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxBytes < 0 || maxBytes > MaxBytes {
		return nil, fmt.Errorf("%w: max bytes %d", ErrConfig, maxBytes)
	}
	l, err := newList(bits)
	if err != nil {
		return nil, err
	}
	compressed, err := b64.DecodeString(lst)
	if err != nil || bytes.ContainsAny([]byte(lst), "\r\n") {
		return nil, fmt.Errorf("%w: lst is not base64url", ErrMalformed)
	}
	br := bytes.NewReader(compressed)
	zr, err := zlib.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: lst is not a ZLIB stream", ErrMalformed)
	}
	// A first guess at the size: a few times the compressed size, within
	// the bound; the buffer grows as needed, never past maxBytes+1.
	guess := min(maxBytes+1, max(64, 8*len(compressed)))
	out := make([]byte, 0, guess)
	for {
		if len(out) == cap(out) {
			if len(out) > maxBytes {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxBytes)
			}
			out = growTo(out, min(maxBytes+1, 2*cap(out)))
		}
		n, err := zr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: lst does not decompress", ErrMalformed)
		}
	}
	if len(out) > maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxBytes)
	}
	if br.Len() != 0 {
		return nil, fmt.Errorf("%w: data after the ZLIB stream", ErrMalformed)
	}
	l.data = out
	return l, nil
}

func growTo(b []byte, n int) []byte {
	out := make([]byte, len(b), n)
	copy(out, b)
	return out
}

// maxIndex is the largest index a Reference may carry: JSON numbers beyond
// 2^53 are not exact in most parsers.
const maxIndex = 1<<53 - 1
