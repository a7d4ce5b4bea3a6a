package crypttoken

// A reflection-free JSON codec for the claims set and the JWE header.
//
// Encoding appends to a caller's buffer. Decoding parses a buffer that the
// caller owns and never changes afterwards: strings without escapes are
// views into it (no copy), which is what keeps Open at a handful of
// allocations. Open decrypts every token into a fresh buffer, so the views
// stay valid for as long as the Claims are used.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxDepth bounds the nesting of skipped values (extra claims, unknown
// header members) so that hostile input cannot exhaust the stack.
const maxDepth = 32

// NumericDate bounds: years 1 to 9999, which time.Time formats and compares.
const (
	minNumericDate = -62135596800
	maxNumericDate = 253402300799
)

var errSyntax = errors.New("invalid JSON")

// appendClaims appends c as a JSON object to dst.
func appendClaims(dst []byte, c *Claims) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	str := func(name, v string) {
		if v == "" {
			return
		}
		dst = appendName(dst, name, first)
		first = false
		dst = appendString(dst, v)
	}
	date := func(name string, t time.Time) {
		if t.IsZero() {
			return
		}
		dst = appendName(dst, name, first)
		first = false
		dst = strconv.AppendInt(dst, t.Unix(), 10)
	}
	str(claimIss, c.Issuer)
	str(claimSub, c.Subject)
	switch len(c.Audience) {
	case 0:
	case 1:
		str(claimAud, c.Audience[0])
	default:
		dst = appendName(dst, claimAud, first)
		first = false
		dst = append(dst, '[')
		for i, a := range c.Audience {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, a)
		}
		dst = append(dst, ']')
	}
	date(claimExp, c.Expiry)
	date(claimNbf, c.NotBefore)
	date(claimIat, c.IssuedAt)
	str(claimJti, c.ID)
	str(claimClientID, c.ClientID)
	str(claimScope, c.Scope)
	date(claimAuthTime, c.AuthTime)
	str(claimFid, c.FamilyID)
	if c.Generation != 0 {
		dst = appendName(dst, claimGen, first)
		first = false
		dst = strconv.AppendUint(dst, c.Generation, 10)
	}
	str(claimResource, c.Resource)
	str(claimRedirect, c.RedirectURI)
	str(claimChallenge, c.CodeChallenge)
	str(claimChalMethod, c.CodeChallengeMethod)
	if len(c.Extra) > 0 {
		names := make([]string, 0, len(c.Extra))
		for name := range c.Extra {
			names = append(names, name)
		}
		slices.Sort(names) // deterministic output
		for _, name := range names {
			v := c.Extra[name]
			if registered(name) {
				return dst, fmt.Errorf("%w: extra claim %q shadows a registered claim", ErrClaims, name)
			}
			if !json.Valid(v) {
				return dst, fmt.Errorf("%w: extra claim %q is not valid JSON", ErrClaims, name)
			}
			dst = appendName(dst, name, first)
			first = false
			dst = append(dst, v...)
		}
	}
	return append(dst, '}'), nil
}

func appendName(dst []byte, name string, first bool) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = appendString(dst, name)
	return append(dst, ':')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// decoder scans one JSON document held in b.
type decoder struct {
	b []byte
	i int
}

// view returns b as a string without copying. The caller guarantees that b
// is never modified afterwards.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reports the next byte, or 0 at the end.
func (d *decoder) next() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) expect(c byte) error {
	if d.next() != c {
		return errSyntax
	}
	d.i++
	return nil
}

// literal consumes the literal lit (true, false, null).
func (d *decoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && view(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// null consumes a null literal if one is next.
func (d *decoder) null() bool {
	return d.next() == 'n' && d.literal("null")
}

// str parses a JSON string. Without escapes the result is a view into b.
func (d *decoder) str() (string, error) {
	if d.next() != '"' {
		return "", errSyntax
	}
	d.i++
	start := d.i
	ascii := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return "", errSyntax
			}
			return view(s), nil
		case c == '\\':
			return d.strEscaped(start)
		case c < 0x20:
			return "", errSyntax
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.i++
	}
	return "", errSyntax
}

