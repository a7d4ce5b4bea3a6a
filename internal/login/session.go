package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/store"
)

// SessionCookieName is the name of the single sign-on cookie (SPEC §11):
// the sealed login session of the browser. The __Host- prefix keeps
// sibling subdomains and plain-HTTP pages from planting or overwriting it
// (RFC 6265bis §4.1.3.2).
const SessionCookieName = "__Host-login-session"

// Defaults of the session and consent lifetimes (Config.SessionTTL,
// Config.ConsentTTL).
const (
	// DefaultSessionTTL is how long a login lets the browser sign in to
	// further clients without the password: a working day.
	DefaultSessionTTL = 8 * time.Hour
	// MaxSessionTTL bounds Config.SessionTTL.
	MaxSessionTTL = 30 * 24 * time.Hour
	// DefaultConsentTTL is how long a user's consent to a client is
	// remembered: 90 days.
	DefaultConsentTTL = 90 * 24 * time.Hour
)

// AMRPassword is the authentication method of a login with the password
// form ("pwd", RFC 8176 §2).
const AMRPassword = "pwd"

// Store namespaces of the login page (package store, PutRecord).
const (
	// nsEndedSessions records the ids of sessions ended by a logout,
	// until the session would have expired anyway, so that a copy of the
	// cookie kept by the browser or an attacker signs in no more.
	nsEndedSessions = "login_session_ended"
	// nsConsent holds remembered consent, per user and client.
	nsConsent = "login_consent"
)

// session is the login session that the session cookie carries, sealed
// with AES-256-GCM under a key derived from Config.Key, so that every
// replica given the same key reads it and nobody can forge or read it.
type session struct {
	ID       [16]byte // random; a logout records it as ended
	Subject  string   // the user id ("sub")
	Username string   // the name shown on pages
	AuthTime time.Time
	AMR      []string
	Expiry   time.Time // AuthTime + SessionTTL: a session is never extended
}

// SID returns the session id as it goes into ID tokens ("sid") and the
// store: unpadded base64url.
func (s *session) SID() string { return base64.RawURLEncoding.EncodeToString(s.ID[:]) }

const (
	sessionVersion = 1
	// sessionAAD separates session cookies from every other message sealed
	// under a key derived from the login key.
	sessionAAD = "sealedtoken login session v1"
	// maxSessionCookie bounds a session cookie value, checked before
	// decoding.
	maxSessionCookie = 4096
	// maxAMR bounds the number of amr values in a session.
	maxAMR = 8
)

// sessions seals and opens session cookies.
type sessions struct {
	box box
	ttl time.Duration // <= 0: no sessions
}

func newSessions(key [32]byte, ttl time.Duration) (*sessions, error) {
	b, err := newBox(key, "session", sessionAAD, maxSessionCookie)
	if err != nil {
		return nil, err
	}
	return &sessions{box: b, ttl: ttl}, nil
}

// newSession starts a session for a user who authenticated at now.
func (ss *sessions) newSession(subject, username string, amr []string, now time.Time) (*session, error) {
	s := &session{Subject: subject, Username: username, AuthTime: now.Truncate(time.Second), AMR: amr}
	s.Expiry = s.AuthTime.Add(ss.ttl)
	if _, err := rand.Read(s.ID[:]); err != nil {
		return nil, fmt.Errorf("login: reading random session id: %w", err)
	}
	return s, nil
}

// seal returns the cookie value of s (box.seal) with the plaintext:
// version, id, auth time and expiry (Unix seconds), then subject and
// username with a 2-byte length, then the amr values (appendAMR).
func (ss *sessions) seal(s *session) (string, error) {
	if s.Subject == "" || len(s.Subject) > maxTicketField || len(s.Username) > maxTicketField {
		return "", errors.New("login: session field out of range")
	}
	pt := make([]byte, 0, 64+len(s.Subject)+len(s.Username))
	pt = append(pt, sessionVersion)
	pt = append(pt, s.ID[:]...)
	pt = binary.BigEndian.AppendUint64(pt, unixSeconds(s.AuthTime))
	pt = binary.BigEndian.AppendUint64(pt, unixSeconds(s.Expiry))
	pt = appendField(pt, s.Subject)
	pt = appendField(pt, s.Username)
	pt, ok := appendAMR(pt, s.AMR)
	if !ok {
		return "", errors.New("login: session field out of range")
	}
	return ss.box.seal(pt)
}

