package login

import (
	"context"
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

// DefaultDevicePath is where the device verification forms post:
// cmd/issuer's verification page (endpoint.DefaultPaths.DeviceVerification).
const DefaultDevicePath = "/device"

// DeviceFlow is what the verification page needs of the endpoint server
// (RFC 8628 §3.3); *endpoint.Server implements it.
type DeviceFlow interface {
	// LookupUserCode finds the device authorization of a typed user code,
	// throttling guesses (endpoint.Server.LookupUserCode).
	LookupUserCode(ctx context.Context, r *endpoint.Request, code string) (*endpoint.DeviceRequest, error)
	// DecideDevice records the user's decision, once per code.
	DecideDevice(ctx context.Context, dr *endpoint.DeviceRequest, d endpoint.DeviceDecision) error
}

// fieldUserCode is the verification page's user code field, and the
// parameter of verification_uri_complete (RFC 8628 §3.3.1).
const fieldUserCode = "user_code"

// deviceBindLabel separates the device pages' CSRF and ticket bindings from
// those of authorization requests (paramsHash).
const deviceBindLabel = "sealedtoken login device code v1\x00"

// deviceBinding binds a device form's CSRF token and login ticket to one
// user code (normalized; "" for the code entry form).
func deviceBinding(norm string) [32]byte {
	return sha256.Sum256([]byte(deviceBindLabel + norm))
}

// deviceState is what ServeDevice works out once per request.
type deviceState struct {
	r          *endpoint.Request
	params     endpoint.Params
	nonce      nonce
	haveNonce  bool
	addr       netip.Addr
	res        endpoint.Result
	extra      []endpoint.HeaderField // Set-Cookie headers for the page
	proxy      *proxyUser
	proxyError bool
}

// ServeDevice serves the device verification page (RFC 8628 §3.3) at
// Config.DevicePath: the user enters the user code their device shows (or
// arrives with it in verification_uri_complete, ?user_code=), signs in,
// and approves or denies the device's request. In order:
//
//  1. the code form (GET), or a code posted with it: the code is looked
//     up through Config.DeviceFlow, which throttles guesses per address
//     and globally (a 429 page with Retry-After when refused); a wrong or
//     expired code shows the form again;
//  2. the login form, naming the client and repeating the code for the
//     user to compare with their device (RFC 8628 §5.4: remote phishing),
//     or, for a user named by the trusted proxy header, nothing;
//  3. the consent form, always, even for a SkipConsent client: approving a
//     device that someone else may have started is a decision the user
//     must make knowingly (RFC 8628 §5.4), with the scopes as checkboxes;
//  4. the result page: the device may continue, or was refused.
//
// Every form carries the double-submit CSRF token of the login page,
// bound to the user code, and the consent form a login ticket bound to the
// code and the browser, as the authorization flow's forms are (see the
// package documentation); a form that fails them is a 403 page. The user
// code is never logged; the Result names the client once known.
func (p *Page) ServeDevice(ctx context.Context, r *endpoint.Request) (*endpoint.Response, endpoint.Result) {
	st := &deviceState{r: r, addr: p.clientAddr(r), res: endpoint.Result{GrantType: endpoint.GrantDeviceCode}}
	resp, err := p.serveDevice(ctx, st)
	if err != nil {
		e := endpoint.AsError(err)
		st.res.Err = e
		resp, _ = p.deviceMessage(st, http.StatusInternalServerError, "Something went wrong",
			"The device could not be connected. Please try again.")
		if e.Code == endpoint.TemporarilyUnavailable {
			resp, _ = p.deviceMessage(st, http.StatusServiceUnavailable, "Try again",
				"The service is temporarily unavailable. Please try again in a moment.", retryAfter(time.Second))
		}
	}
	return resp, st.res
}

func (p *Page) serveDevice(ctx context.Context, st *deviceState) (*endpoint.Response, error) {
	if p.deviceFlow == nil {
		return p.deviceMessage(st, http.StatusNotFound, "Not available", "This server does not connect devices.")
	}
	r := st.r
	var raw string
	switch r.Method {
	case "GET":
		if _, q, ok := strings.Cut(r.URI, "?"); ok {
			raw = q
		}
	case "POST":
		ct := header(r, "Content-Type")
		if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/x-www-form-urlencoded" {
			return p.deviceMessage(st, http.StatusBadRequest, "Invalid form", "The form was not understood. Start again.")
		}
		raw = string(r.Body)
	default:
		return p.deviceMessage(st, http.StatusMethodNotAllowed, "Not allowed", "Use the form on this page.",
			endpoint.HeaderField{Name: "Allow", Value: "GET, POST"})
	}
	params, perr := endpoint.ParseParams(raw)
	if perr != nil {
		return p.deviceMessage(st, http.StatusBadRequest, "Invalid request", "The request was not understood. Start again.")
	}
	st.params = params
	st.nonce, st.haveNonce = readNonce(header(r, "Cookie"))
	if p.header != "" && trusted(p.proxies, r.RemoteAddr) {
		if v := header(r, p.header); v != "" {
			var ok bool
			if st.proxy, ok = p.proxyIdentity(v); !ok {
				p.emit(ctx, Event{Kind: EventFormRejected, Addr: st.addr, Err: errProxyUser})
				return p.deviceMessage(st, http.StatusForbidden, "Sign-in failed",
					"Your sign-in proxy sent an identity this server cannot use. Contact your administrator.")
			}
		}
	}
	code := params.Get(fieldUserCode)
	if r.Method == "GET" {
		if code == "" {
			return p.codeForm(st, "", "")
		}
		// verification_uri_complete: the code arrives in the URL.
		return p.lookupThenLogin(ctx, st, code)
	}
	now := p.now()
	norm, _ := endpoint.NormalizeUserCode(code)
	switch {
	case params.Has(fieldAction):
		if err := p.csrf.verify(params.Get(fieldCSRF), st.nonce, st.haveNonce, deviceBinding(norm), now); err != nil {
			return p.rejectDeviceForm(ctx, st, err)
		}
		return p.deviceConsentSubmitted(ctx, st, code, norm)
	case params.Has(fieldUsername) || params.Has(fieldPassword):
		if err := p.csrf.verify(params.Get(fieldCSRF), st.nonce, st.haveNonce, deviceBinding(norm), now); err != nil {
			return p.rejectDeviceForm(ctx, st, err)
		}
		return p.deviceLoginSubmitted(ctx, st, code)
	default:
		if err := p.csrf.verify(params.Get(fieldCSRF), st.nonce, st.haveNonce, deviceBinding(""), now); err != nil {
			return p.rejectDeviceForm(ctx, st, err)
		}
		return p.lookupThenLogin(ctx, st, code)
	}
}

