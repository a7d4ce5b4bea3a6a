package dpop

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonscan"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// HeaderName is the HTTP header field that carries a proof, and NonceHeader
// the one that carries a server nonce (RFC 9449 §4.1, §8.1).
const (
	HeaderName  = "DPoP"
	NonceHeader = "DPoP-Nonce"
	// Scheme is the authorization scheme of a DPoP-bound access token
	// (RFC 9449 §7.1).
	Scheme = "DPoP"
	// TokenType is the proof's JWT "typ" (RFC 9449 §4.2).
	TokenType = "dpop+jwt"
)

// Algorithms is the default allow-list: the asymmetric algorithms RFC 9449
// §4.2 allows that SPEC §10 names.
var Algorithms = []string{jws.ES256, jws.EdDSA, jws.PS256, jws.RS256}

// Defaults of a Verifier.
const (
	// DefaultMaxAge is how old a proof's iat may be.
	DefaultMaxAge = 60 * time.Second
	// DefaultMaxSkew is how far ahead of the server's clock iat may be.
	DefaultMaxSkew = 10 * time.Second
	// MaxJTILength bounds the jti, and so what a replay cache stores.
	MaxJTILength = 256
	// MaxProofSize bounds a proof: an 8192-bit RSA key in the header fits.
	MaxProofSize = 8 << 10
)

// Proof is a verified DPoP proof.
type Proof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the proof's public key,
	// base64url: the value of an access token's cnf.jkt (RFC 9449 §6.1).
	JKT string
	// Key is the proof's public key.
	Key *jws.Key
	// ID is the proof's jti; IssuedAt its iat.
	ID       string
	IssuedAt time.Time
	// Method and URI are htm and htu as the proof states them.
	Method, URI string
	// Nonce is the proof's nonce claim, if any.
	Nonce string
}

// Request is what a proof is checked against: the HTTP request it came
// with.
type Request struct {
	// Method is the request's HTTP method.
	Method string
	// URI is the request's target URI as the client addressed it:
	// scheme, host and path (a query is ignored). Behind a
	// TLS-terminating proxy, build it from the forwarded scheme and host
	// of trusted proxies.
	URI string
	// AccessToken, when the proof accompanies an access token (at a
	// resource server, or at the issuer's userinfo), is that token as
	// sent; the proof must then carry its hash in ath (RFC 9449 §4.3
	// (12)). Empty at the token endpoint.
	AccessToken string
	// JKT, when set, is the thumbprint the proof key must have: the
	// access token's cnf.jkt, or an authorization code's dpop_jkt.
	JKT string
}

// Option configures a Verifier.
type Option interface{ apply(*Verifier) error }

type optionFunc func(*Verifier) error

func (f optionFunc) apply(v *Verifier) error { return f(v) }

// WithAlgorithms sets the accepted algorithms (default Algorithms). HS256
// is refused: a proof is signed with an asymmetric key (RFC 9449 §4.2).
func WithAlgorithms(algs ...string) Option {
	return optionFunc(func(v *Verifier) error {
		for _, a := range algs {
			if a == jws.HS256 {
				return fmt.Errorf("dpop: %s is not an asymmetric algorithm", a)
			}
		}
		v.algs = algs
		return nil
	})
}

// WithWindow sets how old (maxAge) and how far in the future (maxSkew) a
// proof's iat may be (RFC 9449 §4.3 (11), §11.1).
func WithWindow(maxAge, maxSkew time.Duration) Option {
	return optionFunc(func(v *Verifier) error {
		if maxAge <= 0 || maxAge > time.Hour || maxSkew < 0 || maxSkew > 5*time.Minute {
			return fmt.Errorf("dpop: window (%s, %s) out of range", maxAge, maxSkew)
		}
		v.maxAge, v.maxSkew = maxAge, maxSkew
		return nil
	})
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(v *Verifier) error {
		if now == nil {
			return fmt.Errorf("dpop: nil clock")
		}
		v.now = now
		return nil
	})
}

// WithReplayCache makes every proof single-use: its thumbprint and jti are
// recorded in c until the proof could no longer be accepted.
func WithReplayCache(c ReplayCache) Option {
	return optionFunc(func(v *Verifier) error { v.replay = c; return nil })
}

