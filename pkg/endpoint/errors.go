package endpoint

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/store"
)

// ErrorCode is an OAuth 2.0 error code (RFC 6749 §4.1.2.1, §4.2.2.1, §5.2;
// RFC 7009 §2.2.1). It implements error, so errors.Is(err, InvalidGrant)
// matches any *Error carrying that code.
type ErrorCode string

// Error codes of RFC 6749 and its companions.
const (
	InvalidRequest          ErrorCode = "invalid_request"
	InvalidClient           ErrorCode = "invalid_client"
	InvalidGrant            ErrorCode = "invalid_grant"
	UnauthorizedClient      ErrorCode = "unauthorized_client"
	UnsupportedGrantType    ErrorCode = "unsupported_grant_type"
	InvalidScope            ErrorCode = "invalid_scope"
	AccessDenied            ErrorCode = "access_denied"
	UnsupportedResponseType ErrorCode = "unsupported_response_type"
	ServerError             ErrorCode = "server_error"
	TemporarilyUnavailable  ErrorCode = "temporarily_unavailable"
	UnsupportedTokenType    ErrorCode = "unsupported_token_type"
	// InvalidTarget is RFC 8707 §2: the resource parameter names an audience
	// the client may not get tokens for.
	InvalidTarget ErrorCode = "invalid_target"
)

func (c ErrorCode) Error() string { return string(c) }

// status is the HTTP status a token-endpoint error is answered with
// (RFC 6749 §5.2: 400 unless stated otherwise).
func (c ErrorCode) status() int {
	switch c {
	case InvalidClient:
		return 401
	case ServerError:
		return 500
	case TemporarilyUnavailable:
		return 503
	}
	return 400
}

// Error is an OAuth 2.0 error response. Build a fresh one for every
// response with NewError or Errorf; never modify a shared one.
//
// Only Code and Description go on the wire. Cause is for the server's log:
// it may hold internal detail and is never sent.
type Error struct {
	Code        ErrorCode
	Description string
	// Status overrides the HTTP status that Code implies (for example 429
	// for a client that failed authentication too often).
	Status int
	// RetryAfter, when positive, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Cause is the underlying error, logged and never sent.
	Cause error

	// allow is the Allow header of a 405 answer (RFC 9110 §15.5.6).
	allow string
}

// NewError returns a fresh error with code and description.
func NewError(code ErrorCode, description string) *Error {
	return &Error{Code: code, Description: description}
}

// Errorf returns a fresh error with code and a formatted description.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// methodNotAllowed is the 405 answer of an endpoint that accepts only the
// methods in allow (RFC 9110 §15.5.6: a 405 carries an Allow header).
func methodNotAllowed(allow, description string) *Error {
	e := NewError(InvalidRequest, description)
	e.Status, e.allow = 405, allow
	return e
}

// withCause sets the internal cause and returns e.
func (e *Error) withCause(err error) *Error {
	e.Cause = err
	return e
}

func (e *Error) Error() string {
	if e.Description == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Description
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Is matches an ErrorCode target against the error's code.
func (e *Error) Is(target error) bool {
	c, ok := target.(ErrorCode)
	return ok && c == e.Code
}

// HTTPStatus returns the status the error is answered with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Code.status()
}

// AsError turns any error into the *Error to send. An *Error is returned as
// it is; an unreachable store or an expired or cancelled context becomes
// temporarily_unavailable (503, Retry-After 1 second); anything else is
// server_error (500) with the error kept as the unsent cause.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		e := NewError(TemporarilyUnavailable, "the service is temporarily unavailable; retry later").withCause(err)
		e.RetryAfter = time.Second // RFC 9110 §10.2.3: every 503 says when to retry
		return e
	}
	return NewError(ServerError, "internal error").withCause(err)
}

// appendErrorJSON appends the RFC 6749 §5.2 JSON body of e to dst.
func appendErrorJSON(dst []byte, e *Error) []byte {
	dst = append(dst, `{"error":`...)
	dst = jsonenc.AppendString(dst, string(e.Code))
	if e.Description != "" {
		dst = append(dst, `,"error_description":`...)
		dst = jsonenc.AppendString(dst, sanitizeDescription(e.Description))
	}
	return append(dst, '}')
}

// sanitizeDescription keeps the characters RFC 6749 §5.2 allows in
// error_description (%x20-21 / %x23-5B / %x5D-7E), replacing others with
// '?'; it also bounds the length.
func sanitizeDescription(s string) string {
	const max = 200
	// Readable first: descriptions quote values and cite RFC sections.
	if strings.ContainsAny(s, "\"§") {
		s = descriptionReplacer.Replace(s)
	}
	ok := len(s) <= max
	for i := 0; ok && i < len(s); i++ {
		ok = descriptionChar(s[i])
	}
	if ok {
		return s
	}
	b := make([]byte, 0, min(len(s), max))
	for i := 0; i < len(s) && len(b) < max; i++ {
		if c := s[i]; descriptionChar(c) {
			b = append(b, c)
		} else {
			b = append(b, '?')
		}
	}
	return string(b)
}

// descriptionReplacer turns the characters descriptions commonly hold but
// error_description may not into readable ones: double quotes into single
// quotes and "§" into "section ".
var descriptionReplacer = strings.NewReplacer(`"`, "'", "§", "section ")

func descriptionChar(c byte) bool {
	return c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)
}

// ErrorResponse builds the JSON error response (RFC 6749 §5.2) that the
// token, introspection and revocation endpoints answer e with, for adapters
// that refuse a request before it reaches an endpoint (a body too large,
// say). It sets Content-Type, Cache-Control: no-store and Pragma: no-cache,
// WWW-Authenticate on a 401, Retry-After when e.RetryAfter is positive, and
// Allow on a 405.
func ErrorResponse(e *Error) *Response { return errorResponse(e) }

// errorResponse builds the JSON error response of the token, introspection
// and revocation endpoints (RFC 6749 §5.2).
func errorResponse(e *Error) *Response {
	r := &Response{Status: e.HTTPStatus(), Body: appendErrorJSON(make([]byte, 0, 128), e)}
	r.Header = append(r.Header, jsonHeaders...)
	if e.Code == InvalidClient && r.Status == 401 {
		// RFC 6749 §5.2 with RFC 7235 §3.1: a 401 names the HTTP
		// authentication scheme the server supports, which is the one a
		// client using the Authorization header used.
		r.Header = append(r.Header, HeaderField{"WWW-Authenticate", `Basic realm="oauth", charset="UTF-8"`})
	}
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		r.Header = append(r.Header, HeaderField{"Retry-After", strconv.FormatInt(secs, 10)})
	}
	if e.allow != "" && r.Status == 405 {
		r.Header = append(r.Header, HeaderField{"Allow", e.allow})
	}
	return r
}
