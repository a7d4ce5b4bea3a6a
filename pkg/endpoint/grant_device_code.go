package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store"
)

// Error codes of the device authorization grant (RFC 8628 §3.5), answered
// by the token endpoint to a device that polls.
const (
	// AuthorizationPending: the user has not decided yet; poll again.
	AuthorizationPending ErrorCode = "authorization_pending"
	// SlowDown: the device polled sooner than its interval; the interval
	// is now SlowDownStep longer, for this and every later poll.
	SlowDown ErrorCode = "slow_down"
	// ExpiredToken: the device code expired; start again.
	ExpiredToken ErrorCode = "expired_token"
)

// Store namespaces of the device grant. The device code itself is sealed
// (typ device-code+jwt) and never stored; the store holds what must be
// shared between replicas: the user code's reservation and record, the
// user's decision, the device's polling interval and last poll, and the
// single issuance.
const (
	nsUserCodeTaken = "device-uc"    // UseOnce: a user code in use
	nsUserCode      = "device-user"  // record: user code -> deviceRecord
	nsDeviceGrant   = "device-grant" // record: device code jti -> deviceDecision
	nsDevicePoll    = "device-poll"  // UseOnce: the device's last poll
	nsDeviceRate    = "device-rate"  // record: the device's interval
	nsDeviceIssued  = "device-used"  // UseOnce: tokens issued
)

// ErrUserCode is returned by LookupUserCode and DecideDevice for a user
// code that is malformed, unknown, expired, or already decided.
var ErrUserCode = errors.New("endpoint: unknown, expired or already used user code")

// DeviceAuthorization handles a request to the device authorization
// endpoint (RFC 8628 §3.1, §3.2) and returns the response to send.
//
// The client authenticates as at the token endpoint (a public client, the
// usual device, sends its client_id) and must have the device_code grant;
// scope and resource are checked as for client_credentials (RFC 6749 §3.3,
// RFC 8707). The answer is 200 with
//
//   - device_code: sealed with the internal ring (typ device-code+jwt),
//     naming the client, scope, audience and expiry; nothing of it is
//     stored;
//   - user_code: 8 letters of UserCodeAlphabet shown XXXX-XXXX, reserved in
//     the store until the device code expires and mapped there to the
//     device code;
//   - verification_uri (Paths.DeviceVerification under the issuer URL) and
//     verification_uri_complete (the same with ?user_code=);
//   - expires_in (WithDeviceCodeLifetime) and interval (5 seconds).
//
// The user code's record is a store entry, so each request counts against
// the client's quota of store writes (WithClientQuota; for a public client,
// per client address).
func (s *Server) DeviceAuthorization(ctx context.Context, r *Request) (*Response, Result) {
	res := Result{GrantType: GrantDeviceCode}
	resp, e := s.deviceAuthorization(ctx, withHeader(r), &res)
	if e != nil {
		res.Err = e
		return errorResponse(e), res
	}
	return resp, res
}

// deviceRecord is what the store keeps under a user code: enough for the
// verification page to show the request and for the decision to find the
// device code.
type deviceRecord struct {
	JTI      string `json:"j"`
	Client   string `json:"c"`
	Scope    string `json:"s,omitempty"`
	Audience string `json:"a"`
	Expiry   int64  `json:"e"` // Unix seconds
}

// deviceDecision is what the store keeps under a device code once the user
// has decided.
type deviceDecision struct {
	Denied   bool   `json:"d,omitempty"`
	Subject  string `json:"u,omitempty"`
	Scope    string `json:"s,omitempty"`
	AuthTime int64  `json:"t,omitempty"` // Unix seconds, 0 for none
}

