package crypttoken

// A reflection-free JSON codec for the claims set and the JWE header.
//
// Encoding appends to a caller's buffer. Decoding parses a buffer that the
// caller owns and never changes afterwards: strings without escapes are
// views into it (no copy), which is what keeps Open at a handful of
// allocations. Open decrypts every token into a fresh buffer, so the views
// stay valid for as long as the Claims are used.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sealedtoken/issuer/internal/jsonenc"
	"math"
	"math/bits"
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
// The very first second of year 1 is left out: it is the zero time.Time,
// which Claims reads as an absent claim.
const (
	minNumericDate = -62135596799
	maxNumericDate = 253402300799
)

var errSyntax = errors.New("invalid JSON")

// appendClaims appends c as a JSON object to dst, members in a fixed order
// (the order of the claim name constants), so equal claims encode equally.
func appendClaims(dst []byte, c *Claims) ([]byte, error) {
	if err := checkDates(c); err != nil {
		return dst, err
	}
	// Every member is written with a leading comma; the first one then
	// becomes the object's opening brace.
	start := len(dst)
	dst = appendStringMember(dst, claimIss, c.Issuer)
	dst = appendStringMember(dst, claimSub, c.Subject)
	switch len(c.Audience) {
	case 0:
	case 1:
		dst = appendStringMember(dst, claimAud, c.Audience[0])
	default:
		dst = appendName(dst, claimAud)
		dst = append(dst, '[')
		for i, a := range c.Audience {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonenc.AppendString(dst, a)
		}
		dst = append(dst, ']')
	}
	dst = appendDateMember(dst, claimExp, c.Expiry)
	dst = appendDateMember(dst, claimNbf, c.NotBefore)
	dst = appendDateMember(dst, claimIat, c.IssuedAt)
	dst = appendStringMember(dst, claimJti, c.ID)
	dst = appendStringMember(dst, claimClientID, c.ClientID)
	dst = appendStringMember(dst, claimScope, c.Scope)
	dst = appendDateMember(dst, claimAuthTime, c.AuthTime)
	dst = appendStringMember(dst, claimFid, c.FamilyID)
	if c.Generation != 0 {
		dst = appendName(dst, claimGen)
		dst = strconv.AppendUint(dst, c.Generation, 10)
	}
	dst = appendStringMember(dst, claimResource, c.Resource)
	dst = appendStringMember(dst, claimRedirect, c.RedirectURI)
	dst = appendStringMember(dst, claimChallenge, c.CodeChallenge)
	dst = appendStringMember(dst, claimChalMethod, c.CodeChallengeMethod)
	if c.Status.URI != "" {
		dst = appendName(dst, claimStatus)
		dst = append(dst, `{"status_list":{"idx":`...)
		dst = strconv.AppendUint(dst, c.Status.Index, 10)
		dst = append(dst, `,"uri":`...)
		dst = jsonenc.AppendString(dst, c.Status.URI)
		dst = append(dst, '}', '}')
	}
	if !c.Confirmation.IsZero() {
		dst = appendName(dst, claimCnf)
		sep := byte('{')
		if c.Confirmation.JKT != "" {
			dst = append(dst, sep)
			dst = append(dst, `"jkt":`...)
			dst = jsonenc.AppendString(dst, c.Confirmation.JKT)
			sep = ','
		}
		if c.Confirmation.X5TS256 != "" {
			dst = append(dst, sep)
			dst = append(dst, `"x5t#S256":`...)
			dst = jsonenc.AppendString(dst, c.Confirmation.X5TS256)
		}
		dst = append(dst, '}')
	}
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
			if !utf8.ValidString(name) {
				return dst, fmt.Errorf("%w: extra claim name is not UTF-8", ErrClaims)
			}
			if !json.Valid(v) {
				return dst, fmt.Errorf("%w: extra claim %q is not valid JSON", ErrClaims, name)
			}
			dst = appendName(dst, name)
			dst = append(dst, bytes.TrimSpace(v)...)
		}
	}
	if len(dst) == start {
		return append(dst, '{', '}'), nil
	}
	dst[start] = '{'
	return append(dst, '}'), nil
}

