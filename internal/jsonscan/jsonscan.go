package jsonscan

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/sealedtoken/issuer/internal/jsonenc"
)

// MaxDepth bounds the nesting of arrays and objects that Skip descends.
const MaxDepth = 32

// NumericDate bounds (RFC 7519 §2): years 1 to 9999, which time.Time
// formats and compares. The first second of year 1 is left out: it is the
// zero time.Time, which callers read as an absent claim.
const (
	MinNumericDate = -62135596799
	MaxNumericDate = 253402300799
)

// ErrSyntax is the one error of a Decoder: the input is not the JSON the
// caller asked for. Callers wrap it into their own package's error.
var ErrSyntax = errors.New("jsonscan: invalid JSON")

// Decoder scans one JSON document held in a byte slice.
type Decoder struct {
	b []byte
	i int
}

// New returns a Decoder over b. b must not change while the Decoder or any
// string it returned is in use.
func New(b []byte) Decoder { return Decoder{b: b} }

// View returns b as a string without copying. The caller guarantees that b
// is never modified afterwards.
func View(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Offset returns the position of the next unread byte: after a value has
// been consumed, the index just past it.
func (d *Decoder) Offset() int { return d.i }

func (d *Decoder) ws() {
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c > ' ': // the common case, one comparison
			return
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			d.i++
		default:
			return
		}
	}
}

// Peek skips white space and reports the next byte, or 0 at the end.
func (d *Decoder) Peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// Expect consumes the byte c, after white space.
func (d *Decoder) Expect(c byte) error {
	if d.Peek() != c {
		return ErrSyntax
	}
	d.i++
	return nil
}

// End requires that nothing but white space is left.
func (d *Decoder) End() error {
	d.ws()
	if d.i != len(d.b) {
		return ErrSyntax
	}
	return nil
}

func (d *Decoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && View(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// Null consumes a null literal if one is next, and reports whether it did.
func (d *Decoder) Null() bool {
	return d.Peek() == 'n' && d.literal("null")
}

// Bool parses true or false.
func (d *Decoder) Bool() (bool, error) {
	switch d.Peek() {
	case 't':
		if d.literal("true") {
			return true, nil
		}
	case 'f':
		if d.literal("false") {
			return false, nil
		}
	}
	return false, ErrSyntax
}

// Member moves to the next member of an object whose '{' has been consumed
// (Expect('{')) and returns its name, with the Decoder positioned at the
// value, which the caller must consume; ok is false once the closing brace
// has been consumed. first tells whether this is the object's first call.
func (d *Decoder) Member(first bool) (name string, ok bool, err error) {
	switch c := d.Peek(); {
	case c == '}':
		d.i++
		return "", false, nil
	case !first && c == ',':
		d.i++
	case !first:
		return "", false, ErrSyntax
	}
	if name, err = d.String(); err != nil {
		return "", false, err
	}
	if err = d.Expect(':'); err != nil {
		return "", false, err
	}
	return name, true, nil
}

// Element moves to the next element of an array whose '[' has been
// consumed, with the Decoder positioned at the value, which the caller must
// consume; ok is false once the closing bracket has been consumed.
func (d *Decoder) Element(first bool) (ok bool, err error) {
	switch c := d.Peek(); {
	case c == ']':
		d.i++
		return false, nil
	case !first && c == ',':
		d.i++
		if d.Peek() == ']' {
			return false, ErrSyntax
		}
	case !first:
		return false, ErrSyntax
	}
	return true, nil
}

func special(c byte) bool { return c < 0x20 || c == '"' || c == '\\' }

// String parses a JSON string. Without escapes the result is a view of the
// Decoder's buffer; with escapes it is a new string.
func (d *Decoder) String() (string, error) {
	if d.Peek() != '"' {
		return "", ErrSyntax
	}
	b := d.b
	start := d.i + 1
	i := start
	// OR of the bytes scanned, for the UTF-8 check. Whole words are folded
	// in, even bytes past the string's end: at worst a needless check.
	var high uint64
	for {
		if i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			high |= w
			m := jsonenc.SpecialMask(w)
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(b) && !special(b[i]) {
				high |= uint64(b[i])
				i++
			}
			if i == len(b) {
				return "", ErrSyntax
			}
		}
		switch b[i] {
		case '"':
			s := b[start:i]
			d.i = i + 1
			if high&jsonenc.MSB != 0 && !utf8.Valid(s) {
				return "", ErrSyntax
			}
			return View(s), nil
		case '\\':
			d.i = i
			return d.escaped(start)
		default: // a control character
			return "", ErrSyntax
		}
	}
}

// escaped finishes, into a new buffer, a string that starts at start and
// whose first escape is at d.i.
func (d *Decoder) escaped(start int) (string, error) {
	out := make([]byte, 0, d.i-start+16)
	out = append(out, d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(out) {
				return "", ErrSyntax
			}
			return View(out), nil
		case c < 0x20:
			return "", ErrSyntax
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return "", ErrSyntax
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", ErrSyntax
			}
			if utf16.IsSurrogate(r) {
				dec := utf8.RuneError
				if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					r2, ok := d.hex4()
					if !ok {
						return "", ErrSyntax
					}
					if dec = utf16.DecodeRune(r, r2); dec == utf8.RuneError {
						d.i = save // not a pair: the next escape stands alone
					}
				}
				r = dec
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", ErrSyntax
		}
	}
	return "", ErrSyntax
}

