package endpoint

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// Grant types of SPEC §12, by their registered URNs.
const (
	// GrantDeviceCode is the device authorization grant (RFC 8628 §3.4).
	GrantDeviceCode GrantType = "urn:ietf:params:oauth:grant-type:device_code"
	// GrantTokenExchange is token exchange (RFC 8693 §2.1).
	GrantTokenExchange GrantType = "urn:ietf:params:oauth:grant-type:token-exchange"
	// GrantJWTBearer is the JWT bearer authorization grant (RFC 7523 §2.1).
	GrantJWTBearer GrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// grants12 is the Server state of the SPEC §12 grants and of pushed
// authorization requests. Like the rest of a Server it is immutable after
// New.
type grants12 struct {
	// deviceTTL is the lifetime of device codes (WithDeviceCodeLifetime).
	deviceTTL time.Duration
	// pollInterval is the interval a device is first told to poll at.
	pollInterval time.Duration
	// deviceCodes opens device codes (typ device-code+jwt) and
	// pushedRequests the pushed requests carried through the login page
	// (typ par+jwt), both sealed with the internal ring.
	deviceCodes, pushedRequests *crypttoken.Opener
	// userCodes throttles guesses of user codes (WithUserCodeLimiters).
	userCodes userCodeLimits
	// trustedIssuers are the issuers whose JWTs the JWT bearer grant and
	// token exchange accept, by "iss" (WithTrustedIssuers).
	trustedIssuers map[string]*TrustedIssuer
	// requirePAR makes every client push its authorization requests
	// (WithPushedRequestsRequired).
	requirePAR bool
	// pollGrace is how much sooner than the interval a device's poll may
	// come without being told to slow down (network jitter).
	pollGrace time.Duration
}

// Bounds and defaults of the device authorization grant (RFC 8628).
const (
	// DefaultDeviceCodeLifetime is how long a device code and its user
	// code stay valid (tokens.device_code_ttl).
	DefaultDeviceCodeLifetime = 10 * time.Minute
	// MinDeviceCodeLifetime and MaxDeviceCodeLifetime bound
	// WithDeviceCodeLifetime: a user needs some seconds to type a code,
	// and a code valid for hours is a code that waits to be phished.
	MinDeviceCodeLifetime = 10 * time.Second
	MaxDeviceCodeLifetime = time.Hour
	// DefaultPollInterval is the interval a device is told to poll at
	// (RFC 8628 §3.2: 5 seconds when the server says nothing).
	DefaultPollInterval = 5 * time.Second
	// SlowDownStep is what slow_down adds to a device's interval, for
	// that and every later poll (RFC 8628 §3.5).
	SlowDownStep = 5 * time.Second
)

// WithDeviceCodeLifetime sets how long device codes and their user codes
// stay valid (RFC 8628 §3.2 expires_in; default 10 minutes), between
// MinDeviceCodeLifetime and MaxDeviceCodeLifetime.
func WithDeviceCodeLifetime(d time.Duration) Option {
	return optionFunc(func(s *Server) error {
		if d < MinDeviceCodeLifetime || d > MaxDeviceCodeLifetime {
			return fmt.Errorf("endpoint: device code lifetime %s out of range [%s, %s]", d, MinDeviceCodeLifetime, MaxDeviceCodeLifetime)
		}
		s.deviceTTL = d
		return nil
	})
}

// WithUserCodeLimiters sets the limiters of user-code guesses at the
// verification page (RFC 8628 §5.1): perAddress counts the failed guesses
// of each client address (IPv6 per /64), global those of every address
// that is not blocked itself. Nil keeps a default: 10 failures per 10
// minutes per address, blocked 10 minutes doubling to an hour; 300
// failures a minute in all, blocked a minute. See Server.LookupUserCode.
func WithUserCodeLimiters(perAddress, global *secret.Limiter) Option {
	return optionFunc(func(s *Server) error {
		if perAddress != nil {
			s.userCodes.perAddr = perAddress
		}
		if global != nil {
			s.userCodes.global = global
		}
		return nil
	})
}

// WithPushedRequestsRequired makes every client push its authorization
// requests (RFC 9126 §5, the require_pushed_authorization_requests
// metadata): an authorization request without a request_uri from the
// pushed authorization request endpoint is refused with invalid_request.
// Client.RequirePushedRequests does the same for one client.
func WithPushedRequestsRequired() Option {
	return optionFunc(func(s *Server) error { s.requirePAR = true; return nil })
}

// initGrants12 completes the §12 state once the options have run.
func (s *Server) initGrants12(internal *keys.Ring, exp crypttoken.Expected, clock crypttoken.Option) error {
	if s.deviceTTL == 0 {
		s.deviceTTL = DefaultDeviceCodeLifetime
	}
	s.pollInterval = DefaultPollInterval
	s.pollGrace = time.Second
	s.userCodes.init()
	var err error
	exp.Type = crypttoken.TypeDeviceCode
	if s.deviceCodes, err = crypttoken.NewOpener(internal, exp, clock); err != nil {
		return fmt.Errorf("endpoint: internal ring: %w", err)
	}
	exp.Type = crypttoken.TypePushedRequest
	if s.pushedRequests, err = crypttoken.NewOpener(internal, exp, clock); err != nil {
		return fmt.Errorf("endpoint: internal ring: %w", err)
	}
	return nil
}

// DeviceCodeLifetime returns the lifetime of device codes.
func (s *Server) DeviceCodeLifetime() time.Duration { return s.deviceTTL }

// metadata12 adds the RFC 8414 members of the §12 features to doc: the
// pushed authorization request endpoint and require_pushed_authorization_
// requests (RFC 9126 §5) when some client may use the code flow, and the
// device authorization endpoint (RFC 8628 §4) when some client may use
// the device grant.
func (s *Server) metadata12(doc map[string]any, base string, caps capabilities) {
	if s.paths.PushedAuthorization != "" && caps.code {
		doc["pushed_authorization_request_endpoint"] = base + s.paths.PushedAuthorization
		doc["require_pushed_authorization_requests"] = s.requirePAR
	}
	if s.paths.DeviceAuthorization != "" && slices.Contains(caps.grantTypes, string(GrantDeviceCode)) {
		doc["device_authorization_endpoint"] = base + s.paths.DeviceAuthorization
	}
}

// writeKey is the quota key (WithClientQuota) of the store writes that
// account a causes for feature (a pushed request, a device code): the
// client's own, or, for a public client, which anyone can drive, the
// client's at one client address (IPv6 per /64), so that nobody can use up
// a public client's quota for its other users. The \x01 keeps these keys
// apart from quotaKey's.
func writeKey(a *account, feature string, addr netip.Addr) string {
	k := a.id + "\x01" + feature
	if a.public {
		k += "\x00" + addrKey(addr)
	}
	return k
}

// addrKey names a client address for a limiter: the address, or its /64
// for IPv6, where one host commonly holds a whole /64.
func addrKey(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is6():
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// spendWrites runs write, a store write a client caused, under the
// client's quota of store writes: refused with 429 before it is attempted
// when the quota is used up, counted when it succeeds.
func (s *Server) spendWrites(ctx context.Context, key string, now time.Time, write func(context.Context) error) *Error {
	if ok, retry := s.quota.l.Reserve(key, now); !ok {
		e := NewError(TemporarilyUnavailable, "this client has made too many requests; retry later")
		e.Status, e.RetryAfter = 429, max(retry, time.Second)
		return e
	}
	err := write(ctx)
	s.quota.l.Settle(key, now, err == nil)
	return AsError(err)
}
