package login

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// Defaults of Config.
const (
	// DefaultPath is where the forms post: cmd/issuer's authorization
	// endpoint (endpoint.DefaultPaths.Authorize).
	DefaultPath = "/authorize"
	// DefaultCSRFTTL is how long a form's CSRF token stays valid: long
	// enough for a user who leaves the login page open over lunch.
	DefaultCSRFTTL = time.Hour
	// DefaultTicketTTL is how long the consent form may take after login.
	DefaultTicketTTL = 5 * time.Minute
	// MinKeyLen is the shortest Config.Key accepted.
	MinKeyLen = 32
)

// Config configures a Page. Only one of Users and TrustedHeader is
// required; every other field has a default.
type Config struct {
	// Issuer is the name shown in the pages' titles and above their
	// headings, usually the issuer URL or the organization's name; empty
	// shows none.
	Issuer string
	// Users checks usernames and passwords typed into the login form; see
	// NewUsers for the adapter over configured users. Nil disables the
	// form: users must then come through TrustedHeader.
	Users endpoint.UserAuthenticator
	// Limiter applies the brute-force policy to sign-ins (account
	// "user:<name>", see secret.Limiter.Begin and
	// endpoint.AuthenticateUser): a blocked user name or address is
	// answered 429 with Retry-After before any password is hashed, except
	// from an address the user signed in from before or from a browser
	// holding the user's device cookie, which failures from elsewhere never
	// lock out. Nil means a secret.NewLimiter with its defaults. Passing
	// the Limiter the endpoint.Server uses for client authentication makes
	// one address's failed client secrets and failed passwords count
	// together, which is deliberate: it is one attacker.
	Limiter *secret.Limiter
	// ClientAddr returns the address of the client that sent a request:
	// failures are counted against it, and the audit events carry it.
	// cmd/issuer passes endpoint.Server.ClientAddr, which believes the
	// X-Forwarded-For of the configured trusted_proxies. Nil means the
	// peer address.
	ClientAddr func(r *endpoint.Request) netip.Addr
	// DeviceTTL is how long the device cookie set at sign-in vouches for
	// the browser (DeviceCookieName); default DefaultDeviceTTL.
	DeviceTTL time.Duration
	// TrustedHeader names a request header set by an authenticating proxy
	// (SPEC §6 login.trusted_header), such as X-Remote-User. A request from
	// one of TrustedProxies that carries it is from that user: no login
	// form. The proxy must remove the header from the requests it
	// forwards, or any user could claim any name.
	TrustedHeader string
	// TrustedProxies are the peer addresses whose TrustedHeader is
	// believed (SPEC §6 login.trusted_proxies). Their X-Forwarded-For is
	// ClientAddr's business.
	TrustedProxies []netip.Prefix
	// ProxySubject, when set, turns the user name a trusted proxy sent in
	// TrustedHeader into the subject ("sub") of the tokens, or refuses it
	// (ok false: the user sees a 403 page and Audit an EventFormRejected).
	// Nil means the name is the subject. ProxySubjects builds cmd/issuer's
	// rule. It must be safe for concurrent use.
	ProxySubject func(name string) (subject string, ok bool)
	// Key (at least MinKeyLen bytes, high entropy) keys the CSRF MACs and
	// seals the login tickets; two subkeys are derived from it with
	// HMAC-SHA256. Nil means 32 random bytes per process, which is right
	// for one replica. With several replicas behind a load balancer,
	// every replica must be given the same Key: a form rendered by one
	// replica is posted to whichever the balancer picks. Changing the key
	// invalidates the forms that are open at that moment (the users see
	// "form expired" and start again), nothing else.
	Key []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Path is the path the forms post to: the authorization endpoint's
	// path on this origin (endpoint.Server.Paths().Authorize, prefixed
	// with the issuer URL's path if it has one). Default DefaultPath. It
	// is fixed rather than taken from the request so that no request can
	// point the password form elsewhere.
	Path string
	// CSRFTTL is the lifetime of a form's CSRF token; default
	// DefaultCSRFTTL.
	CSRFTTL time.Duration
	// TicketTTL is the lifetime of the login ticket a consent form
	// carries; default DefaultTicketTTL.
	TicketTTL time.Duration
	// ScopeDescriptions optionally explain scopes on the consent page,
	// keyed by scope.
	ScopeDescriptions map[string]string
	// Audit, when set, is told of every sign-in and consent decision and
	// of every refused form, for the server's log and metrics. It is
	// called synchronously from Decide and must be safe for concurrent
	// use. Events never hold a password, token or ticket.
	Audit func(ctx context.Context, e Event)
}