func (s *Server) deviceAuthorization(ctx context.Context, r *Request, res *Result) (*Response, *Error) {
	p, e := s.formRequest(r, "device authorization", "RFC 8628 §3.1")
	if e != nil {
		return nil, e
	}
	now := s.now()
	acct, _, e := s.authenticateClient(ctx, r, &p, now, false)
	if e != nil {
		res.PresentedClientID = presentedClientID(r, &p)
		return nil, e
	}
	c := acct.client
	res.ClientID = c.ID
	if !c.AllowsGrant(GrantDeviceCode) {
		return nil, NewError(UnauthorizedClient, "the client may not use the device authorization grant (RFC 8628 §3.1)")
	}
	scopes, e := grantScope(c, p.Get("scope"), nil)
	if e != nil {
		return nil, e
	}
	aud, e := s.chooseAudience(c, p.Get("resource"), "")
	if e != nil {
		return nil, e
	}
	res.Audience = aud
	jti, err := crypttoken.NewID()
	if err != nil {
		return nil, AsError(err)
	}
	exp := now.Add(s.deviceTTL)
	dc := crypttoken.Claims{
		Issuer: s.issuer, Audience: s.issuerAud, Expiry: exp, IssuedAt: now, ID: jti,
		ClientID: c.ID, Scope: strings.Join(scopes, " "), Resource: aud,
	}
	deviceCode, err := s.internal.Seal(crypttoken.TypeDeviceCode, &dc)
	if err != nil {
		return nil, AsError(err)
	}
	rec, err := json.Marshal(deviceRecord{JTI: jti, Client: c.ID, Scope: dc.Scope, Audience: aud, Expiry: exp.Unix()})
	if err != nil {
		return nil, AsError(err)
	}
	var userCode string
	if e := s.spendWrites(ctx, writeKey(&acct, "device", s.ClientAddr(r)), now, func(ctx context.Context) error {
		var err error
		userCode, err = s.reserveUserCode(ctx, rec, exp)
		return err
	}); e != nil {
		return nil, e
	}
	res.JTI = jti
	verify := strings.TrimSuffix(s.issuer, "/") + s.paths.DeviceVerification
	display := FormatUserCode(userCode)
	b := make([]byte, 0, len(deviceCode)+len(verify)*2+160)
	b = append(b, `{"device_code":`...)
	b = jsonenc.AppendString(b, deviceCode)
	b = append(b, `,"user_code":`...)
	b = jsonenc.AppendString(b, display)
	b = append(b, `,"verification_uri":`...)
	b = jsonenc.AppendString(b, verify)
	b = append(b, `,"verification_uri_complete":`...)
	b = jsonenc.AppendString(b, verify+"?user_code="+display)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, int64(s.deviceTTL/time.Second), 10)
	b = append(b, `,"interval":`...)
	b = strconv.AppendInt(b, int64(s.pollInterval/time.Second), 10)
	b = append(b, '}')
	return jsonResponse(200, b), nil
}

// reserveUserCode draws a user code that no live device code uses,
// reserves it until exp (plus the leeway: a code is never reissued while
// an old page may still show it) and maps it to rec.
func (s *Server) reserveUserCode(ctx context.Context, rec []byte, exp time.Time) (string, error) {
	for range 8 {
		code, err := newUserCode()
		if err != nil {
			return "", err
		}
		switch err := s.store.UseOnce(ctx, nsUserCodeTaken, code, exp.Add(s.leeway)); {
		case errors.Is(err, store.ErrReplay):
			continue // in use: draw another
		case err != nil:
			return "", err
		}
		if err := s.store.PutRecord(ctx, nsUserCode, code, rec, exp); err != nil {
			return "", err
		}
		return code, nil
	}
	return "", errors.New("endpoint: no free user code after 8 draws")
}

// DeviceRequest is a pending device authorization (RFC 8628 §3.3) as the
// verification page shows it to the user: which client asks, for which
// scope and audience, under which user code.
type DeviceRequest struct {
	// UserCode is the user code as shown, XXXX-XXXX.
	UserCode string
	// Client is the client that asked.
	Client *Client
	// Scopes is the scope asked for; Audience the resource.
	Scopes   []string
	Audience string
	// Expiry is when the device code expires.
	Expiry time.Time

	norm, jti string
}

// DeviceDecision is the user's answer to a DeviceRequest.
type DeviceDecision struct {
	// Deny refuses the request: the device is told access_denied.
	Deny bool
	// Subject is the user id, the tokens' "sub". Required unless Deny.
	Subject string
	// Scopes is the scope consented to, a subset of DeviceRequest.Scopes;
	// nil grants all of it, an empty non-nil slice denies.
	Scopes []string
	// AuthTime is when the user logged in ("auth_time"); zero omits it.
	AuthTime time.Time
}

