package config

import (
	"errors"
	"strings"

	"github.com/sealedtoken/issuer/pkg/secret"
)

// checkHash checks a secret or password hash (SPEC §6) with pkg/secret's
// parser, the one the server verifies with, so that a configuration that
// loads never fails later on a hash; this includes its bounds on bcrypt cost
// and argon2id memory and time. Accepted forms:
//
//	sha256$<64 lowercase hex digits>                    fast hash of a generated secret
//	$2a$NN$<53 chars>, $2b$..., $2y$...                 bcrypt
//	$argon2id$v=19$m=M,t=T,p=P$<salt>$<hash>            argon2id, PHC string format
//
// The error wraps pkg/secret's sentinel and, like it, never quotes h.
func checkHash(h string) error {
	_, err := secret.Parse(h)
	if err == nil {
		return nil
	}
	var pe *secret.ParseError
	if !errors.As(err, &pe) || errors.Is(err, secret.ErrUnknownScheme) || errors.Is(err, secret.ErrEmpty) {
		detail := ""
		if pe != nil && pe.Detail != "" {
			detail = ": " + pe.Detail
		}
		return &hashError{msg: "not a recognised hash format" + detail, err: err}
	}
	msg := strings.TrimPrefix(pe.Err.Error(), "secret: ")
	if pe.Detail != "" {
		msg += " (" + pe.Detail + ")"
	}
	return &hashError{msg: msg, err: err}
}

// hashError words a pkg/secret parse error for a configuration message and
// still matches its sentinel with errors.Is.
type hashError struct {
	msg string
	err error
}

func (e *hashError) Error() string { return e.msg }
func (e *hashError) Unwrap() error { return e.err }
