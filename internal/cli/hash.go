package cli

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/sealedtoken/issuer/pkg/secret"
)

const hashHelp = `usage: issuer hash [--argon2id] [--cost N] [--memory KIB] [--time N] [--threads N]

Reads a secret — a user's password, or a client secret people chose — and
prints its hash, the value of users[].password_hash or clients[].secret_hash
(quote it in YAML: it contains '$'). bcrypt by default; --argon2id for
Argon2id (RFC 9106). Generated client secrets need no slow hash: "issuer
client new" prints their sha256$ form.

The secret is read from the terminal, typed twice without echo, when
standard input is one; otherwise from standard input: its first line,
without the line ending (printf '%s' "$PASSWORD" | issuer hash). It is never
taken from the command line, which other users see in ps and the shell
keeps in its history.

flags:
  --argon2id       Argon2id instead of bcrypt
  --cost N         bcrypt cost, 10 to 13 (default 12, about 0.2 s per check)
  --memory KIB     Argon2id memory in KiB (default 65536, 64 MiB)
  --time N         Argon2id passes (default 3)
  --threads N      Argon2id lanes (default 2)

exit codes: 0 ok, 1 runtime error, 2 usage error (an empty secret, two
entries that differ, parameters out of bounds)
`

// maxHashInput bounds what hash reads from standard input.
const maxHashInput = 4 << 10

func runHash(_ context.Context, args []string, env Env) error {
	fs := newFlags("hash")
	useArgon := fs.Bool("argon2id", false, "")
	cost := fs.Int("cost", secret.DefaultBcryptCost, "")
	memory := fs.Uint("memory", uint(secret.DefaultArgon2Params.Memory), "")
	passes := fs.Uint("time", uint(secret.DefaultArgon2Params.Time), "")
	threads := fs.Uint("threads", uint(secret.DefaultArgon2Params.Threads), "")
	if err := parse(fs, args, hashHelp, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("hash takes no arguments: the secret is read from the terminal or standard input, never from the command line")
	}
	if *cost < 10 || *cost > secret.MaxBcryptCost {
		return usagef("hash: --cost %d out of range 10..%d", *cost, secret.MaxBcryptCost)
	}
	if *memory > 1<<32-1 || *passes > 1<<32-1 || *threads > 255 {
		return usagef("hash: --memory, --time or --threads out of range")
	}
	sec, err := readSecret(env)
	if err != nil {
		return err
	}
	defer func() { sec = "" }()
	var h string
	if *useArgon {
		h, err = secret.NewArgon2id(sec, secret.Argon2Params{Memory: uint32(*memory), Time: uint32(*passes), Threads: uint8(*threads)})
	} else {
		h, err = secret.NewBcrypt(sec, *cost)
	}
	switch {
	case errors.Is(err, secret.ErrSecretTooLong), errors.Is(err, secret.ErrEmptySecret),
		errors.Is(err, secret.ErrBcryptCost), errors.Is(err, secret.ErrArgon2Params):
		return usagef("hash: %v", err)
	case err != nil:
		return err
	}
	_, err = fmt.Fprintln(env.Stdout, h)
	return err
}

// readSecret reads the secret: from the terminal without echo, twice, when
// standard input is a terminal; else the first line of standard input.
func readSecret(env Env) (string, error) {
	in := env.Stdin
	if in == nil {
		in = os.Stdin
	}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		fmt.Fprint(env.Stderr, "Secret: ")
		a, err := term.ReadPassword(fd)
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", err
		}
		defer clear(a)
		fmt.Fprint(env.Stderr, "Again: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", err
		}
		defer clear(b)
		if subtle.ConstantTimeCompare(a, b) != 1 {
			return "", usagef("hash: the two entries differ")
		}
		if len(a) == 0 {
			return "", usagef("hash: empty secret")
		}
		return string(a), nil
	}
	r := bufio.NewReaderSize(io.LimitReader(in, maxHashInput+1), maxHashInput+1)
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if len(line) > maxHashInput {
		return "", usagef("hash: the secret on standard input is longer than %d bytes", maxHashInput)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usagef("hash: empty secret on standard input (pipe it in: printf '%%s' \"$PASSWORD\" | issuer hash)")
	}
	return line, nil
}