// LookupUserCode finds the pending device authorization of a user code
// that a user typed (or followed in verification_uri_complete) on r, the
// verification page's request (RFC 8628 §3.3). The code is compared
// ignoring case, dashes and spaces (NormalizeUserCode).
//
// Guessing is throttled (RFC 8628 §5.1, WithUserCodeLimiters): every
// lookup of a well-formed code reserves an attempt for the client's
// address (ClientAddr) and globally, before the store is asked, and one
// that finds nothing counts as a failure under both. A refused lookup
// returns a *secret.ThrottledError (errors.Is secret.ErrThrottled) with
// the Retry-After; a code that is malformed, unknown or expired returns
// ErrUserCode; a store failure, its error.
func (s *Server) LookupUserCode(ctx context.Context, r *Request, code string) (*DeviceRequest, error) {
	norm, ok := NormalizeUserCode(code)
	if !ok {
		// A typo, never a guess worth counting: nothing was looked up.
		return nil, ErrUserCode
	}
	now := s.now()
	settle, retry, ok := s.userCodes.begin(s.ClientAddr(withHeader(r)), now)
	if !ok {
		return nil, &secret.ThrottledError{RetryAfter: max(retry, time.Second)}
	}
	raw, err := s.store.GetRecord(ctx, nsUserCode, norm)
	switch {
	case errors.Is(err, store.ErrNotFound):
		settle(false)
		return nil, ErrUserCode
	case err != nil:
		settle(true) // not a guess's fault
		return nil, err
	}
	settle(true)
	rec, err := decodeDeviceRecord(raw)
	if err != nil || !now.Before(time.Unix(rec.Expiry, 0)) {
		return nil, ErrUserCode
	}
	c, err := s.clients.Client(ctx, rec.Client)
	if err != nil || c == nil || !c.AllowsGrant(GrantDeviceCode) {
		// The client was removed (or lost the grant) since.
		return nil, ErrUserCode
	}
	var scopes []string
	if rec.Scope != "" {
		scopes = strings.Split(rec.Scope, " ")
	}
	return &DeviceRequest{
		UserCode: FormatUserCode(norm), Client: c, Scopes: scopes, Audience: rec.Audience,
		Expiry: time.Unix(rec.Expiry, 0), norm: norm, jti: rec.JTI,
	}, nil
}

// decodeDeviceRecord parses a user code's record.
func decodeDeviceRecord(b []byte) (deviceRecord, error) {
	var rec deviceRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, err
	}
	if rec.JTI == "" || rec.Client == "" || rec.Expiry <= 0 {
		return rec, errors.New("endpoint: incomplete device record")
	}
	return rec, nil
}

// DecideDevice records the user's decision on a device authorization
// that LookupUserCode returned (RFC 8628 §3.3): the device's next poll gets
// the tokens or access_denied. A user code is decided once: the decision
// takes its record from the store in one atomic step, so of two users (or
// two tabs) deciding the same code, the second gets ErrUserCode, as does a
// code that expired meanwhile.
func (s *Server) DecideDevice(ctx context.Context, dr *DeviceRequest, d DeviceDecision) error {
	if dr == nil || dr.norm == "" || dr.jti == "" {
		return errors.New("endpoint: DecideDevice needs a DeviceRequest from LookupUserCode")
	}
	dec := deviceDecision{Denied: d.Deny}
	if !d.Deny {
		if d.Subject == "" {
			return errors.New("endpoint: DeviceDecision has no Subject")
		}
		scopes, e := consentedScopes(dr.Scopes, d.Scopes)
		switch {
		case e != nil && e.Code == AccessDenied:
			dec.Denied = true
		case e != nil:
			return e
		default:
			dec.Subject, dec.Scope = d.Subject, strings.Join(scopes, " ")
			if !d.AuthTime.IsZero() {
				dec.AuthTime = d.AuthTime.Unix()
			}
		}
	}
	if dec.Denied {
		dec = deviceDecision{Denied: true}
	}
	val, err := json.Marshal(dec)
	if err != nil {
		return err
	}
	raw, err := s.store.TakeRecord(ctx, nsUserCode, dr.norm)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrUserCode
	case err != nil:
		return err
	}
	rec, err := decodeDeviceRecord(raw)
	now := s.now()
	if err != nil || rec.JTI != dr.jti || !now.Before(time.Unix(rec.Expiry, 0)) {
		return ErrUserCode
	}
	exp := time.Unix(rec.Expiry, 0).Add(s.leeway)
	if err := s.store.PutRecord(ctx, nsDeviceGrant, rec.JTI, val, exp); err != nil {
		// Give the code back, so that the user can try again.
		_ = s.store.PutRecord(context.WithoutCancel(ctx), nsUserCode, dr.norm, raw, time.Unix(rec.Expiry, 0))
		return err
	}
	return nil
}

