package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Sentinel errors. Every error from [Load], [Parse], [Dev] and
// [Config.Validate] wraps one of them (match with errors.Is); when there
// are several problems the returned error is an errors.Join of *Error
// values, one per problem.
var (
	// ErrSyntax: the file is not well-formed YAML, or not one mapping.
	ErrSyntax = errors.New("config: syntax error")
	// ErrUnknownKey: a key that this version does not know.
	ErrUnknownKey = errors.New("config: unknown key")
	// ErrInvalid: a value of the wrong type or out of range, a duplicate
	// key, or an inconsistency between keys.
	ErrInvalid = errors.New("config: invalid value")
)

// Error is one problem in a configuration. It never contains the value of a
// secret_hash, password_hash or store key.
type Error struct {
	// Source is the file name given to Parse or Load, or "" for a Config
	// built in code.
	Source string
	// Line is the 1-based line of the offending key or value; 0 if unknown.
	Line int
	// Path is the key path, such as "clients[1].redirect_uris[0]", or the
	// name of the environment variable the value came from.
	Path string
	// Msg says what is wrong.
	Msg string
	// Kind is ErrSyntax, ErrUnknownKey or ErrInvalid.
	Kind error
}

// Error formats e as
//
//	config: issuer.yaml:12: clients[0].grant_types[1]: unknown grant type "implicit" (...)
//	config: issuer.yaml:12: unknown key "clients[1].redirect_uri" (did you mean "redirect_uris"?)
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.Source != "" {
		b.WriteString(e.Source)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	switch {
	case e.Kind == ErrUnknownKey:
		fmt.Fprintf(&b, "unknown key %q", e.Path)
		if e.Msg != "" {
			b.WriteByte(' ')
			b.WriteString(e.Msg)
		}
		return b.String()
	case e.Path != "":
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns e.Kind.
func (e *Error) Unwrap() error { return e.Kind }

// maxErrors bounds the number of problems reported at once, so that a
// pathological file cannot produce an unbounded error message.
const maxErrors = 50

// errList collects problems; it reports at most maxErrors of them.
type errList struct {
	errs    []error
	dropped int
}

func (l *errList) add(e *Error) {
	if len(l.errs) >= maxErrors {
		l.dropped++
		return
	}
	l.errs = append(l.errs, e)
}

func (l *errList) len() int { return len(l.errs) + l.dropped }

// err returns the problems joined, in file order: by line, then those
// without a line (environment variables, keys absent from the file) in the
// order found.
func (l *errList) err() error {
	lineOf := func(e error) int {
		if ce, ok := e.(*Error); ok && ce.Line > 0 {
			return ce.Line
		}
		return math.MaxInt
	}
	slices.SortStableFunc(l.errs, func(a, b error) int { return cmp.Compare(lineOf(a), lineOf(b)) })
	if l.dropped > 0 {
		more := &Error{Msg: fmt.Sprintf("%d more problems not shown", l.dropped), Kind: ErrInvalid}
		return errors.Join(append(l.errs, more)...)
	}
	return errors.Join(l.errs...)
}