// strEscaped finishes a string that holds escapes, from its first byte at
// start, into a new buffer.
func (d *decoder) strEscaped(start int) (string, error) {
	out := make([]byte, 0, len(d.b)-start)
	out = append(out, d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(out) {
				return "", errSyntax
			}
			return view(out), nil
		case c < 0x20:
			return "", errSyntax
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return "", errSyntax
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
				return "", errSyntax
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					if r2, ok = d.hex4(); !ok {
						return "", errSyntax
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
					} else {
						d.i = save // lone surrogate: keep the next escape
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errSyntax
		}
	}
	return "", errSyntax
}

func (d *decoder) hex4() (rune, bool) {
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

// number scans a JSON number and returns its text and whether it is an
// integer (no fraction, no exponent).
func (d *decoder) number() (text []byte, integer bool, err error) {
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
		return nil, false, errSyntax
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		integer = false
		if d.digits() == 0 {
			return nil, false, errSyntax
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		integer = false
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return nil, false, errSyntax
		}
	}
	return d.b[start:d.i], integer, nil
}

func (d *decoder) digits() int {
	n := 0
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// date parses a NumericDate (RFC 7519 §2): seconds since the epoch, possibly
// fractional, truncated to whole seconds.
func (d *decoder) date() (time.Time, error) {
	text, integer, err := d.number()
	if err != nil {
		return time.Time{}, err
	}
	var sec int64
	if integer && len(text) <= 18 {
		sec, err = strconv.ParseInt(view(text), 10, 64)
	} else {
		var f float64
		f, err = strconv.ParseFloat(view(text), 64)
		if err == nil && (math.IsNaN(f) || f < minNumericDate || f > maxNumericDate) {
			err = errSyntax
		}
		sec = int64(f)
	}
	if err != nil || sec < minNumericDate || sec > maxNumericDate {
		return time.Time{}, errSyntax
	}
	return time.Unix(sec, 0), nil
}

// skip consumes one JSON value of any kind and returns its raw bytes.
func (d *decoder) skip(depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errSyntax
	}
	c := d.next()
	start := d.i
	switch {
	case c == '"':
		if _, err := d.str(); err != nil {
			return nil, err
		}
	case c == '-' || ('0' <= c && c <= '9'):
		if _, _, err := d.number(); err != nil {
			return nil, err
		}
	case c == 't':
		if !d.literal("true") {
			return nil, errSyntax
		}
	case c == 'f':
		if !d.literal("false") {
			return nil, errSyntax
		}
	case c == 'n':
		if !d.literal("null") {
			return nil, errSyntax
		}
	case c == '[':
		d.i++
		if d.next() == ']' {
			d.i++
			break
		}
		for {
			if _, err := d.skip(depth + 1); err != nil {
				return nil, err
			}
			if d.next() == ',' {
				d.i++
				continue
			}
			if err := d.expect(']'); err != nil {
				return nil, err
			}
			break
		}
	case c == '{':
		d.i++
		if d.next() == '}' {
			d.i++
			break
		}
		for {
			if _, err := d.str(); err != nil {
				return nil, err
			}
			if err := d.expect(':'); err != nil {
				return nil, err
			}
			if _, err := d.skip(depth + 1); err != nil {
				return nil, err
			}
			if d.next() == ',' {
				d.i++
				continue
			}
			if err := d.expect('}'); err != nil {
				return nil, err
			}
			break
		}
	default:
		return nil, errSyntax
	}
	return d.b[start:d.i], nil
}

// object walks the members of a JSON object, calling member for each name
// with the decoder positioned at the value, and requires nothing but white
// space after the object.
func (d *decoder) object(member func(name string) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	if d.next() == '}' {
		d.i++
	} else {
		for {
			name, err := d.str()
			if err != nil {
				return err
			}
			if err := d.expect(':'); err != nil {
				return err
			}
			if err := member(name); err != nil {
				return err
			}
			if d.next() == ',' {
				d.i++
				continue
			}
			if err := d.expect('}'); err != nil {
				return err
			}
			break
		}
	}
	if d.next() != 0 || d.i != len(d.b) {
		return errSyntax
	}
	return nil
}

// Bits of the duplicate-member check in parseClaims.
const (
	seenIss = 1 << iota
	seenSub
	seenAud
	seenExp
	seenNbf
	seenIat
	seenJti
	seenClientID
	seenScope
	seenAuthTime
	seenFid
	seenGen
	seenResource
	seenRedirect
	seenChallenge
	seenChalMethod
)

