// Package cli implements the issuer command (SPEC §6): its subcommands,
// their flags and help texts, and its exit codes. cmd/issuer's main only
// calls [Main].
//
//	issuer serve [--config FILE] [--data-dir DIR] [--listen ADDR] [--grace DUR]
//	issuer serve --check [--config FILE]
//	issuer keys init|list --config FILE
//	issuer keys rotate --config FILE [--ring NAME]... [--force]
//	issuer keys retire --config FILE KID [--now]
//	issuer keys export --config FILE --audience NAME [--out FILE]
//	issuer client new [--id ID] [--grant G]... [--scope S]... [--redirect-uri URI]... [--public] ...
//	issuer hash [--argon2id] [--cost N]
//	issuer token inspect [--config FILE | --ring FILE] TOKEN|-
//	issuer version
//	issuer help [COMMAND]
//
// serve with --config reloads the file on SIGHUP (server.App.Reload);
// hash reads the secret from a terminal without echo, or from standard
// input, never from the arguments.
//
// Exit codes: 0 success; 1 runtime error (a port in use, a token that does
// not open, a key file that cannot be written); 2 usage or configuration
// error (an unknown flag, a missing argument, an invalid configuration
// file, whose error names the key, a certificate file that does not load).
//
// Output conventions: a command's result goes to standard output (the dev
// server's banner with its curl commands, a JWK Set, token claims); logs and
// errors go to standard error. Secrets are printed only where a command
// exists to create them (client new; the dev server's demo secret, in the
// two curl lines that use it, and its demo user's password, once).
//
// The environment is read only through [Env.Getenv] (configuration
// overrides, keys.kek_env and ISSUER_KEK, login.key_env), and standard
// input only through [Env.Stdin], so tests and embedders can pass their
// own. Version is set at link time (the Makefile's -X
// github.com/sealedtoken/issuer/internal/cli.Version=$(VERSION)).
package cli