// EventKind classifies an Event.
type EventKind string

// Event kinds.
const (
	// EventLogin: a user signed in with the form.
	EventLogin EventKind = "login"
	// EventLoginFailed: a wrong username or password.
	EventLoginFailed EventKind = "login_failed"
	// EventThrottled: a sign-in refused 429 by the Limiter.
	EventThrottled EventKind = "login_throttled"
	// EventProxyUser: a user identified by the trusted header.
	EventProxyUser EventKind = "proxy_user"
	// EventFormRejected: a form failed the CSRF or ticket check, or a
	// trusted proxy sent an invalid user (Err says which).
	EventFormRejected EventKind = "form_rejected"
	// EventConsent: the user allowed the request (Scopes as granted).
	EventConsent EventKind = "consent"
	// EventDenied: the user denied the request.
	EventDenied EventKind = "consent_denied"
)

// Event is one audit record. Username is set only once the user is
// authenticated (EventLogin, EventProxyUser, consent): a failed attempt's
// username is left out because users type their password into the
// username field often enough for a log of failures to collect passwords.
type Event struct {
	Kind     EventKind
	ClientID string
	Username string
	Subject  string
	Scopes   []string
	Addr     netip.Addr
	// Err is the reason of a refusal: ErrCSRF*, ErrTicket*, a
	// endpoint.ErrBadCredentials, or the Limiter's block.
	Err error
}

// ErrThrottled is the Err of an EventThrottled.
var ErrThrottled = errors.New("login: too many failed sign-ins")

// errProxyUser is the Err of a trusted header with an unusable value.
var errProxyUser = errors.New("login: trusted header holds an invalid user")

// Page is the built-in login and consent page (SPEC §5): an
// endpoint.ResourceOwner that identifies the resource owner with a
// server-rendered HTML form or a trusted proxy header, and asks for consent
// unless the client is first-party (endpoint.Client.SkipConsent).
//
// It keeps no server-side session. Every form posts the authorization
// request's parameters back to the authorization endpoint as hidden fields
// (RFC 6749 §3.1 allows POST), with a double-submit CSRF token bound to
// the browser's __Host- cookie and to those parameters; the consent form
// carries, instead of the password, a sealed login ticket that expires
// after Config.TicketTTL.
//
// A Page is immutable and safe for concurrent use.
type Page struct {
	issuer    string
	users     endpoint.UserAuthenticator
	limiter   *secret.Limiter
	addrOf    func(*endpoint.Request) netip.Addr
	devices   devices
	header    string
	proxies   []netip.Prefix
	proxySub  func(string) (string, bool)
	now       func() time.Time
	path      string
	csrfTTL   time.Duration
	ticketTTL time.Duration
	scopeDesc map[string]string
	audit     func(context.Context, Event)

	csrf    csrf
	tickets *sealer
}

var _ endpoint.ResourceOwner = (*Page)(nil)