// parseClaims decodes the JSON claims set b into c. b must stay unchanged for
// as long as c is used. A member that appears twice is an error (RFC 7519 §4
// lets parsers reject duplicates; accepting the last one invites confusion).
func parseClaims(b []byte, c *Claims) error {
	d := decoder{b: b}
	var seen uint32
	once := func(bit uint32) error {
		if seen&bit != 0 {
			return errSyntax
		}
		seen |= bit
		return nil
	}
	strField := func(bit uint32, dst *string) error {
		if err := once(bit); err != nil {
			return err
		}
		if d.null() {
			return nil
		}
		s, err := d.str()
		*dst = s
		return err
	}
	dateField := func(bit uint32, dst *time.Time) error {
		if err := once(bit); err != nil {
			return err
		}
		if d.null() {
			return nil
		}
		t, err := d.date()
		*dst = t
		return err
	}
	err := d.object(func(name string) error {
		switch name {
		case claimIss:
			return strField(seenIss, &c.Issuer)
		case claimSub:
			return strField(seenSub, &c.Subject)
		case claimAud:
			if err := once(seenAud); err != nil {
				return err
			}
			return d.audience(c)
		case claimExp:
			return dateField(seenExp, &c.Expiry)
		case claimNbf:
			return dateField(seenNbf, &c.NotBefore)
		case claimIat:
			return dateField(seenIat, &c.IssuedAt)
		case claimJti:
			return strField(seenJti, &c.ID)
		case claimClientID:
			return strField(seenClientID, &c.ClientID)
		case claimScope:
			return strField(seenScope, &c.Scope)
		case claimAuthTime:
			return dateField(seenAuthTime, &c.AuthTime)
		case claimFid:
			return strField(seenFid, &c.FamilyID)
		case claimGen:
			if err := once(seenGen); err != nil {
				return err
			}
			text, integer, err := d.number()
			if err != nil || !integer {
				return errSyntax
			}
			c.Generation, err = strconv.ParseUint(view(text), 10, 64)
			return err
		case claimResource:
			return strField(seenResource, &c.Resource)
		case claimRedirect:
			return strField(seenRedirect, &c.RedirectURI)
		case claimChallenge:
			return strField(seenChallenge, &c.CodeChallenge)
		case claimChalMethod:
			return strField(seenChalMethod, &c.CodeChallengeMethod)
		}
		raw, err := d.skip(0)
		if err != nil {
			return err
		}
		if c.Extra == nil {
			c.Extra = make(map[string]json.RawMessage, 2)
		} else if _, dup := c.Extra[name]; dup {
			return errSyntax
		}
		c.Extra[name] = raw
		return nil
	})
	return err
}

// audience parses "aud": a string or an array of strings (RFC 7519 §4.1.3).
func (d *decoder) audience(c *Claims) error {
	switch d.next() {
	case 'n':
		if !d.literal("null") {
			return errSyntax
		}
		return nil
	case '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		c.audBuf[0] = s
		c.Audience = c.audBuf[:1:1]
		return nil
	case '[':
		d.i++
		c.Audience = nil
		if d.next() == ']' {
			d.i++
			return nil
		}
		for {
			s, err := d.str()
			if err != nil {
				return err
			}
			if c.Audience == nil {
				c.audBuf[0] = s
				c.Audience = c.audBuf[:1:1]
			} else {
				c.Audience = append(c.Audience, s)
			}
			if d.next() == ',' {
				d.i++
				continue
			}
			return d.expect(']')
		}
	}
	return errSyntax
}

// header is the part of a JWE protected header that Open acts on.
type header struct {
	alg, enc, kid, typ string
	zip, crit          bool
}

// parseHeader decodes a JWE protected header (RFC 7516 §4.1). Members other
// than alg, enc, kid, typ, zip and crit are ignored, as RFC 7515 §4 allows.
func parseHeader(b []byte) (header, error) {
	d := decoder{b: b}
	var h header
	var seen uint8
	err := d.object(func(name string) error {
		var dst *string
		var bit uint8
		switch name {
		case "alg":
			dst, bit = &h.alg, 1
		case "enc":
			dst, bit = &h.enc, 2
		case "kid":
			dst, bit = &h.kid, 4
		case "typ":
			dst, bit = &h.typ, 8
		case "zip":
			h.zip = true
		case "crit":
			h.crit = true
		}
		if dst == nil {
			_, err := d.skip(0)
			return err
		}
		if seen&bit != 0 {
			return errSyntax
		}
		seen |= bit
		s, err := d.str()
		*dst = s
		return err
	})
	return h, err
}