// deviceCode validates a device access token request (RFC 8628 §3.4,
// §3.5): the device polls with its device code until the user decides.
//
// In order: the device code must open (typ device-code+jwt, the internal
// ring) and be the client's, else invalid_grant; past its expiry it is
// expired_token. A poll sooner than the device's interval (less a second
// of grace for network jitter) since its last accepted poll is slow_down,
// and the interval grows by SlowDownStep for good: both live in the store,
// so every replica applies them. Then the user's decision: none yet is
// authorization_pending, a denial access_denied, an approval the tokens —
// once: the issuance is recorded single-use after the tokens are sealed,
// so a poll after success is invalid_grant. A refresh token is issued when
// the client has the refresh_token grant.
func (s *Server) deviceCode(ctx context.Context, tr *TokenRequest) *Error {
	if e := requireGrant(tr); e != nil {
		return e
	}
	p := &tr.Params
	raw := p.Get("device_code")
	if raw == "" {
		return NewError(InvalidRequest, "missing device_code (RFC 8628 §3.4)")
	}
	dc, err := s.deviceCodes.Open(raw)
	switch {
	case errors.Is(err, crypttoken.ErrExpired):
		return NewError(ExpiredToken, "the device code has expired; start again (RFC 8628 §3.5)").withCause(err)
	case err != nil:
		return NewError(InvalidGrant, "the device code is invalid").withCause(err)
	case dc.ClientID != tr.Client.ID:
		return NewError(InvalidGrant, "the device code was issued to another client")
	case dc.ID == "":
		return NewError(InvalidGrant, "the device code is invalid")
	case !tr.now.Before(dc.Expiry):
		return NewError(ExpiredToken, "the device code has expired; start again (RFC 8628 §3.5)")
	}
	if e := s.pollRate(ctx, dc, tr.now); e != nil {
		return e
	}
	val, err := s.store.GetRecord(ctx, nsDeviceGrant, dc.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return NewError(AuthorizationPending, "the user has not yet decided (RFC 8628 §3.5)")
	case err != nil:
		return AsError(err)
	}
	var dec deviceDecision
	if err := json.Unmarshal(val, &dec); err != nil {
		return AsError(err)
	}
	if dec.Denied || dec.Subject == "" {
		return NewError(AccessDenied, "the user denied the request (RFC 8628 §3.5)")
	}
	if resource := p.Get("resource"); resource != "" && resource != dc.Resource {
		return Errorf(InvalidTarget, "resource %q differs from the one authorized (RFC 8707 §2.2)", safeName(resource))
	}
	aud, e := s.chooseAudience(tr.Client, "", dc.Resource)
	if e != nil {
		return e
	}
	granted := (&crypttoken.Claims{Scope: dec.Scope}).Scopes()
	for _, sc := range granted {
		if !slices.Contains(tr.Client.Scopes, sc) {
			return Errorf(InvalidScope, "scope %q is no longer allowed for this client", sc)
		}
	}
	jti, until := dc.ID, dc.Expiry.Add(s.leeway)
	tr.commit = func(ctx context.Context) *Error {
		err := s.store.UseOnce(ctx, nsDeviceIssued, jti, until)
		if errors.Is(err, store.ErrReplay) {
			return NewError(InvalidGrant, "the device code was already used").withCause(err)
		}
		return AsError(err)
	}
	tr.Scopes, tr.Audience, tr.Subject = granted, aud, dec.Subject
	if dec.AuthTime > 0 {
		tr.AuthTime = time.Unix(dec.AuthTime, 0)
	}
	if tr.Client.AllowsGrant(GrantRefreshToken) {
		fid, err := codeFamily()
		if err != nil {
			return AsError(err)
		}
		tr.familyID, tr.refresh = fid, true
	}
	return nil
}

// pollRate applies the device's polling interval (RFC 8628 §3.5): the
// first poll is free; each later one must come at least the interval
// (less the grace) after the last accepted poll, or it is slow_down and
// the interval grows by SlowDownStep. The last poll is a single-use entry
// that expires when the next poll is due, so that every replica agrees.
func (s *Server) pollRate(ctx context.Context, dc *crypttoken.Claims, now time.Time) *Error {
	interval := s.pollInterval
	raw, err := s.store.GetRecord(ctx, nsDeviceRate, dc.ID)
	switch {
	case err == nil:
		if n, perr := strconv.ParseInt(string(raw), 10, 64); perr == nil && n > 0 && n < 3600 {
			interval = time.Duration(n) * time.Second
		}
	case !errors.Is(err, store.ErrNotFound):
		return AsError(err)
	}
	keep := dc.Expiry.Add(s.leeway)
	err = s.store.UseOnce(ctx, nsDevicePoll, dc.ID, now.Add(interval-s.pollGrace))
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, store.ErrReplay):
		return AsError(err)
	}
	interval += SlowDownStep
	if err := s.store.PutRecord(ctx, nsDeviceRate, dc.ID, strconv.AppendInt(nil, int64(interval/time.Second), 10), keep); err != nil {
		return AsError(err)
	}
	e := Errorf(SlowDown, "polling too fast: wait at least %d seconds between polls (RFC 8628 §3.5)", int64(interval/time.Second))
	return e
}
