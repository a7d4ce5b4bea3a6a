package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/keys"
)

const keysHelp = `usage: issuer keys SUBCOMMAND --config FILE [flags]

Manages the key rings (SPEC §4), in keys.dir or, with keys.store: redis,
in the Redis of store: one ring per audience, which seals access tokens,
the issuer-internal ring, which seals refresh tokens and codes and is never
exported, and the signing ring ("signing"), whose keys (keys.signing_alg)
sign ID tokens, status lists and key deliveries; its public keys are served
at /jwks.json and its private keys are never exported. A running issuer
rotates its rings on schedule and picks up changes made here.

subcommands:
  init                       create the rings that do not exist yet (with
                             keys.store: redis, import those whose files are
                             in keys.dir)
  rotate [--ring NAME]       rotate now: a new key, pending for keys.propagation,
                             then sealing (signing); the current key retires then.
                             --ring may be repeated; default every ring.
  list                       list every key's id, algorithm, state and times
                             (never key material)
  export --audience NAME [--out FILE]
                             print the audience's keys that can open tokens as a
                             JWK Set (RFC 7517): the file its resource server
                             loads. It holds key material: give it to that
                             resource server only. --out writes it with mode 0600.

The key-encryption key named by keys.kek_env is read from the environment.

exit codes: 0 ok, 1 runtime error, 2 usage or config error
`

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runKeys(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return usagef("keys: missing subcommand (init, rotate, list, export); see issuer keys -h")
	}
	sub := args[0]
	if sub == "-h" || sub == "-help" || sub == "--help" {
		fmt.Fprint(env.Stdout, keysHelp)
		return nil
	}
	fs := newFlags("keys")
	cfgPath := fs.String("config", "", "")
	var rings multiFlag
	audience, out := "", ""
	switch sub {
	case "rotate":
		fs.Var(&rings, "ring", "")
	case "export":
		fs.StringVar(&audience, "audience", "", "")
		fs.StringVar(&out, "out", "", "")
	case "init", "list":
	default:
		return usagef("keys: unknown subcommand %q (want init, rotate, list or export)", sub)
	}
	if err := parse(fs, args[1:], keysHelp, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("keys %s: unexpected argument %q", sub, fs.Arg(0))
	}
	if sub == "export" && audience == "" {
		return usagef("keys export: --audience NAME is required")
	}
	cfg, err := loadConfig(*cfgPath, env)
	if err != nil {
		return err
	}
	if sub == "export" && audience == keys.SigningRing {
		return usagef("keys export: the signing ring's private keys are never exported; its public keys are served at %s", server.PathJWKS)
	}
	kr, closeRings, err := server.ConnectKeyRings(ctx, cfg, env.Getenv)
	if err != nil {
		return err
	}
	defer closeRings()
	now := time.Now()
	switch sub {
	case "init":
		created, imported, err := kr.Init(ctx)
		if err != nil {
			return err
		}
		for _, n := range kr.Names() {
			state := "exists"
			switch {
			case slices.Contains(created, n):
				state = "created"
			case slices.Contains(imported, n):
				state = "imported"
			}
			fmt.Fprintf(env.Stdout, "%-8s %s  %s\n", state, n, kr.Path(n))
		}
		return nil
	case "rotate":
		if err := openRings(ctx, kr); err != nil {
			return err
		}
		for _, r := range rings {
			if r != keys.InternalRing && r != keys.SigningRing && !slices.ContainsFunc(cfg.Audiences, func(a config.Audience) bool { return a.Name == r }) {
				return usagef("keys rotate: --ring %q is neither an audience of the configuration nor %q or %q", r, keys.InternalRing, keys.SigningRing)
			}
		}
		if err := kr.Rotate(ctx, rings...); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "rotated; the new keys seal from %s (after keys.propagation %s)\n\n",
			now.Add(cfg.Keys.Propagation).UTC().Format(time.RFC3339), cfg.Keys.Propagation)
		return listKeys(env, kr, now)
	case "list":
		if err := openRings(ctx, kr); err != nil {
			return err
		}
		return listKeys(env, kr, now)
	}
	// export
	if audience == keys.InternalRing {
		return usagef("keys export: %v", keys.ErrExportInternal)
	}
	if !slices.ContainsFunc(cfg.Audiences, func(a config.Audience) bool { return a.Name == audience }) {
		return usagef("keys export: %q is not an audience of the configuration", audience)
	}
	if err := openRings(ctx, kr); err != nil {
		return err
	}
	ring, _ := kr.Ring(audience)
	jwks, err := keys.ExportJWKS(ring.Load(), now)
	if err != nil {
		return err
	}
	defer clear(jwks)
	if out != "" {
		return os.WriteFile(out, jwks, 0o600)
	}
	_, err = env.Stdout.Write(jwks)
	return err
}

func openRings(ctx context.Context, kr *server.KeyRings) error {
	err := kr.Open(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (run \"issuer keys init\" or start the server first)", err)
	}
	return err
}

// listKeys prints every key's metadata; never key material.
func listKeys(env Env, kr *server.KeyRings, now time.Time) error {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RING\tKID\tALG\tSTATE\tCREATED\tACTIVATES\tRETIRES\tEXPIRES")
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	for _, set := range kr.List() {
		for _, k := range set.Keys() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", set.Name(), k.ID, k.Alg, k.State(now),
				ts(k.Created), ts(k.Activates), ts(k.Retires), ts(k.Expires))
		}
	}
	return tw.Flush()
}
