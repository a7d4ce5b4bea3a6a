package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/secret"
)

const clientHelp = `usage: issuer client new [--id ID] [--grant G]... [--scope S]... [--default-scope S]...
                         [--redirect-uri URI]... [--audience NAME]... [--response-type T]...
                         [--public] [--skip-consent]

Creates a client's credentials and prints its entry for the clients list
of the configuration, ready to paste: a client id (random unless --id is
given) and, for a confidential client, a 256-bit random secret — shown this
once: the issuer keeps only its hash, in the entry's "sha256$<hex>"
secret_hash (safe for generated secrets; for a secret a person chose, use
"issuer hash"). Nothing is written to disk. The entry is checked with the
configuration loader's own rules before it is printed; a flag that breaks
one is named.

flags (each list flag may be repeated, or take a comma-separated list):
  --id ID               the client id (printable ASCII, no spaces)
  --grant G             grant types: client_credentials (default for a
                        confidential client), authorization_code (default for
                        --public), refresh_token, password
  --scope S             scopes it may get (default read)
  --default-scope S     scopes granted when a request names none (a subset
                        of --scope)
  --redirect-uri URI    registered redirect URIs (required with
                        authorization_code)
  --audience NAME       audiences it may get tokens for (names from the
                        audiences list; default the default audience)
  --response-type T     code, token (token enables the implicit grant)
  --public              a public client: no secret, PKCE required
  --skip-consent        a first-party client: no consent page

exit codes: 0 ok, 1 runtime error, 2 usage error
`

// listFlag is a repeatable flag that also splits comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

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
	var grants, scopes, defaults, redirects, audiences, responses listFlag
	fs.Var(&grants, "grant", "")
	fs.Var(&scopes, "scope", "")
	fs.Var(&defaults, "default-scope", "")
	fs.Var(&redirects, "redirect-uri", "")
	fs.Var(&audiences, "audience", "")
	fs.Var(&responses, "response-type", "")
	public := fs.Bool("public", false, "")
	skipConsent := fs.Bool("skip-consent", false, "")
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
	c := config.Client{ID: *id, Public: *public, GrantTypes: grants, Scopes: scopes, DefaultScopes: defaults,
		RedirectURIs: redirects, Audiences: audiences, ResponseTypes: responses, SkipConsent: *skipConsent}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{config.GrantClientCredentials}
		if c.Public {
			c.GrantTypes = []string{config.GrantAuthorizationCode}
		}
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"read"}
	}
	var sec string
	if !c.Public {
		var err error
		if sec, err = secret.NewClientSecret(); err != nil {
			return err
		}
		c.SecretHash = config.Hash(secret.NewSHA256(sec))
	}
	entry := clientEntry(c)
	if err := checkEntry(entry, c); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "client_id:     %s\n", c.ID)
	if !c.Public {
		fmt.Fprintf(env.Stdout, "client_secret: %s\n\nThe secret is shown only now; the issuer stores only its hash.\n", sec)
	} else {
		fmt.Fprintf(env.Stdout, "(a public client: no secret; it must use PKCE)\n")
	}
	fmt.Fprintf(env.Stdout, "Add the client to the clients list of the configuration (then SIGHUP a running issuer):\n\n%s", entry)
	return nil
}

// clientEntry writes c as an entry of the clients list, indented for
// pasting under "clients:". Every string is double-quoted (YAML accepts
// the JSON escapes strconv.Quote writes for printable ASCII).
func clientEntry(c config.Client) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - id: %s\n", strconv.Quote(c.ID))
	if c.Public {
		b.WriteString("    public: true\n")
	} else {
		fmt.Fprintf(&b, "    secret_hash: %s\n", strconv.Quote(string(c.SecretHash)))
	}
	list := func(key string, v []string) {
		if len(v) == 0 {
			return
		}
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = strconv.Quote(s)
		}
		fmt.Fprintf(&b, "    %s: [%s]\n", key, strings.Join(q, ", "))
	}
	list("grant_types", c.GrantTypes)
	list("response_types", c.ResponseTypes)
	list("redirect_uris", c.RedirectURIs)
	list("scopes", c.Scopes)
	list("default_scopes", c.DefaultScopes)
	list("audiences", c.Audiences)
	if c.SkipConsent {
		b.WriteString("    skip_consent: true\n")
	}
	return b.String()
}

// entryFlags maps the keys of a client entry onto the flags that set them.
var entryFlags = map[string]string{
	"id": "--id", "secret_hash": "--public", "public": "--public", "grant_types": "--grant",
	"response_types": "--response-type", "redirect_uris": "--redirect-uri", "scopes": "--scope",
	"default_scopes": "--default-scope", "audiences": "--audience", "skip_consent": "--skip-consent",
}

var entryKey = regexp.MustCompile(`clients\[0\]\.([a-z_]+)`)

// checkEntry loads entry with the configuration loader, inside a minimal
// configuration that declares its audiences and a way to sign users in,
// and turns the loader's complaints about the client into usage errors
// naming the flag.
func checkEntry(entry string, c config.Client) error {
	auds := c.Audiences
	if len(auds) == 0 {
		auds = []string{"https://api.example.com"}
	}
	var b strings.Builder
	b.WriteString("issuer: https://issuer.example.com\ntls: {cert_file: cert.pem, key_file: key.pem}\naudiences:\n")
	for i, a := range auds {
		fmt.Fprintf(&b, "  - {name: %s, default: %t}\n", strconv.Quote(a), i == 0)
	}
	b.WriteString("login: {trusted_header: X-Remote-User, trusted_proxies: [127.0.0.1/32]}\n")
	b.WriteString("users: [{username: u, id: u-1, password_hash: \"sha256$" + strings.Repeat("0", 64) + "\"}]\n")
	b.WriteString("clients:\n" + entry)
	_, err := config.Parse([]byte(b.String()), "client entry", config.WithBaseDir(os.TempDir()))
	if err == nil {
		return nil
	}
	var msgs []string
	for _, e := range flattenErrors(err) {
		var ce *config.Error
		if !errors.As(e, &ce) {
			msgs = append(msgs, e.Error())
			continue
		}
		flag := "the client"
		if m := entryKey.FindStringSubmatch(ce.Path); m != nil && entryFlags[m[1]] != "" {
			flag = entryFlags[m[1]]
		}
		msgs = append(msgs, fmt.Sprintf("%s: %s", flag, ce.Msg))
	}
	return usagef("client new: %s", strings.Join(msgs, "; "))
}

// flattenErrors lists the errors of an errors.Join tree.
func flattenErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	return []error{err}
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
