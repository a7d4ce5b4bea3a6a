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
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
)

const rsHelp = `usage: issuer rs new --id ID [--audience NAME]... [--config FILE] [--crv P-256|X25519]
                     [--sig] [--secret] [--out FILE]

Registers a resource server (SPEC §9): makes its key pair for key
deliveries and prints

  - its private JWK Set, once: give it to the resource server, which opens
    its key deliveries with it (GET /resource-keys?resource_server=ID);
    the issuer never keeps it;
  - its entry for the resource_servers list of the configuration, with the
    public JWK Set, ready to paste (then SIGHUP a running issuer).

Nothing is written to disk unless --out says where. The entry is checked
with the configuration loader's rules before anything is printed; a flag
that breaks one is named.

flags:
  --id ID          the resource server's id (printable ASCII, no spaces;
                   unique among clients and resource servers)
  --audience NAME  audiences whose keys it receives and whose tokens it may
                   introspect (repeatable, or comma-separated); default,
                   with --config, the default audience
  --config FILE    check the audiences and the id against this
                   configuration
  --crv C          curve of the key-agreement key: P-256 (default) or X25519
  --sig            add an ES256 signing key (for private_key_jwt)
  --secret         also make a 256-bit secret, shown once, and put its
                   sha256$ hash in the entry: the resource server can then
                   introspect and revoke (RFC 7662, RFC 7009)
  --out FILE       write the private JWK Set to FILE (created with mode 0600,
                   never overwritten) instead of printing it

exit codes: 0 ok, 1 runtime error, 2 usage or configuration error
`

func runRS(_ context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return usagef("rs: missing subcommand (new); see issuer rs -h")
	}
	if a := args[0]; a == "-h" || a == "-help" || a == "--help" {
		fmt.Fprint(env.Stdout, rsHelp)
		return nil
	}
	if args[0] != "new" {
		return usagef("rs: unknown subcommand %q (want new)", args[0])
	}
	fs := newFlags("rs")
	id := fs.String("id", "", "")
	cfgPath := fs.String("config", "", "")
	crv := fs.String("crv", keys.CurveP256, "")
	out := fs.String("out", "", "")
	sig := fs.Bool("sig", false, "")
	withSecret := fs.Bool("secret", false, "")
	var audiences listFlag
	fs.Var(&audiences, "audience", "")
	if err := parse(fs, args[1:], rsHelp, env); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("rs new: unexpected argument %q", fs.Arg(0))
	case *id == "":
		return usagef("rs new: --id is required")
	case !validClientID(*id):
		return usagef("rs new: --id must be 1 to 255 printable ASCII characters without spaces")
	case *crv != keys.CurveP256 && *crv != keys.CurveX25519:
		return usagef("rs new: --crv must be %s or %s", keys.CurveP256, keys.CurveX25519)
	}
	var cfg *config.Config
	if *cfgPath != "" {
		var err error
		if cfg, err = loadConfig(*cfgPath, env); err != nil {
			return err
		}
		if len(audiences) == 0 {
			def, ok := cfg.DefaultAudience()
			if !ok {
				return usagef("rs new: --audience is required: the configuration has no default audience")
			}
			audiences = listFlag{def}
		}
	} else if len(audiences) == 0 {
		return usagef("rs new: --audience is required without --config")
	}
	r, err := keys.GenerateRecipient(*crv, *sig)
	if err != nil {
		return err
	}
	rs := config.ResourceServer{ID: *id, Audiences: audiences, JWKS: config.JSON(r.PublicJWKS())}
	var sec string
	if *withSecret {
		if sec, err = secret.NewClientSecret(); err != nil {
			return err
		}
		rs.SecretHash = config.Hash(secret.NewSHA256(sec))
	}
	entry := rsEntry(rs)
	if err := checkRSEntry(entry, rs, cfg); err != nil {
		return err
	}
	priv, err := r.PrivateJWKS()
	if err != nil {
		return err
	}
	defer clear(priv)
	fmt.Fprintf(env.Stdout, "resource_server: %s\n", rs.ID)
	if *out != "" {
		if err := writeNewSecretFile(*out, append(priv, '\n')); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "private JWK Set: written to %s (mode 0600); give it to the resource server. The issuer keeps only the public half.\n", *out)
	} else {
		fmt.Fprintf(env.Stdout, "private JWK Set (shown only now; give it to the resource server, keep it mode 0600; the issuer keeps only the public half):\n\n%s\n\n", priv)
	}
	if sec != "" {
		fmt.Fprintf(env.Stdout, "secret: %s\n\nThe secret is shown only now; the issuer stores only its hash.\n", sec)
	}
	fmt.Fprintf(env.Stdout, "Add the resource server to the resource_servers list of the configuration (then SIGHUP a running issuer):\n\n%s", entry)
	return nil
}

