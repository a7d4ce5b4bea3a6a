package endpoint

import (
	"slices"
	"strings"
)

// maxParams bounds the parameters of one request; more is invalid_request.
const maxParams = 64

// param is one decoded name=value pair.
type param struct{ name, value string }

// Params are the decoded parameters of a request (a form body or a query
// component), following RFC 6749 §3.1 and §3.2: a parameter sent without a
// value is treated as omitted, unknown parameters are kept but ignored by
// the endpoints, and a parameter repeated is an error.
type Params struct {
	list []param
}

// ParseParams decodes an application/x-www-form-urlencoded string (the
// WHATWG URL standard's algorithm, as net/url.ParseQuery). It returns an
// invalid_request *Error naming the parameter that is repeated or badly
// encoded.
func ParseParams(s string) (Params, *Error) {
	p, e, _ := parseParams(s)
	if e != nil {
		return Params{}, e
	}
	return p, nil
}

// taint records the parameters a request sent more than once or with
// malformed percent-encoding.
type taint struct {
	names []string
	all   bool // the request could not be decoded at all
}

func (t taint) has(name string) bool { return t.all || slices.Contains(t.names, name) }

// parseParams decodes parameters like ParseParams (RFC 6749 §3.1: empty =
// omitted, unknown kept) but does not stop at a repeated or malformed
// parameter: the authorization endpoint must still read client_id and
// redirect_uri, when they are themselves sound, to decide whether that
// invalid_request may be redirected (RFC 6749 §4.1.2.1). It returns the
// first value of every parameter that decoded, the first problem, and which
// parameters the problems taint.
func parseParams(s string) (Params, *Error, taint) {
	var (
		p       Params
		problem *Error
		t       taint
	)
	if s == "" {
		return p, nil, t
	}
	n := strings.Count(s, "&") + 1
	if n > maxParams {
		t.all = true
		return p, Errorf(InvalidRequest, "too many parameters (at most %d)", maxParams), t
	}
	p.list = make([]param, 0, n)
	note := func(name string, e *Error) {
		if problem == nil {
			problem = e
		}
		if name != "" && !slices.Contains(t.names, name) {
			t.names = append(t.names, name)
		}
	}
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, ok := unescape(rawName)
		if !ok {
			note("", NewError(InvalidRequest, "malformed percent-encoding in a parameter name"))
			continue
		}
		value, ok := unescape(rawValue)
		if !ok {
			note(name, Errorf(InvalidRequest, "malformed percent-encoding in parameter %q", safeName(name)))
			continue
		}
		if name == "" || value == "" {
			continue // RFC 6749 §3.1: sent without a value = omitted
		}
		if p.Has(name) {
			if name == "resource" {
				// RFC 8707 §2: a server that cannot issue one token for
				// several resources answers invalid_target; this one
				// seals each access token for one audience.
				note(name, NewError(InvalidTarget, "more than one resource parameter: a token is issued for one resource at a time (RFC 8707 §2)"))
				continue
			}
			note(name, Errorf(InvalidRequest, "parameter %q repeated (RFC 6749 §3.1)", safeName(name)))
			continue
		}
		p.list = append(p.list, param{name, value})
	}
	return p, problem, t
}

// Get returns the value of parameter name, or "" if it was omitted.
func (p Params) Get(name string) string {
	for _, q := range p.list {
		if q.name == name {
			return q.value
		}
	}
	return ""
}

// Has reports whether parameter name was sent with a value.
func (p Params) Has(name string) bool {
	for _, q := range p.list {
		if q.name == name {
			return true
		}
	}
	return false
}

// Len returns the number of parameters.
func (p Params) Len() int { return len(p.list) }

// Each calls f for every parameter in the order sent.
func (p Params) Each(f func(name, value string)) {
	for _, q := range p.list {
		f(q.name, q.value)
	}
}

// unescape decodes '+' and %XX escapes; it returns s itself when there is
// nothing to decode.
func unescape(s string) (string, bool) {
	n := 0
	plus := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return "", false
			}
			n++
			i += 2
		case '+':
			plus = true
		}
	}
	if n == 0 && !plus {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s) - 2*n)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		case '+':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// safeName bounds a client-chosen parameter name for an error description.
func safeName(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
