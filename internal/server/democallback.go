package server

import (
	"bytes"
	"html/template"

	"github.com/valyala/fasthttp"
)

// maxDemoValue bounds each value the demo callback page shows; a code is
// well under 2 KiB.
const maxDemoValue = 8 << 10

// demoCallbackTmpl is the dev server's demo callback page. html/template
// escapes every value for its context; the page has no script, no style
// and no form, and its Content-Security-Policy allows none.
var demoCallbackTmpl = template.Must(template.New("demo").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Demo client callback</title>
</head>
<body>
<h1>Demo client callback</h1>
<p>This page stands in for the demo client's redirect URI; it is served only by the dev server ("issuer serve" without --config).</p>
{{if .Error}}<p>The authorization request ended with the error <code id="error">{{.Error}}</code>{{if .Description}}: <span id="error-description">{{.Description}}</span>{{end}}.</p>
{{else if .Code}}<p>Authorization code (single use, valid for tokens.code_ttl):</p>
<pre id="code">{{.Code}}</pre>
<p>Exchange it at the token endpoint with the curl command that "issuer serve" printed, with this code in place of CODE.</p>
{{else}}<p id="empty">This request carries neither a code nor an error.</p>
{{end}}{{if .State}}<p>state: <code id="state">{{.State}}</code></p>
{{end}}</body>
</html>
`))

type demoCallbackData struct {
	Code, State, Error, Description string
}

// serveDemoCallback answers the dev server's demo callback: a page showing
// the code, state or error of the authorization response (RFC 6749
// §4.1.2, §4.1.2.1) in its query. It is served with no-store, no
// referrer (the URL holds the code) and a CSP that allows nothing.
func serveDemoCallback(ctx *fasthttp.RequestCtx) {
	q := ctx.QueryArgs()
	val := func(name string) string {
		v := q.Peek(name)
		if len(v) > maxDemoValue {
			return "(too long to show)"
		}
		return string(v)
	}
	d := demoCallbackData{Code: val("code"), State: val("state"), Error: val("error"), Description: val("error_description")}
	var b bytes.Buffer
	if err := demoCallbackTmpl.Execute(&b, &d); err != nil {
		writeJSON(ctx, 500, `{"error":"server_error","error_description":"internal error"}`)
		return
	}
	h := &ctx.Response.Header
	ctx.SetStatusCode(200)
	ctx.SetContentType("text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if !ctx.IsHead() {
		ctx.SetBody(b.Bytes())
	}
}
