package jws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/internal/jsonscan"
)

// Claims is a JWT claims set (RFC 7519 §4): the registered claims as
// fields, every other member as raw JSON in Extra.
//
// Times are whole seconds (NumericDate, RFC 7519 §2) between the years 1
// and 9999; a zero time.Time is an absent claim. ParseClaims truncates
// fractional seconds toward zero.
//
// Claims from ParseClaims view the payload they were parsed from (strings
// and Extra values are not copied): the payload must not be modified while
// the Claims are in use. A Verify payload is the caller's alone, so this
// holds unless the caller writes to it.
type Claims struct {
	Issuer    string    // "iss" (RFC 7519 §4.1.1)
	Subject   string    // "sub" (§4.1.2)
	Audience  []string  // "aud" (§4.1.3): written as a string when it holds one value
	Expiry    time.Time // "exp" (§4.1.4)
	NotBefore time.Time // "nbf" (§4.1.5)
	IssuedAt  time.Time // "iat" (§4.1.6)
	ID        string    // "jti" (§4.1.7)

	// Extra holds every other member as raw JSON, keyed by name. When
	// encoding, names of the registered claims above are refused.
	Extra map[string]json.RawMessage
}

// registered claim bits, for the duplicate check.
const (
	clmIss = 1 << iota
	clmSub
	clmAud
	clmExp
	clmNbf
	clmIat
	clmJti
)

func registeredClaim(name string) bool {
	switch name {
	case "iss", "sub", "aud", "exp", "nbf", "iat", "jti":
		return true
	}
	return false
}

// ParseClaims reads a JWT claims set. It must be one JSON object whose
// members are distinct (RFC 7519 §4 lets parsers refuse duplicates, and
// accepting the last invites confusion), with iss, sub and jti strings,
// aud a string or an array of strings, and exp, nbf and iat NumericDates. A
// registered claim whose value is null counts as absent. Errors wrap
// ErrClaims.
func ParseClaims(payload []byte) (*Claims, error) {
	c := new(Claims)
	if err := c.parse(payload); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Claims) parse(b []byte) error {
	d := jsonscan.New(b)
	if d.Expect('{') != nil {
		return fmt.Errorf("%w: not a JSON object", ErrClaims)
	}
	var seen uint32
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return fmt.Errorf("%w: not a JSON object", ErrClaims)
		}
		if !ok {
			break
		}
		var (
			bit uint32
			s   *string
			t   *time.Time
		)
		switch name {
		case "iss":
			bit, s = clmIss, &c.Issuer
		case "sub":
			bit, s = clmSub, &c.Subject
		case "aud":
			bit = clmAud
		case "exp":
			bit, t = clmExp, &c.Expiry
		case "nbf":
			bit, t = clmNbf, &c.NotBefore
		case "iat":
			bit, t = clmIat, &c.IssuedAt
		case "jti":
			bit, s = clmJti, &c.ID
		default:
			raw, err := d.Skip()
			if err != nil {
				return fmt.Errorf("%w: not a JSON object", ErrClaims)
			}
			if c.Extra == nil {
				c.Extra = make(map[string]json.RawMessage, 4)
			} else if _, dup := c.Extra[name]; dup {
				return fmt.Errorf("%w: claim %q appears twice", ErrClaims, safeValue(name))
			}
			c.Extra[name] = raw
			continue
		}
		if seen&bit != 0 {
			return fmt.Errorf("%w: claim %q appears twice", ErrClaims, name)
		}
		seen |= bit
		if d.Null() {
			continue
		}
		switch {
		case s != nil:
			*s, err = d.String()
		case t != nil:
			*t, err = d.Date()
		default:
			c.Audience = c.Audience[:0]
			err = d.StringOrArray(func(a string) { c.Audience = append(c.Audience, a) })
		}
		if err != nil {
			return fmt.Errorf("%w: claim %q has the wrong type", ErrClaims, name)
		}
	}
	if d.End() != nil {
		return fmt.Errorf("%w: not a JSON object", ErrClaims)
	}
	return nil
}

// HasAudience reports whether aud is one of the audiences (RFC 7519
// §4.1.3: case-sensitive strings).
func (c *Claims) HasAudience(aud string) bool { return slices.Contains(c.Audience, aud) }

// Decode unmarshals the extra claim name into v with encoding/json. An
// absent claim is ErrMissingClaim; one that does not fit v wraps ErrClaims.
func (c *Claims) Decode(name string, v any) error {
	raw, ok := c.Extra[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrMissingClaim, safeValue(name))
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: claim %q: %w", ErrClaims, safeValue(name), err)
	}
	return nil
}

// MarshalJSON encodes the claims (see AppendJSON).
func (c *Claims) MarshalJSON() ([]byte, error) { return c.AppendJSON(nil) }

