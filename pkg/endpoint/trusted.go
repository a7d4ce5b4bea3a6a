package endpoint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// TrustedIssuer is an issuer of signed JWTs that this server accepts: as
// JWT bearer assertions (RFC 7523 §2.1, GrantJWTBearer) and as the subject
// or actor tokens of token exchange (RFC 8693 §2.1) — a workload's
// platform token, a partner's identity provider. Configure them with
// WithTrustedIssuers.
type TrustedIssuer struct {
	// Issuer is the JWTs' "iss", compared exactly (RFC 7519 §4.1.1).
	Issuer string
	// Keys returns the key source to verify the issuer's JWTs with, for
	// one verification under ctx: an inline JWK Set (a *jws.KeySet, which
	// ignores ctx), or its jwks_uri through a fetcher that bounds and
	// caches the fetch (internal/jwksfetch's Fetcher.Source in
	// cmd/issuer). Required. A source that cannot obtain the issuer's
	// keys (its jwks_uri does not answer) returns an error wrapping
	// ErrKeysUnavailable: the request is then answered 503
	// temporarily_unavailable rather than as a JWT that does not verify.
	Keys func(ctx context.Context) jws.KeySource
	// Algorithms are the JWS algorithms accepted; nil means
	// jws.AsymmetricAlgorithms. HMAC is never accepted: the server would
	// need the issuer's secret.
	Algorithms []string
	// Subject maps a JWT's "sub" to the subject ("sub") of the tokens
	// issued for it, or refuses it (ok false). Nil keeps "sub" as it is.
	// cmd/issuer's subjects_as: user maps a configured username to that
	// user's id and refuses any other; as_is keeps "sub" but refuses one
	// equal to a local user id or client id, which would let the issuer
	// speak for a local identity.
	Subject func(sub string) (subject string, ok bool)
	// Audience, when set, is an "aud" value the issuer's JWTs may carry
	// besides this server's issuer identifier and token endpoint URL,
	// which are always accepted (RFC 7523 §3): for a platform whose tokens
	// name an audience of its own choosing.
	Audience string
}

// ErrKeysUnavailable is wrapped by a TrustedIssuer's key source when the
// issuer's keys cannot be obtained at the moment.
var ErrKeysUnavailable = errors.New("endpoint: a trusted issuer's keys cannot be obtained")

// WithTrustedIssuers sets the issuers whose JWTs the JWT bearer grant and
// token exchange accept. Each needs an Issuer, unique among them, and
// Keys; Algorithms must be asymmetric JWS algorithms.
func WithTrustedIssuers(list ...*TrustedIssuer) Option {
	return optionFunc(func(s *Server) error {
		m := make(map[string]*TrustedIssuer, len(list))
		for i, ti := range list {
			switch {
			case ti == nil || ti.Issuer == "":
				return fmt.Errorf("endpoint: trusted issuer %d has no issuer", i)
			case ti.Keys == nil:
				return fmt.Errorf("endpoint: trusted issuer %q has no keys", ti.Issuer)
			case m[ti.Issuer] != nil:
				return fmt.Errorf("endpoint: trusted issuer %q listed twice", ti.Issuer)
			}
			for _, a := range ti.Algorithms {
				if !slices.Contains(jws.AsymmetricAlgorithms, a) {
					return fmt.Errorf("endpoint: trusted issuer %q: algorithm %q is not an asymmetric JWS algorithm", ti.Issuer, a)
				}
			}
			m[ti.Issuer] = ti
		}
		s.trustedIssuers = m
		return nil
	})
}

// MaxBearerAssertionLifetime is how far ahead a JWT bearer assertion's "exp" may
// be (RFC 7523 §3 lets a server refuse assertions of unreasonable
// lifetime): one hour, so that the store remembers a used "jti" for at most
// that long.
const MaxBearerAssertionLifetime = time.Hour

// trustedJWT is a verified JWT of a trusted issuer.
type trustedJWT struct {
	issuer *TrustedIssuer
	claims *jws.Claims
	// subject is "sub" as the issuer's Subject mapped it.
	subject string
}