func (d *Decoder) hex4() (rune, bool) {
	if len(d.b)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.i += 4
	return r, true
}

// Number scans a JSON number (RFC 8259 §6) and returns its text and
// whether it is an integer (no fraction, no exponent).
func (d *Decoder) Number() (text []byte, integer bool, err error) {
	d.ws()
	start := d.i
	integer = true
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case d.i < len(d.b) && '1' <= d.b[d.i] && d.b[d.i] <= '9':
		d.digits()
	default:
		return nil, false, ErrSyntax
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		integer = false
		if d.digits() == 0 {
			return nil, false, ErrSyntax
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		integer = false
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return nil, false, ErrSyntax
		}
	}
	return d.b[start:d.i], integer, nil
}

func (d *Decoder) digits() int {
	n := 0
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// Uint parses a non-negative integer no greater than max, written without
// fraction or exponent.
func (d *Decoder) Uint(max uint64) (uint64, error) {
	text, integer, err := d.Number()
	if err != nil || !integer || text[0] == '-' {
		return 0, ErrSyntax
	}
	v, err := strconv.ParseUint(View(text), 10, 64)
	if err != nil || v > max {
		return 0, ErrSyntax
	}
	return v, nil
}

// Date parses a NumericDate (RFC 7519 §2): seconds since the epoch,
// possibly fractional, truncated toward zero to whole seconds.
func (d *Decoder) Date() (time.Time, error) {
	d.ws()
	// Fast path: an integer of up to 18 digits, as signers write it.
	b, i := d.b, d.i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	j := i
	var v int64
	for j < len(b) && j-i < 18 && '0' <= b[j] && b[j] <= '9' {
		v = v*10 + int64(b[j]-'0')
		j++
	}
	if j > i && (j-i == 1 || b[i] != '0') && (j == len(b) || !numberByte(b[j])) {
		d.i = j
		if neg {
			v = -v
		}
		return unixDate(v)
	}
	text, integer, err := d.Number()
	if err != nil {
		return time.Time{}, err
	}
	if integer && len(text) <= 18 {
		v, err = strconv.ParseInt(View(text), 10, 64)
		if err != nil {
			return time.Time{}, ErrSyntax
		}
		return unixDate(v)
	}
	f, err := strconv.ParseFloat(View(text), 64)
	if err != nil || math.IsNaN(f) || f <= MinNumericDate-1 || f >= MaxNumericDate+1 {
		return time.Time{}, ErrSyntax
	}
	return unixDate(int64(f))
}

func numberByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

func unixDate(sec int64) (time.Time, error) {
	if sec < MinNumericDate || sec > MaxNumericDate {
		return time.Time{}, ErrSyntax
	}
	return time.Unix(sec, 0), nil
}

// Skip consumes one JSON value of any kind and returns its raw bytes (a
// view of the buffer). Its arrays and objects may nest MaxDepth deep below
// the value itself.
func (d *Decoder) Skip() ([]byte, error) { return d.SkipNested(0) }

// SkipNested is Skip for a value that already stands depth levels inside
// containers the caller is walking, so that the caller's levels count
// against MaxDepth too: a value at depth may hold MaxDepth-depth more.
func (d *Decoder) SkipNested(depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, ErrSyntax
	}
	c := d.Peek()
	start := d.i
	switch {
	case c == '"':
		if _, err := d.String(); err != nil {
			return nil, err
		}
	case c == '-' || ('0' <= c && c <= '9'):
		if _, _, err := d.Number(); err != nil {
			return nil, err
		}
	case c == 't' || c == 'f':
		if _, err := d.Bool(); err != nil {
			return nil, err
		}
	case c == 'n':
		if !d.literal("null") {
			return nil, ErrSyntax
		}
	case c == '[':
		d.i++
		for first := true; ; first = false {
			ok, err := d.Element(first)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if _, err := d.SkipNested(depth + 1); err != nil {
				return nil, err
			}
		}
	case c == '{':
		d.i++
		for first := true; ; first = false {
			_, ok, err := d.Member(first)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if _, err := d.SkipNested(depth + 1); err != nil {
				return nil, err
			}
		}
	default:
		return nil, ErrSyntax
	}
	return d.b[start:d.i], nil
}

// StringOrArray parses a string or an array of strings (the shape of the
// JWT "aud" claim, RFC 7519 §4.1.3), calling add for each string in order.
// An empty array calls add never.
func (d *Decoder) StringOrArray(add func(string)) error {
	if d.Peek() != '[' {
		s, err := d.String()
		if err != nil {
			return err
		}
		add(s)
		return nil
	}
	d.i++
	for first := true; ; first = false {
		ok, err := d.Element(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		s, err := d.String()
		if err != nil {
			return err
		}
		add(s)
	}
}