// checkDates rejects times that NumericDate parsing would refuse, so that
// Seal never produces a token that cannot be opened.
func checkDates(c *Claims) error {
	for _, t := range [...]time.Time{c.Expiry, c.NotBefore, c.IssuedAt, c.AuthTime} {
		if t.IsZero() {
			continue
		}
		if s := t.Unix(); s < minNumericDate || s > maxNumericDate {
			return fmt.Errorf("%w: time %s out of range", ErrClaims, t.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// appendStringMember appends `,"name":"v"` unless v is empty (absent).
func appendStringMember(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	dst = appendName(dst, name)
	return jsonenc.AppendString(dst, v)
}

// appendDateMember appends `,"name":seconds` unless t is zero (absent).
func appendDateMember(dst []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return dst
	}
	dst = appendName(dst, name)
	return strconv.AppendInt(dst, t.Unix(), 10)
}

// appendName appends `,"name":`.
func appendName(dst []byte, name string) []byte {
	dst = append(dst, ',')
	dst = jsonenc.AppendString(dst, name)
	return append(dst, ':')
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
		switch c := d.b[d.i]; {
		case c > ' ':
			return
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
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

// end requires that nothing but white space is left.
func (d *decoder) end() error {
	d.ws()
	if d.i != len(d.b) {
		return errSyntax
	}
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

// member moves to the next member of an object whose '{' has been consumed
// and returns its name, with d positioned at the value; ok is false after
// the closing brace. first tells whether this is the first call for the
// object.
func (d *decoder) member(first bool) (name string, ok bool, err error) {
	switch c := d.next(); {
	case c == '}':
		d.i++
		return "", false, nil
	case !first && c == ',':
		d.i++
	case !first:
		return "", false, errSyntax
	}
	if name, err = d.str(); err != nil {
		return "", false, err
	}
	if err = d.expect(':'); err != nil {
		return "", false, err
	}
	return name, true, nil
}

// special reports whether c ends or escapes a JSON string or is a control
// character.
func special(c byte) bool { return c < 0x20 || c == '"' || c == '\\' }

// str parses a JSON string. Without escapes the result is a view into b.
// Strings must be valid UTF-8 (RFC 8259 §8.1).
func (d *decoder) str() (string, error) {
	if d.next() != '"' {
		return "", errSyntax
	}
	b := d.b
	start := d.i + 1
	i := start
	// OR of the bytes scanned, for the UTF-8 check. Whole words are
	// folded in, even bytes past the string's end: at worst that costs a
	// needless check.
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
				return "", errSyntax
			}
		}
		switch b[i] {
		case '"':
			s := b[start:i]
			d.i = i + 1
			if high&jsonenc.MSB != 0 && !utf8.Valid(s) {
				return "", errSyntax
			}
			return view(s), nil
		case '\\':
			d.i = i
			return d.strEscaped(start)
		default: // a control character
			return "", errSyntax
		}
	}
}

// strEscaped finishes, into a new buffer, a string that starts at start and
// whose first escape is at d.i.
func (d *decoder) strEscaped(start int) (string, error) {
	out := make([]byte, 0, d.i-start+16)
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
				// A surrogate pair is one character; a lone surrogate
				// becomes U+FFFD, as in encoding/json.
				dec := utf8.RuneError
				if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					r2, ok := d.hex4()
					if !ok {
						return "", errSyntax
					}
					if dec = utf16.DecodeRune(r, r2); dec == utf8.RuneError {
						d.i = save // not a pair: the next escape stands alone
					}
				}
				r = dec
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

// number scans a JSON number (RFC 8259 §6) and returns its text and whether
// it is an integer (no fraction, no exponent).
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

// numberByte reports whether c can continue a JSON number.
func numberByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// date parses a NumericDate (RFC 7519 §2): seconds since the epoch, possibly
// fractional, truncated toward zero to whole seconds as go-jose does.
func (d *decoder) date() (time.Time, error) {
	d.ws()
	// Fast path: an integer of up to 18 digits, which is what Seal writes.
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

	text, integer, err := d.number()
	if err != nil {
		return time.Time{}, err
	}
	if integer && len(text) <= 18 {
		v, err = strconv.ParseInt(view(text), 10, 64)
		if err != nil {
			return time.Time{}, errSyntax
		}
		return unixDate(v)
	}
	f, err := strconv.ParseFloat(view(text), 64)
	if err != nil || math.IsNaN(f) || f <= minNumericDate-1 || f >= maxNumericDate+1 {
		return time.Time{}, errSyntax
	}
	return unixDate(int64(f))
}

func unixDate(sec int64) (time.Time, error) {
	if sec < minNumericDate || sec > maxNumericDate {
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
		for first := true; ; first = false {
			_, ok, err := d.member(first)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if _, err := d.skip(depth + 1); err != nil {
				return nil, err
			}
		}
	default:
		return nil, errSyntax
	}
	return d.b[start:d.i], nil
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
	seenStatus
	seenCnf
)

// parseClaims decodes the JSON claims set b (RFC 7519 §4) into c, which
// must be zero. b must stay unchanged for as long as c is used: strings
// without escapes are views into it.
//
// A member that appears twice is an error (RFC 7519 §4 lets parsers reject
// duplicates; accepting the last one invites confusion). A registered
// member whose value is null counts as absent.
func parseClaims(b []byte, c *Claims) error {
	d := decoder{b: b}
	if err := d.expect('{'); err != nil {
		return err
	}
	var seen uint32
	for first := true; ; first = false {
		name, ok, err := d.member(first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := d.claim(c, name, &seen); err != nil {
			return err
		}
	}
	return d.end()
}

// claim decodes the value of the member name into c.
func (d *decoder) claim(c *Claims, name string, seen *uint32) error {
	var (
		bit uint32
		s   *string
		t   *time.Time
	)
	switch name {
	case claimIss:
		bit, s = seenIss, &c.Issuer
	case claimSub:
		bit, s = seenSub, &c.Subject
	case claimAud:
		bit = seenAud
	case claimExp:
		bit, t = seenExp, &c.Expiry
	case claimNbf:
		bit, t = seenNbf, &c.NotBefore
	case claimIat:
		bit, t = seenIat, &c.IssuedAt
	case claimJti:
		bit, s = seenJti, &c.ID
	case claimClientID:
		bit, s = seenClientID, &c.ClientID
	case claimScope:
		bit, s = seenScope, &c.Scope
	case claimAuthTime:
		bit, t = seenAuthTime, &c.AuthTime
	case claimFid:
		bit, s = seenFid, &c.FamilyID
	case claimGen:
		bit = seenGen
	case claimResource:
		bit, s = seenResource, &c.Resource
	case claimRedirect:
		bit, s = seenRedirect, &c.RedirectURI
	case claimChallenge:
		bit, s = seenChallenge, &c.CodeChallenge
	case claimChalMethod:
		bit, s = seenChalMethod, &c.CodeChallengeMethod
	case claimStatus:
		bit = seenStatus
	case claimCnf:
		bit = seenCnf
	default:
		return d.extra(c, name)
	}
	if *seen&bit != 0 {
		return errSyntax
	}
	*seen |= bit
	if d.null() {
		return nil
	}
	var err error
	switch {
	case s != nil:
		*s, err = d.str()
	case t != nil:
		*t, err = d.date()
	case bit == seenAud:
		err = d.audience(c)
	case bit == seenStatus:
		err = d.status(c)
	case bit == seenCnf:
		err = d.confirmation(c)
	default: // gen: a non-negative integer
		text, integer, nerr := d.number()
		if nerr != nil || !integer {
			return errSyntax
		}
		c.Generation, err = strconv.ParseUint(view(text), 10, 64)
	}
	if err != nil {
		return errSyntax
	}
	return nil
}

// extra stores an unregistered claim's raw value in c.Extra. The value is
// copied: json.RawMessage is a mutable slice, and the buffer it came from
// backs the claims' strings.
func (d *decoder) extra(c *Claims, name string) error {
	raw, err := d.skip(0)
	if err != nil {
		return err
	}
	if c.Extra == nil {
		c.Extra = make(map[string]json.RawMessage, 2)
	} else if _, dup := c.Extra[name]; dup {
		return errSyntax
	}
	c.Extra[name] = bytes.Clone(raw)
	return nil
}

// status parses "status" (draft-ietf-oauth-status-list §6.1): an object
// whose "status_list" member, if present, holds "idx" (a non-negative
// integer) and "uri" (a string), both required. Other members of "status"
// (other status mechanisms) and of "status_list" are skipped.
func (d *decoder) status(c *Claims) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	seenList := false
	for first := true; ; first = false {
		name, ok, err := d.member(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if name != "status_list" {
			if _, err := d.skip(1); err != nil {
				return err
			}
			continue
		}
		if seenList {
			return errSyntax
		}
		seenList = true
		if err := d.statusList(c); err != nil {
			return err
		}
	}
}

// statusList parses the "status_list" object of a "status" claim.
func (d *decoder) statusList(c *Claims) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	var haveIdx, haveURI bool
	for first := true; ; first = false {
		name, ok, err := d.member(first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch name {
		case "idx":
			text, integer, err := d.number()
			if err != nil || !integer || haveIdx || text[0] == '-' {
				return errSyntax
			}
			if c.Status.Index, err = strconv.ParseUint(view(text), 10, 64); err != nil {
				return errSyntax
			}
			haveIdx = true
		case "uri":
			if haveURI {
				return errSyntax
			}
			if c.Status.URI, err = d.str(); err != nil || c.Status.URI == "" {
				return errSyntax
			}
			haveURI = true
		default:
			if _, err := d.skip(2); err != nil {
				return err
			}
		}
	}
	if !haveIdx || !haveURI {
		return errSyntax
	}
	return nil
}

// confirmation parses "cnf" (RFC 7800 §3.1): an object holding "jkt"
// and/or "x5t#S256" strings, each at most once. Any other member is an
// error: a confirmation method this package cannot report must not leave
// a bound token looking like a bearer token.
func (d *decoder) confirmation(c *Claims) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	for first := true; ; first = false {
		name, ok, err := d.member(first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		var dst *string
		switch name {
		case "jkt":
			dst = &c.Confirmation.JKT
		case "x5t#S256":
			dst = &c.Confirmation.X5TS256
		default:
			return errSyntax
		}
		if *dst != "" {
			return errSyntax
		}
		if *dst, err = d.str(); err != nil || *dst == "" {
			return errSyntax
		}
	}
	if c.Confirmation.IsZero() {
		return errSyntax
	}
	return nil
}

// audience parses "aud": a string or an array of strings (RFC 7519 §4.1.3).
// A single audience lives in c.audBuf, so it costs no allocation.
func (d *decoder) audience(c *Claims) error {
	switch d.next() {
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
// than alg, enc, kid, typ, zip and crit are ignored, as RFC 7515 §4 allows:
// in particular jku, jwk, x5u and x5c never select a key. The strings of
// the result view b.
func parseHeader(b []byte) (header, error) {
	d := decoder{b: b}
	var h header
	if err := d.expect('{'); err != nil {
		return h, err
	}
	var seen uint8
	for first := true; ; first = false {
		name, ok, err := d.member(first)
		if err != nil {
			return h, err
		}
		if !ok {
			break
		}
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
			if _, err := d.skip(0); err != nil {
				return h, err
			}
			continue
		}
		if seen&bit != 0 {
			return h, errSyntax
		}
		seen |= bit
		if *dst, err = d.str(); err != nil {
			return h, err
		}
	}
	return h, d.end()
}