// WithNonces requires proofs to carry a nonce that n issued (RFC 9449 §8,
// §9); a missing or stale one is ErrUseNonce.
func WithNonces(n *Nonces) Option {
	return optionFunc(func(v *Verifier) error { v.nonces = n; return nil })
}

// Verifier checks DPoP proofs (RFC 9449 §4.3). It is immutable and safe
// for concurrent use.
type Verifier struct {
	jws     *jws.Verifier
	algs    []string
	maxAge  time.Duration
	maxSkew time.Duration
	now     func() time.Time
	replay  ReplayCache
	nonces  *Nonces
}

// NewVerifier returns a Verifier with the given options.
func NewVerifier(opts ...Option) (*Verifier, error) {
	v := &Verifier{algs: Algorithms, maxAge: DefaultMaxAge, maxSkew: DefaultMaxSkew, now: time.Now}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(v); err != nil {
			return nil, err
		}
	}
	var err error
	v.jws, err = jws.NewVerifier(v.algs, jws.EmbeddedJWK, jws.WithType(TokenType), jws.WithMaxSize(MaxProofSize))
	if err != nil {
		return nil, fmt.Errorf("dpop: %w", err)
	}
	return v, nil
}

// Verify checks the proof in the values of a request's DPoP header fields
// against req, in the order of RFC 9449 §4.3:
//
//	(1) exactly one DPoP header field (ErrMissing, ErrMultiple);
//	(2) a well-formed JWT (ErrMalformed);
//	(4) typ dpop+jwt, (5) an allowed asymmetric alg, (7) a public jwk
//	    (ErrKey), (6) the signature by that key (ErrMalformed, ErrKey, and
//	    the jws sentinel);
//	(3) jti, htm, htu and iat present, well typed, jti at most
//	    MaxJTILength bytes (ErrClaims);
//	(8) htm equal to the method (ErrMethod);
//	(9) htu equal to the URI, compared as NormalizeURI says (ErrURI);
//	(10) the nonce, when the Verifier has Nonces (ErrUseNonce);
//	(11) iat within the window (ErrIssuedAt);
//	(12) ath, when req has an access token (ErrTokenHash), and the key's
//	    thumbprint, when req names one (ErrKeyBinding);
//
// then, with a replay cache, the thumbprint and jti not seen before
// (ErrReplayed; ErrReplayCheck if the cache fails). Only a proof that
// passed every check is recorded, so invalid proofs cannot use up a jti.
func (v *Verifier) Verify(ctx context.Context, values []string, req Request) (*Proof, error) {
	switch len(values) {
	case 0:
		return nil, proofError(ErrMissing, "")
	case 1:
	default:
		return nil, proofError(ErrMultiple, "")
	}
	tok, err := v.jws.Verify(values[0])
	if err != nil {
		switch {
		case errors.Is(err, jws.ErrPrivateKey), errors.Is(err, jws.ErrInvalidKey),
			errors.Is(err, jws.ErrUnsupportedKey), errors.Is(err, jws.ErrUnknownKey), errors.Is(err, jws.ErrKeyType):
			return nil, fmt.Errorf("%w: %w: %w", ErrInvalidProof, ErrKey, err)
		default:
			return nil, fmt.Errorf("%w: %w: %w", ErrInvalidProof, ErrMalformed, err)
		}
	}
	var c claims
	if err := c.parse(tok.Payload); err != nil {
		return nil, err
	}
	if c.htm != req.Method {
		return nil, proofError(ErrMethod, "")
	}
	if err := matchURI(c.htu, req.URI); err != nil {
		return nil, err
	}
	now := v.now()
	if v.nonces != nil && (c.nonce == "" || !v.nonces.Valid(c.nonce)) {
		return nil, ErrUseNonce
	}
	if c.iat.Before(now.Add(-v.maxAge)) || c.iat.After(now.Add(v.maxSkew)) {
		return nil, proofError(ErrIssuedAt, "")
	}
	if req.AccessToken != "" {
		sum := sha256.Sum256([]byte(req.AccessToken))
		var want [43]byte
		base64.RawURLEncoding.Encode(want[:], sum[:])
		if subtle.ConstantTimeCompare([]byte(c.ath), want[:]) != 1 {
			return nil, proofError(ErrTokenHash, "")
		}
	}
	key := tok.Key // the header's jwk, which verified the signature
	jkt, err := key.Thumbprint()
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrInvalidProof, ErrKey, err)
	}
	if req.JKT != "" && subtle.ConstantTimeCompare([]byte(jkt), []byte(req.JKT)) != 1 {
		return nil, proofError(ErrKeyBinding, "")
	}
	if v.replay != nil {
		// The proof is acceptable until iat + maxAge: remember it so long.
		err := v.replay.UseOnce(ctx, jkt+"."+c.jti, c.iat.Add(v.maxAge+time.Second))
		switch {
		case errors.Is(err, ErrReplayed):
			return nil, proofError(ErrReplayed, "")
		case err != nil:
			return nil, fmt.Errorf("%w: %w", ErrReplayCheck, err)
		}
	}
	// The strings view the proof's decoded payload, which Verify
	// allocated for this proof alone and nothing writes again.
	return &Proof{JKT: jkt, Key: key, ID: c.jti, IssuedAt: c.iat, Method: c.htm, URI: c.htu, Nonce: c.nonce}, nil
}

