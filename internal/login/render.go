package login

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// css is the pages' only style sheet, inline so that a page is one
// response; the Content-Security-Policy allows exactly this text by its
// SHA-256 hash (CSP3 §8.4) rather than by 'unsafe-inline'.
const css = `
:root{color-scheme:light dark;--fg:#1d2127;--muted:#5b6472;--bg:#f3f4f6;--card:#fff;--line:#d5d9e0;--accent:#2556c4;--accent-fg:#fff;--err:#a4161a;--err-bg:#fde8e8}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaee;--muted:#a3abb8;--bg:#15171b;--card:#1f2228;--line:#3a3f48;--accent:#7aa2ff;--accent-fg:#0b1020;--err:#ffb3b3;--err-bg:#3b1719}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;padding:1rem}
main{width:100%;max-width:26rem;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:2rem;box-shadow:0 2px 12px rgba(0,0,0,.06)}
.issuer{margin:0 0 .25rem;color:var(--muted);font-size:.875rem;overflow-wrap:anywhere}
h1{margin:0 0 .5rem;font-size:1.5rem;line-height:1.25;overflow-wrap:anywhere}
p{margin:.5rem 0 1rem;overflow-wrap:anywhere}
.lead{color:var(--muted)}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=password]{width:100%;padding:.6rem .75rem;font:inherit;color:inherit;background:transparent;border:1px solid var(--line);border-radius:8px}
input:focus-visible,button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
button{font:inherit;font-weight:600;padding:.65rem 1.25rem;border-radius:8px;border:1px solid var(--accent);background:var(--accent);color:var(--accent-fg);cursor:pointer}
button.secondary{background:transparent;color:var(--fg);border-color:var(--line)}
form>button{width:100%;margin-top:1.5rem}
.actions{display:flex;gap:.75rem;justify-content:flex-end;margin-top:1.5rem}
fieldset{border:1px solid var(--line);border-radius:8px;margin:1rem 0;padding:.5rem 1rem}
legend{font-weight:600;padding:0 .25rem}
.scope{display:flex;gap:.6rem;align-items:flex-start;margin:.5rem 0}
.scope input{margin-top:.35rem}
.scope label{margin:0;font-weight:400}
.scope code{font-weight:600}
.scope .desc{display:block;color:var(--muted);font-size:.875rem}
.error{color:var(--err);background:var(--err-bg);border-radius:8px;padding:.6rem .75rem}
.notice{background:var(--bg);border-radius:8px;padding:.6rem .75rem}
`

