package crypttoken

// A reflection-free JSON codec for the claims set and the JWE header.
//
// Encoding appends to a caller's buffer. Decoding (with internal/jsonscan)
// parses a buffer that the caller owns and never changes afterwards:
// strings without escapes are views into it (no copy), which is what keeps
// Open at a handful of allocations. Open decrypts every token into a fresh
// buffer, so the views stay valid for as long as the Claims are used.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/internal/jsonscan"
)

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

// checkDates rejects times that NumericDate parsing (jsonscan's bounds:
// years 1 to 9999) would refuse, so that Seal never produces a token that
// cannot be opened.
func checkDates(c *Claims) error {
	for _, t := range [...]time.Time{c.Expiry, c.NotBefore, c.IssuedAt, c.AuthTime} {
		if t.IsZero() {
			continue
		}
		if s := t.Unix(); s < jsonscan.MinNumericDate || s > jsonscan.MaxNumericDate {
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
	d := jsonscan.New(b)
	if err := d.Expect('{'); err != nil {
		return err
	}
	var seen uint32
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := parseClaim(&d, c, name, &seen); err != nil {
			return err
		}
	}
	return d.End()
}

// parseClaim decodes the value of the member name into c.
func parseClaim(d *jsonscan.Decoder, c *Claims, name string, seen *uint32) error {
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
		return parseExtra(d, c, name)
	}
	if *seen&bit != 0 {
		return jsonscan.ErrSyntax
	}
	*seen |= bit
	if d.Null() {
		return nil
	}
	var err error
	switch {
	case s != nil:
		*s, err = d.String()
	case t != nil:
		*t, err = d.Date()
	case bit == seenAud:
		err = parseAudience(d, c)
	case bit == seenStatus:
		err = parseStatus(d, c)
	case bit == seenCnf:
		err = parseConfirmation(d, c)
	default: // gen: a non-negative integer
		c.Generation, err = d.Uint(math.MaxUint64)
	}
	if err != nil {
		return jsonscan.ErrSyntax
	}
	return nil
}

// parseExtra stores an unregistered claim's raw value in c.Extra. The value
// is copied: json.RawMessage is a mutable slice, and the buffer it came
// from backs the claims' strings.
func parseExtra(d *jsonscan.Decoder, c *Claims, name string) error {
	raw, err := d.Skip()
	if err != nil {
		return err
	}
	if c.Extra == nil {
		c.Extra = make(map[string]json.RawMessage, 2)
	} else if _, dup := c.Extra[name]; dup {
		return jsonscan.ErrSyntax
	}
	c.Extra[name] = bytes.Clone(raw)
	return nil
}

// parseStatus parses "status" (draft-ietf-oauth-status-list §6.1): an
// object whose "status_list" member, if present, holds "idx" (a
// non-negative integer) and "uri" (a string), both required. Other members
// of "status" (other status mechanisms) and of "status_list" are skipped.
func parseStatus(d *jsonscan.Decoder, c *Claims) error {
	if err := d.Expect('{'); err != nil {
		return err
	}
	seenList := false
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if name != "status_list" {
			if _, err := d.SkipNested(1); err != nil {
				return err
			}
			continue
		}
		if seenList {
			return jsonscan.ErrSyntax
		}
		seenList = true
		if err := parseStatusList(d, c); err != nil {
			return err
		}
	}
}

// parseStatusList parses the "status_list" object of a "status" claim.
func parseStatusList(d *jsonscan.Decoder, c *Claims) error {
	if err := d.Expect('{'); err != nil {
		return err
	}
	var haveIdx, haveURI bool
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch name {
		case "idx":
			if haveIdx {
				return jsonscan.ErrSyntax
			}
			if c.Status.Index, err = d.Uint(math.MaxUint64); err != nil {
				return err
			}
			haveIdx = true
		case "uri":
			if haveURI {
				return jsonscan.ErrSyntax
			}
			if c.Status.URI, err = d.String(); err != nil || c.Status.URI == "" {
				return jsonscan.ErrSyntax
			}
			haveURI = true
		default:
			if _, err := d.SkipNested(2); err != nil {
				return err
			}
		}
	}
	if !haveIdx || !haveURI {
		return jsonscan.ErrSyntax
	}
	return nil
}

// parseConfirmation parses "cnf" (RFC 7800 §3.1): an object holding "jkt"
// and/or "x5t#S256" strings, each at most once. Any other member is an
// error: a confirmation method this package cannot report must not leave
// a bound token looking like a bearer token.
func parseConfirmation(d *jsonscan.Decoder, c *Claims) error {
	if err := d.Expect('{'); err != nil {
		return err
	}
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
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
			return jsonscan.ErrSyntax
		}
		if *dst != "" {
			return jsonscan.ErrSyntax
		}
		if *dst, err = d.String(); err != nil || *dst == "" {
			return jsonscan.ErrSyntax
		}
	}
	if c.Confirmation.IsZero() {
		return jsonscan.ErrSyntax
	}
	return nil
}

// parseAudience parses "aud": a string or an array of strings (RFC 7519
// §4.1.3). A single audience lives in c.audBuf, so it costs no allocation.
func parseAudience(d *jsonscan.Decoder, c *Claims) error {
	return d.StringOrArray(func(s string) {
		if c.Audience == nil {
			c.audBuf[0] = s
			c.Audience = c.audBuf[:1:1]
		} else {
			c.Audience = append(c.Audience, s)
		}
	})
}

// header is the part of a JWE protected header that Open acts on.
type header struct {
	alg, enc, kid, typ, cty string
	zip, crit               bool
}

// parseHeader decodes a JWE protected header (RFC 7516 §4.1). Members other
// than alg, enc, kid, typ, cty, zip and crit are ignored, as RFC 7515 §4 allows:
// in particular jku, jwk, x5u and x5c never select a key. The strings of
// the result view b.
func parseHeader(b []byte) (header, error) {
	d := jsonscan.New(b)
	var h header
	if err := d.Expect('{'); err != nil {
		return h, err
	}
	var seen uint8
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
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
		case "cty":
			dst, bit = &h.cty, 16
		case "zip":
			h.zip = true
		case "crit":
			h.crit = true
		}
		if dst == nil {
			if _, err := d.Skip(); err != nil {
				return h, err
			}
			continue
		}
		if seen&bit != 0 {
			return h, jsonscan.ErrSyntax
		}
		seen |= bit
		if *dst, err = d.String(); err != nil {
			return h, err
		}
	}
	return h, d.End()
}
