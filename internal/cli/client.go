package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/sealedtoken/issuer/pkg/secret"
)

const clientHelp = `usage: issuer client new [--id ID]

Creates a confidential client's credentials: a client id (random unless
--id is given) and a 256-bit random secret. It prints the id, the secret —
shown this once: the issuer keeps only its hash — and the lines to add to
the clients list of the configuration, with the secret's
"sha256$<hex>" hash (safe for generated secrets; use bcrypt or argon2id for
human-chosen ones). Nothing is written to disk.

flags:
  --id ID   the client id (printable ASCII, no spaces)

exit codes: 0 ok, 1 runtime error, 2 usage error
`

func runClient(_ context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return usagef("client: missing subcommand (new); see issuer client -h")
	}
	if a := args[0]; a == "-h" || a == "-help" || a == "--help" {
		fmt.Fprint(env.Stdout, clientHelp)
		return nil
	}
	if args[0] != "new" {
		return usagef("client: unknown subcommand %q (want new)", args[0])
	}
	fs := newFlags("client")
	id := fs.String("id", "", "")
	if err := parse(fs, args[1:], clientHelp, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("client new: unexpected argument %q", fs.Arg(0))
	}
	if *id == "" {
		var err error
		if *id, err = secret.NewClientID(); err != nil {
			return err
		}
	} else if !validClientID(*id) {
		return usagef("client new: --id must be 1 to 255 printable ASCII characters without spaces (RFC 6749 Appendix A.1)")
	}
	sec, err := secret.NewClientSecret()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, `client_id:     %s
client_secret: %s

The secret is shown only now; the issuer stores only its hash.
Add the client to the clients list of the configuration:

  - id: %s
    secret_hash: "%s"
    grant_types: [client_credentials]
    scopes: [read]
`, *id, sec, strconv.Quote(*id), secret.NewSHA256(sec))
	return nil
}

func validClientID(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