// New validates cfg and returns the Page.
func New(cfg Config) (*Page, error) {
	p := &Page{
		issuer:    cfg.Issuer,
		users:     cfg.Users,
		limiter:   cfg.Limiter,
		addrOf:    cfg.ClientAddr,
		header:    http.CanonicalHeaderKey(cfg.TrustedHeader),
		proxies:   append([]netip.Prefix(nil), cfg.TrustedProxies...),
		proxySub:  cfg.ProxySubject,
		now:       cfg.Now,
		path:      cfg.Path,
		csrfTTL:   cfg.CSRFTTL,
		ticketTTL: cfg.TicketTTL,
		audit:     cfg.Audit,
	}
	if p.users == nil && p.header == "" {
		return nil, errors.New("login: neither Users nor TrustedHeader is set: nobody could sign in")
	}
	if p.header != "" && len(p.proxies) == 0 {
		return nil, fmt.Errorf("login: TrustedHeader %q needs TrustedProxies: the header is believed only from them", cfg.TrustedHeader)
	}
	for i, pr := range p.proxies {
		if !pr.IsValid() {
			return nil, fmt.Errorf("login: TrustedProxies[%d] is not a valid prefix", i)
		}
		p.proxies[i] = pr.Masked()
	}
	if p.limiter == nil {
		p.limiter = secret.NewLimiter(secret.LimiterConfig{})
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.path == "" {
		p.path = DefaultPath
	}
	if p.path[0] != '/' || len(p.path) > 1 && (p.path[1] == '/' || p.path[1] == '\\') {
		return nil, fmt.Errorf("login: Path %q must be an absolute path on this origin", p.path)
	}
	if p.csrfTTL == 0 {
		p.csrfTTL = DefaultCSRFTTL
	}
	if p.ticketTTL == 0 {
		p.ticketTTL = DefaultTicketTTL
	}
	if p.csrfTTL < time.Minute || p.ticketTTL < 30*time.Second || p.ticketTTL > time.Hour {
		return nil, errors.New("login: CSRFTTL must be at least 1m and TicketTTL within [30s, 1h]")
	}
	p.devices.ttl = cfg.DeviceTTL
	if p.devices.ttl == 0 {
		p.devices.ttl = DefaultDeviceTTL
	}
	if p.devices.ttl < time.Minute {
		return nil, errors.New("login: DeviceTTL must be at least 1m")
	}
	if len(cfg.ScopeDescriptions) > 0 {
		p.scopeDesc = make(map[string]string, len(cfg.ScopeDescriptions))
		for k, v := range cfg.ScopeDescriptions {
			p.scopeDesc[k] = v
		}
	}
	key := cfg.Key
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("login: reading random key: %w", err)
		}
	} else if len(key) < MinKeyLen {
		return nil, fmt.Errorf("login: Key must be at least %d bytes", MinKeyLen)
	}
	p.csrf.key = derive(key, "sealedtoken login csrf key v1")
	p.devices.key = derive(key, "sealedtoken login device key v1")
	var err error
	if p.tickets, err = newSealer(derive(key, "sealedtoken login ticket key v1")); err != nil {
		return nil, err
	}
	return p, nil
}

// derive returns HMAC-SHA256(key, label): independent subkeys from one key.
func derive(key []byte, label string) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// reqState is what Decide works out once per request.
type reqState struct {
	r          *endpoint.Request
	ar         *endpoint.AuthorizeRequest
	params     [32]byte // paramsHash(ar.Params)
	nonce      nonce
	haveNonce  bool
	newCookie  bool // nonce is fresh: send Set-Cookie
	addr       netip.Addr
	formTarget string // CSP source of the redirect URI
	// deviceCookie is the Set-Cookie value renewing the device cookie
	// after a sign-in, sent with the page or redirect that follows.
	deviceCookie string
}

// Decide implements endpoint.ResourceOwner (RFC 6749 §3.1, §4.1.1: "the
// authorization server authenticates the resource owner and obtains an
// authorization decision"). In order:
//
//  1. a POST of the consent form: CSRF and login ticket checked (403 page
//     if either fails; an expired ticket shows the login form again); Deny
//     rejects the request (access_denied redirect), Allow approves it with
//     the scopes left checked;
//  2. a request from a trusted proxy with the trusted header: that user
//     (mapped to a subject by Config.ProxySubject, or refused with a 403
//     page), approved at once for a SkipConsent client, else shown the consent
//     form (a third-party client is never granted without the user's
//     consent, whoever authenticated them);
//  3. a POST of the login form: CSRF checked (403 page), limiter checked
//     (429 page with Retry-After), password checked (the form again with
//     "wrong username or password", status 200, for a wrong one); then
//     approved for a SkipConsent client, else the consent form;
//  4. anything else: the login form.
func (p *Page) Decide(ctx context.Context, r *endpoint.Request, ar *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
	if r == nil || ar == nil || ar.Client == nil {
		return endpoint.Decision{}, errors.New("login: Decide needs a request and a validated authorization request")
	}
	st := &reqState{
		r:          r,
		ar:         ar,
		params:     paramsHash(ar.Params),
		addr:       p.clientAddr(r),
		formTarget: formActionSource(ar.RedirectURI),
	}
	st.nonce, st.haveNonce = readNonce(header(r, "Cookie"))
	post := r.Method == "POST"

	var proxy *proxyUser
	if p.header != "" && trusted(p.proxies, r.RemoteAddr) {
		if v := header(r, p.header); v != "" {
			var ok bool
			if proxy, ok = p.proxyIdentity(v); !ok {
				p.emit(ctx, Event{Kind: EventFormRejected, ClientID: ar.ClientID(), Addr: st.addr, Err: errProxyUser})
				return p.message(st, http.StatusForbidden, "Sign-in failed",
					"Your sign-in proxy sent an identity this server cannot use. Contact your administrator.")
			}
		}
	}

	if post && ar.Params.Has(fieldAction) {
		return p.consentSubmitted(ctx, st, proxy)
	}
	if proxy != nil {
		return p.proxyLogin(ctx, st, proxy)
	}
	if post && (ar.Params.Has(fieldUsername) || ar.Params.Has(fieldPassword) || ar.Params.Has(fieldCSRF)) {
		return p.loginSubmitted(ctx, st)
	}
	return p.loginForm(st, "", "", "")
}

