package endpoint

import (
	"html"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Redirect responses of the authorization endpoint carry these header
// fields besides Location.
//
// Cache-Control and Pragma keep the code or token out of caches (RFC 6749
// §4.1.2 and §10.3 treat them as secrets). Referrer-Policy: no-referrer is
// added by decision: RFC 9700 §4.2.4 recommends suppressing the Referer
// header so that neither the authorization request (state, the client's
// parameters) nor the response leaks to third parties through the pages
// that follow the redirect; a Referrer-Policy on a redirect response
// governs the request it redirects to.
var redirectHeaders = []HeaderField{
	{"Cache-Control", "no-store"},
	{"Pragma", "no-cache"},
	{"Referrer-Policy", "no-referrer"},
}

// errorPageHeaders go on the error page shown instead of a redirect: it is
// plain HTML that no one may cache, frame, sniff as another type or run
// scripts in.
var errorPageHeaders = []HeaderField{
	{"Content-Type", "text/html; charset=utf-8"},
	{"Cache-Control", "no-store"},
	{"Pragma", "no-cache"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
	{"Referrer-Policy", "no-referrer"},
}

// redirect builds the 302 response to uri, a registered redirect URI, with
// params added to its query (RFC 6749 §4.1.2: the URI's own query is
// retained) or put in its fragment (§4.2.2), form-urlencoded (RFC 6749
// Appendix B). A registered URI never has a fragment (checkRedirectURI).
func redirect(uri string, fragment bool, params ...param) *Response {
	b := make([]byte, 0, len(uri)+64+16*len(params))
	b = append(b, uri...)
	sep := "?"
	switch {
	case fragment:
		sep = "#"
	case strings.IndexByte(uri, '?') >= 0:
		sep = "&"
		if last := uri[len(uri)-1]; last == '?' || last == '&' {
			sep = "" // "https://c/cb?" has an empty query to add to
		}
	}
	first := true
	for _, kv := range params {
		if kv.value == "" {
			continue
		}
		if first {
			b = append(b, sep...)
			first = false
		} else {
			b = append(b, '&')
		}
		b = append(b, url.QueryEscape(kv.name)...)
		b = append(b, '=')
		b = append(b, url.QueryEscape(kv.value)...)
	}
	h := make(Headers, 0, 1+len(redirectHeaders))
	h = append(h, HeaderField{"Location", string(b)})
	h = append(h, redirectHeaders...)
	return &Response{Status: 302, Header: h}
}

// errorRedirect sends e to the client's redirect URI (RFC 6749 §4.1.2.1 in
// the query, §4.2.2.1 in the fragment) with error, error_description, the
// state exactly as received, and iss (RFC 9207 §2: the issuer identifier,
// which lets a client that talks to several servers detect mix-up attacks;
// clients ignore it otherwise, RFC 6749 §4.1.2).
func errorRedirect(t *redirectTarget, issuer string, e *Error) *Response {
	return redirect(t.uri, t.fragment,
		param{"error", string(e.Code)},
		param{"error_description", sanitizeDescription(e.Description)},
		param{"state", t.state},
		param{"iss", issuer},
	)
}

// errorPage builds the page shown to the user when the request cannot be
// redirected: its client_id or redirect_uri cannot be trusted, or it came
// without TLS (RFC 6749 §3.1.2.4, §4.1.2.1). The status is e's (400 for
// every request error); nothing from the request is shown but the error
// description, sanitized and HTML-escaped.
func errorPage(e *Error) *Response {
	var b strings.Builder
	b.Grow(512)
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" +
		"<meta name=\"robots\" content=\"noindex\"><title>Authorization error</title></head>\n" +
		"<body><h1>Authorization error</h1>\n<p>The application sent an authorization request that cannot be processed, " +
		"so you have not been sent back to it.</p>\n<p><code>")
	b.WriteString(html.EscapeString(string(e.Code)))
	b.WriteString("</code>")
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(html.EscapeString(sanitizeDescription(e.Description)))
	}
	b.WriteString("</p>\n</body></html>\n")
	r := &Response{Status: e.HTTPStatus(), Body: []byte(b.String())}
	r.Header = append(make(Headers, 0, len(errorPageHeaders)+2), errorPageHeaders...)
	if r.Status == 405 {
		r.Header = append(r.Header, HeaderField{"Allow", "GET, POST"})
	}
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		r.Header = append(r.Header, HeaderField{"Retry-After", strconv.FormatInt(secs, 10)})
	}
	return r
}
