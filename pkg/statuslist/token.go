package statuslist

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/internal/jsonscan"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// Media types and the JWT "typ" of a Status List Token (draft §5.1, §8.1).
const (
	TokenType      = "statuslist+jwt"
	MediaType      = "application/statuslist+jwt"
	MetadataName   = "status_list_aggregation_endpoint" // RFC 8414 metadata (draft §9.1)
	DefaultMaxSize = 1 << 20                            // longest Status List Token Verify reads
)

// maxTTL bounds "ttl" (draft §11.5: within reasonable ranges); larger
// values are refused as malformed rather than trusted.
const maxTTL = 366 * 24 * time.Hour

// Token is a Status List Token's content (draft §5.1).
type Token struct {
	// Subject is "sub": the list's URI, which Referenced Tokens name.
	Subject string
	// Issuer is "iss", optional.
	Issuer string
	// IssuedAt is "iat", required.
	IssuedAt time.Time
	// Expiry is "exp", recommended; zero leaves it out.
	Expiry time.Time
	// TTL is "ttl", recommended: how long a consumer may cache the token
	// before fetching a fresh one. Whole seconds; zero leaves it out.
	TTL time.Duration
	// AggregationURI is the list's "aggregation_uri", optional (draft §9.2).
	AggregationURI string
	// List is "status_list".
	List *List
}

// Sign returns the Status List Token of t as a compact JWS signed by s,
// with "typ" statuslist+jwt (draft §5.1). Subject, IssuedAt and List are
// required; TTL, when set, must be a positive whole number of seconds.
func Sign(s jws.Signer, t *Token) (string, error) {
	payload, err := t.appendClaims(nil)
	if err != nil {
		return "", err
	}
	return jws.Sign(s, jws.Protected{Type: TokenType}, payload)
}

func (t *Token) appendClaims(dst []byte) ([]byte, error) {
	switch {
	case t.List == nil:
		return nil, fmt.Errorf("%w: no list", ErrConfig)
	case t.Subject == "":
		return nil, fmt.Errorf("%w: no subject (the list's URI)", ErrConfig)
	case t.IssuedAt.IsZero():
		return nil, fmt.Errorf("%w: no issued-at time", ErrConfig)
	case t.TTL < 0 || t.TTL%time.Second != 0 || t.TTL > maxTTL:
		return nil, fmt.Errorf("%w: ttl %s is not a positive whole number of seconds up to %s", ErrConfig, t.TTL, maxTTL)
	case !t.Expiry.IsZero() && !t.Expiry.After(t.IssuedAt):
		return nil, fmt.Errorf("%w: exp not after iat", ErrConfig)
	}
	c := jws.Claims{Subject: t.Subject, Issuer: t.Issuer, IssuedAt: t.IssuedAt, Expiry: t.Expiry}
	extra := map[string]json.RawMessage{}
	if t.TTL > 0 {
		extra["ttl"] = strconv.AppendInt(nil, int64(t.TTL/time.Second), 10)
	}
	sl := append([]byte(nil), `{"bits":`...)
	sl = strconv.AppendInt(sl, int64(t.List.bits), 10)
	sl = append(sl, `,"lst":"`...)
	sl = append(sl, t.List.Encode()...)
	sl = append(sl, '"')
	if t.AggregationURI != "" {
		sl = append(sl, `,"aggregation_uri":`...)
		sl = jsonenc.AppendString(sl, t.AggregationURI)
	}
	extra["status_list"] = append(sl, '}')
	c.Extra = extra
	out, err := c.AppendJSON(dst)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return out, nil
}

// Option configures a Verifier.
type Option interface{ apply(*Verifier) error }

type optionFunc func(*Verifier) error

func (f optionFunc) apply(v *Verifier) error { return f(v) }

// WithAlgorithms sets the JWS algorithms accepted (default: the asymmetric
// ones, jws.AsymmetricAlgorithms; draft §11.6 advises signatures over MACs).
func WithAlgorithms(algs ...string) Option {
	return optionFunc(func(v *Verifier) error { v.algs = algs; return nil })
}