// proxyUser is a user named by the trusted header: the name the proxy sent
// and the subject it maps to.
type proxyUser struct {
	name, subject string
}

// proxyIdentity checks the trusted header's value v and maps it to a
// subject with Config.ProxySubject.
func (p *Page) proxyIdentity(v string) (*proxyUser, bool) {
	if !validProxyUser(v) {
		return nil, false
	}
	// Copy: v may alias the request's buffers (cmd/issuer's adapter), and
	// the subject is sealed into tickets and tokens.
	u := &proxyUser{name: strings.Clone(v), subject: strings.Clone(v)}
	if p.proxySub != nil {
		sub, ok := p.proxySub(u.name)
		if !ok || !validProxyUser(sub) {
			return nil, false
		}
		u.subject = sub
	}
	return u, true
}

// consentSubmitted handles a POST of the consent form; proxy is the user
// the trusted header names, if any.
func (p *Page) consentSubmitted(ctx context.Context, st *reqState, proxy *proxyUser) (endpoint.Decision, error) {
	ar := st.ar
	now := p.now()
	if err := p.csrf.verify(ar.Params.Get(fieldCSRF), st.nonce, st.haveNonce, st.params, now); err != nil {
		return p.rejectForm(ctx, st, err)
	}
	t, err := p.tickets.open(ar.Params.Get(fieldTicket), ar.ClientID(), st.params, st.nonce, st.haveNonce, now)
	if errors.Is(err, ErrTicketExpired) {
		p.emit(ctx, Event{Kind: EventFormRejected, ClientID: ar.ClientID(), Addr: st.addr, Err: err})
		if proxy != nil {
			return p.proxyLogin(ctx, st, proxy)
		}
		return p.loginForm(st, "", "", "Your sign-in has expired. Please sign in again.")
	}
	if err == nil && proxy != nil && t.Subject != proxy.subject {
		err = fmt.Errorf("%w: the proxy now names another user", ErrTicketInvalid)
	}
	if err != nil {
		return p.rejectForm(ctx, st, err)
	}
	ev := Event{ClientID: ar.ClientID(), Subject: t.Subject, Addr: st.addr}
	switch ar.Params.Get(fieldAction) {
	case actionDeny:
		ev.Kind = EventDenied
		p.emit(ctx, ev)
		return endpoint.Reject(nil), nil
	case actionAllow:
		g := endpoint.Grant{Subject: t.Subject, AuthTime: t.AuthTime}
		if len(ar.Scopes) > 0 {
			// The user can only take scopes away: a checkbox counts when
			// it names the scope at its own index, and nothing outside
			// ar.Scopes can be added. None left checked is answered
			// access_denied by the endpoint (endpoint.Grant).
			g.Scopes = make([]string, 0, len(ar.Scopes))
			for i, sc := range ar.Scopes {
				if ar.Params.Get(fieldScope+strconv.Itoa(i)) == sc {
					g.Scopes = append(g.Scopes, sc)
				}
			}
		}
		ev.Kind, ev.Scopes = EventConsent, g.Scopes
		p.emit(ctx, ev)
		return endpoint.Approve(g), nil
	}
	return p.message(st, http.StatusBadRequest, "Invalid form",
		"The consent form was not understood. Go back to the application and start again.")
}

// proxyLogin handles a user identified by the trusted header.
func (p *Page) proxyLogin(ctx context.Context, st *reqState, u *proxyUser) (endpoint.Decision, error) {
	p.emit(ctx, Event{Kind: EventProxyUser, ClientID: st.ar.ClientID(), Username: u.name, Subject: u.subject, Addr: st.addr})
	// The proxy does not say when the user authenticated, so auth_time is
	// left out rather than guessed.
	if st.ar.Client.SkipConsent {
		return endpoint.Approve(endpoint.Grant{Subject: u.subject}), nil
	}
	return p.consentForm(st, u.subject, u.name, time.Time{})
}