// AppendJSON appends the claims set as a JSON object to dst: registered
// claims in the order iss, sub, aud, exp, nbf, iat, jti, absent ones left
// out, then Extra in name order, so equal claims encode equally. An Extra
// name of a registered claim, an Extra value that is not valid JSON, or a
// time outside NumericDate's range is ErrClaims.
func (c *Claims) AppendJSON(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, '{')
	n := 0
	member := func(name string) {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = jsonenc.AppendString(dst, name)
		dst = append(dst, ':')
	}
	str := func(name, v string) {
		if v != "" {
			member(name)
			dst = jsonenc.AppendString(dst, v)
		}
	}
	var err error
	date := func(name string, t time.Time) {
		if t.IsZero() {
			return
		}
		s := t.Unix()
		if s < jsonscan.MinNumericDate || s > jsonscan.MaxNumericDate {
			err = fmt.Errorf("%w: %q out of range", ErrClaims, name)
			return
		}
		member(name)
		dst = strconv.AppendInt(dst, s, 10)
	}
	str("iss", c.Issuer)
	str("sub", c.Subject)
	switch len(c.Audience) {
	case 0:
	case 1:
		member("aud")
		dst = jsonenc.AppendString(dst, c.Audience[0])
	default:
		member("aud")
		dst = append(dst, '[')
		for i, a := range c.Audience {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonenc.AppendString(dst, a)
		}
		dst = append(dst, ']')
	}
	date("exp", c.Expiry)
	date("nbf", c.NotBefore)
	date("iat", c.IssuedAt)
	str("jti", c.ID)
	if err != nil {
		return dst[:start], err
	}
	names := make([]string, 0, len(c.Extra))
	for name := range c.Extra {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := c.Extra[name]
		switch {
		case registeredClaim(name):
			return dst[:start], fmt.Errorf("%w: extra claim %q shadows a registered claim", ErrClaims, name)
		case !utf8.ValidString(name):
			return dst[:start], fmt.Errorf("%w: extra claim name is not UTF-8", ErrClaims)
		case !json.Valid(v):
			return dst[:start], fmt.Errorf("%w: extra claim %q is not valid JSON", ErrClaims, safeValue(name))
		}
		member(name)
		dst = appendCompact(dst, bytes.TrimSpace(v))
	}
	return append(dst, '}'), nil
}

// MaxLeeway bounds Expected.Leeway: RFC 7519 §4.1.4 speaks of "some small
// leeway, usually no more than a few minutes".
const MaxLeeway = 10 * time.Minute

// Expected is what Claims.Validate requires. Its zero value is meaningful:
// "exp" present and not past, "nbf" and "iat" not in the future, no leeway,
// the clock time.Now, any issuer, subject and audience.
type Expected struct {
	// Issuer, when set, must equal "iss".
	Issuer string
	// Subject, when set, must equal "sub".
	Subject string
	// AnyAudience, when not empty, must share a value with "aud".
	AnyAudience []string
	// Leeway is the clock skew tolerated on every time check, 0 to
	// MaxLeeway.
	Leeway time.Duration
	// Time is the clock; nil means time.Now.
	Time func() time.Time
	// MaxAge, when set, requires "iat" no further back than MaxAge.
	MaxAge time.Duration
	// MaxLifetime, when set, requires "exp" no further ahead than
	// MaxLifetime, from now and from "iat" when present (RFC 7523 §3 lets an
	// authorization server refuse assertions of unreasonable lifetime).
	MaxLifetime time.Duration
	// ExpiryOptional accepts a token without "exp" (which never expires);
	// by default "exp" is required.
	ExpiryOptional bool
	// RequireID requires "jti", e.g. for single-use assertions.
	RequireID bool
}

// Validate checks c against e (RFC 7519 §4.1.1 to §4.1.7) and returns the
// first failure, in this order: exp missing (ErrMissingClaim), expired
// (ErrExpired), nbf (ErrNotYetValid), iat in the future
// (ErrIssuedInFuture), MaxAge (ErrMissingClaim without iat, ErrTooOld),
// MaxLifetime (ErrLifetime), issuer (ErrIssuer), subject (ErrSubject),
// audience (ErrAudience), jti (ErrMissingClaim). A leeway out of range is
// ErrConfig.
func (c *Claims) Validate(e Expected) error {
	if e.Leeway < 0 || e.Leeway > MaxLeeway {
		return fmt.Errorf("%w: leeway %s out of range [0, %s]", ErrConfig, e.Leeway, MaxLeeway)
	}
	now := time.Now
	if e.Time != nil {
		now = e.Time
	}
	t, l := now(), e.Leeway
	switch {
	case c.Expiry.IsZero() && !e.ExpiryOptional:
		return fmt.Errorf("%w: \"exp\"", ErrMissingClaim)
	case !c.Expiry.IsZero() && !t.Before(c.Expiry.Add(l)):
		return ErrExpired
	case !c.NotBefore.IsZero() && t.Add(l).Before(c.NotBefore):
		return ErrNotYetValid
	case !c.IssuedAt.IsZero() && t.Add(l).Before(c.IssuedAt):
		return ErrIssuedInFuture
	}
	if e.MaxAge > 0 {
		if c.IssuedAt.IsZero() {
			return fmt.Errorf("%w: \"iat\"", ErrMissingClaim)
		}
		if t.Sub(c.IssuedAt) > e.MaxAge+l {
			return ErrTooOld
		}
	}
	if e.MaxLifetime > 0 {
		if c.Expiry.IsZero() {
			return fmt.Errorf("%w: \"exp\"", ErrMissingClaim)
		}
		if c.Expiry.Sub(t) > e.MaxLifetime+l || (!c.IssuedAt.IsZero() && c.Expiry.Sub(c.IssuedAt) > e.MaxLifetime+l) {
			return ErrLifetime
		}
	}
	if e.Issuer != "" && c.Issuer != e.Issuer {
		return ErrIssuer
	}
	if e.Subject != "" && c.Subject != e.Subject {
		return ErrSubject
	}
	if len(e.AnyAudience) > 0 && !slices.ContainsFunc(e.AnyAudience, c.HasAudience) {
		return ErrAudience
	}
	if e.RequireID && c.ID == "" {
		return fmt.Errorf("%w: \"jti\"", ErrMissingClaim)
	}
	return nil
}
