package login

import (
	"context"
	"crypto/sha256"
	"html/template"
	"net/http"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// DefaultEndSessionPath is where the logout confirmation form posts: the
// end-session endpoint of cmd/issuer (endpoint.DefaultPaths.EndSession).
const DefaultEndSessionPath = "/end_session"

// Values of fieldAction on the logout confirmation form.
const (
	actionLogout = "logout"
	actionStay   = "stay"
)

const logoutHTML = `{{define "content"}}<h1>Sign out?</h1>
<p class="lead">Signed in as <strong id="user">{{.User}}</strong></p>
<p>{{if .ClientID}}<strong>{{.ClientID}}</strong> asks to sign you out{{else}}A site asks to sign you out{{end}} of {{if .Issuer}}<strong>{{.Issuer}}</strong>{{else}}this server{{end}}. You will have to enter your password again to sign in to any application.</p>
<form method="post" action="{{.Action}}" id="logout-form">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<input type="hidden" name="login_csrf" value="{{.CSRF}}">
<div class="actions">
<button type="submit" name="login_action" value="stay" class="secondary" id="stay">Stay signed in</button>
<button type="submit" name="login_action" value="logout" id="logout">Sign out</button>
</div>
</form>
{{end}}`

var logoutTmpl = template.Must(template.Must(layoutTmpl.Clone()).Parse(logoutHTML))

// logoutParamsLabel separates the parameter hash that binds a logout
// confirmation's CSRF token from the one of authorization forms, so that a
// token minted for one kind of form never verifies for the other.
const logoutParamsLabel = "sealedtoken login logout v1\x00"

func logoutParamsHash(p endpoint.Params) [32]byte {
	h := paramsHash(p)
	return sha256.Sum256(append([]byte(logoutParamsLabel), h[:]...))
}

var _ endpoint.SessionEnder = (*Page)(nil)

// EndSession implements endpoint.SessionEnder: OpenID Connect RP-Initiated
// Logout 1.0 for the login session of the browser (SPEC §11).
//
// Decision, against logout by cross-site request forgery (RP-Initiated
// Logout 1.0 §6 lets the OP ask the user): the session ends at once when
// the request carries a verified id_token_hint for the signed-in user (and
// for this very session when the hint has a "sid"): only a client the user
// signed in to holds such an ID token. Any other request, such as one a
// third-party page made the browser send, shows a confirmation page
// ("Sign out?") whose form posts back to the end-session endpoint with a
// double-submit CSRF token bound to the browser's cookie and to the
// request's parameters; "Stay signed in" ends nothing. A browser without a
// session is signed out already and is never asked.
//
// Ending a session records its id in the store until it would have
// expired, so that a copy of the cookie replayed later signs in no more
// (activeSession), and clears the cookie. The user is then sent to the
// post-logout redirect URI with the state when the request named a
// registered one (endpoint.EndSessionRequest.Redirect), and shown a
// "signed out" page otherwise.
func (p *Page) EndSession(ctx context.Context, r *endpoint.Request, esr *endpoint.EndSessionRequest) (*endpoint.Response, error) {
	now := p.now()
	s, err := p.activeSession(ctx, r, now)
	if err != nil {
		return nil, err
	}
	st := &reqState{r: r, params: logoutParamsHash(esr.Params), addr: p.clientAddr(r),
		formTarget: formActionSource(esr.PostLogoutRedirectURI)}
	st.nonce, st.haveNonce = readNonce(header(r, "Cookie"))
	if s == nil {
		return p.signedOut(esr, st)
	}
	confirmed := esr.Hint != nil && esr.Hint.Subject == s.Subject &&
		(esr.Hint.SessionID == "" || esr.Hint.SessionID == s.SID())
	if !confirmed && r.Method == "POST" && esr.Params.Has(fieldAction) {
		if err := p.csrf.verify(esr.Params.Get(fieldCSRF), st.nonce, st.haveNonce, st.params, now); err != nil {
			p.emit(ctx, Event{Kind: EventFormRejected, ClientID: esr.ClientID(), Addr: st.addr, Err: err})
			return p.plainPage(st, http.StatusForbidden, "Form expired",
				"This form has expired or was not sent from this site. You are still signed in.")
		}
		if esr.Params.Get(fieldAction) != actionLogout {
			return p.plainPage(st, http.StatusOK, "Still signed in", "You are still signed in.")
		}
		confirmed = true
	}
	if !confirmed {
		return p.logoutForm(st, esr, s)
	}
	if err := p.endSession(ctx, s); err != nil {
		return nil, err
	}
	p.emit(ctx, Event{Kind: EventLogout, ClientID: esr.ClientID(), Username: s.Username, Subject: s.Subject, Addr: st.addr})
	return p.signedOut(esr, st)
}

// signedOut clears the session cookie and sends the user to the
// post-logout redirect URI, or shows the "signed out" page.
func (p *Page) signedOut(esr *endpoint.EndSessionRequest, st *reqState) (*endpoint.Response, error) {
	clr := endpoint.HeaderField{Name: "Set-Cookie", Value: clearSessionCookie}
	if resp := esr.Redirect(clr); resp != nil {
		return resp, nil
	}
	msg := "You are signed out."
	if esr.RedirectRefused {
		msg += " You have not been sent back to the application: it asked to go to an address it has not registered."
	}
	return p.plainPage(st, http.StatusOK, "Signed out", msg, clr)
}

// logoutForm renders the logout confirmation page.
func (p *Page) logoutForm(st *reqState, esr *endpoint.EndSessionRequest, s *session) (*endpoint.Response, error) {
	extra, err := p.browser(st)
	if err != nil {
		return nil, err
	}
	d := &pageData{
		Title:    "Sign out",
		Issuer:   p.issuer,
		ClientID: esr.ClientID(),
		Action:   p.endSessionPath,
		Hidden:   hiddenFields(esr.Params),
		CSRF:     p.csrf.mint(st.nonce, st.params, p.now().Add(p.csrfTTL)),
		User:     s.Username,
	}
	return render(logoutTmpl, http.StatusOK, d, st.formTarget, extra...)
}

// plainPage renders a message page outside an authorization request.
func (p *Page) plainPage(st *reqState, status int, title, msg string, extra ...endpoint.HeaderField) (*endpoint.Response, error) {
	return render(messageTmpl, status, &pageData{Title: title, Issuer: p.issuer, Message: msg}, st.formTarget, extra...)
}