// open decrypts a session cookie value and returns the session unless it
// is malformed, forged or expired at now. It does not consult the store:
// see Page.activeSession for ended sessions.
func (ss *sessions) open(v string, now time.Time) (*session, bool) {
	pt, ok := ss.box.open(v)
	if !ok {
		return nil, false
	}
	s, ok := decodeSession(pt)
	if !ok || unixSeconds(now) >= unixSeconds(s.Expiry) {
		return nil, false
	}
	return s, true
}

// decodeSession parses a session's plaintext (see seal).
func decodeSession(pt []byte) (*session, bool) {
	const fixed = 1 + 16 + 8 + 8
	if len(pt) < fixed || pt[0] != sessionVersion {
		return nil, false
	}
	s := &session{}
	copy(s.ID[:], pt[1:17])
	s.AuthTime = time.Unix(int64(binary.BigEndian.Uint64(pt[17:25])&(1<<62-1)), 0)
	s.Expiry = time.Unix(int64(binary.BigEndian.Uint64(pt[25:33])&(1<<62-1)), 0)
	f := fields(pt[fixed:])
	var ok bool
	if s.Subject, ok = f.next(maxTicketField); !ok || s.Subject == "" {
		return nil, false
	}
	if s.Username, ok = f.next(maxTicketField); !ok {
		return nil, false
	}
	if s.AMR, ok = f.amr(); !ok || len(f) != 0 {
		return nil, false
	}
	return s, true
}

// cookie returns the Set-Cookie value that stores the sealed session v:
// Secure, HttpOnly, SameSite=Lax (sent with the top-level navigations that
// bring the user from another client, not with cross-site POSTs), Path=/ as
// the __Host- prefix requires, and kept by the browser until the session
// expires.
func sessionCookie(v string, s *session, now time.Time) string {
	maxAge := max(int64(s.Expiry.Sub(now)/time.Second), 1)
	return SessionCookieName + "=" + v + "; Path=/; Max-Age=" + strconv.FormatInt(maxAge, 10) + "; Secure; HttpOnly; SameSite=Lax"
}

// clearSessionCookie is the Set-Cookie value that deletes the session
// cookie.
const clearSessionCookie = SessionCookieName + "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"

// sessionsEnabled reports whether the page keeps login sessions: it needs
// the store (to record ended sessions) and a positive TTL.
func (p *Page) sessionsEnabled() bool { return p.store != nil && p.sessions.ttl > 0 }

// activeSession returns the browser's login session: a cookie that opens,
// has not expired and was not ended by a logout (the store says). nil
// when there is none; an error when the store cannot say.
func (p *Page) activeSession(ctx context.Context, r *endpoint.Request, now time.Time) (*session, error) {
	if !p.sessionsEnabled() {
		return nil, nil
	}
	v, ok := cookieValue(header(r, "Cookie"), SessionCookieName)
	if !ok {
		return nil, nil
	}
	s, ok := p.sessions.open(v, now)
	if !ok {
		return nil, nil
	}
	switch _, err := p.store.GetRecord(ctx, nsEndedSessions, s.SID()); {
	case err == nil:
		return nil, nil // logged out
	case errors.Is(err, store.ErrNotFound):
		return s, nil
	default:
		return nil, fmt.Errorf("login: checking the login session: %w", err)
	}
}

// startSession starts a login session for a user who just authenticated
// with amr and returns it with the Set-Cookie value that stores it; nil and
// "" when sessions are disabled.
func (p *Page) startSession(subject, username string, amr []string, now time.Time) (*session, string, error) {
	if !p.sessionsEnabled() {
		return nil, "", nil
	}
	s, err := p.sessions.newSession(subject, username, amr, now)
	if err != nil {
		return nil, "", err
	}
	v, err := p.sessions.seal(s)
	if err != nil {
		return nil, "", err
	}
	return s, sessionCookie(v, s, now), nil
}

// endSession records s as ended until it would have expired (plus a
// minute for clock skew between replicas), so that the cookie, replayed,
// signs in no more. The write is security-relevant (store.Priority).
func (p *Page) endSession(ctx context.Context, s *session) error {
	if err := p.store.PutRecord(store.Priority(ctx), nsEndedSessions, s.SID(), []byte{1}, s.Expiry.Add(time.Minute)); err != nil {
		return fmt.Errorf("login: ending the login session: %w", err)
	}
	return nil
}