// verifyTrustedJWT verifies raw as a JWT of a trusted issuer: the issuer
// named by its (unverified) "iss" must be configured, its signature must
// verify with that issuer's keys and algorithms, and its claims must hold
// (RFC 7519 §7.2, RFC 7523 §3): "iss" the issuer, "sub" present and
// accepted by the issuer's Subject, "aud" this server's issuer identifier,
// its token endpoint URL or the issuer's Audience, "exp" present and not
// past, "nbf" and "iat" not in the future, all with the server's leeway.
// An assertion also needs a "jti" and an "exp" at most
// MaxBearerAssertionLifetime ahead. Every failure is code, with a description
// that names the rule and never quotes the token.
func (s *Server) verifyTrustedJWT(ctx context.Context, raw string, code ErrorCode, what string, assertion bool) (*trustedJWT, *Error) {
	fail := func(desc string, cause error) *Error {
		return NewError(code, what+" "+desc).withCause(cause)
	}
	_, payload, err := jws.ParseUnverified(raw)
	if err != nil {
		return nil, fail("is not a signed JWT (RFC 7515)", err)
	}
	unverified, err := jws.ParseClaims(payload)
	if err != nil {
		return nil, fail("has malformed claims (RFC 7519)", err)
	}
	ti := s.trustedIssuers[unverified.Issuer]
	if ti == nil {
		return nil, fail("is not from a trusted issuer", fmt.Errorf("endpoint: untrusted issuer %q", safeName(unverified.Issuer)))
	}
	algs := ti.Algorithms
	if algs == nil {
		algs = jws.AsymmetricAlgorithms
	}
	keys := ti.Keys(ctx)
	if keys == nil {
		return nil, AsError(fmt.Errorf("endpoint: trusted issuer %q has no key source", ti.Issuer))
	}
	tok, err := jws.Verify(raw, algs, keys)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, AsError(ctx.Err())
	case errors.Is(err, ErrKeysUnavailable):
		e := NewError(TemporarilyUnavailable, "the keys of the JWT's issuer cannot be obtained at the moment; retry later").withCause(err)
		e.RetryAfter = time.Second
		return nil, e
	default:
		return nil, fail("does not verify with its issuer's keys", err)
	}
	c, err := jws.ParseClaims(tok.Payload)
	if err != nil {
		return nil, fail("has malformed claims (RFC 7519)", err)
	}
	aud := []string{s.issuer, strings.TrimSuffix(s.issuer, "/") + s.paths.Token}
	if ti.Audience != "" {
		aud = append(aud, ti.Audience)
	}
	exp := jws.Expected{Issuer: ti.Issuer, AnyAudience: aud, Leeway: s.leeway, Time: s.now}
	if assertion {
		exp.RequireID, exp.MaxLifetime = true, MaxBearerAssertionLifetime
	}
	if err := c.Validate(exp); err != nil {
		return nil, fail(claimProblem(err), err)
	}
	if c.Subject == "" {
		return nil, fail(`has no "sub" (RFC 7523 §3)`, errors.New("endpoint: no sub"))
	}
	sub := c.Subject
	if ti.Subject != nil {
		var ok bool
		if sub, ok = ti.Subject(c.Subject); !ok || sub == "" {
			return nil, fail(`names a subject this server does not accept`, fmt.Errorf("endpoint: subject %q refused", safeName(c.Subject)))
		}
	}
	return &trustedJWT{issuer: ti, claims: c, subject: sub}, nil
}

// claimProblem describes a jws claims error for an error_description.
func claimProblem(err error) string {
	switch {
	case errors.Is(err, jws.ErrExpired):
		return "has expired"
	case errors.Is(err, jws.ErrLifetime):
		return `has an "exp" too far ahead (RFC 7523 §3: at most one hour)`
	case errors.Is(err, jws.ErrAudience):
		return `is not addressed to this server ("aud", RFC 7523 §3)`
	case errors.Is(err, jws.ErrIssuer):
		return `has the wrong "iss"`
	case errors.Is(err, jws.ErrNotYetValid), errors.Is(err, jws.ErrIssuedInFuture):
		return "is not valid yet"
	case errors.Is(err, jws.ErrMissingClaim):
		return `lacks a required claim ("exp", "jti")`
	}
	return "has invalid claims (RFC 7519 §7.2)"
}
