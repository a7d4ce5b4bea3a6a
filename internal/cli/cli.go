package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/server"
)

// Exit codes of the issuer command.
const (
	ExitOK      = 0 // success
	ExitRuntime = 1 // the command failed
	ExitUsage   = 2 // bad usage or invalid configuration
)

// Env is the process environment a command runs in.
type Env struct {
	// Stdin is standard input (token inspect -, hash); nil means os.Stdin.
	// hash prompts without echo when it is a terminal.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv looks up environment variables (os.Getenv): the overrides of
	// internal/config, the key-encryption key (keys.kek_env, ISSUER_KEK)
	// and the login page's key (login.key_env). No command reads the
	// process environment any other way.
	Getenv func(string) string
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, env Env) error
	help          string
}

func commands() []command {
	return []command{
		{name: "serve", summary: "run the token service (dev mode without --config)", run: runServe, help: serveHelp},
		{name: "keys", summary: "manage key rings: init, rotate, retire, list, export", run: runKeys, help: keysHelp},
		{name: "client", summary: "create a client id and secret: client new", run: runClient, help: clientHelp},
		{name: "hash", summary: "hash a password or secret for the configuration (bcrypt, argon2id)", run: runHash, help: hashHelp},
		{name: "token", summary: "decrypt a token and print its claims: token inspect", run: runToken, help: tokenHelp},
		{name: "version", summary: "print the version", run: runVersion, help: versionHelp},
		{name: "help", summary: "show help for a command", help: "usage: issuer help [COMMAND]\n"},
	}
}

const mainHelp = `issuer — a stateless OAuth 2.0 token issuer (encrypted JWT access tokens)

usage: issuer COMMAND [flags] [arguments]

commands:
%s
Run "issuer COMMAND -h" for a command's flags.

exit codes:
  0  success
  1  runtime error (the command failed)
  2  usage or configuration error (the message names the flag or config key)
`

// Main runs the issuer command with args (without the program name) and
// returns its exit code. ctx ends the server gracefully when cancelled
// (main cancels it on SIGTERM and SIGINT).
func Main(ctx context.Context, args []string, env Env) int {
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 {
		printMainHelp(env.Stderr)
		return ExitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		printMainHelp(env.Stdout)
		return ExitOK
	case "help":
		return help(rest, env)
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return exitCode(c.run(ctx, rest, env), env)
		}
	}
	fmt.Fprintf(env.Stderr, "issuer: unknown command %q\n\n", name)
	printMainHelp(env.Stderr)
	return ExitUsage
}

func help(args []string, env Env) int {
	if len(args) == 0 {
		printMainHelp(env.Stdout)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			fmt.Fprint(env.Stdout, c.help)
			return ExitOK
		}
	}
	fmt.Fprintf(env.Stderr, "issuer help: unknown command %q\n", args[0])
	return ExitUsage
}

func printMainHelp(w io.Writer) {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainHelp, b.String())
}

// exitCode reports err and maps it to an exit code.
func exitCode(err error, env Env) int {
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "issuer: %v\n", err)
		return ExitUsage
	case isConfigError(err):
		fmt.Fprintf(env.Stderr, "issuer: invalid configuration:\n%v\n", indent(err.Error()))
		return ExitUsage
	}
	fmt.Fprintf(env.Stderr, "issuer: %v\n", err)
	return ExitRuntime
}

func isConfigError(err error) bool {
	return errors.Is(err, config.ErrSyntax) || errors.Is(err, config.ErrUnknownKey) || errors.Is(err, config.ErrInvalid) ||
		errors.Is(err, errConfigFile) || errors.Is(err, server.ErrCertificate) || errors.Is(err, server.ErrConfig)
}

// errConfigFile marks a configuration file that cannot be read.
var errConfigFile = errors.New("configuration file")

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

// newFlags returns a silent flag set: parse reports its errors and help.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args with fs; -h prints helpText to stdout and returns
// flag.ErrHelp, other errors are usage errors.
func parse(fs *flag.FlagSet, args []string, helpText string, env Env) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(env.Stdout, helpText)
		return flag.ErrHelp
	case err != nil:
		return usagef("%s: %v (see issuer %s -h)", fs.Name(), err, fs.Name())
	}
	return nil
}

// loadConfig loads a configuration file with the environment overrides.
func loadConfig(path string, env Env) (*config.Config, error) {
	if path == "" {
		return nil, usagef("--config FILE is required")
	}
	cfg, err := config.Load(path, config.WithEnv(env.Getenv))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && !isConfigError(err) {
			return nil, fmt.Errorf("%w: %w", errConfigFile, err)
		}
		return nil, err
	}
	return cfg, nil
}

// isTerminal reports whether w is a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