// WithClock sets the clock for exp and iat (default time.Now).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(v *Verifier) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrConfig)
		}
		v.now = now
		return nil
	})
}

// WithLeeway sets the clock skew tolerated on exp and iat, at most
// jws.MaxLeeway (default 0).
func WithLeeway(d time.Duration) Option {
	return optionFunc(func(v *Verifier) error {
		if d < 0 || d > jws.MaxLeeway {
			return fmt.Errorf("%w: leeway %s", ErrConfig, d)
		}
		v.leeway = d
		return nil
	})
}

// WithMaxAge refuses tokens issued longer ago than d (draft §8.3 step 4b:
// a Relying Party's freshness policy). Zero, the default, sets no bound.
func WithMaxAge(d time.Duration) Option {
	return optionFunc(func(v *Verifier) error {
		if d < 0 {
			return fmt.Errorf("%w: max age %s", ErrConfig, d)
		}
		v.maxAge = d
		return nil
	})
}

// WithIssuer requires "iss" to equal iss.
func WithIssuer(iss string) Option {
	return optionFunc(func(v *Verifier) error { v.issuer = iss; return nil })
}

// WithMaxBytes bounds the decompressed list (default DefaultMaxBytes, at
// most MaxBytes).
func WithMaxBytes(n int) Option {
	return optionFunc(func(v *Verifier) error {
		if n <= 0 || n > MaxBytes {
			return fmt.Errorf("%w: max bytes %d", ErrConfig, n)
		}
		v.maxBytes = n
		return nil
	})
}

// WithMaxSize bounds the token itself, in bytes (default DefaultMaxSize).
func WithMaxSize(n int) Option {
	return optionFunc(func(v *Verifier) error { v.maxSize = n; return nil })
}

// Verifier verifies Status List Tokens (draft §8.3 step 3 and 4) against
// the status issuer's keys. It is immutable and safe for concurrent use.
type Verifier struct {
	jws      *jws.Verifier
	keys     jws.KeySource
	algs     []string
	now      func() time.Time
	leeway   time.Duration
	maxAge   time.Duration
	issuer   string
	maxBytes int
	maxSize  int
}

// NewVerifier returns a Verifier of tokens signed by keys (typically the
// issuer's JWK Set, from its jwks_uri).
func NewVerifier(keys jws.KeySource, opts ...Option) (*Verifier, error) {
	v := &Verifier{keys: keys, algs: jws.AsymmetricAlgorithms, now: time.Now, maxBytes: DefaultMaxBytes, maxSize: DefaultMaxSize}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(v); err != nil {
			return nil, err
		}
	}
	var err error
	v.jws, err = jws.NewVerifier(v.algs, keys, jws.WithType(TokenType), jws.WithMaxSize(v.maxSize))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return v, nil
}