// cssHash is the CSP hash-source of css.
var cssHash = func() string {
	sum := sha256.Sum256([]byte(css))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

const layoutHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{{.Title}}{{if .Issuer}} · {{.Issuer}}{{end}}</title>
<style>` + css + `</style>
</head>
<body>
<main>
{{if .Issuer}}<p class="issuer">{{.Issuer}}</p>
{{end}}{{template "content" .}}
</main>
</body>
</html>
`

const loginHTML = `{{define "content"}}<h1>Sign in</h1>
<p class="lead">to continue to <strong id="client">{{.ClientID}}</strong></p>
{{if .Error}}<p class="error" role="alert" id="login-error">{{.Error}}</p>
{{end}}{{if .Notice}}<p class="notice" role="status" id="login-notice">{{.Notice}}</p>
{{end}}<form method="post" action="{{.Action}}" id="login-form">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<input type="hidden" name="login_csrf" value="{{.CSRF}}">
<label for="username">Username</label>
<input id="username" name="username" type="text" value="{{.Username}}" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="256" required{{if .Error}} aria-invalid="true" aria-describedby="login-error"{{end}}{{if not .Username}} autofocus{{end}}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{{if .Error}} aria-invalid="true" aria-describedby="login-error"{{end}}{{if .Username}} autofocus{{end}}>
<button type="submit" id="sign-in">Sign in</button>
</form>
{{end}}`

const consentHTML = `{{define "content"}}<h1>Authorize <span id="client">{{.ClientID}}</span>?</h1>
<p class="lead">Signed in as <strong id="user">{{.User}}</strong></p>
<p><strong>{{.ClientID}}</strong> is asking for access to your account{{if .Resource}} at <strong id="resource">{{.Resource}}</strong>{{end}}. If you allow it, you will be sent to <strong id="redirect-host">{{.RedirectHost}}</strong>.</p>
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

const messageHTML = `{{define "content"}}<h1>{{.Title}}</h1>
<p id="message">{{.Message}}</p>
{{end}}`

var (
	layoutTmpl  = template.Must(template.New("layout").Parse(layoutHTML))
	loginTmpl   = template.Must(template.Must(layoutTmpl.Clone()).Parse(loginHTML))
	consentTmpl = template.Must(template.Must(layoutTmpl.Clone()).Parse(consentHTML))
	messageTmpl = template.Must(template.Must(layoutTmpl.Clone()).Parse(messageHTML))
)

// scopeItem is one consent checkbox.
type scopeItem struct {
	Field, Value, Description string
}

// pageData is what the templates see. Every value is escaped by
// html/template for its context; none is ever a password.
type pageData struct {
	Title, Issuer          string
	ClientID, RedirectHost string
	// Resource is the audience (RFC 8707 resource) the access tokens of
	// the grant are for, shown on the consent page.
	Resource               string
	Action                 string
	Hidden                 []hiddenField
	CSRF, Ticket           string
	Username, User         string
	Error, Notice, Message string
	Scopes                 []scopeItem
}

// pageHeaders go on every page: HTML that no one may cache (the forms hold
// CSRF tokens and tickets, RFC 6749 §10.3 spirit), frame (RFC 6749 §10.13:
// clickjacking, with both X-Frame-Options and CSP frame-ancestors), sniff as
// another type, or send a Referer from (the URL holds the authorization
// request).
var pageHeaders = []endpoint.HeaderField{
	{Name: "Content-Type", Value: "text/html; charset=utf-8"},
	{Name: "Cache-Control", Value: "no-store"},
	{Name: "Pragma", Value: "no-cache"},
	{Name: "X-Content-Type-Options", Value: "nosniff"},
	{Name: "X-Frame-Options", Value: "DENY"},
	{Name: "Referrer-Policy", Value: "no-referrer"},
}

// csp returns the Content-Security-Policy of a page. Nothing loads but the
// inline style sheet (by hash); no script runs; forms post only to this
// origin; and the page cannot be framed or given a <base>.
//
// formTarget, when not empty, is a CSP source for the client's redirect
// URI: Chromium applies form-action to the redirects that follow a form
// submission (CSP3 §6.3.1.1 leaves it to the navigation), so the 302 to the
// client that answers the consent (or login) form must be allowed too, or
// the browser stops at the authorization endpoint.
func csp(formTarget string) string {
	fa := "'self'"
	if formTarget != "" {
		fa += " " + formTarget
	}
	return "default-src 'none'; style-src " + cssHash + "; form-action " + fa +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// formActionSource returns the CSP source expression (CSP3 §2.3.1) that
// admits redirect URI uri: scheme://host[:port] for a URI with a host that
// CSP's host-source grammar can express, the scheme alone ("myapp:") for a
// private-use URI scheme (RFC 8252 §7.1), and "" when uri cannot be put in
// a policy safely (the redirect is then blocked: fail closed).
func formActionSource(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return ""
		}
	}
	if u.Host == "" {
		return scheme + ":"
	}
	host, port := u.Hostname(), u.Port()
	if host == "" || strings.HasPrefix(u.Host, "[") {
		// IPv6 literals have no CSP host-source form; allow the scheme.
		return scheme + ":"
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return scheme + ":"
		}
	}
	src := scheme + "://" + strings.ToLower(host)
	if port != "" {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return scheme + ":"
		}
		src += ":" + port
	}
	return src
}

// render executes t into an HTML response with the page headers, the CSP
// for formTarget, and extra headers.
func render(t *template.Template, status int, d *pageData, formTarget string, extra ...endpoint.HeaderField) (*endpoint.Response, error) {
	var b bytes.Buffer
	b.Grow(4096)
	if err := t.Execute(&b, d); err != nil {
		return nil, err
	}
	h := make(endpoint.Headers, 0, len(pageHeaders)+1+len(extra))
	h = append(h, pageHeaders...)
	h = append(h, endpoint.HeaderField{Name: "Content-Security-Policy", Value: csp(formTarget)})
	h = append(h, extra...)
	return &endpoint.Response{Status: status, Header: h, Body: b.Bytes()}, nil
}

// retryAfter is the Retry-After header for d (RFC 9110 §10.2.3).
func retryAfter(d time.Duration) endpoint.HeaderField {
	return endpoint.HeaderField{Name: "Retry-After", Value: strconv.Itoa(secret.RetryAfterSeconds(d))}
}