// usable reports whether session s may stand for a login in the
// authorization request ar (OpenID Connect Core 1.0 §3.1.2.1): not with
// prompt=login (or select_account), not when the user authenticated longer
// ago than max_age, and not for another user than id_token_hint or a claims
// request for "sub" names (the login form then lets the right user sign
// in).
func usable(s *session, ar *endpoint.AuthorizeRequest, now time.Time) bool {
	o := ar.OpenID
	if s == nil {
		return false
	}
	if o == nil {
		return true
	}
	switch {
	case o.Login:
		return false
	case o.HasMaxAge && now.Sub(s.AuthTime) > o.MaxAge:
		return false
	case o.Hint != nil && o.Hint.Subject != s.Subject:
		return false
	}
	if sub, ok := o.Claims.SubjectValue(); ok && sub != s.Subject {
		return false
	}
	return true
}

// resume handles an authorization request that carries no form: the
// browser's login session signs the user in when it may (usable), with
// consent as for a password login; otherwise, prompt=none is answered
// login_required (Core §3.1.2.6), and anything else gets the login form,
// prefilled with login_hint.
func (p *Page) resume(ctx context.Context, st *reqState) (endpoint.Decision, error) {
	now := p.now()
	s, err := p.activeSession(ctx, st.r, now)
	if err != nil {
		return endpoint.Decision{}, err
	}
	o := st.ar.OpenID
	if !usable(s, st.ar, now) {
		if o != nil && o.PromptNone {
			return endpoint.Reject(endpoint.NewError(endpoint.LoginRequired, "the user is not signed in")), nil
		}
		hint := ""
		if o != nil {
			hint = o.LoginHint
		}
		return p.loginForm(st, hint, "", "")
	}
	p.emit(ctx, Event{Kind: EventSession, ClientID: st.ar.ClientID(), Username: s.Username, Subject: s.Subject, Addr: st.addr})
	return p.signedIn(ctx, st, s.Subject, s.Username, s.AuthTime, s.AMR, s.SID())
}

// signedIn decides an authorization request for a user who is signed in,
// by password or session: approved at once when no consent is needed (a
// skip_consent client, or consent remembered for these scopes and this
// audience, unless prompt=consent), else the consent form, or
// consent_required for prompt=none.
func (p *Page) signedIn(ctx context.Context, st *reqState, subject, name string, authTime time.Time, amr []string, sid string) (endpoint.Decision, error) {
	need, err := p.needConsent(ctx, st.ar, subject)
	if err != nil {
		return endpoint.Decision{}, err
	}
	if !need {
		return endpoint.Approve(endpoint.Grant{Subject: subject, AuthTime: authTime, AMR: amr, SessionID: sid,
			Header: st.cookies()}), nil
	}
	if o := st.ar.OpenID; o != nil && o.PromptNone {
		return endpoint.Reject(endpoint.NewError(endpoint.ConsentRequired, "the user has not consented to this request")), nil
	}
	return p.consentForm(st, subject, name, authTime, amr, sid)
}

// configureSessions checks the session, consent and logout settings of cfg
// and sets up the session cookie's cipher under a key derived from key.
func (p *Page) configureSessions(cfg Config, key []byte) error {
	ttl := cfg.SessionTTL
	switch {
	case ttl == 0:
		ttl = DefaultSessionTTL
	case ttl > MaxSessionTTL:
		return fmt.Errorf("login: SessionTTL %s exceeds %s", ttl, MaxSessionTTL)
	case ttl > 0 && ttl < time.Minute:
		return errors.New("login: SessionTTL must be at least 1m (or negative to disable sessions)")
	}
	if p.consentTTL == 0 {
		p.consentTTL = DefaultConsentTTL
	}
	for _, m := range p.proxyAMR {
		if m == "" || len(m) > maxAMRValue || !validProxyUser(m) {
			return fmt.Errorf("login: ProxyAMR value %q is not a short printable string", m)
		}
	}
	if len(p.proxyAMR) > maxAMR {
		return fmt.Errorf("login: at most %d ProxyAMR values", maxAMR)
	}
	if p.endSessionPath == "" {
		p.endSessionPath = DefaultEndSessionPath
	}
	if pa := p.endSessionPath; pa[0] != '/' || len(pa) > 1 && (pa[1] == '/' || pa[1] == '\\') {
		return fmt.Errorf("login: EndSessionPath %q must be an absolute path on this origin", pa)
	}
	var err error
	p.sessions, err = newSessions(derive(key, "sealedtoken login session key v1"), ttl)
	return err
}