// Verify checks a Status List Token fetched from uri and returns its
// content, in this order (the first failure returned):
//
//  1. the JWS: shape, algorithm, "typ" statuslist+jwt, key, signature
//     (jws.ErrMalformed, jws.ErrAlgorithm, jws.ErrType, jws.ErrUnknownKey,
//     jws.ErrKeyType, jws.ErrSignature);
//  2. the claims (RFC 7519 §7.2): valid JSON (jws.ErrClaims), "sub" and
//     "iat" present (jws.ErrMissingClaim), "exp" if present not past
//     (jws.ErrExpired), "iat" not in the future (jws.ErrIssuedInFuture),
//     not older than WithMaxAge (jws.ErrTooOld), "iss" (jws.ErrIssuer);
//  3. "sub" equal to uri (ErrSubject, draft §8.3 step 4a);
//  4. "ttl", if present, a positive number (ErrMalformed);
//  5. "status_list": "bits" and "lst" (ErrBits, ErrMalformed), decompressed
//     within the bound (ErrTooLarge).
func (v *Verifier) Verify(token, uri string) (*Token, error) {
	tok, err := v.jws.Verify(token)
	if err != nil {
		return nil, err
	}
	c, err := jws.ParseClaims(tok.Payload)
	if err != nil {
		return nil, err
	}
	if c.Subject == "" {
		return nil, fmt.Errorf("%w: \"sub\"", jws.ErrMissingClaim)
	}
	if c.IssuedAt.IsZero() {
		return nil, fmt.Errorf("%w: \"iat\"", jws.ErrMissingClaim)
	}
	if err := c.Validate(jws.Expected{
		Issuer: v.issuer, Leeway: v.leeway, Time: v.now, MaxAge: v.maxAge, ExpiryOptional: true,
	}); err != nil {
		return nil, err
	}
	if c.Subject != uri {
		return nil, ErrSubject
	}
	t := &Token{Subject: c.Subject, Issuer: c.Issuer, IssuedAt: c.IssuedAt, Expiry: c.Expiry}
	if raw, ok := c.Extra["ttl"]; ok {
		if t.TTL, err = parseTTL(raw); err != nil {
			return nil, err
		}
	}
	raw, ok := c.Extra["status_list"]
	if !ok {
		return nil, fmt.Errorf("%w: \"status_list\"", jws.ErrMissingClaim)
	}
	if err := t.parseStatusList(raw, v.maxBytes); err != nil {
		return nil, err
	}
	return t, nil
}

// parseTTL reads "ttl": a positive JSON number of seconds (draft §5.1),
// at most maxTTL; fractions are kept to the millisecond.
func parseTTL(raw []byte) (time.Duration, error) {
	d := jsonscan.New(raw)
	text, _, err := d.Number()
	if err != nil || d.End() != nil {
		return 0, fmt.Errorf("%w: ttl is not a number", ErrMalformed)
	}
	f, err := strconv.ParseFloat(jsonscan.View(text), 64)
	if err != nil || !(f > 0) || f > maxTTL.Seconds() || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: ttl is not a positive number of seconds up to %s", ErrMalformed, maxTTL)
	}
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond), nil
}

// parseStatusList reads the "status_list" claim (draft §4.2).
func (t *Token) parseStatusList(raw []byte, maxBytes int) error {
	d := jsonscan.New(raw)
	bad := fmt.Errorf("%w: status_list is not an object of bits and lst", ErrMalformed)
	if d.Expect('{') != nil {
		return bad
	}
	var (
		bits           uint64
		lst            string
		haveB, haveLst bool
		haveAgg        bool
	)
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return bad
		}
		if !ok {
			break
		}
		switch name {
		case "bits":
			if haveB {
				return bad
			}
			haveB = true
			if bits, err = d.Uint(8); err != nil {
				return fmt.Errorf("%w: bits is not 1, 2, 4 or 8", ErrBits)
			}
		case "lst":
			if haveLst {
				return bad
			}
			haveLst = true
			if lst, err = d.String(); err != nil {
				return bad
			}
		case "aggregation_uri":
			if haveAgg {
				return bad
			}
			haveAgg = true
			if t.AggregationURI, err = d.String(); err != nil {
				return bad
			}
		default:
			if _, err := d.Skip(); err != nil {
				return bad
			}
		}
	}
	if d.End() != nil || !haveB || !haveLst {
		return bad
	}
	l, err := Decode(int(bits), lst, maxBytes)
	if err != nil {
		return err
	}
	t.List = l
	return nil
}

// NextCheck returns when a Relying Party that fetched the token at fetched
// should fetch a fresh copy (draft §13.7): after TTL, clamped to [min, max];
// without a TTL, at Expiry, likewise clamped; with neither, after max.
// Never later than Expiry.
func (t *Token) NextCheck(fetched time.Time, minWait, maxWait time.Duration) time.Time {
	wait := maxWait
	switch {
	case t.TTL > 0:
		wait = t.TTL
	case !t.Expiry.IsZero():
		wait = t.Expiry.Sub(fetched)
	}
	wait = min(max(wait, minWait), maxWait)
	next := fetched.Add(wait)
	if !t.Expiry.IsZero() && next.After(t.Expiry) {
		next = t.Expiry
	}
	return next
}