// lookup finds the device request of code, or renders the page that says
// why not (the code form again, or a 429 page).
func (p *Page) lookup(ctx context.Context, st *deviceState, code string) (*endpoint.DeviceRequest, *endpoint.Response, error) {
	dr, err := p.deviceFlow.LookupUserCode(ctx, st.r, code)
	var th *secret.ThrottledError
	switch {
	case err == nil:
		st.res.ClientID = dr.Client.ID
		return dr, nil, nil
	case errors.As(err, &th):
		p.emit(ctx, Event{Kind: EventThrottled, Addr: st.addr, Err: ErrThrottled})
		resp, err := p.deviceMessage(st, http.StatusTooManyRequests, "Too many attempts",
			"Too many wrong codes were entered from your network. Try again in "+seconds(th.RetryAfter)+".", retryAfter(th.RetryAfter))
		return nil, resp, err
	case errors.Is(err, endpoint.ErrUserCode):
		resp, err := p.codeForm(st, code, "That code is not valid, or it has expired. Check the code on your device and enter it again.")
		return nil, resp, err
	}
	return nil, nil, err
}

// lookupThenLogin looks the code up and shows the login form, or, for a
// user the trusted proxy names, the consent form.
func (p *Page) lookupThenLogin(ctx context.Context, st *deviceState, code string) (*endpoint.Response, error) {
	dr, resp, err := p.lookup(ctx, st, code)
	if dr == nil {
		return resp, err
	}
	if st.proxy != nil {
		p.emit(ctx, Event{Kind: EventProxyUser, ClientID: dr.Client.ID, Username: st.proxy.name, Subject: st.proxy.subject, Addr: st.addr})
		return p.deviceConsentForm(st, dr, st.proxy.subject, st.proxy.name, time.Time{})
	}
	return p.deviceLoginForm(st, dr, "", "")
}

