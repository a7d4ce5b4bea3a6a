package endpoint

import (
	"context"
	"errors"
	"time"
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
	userKey, addrKey := "user:"+username, ""
	if r.RemoteAddr.IsValid() {
		addrKey = "login:" + r.RemoteAddr.String()
	}
	if e := s.checkLimits(now, userKey, addrKey); e != nil {
		e.Code = InvalidGrant
		return e
	}
	userID, err := s.users.AuthenticateUser(ctx, username, pw)
	if err != nil {
		if errors.Is(err, ErrBadCredentials) {
			s.fail(now, userKey, addrKey)
			return NewError(InvalidGrant, "bad username or password")
		}
		return AsError(err)
	}
	s.limiter.Succeed(userKey, now)
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