// writeNewSecretFile creates path with mode 0600 and writes data; an
// existing file is never overwritten.
func writeNewSecretFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return usagef("rs new: --out %s exists; it is never overwritten", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// rsEntry writes rs as an entry of the resource_servers list, indented for
// pasting under "resource_servers:". The JWK Set is its JSON, which YAML
// reads as a mapping.
func rsEntry(rs config.ResourceServer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - id: %s\n", strconv.Quote(rs.ID))
	q := make([]string, len(rs.Audiences))
	for i, a := range rs.Audiences {
		q[i] = strconv.Quote(a)
	}
	fmt.Fprintf(&b, "    audiences: [%s]\n", strings.Join(q, ", "))
	if rs.SecretHash != "" {
		fmt.Fprintf(&b, "    secret_hash: %s\n", strconv.Quote(string(rs.SecretHash)))
	}
	fmt.Fprintf(&b, "    jwks: %s\n", rs.JWKS)
	return b.String()
}

var rsEntryKey = regexp.MustCompile(`resource_servers\[(\d+)\]\.([a-z_]+)`)

// checkRSEntry loads entry with the configuration loader: inside cfg (its
// audiences, clients and resource servers), or inside a minimal
// configuration declaring the entry's audiences. Complaints about the
// entry become usage errors naming the flag.
func checkRSEntry(entry string, rs config.ResourceServer, cfg *config.Config) error {
	var b strings.Builder
	b.WriteString("issuer: https://issuer.example.com\ntls: {cert_file: cert.pem, key_file: key.pem}\naudiences:\n")
	auds := rs.Audiences
	var others []string // ids of cfg's clients and resource servers
	if cfg != nil {
		auds = nil
		for _, a := range cfg.Audiences {
			auds = append(auds, a.Name)
		}
		for _, c := range cfg.Clients {
			others = append(others, c.ID)
		}
		for _, r := range cfg.ResourceServers {
			others = append(others, r.ID)
		}
	}
	for i, a := range auds {
		fmt.Fprintf(&b, "  - {name: %s, default: %t}\n", strconv.Quote(a), i == 0)
	}
	b.WriteString("resource_servers:\n")
	for _, o := range others {
		fmt.Fprintf(&b, "  - {id: %s, audiences: [%s], secret_hash: \"sha256$%s\"}\n", strconv.Quote(o), strconv.Quote(auds[0]), strings.Repeat("0", 64))
	}
	b.WriteString(entry)
	_, err := config.Parse([]byte(b.String()), "resource server entry", config.WithBaseDir(os.TempDir()))
	if err == nil {
		return nil
	}
	mine := strconv.Itoa(len(others))
	var msgs []string
	for _, e := range flattenErrors(err) {
		var ce *config.Error
		if !errors.As(e, &ce) {
			msgs = append(msgs, e.Error())
			continue
		}
		flag := "the resource server"
		if m := rsEntryKey.FindStringSubmatch(ce.Path); m != nil && m[1] == mine {
			switch m[2] {
			case "id":
				flag = "--id"
			case "audiences":
				flag = "--audience"
			}
		}
		msgs = append(msgs, fmt.Sprintf("%s: %s", flag, ce.Msg))
	}
	return usagef("rs new: %s", strings.Join(msgs, "; "))
}