// deviceLoginSubmitted checks a posted login form, as Decide does for an
// authorization request, and shows the consent form.
func (p *Page) deviceLoginSubmitted(ctx context.Context, st *deviceState, code string) (*endpoint.Response, error) {
	dr, resp, err := p.lookup(ctx, st, code)
	if dr == nil {
		return resp, err
	}
	if st.proxy != nil {
		return p.deviceConsentForm(st, dr, st.proxy.subject, st.proxy.name, time.Time{})
	}
	if p.users == nil {
		return p.deviceMessage(st, http.StatusForbidden, "Sign-in unavailable",
			"Sign-in is handled by your organization's sign-in proxy, and this request did not come through it.")
	}
	username, password := st.params.Get(fieldUsername), st.params.Get(fieldPassword)
	if username == "" || password == "" {
		return p.deviceLoginForm(st, dr, username, "Enter your username and password.")
	}
	if len(username) > MaxUsernameLen {
		username = username[:MaxUsernameLen]
	}
	now := p.now()
	id, err := endpoint.AuthenticateUser(ctx, p.limiter, p.users, endpoint.UserLogin{
		Username: st.params.Get(fieldUsername), Password: password, Addr: st.addr,
		Device: p.devices.verify(header(st.r, "Cookie"), username, now),
	}, now)
	var th *secret.ThrottledError
	switch {
	case err == nil:
	case errors.As(err, &th):
		p.emit(ctx, Event{Kind: EventThrottled, ClientID: dr.Client.ID, Addr: st.addr, Err: ErrThrottled})
		return p.deviceMessage(st, http.StatusTooManyRequests, "Too many attempts",
			"Too many failed sign-in attempts. Try again in "+seconds(th.RetryAfter)+".", retryAfter(th.RetryAfter))
	case isBusy(err):
		return p.deviceMessage(st, http.StatusServiceUnavailable, "Try again",
			"The server is busy. Please try again in a moment.", retryAfter(time.Second))
	case errors.Is(err, endpoint.ErrBadCredentials):
		p.emit(ctx, Event{Kind: EventLoginFailed, ClientID: dr.Client.ID, Addr: st.addr, Err: endpoint.ErrBadCredentials})
		return p.deviceLoginForm(st, dr, username, "Wrong username or password.")
	default:
		return nil, err
	}
	st.extra = append(st.extra, endpoint.HeaderField{Name: "Set-Cookie", Value: p.devices.cookie(username, now)})
	p.emit(ctx, Event{Kind: EventLogin, ClientID: dr.Client.ID, Username: username, Subject: id, Addr: st.addr})
	return p.deviceConsentForm(st, dr, id, username, now)
}

// deviceConsentSubmitted checks a posted consent form and records the
// user's decision.
func (p *Page) deviceConsentSubmitted(ctx context.Context, st *deviceState, code, norm string) (*endpoint.Response, error) {
	now := p.now()
	dr, resp, err := p.lookup(ctx, st, code)
	if dr == nil {
		return resp, err
	}
	t, err := p.tickets.open(st.params.Get(fieldTicket), dr.Client.ID, deviceBinding(norm), st.nonce, st.haveNonce, now)
	if errors.Is(err, ErrTicketExpired) {
		p.emit(ctx, Event{Kind: EventFormRejected, ClientID: dr.Client.ID, Addr: st.addr, Err: err})
		if st.proxy != nil {
			return p.deviceConsentForm(st, dr, st.proxy.subject, st.proxy.name, time.Time{})
		}
		return p.deviceLoginForm(st, dr, "", "Your sign-in has expired. Please sign in again.")
	}
	if err == nil && st.proxy != nil && t.Subject != st.proxy.subject {
		err = ErrTicketInvalid
	}
	if err != nil {
		return p.rejectDeviceForm(ctx, st, err)
	}
	ev := Event{ClientID: dr.Client.ID, Subject: t.Subject, Addr: st.addr}
	var d endpoint.DeviceDecision
	switch st.params.Get(fieldAction) {
	case actionDeny:
		ev.Kind, d.Deny = EventDenied, true
	case actionAllow:
		d = endpoint.DeviceDecision{Subject: t.Subject, AuthTime: t.AuthTime}
		if len(dr.Scopes) > 0 {
			d.Scopes = make([]string, 0, len(dr.Scopes))
			for i, sc := range dr.Scopes {
				if st.params.Get(fieldScope+strconv.Itoa(i)) == sc {
					d.Scopes = append(d.Scopes, sc)
				}
			}
		}
		ev.Kind, ev.Scopes = EventConsent, d.Scopes
		if d.Scopes != nil && len(d.Scopes) == 0 {
			ev.Kind = EventDenied
		}
	default:
		return p.deviceMessage(st, http.StatusBadRequest, "Invalid form", "The form was not understood. Start again.")
	}
	switch err := p.deviceFlow.DecideDevice(ctx, dr, d); {
	case errors.Is(err, endpoint.ErrUserCode):
		return p.deviceMessage(st, http.StatusConflict, "Code already used",
			"This code was already used or has expired. If your device still shows a code, enter it again.")
	case err != nil:
		return nil, err
	}
	p.emit(ctx, ev)
	if ev.Kind == EventDenied {
		return p.deviceMessage(st, http.StatusOK, "Device not connected",
			"You denied access. The device has been told; you can close this page.")
	}
	return p.deviceMessage(st, http.StatusOK, "Device connected",
		"You may now return to your device: it will continue on its own in a few seconds.")
}

