package endpoint

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/sealedtoken/issuer/pkg/secret"
)

// password validates a resource owner password credentials grant
// (RFC 6749 §4.3). It needs WithUsers and a client allowed the grant.
// Failed logins count against the username and the address, like failed
// client authentications.
func (s *Server) password(ctx context.Context, r *Request, tr *TokenRequest) *Error {
	if s.users == nil {
		return NewError(UnsupportedGrantType, "the password grant is not enabled on this server")
	}
	if e := requireGrant(tr); e != nil {
		return e
	}
	p := &tr.Params
	username, pw := p.Get("username"), p.Get("password")
	if username == "" || pw == "" {
		return NewError(InvalidRequest, "missing username or password (RFC 6749 §4.3.2)")
	}
	scopes, e := grantScope(tr.Client, tr.requestedScope, nil)
	if e != nil {
		return e
	}
	aud, e := s.chooseAudience(tr.Client, p.Get("resource"), "")
	if e != nil {
		return e
	}
	now := tr.now
	userID, err := AuthenticateUser(ctx, s.limiter, s.users, UserLogin{Username: username, Password: pw, Addr: s.ClientAddr(r)}, now)
	var th *secret.ThrottledError
	switch {
	case errors.As(err, &th):
		return throttled(InvalidGrant, th.RetryAfter)
	case errors.Is(err, ErrBadCredentials):
		return NewError(InvalidGrant, "bad username or password")
	case errors.Is(err, secret.ErrBusy):
		e := NewError(TemporarilyUnavailable, "too many sign-ins in progress; retry later").withCause(err)
		e.Status, e.RetryAfter = 503, time.Second
		return e
	case err != nil:
		return AsError(err)
	}
	tr.Scopes, tr.Audience, tr.Subject, tr.AuthTime = scopes, aud, userID, now.Truncate(time.Second)
	if tr.Client.AllowsGrant(GrantRefreshToken) {
		fid, err := codeFamily()
		if err != nil {
			return AsError(err)
		}
		tr.familyID, tr.refresh = fid, true
	}
	return nil
}

// UserLogin is one attempt to authenticate a resource owner with a
// password, for AuthenticateUser.
type UserLogin struct {
	Username, Password string
	// Addr is the client's address (Server.ClientAddr).
	Addr netip.Addr
	// Device is a value the caller has verified to identify a browser
	// that signed in as Username before (a signed device cookie), or "";
	// see secret.Limiter.Begin.
	Device string
}

// maxUserKey bounds the user name in a Limiter key: a longer one never
// matches a configured user anyway.
const maxUserKey = 256

// AuthenticateUser checks a resource owner's password with users under the
// brute-force policy of l (secret.Limiter.Begin, account "user:<name>"):
// refused before any hash when the user name or the address is blocked,
// except from an address the user signed in from before or a device the
// caller vouches for; the slow hash itself reserves the attempt, through
// the Gate that secret.WithGate puts in the context users' Verifier sees.
// The password grant and the login page (internal/login) both use it.
//
// It returns the user id, or an error: a *secret.ThrottledError (errors.Is
// secret.ErrThrottled) with the Retry-After of a 429; ErrBadCredentials; an
// error wrapping secret.ErrBusy when the password could not be checked
// (answer 503); or the authenticator's own error.
func AuthenticateUser(ctx context.Context, l *secret.Limiter, users UserAuthenticator, in UserLogin, now time.Time) (string, error) {
	name := in.Username
	if len(name) > maxUserKey {
		name = name[:maxUserKey]
	}
	a, retry, ok := l.Begin("user:"+name, in.Addr, in.Device, true, now)
	if !ok {
		return "", &secret.ThrottledError{RetryAfter: retry}
	}
	id, err := users.AuthenticateUser(secret.WithGate(ctx, &a), in.Username, in.Password)
	switch {
	case err == nil && id != "":
		a.Succeed()
		return id, nil
	case errors.Is(err, secret.ErrThrottled):
		return "", &secret.ThrottledError{RetryAfter: max(a.Fail(), time.Second)}
	case err == nil || errors.Is(err, ErrBadCredentials):
		a.Fail()
		return "", ErrBadCredentials
	}
	a.Abandon()
	return "", err
}