// loginSubmitted handles a POST of the login form.
func (p *Page) loginSubmitted(ctx context.Context, st *reqState) (endpoint.Decision, error) {
	ar := st.ar
	now := p.now()
	if err := p.csrf.verify(ar.Params.Get(fieldCSRF), st.nonce, st.haveNonce, st.params, now); err != nil {
		return p.rejectForm(ctx, st, err)
	}
	if p.users == nil {
		return p.noForm(st)
	}
	username, password := ar.Params.Get(fieldUsername), ar.Params.Get(fieldPassword)
	if username == "" || password == "" {
		return p.loginForm(st, username, "Enter your username and password.", "")
	}
	if len(username) > MaxUsernameLen {
		username = username[:MaxUsernameLen] // a limiter key of bounded length; never matches
	}
	cookies := header(st.r, "Cookie")
	id, err := endpoint.AuthenticateUser(ctx, p.limiter, p.users, endpoint.UserLogin{
		Username: ar.Params.Get(fieldUsername), Password: password, Addr: st.addr,
		Device: p.devices.verify(cookies, username, now),
	}, now)
	var th *secret.ThrottledError
	switch {
	case err == nil:
	case errors.As(err, &th):
		p.emit(ctx, Event{Kind: EventThrottled, ClientID: ar.ClientID(), Addr: st.addr, Err: ErrThrottled})
		return p.message(st, http.StatusTooManyRequests, "Too many attempts",
			"Too many failed sign-in attempts. Try again in "+seconds(th.RetryAfter)+".", retryAfter(th.RetryAfter))
	case isBusy(err):
		return p.message(st, http.StatusServiceUnavailable, "Try again",
			"The server is busy. Please try again in a moment.", retryAfter(time.Second))
	case errors.Is(err, endpoint.ErrBadCredentials):
		p.emit(ctx, Event{Kind: EventLoginFailed, ClientID: ar.ClientID(), Addr: st.addr, Err: endpoint.ErrBadCredentials})
		return p.loginForm(st, username, "Wrong username or password.", "")
	default:
		return endpoint.Decision{}, fmt.Errorf("login: authenticating the user: %w", err)
	}
	// A success resets no count (an attacker's failures expire on their
	// own); it renews this browser's device cookie, so that failures from
	// elsewhere never lock the user out of it.
	st.deviceCookie = p.devices.cookie(username, now)
	p.emit(ctx, Event{Kind: EventLogin, ClientID: ar.ClientID(), Username: username, Subject: id, Addr: st.addr})
	if ar.Client.SkipConsent {
		return endpoint.Approve(endpoint.Grant{Subject: id, AuthTime: now,
			Header: endpoint.Headers{{Name: "Set-Cookie", Value: st.deviceCookie}}}), nil
	}
	return p.consentForm(st, id, username, now)
}

// rejectForm answers a form that failed its CSRF or ticket check: 403, no
// redirect (the request may not come from the user at all).
func (p *Page) rejectForm(ctx context.Context, st *reqState, err error) (endpoint.Decision, error) {
	p.emit(ctx, Event{Kind: EventFormRejected, ClientID: st.ar.ClientID(), Addr: st.addr, Err: err})
	msg := "This form has expired or was not sent from this site. Go back to the application and start again."
	if errors.Is(err, ErrCSRFMissing) {
		msg = "This form was sent without its security cookie. Make sure cookies are enabled, then go back to the application and start again."
	}
	return p.message(st, http.StatusForbidden, "Form expired", msg)
}

// browser returns the nonce for the page's forms: the browser's own, or a
// fresh one with its Set-Cookie header.
func (p *Page) browser(st *reqState) ([]endpoint.HeaderField, error) {
	if st.haveNonce {
		return nil, nil
	}
	n, err := newNonce()
	if err != nil {
		return nil, err
	}
	st.nonce, st.haveNonce, st.newCookie = n, true, true
	return []endpoint.HeaderField{{Name: "Set-Cookie", Value: n.cookie()}}, nil
}