// rejectDeviceForm answers a form that failed its CSRF or ticket check.
func (p *Page) rejectDeviceForm(ctx context.Context, st *deviceState, err error) (*endpoint.Response, error) {
	p.emit(ctx, Event{Kind: EventFormRejected, ClientID: st.res.ClientID, Addr: st.addr, Err: err})
	msg := "This form has expired or was not sent from this site. Start again from the code on your device."
	if errors.Is(err, ErrCSRFMissing) {
		msg = "This form was sent without its security cookie. Make sure cookies are enabled, then start again."
	}
	return p.deviceMessage(st, http.StatusForbidden, "Form expired", msg)
}

// deviceBrowser makes sure the browser has a CSRF nonce for the page's
// forms, setting one when it has none.
func (p *Page) deviceBrowser(st *deviceState) error {
	if st.haveNonce {
		return nil
	}
	n, err := newNonce()
	if err != nil {
		return err
	}
	st.nonce, st.haveNonce = n, true
	st.extra = append(st.extra, endpoint.HeaderField{Name: "Set-Cookie", Value: n.cookie()})
	return nil
}

// codeForm renders the user code form, with what was typed and an error.
func (p *Page) codeForm(st *deviceState, typed, errMsg string) (*endpoint.Response, error) {
	if err := p.deviceBrowser(st); err != nil {
		return nil, err
	}
	d := &pageData{
		Title:  "Connect a device",
		Issuer: p.issuer,
		Action: p.devicePath,
		CSRF:   p.csrf.mint(st.nonce, deviceBinding(""), p.now().Add(p.csrfTTL)),
		Error:  errMsg,
		Code:   typed,
	}
	status := http.StatusOK
	if errMsg != "" {
		status = http.StatusBadRequest
	}
	return p.devicePage(st, deviceCodeTmpl, status, d)
}

// deviceLoginForm renders the login form for the device request dr.
func (p *Page) deviceLoginForm(st *deviceState, dr *endpoint.DeviceRequest, username, errMsg string) (*endpoint.Response, error) {
	if p.users == nil {
		return p.deviceMessage(st, http.StatusForbidden, "Sign-in unavailable",
			"Sign-in is handled by your organization's sign-in proxy, and this request did not come through it.")
	}
	if err := p.deviceBrowser(st); err != nil {
		return nil, err
	}
	norm, _ := endpoint.NormalizeUserCode(dr.UserCode)
	d := &pageData{
		Title:    "Sign in",
		Issuer:   p.issuer,
		ClientID: dr.Client.ID,
		Action:   p.devicePath,
		Hidden:   []hiddenField{{fieldUserCode, dr.UserCode}},
		CSRF:     p.csrf.mint(st.nonce, deviceBinding(norm), p.now().Add(p.csrfTTL)),
		Username: username,
		Error:    errMsg,
		Notice:   "Connecting a device with the code " + dr.UserCode + ". Continue only if your device shows this code.",
	}
	status := http.StatusOK
	return p.devicePage(st, loginTmpl, status, d)
}