// matchURI compares htu with the request URI (RFC 9449 §4.3 (9)). When
// the two are the same https URI but for query and fragment, as they are
// from clients that send what they requested, they match without parsing:
// the request URI is the server's own.
func matchURI(htu, reqURI string) error {
	if base := withoutQuery(htu); base == withoutQuery(reqURI) && len(base) > len("https://") &&
		strings.EqualFold(base[:len("https://")], "https://") && !strings.ContainsAny(base, "@%\\") {
		return nil
	}
	got, err := NormalizeURI(htu)
	if err != nil {
		return proofError(ErrURI, "htu is %v", err)
	}
	want, err := NormalizeURI(reqURI)
	if err != nil {
		return fmt.Errorf("%w: its URI is %v", ErrRequest, err)
	}
	if got != want {
		return proofError(ErrURI, "")
	}
	return nil
}

// withoutQuery cuts a URI at its query or fragment.
func withoutQuery(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i]
	}
	return s
}

// claims are a proof's claims (RFC 9449 §4.2).
type claims struct {
	jti, htm, htu, ath, nonce string
	iat                       time.Time
}

// Claim bits, for the duplicate check.
const (
	cJTI = 1 << iota
	cHTM
	cHTU
	cIAT
	cATH
	cNonce
)

// parse reads the claims strictly: a JSON object, no repeated member,
// jti, htm, htu strings and iat a NumericDate all present, ath and nonce
// strings if present. Other claims are ignored (RFC 9449 §4.2).
func (c *claims) parse(b []byte) error {
	d := jsonscan.New(b)
	if d.Expect('{') != nil {
		return proofError(ErrClaims, "not a JSON object")
	}
	var seen uint32
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return proofError(ErrClaims, "not a JSON object")
		}
		if !ok {
			break
		}
		var dst *string
		var bit uint32
		switch name {
		case "jti":
			dst, bit = &c.jti, cJTI
		case "htm":
			dst, bit = &c.htm, cHTM
		case "htu":
			dst, bit = &c.htu, cHTU
		case "ath":
			dst, bit = &c.ath, cATH
		case "nonce":
			dst, bit = &c.nonce, cNonce
		case "iat":
			bit = cIAT
		default:
			if _, err := d.Skip(); err != nil {
				return proofError(ErrClaims, "not a JSON object")
			}
			continue
		}
		if seen&bit != 0 {
			return proofError(ErrClaims, "%q appears twice", name)
		}
		seen |= bit
		if dst != nil {
			*dst, err = d.String()
		} else {
			c.iat, err = d.Date()
		}
		if err != nil {
			return proofError(ErrClaims, "%q has the wrong type", name)
		}
	}
	if d.End() != nil {
		return proofError(ErrClaims, "not a JSON object")
	}
	switch {
	case c.jti == "":
		return proofError(ErrClaims, "no jti")
	case len(c.jti) > MaxJTILength:
		return proofError(ErrClaims, "jti longer than %d bytes", MaxJTILength)
	case c.htm == "":
		return proofError(ErrClaims, "no htm")
	case c.htu == "":
		return proofError(ErrClaims, "no htu")
	case seen&cIAT == 0:
		return proofError(ErrClaims, "no iat")
	}
	return nil
}