// loginForm renders the login form (200) with an optional error or notice.
func (p *Page) loginForm(st *reqState, username, errMsg, notice string) (endpoint.Decision, error) {
	if p.users == nil {
		return p.noForm(st)
	}
	extra, err := p.browser(st)
	if err != nil {
		return endpoint.Decision{}, err
	}
	d := &pageData{
		Title:    "Sign in",
		Issuer:   p.issuer,
		ClientID: st.ar.ClientID(),
		Action:   p.path,
		Hidden:   hiddenFields(st.ar.Params),
		CSRF:     p.csrf.mint(st.nonce, st.params, p.now().Add(p.csrfTTL)),
		Username: username,
		Error:    errMsg,
		Notice:   notice,
	}
	return p.page(loginTmpl, http.StatusOK, d, st.formTarget, extra...)
}

// consentForm renders the consent form for user subject (display name
// name) who authenticated at authTime.
func (p *Page) consentForm(st *reqState, subject, name string, authTime time.Time) (endpoint.Decision, error) {
	extra, err := p.browser(st)
	if err != nil {
		return endpoint.Decision{}, err
	}
	if st.deviceCookie != "" {
		extra = append(extra, endpoint.HeaderField{Name: "Set-Cookie", Value: st.deviceCookie})
	}
	now := p.now()
	tk, err := p.tickets.seal(&ticket{
		Subject:  subject,
		AuthTime: authTime,
		ClientID: st.ar.ClientID(),
		Params:   st.params,
		Browser:  browserBinding(st.nonce),
		Expiry:   now.Add(p.ticketTTL),
	})
	if err != nil {
		return endpoint.Decision{}, err
	}
	scopes := make([]scopeItem, 0, len(st.ar.Scopes))
	for i, sc := range st.ar.Scopes {
		scopes = append(scopes, scopeItem{Field: fieldScope + strconv.Itoa(i), Value: sc, Description: p.scopeDesc[sc]})
	}
	d := &pageData{
		Title:        "Authorize " + st.ar.ClientID(),
		Issuer:       p.issuer,
		ClientID:     st.ar.ClientID(),
		RedirectHost: st.ar.RedirectHost(),
		Resource:     st.ar.Audience,
		Action:       p.path,
		Hidden:       hiddenFields(st.ar.Params),
		CSRF:         p.csrf.mint(st.nonce, st.params, now.Add(p.csrfTTL)),
		Ticket:       tk,
		User:         name,
		Scopes:       scopes,
	}
	return p.page(consentTmpl, http.StatusOK, d, st.formTarget, extra...)
}

// noForm answers a request that needs the login form when there is none
// (Users nil): only the trusted proxy can sign users in.
func (p *Page) noForm(st *reqState) (endpoint.Decision, error) {
	return p.message(st, http.StatusForbidden, "Sign-in unavailable",
		"Sign-in is handled by your organization's sign-in proxy, and this request did not come through it.")
}

// message renders a page with a heading and a sentence, and no form.
func (p *Page) message(st *reqState, status int, title, msg string, extra ...endpoint.HeaderField) (endpoint.Decision, error) {
	d := &pageData{Title: title, Issuer: p.issuer, Message: msg, ClientID: st.ar.ClientID()}
	return p.page(messageTmpl, status, d, "", extra...)
}

func (p *Page) page(t *template.Template, status int, d *pageData, formTarget string, extra ...endpoint.HeaderField) (endpoint.Decision, error) {
	resp, err := render(t, status, d, formTarget, extra...)
	if err != nil {
		return endpoint.Decision{}, fmt.Errorf("login: rendering page: %w", err)
	}
	return endpoint.Interact(resp), nil
}

// clientAddr is the address failed logins are counted against and events
// carry: Config.ClientAddr's, or the peer.
func (p *Page) clientAddr(r *endpoint.Request) netip.Addr {
	if p.addrOf != nil {
		return p.addrOf(r).Unmap()
	}
	return r.RemoteAddr.Unmap()
}

func (p *Page) emit(ctx context.Context, e Event) {
	if p.audit != nil {
		p.audit(ctx, e)
	}
}

// seconds spells out d, rounded up to whole seconds, for a page.
func seconds(d time.Duration) string {
	n := secret.RetryAfterSeconds(d)
	if n == 1 {
		return "1 second"
	}
	return strconv.Itoa(n) + " seconds"
}

// header reads a request header, tolerating a nil Header.
func header(r *endpoint.Request, name string) string {
	if r.Header == nil {
		return ""
	}
	return r.Header.Get(name)
}