// deviceConsentForm renders the consent form for user subject (display
// name name) who authenticated at authTime.
func (p *Page) deviceConsentForm(st *deviceState, dr *endpoint.DeviceRequest, subject, name string, authTime time.Time) (*endpoint.Response, error) {
	if err := p.deviceBrowser(st); err != nil {
		return nil, err
	}
	norm, _ := endpoint.NormalizeUserCode(dr.UserCode)
	now := p.now()
	tk, err := p.tickets.seal(&ticket{
		Subject: subject, AuthTime: authTime, ClientID: dr.Client.ID, Params: deviceBinding(norm),
		Browser: browserBinding(st.nonce), Expiry: now.Add(p.ticketTTL),
	})
	if err != nil {
		return nil, err
	}
	scopes := make([]scopeItem, 0, len(dr.Scopes))
	for i, sc := range dr.Scopes {
		scopes = append(scopes, scopeItem{Field: fieldScope + strconv.Itoa(i), Value: sc, Description: p.scopeDesc[sc]})
	}
	d := &pageData{
		Title:    "Connect " + dr.Client.ID,
		Issuer:   p.issuer,
		ClientID: dr.Client.ID,
		Resource: dr.Audience,
		Action:   p.devicePath,
		Hidden:   []hiddenField{{fieldUserCode, dr.UserCode}},
		CSRF:     p.csrf.mint(st.nonce, deviceBinding(norm), now.Add(p.csrfTTL)),
		Ticket:   tk,
		User:     name,
		Scopes:   scopes,
		Code:     dr.UserCode,
	}
	return p.devicePage(st, deviceConsentTmpl, http.StatusOK, d)
}

// deviceMessage renders a page with a heading and a sentence.
func (p *Page) deviceMessage(st *deviceState, status int, title, msg string, extra ...endpoint.HeaderField) (*endpoint.Response, error) {
	st.extra = append(st.extra, extra...)
	return p.devicePage(st, messageTmpl, status, &pageData{Title: title, Issuer: p.issuer, Message: msg})
}

// devicePage renders t with the state's extra headers. The forms post to
// this origin only: nothing on these pages redirects to a client.
func (p *Page) devicePage(st *deviceState, t *template.Template, status int, d *pageData) (*endpoint.Response, error) {
	resp, err := render(t, status, d, "", st.extra...)
	if err != nil {
		return nil, fmt.Errorf("login: rendering page: %w", err)
	}
	return resp, nil
}

const deviceCodeHTML = `{{define "content"}}<h1>Connect a device</h1>
<p class="lead">Enter the code shown on your device.</p>
{{if .Error}}<p class="error" role="alert" id="code-error">{{.Error}}</p>
{{end}}<form method="post" action="{{.Action}}" id="code-form">
<input type="hidden" name="login_csrf" value="{{.CSRF}}">
<label for="user_code">Code</label>
<input id="user_code" name="user_code" type="text" value="{{.Code}}" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" maxlength="32" placeholder="XXXX-XXXX" required autofocus{{if .Error}} aria-invalid="true" aria-describedby="code-error"{{end}}>
<button type="submit" id="continue">Continue</button>
</form>
{{end}}`

const deviceConsentHTML = `{{define "content"}}<h1>Connect <span id="client">{{.ClientID}}</span>?</h1>
<p class="lead">Signed in as <strong id="user">{{.User}}</strong></p>
<p>A device using <strong>{{.ClientID}}</strong> is asking for access to your account{{if .Resource}} at <strong id="resource">{{.Resource}}</strong>{{end}}.</p>
<p class="notice" id="code-check">Allow only if the device in front of you shows the code <strong id="code">{{.Code}}</strong> and you started this yourself.</p>
<form method="post" action="{{.Action}}" id="consent-form">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<input type="hidden" name="login_csrf" value="{{.CSRF}}">
<input type="hidden" name="login_ticket" value="{{.Ticket}}">
{{if .Scopes}}<fieldset>
<legend>Permissions requested</legend>
{{range .Scopes}}<div class="scope"><input type="checkbox" id="{{.Field}}" name="{{.Field}}" value="{{.Value}}" checked><label for="{{.Field}}"><code>{{.Value}}</code>{{if .Description}}<span class="desc">{{.Description}}</span>{{end}}</label></div>
{{end}}</fieldset>
{{else}}<p>No particular permission is requested.</p>
{{end}}<div class="actions">
<button type="submit" name="login_action" value="deny" class="secondary" id="deny">Deny</button>
<button type="submit" name="login_action" value="allow" id="allow">Allow</button>
</div>
</form>
{{end}}`

var (
	deviceCodeTmpl    = template.Must(template.Must(layoutTmpl.Clone()).Parse(deviceCodeHTML))
	deviceConsentTmpl = template.Must(template.Must(layoutTmpl.Clone()).Parse(deviceConsentHTML))
)
